"""Time-domain filterbanks (Zeghidour et al., ICASSP 2018, "Learning filterbanks from raw speech for phone
recognition").

A learnable approximation of the log mel filterbank:

* ``2 N`` real convolution filters of ``window_length`` (401) taps, no bias, zero 'same' padding (tap 200
  is t = 0), initialised (``init="mel"``) with the real and imaginary parts of ``N`` complex Gabor wavelets
  ``exp(-t^2 / (2 sigma^2)) exp(i omega t) / (sqrt(2 pi) sigma)``, ``t`` in [-200, 200], whose centre
  frequencies and full widths at half maximum are those of the triangular mel filters (60-7800 Hz);
  filter ``2k`` is the real part and ``2k + 1`` the imaginary part of wavelet ``k``;
* squared modulus by pairs: ``out[2k]^2 + out[2k+1]^2``;
* lowpass pooling with a fixed squared Hann window of ``window_length`` taps at stride ``hop_length`` (160),
  scaled so that the log floor sits at about the same level as in ``mel`` (see ``__init__``), depthwise, frames centred on samples 0, 160, ... like ``mel`` (``1 + L // 160`` frames); the signal is
  zero-extended (not the filter outputs), so the filters' ringing past the end of the signal is pooled;
* ``log(x + log_floor)`` compression (``compression="log"``, default) or none.

``impl="fft"`` (default) is LEAF's fast path (:func:`.leaf_fast.leaf_energies_fast`: overlap-save FFT blocks,
squared modulus fused with the pooling, exact custom backward);
``impl="direct"`` is the obviously-correct reference (``F.conv1d`` at full rate, strided ``F.conv1d`` pooling),
equal up to rounding (tests/frontends/test_tdfbanks.py) and far slower on CPU for long inputs.

Learnable parameters: the ``2 N * window_length`` filter taps (51,328 at N = 64). The filters are free after
initialisation, so :meth:`TDFilterbanks.filters` measures centres and FWHM from the actual responses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FilterBank, FilterbankConfig, FilterbankFrames, Frontend
from .gabor import gabor_impulse_responses
from .leaf_fast import leaf_energies_fast
from .melscale import fwhm_to_sigma_time, mel_centers_and_fwhm
from .registry import register_frontend
from .responses import measure_center_and_fwhm


@register_frontend("tdfbanks")
class TDFilterbanks(FilterbankFrames, Frontend):
    """Learnable time-domain filterbanks initialised to approximate log mel (Zeghidour et al. 2018)."""

    @dataclass
    class Config(FilterbankConfig):
        init: Literal["mel", "random"] = "mel"
        compression: Literal["log", "none"] = "log"
        log_floor: float = 1e-5
        impl: Literal["fft", "direct"] = "fft"

    def __init__(self, config: "TDFilterbanks.Config"):
        super().__init__(config)
        c = config
        if c.n_filters < 1:
            raise ValueError(f"n_filters must be at least 1, got {c.n_filters}")
        if c.window_length < 1 or c.window_length % 2 == 0:
            raise ValueError(f"window_length must be a positive odd number of taps (centred filters), got {c.window_length}")
        if c.hop_length < 1:
            raise ValueError(f"hop_length must be at least 1, got {c.hop_length}")
        if not 0 <= c.min_hz < c.max_hz <= c.sample_rate / 2:
            raise ValueError(
                f"need 0 <= min_hz < max_hz <= Nyquist ({c.sample_rate / 2:g} Hz), got {c.min_hz}, {c.max_hz}"
            )
        if c.log_floor <= 0:
            raise ValueError(f"log_floor must be positive, got {c.log_floor}")
        weight = torch.empty(2 * c.n_filters, 1, c.window_length)
        if c.init == "mel":
            center, fwhm = mel_centers_and_fwhm(c.n_filters, c.min_hz, c.max_hz)
            omega = 2.0 * math.pi * center.double() / c.sample_rate  # radians per sample
            h = gabor_impulse_responses(omega, fwhm_to_sigma_time(fwhm.double(), c.sample_rate), c.window_length)
            weight[0::2, 0] = h.real.float()
            weight[1::2, 0] = h.imag.float()
        else:
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # nn.Conv1d's default initialisation
        self.weight = nn.Parameter(weight)
        # Squared Hann lowpass, scaled by (sum hann)^2 / sum hann^2: a sinusoid at a filter's centre frequency
        # then gets the power it has in its bin of the Hann-windowed STFT of `mel` (mel's triangles add the
        # neighbouring bins, ~1.5x more), so log(x + 1e-5) floors both at about the same level.
        hann = torch.hann_window(c.window_length, periodic=False, dtype=torch.float64)
        pool = hann**2 * hann.sum() ** 2 / hann.square().sum()
        self.register_buffer("pool_window", pool.float().expand(c.n_filters, 1, -1).contiguous(), persistent=False)

    def _extend(self, waveforms: Tensor) -> Tensor:
        """Zero-extend by half a pooling window on the left and half + 1 on the right.

        The pooling window of the frame centred on ``c`` reads filter outputs at ``c - 200 .. c + 200``, some of
        them past the end of the signal, where the filters still ring. Filtering the zero-extended signal
        (rather than zero-padding the filter outputs) makes every frame depend only on the signal followed by
        zeros, so batch padding cannot change it; ``((T + K) - K) // hop + 1 = 1 + T // hop`` frames.
        """
        half = self.config.window_length // 2
        return F.pad(waveforms, (half, half + 1))

    def energies(self, waveforms: Tensor) -> Tensor:
        """Pooled squared moduli ``[B, N, 1 + T // hop]`` (before compression)."""
        if self.config.impl == "direct":
            return self.energies_direct(waveforms)
        # LEAF's fast path computes this very form (complex filter pairs, squared modulus, pooling on the
        # zero-extended signal's outputs, frames centred on 0, hop, ...), with free taps and a fixed window
        h = torch.complex(self.weight[0::2, 0], self.weight[1::2, 0])
        return leaf_energies_fast(waveforms, h, self.pool_window[:, 0].to(waveforms.dtype), self.config.hop_length)

    def energies_direct(self, waveforms: Tensor) -> Tensor:
        """The obviously-correct reference: full-rate convolution, pairs of squares, strided pooling conv."""
        c = self.config
        x = self._extend(waveforms).unsqueeze(1)
        out = F.conv1d(x, self.weight.to(x.dtype), padding=c.window_length // 2)  # [B, 2N, T + K]
        out = out.square()
        power = out[:, 0::2] + out[:, 1::2]  # [B, N, T + K]
        return F.conv1d(power, self.pool_window.to(power.dtype), stride=c.hop_length, groups=c.n_filters)

    def compute(self, waveforms: Tensor) -> Tensor:
        x = self.energies(waveforms)
        if self.config.compression == "log":
            x = torch.log(x + self.config.log_floor)
        return x.transpose(1, 2)

    def impulse_responses(self) -> Tensor:
        """``[N, window_length]`` complex: real part filter ``2k``, imaginary part filter ``2k + 1``."""
        w = self.weight.detach()[:, 0].float()
        return torch.complex(w[0::2], w[1::2])

    def filters(self) -> FilterBank:
        h = self.impulse_responses()
        bank = FilterBank(center_hz=torch.zeros(h.shape[0]), bandwidth_hz=torch.zeros(h.shape[0]),
                          sample_rate=self.sample_rate, impulse_responses=h)
        freqs, mag = bank.frequency_response(n_fft=8192)
        bank.center_hz, bank.bandwidth_hz = measure_center_and_fwhm(freqs, mag)
        return bank
