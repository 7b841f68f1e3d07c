"""``audiofront decode``: CTC greedy or lexicon + n-gram LM beam search over a cut set -> Kaldi text."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..decoding import DECODE_BEAM_SIZE
from ..errors import UserError


def main(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="a training checkpoint (avg.pt, last.pt, ...)"),
    cuts: Path = typer.Option(..., "--cuts", help="cut manifest to decode"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes hyp, ref (Kaldi text) and decode.json here; greedy also hyp_tokens, "
                                 "ref_tokens (the model's units)"),
    lang_dir: Optional[Path] = typer.Option(None, "--lang-dir", help="tokenizer/lexicon/LM (default: the checkpoint's)"),
    method: str = typer.Option("greedy", "--method", help="greedy | lm | lexicon (beam search without LM)"),
    lm: Optional[Path] = typer.Option(None, "--lm", help="ARPA LM (default: the one in the lang dir)"),
    beam_size: int = typer.Option(DECODE_BEAM_SIZE, "--beam-size", help="hypotheses kept per frame (egs/librispeech's decoding beam)"),
    beam_size_token: Optional[int] = typer.Option(None, "--beam-size-token", help="tokens tried per frame (default all)"),
    beam_threshold: float = typer.Option(25.0, "--beam-threshold"),
    lm_weight: float = typer.Option(1.0, "--lm-weight"),
    word_score: float = typer.Option(0.0, "--word-score", help="word insertion score (added per word)"),
    sil_score: float = typer.Option(0.0, "--sil-score"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    max_duration: float = typer.Option(200.0, "--max-duration", help="seconds of audio per batch"),
    num_threads: Optional[int] = typer.Option(None, "--num-threads", help="torch CPU threads"),
) -> None:
    """Decode CUTS with CHECKPOINT and write hypotheses and references as Kaldi `text` files."""
    from ..decoding.beam import BeamSearchOptions
    from ..decoding.run import decode_cuts

    opts = BeamSearchOptions(beam_size=beam_size, beam_size_token=beam_size_token, beam_threshold=beam_threshold,
                             lm_weight=lm_weight, word_score=word_score, sil_score=sil_score)
    try:
        s = decode_cuts(checkpoint, cuts, out_dir, lang_dir=lang_dir, method=method, lm_path=lm, options=opts,
                        device=device, max_duration=max_duration, num_threads=num_threads)
    except UserError:
        raise
    except ValueError as e:  # the checkpoint loader and tokenizer report bad files as ValueError
        raise UserError(str(e)) from None
    Console().print(f"decoded {s.num_utts} utterances ({s.audio_seconds:.1f} s of audio) in {s.decode_seconds:.1f} s "
                    f"(RTF {s.rtf:.3f}) -> {s.out_dir}/hyp", soft_wrap=True)
