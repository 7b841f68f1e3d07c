"""A small 2-D CNN encoder for quick classification runs on a CPU.

Four blocks of (3x3 conv, batch norm, ReLU, 2x2 max pool) over the features read as a 1-channel image,
then mean + max pooling over what is left of time and frequency. About 70k parameters at the default
widths: small enough to train in minutes on two cores, big enough to tell frontends apart on FSDD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn


@dataclass
class SmallCNNConfig:
    channels: tuple[int, ...] = (16, 32, 64, 64)
    dropout: float = 0.1


class SmallCNN(nn.Module):
    """``[B, F, D]`` features -> ``[B, 2 * channels[-1]]`` (mean and max pooled)."""

    def __init__(self, config: Optional[SmallCNNConfig] = None, **kw):
        super().__init__()
        if "channels" in kw:
            kw["channels"] = tuple(kw["channels"])
        config = config or SmallCNNConfig(**kw)
        self.config = config
        layers: list[nn.Module] = []
        cin = 1
        for cout in config.channels:
            layers += [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                # ceil_mode keeps a row/column for small feature dims (e.g. 13 MFCCs)
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.embed_dim = 2 * cin

    def forward(self, features: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        x = self.body(features.unsqueeze(1))
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return self.dropout(pooled)
