"""EfficientNet-B0 (Tan & Le, 2019) for 1-channel time-frequency "images", written here.

The LEAF paper puts an EfficientNet-B0 (about 4M parameters without its classifier) on top of every
frontend. torchvision is not available on CPU-only installs, so this is our own implementation of the
published architecture: a 3x3 stride-2 stem, seven stages of mobile inverted bottleneck blocks (MBConv)
with squeeze-and-excitation and swish, a 1x1 head convolution to 1280 channels and global average pooling.

Input: features ``[B, F, D]`` (frames x feature dim) are read as a 1-channel image ``[B, 1, F, D]``.
Output: an embedding ``[B, 1280]`` (the linear classifier lives in :mod:`audiofront.models.classifier`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

# (expand ratio, kernel, stride, output channels, repeats) of the seven B0 stages
B0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# TF/Keras batch-norm settings of the reference implementation (momentum 0.99 in Keras = 0.01 in torch)
_BN = dict(eps=1e-3, momentum=0.01)


def conv_bn_act(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, **_BN),
    ]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Channel gating from globally pooled statistics; the bottleneck is 1/4 of the block's *input* channels."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        s = torch.sigmoid(self.expand(self.act(self.reduce(s))))
        return x * s


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth: drop the whole residual branch of some examples, rescale the others."""
    if p <= 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand -> depthwise kxk -> SE -> 1x1 project (+ residual)."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int, drop_path: float = 0.0):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_act(cin, hidden, 1))
        layers.append(conv_bn_act(hidden, hidden, kernel, stride, groups=hidden))
        layers.append(SqueezeExcitation(hidden, max(1, cin // 4)))
        layers.append(conv_bn_act(hidden, cout, 1, act=False))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.residual:
            out = x + drop_path(out, self.drop_path, self.training)
        return out


@dataclass
class EfficientNetConfig:
    in_channels: int = 1
    width_mult: float = 1.0
    depth_mult: float = 1.0
    drop_path: float = 0.0  # stochastic depth rate at the last block (linearly increasing), 0 = off
    dropout: float = 0.2  # applied to the pooled embedding


def _round_channels(c: int, mult: float, divisor: int = 8) -> int:
    if mult == 1.0:
        return c
    c = c * mult
    new = max(divisor, int(c + divisor / 2) // divisor * divisor)
    if new < 0.9 * c:
        new += divisor
    return int(new)


class EfficientNet(nn.Module):
    """EfficientNet encoder: ``[B, F, D]`` features -> ``[B, embed_dim]`` embedding.

    B0 is ``width_mult = depth_mult = 1``. ``lengths`` (valid frames) are accepted for the common encoder
    signature; the network pools over the whole padded image, which is exact for the fixed 1-second windows
    the classification task feeds it.
    """

    def __init__(self, config: Optional[EfficientNetConfig] = None, **kw):
        super().__init__()
        config = config or EfficientNetConfig(**kw)
        self.config = config
        stem = _round_channels(STEM_CHANNELS, config.width_mult)
        self.stem = conv_bn_act(config.in_channels, stem, 3, stride=2)
        blocks: list[nn.Module] = []
        total = sum(int(math.ceil(r * config.depth_mult)) for *_, r in B0_STAGES)
        cin, index = stem, 0
        for expand, kernel, stride, cout, repeats in B0_STAGES:
            cout = _round_channels(cout, config.width_mult)
            for i in range(int(math.ceil(repeats * config.depth_mult))):
                rate = config.drop_path * index / total
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1, rate))
                cin, index = cout, index + 1
        self.blocks = nn.Sequential(*blocks)
        head = _round_channels(HEAD_CHANNELS, config.width_mult)
        self.head = conv_bn_act(cin, head, 1)
        self.dropout = nn.Dropout(config.dropout)
        self.embed_dim = head
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, features: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        x = features.unsqueeze(1) if features.dim() == 3 else features
        x = self.head(self.blocks(self.stem(x)))
        return self.dropout(x.mean(dim=(2, 3)))


def efficientnet_b0(**kw) -> EfficientNet:
    return EfficientNet(EfficientNetConfig(**kw))
