"""Learnable complex Gabor filterbank (LEAF's first layer), with its direct-convolution reference.

Filter ``c`` has two parameters: a centre frequency ``mu_c`` (radians per sample) and an inverse bandwidth
``sigma_c`` (the standard deviation, in samples, of its Gaussian envelope). Its impulse response over the
taps ``t = -(K-1)/2 .. (K-1)/2`` (``K = kernel_size``, odd, 401 in LEAF) is::

    h_c[t] = exp(-t^2 / (2 sigma_c^2)) / (sqrt(2 pi) sigma_c) * exp(i mu_c t)

Its (untruncated) frequency response is a Gaussian centred on ``mu_c`` with standard deviation
``1 / sigma_c`` rad/sample, so its full width at half maximum is ``2 sqrt(2 ln 2) / sigma_c`` rad/sample.

Constraints (as LEAF's GaborConstraint), applied by clamping in every forward pass:

* ``mu`` in ``[0, pi]``;
* ``sigma`` in ``[4 sqrt(2 ln 2) / pi, K sqrt(2 ln 2) / pi]``, i.e. the FWHM lies in ``[2 pi / K, pi / 2]``
  rad/sample: between ``1/K`` and ``1/4`` of the sample rate (``2/K`` and ``1/2`` of the Nyquist band).

Initialisation: ``mel`` puts the centres and FWHMs on those of the triangular mel filters of the same count
and range (:func:`melscale.mel_centers_and_fwhm`); ``random`` draws centres uniformly over the whole analysis
band ``min_hz .. max_hz`` (set them to 0 and Nyquist for the full band) and FWHMs log-uniformly over their
whole allowed range (``sample_rate / K`` to ``sample_rate / 4``, the constraint below), then sorts the
filters by centre for readability: the random initialisation of the self-supervised frontends paper
(Yadav & Zeghidour 2022), which found it beats mel under self-supervision. (Before, the widths were drawn
only between the narrowest and widest mel FWHM, a mel-like prior.)

:func:`gabor_energy_direct` is the obviously-correct reference of the filtering: it builds the impulse
responses and convolves at full rate with zero 'same' padding. Faster implementations are tested against it.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .melscale import fwhm_to_sigma_time, mel_centers_and_fwhm

_SQRT_2LN2 = math.sqrt(2.0 * math.log(2.0))


def sigma_range(kernel_size: int) -> tuple[float, float]:
    """(min, max) inverse bandwidth ``sigma`` in samples allowed for filters of ``kernel_size`` taps."""
    return 4.0 * _SQRT_2LN2 / math.pi, kernel_size * _SQRT_2LN2 / math.pi


def gabor_impulse_responses(mu: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Complex ``[C, K]`` impulse responses for centre ``mu`` (rad/sample) and envelope std ``sigma`` (samples)."""
    half = kernel_size // 2
    t = torch.arange(-half, half + 1, device=mu.device, dtype=mu.dtype)
    envelope = torch.exp(-0.5 * (t[None, :] / sigma[:, None]) ** 2) / (math.sqrt(2.0 * math.pi) * sigma[:, None])
    phase = mu[:, None] * t[None, :]
    return torch.complex(envelope * torch.cos(phase), envelope * torch.sin(phase))


def gabor_energy_direct(waveforms: Tensor, impulse_responses: Tensor) -> Tensor:
    """Reference: ``|x (*) h_c|^2`` at full rate, ``[B, T]`` -> ``[B, C, T]``.

    ``conv1d`` (a cross-correlation) with the real and imaginary parts as 2C real filters, zero padding of
    ``K // 2`` on both sides so output sample ``n`` is centred on input sample ``n``.
    """
    channels, kernel_size = impulse_responses.shape
    weight = torch.stack([impulse_responses.real, impulse_responses.imag], dim=1)  # [C, 2, K]
    weight = weight.reshape(2 * channels, 1, kernel_size).to(waveforms.dtype)
    out = F.conv1d(waveforms.unsqueeze(1), weight, padding=kernel_size // 2)  # [B, 2C, T]
    out = out.reshape(out.shape[0], channels, 2, out.shape[-1])
    return out.square().sum(dim=2)


class GaborFilterbank(nn.Module):
    """``n_filters`` learnable complex Gabor filters of ``kernel_size`` taps (see the module docstring)."""

    def __init__(
        self,
        n_filters: int,
        sample_rate: int = 16000,
        kernel_size: int = 401,
        min_hz: float = 60.0,
        max_hz: float = 7800.0,
        init: str = "mel",
        learnable: bool = True,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__()
        if n_filters < 1:
            raise ValueError(f"n_filters must be at least 1, got {n_filters}")
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"Gabor kernel_size must be odd and >= 3 (filters centred on t = 0), got {kernel_size}")
        if not 0 <= min_hz < max_hz <= sample_rate / 2:
            raise ValueError(
                f"need 0 <= min_hz < max_hz <= Nyquist ({sample_rate / 2:g} Hz), got min_hz={min_hz}, max_hz={max_hz}"
            )
        self.n_filters = n_filters
        self.sample_rate = sample_rate
        self.kernel_size = kernel_size
        center_hz, fwhm_hz = mel_centers_and_fwhm(n_filters, min_hz, max_hz)
        if init == "random":
            u = torch.rand(2, n_filters, generator=generator, dtype=torch.float64)
            center_hz = (min_hz + (max_hz - min_hz) * u[0]).sort().values
            # widths over their whole allowed range (the constraint's FWHM bounds, sample_rate / K to
            # sample_rate / 4), log-uniform so that narrow and wide filters are equally likely per octave
            lo, hi = math.log(sample_rate / kernel_size), math.log(sample_rate / 4.0)
            fwhm_hz = torch.exp(lo + (hi - lo) * u[1])
        elif init != "mel":
            raise ValueError(f"unknown Gabor init {init!r}; choose 'mel' or 'random'")
        mu = 2.0 * math.pi * center_hz.double() / sample_rate
        sigma = fwhm_to_sigma_time(fwhm_hz.double(), sample_rate)
        lo, hi = sigma_range(kernel_size)
        mu, sigma = mu.clamp(0.0, math.pi).float(), sigma.clamp(lo, hi).float()
        if learnable:
            self.center = nn.Parameter(mu)
            self.inv_bandwidth = nn.Parameter(sigma)
        else:
            self.register_buffer("center", mu)
            self.register_buffer("inv_bandwidth", sigma)

    # ---- constrained values --------------------------------------------------------------------
    def mu(self) -> Tensor:
        """Effective centre frequencies ``[C]`` in rad/sample, in ``[0, pi]``."""
        return self.center.clamp(0.0, math.pi)

    def sigma(self) -> Tensor:
        """Effective envelope standard deviations ``[C]`` in samples (see :func:`sigma_range`)."""
        return self.inv_bandwidth.clamp(*sigma_range(self.kernel_size))

    def impulse_responses(self) -> Tensor:
        """Complex ``[C, K]`` impulse responses at the effective parameters."""
        return gabor_impulse_responses(self.mu(), self.sigma(), self.kernel_size)

    def center_hz(self) -> Tensor:
        return self.mu() * self.sample_rate / (2.0 * math.pi)

    def fwhm_hz(self) -> Tensor:
        """FWHM of the (untruncated) Gaussian frequency response, in Hz."""
        return 2.0 * _SQRT_2LN2 / self.sigma() * self.sample_rate / (2.0 * math.pi)

    def forward(self, waveforms: Tensor) -> Tensor:
        """Full-rate energies ``|x (*) h_c|^2``, ``[B, T]`` -> ``[B, C, T]`` (the direct reference)."""
        return gabor_energy_direct(waveforms, self.impulse_responses())

    def extra_repr(self) -> str:
        return f"n_filters={self.n_filters}, kernel_size={self.kernel_size}, sample_rate={self.sample_rate}"
