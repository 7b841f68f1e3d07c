"""``audiofront evaluate``: clip-level predictions of a classification checkpoint (optionally in noise)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError


def _parse_snrs(text: str) -> list[Optional[float]]:
    out: list[Optional[float]] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if item.lower() == "clean":
            out.append(None)
            continue
        try:
            out.append(float(item))
        except ValueError:
            raise UserError(f"--snr: {item!r} is neither 'clean' nor a number of dB") from None
    if not out:
        raise UserError(f"--snr {text!r}: give at least one SNR (e.g. clean,20,10,5,0,-5)")
    return out


def main(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="classification checkpoint (avg.pt, last.pt, ...)"),
    cuts: Path = typer.Option(..., "--cuts", help="lhotse cuts manifest to evaluate on"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes {clean|snrXdB}/predictions.jsonl here"),
    snr: str = typer.Option("clean", "--snr", help="comma-separated SNRs in dB of added Gaussian noise; 'clean' = none. "
                            "The noise sweep of the LEAF paper: clean,20,10,5,0,-5"),
    seed: int = typer.Option(0, "--seed", help="noise seed (same noise for every model)"),
    batch_size: int = typer.Option(16, "--batch-size", help="clips per forward pass"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    num_threads: Optional[int] = typer.Option(None, "--num-threads", help="torch CPU threads (default: torch's, one per "
                                              "core; 1 when jobs run side by side)"),
    frontend_impl: Optional[str] = typer.Option(None, "--frontend-impl", help="leaf: compute the frontend with "
                                                "direct | fast | decimated (same weights), e.g. a model trained with "
                                                "impl=decimated evaluated exactly with fast"),
) -> None:
    """Predict every clip of CUTS with CHECKPOINT; score with `audiofront score --task classify --hyp ...`."""
    from ..tasks.classify_eval import evaluate_checkpoint

    snrs = _parse_snrs(snr)
    from ..utils.device import set_num_threads

    set_num_threads(num_threads)
    try:
        written = evaluate_checkpoint(checkpoint, cuts, out_dir, snrs=snrs, seed=seed, batch_size=batch_size, device=device,
                                      frontend_impl=frontend_impl)
    except UserError:
        raise
    except ValueError as e:  # the checkpoint loader reports unreadable files as ValueError
        raise UserError(str(e)) from None
    for name, path in written.items():
        typer.echo(f"{name}: {path}")
