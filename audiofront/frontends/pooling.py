"""Learnable Gaussian lowpass pooling (LEAF): a depthwise, strided convolution with one Gaussian window per channel.

Window of channel ``c`` over taps ``n = 0 .. K-1`` (``K = kernel_size``, odd)::

    w_c[n] = exp(-0.5 * ((n - (K - 1) / 2) / (width_c * (K - 1) / 2)) ** 2)

so ``width`` is the Gaussian's standard deviation as a fraction of the half window (LEAF's parameterisation,
initialised at 0.4). The effective width is clamped to ``[min_width, max_width]`` (``[2/K, 0.5]``) in every
forward pass, so it stays in range whatever the optimiser does to the raw parameter. No bias, no
normalisation of the window (as in LEAF).

Frames are centred on samples ``0, stride, 2 * stride, ...`` with zero padding, ``1 + T // stride`` of them,
like ``torch.stft(center=True)`` and the ``mel`` frontend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def gaussian_windows(widths: Tensor, kernel_size: int) -> Tensor:
    """``[C, K]`` Gaussian windows of the given effective ``widths`` ``[C]`` (fractions of the half window)."""
    half = (kernel_size - 1) / 2
    n = torch.arange(kernel_size, device=widths.device, dtype=widths.dtype) - half
    return torch.exp(-0.5 * (n[None, :] / (widths[:, None] * half)) ** 2)


def centered_padding(length: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """(left, right) zero padding that puts ``1 + length // stride`` frames on samples ``0, stride, ...``."""
    left = kernel_size // 2
    last_centre = (length // stride) * stride
    right = max(0, last_centre + kernel_size // 2 - (length - 1))
    return left, right


def strided_pool_direct(x: Tensor, windows: Tensor, stride: int) -> Tensor:
    """Reference pooling: ``[B, C, T]`` through ``[C, K]`` depthwise windows -> ``[B, C, 1 + T // stride]``."""
    channels, kernel_size = windows.shape
    left, right = centered_padding(x.shape[-1], kernel_size, stride)
    padded = F.pad(x, (left, right))
    return F.conv1d(padded, windows.to(x.dtype).unsqueeze(1), stride=stride, groups=channels)


class GaussianLowpass(nn.Module):
    """Depthwise learnable Gaussian lowpass pooling ``[B, C, T] -> [B, C, 1 + T // stride]``."""

    def __init__(
        self,
        n_channels: int,
        kernel_size: int = 401,
        stride: int = 160,
        init_width: float = 0.4,
        min_width: float = 2.0 / 401,
        max_width: float = 0.5,
        learnable: bool = True,
    ):
        super().__init__()
        if n_channels < 1:
            raise ValueError(f"GaussianLowpass needs n_channels >= 1, got {n_channels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"GaussianLowpass kernel_size must be odd (centred frames), got {kernel_size}")
        if stride < 1:
            raise ValueError(f"GaussianLowpass stride must be >= 1, got {stride}")
        if not 0 < min_width <= init_width <= max_width:
            raise ValueError(
                f"GaussianLowpass needs 0 < min_width <= init_width <= max_width, got {min_width}, {init_width}, {max_width}"
            )
        self.n_channels = n_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.min_width = float(min_width)
        self.max_width = float(max_width)
        init = torch.full((n_channels,), float(init_width))
        if learnable:
            self.width = nn.Parameter(init)
        else:
            self.register_buffer("width", init)

    @property
    def widths(self) -> Tensor:
        """Effective (clamped) widths ``[C]``, differentiable."""
        return self.width.clamp(self.min_width, self.max_width)

    def windows(self) -> Tensor:
        """``[C, K]`` pooling windows at the effective widths."""
        return gaussian_windows(self.widths, self.kernel_size)

    def num_frames(self, length: int) -> int:
        return 1 + length // self.stride

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.n_channels:
            raise ValueError(f"GaussianLowpass expects [batch, {self.n_channels}, samples], got {tuple(x.shape)}")
        return strided_pool_direct(x, self.windows(), self.stride)

    def extra_repr(self) -> str:
        return (
            f"n_channels={self.n_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"width_range=[{self.min_width:g}, {self.max_width:g}]"
        )
