"""Additive Gaussian noise at a chosen signal-to-noise ratio (the LEAF paper's noise-robustness test).

The signal power is measured over each clip's valid samples only (padding excluded), the noise is white
Gaussian scaled to ``power / 10^(snr/10)``, and the padding stays zero. ``generator`` makes evaluation
noise reproducible (the same noise for every frontend compared on a test set).
"""

from __future__ import annotations

import hashlib
from typing import Optional, Sequence

import torch
from torch import Tensor


def add_noise_snr(audio: Tensor, lengths: Tensor, snr_db: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """``audio [B, T]`` plus white Gaussian noise at ``snr_db`` dB per clip."""
    b, t = audio.shape
    mask = (torch.arange(t, device=audio.device)[None, :] < lengths.to(audio.device)[:, None]).to(audio.dtype)
    power = (audio.pow(2) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    scale = torch.sqrt(power / (10.0 ** (snr_db / 10.0)))
    noise = torch.randn(b, t, generator=generator, dtype=audio.dtype, device="cpu" if generator is not None else audio.device)
    return audio + noise.to(audio.device) * scale[:, None] * mask


def seeded_generators(ids: Sequence[str], seed: int) -> list[torch.Generator]:
    """One generator per clip id, seeded by (seed, id): the same noise whatever the batch or model."""
    gens = []
    for uid in ids:
        g = torch.Generator()
        g.manual_seed(int.from_bytes(hashlib.sha1(f"{seed}/{uid}".encode()).digest()[:8], "little") & (2**63 - 1))
        gens.append(g)
    return gens


def add_noise_snr_seeded(audio: Tensor, lengths: Tensor, snr_db: float, ids: Sequence[str], seed: int = 0) -> Tensor:
    """Like :func:`add_noise_snr`, with noise drawn per clip from a generator seeded by its id."""
    out = torch.empty_like(audio)
    for i, g in enumerate(seeded_generators(ids, seed)):
        out[i : i + 1] = add_noise_snr(audio[i : i + 1], lengths[i : i + 1], snr_db, generator=g)
    return out
