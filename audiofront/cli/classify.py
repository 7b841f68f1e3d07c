"""``audiofront classify``: top-k labels with probabilities of your own audio files, for every head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError


def main(
    inputs: List[Path] = typer.Argument(..., help="audio files, or directories searched for them"),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="a classify checkpoint (avg.pt, last.pt, ...)"),
    top_k: int = typer.Option(3, "--top-k", help="labels shown per head"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write JSON lines here instead of a table on stdout"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="a progress bar on stderr for many files"),
) -> None:
    """Classify audio files of any sample rate and channel count with every head of a classifier."""
    from ..inference.audio import list_audio_files
    from ..inference.classify import Classifier
    from ..inference.files import for_each_file
    from ..utils.io import atomic_write_text

    files = list_audio_files(inputs)
    clf = Classifier(checkpoint, device=device, top_k=top_k)

    def say(_path: Path, msg: str) -> None:
        typer.echo(f"error: {msg}", err=True)

    results, failures, notes = for_each_file(files, clf.sample_rate, clf.classify, say, progress=progress)
    for line in notes.summary(clf.sample_rate):
        typer.echo(f"note: {line}", err=True)
    done = [p for p in files if p in results]
    if output is not None:
        rows = [json.dumps({"path": str(p), "heads": {h: [{"label": lab, "prob": round(pr, 6)} for lab, pr in top]
                                                     for h, top in results[p].items()}}) for p in done]
        if rows:
            atomic_write_text(output, "".join(r + "\n" for r in rows))
            typer.echo(f"{len(rows)} file(s) classified -> {output}", err=True)
    else:
        for p in done:
            for head, top in results[p].items():
                labels = "  ".join(f"{lab} {pr:.3f}" for lab, pr in top)
                typer.echo(f"{p}\t{head}\t{labels}")
    if failures:
        raise UserError(f"{len(failures)} of {len(files)} file(s) could not be classified (listed above)")
