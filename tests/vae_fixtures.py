"""A tiny VAE checkpoint for the tests that build every registry frontend (the ``vae`` frontend needs one).

Not a test module: imported by tests/frontends, tests/streaming, tests/export and tests/data. The checkpoint
has the layout ``audiofront train --task vae`` writes (``task``, ``model``, ``frontend``), a non-trivial
per-bin normalisation and weights moved off their initial values; it is written once per process (into the
temporary folder) and removed when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile
from pathlib import Path

import torch


@functools.lru_cache(maxsize=None)
def tiny_vae_checkpoint(fragment_frames: int = 8, latent_dim: int = 5, feature_hop: int = 160, mel: bool = False) -> str:
    """Path of a small random VAE checkpoint (4 channels), the same weights for the same arguments; ``mel``: 32 mel
    bands (``frequency_scale: mel``) instead of 128 FFT bins."""
    from audiofront.models.vae import ConvVae, VaeConfig
    from audiofront.training.checkpoint import save_checkpoint

    g = torch.Generator().manual_seed(fragment_frames * 1000 + latent_dim)
    bins = 32 if mel else 128
    config = VaeConfig(
        latent_dim=latent_dim, channels=4, fragment_frames=fragment_frames, feature_hop=feature_hop,
        n_bins=bins, frequency_scale="mel" if mel else "linear",
        # ln power of speech at [-1, 1] scale lies around -10 .. 0: a plausible, bin-dependent normalisation
        norm_mean=[float(v) for v in (-4.0 - 4.0 * torch.linspace(0, 1, bins))],
        norm_std=[float(v) for v in (2.0 + torch.rand(bins, generator=g))],
    ).to_dict()
    torch.manual_seed(int(g.initial_seed()))
    model = ConvVae(VaeConfig.from_dict(config))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    ckpt = {
        "task": {"name": "vae", "config": {**config, "train_cuts": None}},
        "model": model.state_dict(),
        "frontend": {"name": model.frontend.name, "config": model.frontend.config.to_dict()},
        "step": 0,
    }
    folder = Path(tempfile.gettempdir()) / f"audiofront-tests-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tiny-vae-{fragment_frames}-{latent_dim}-{feature_hop}{'-mel' if mel else ''}-{os.getpid()}.pt"
    save_checkpoint(ckpt, path)
    atexit.register(_remove, path)  # one file per test process, gone when it ends
    return str(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
