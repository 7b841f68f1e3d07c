"""Mixup (Zhang et al., 2018) on raw waveforms for classification.

Each example is mixed with another of the same batch (a random permutation) with weight ``lam`` drawn from
Beta(alpha, alpha); the loss is the same mixture of the two examples' losses (single-label) or uses the
mixed target vectors (multi-label). The draws use torch's global generator so resumed runs are exact.
"""

from __future__ import annotations

import torch
from torch import Tensor


def mixup_pairs(batch_size: int, alpha: float, device: torch.device | str = "cpu") -> tuple[Tensor, float]:
    """A permutation of the batch and the mixing weight ``lam`` of the original examples."""
    if alpha <= 0:
        raise ValueError(f"mixup alpha must be positive, got {alpha}")
    lam = float(torch.distributions.Beta(torch.tensor(float(alpha)), torch.tensor(float(alpha))).sample())
    # the heavier share always goes to the original example, so the "main" label stays the main one
    lam = max(lam, 1.0 - lam)
    perm = torch.randperm(batch_size).to(device)
    return perm, lam


def mix(x: Tensor, perm: Tensor, lam: float) -> Tensor:
    """``lam * x + (1 - lam) * x[perm]`` along the batch axis."""
    return lam * x + (1.0 - lam) * x[perm]
