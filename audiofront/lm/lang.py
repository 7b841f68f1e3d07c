"""The ``lang`` directory a recipe decodes with: tokenizer, word list, lexicon and n-gram LM.

Files written to ``out_dir``::

    tokenizer.json, tokens.txt[, bpe.model]   the tokenizer (audiofront.text.tokenizer)
    words.txt                                 the decoding vocabulary, one word per line
    lexicon.txt                               word -> token spelling (flashlight format)
    lm_<N>gram.arpa                           modified Kneser-Ney LM of the training transcripts,
                                              or the official LibriSpeech LM when downloaded
    lang.json                                 what is where (read by ``audiofront decode``)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UserError
from ..text.lexicon import Lexicon, SPECIAL_WORDS
from ..utils.io import atomic_write_text
from .ngram import arpa_unigrams, download_librispeech_lm, estimate_arpa

log = logging.getLogger(__name__)


def read_cut_texts(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Transcripts (first supervision of each cut) of lhotse cut manifests; cuts without text are skipped.

    Raises:
        UserError: a manifest is missing or not a cuts manifest (:func:`audiofront.data.cuts.read_cuts`),
            or none holds a transcript.
    """
    from ..data.cuts import read_cuts

    texts: list[str] = []
    for p in paths:
        for cut in read_cuts(p, "--cuts"):
            for sup in cut.supervisions:
                if sup.text and sup.text.strip():
                    texts.append(" ".join(sup.text.split()))
    if not texts:
        raise UserError(f"--cuts: no transcripts in {', '.join(map(str, paths))} (expected cuts whose supervisions have text)")
    return texts


def read_lang_info(lang_dir: str | os.PathLike) -> dict:
    path = Path(lang_dir) / "lang.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `audiofront prepare lang --out-dir {lang_dir}` first")
    return json.loads(path.read_text())


def prepare_lang(
    texts: Iterable[str],
    out_dir: str | os.PathLike,
    tokenizer_kind: str = "bpe",
    vocab_size: int = 256,
    lm_order: int = 3,
    download_lm: str | None = None,
    lm_dir: str | os.PathLike | None = None,
    extra_words: Iterable[str] = (),
) -> dict:
    """Train the tokenizer on ``texts``, then write the word list, lexicon and LM. Returns lang.json's content.

    ``download_lm`` (e.g. ``"4-gram.arpa.gz"``) fetches the official LibriSpeech LM into ``lm_dir``
    (default ``out_dir``) instead of estimating one; its unigram vocabulary then joins the lexicon.
    """
    from ..text.tokenizer import KINDS, Tokenizer

    if lm_order < 2:
        raise UserError(f"--lm-order must be at least 2 (KenLM reads bigram models and up), got {lm_order}")
    if tokenizer_kind not in KINDS:
        raise UserError(f"--tokenizer must be one of {', '.join(KINDS)}, got {tokenizer_kind!r}")
    if tokenizer_kind == "bpe" and vocab_size < 2:
        raise UserError(f"--vocab-size must be at least 2 (the blank and one token), got {vocab_size}")
    texts = [" ".join(t.split()) for t in texts if t and t.strip()]
    if not texts:
        raise UserError("no transcripts to build the lang directory from")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.train(texts, kind=tokenizer_kind, vocab_size=vocab_size, out_dir=out_dir)

    words = {w for t in texts for w in t.split()} | set(extra_words)
    if download_lm:
        lm_path = download_librispeech_lm(lm_dir or out_dir, download_lm)
        lm_words = [w for w in arpa_unigrams(lm_path) if w not in SPECIAL_WORDS]
        words |= set(lm_words)
        lm_order_used = None
    else:
        lm_path = out_dir / f"lm_{lm_order}gram.arpa"
        model = estimate_arpa(texts, lm_path, order=lm_order)
        lm_order_used = model.order
    words = sorted(w for w in words if w not in SPECIAL_WORDS)
    atomic_write_text(out_dir / "words.txt", "\n".join(words) + "\n")
    lexicon = Lexicon.from_tokenizer(tok, words)
    lexicon.write(out_dir / "lexicon.txt")

    info = {
        "tokenizer": tok.kind,
        "vocab_size": tok.vocab_size,
        "num_words": len(words),
        "lexicon": "lexicon.txt",
        "sil_token": lexicon.sil_token,
        "lm": os.path.relpath(lm_path, out_dir),
        "lm_order": lm_order_used,
        "lm_source": f"openslr-11/{download_lm}" if download_lm else "estimated (modified Kneser-Ney)",
        "num_transcripts": len(texts),
    }
    atomic_write_text(out_dir / "lang.json", json.dumps(info, indent=2) + "\n")
    return info
