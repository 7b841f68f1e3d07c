"""Word -> token spellings for lexicon-constrained decoding, in the file format flashlight-text reads.

One line per spelling, ``WORD<TAB>tok1 tok2 ...`` (``flashlight.lib.text.dictionary.load_words``).
The spelling of a word is what the tokenizer makes of it: BPE pieces (the word-initial ``▁`` included,
since sentencepiece encodes a sentence word by word), characters, or phones (one line per pronunciation:
a phone lexicon keeps all of them, e.g. ``READ R EH D`` and ``READ R IY D``). For a character tokenizer with a
stand-alone word-boundary token (``|`` or ``▁``) the boundary is left out of the spellings: the decoder
treats it as its "silence" between words, so the last word of an utterance needs no trailing boundary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from ..utils.io import atomic_write_text

BOUNDARY_TOKENS = ("|", "▁")
SPECIAL_WORDS = ("<s>", "</s>", "<unk>")
UNKNOWN_TOKEN = "<unk>"  # the tokenizers' token for what they cannot spell


class TokenizerLike(Protocol):
    tokens: list[str]
    blank_id: int

    def encode(self, text: str) -> list[int]: ...


def word_boundary_token(tokenizer: TokenizerLike) -> str | None:
    """The stand-alone word-boundary token of a character tokenizer, or None (BPE or no boundary)."""
    kind = getattr(tokenizer, "kind", None)
    if kind == "phone":
        return getattr(tokenizer, "word_boundary", None)
    if kind is None:  # infer: a character inventory has (nearly) only one-character tokens
        ordinary = [t for i, t in enumerate(tokenizer.tokens) if i != tokenizer.blank_id and not t.startswith("<")]
        kind = "char" if ordinary and sum(len(t) == 1 for t in ordinary) >= 0.9 * len(ordinary) else "bpe"
    if kind != "char":
        return None
    for b in BOUNDARY_TOKENS:
        if b in tokenizer.tokens:
            return b
    return None


@dataclass
class Lexicon:
    """``spellings[word]`` is a list of spellings, each a list of token strings."""

    spellings: dict[str, list[list[str]]] = field(default_factory=dict)
    sil_token: str | None = None  # the token the decoder may emit between words (None: the CTC blank)
    dropped: list[str] = field(default_factory=list)  # words from_tokenizer could not spell

    def __len__(self) -> int:
        return len(self.spellings)

    def __contains__(self, word: str) -> bool:
        return word in self.spellings

    @classmethod
    def from_tokenizer(cls, tokenizer: TokenizerLike, words: Iterable[str], droppable: Iterable[str] = ()) -> "Lexicon":
        """Spell ``words``; a word of ``droppable`` whose spelling needs ``<unk>`` (a character the tokenizer
        never saw) or that has no spelling at all is left out, and listed in :attr:`dropped`."""
        boundary = word_boundary_token(tokenizer)
        droppable = set(droppable)
        dropped: list[str] = []
        spellings: dict[str, list[list[str]]] = {}
        for word in sorted(set(words)):
            if word in SPECIAL_WORDS or not word.strip():
                continue
            if any(c.isspace() for c in word):
                raise ValueError(f"lexicon word {word!r} contains white space")
            if hasattr(tokenizer, "spellings"):  # phones: every pronunciation of the word
                candidates = tokenizer.spellings(word)
            else:
                candidates = [[tokenizer.tokens[i] for i in tokenizer.encode(word)]]
            kept: list[list[str]] = []
            for spelling in candidates:
                if boundary is not None:
                    while spelling and spelling[0] == boundary:
                        spelling.pop(0)
                    while spelling and spelling[-1] == boundary:
                        spelling.pop()
                if tokenizer.blank_id < len(tokenizer.tokens) and tokenizer.tokens[tokenizer.blank_id] in spelling:
                    raise ValueError(f"the spelling of {word!r} contains the CTC blank: {spelling}")
                if spelling and spelling not in kept:
                    kept.append(spelling)
            if word in droppable and (not kept or any(UNKNOWN_TOKEN in s for s in kept)):
                dropped.append(word)
                continue
            if not kept:
                raise ValueError(f"the tokenizer gives no tokens for the word {word!r}")
            spellings[word] = kept
        lexicon = cls(spellings, sil_token=boundary)
        lexicon.dropped = dropped
        return lexicon

    def write(self, path: str | os.PathLike) -> Path:
        lines = [f"{w}\t{' '.join(s)}" for w, ss in sorted(self.spellings.items()) for s in ss]
        atomic_write_text(path, "\n".join(lines) + "\n")
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike, sil_token: str | None = None) -> "Lexicon":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"lexicon {path} does not exist (run `audiofront prepare lang`)")
        spellings: dict[str, list[list[str]]] = {}
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'WORD tok1 tok2 ...', got {line!r}")
            spellings.setdefault(parts[0], []).append(parts[1:])
        if not spellings:
            raise ValueError(f"lexicon {path} is empty")
        return cls(spellings, sil_token=sil_token)

    def check_tokens(self, tokens: Sequence[str], where: str = "the lexicon") -> None:
        """Every token of every spelling must be in ``tokens`` (the model's output units)."""
        known = set(tokens)
        for w, ss in self.spellings.items():
            for s in ss:
                missing = [t for t in s if t not in known]
                if missing:
                    raise ValueError(f"{where}: the spelling of {w!r} uses tokens not in the token list: {missing}")
