"""Word n-gram language models for lexicon-constrained CTC decoding.

:func:`estimate_arpa` estimates an interpolated modified Kneser-Ney model from transcripts and writes it as
ARPA; :func:`download_librispeech_lm` fetches the official LibriSpeech LM (openslr resource 11).
"""

from .ngram import (
    BOS,
    EOS,
    UNK,
    Discounts,
    NgramModel,
    ArpaModel,
    count_ngrams,
    download_librispeech_lm,
    estimate,
    estimate_arpa,
    read_arpa,
    write_arpa,
)

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "ArpaModel",
    "Discounts",
    "NgramModel",
    "count_ngrams",
    "download_librispeech_lm",
    "estimate",
    "estimate_arpa",
    "read_arpa",
    "write_arpa",
]
