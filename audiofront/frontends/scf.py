"""``scf``: supervised convolutional features (Tüske et al. 2018; Vieting et al. 2021), the learned
baseline front-end of arXiv 2509.10031.

Pipeline, for a waveform of ``L`` valid samples::

    Conv1d(1, 150, kernel 256, stride 10, no bias), frames centred on samples 0, 10, ...  (1 + L // 10 frames)
    -> |.|
    -> seen as an image [1, 150, time]; Conv2d(1, 5, kernel (1, 40), stride (1, 16), no bias): the same 5
       envelope filters of 40 frames (25 ms) on every one of the 150 channels, every 16 frames (10 ms)
    -> (|.| + 1e-5) ** (1 / 2.5)
    -> 5 x 150 = 750 values per frame -> LayerNorm(750)

Frames: the second convolution is padded by 20 frames on the left and 19 on the right, so its frame ``j`` is
centred on first-layer frame ``16 j``, i.e. on sample ``160 j``, and there are ``1 + L // 160`` of them, the
same count and alignment as ``mel`` (``centered_num_frames(L, 160)``).

Padding invariance: after the first layer the frames past ``1 + L // 10`` are set to zero, so the second
convolution sees the same zero padding in a batch as on the sequence alone.

Learnable parameters: 150 * 256 + 5 * 40 + 2 * 750 = 38,400 + 200 + 1,500 = 40,100 (about 40k).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FilterBank, FrontendConfig, LengthAwareFrontend, centered_num_frames, mask_frames
from .gammatone import gammatone_impulse_responses
from .registry import register_frontend
from .responses import filterbank_from_taps


@dataclass
class SCFConfig(FrontendConfig):
    """Options of ``scf``.

    n_filters: filters of the first layer (150); kernel_size, hop_length: its window and hop (256, 10).
    n_envelope_filters: filters of the second layer (5); envelope_size, envelope_stride: its window and hop in
        first-layer frames (40, 16: 25 ms windows every 10 ms at 16 kHz).
    exponent: the root compression ``(|x| + 1e-5) ** exponent`` (1 / 2.5).
    init: "random" (PyTorch's default Conv1d init) | "gammatone" (ERB-spaced, ``min_hz``..``max_hz``).
    """

    n_filters: int = 150
    kernel_size: int = 256
    hop_length: int = 10
    n_envelope_filters: int = 5
    envelope_size: int = 40
    envelope_stride: int = 16
    exponent: float = 0.4
    compression_floor: float = 1e-5
    init: Literal["random", "gammatone"] = "random"
    min_hz: float = 100.0
    max_hz: float = 7600.0


@register_frontend("scf")
class SCF(LengthAwareFrontend):
    """Supervised convolutional features (see the module docstring)."""

    Config = SCFConfig

    def __init__(self, config: SCFConfig):
        super().__init__(config)
        c = config
        for key in ("n_filters", "kernel_size", "hop_length", "n_envelope_filters", "envelope_size", "envelope_stride"):
            if getattr(c, key) < 1:
                raise ValueError(f"scf: {key} must be >= 1, got {getattr(c, key)}")
        if not 0 < c.exponent <= 1:
            raise ValueError(f"scf: exponent must be in (0, 1], got {c.exponent}")
        if c.compression_floor <= 0:
            raise ValueError(f"scf: compression_floor must be > 0, got {c.compression_floor}")
        self.filterbank = nn.Conv1d(1, c.n_filters, c.kernel_size, stride=c.hop_length, bias=False)
        if c.init == "gammatone":
            with torch.no_grad():
                taps = gammatone_impulse_responses(c.n_filters, c.kernel_size, c.sample_rate, c.min_hz, c.max_hz)
                self.filterbank.weight.copy_(taps.flip(-1).unsqueeze(1))  # Conv1d cross-correlates
        elif c.init != "random":
            raise ValueError(f"scf: init must be 'random' or 'gammatone', got {c.init!r}")
        self.envelope = nn.Conv2d(
            1, c.n_envelope_filters, (1, c.envelope_size), stride=(1, c.envelope_stride), bias=False
        )
        self.norm = nn.LayerNorm(c.n_envelope_filters * c.n_filters)

    @property
    def frame_shift(self) -> int:
        return self.config.hop_length * self.config.envelope_stride

    @property
    def output_dim(self) -> int:
        return self.config.n_envelope_filters * self.config.n_filters

    def num_frames(self, lengths: Tensor) -> Tensor:
        # 1 + (L // hop) // stride == 1 + L // (hop * stride): see the module docstring
        return centered_num_frames(torch.as_tensor(lengths), self.frame_shift)

    def compute_with_lengths(self, waveforms: Tensor, lengths: Tensor) -> Tensor:
        c = self.config
        half = c.kernel_size // 2
        x = self.filterbank(F.pad(waveforms.unsqueeze(1), (half, c.kernel_size - half)))
        x = x[..., : 1 + waveforms.shape[1] // c.hop_length].abs()  # [B, n_filters, T0]
        x = mask_frames(x, centered_num_frames(lengths, c.hop_length), dim=2)
        left = c.envelope_size // 2
        x = F.pad(x.unsqueeze(1), (left, c.envelope_size - 1 - left))  # [B, 1, n_filters, T0 + size - 1]
        x = self.envelope(x)  # [B, n_env, n_filters, F]
        x = (x.abs() + c.compression_floor) ** c.exponent
        batch, n_env, n_filters, frames = x.shape
        x = x.permute(0, 3, 1, 2).reshape(batch, frames, n_env * n_filters)
        return self.norm(x)

    def filters(self) -> Optional[FilterBank]:
        """The first layer's learned impulse responses, with measured centres and FWHM."""
        return filterbank_from_taps(self.filterbank.weight.detach()[:, 0].flip(-1), self.sample_rate)
