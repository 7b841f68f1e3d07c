"""``audiofront prepare lang``: tokenizer + word list + lexicon + n-gram LM from training transcripts."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ..errors import UserError


def main(
    cuts: List[Path] = typer.Option(..., "--cuts", help="training cut manifest(s); their transcripts make everything"),
    out_dir: Path = typer.Option(Path("data/lang"), "--out-dir", help="the lang directory to write"),
    tokenizer: str = typer.Option(
        "bpe", "--tokenizer", help="bpe | char | phone (39 ARPAbet phones, CMUdict + eSpeak NG)"
    ),
    phone_marking: str = typer.Option(
        "final", "--phone-marking",
        help="phones: mark word ends by word-final phone variants (final) or a '|' token (boundary)",
    ),
    vocab: Optional[str] = typer.Option(
        None, "--vocab",
        help="decoding vocabulary: train (training words) | cmudict (those and all of CMUdict); "
        "default cmudict for phones, else train",
    ),
    lm_text: List[Path] = typer.Option(
        [], "--lm-text", help="plain text file(s), one sentence per line, added to the LM (and the vocabulary); not with --download-lm"
    ),
    prior: str = typer.Option(
        "uniform", "--prior",
        help="unigram prior of the LM over the vocabulary, for words its text lacks: uniform | wordfreq "
        "(optional package, CC BY-SA data); not with --download-lm",
    ),
    prior_weight: float = typer.Option(
        0.0, "--prior-weight", help="extra weight of the unigram prior in the LM's unigrams, in [0, 1); not with --download-lm"
    ),
    vocab_size: int = typer.Option(256, "--vocab-size", help="BPE outputs including the blank (ignored for char and phone)"),
    lm_order: int = typer.Option(3, "--lm-order", help="order of the estimated n-gram LM (>= 2); a downloaded LM keeps its own"),
    download_lm: Optional[str] = typer.Option(
        None, "--download-lm",
        help="use an official LibriSpeech LM (openslr 11) as it is instead of estimating one, e.g. 4-gram.arpa.gz; lang.json counts the lexicon words it lacks",
    ),
    lm_dir: Optional[Path] = typer.Option(None, "--lm-dir", help="where a downloaded LM goes (default: --out-dir)"),
) -> None:
    """Train the tokenizer and write the lexicon and LM used by `audiofront decode --method lm`."""
    from ..lm.lang import prepare_lang, read_cut_texts, read_text_lines

    try:
        texts = read_cut_texts(cuts)
        extra = read_text_lines(lm_text) if lm_text else []
        info = prepare_lang(texts, out_dir, tokenizer_kind=tokenizer, vocab_size=vocab_size, lm_order=lm_order,
                            download_lm=download_lm, lm_dir=lm_dir, phone_marking=phone_marking, vocab=vocab,
                            lm_texts=extra, prior=prior, prior_weight=prior_weight)
    except (ValueError, RuntimeError) as e:  # bad input, or a tokenizer/LM tool that refused the data
        raise UserError(f"prepare lang: {' '.join(str(e).split())}") from None
    Console().print(
        f"lang dir {out_dir}: {info['tokenizer']} tokenizer ({info['vocab_size']} outputs), "
        f"{info['num_words']} words, LM {info['lm']} ({info['lm_source']}) from {info['num_transcripts']} transcripts",
        soft_wrap=True,
    )
    if "espeak_words" in info:
        Console().print(
            f"{info['espeak_words']} words are not in CMUdict and were pronounced by eSpeak NG "
            f"(e.g. {', '.join(info['espeak_words_examples'][:5]) or '-'}); see {out_dir}/pronunciations.txt",
            soft_wrap=True,
        )
