"""CTC output units: sentencepiece BPE pieces, characters or phones, with the CTC blank at id 0.

    tok = Tokenizer.train(texts, kind="bpe", vocab_size=256, out_dir="data/lang")
    tok = Tokenizer.load("data/lang")
    ids = tok.encode("TURN ON THE LIGHTS"); tok.decode(ids) == "TURN ON THE LIGHTS"

``vocab_size`` counts every output of the CTC layer, blank included. Files in ``out_dir``:
``tokenizer.json`` (kind and sizes), ``tokens.txt`` (``token id`` per line) and, for BPE, ``bpe.model``.

BPE: sentencepiece's own id 0 is its padding piece, which we name ``<blk>`` and use as the blank; ``<unk>``
is id 1; no BOS/EOS. Training reads every sentence in the given order on one thread, so the same texts
give the same model.

Characters: ``<blk>`` 0, ``<unk>`` 1, the word boundary ``|`` 2, then the characters of the training
texts in sorted order. Words are joined by ``|`` (``"HI YOU"`` -> ``H I | Y O U``).

Phones: the 39 stress-free ARPAbet phones of :mod:`audiofront.text.phones` (a fixed inventory, whatever
the texts), a word spelled by its first pronunciation (CMUdict, else eSpeak NG). The end of a word is
marked in one of two ways (``phone_marking``): ``final`` (default) gives every phone a word-final
variant ``<phone>_E`` (``"HI YOU"`` -> ``HH AY_E Y UW_E``; 80 outputs), ``boundary`` puts the token ``|``
between words as for characters (``HH AY | Y UW``; 42 outputs). ``pronunciations.txt`` (``WORD<TAB>PH
PH ...``, every pronunciation, most frequent training words first) holds the words' pronunciations;
a word missing from it is pronounced on the fly. :meth:`Tokenizer.decode` maps each word's phones
back to the first word with that pronunciation, or writes the phones joined by ``-`` when none has it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

from ..utils.io import atomic_path, atomic_write_text

BLANK = "<blk>"
UNK = "<unk>"
WORD_BOUNDARY = "|"
KINDS = ("bpe", "char", "phone")
PHONE_MARKINGS = ("final", "boundary")
FINAL_SUFFIX = "_E"  # Kaldi's word-position mark for "word end"
PRONUNCIATIONS = "pronunciations.txt"


class Tokenizer:
    """Text <-> CTC token ids. Build with :meth:`train` or :meth:`load`."""

    blank_id = 0
    unk_id = 1

    def __init__(
        self,
        kind: str,
        tokens: Sequence[str],
        sp_model: Optional[bytes] = None,
        pronunciations: Optional[dict[str, list[tuple[str, ...]]]] = None,
        phone_marking: str = "final",
    ):
        if kind not in KINDS:
            raise ValueError(f"tokenizer kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.tokens: list[str] = list(tokens)
        if self.tokens[self.blank_id] != BLANK:
            raise ValueError(f"token 0 must be the blank {BLANK!r}, got {self.tokens[0]!r}")
        self._index = {t: i for i, t in enumerate(self.tokens)}
        self._sp = None
        self._sp_model = sp_model
        if kind == "bpe":
            import sentencepiece as spm

            if sp_model is None:
                raise ValueError("a BPE tokenizer needs its sentencepiece model")
            self._sp = spm.SentencePieceProcessor(model_proto=sp_model)
            sp_tokens = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]
            if sp_tokens != self.tokens:
                raise ValueError("tokens.txt does not match the sentencepiece model bpe.model")
        self.phone_marking = phone_marking if kind == "phone" else None
        self.pronunciations: dict[str, list[tuple[str, ...]]] = dict(pronunciations or {})
        self._pronouncer = None
        self.espeak_words: list[str] = []  # set by train(): the words eSpeak NG pronounced
        self._words_of: dict[tuple[str, ...], str] = {}
        if kind == "phone":
            if phone_marking not in PHONE_MARKINGS:
                raise ValueError(f"phone marking must be one of {PHONE_MARKINGS}, got {phone_marking!r}")
            if self.tokens != phone_tokens(phone_marking):
                raise ValueError(f"tokens.txt is not the {phone_marking!r} phone inventory of this version")
            for word, prons in self.pronunciations.items():  # the first (most frequent) word wins
                for p in prons:
                    self._words_of.setdefault(tuple(p), word)

    # ---- the interface -------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of CTC outputs, blank included."""
        return len(self.tokens)

    @property
    def word_boundary(self) -> Optional[str]:
        """The stand-alone word-boundary token (characters, phones marked by ``boundary``), else None."""
        return WORD_BOUNDARY if self.kind == "char" or self.phone_marking == "boundary" else None

    def pronounce(self, word: str) -> list[tuple[str, ...]]:
        """Every pronunciation of ``word`` (phone tokenizers): the stored ones, else CMUdict/eSpeak NG's."""
        prons = self.pronunciations.get(word)
        if prons is None:
            if self._pronouncer is None:
                from .phones import Pronouncer

                self._pronouncer = Pronouncer()
            prons = self._pronouncer(word)
        return prons

    def spellings(self, word: str) -> list[list[str]]:
        """Every token spelling of one word, without a word-boundary token (for the decoding lexicon)."""
        if self.kind != "phone":
            return [[self.tokens[i] for i in self.encode(word)]]
        return [self._mark(p) for p in self.pronounce(word) if p]

    def _mark(self, phones: Sequence[str]) -> list[str]:
        if self.phone_marking == "final":
            return [*phones[:-1], phones[-1] + FINAL_SUFFIX]
        return list(phones)

    def encode(self, text: str) -> list[int]:
        """Token ids of a normalised transcript (never the blank)."""
        if self.kind == "bpe":
            return list(self._sp.encode(text, out_type=int))
        ids: list[int] = []
        for w, word in enumerate(text.split()):
            if w and self.word_boundary:
                ids.append(self._index[WORD_BOUNDARY])
            if self.kind == "phone":
                prons = self.pronounce(word)
                if prons and prons[0]:
                    ids.extend(self._index[t] for t in self._mark(prons[0]))
                else:  # nothing eSpeak could say (e.g. a lone apostrophe)
                    ids.append(self.unk_id)
            else:
                ids.extend(self._index.get(c, self.unk_id) for c in word)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids; blanks are skipped (collapse CTC repeats before calling this)."""
        ids = [int(i) for i in ids if int(i) != self.blank_id]
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside the vocabulary (size {self.vocab_size})")
        if self.kind == "bpe":
            return self._sp.decode(ids)
        if self.kind == "phone":
            return self._decode_phones([self.tokens[i] for i in ids])
        text = "".join(" " if self.tokens[i] == WORD_BOUNDARY else self.tokens[i] for i in ids)
        return " ".join(text.split())

    def _decode_phones(self, tokens: list[str]) -> str:
        words, current = [], []

        def flush():
            if current:
                words.append(self._words_of.get(tuple(current), "-".join(current)))
                current.clear()

        for t in tokens:
            if t == WORD_BOUNDARY:
                flush()
            elif t.endswith(FINAL_SUFFIX):
                current.append(t[: -len(FINAL_SUFFIX)])
                flush()
            elif t != UNK:
                current.append(t)
        flush()
        return " ".join(words)

    def encode_as_tokens(self, text: str) -> list[str]:
        return [self.tokens[i] for i in self.encode(text)]

    # ---- training, saving, loading -------------------------------------------------------------
    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        kind: str = "bpe",
        vocab_size: int = 256,
        out_dir: Optional[str | os.PathLike] = None,
        character_coverage: float = 1.0,
        phone_marking: str = "final",
        words: Iterable[str] = (),
        pronouncer=None,
    ) -> "Tokenizer":
        """Learn a tokenizer from (normalised) training transcripts; saved to ``out_dir`` when given.

        ``vocab_size`` is used by BPE only (a character inventory is whatever the texts contain).
        Phones: the pronunciations of the texts' words and of ``words`` (e.g. the decoding vocabulary) are
        looked up with ``pronouncer`` (default :class:`audiofront.text.phones.Pronouncer`) and stored.
        """
        texts = [t.strip() for t in texts if t and t.strip()]
        if not texts:
            raise ValueError("cannot train a tokenizer on no text")
        if kind == "char":
            chars = sorted({c for t in texts for c in t if not c.isspace()} - {WORD_BOUNDARY})
            tok = cls("char", [BLANK, UNK, WORD_BOUNDARY] + chars)
        elif kind == "bpe":
            tok = cls("bpe", *_train_sentencepiece(texts, vocab_size, character_coverage))
        elif kind == "phone":
            from collections import Counter

            from .phones import Pronouncer

            pronouncer = pronouncer or Pronouncer()
            counts = Counter(w for t in texts for w in t.split())
            vocab = set(counts) | {w for w in words if w and not w.startswith("<")}
            # most frequent training words first: decode() maps a pronunciation to the first word having it
            ordered = sorted(vocab, key=lambda w: (-counts.get(w, 0), w))
            prons = {w: [tuple(p) for p in pronouncer(w) if p] for w in ordered}
            tok = cls("phone", phone_tokens(phone_marking), pronunciations=prons, phone_marking=phone_marking)
            tok.espeak_words = sorted(getattr(pronouncer, "espeak_words", ()))
        else:
            raise ValueError(f"tokenizer kind must be one of {KINDS}, got {kind!r}")
        if out_dir is not None:
            tok.save(out_dir)
        return tok

    def save(self, out_dir: str | os.PathLike) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "bpe":
            with atomic_path(out_dir / "bpe.model") as tmp:
                tmp.write_bytes(self._sp_model)
        if self.kind == "phone":
            lines = [f"{w}\t{' '.join(p)}\n" for w, ps in self.pronunciations.items() for p in ps]
            atomic_write_text(out_dir / PRONUNCIATIONS, "".join(lines))
        atomic_write_text(out_dir / "tokens.txt", "".join(f"{t} {i}\n" for i, t in enumerate(self.tokens)))
        meta = {"kind": self.kind, "vocab_size": self.vocab_size, "blank_id": self.blank_id, "unk_id": self.unk_id}
        if self.word_boundary:
            meta["word_boundary"] = WORD_BOUNDARY
        if self.kind == "phone":
            meta["phone_marking"] = self.phone_marking
        atomic_write_text(out_dir / "tokenizer.json", json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Tokenizer":
        directory = Path(directory)
        meta_path = directory / "tokenizer.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"no tokenizer in {directory}: {meta_path} is missing (train one first)")
        meta = json.loads(meta_path.read_text())
        tokens = _read_tokens(directory / "tokens.txt")
        sp_model = None
        if meta["kind"] == "bpe":
            model = directory / "bpe.model"
            if not model.is_file():
                raise FileNotFoundError(f"BPE tokenizer in {directory} has no bpe.model")
            sp_model = model.read_bytes()
        if meta["kind"] == "phone":
            marking = meta.get("phone_marking", "final")
            return cls("phone", tokens, pronunciations=_read_pronunciations(directory / PRONUNCIATIONS), phone_marking=marking)
        return cls(meta["kind"], tokens, sp_model)

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self.kind!r}, vocab_size={self.vocab_size})"


def phone_tokens(marking: str = "final") -> list[str]:
    """The output units of a phone tokenizer: blank, unk, then the phones (and their word-final variants)."""
    from .phones import PHONES

    if marking == "final":
        return [BLANK, UNK, *PHONES, *(p + FINAL_SUFFIX for p in PHONES)]
    if marking == "boundary":
        return [BLANK, UNK, WORD_BOUNDARY, *PHONES]
    raise ValueError(f"phone marking must be one of {PHONE_MARKINGS}, got {marking!r}")


def _read_pronunciations(path: Path) -> dict[str, list[tuple[str, ...]]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (a phone tokenizer keeps its pronunciations there)")
    prons: dict[str, list[tuple[str, ...]]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        word, _, phones = line.partition("\t")
        if not phones.strip():
            raise ValueError(f"{path}:{n}: expected 'WORD<TAB>PH PH ...', got {line[:60]!r}")
        prons.setdefault(word, []).append(tuple(phones.split()))
    return prons


def _read_tokens(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    tokens: dict[int, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        tok, _, idx = line.rpartition(" ")
        if not tok or not idx.isdigit():
            raise ValueError(f"{path}:{n}: expected 'token id', got {line!r}")
        tokens[int(idx)] = tok
    if sorted(tokens) != list(range(len(tokens))):
        raise ValueError(f"{path}: token ids are not 0..{len(tokens) - 1}")
    return [tokens[i] for i in range(len(tokens))]


def _train_sentencepiece(texts: list[str], vocab_size: int, character_coverage: float) -> tuple[list[str], bytes]:
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            model_type="bpe",
            vocab_size=vocab_size,
            character_coverage=character_coverage,
            pad_id=0,
            pad_piece=BLANK,
            unk_id=1,
            unk_piece=UNK,
            bos_id=-1,
            eos_id=-1,
            # reproducible: all sentences, in order, one thread
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as e:
        if "Vocabulary size" in str(e):
            raise ValueError(
                f"BPE vocab_size={vocab_size} is too large for these {len(texts)} transcripts ({e}); "
                "choose a smaller --vocab-size"
            ) from None
        raise
    proto = model.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=proto)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())], proto
