"""``audiofront tune-lm``: the LM weight and word score of the beam search, chosen on a dev cut set."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..decoding import TUNE_BEAM_SIZE
from ..errors import UserError


def parse_floats(text: str, option: str) -> list[float]:
    """``"0.5,1, 2"`` -> ``[0.5, 1.0, 2.0]``; one clear error for anything else."""
    values = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise UserError(f"{option}: expected comma-separated numbers, got {part!r} in {text!r}") from None
    if not values:
        raise UserError(f"{option}: expected comma-separated numbers, got {text!r}")
    return values


def main(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="an asr training checkpoint (avg.pt, ...)"),
    cuts: Path = typer.Option(..., "--cuts", help="the dev cuts to tune on (never the test set)"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes tune.json (every pair's WER, the best) and tune.md"),
    lm_weights: str = typer.Option("0.5,1,1.5,2", "--lm-weights", help="comma-separated LM weights to try"),
    word_scores: str = typer.Option("-1,0,1,2", "--word-scores", help="comma-separated word scores to try"),
    lang_dir: Optional[Path] = typer.Option(None, "--lang-dir", help="tokenizer/lexicon/LM (default: the checkpoint's)"),
    lm: Optional[Path] = typer.Option(None, "--lm", help="ARPA LM (default: the one in the lang dir)"),
    beam_size: int = typer.Option(TUNE_BEAM_SIZE, "--beam-size", help="hypotheses kept per frame in each of the grid's decodes (egs/librispeech's tuning beam: narrower than decoding's, for time)"),
    beam_threshold: float = typer.Option(25.0, "--beam-threshold"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    max_duration: float = typer.Option(200.0, "--max-duration", help="seconds of audio per batch"),
    num_threads: Optional[int] = typer.Option(None, "--num-threads", help="torch CPU threads"),
) -> None:
    """Decode CUTS with every LM weight x word score pair (the model runs once) and report the best."""
    from ..decoding.beam import BeamSearchOptions
    from ..decoding.tune import grid_edges, tune_lm

    weights = parse_floats(lm_weights, "--lm-weights")
    scores = parse_floats(word_scores, "--word-scores")
    opts = BeamSearchOptions(beam_size=beam_size, beam_threshold=beam_threshold)
    try:
        best = tune_lm(checkpoint, cuts, out_dir, weights, scores, lang_dir=lang_dir, lm_path=lm, options=opts,
                       device=device, max_duration=max_duration, num_threads=num_threads)
    except UserError:
        raise
    except ValueError as e:  # the checkpoint loader and tokenizer report bad files as ValueError
        raise UserError(str(e)) from None
    Console().print(f"best on {cuts}: --lm-weight {best['lm_weight']:g} --word-score {best['word_score']:g} "
                    f"(WER {best['wer']:.2f}) -> {out_dir}/tune.json", soft_wrap=True)
    edges = grid_edges(best, weights, scores)
    if edges:
        Console(stderr=True).print(f"note: the best pair is on the edge of the grid ({'; '.join(edges)}): a wider "
                                   "grid may do better", soft_wrap=True)
