"""LEAF (Zeghidour et al., ICLR 2021, "LEAF: A Learnable Frontend for Audio Classification").

waveform ``[B, T]``
  -> complex Gabor filterbank, ``n_filters`` x ``window_length`` taps, full rate, zero 'same' padding
     (:mod:`.gabor`; 2 parameters per filter)
  -> squared modulus
  -> depthwise Gaussian lowpass pooling, ``window_length`` taps, stride ``hop_length``, frames centred on
     samples 0, hop, 2 hop, ... (:mod:`.pooling`; 1 parameter per filter)
  -> floor at ``energy_floor`` (1e-5)
  -> compression: ``spcen`` (default; 4 parameters per filter), ``pcen`` (3) or ``log`` (0) (:mod:`.compression`)
  -> features ``[B, 1 + T // hop_length, n_filters]``.

Learnable parameters: ``2C + C + 4C = 7C`` with sPCEN: 280 at 40 filters, 448 at 64.

``impl`` chooses how the Gabor filtering and pooling are computed: ``direct`` is the reference (full-rate
conv1d, then conv1d pooling), kept as the definition of the function; ``fast`` (the default) computes the
same function with block FFTs and fused pooling (:mod:`.leaf_fast`; tested against ``direct`` for outputs and
gradients in tests/frontends/test_leaf_fast.py), faster and with less memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
from torch import Tensor

from .base import FilterBank, Frontend, FrontendConfig, centered_num_frames
from .compression import COMPRESSIONS, build_compression
from .gabor import GaborFilterbank, gabor_energy_direct
from .pooling import GaussianLowpass, strided_pool_direct
from .registry import register_frontend

IMPLS = ("direct", "fast")


def leaf_energies_direct(waveforms: Tensor, impulse_responses: Tensor, windows: Tensor, stride: int) -> Tensor:
    """Reference LEAF energies before flooring: ``[B, T] -> [B, C, 1 + T // stride]``."""
    return strided_pool_direct(gabor_energy_direct(waveforms, impulse_responses), windows, stride)


@register_frontend("leaf")
class Leaf(Frontend):
    """LEAF: Gabor filters, squared modulus, Gaussian lowpass pooling, sPCEN (all learnable)."""

    @dataclass
    class Config(FrontendConfig):
        sample_rate: int = 16000
        n_filters: int = 40
        window_length: int = 401
        hop_length: int = 160
        min_hz: float = 60.0
        max_hz: float = 7800.0
        init: Literal["mel", "random"] = "mel"
        compression: Literal["log", "pcen", "spcen"] = "spcen"
        pooling_init_width: float = 0.4
        energy_floor: float = 1e-5
        log_eps: float = 1e-5
        freeze_filters: bool = False
        freeze_pooling: bool = False
        freeze_compression: bool = False
        impl: Literal["direct", "fast"] = "fast"

    def __init__(self, config: "Leaf.Config"):
        super().__init__(config)
        if config.impl not in IMPLS:
            raise ValueError(f"leaf impl must be one of {IMPLS}, got {config.impl!r}")
        if config.compression not in COMPRESSIONS:
            raise ValueError(f"leaf compression must be one of {COMPRESSIONS}, got {config.compression!r}")
        if config.hop_length < 1:
            raise ValueError(f"hop_length must be at least 1, got {config.hop_length}")
        if config.energy_floor <= 0:
            raise ValueError(f"energy_floor must be positive, got {config.energy_floor}")
        k = config.window_length
        self.gabor = GaborFilterbank(
            config.n_filters,
            sample_rate=config.sample_rate,
            kernel_size=k,
            min_hz=config.min_hz,
            max_hz=config.max_hz,
            init=config.init,
            learnable=not config.freeze_filters,
        )
        self.pooling = GaussianLowpass(
            config.n_filters,
            kernel_size=k,
            stride=config.hop_length,
            init_width=config.pooling_init_width,
            min_width=2.0 / k,
            max_width=0.5,
            learnable=not config.freeze_pooling,
        )
        if config.compression == "log":
            self.compression = build_compression("log", config.n_filters, eps=config.log_eps)
        else:
            self.compression = build_compression(
                config.compression, config.n_filters, learnable=not config.freeze_compression
            )

    @property
    def frame_shift(self) -> int:
        return self.config.hop_length

    @property
    def output_dim(self) -> int:
        return self.config.n_filters

    def num_frames(self, lengths: Tensor) -> Tensor:
        return centered_num_frames(lengths, self.config.hop_length)

    def energies(self, waveforms: Tensor, impl: Optional[str] = None) -> Tensor:
        """Pooled filterbank energies ``[B, C, F]`` before flooring and compression."""
        impl = impl or self.config.impl
        h = self.gabor.impulse_responses()
        w = self.pooling.windows()
        if impl == "direct":
            return leaf_energies_direct(waveforms, h, w, self.config.hop_length)
        if impl == "fast":
            from .leaf_fast import leaf_energies_fast

            return leaf_energies_fast(waveforms, h, w, self.config.hop_length)
        raise ValueError(f"leaf impl must be one of {IMPLS}, got {impl!r}")

    def compute(self, waveforms: Tensor) -> Tensor:
        energies = self.energies(waveforms).clamp(min=self.config.energy_floor)
        return self.compression(energies).transpose(1, 2)

    # ---- inspection --------------------------------------------------------------------------
    def filters(self) -> FilterBank:
        with torch.no_grad():
            return FilterBank(
                center_hz=self.gabor.center_hz().detach().clone(),
                bandwidth_hz=self.gabor.fwhm_hz().detach().clone(),
                sample_rate=self.sample_rate,
                impulse_responses=self.gabor.impulse_responses().detach().clone(),
                bandwidth_kind="fwhm",
            )

    def inspection(self) -> dict[str, Tensor]:
        out = {"pooling_width": self.pooling.widths.detach().clone()}
        for key, value in self.compression.parameters_for_inspection().items():
            out[f"pcen_{key}"] = value
        return out
