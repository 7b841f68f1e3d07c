"""``audiofront inspect-vae CKPT AUDIO``: a VAE's reconstruction of a recording, in the terminal or as a PNG
(thin layer over :mod:`audiofront.inspect.vae`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import typer


def main(
    checkpoint: Path = typer.Argument(..., help="a checkpoint of `audiofront train --task vae` (avg.pt, last.pt)"),
    audio: Path = typer.Argument(..., help="an audio file (any rate and channels: resampled, mixed down)"),
    png: Optional[Path] = typer.Option(None, "--png", help="write the figure to this PNG file (matplotlib)"),
    start: float = typer.Option(0.0, "--start", help="excerpt start, seconds"),
    seconds: Optional[float] = typer.Option(None, "--seconds", help="excerpt length, seconds (default: to the end)"),
    as_json: bool = typer.Option(False, "--json", help="print the distances as JSON instead of drawing"),
    width: Optional[int] = typer.Option(None, "--width", help="terminal heatmap width in columns (default: the terminal's)"),
) -> None:
    """Original vs reconstructed spectrogram (decoded from the latent means of non-overlapping fragments) and
    the log-spectral distance in dB. With --png or --json the terminal heatmaps are not drawn."""
    from ..inspect.vae import inspect_vae, render_terminal, write_png

    r = inspect_vae(checkpoint, audio, start=start, seconds=seconds)
    if png is not None:
        write_png(r, png, title=f"{checkpoint.name} on {audio.name}: LSD {r.lsd_db:.2f} dB")
        typer.echo(f"wrote {png}", err=True)
    if as_json:
        typer.echo(json.dumps({"checkpoint": str(checkpoint), "audio": str(audio), "lsd_db": r.lsd_db,
                               "frames": int(r.lsd_per_frame_db.shape[0]), "latent_dim": r.latent_dim,
                               "fragment_ms": r.fragment_ms}))
    elif png is None:
        typer.echo(render_terminal(r, width=width or shutil.get_terminal_size((100, 24)).columns - 2))
    else:
        typer.echo(f"log-spectral distance: {r.lsd_db:.2f} dB")
