"""The MLP classifier of the convolutional-VAE spectrogram compression paper (arXiv 2410.02560).

Two hidden layers of 100 units with ReLU and dropout 0.2. A clip's features ``[B, F, D]`` are first summarised
into a fixed-size vector whatever the number of frames, then passed through the two layers. ``summary``:

- ``mean_std`` (default): the mean and standard deviation over the valid frames, ``2 * D``; the order of the
  frames is lost.
- ``segments``: the valid frames cut into ``segments`` equal spans of time, each span's mean, ``segments * D``
  (adaptive average pooling over the clip's own length): the coarse order of the sounds is kept, as in the
  segmental features of isolated-word recognisers.

``input_norm``: batch norm of that vector (no affine), i.e. the summary statistics standardised as a linear
probe would: the frame-level feature norm leaves the per-clip std features on a scale of their own. On a training
speaker of FSDD held out as a dev set (egs/vae/RESULTS.md; one seed) it gained 11.4 points of accuracy on VAE-13
latents, 2.6 on MFCC, 1.0 on VAE-40. Six spans instead of mean and std gained 9-15 points on average over the four
training speakers held out in turn, for MFCC and VAE-13 alike (egs/vae/RESULTS.md, "The MLP's summary").

Example::

    >>> mlp = MLP(input_dim=13, summary="segments", segments=6)
    >>> mlp(torch.randn(4, 50, 13), torch.tensor([50, 41, 30, 7])).shape
    torch.Size([4, 100])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

SUMMARIES = {"mean_std", "segments"}


@dataclass
class MLPConfig:
    input_dim: int = 40  # feature dim D of the frontend; set by the classifier from frontend.output_dim
    hidden: int = 100
    layers: int = 2
    dropout: float = 0.2
    input_norm: bool = False  # batch norm (no affine) of the summary vector before the first layer
    summary: str = "mean_std"  # or "segments"
    segments: int = 4  # spans of time, for summary "segments"

    def __post_init__(self):
        if self.summary not in SUMMARIES:
            raise ValueError(f"MLP summary: expected one of {sorted(SUMMARIES)}, got {self.summary!r}")
        if self.summary == "segments" and (isinstance(self.segments, bool) or not isinstance(self.segments, int)
                                           or self.segments < 1):
            raise ValueError(f"MLP segments: expected a positive integer, got {self.segments!r}")


def masked_mean_std(features: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """``[B, F, D]`` -> ``[B, 2 D]``: mean and std over the first ``lengths[b]`` frames."""
    if lengths is None:
        mean = features.mean(dim=1)
        std = features.std(dim=1, unbiased=False)
    else:
        mask = (torch.arange(features.shape[1], device=features.device)[None, :] < lengths.to(features.device)[:, None])
        mask = mask.unsqueeze(-1).to(features.dtype)
        count = mask.sum(dim=1).clamp(min=1.0)
        mean = (features * mask).sum(dim=1) / count
        var = (((features - mean[:, None, :]) ** 2) * mask).sum(dim=1) / count
        std = var.clamp(min=0).sqrt()
    return torch.cat([mean, std], dim=-1)


def masked_segment_means(features: Tensor, lengths: Optional[Tensor], segments: int) -> Tensor:
    """``[B, F, D]`` -> ``[B, segments * D]``: the first ``lengths[b]`` frames cut into ``segments`` spans, each
    span's mean (span k covers frames ``floor(k L / S)`` to ``ceil((k + 1) L / S)``, as ``adaptive_avg_pool1d``,
    so a clip shorter than ``segments`` frames repeats frames instead of leaving a span empty)."""
    batch, frames, dim = features.shape
    if lengths is None:
        lengths = torch.full((batch,), frames, dtype=torch.long)
    length = lengths.to(features.device).clamp(min=1)[:, None]  # [B, 1]
    k = torch.arange(segments, device=features.device)[None, :]  # [1, S]
    start = torch.div(k * length, segments, rounding_mode="floor")  # [B, S]
    end = torch.div((k + 1) * length + segments - 1, segments, rounding_mode="floor")
    t = torch.arange(frames, device=features.device)[None, None, :]  # [1, 1, F]
    span = ((t >= start[..., None]) & (t < end[..., None])).to(features.dtype)  # [B, S, F]
    means = span @ features / span.sum(dim=-1, keepdim=True)  # [B, S, D]
    return means.reshape(batch, segments * dim)


class MLP(nn.Module):
    def __init__(self, config: Optional[MLPConfig] = None, **kw):
        super().__init__()
        config = config or MLPConfig(**kw)
        self.config = config
        width = 2 if config.summary == "mean_std" else config.segments
        dims = [width * config.input_dim] + [config.hidden] * config.layers
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True), nn.Dropout(config.dropout)]
        self.input_norm = nn.BatchNorm1d(dims[0], affine=False) if config.input_norm else None
        self.body = nn.Sequential(*layers)
        self.embed_dim = dims[-1]

    def forward(self, features: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        if self.config.summary == "segments":
            summary = masked_segment_means(features, lengths, self.config.segments)
        else:
            summary = masked_mean_std(features, lengths)
        if self.input_norm is not None:
            summary = self.input_norm(summary)
        return self.body(summary)
