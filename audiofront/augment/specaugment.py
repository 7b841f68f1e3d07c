"""SpecAugment (Park et al., 2019) on feature frames: frequency masks and time masks.

Used for fixed frontends (fbank, mel, ...), whose features carry no gradient to a learnable layer
below. Masks are drawn per utterance from torch's global generator (saved in checkpoints, so resumed
training draws the same masks) and time masks stay inside each utterance's valid frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class SpecAugmentConfig:
    num_freq_masks: int = 2
    freq_mask_frac: float = 0.34  # widest frequency mask, as a fraction of the feature dim (27/80)
    num_time_masks: int = 2
    time_mask_max: int = 40  # widest time mask, in frames
    time_mask_frac: float = 0.2  # ... and at most this fraction of the utterance
    mask_value: str = "zero"  # zero | mean (the utterance mean of the masked features)


def _draw_spans(n_masks: int, widest: Tensor, total: Tensor) -> tuple[Tensor, Tensor]:
    """``n_masks`` spans per row: width uniform in [0, widest], start uniform in [0, total - width]."""
    b = widest.shape[0]
    width = (torch.rand(b, n_masks) * (widest[:, None].float() + 1)).floor().long()
    width = torch.minimum(width, total[:, None])
    start = (torch.rand(b, n_masks) * (total[:, None] - width + 1).float()).floor().long()
    return start, width


def span_mask(n_masks: int, widest: Tensor, total: Tensor, size: int) -> Tensor:
    """``[B, size]`` bool, True inside any of the drawn spans."""
    start, width = _draw_spans(n_masks, widest, total)
    pos = torch.arange(size)[None, None, :]
    inside = (pos >= start[..., None]) & (pos < (start + width)[..., None])
    return inside.any(dim=1)


class SpecAugment(nn.Module):
    """``features [B, T, D]`` and ``lengths [B]`` -> masked features (only in training mode)."""

    def __init__(self, config: SpecAugmentConfig | None = None):
        super().__init__()
        self.config = config or SpecAugmentConfig()

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if not self.training:
            return x
        c = self.config
        b, t, d = x.shape
        lengths = lengths.detach().cpu().long()
        drop = torch.zeros(b, t, d, dtype=torch.bool)
        if c.num_freq_masks > 0 and c.freq_mask_frac > 0:
            widest = torch.full((b,), int(c.freq_mask_frac * d), dtype=torch.long)
            drop |= span_mask(c.num_freq_masks, widest, torch.full((b,), d), d)[:, None, :]
        if c.num_time_masks > 0 and c.time_mask_max > 0:
            widest = torch.minimum(torch.full((b,), c.time_mask_max), (c.time_mask_frac * lengths.float()).long())
            drop |= span_mask(c.num_time_masks, widest, lengths, t)[:, :, None]
        drop &= (torch.arange(t)[None, :] < lengths[:, None])[:, :, None]  # padding is left as it is
        drop = drop.to(x.device)
        if c.mask_value == "mean":
            valid = (torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]).to(x.dtype)
            mean = (x * valid[..., None]).sum(dim=(1, 2)) / (valid.sum(1) * d).clamp(min=1)
            return torch.where(drop, mean[:, None, None].to(x.dtype), x)
        return x.masked_fill(drop, 0.0)
