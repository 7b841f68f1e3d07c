"""What a trained VAE keeps of a recording: its spectrogram next to the one decoded from the latent means.

The recording is cut into non-overlapping fragments (centred on samples ``0, S, 2 S, ...`` with ``S =
fragment_frames * stft_hop``, 400 samples for the 25 ms model), each is encoded to its posterior mean and
decoded, and the sub-frames of the fragments side by side make both spectrograms (sub-frame ``n`` is centred
on sample ``n * stft_hop - reach``; only those centred inside the recording are kept). Both are in dB,
``10 log10(power + log_floor)``. For a ``level: fragment`` VAE, which never sees a fragment's mean level, both
take each fragment's level from the original: the figure's loudness is not carried by the latents.

Log-spectral distance: per sub-frame, the RMS over the bins of the dB difference; :attr:`lsd_db` is its mean.
For a ``frequency_scale: mel`` VAE the bins are its mel bands, so its distance is not comparable with a linear
VAE's (fewer, wider, smoother bands).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ..errors import UserError
from ..models.vae import LN_TO_DB
SHADES = " .:-=+*#%@"  # terminal heatmap, quiet to loud


@dataclass
class VaeReconstruction:
    original_db: np.ndarray  # [n_bins, K]
    reconstructed_db: np.ndarray  # [n_bins, K]
    lsd_per_frame_db: np.ndarray  # [K]
    sample_rate: int
    stft_hop: int
    first_centre: int  # sample of sub-frame 0's centre
    n_fft: int
    latent_dim: int
    fragment_ms: float
    mel_range_hz: Optional[tuple] = None  # (low, high) of the mel bands of a frequency_scale mel VAE; None: FFT bins

    @property
    def frequency_axis(self) -> tuple[float, float, str]:
        """The image's vertical extent and its label: kHz for FFT bins, band numbers for mel bands."""
        if self.mel_range_hz is None:
            return 0.0, self.sample_rate * self.original_db.shape[0] / self.n_fft / 1000, "kHz"
        lo, hi = self.mel_range_hz
        return 0.0, float(self.original_db.shape[0]), f"mel band ({lo / 1000:g}-{hi / 1000:g} kHz)"

    @property
    def lsd_db(self) -> float:
        return float(self.lsd_per_frame_db.mean())

    @property
    def seconds_per_frame(self) -> float:
        return self.stft_hop / self.sample_rate


def load_vae(checkpoint: str | Path):
    """The :class:`~audiofront.models.vae.ConvVae` of a ``vae`` training checkpoint, in eval mode."""
    from ..frontends.vae import load_vae_checkpoint

    return load_vae_checkpoint(checkpoint).eval()


@torch.no_grad()
def reconstruct(model, waveform: Tensor) -> VaeReconstruction:
    """Original and reconstructed dB spectrograms of ``waveform [T]`` (see the module docstring)."""
    cfg = model.cfg
    step = cfg.fragment_frames * cfg.stft_hop
    frags = model.analysis.frames(waveform[None].float(), step)[0]  # [F, bins, frames]
    recon = model(frags, sample=False)["recon"]
    original = model.analysis.denormalise(frags)  # ln power
    decoded = model.analysis.denormalise(recon)
    if cfg.level == "fragment":
        # the VAE sees each fragment less its mean ln power: both are shown at the fragment's own level again
        # (the distance is unchanged, the level being the same for both)
        level = model.analysis.levels(waveform[None].float(), step)[0][:, None, None]  # [F, 1, 1]
        original, decoded = original + level, decoded + level
    # [F, bins, frames] -> [bins, F * frames], sub-frame n centred on n * stft_hop - reach
    original = original.permute(1, 0, 2).reshape(cfg.n_bins, -1)
    decoded = decoded.permute(1, 0, 2).reshape(cfg.n_bins, -1)
    centres = torch.arange(original.shape[1]) * cfg.stft_hop - cfg.fragment_reach
    keep = (centres >= 0) & (centres < waveform.shape[0])
    original, decoded = LN_TO_DB * original[:, keep], LN_TO_DB * decoded[:, keep]
    lsd = (original - decoded).square().mean(dim=0).sqrt()
    first = int(centres[keep][0]) if bool(keep.any()) else 0
    mel = (float(cfg.mel_min_hz), cfg.mel_top_hz) if cfg.frequency_scale == "mel" else None
    return VaeReconstruction(original.numpy(), decoded.numpy(), lsd.numpy(), cfg.sample_rate, cfg.stft_hop, first,
                             cfg.n_fft, cfg.latent_dim, cfg.fragment_ms, mel)


def inspect_vae(checkpoint: str | Path, audio: str | Path, start: float = 0.0, seconds: Optional[float] = None) -> VaeReconstruction:
    """:func:`reconstruct` of an audio file (any rate and channels: resampled and mixed down), optionally a
    ``seconds`` long excerpt from ``start``."""
    from ..inference.audio import read_audio

    model = load_vae(checkpoint)
    samples = read_audio(audio, model.cfg.sample_rate).samples
    sr = model.cfg.sample_rate
    if start < 0 or (seconds is not None and seconds <= 0):
        raise UserError(f"--start must be >= 0 and --seconds > 0, got {start} and {seconds}")
    a = int(round(start * sr))
    b = samples.shape[0] if seconds is None else min(samples.shape[0], a + int(round(seconds * sr)))
    if b - a < model.cfg.stft_hop:
        raise UserError(f"{audio}: the excerpt from {start} s holds {max(0, b - a)} samples; need at least {model.cfg.stft_hop}")
    return reconstruct(model, torch.from_numpy(samples[a:b].copy()))


def render_terminal(r: VaeReconstruction, width: int = 100, rows: int = 16) -> str:
    """Both spectrograms as character heatmaps (low frequencies at the bottom) and the distance, as text."""
    width = max(10, width)
    lo = float(np.percentile(r.original_db, 2))
    hi = float(np.percentile(r.original_db, 99.5))
    span = max(hi - lo, 1e-6)

    def heatmap(db: np.ndarray) -> list[str]:
        bins, frames = db.shape
        cols = min(width, frames)
        t_edges = np.linspace(0, frames, cols + 1).astype(int)
        f_edges = np.linspace(0, bins, rows + 1).astype(int)
        lines = []
        for i in reversed(range(rows)):
            band = db[f_edges[i] : max(f_edges[i + 1], f_edges[i] + 1)]
            line = ""
            for j in range(cols):
                v = band[:, t_edges[j] : max(t_edges[j + 1], t_edges[j] + 1)].mean()
                level = int(np.clip((v - lo) / span, 0, 1) * (len(SHADES) - 1))
                line += SHADES[level]
            lines.append("|" + line + "|")
        return lines

    seconds = r.original_db.shape[1] * r.seconds_per_frame
    _, top, unit = r.frequency_axis
    rows_name = f"0-{top:.2f} kHz" if unit == "kHz" else f"{r.original_db.shape[0]} {unit}"
    head = f"{seconds:.2f} s, {rows_name} (bottom to top), {lo:.0f}..{hi:.0f} dB as '{SHADES}'"
    out = [f"original  ({head})", *heatmap(r.original_db),
           f"reconstructed from {r.latent_dim} latent means per {r.fragment_ms:g} ms fragment", *heatmap(r.reconstructed_db),
           f"log-spectral distance: {r.lsd_db:.2f} dB (mean over {r.lsd_per_frame_db.shape[0]} frames; "
           f"median {float(np.median(r.lsd_per_frame_db)):.2f}, max {float(r.lsd_per_frame_db.max()):.2f})"]
    return "\n".join(out)


def write_png(r: VaeReconstruction, path: str | Path, title: str = "") -> None:
    """Original and reconstructed spectrograms (same colour scale) and the per-frame distance, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..utils.io import atomic_save_png

    t0 = r.first_centre / r.sample_rate
    t1 = t0 + r.original_db.shape[1] * r.seconds_per_frame
    f0, f1, unit = r.frequency_axis
    vmin, vmax = np.percentile(r.original_db, 2), np.percentile(r.original_db, 99.5)
    # a narrow second column holds the colour bars, so that the three panels share one time axis and width
    fig, axes = plt.subplots(3, 2, figsize=(10, 8), gridspec_kw={"height_ratios": [3, 3, 1.3], "width_ratios": [40, 1]})
    for row, db, name in ((0, r.original_db, "original"), (1, r.reconstructed_db, "reconstructed")):
        ax = axes[row, 0]
        im = ax.imshow(db, origin="lower", aspect="auto", extent=(t0, t1, f0, f1), vmin=vmin, vmax=vmax, cmap="magma")
        ax.set_ylabel(unit)
        ax.set_title(name)
        ax.set_xlim(t0, t1)
        fig.colorbar(im, cax=axes[row, 1], label="dB")
    times = t0 + np.arange(r.lsd_per_frame_db.shape[0]) * r.seconds_per_frame
    axes[2, 0].plot(times, r.lsd_per_frame_db, lw=0.8)
    axes[2, 0].set_xlim(t0, t1)
    axes[2, 0].set_ylabel("LSD (dB)")
    axes[2, 0].set_xlabel("time (s)")
    axes[2, 0].set_title(f"log-spectral distance, mean {r.lsd_db:.2f} dB")
    axes[2, 1].axis("off")
    fig.suptitle(title or f"VAE-{r.latent_dim}, {r.fragment_ms:g} ms fragments")
    fig.tight_layout()
    atomic_save_png(fig, Path(path), dpi=110)
    plt.close(fig)
