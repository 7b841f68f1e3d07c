"""Word n-gram language models for lexicon-constrained CTC decoding.

:func:`estimate_arpa` estimates an interpolated modified Kneser-Ney model from transcripts and writes it as
ARPA (optionally over a larger vocabulary through a unigram prior, :func:`unigram_prior`);
:func:`download_librispeech_lm` and :func:`download_librispeech_lexicon` fetch the official LibriSpeech LM
and lexicon (openslr resource 11).
"""

from .ngram import (
    BOS,
    EOS,
    UNK,
    Discounts,
    NgramModel,
    ArpaModel,
    count_ngrams,
    download_librispeech_lexicon,
    download_librispeech_lm,
    estimate,
    estimate_arpa,
    read_arpa,
    unigram_prior,
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
    "download_librispeech_lexicon",
    "download_librispeech_lm",
    "estimate",
    "estimate_arpa",
    "read_arpa",
    "unigram_prior",
    "write_arpa",
]
