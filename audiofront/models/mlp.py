"""The MLP classifier of the convolutional-VAE spectrogram compression paper (arXiv 2410.02560).

Two hidden layers of 100 units with ReLU and dropout 0.2. A clip's features ``[B, F, D]`` are first summarised
by their mean and standard deviation over the valid frames (so the MLP sees a fixed-size ``2 * D`` vector
whatever the number of frames), then passed through the two layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn


@dataclass
class MLPConfig:
    input_dim: int = 40  # feature dim D of the frontend; set by the classifier from frontend.output_dim
    hidden: int = 100
    layers: int = 2
    dropout: float = 0.2


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


class MLP(nn.Module):
    def __init__(self, config: Optional[MLPConfig] = None, **kw):
        super().__init__()
        config = config or MLPConfig(**kw)
        self.config = config
        dims = [2 * config.input_dim] + [config.hidden] * config.layers
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True), nn.Dropout(config.dropout)]
        self.body = nn.Sequential(*layers)
        self.embed_dim = dims[-1]

    def forward(self, features: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return self.body(masked_mean_std(features, lengths))
