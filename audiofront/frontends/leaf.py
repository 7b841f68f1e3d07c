"""LEAF (Zeghidour et al., ICLR 2021, "LEAF: A Learnable Frontend for Audio Classification").

waveform ``[B, T]``
  -> complex Gabor filterbank, ``n_filters`` x ``window_length`` taps, full rate, zero 'same' padding
     (:mod:`.gabor`; 2 parameters per filter)
  -> squared modulus
  -> depthwise Gaussian lowpass pooling, ``window_length`` taps, stride ``hop_length``, frames centred on
     samples 0, hop, 2 hop, ... (:mod:`.pooling`; 1 parameter per filter); the filter outputs pooled around
     the ends are those of the zero-extended waveform (see :func:`leaf_energies_direct`), so zero padding
     after a sequence never changes its frames
  -> floor at ``energy_floor`` (1e-5)
  -> compression: ``spcen`` (default; 4 parameters per filter), ``pcen`` (3) or ``log`` (0) (:mod:`.compression`)
  -> features ``[B, 1 + T // hop_length, n_filters]``.

Learnable parameters: ``2C + C + 4C = 7C`` with sPCEN: 280 at 40 filters, 448 at 64.

``impl`` chooses how the Gabor filtering and pooling are computed: ``direct`` is the reference (full-rate
conv1d, then conv1d pooling), kept as the definition of the function; ``fast`` (the default) computes the
same function with block FFTs and fused pooling (:mod:`.leaf_fast`; tested against ``direct`` for outputs and
gradients in tests/frontends/test_leaf_fast.py), faster and with less memory. ``decimated`` is an
approximation: each filter's band only, at a reduced rate per filter (:mod:`.leaf_decimated`; within its stated
bounds of ``direct``, e.g. 2e-2 of the features' scale and 1e-2 for every gradient, measured worst 6.5e-3 and
3.5e-3; tests/frontends/test_leaf_decimated.py), 5-8x faster than ``fast`` forward and backward on CPU, for
training; the parameters are the same, so a model trained with it is evaluated exactly with ``fast``.
Streaming and export always compute the exact function (``fast`` and ``direct``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import FilterBank, FilterbankConfig, FilterbankFrames, Frontend
from .compression import COMPRESSIONS, build_compression
from .gabor import GaborFilterbank, gabor_energy_direct
from .pooling import GaussianLowpass
from .registry import register_frontend

IMPLS = ("direct", "fast", "decimated")


def leaf_energies_direct(waveforms: Tensor, impulse_responses: Tensor, windows: Tensor, stride: int) -> Tensor:
    """Reference LEAF energies before flooring: ``[B, T] -> [B, C, 1 + T // stride]``.

    Frame ``k`` is centred on sample ``k * stride`` and pools the squared moduli of the filter outputs at
    ``k * stride - K//2 .. k * stride + K//2``; the filter outputs are those of the waveform *zero-extended* on
    both sides (full-rate ``conv1d`` with zero padding), so the frames near the end also pool the filters'
    ringing past the last sample. Zero-padding the energies instead (LEAF's TensorFlow code, 'same' padding
    twice) would make the last frames of a sequence depend on whether the batch is padded after it, which the
    frontend interface forbids (measured: up to 0.37 difference in log features on the last frame).
    """
    kernel_size = impulse_responses.shape[-1]
    half = kernel_size // 2
    length = waveforms.shape[-1]
    last = (length // stride) * stride  # centre of the last frame
    # outputs at n = -half .. last + half: 'same' convolution of the signal extended by `half` zeros on the
    # left and enough on the right, then cropped
    right = max(0, last + half + 1 - length)
    energy = gabor_energy_direct(F.pad(waveforms, (half, right)), impulse_responses)[..., : last + 2 * half + 1]
    return F.conv1d(energy, windows.to(energy.dtype).unsqueeze(1), stride=stride, groups=windows.shape[0])


@register_frontend("leaf")
class Leaf(FilterbankFrames, Frontend):
    """LEAF: Gabor filters, squared modulus, Gaussian lowpass pooling, sPCEN (all learnable)."""

    @dataclass
    class Config(FilterbankConfig):
        init: Literal["mel", "random"] = "mel"
        compression: Literal["log", "pcen", "spcen"] = "spcen"
        pooling_init_width: float = 0.4
        energy_floor: float = 1e-5
        log_eps: float = 1e-5
        freeze_filters: bool = False
        freeze_pooling: bool = False
        freeze_compression: bool = False
        impl: Literal["direct", "fast", "decimated"] = "fast"

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
        if impl == "decimated":
            from .leaf_decimated import leaf_energies_decimated

            return leaf_energies_decimated(waveforms, self.gabor.mu(), self.gabor.sigma(), self.pooling.widths, h, w,
                                           self.config.hop_length)
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
