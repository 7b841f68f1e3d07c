"""``audiofront extract``: fixed features of a frontend for every cut, stored with lhotse (thin layer over
:mod:`audiofront.data.extract`)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ..errors import UserError


def main(
    frontend: str = typer.Option("fbank", "--frontend", help="a registered frontend (see `audiofront frontends`)"),
    frontend_conf: Optional[List[str]] = typer.Option(None, "--frontend-conf", help="key=value options of the frontend (repeatable), JSON or a .yaml file"),
    cuts: Path = typer.Option(..., "--cuts", help="input cut manifest (.jsonl.gz)"),
    out_dir: Path = typer.Option(..., "--out-dir", help="where the features and the new cut manifest go"),
    storage: str = typer.Option(
        "lilcom", "--storage",
        help="lilcom (one .lca file; absolute error <= 1/64), float32 (= numpy: .npy per cut, exact) or float16 (.npy, "
             "relative error <= 2^-11)",
    ),
    batch_seconds: float = typer.Option(60.0, "--batch-seconds", help="audio per frontend call"),
    device: str = typer.Option("cpu", "--device", help="torch device that runs the frontend"),
    num_threads: int = typer.Option(0, "--num-threads", help="torch CPU threads (0: torch's default)"),
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="replace features of this manifest already in --out-dir that were made otherwise (the same request "
             "again is kept without computing)"),
) -> None:
    """Features of a frontend for every cut (multi-channel audio mixed down to mono, other rates resampled)."""
    from ..data.extract import extract_features
    from ..utils.conf import parse_conf
    from ..utils.device import set_num_threads

    console = Console(stderr=True)
    try:
        set_num_threads(num_threads)
        out = extract_features(
            cuts, out_dir, frontend=frontend, frontend_conf=parse_conf(frontend_conf), storage=storage,
            batch_seconds=batch_seconds, device=device, overwrite=overwrite,
        )
    except ValueError as e:  # UserError, and the ValueErrors of frontend configs: one line, exit 2
        raise UserError(f"extract: {e}") from None
    if out.reused:
        Console().print(f"extract: {out.cuts_path} already holds these {frontend} features of {cuts} (same input, "
                        f"config, weights and storage): kept, nothing computed")
        return
    for rate, n in sorted(out.resampled.items()):
        console.print(f"note: {n} cut(s) at {rate} Hz resampled to the frontend's rate")
    if out.skipped:
        console.print(f"[yellow]extract: {len(out.skipped)} cut(s) too short for one frame were left out "
                      f"(listed in {out.cuts_path.parent}/*_skipped.txt)[/yellow]")
    Console().print(f"extract: {out.num_cuts} cuts, {out.num_frames} frames of {out.dim} {frontend} features -> {out.cuts_path}")


def report_main(
    cuts: List[Path] = typer.Argument(..., help="feature manifests written by `audiofront extract` (*.jsonl.gz), or folders of them (one row each)"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="also write the table to this file"),
) -> None:
    """Bytes on disk of each feature manifest's files, per second of audio and in MB (a Markdown table)."""
    from ..data.extract import storage_report, storage_table
    from ..utils.io import atomic_write_text

    table = storage_table([storage_report(c) for c in cuts])
    if markdown is not None:
        atomic_write_text(markdown, table + "\n")
    Console().print(table, markup=False, highlight=False, soft_wrap=True)
