"""The mel scale and triangular mel filters (HTK formula, as in LEAF and Kaldi)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def hz_to_mel(hz: Tensor | float) -> Tensor:
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def mel_to_hz(mel: Tensor | float) -> Tensor:
    return 700.0 * (10.0 ** (torch.as_tensor(mel, dtype=torch.float64) / 2595.0) - 1.0)


def mel_band_edges(n_filters: int, min_hz: float, max_hz: float) -> Tensor:
    """``n_filters + 2`` frequencies (Hz, float64) equally spaced in mel: lower edge, centers, upper edge."""
    if not 0 <= min_hz < max_hz:
        raise ValueError(f"mel band needs 0 <= min_hz < max_hz, got {min_hz}, {max_hz}")
    mels = torch.linspace(float(hz_to_mel(min_hz)), float(hz_to_mel(max_hz)), n_filters + 2, dtype=torch.float64)
    return mel_to_hz(mels)


def mel_filter_matrix(n_filters: int, n_fft: int, sample_rate: int, min_hz: float, max_hz: float) -> Tensor:
    """[n_fft // 2 + 1, n_filters] triangular filters, linear in Hz between mel-spaced edges, peak 1."""
    if max_hz > sample_rate / 2:
        raise ValueError(f"max_hz={max_hz} is above the Nyquist frequency {sample_rate / 2} Hz")
    edges = mel_band_edges(n_filters, min_hz, max_hz)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    up = (freqs[:, None] - lower[None, :]) / (center - lower)[None, :]
    down = (upper[None, :] - freqs[:, None]) / (upper - center)[None, :]
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


def mel_centers_and_fwhm(n_filters: int, min_hz: float, max_hz: float) -> tuple[Tensor, Tensor]:
    """Center frequencies and full widths at half maximum (Hz) of the triangular mel filters.

    A triangle from ``lower`` to ``upper`` peaking at ``center`` is at half height over half its
    support, so its FWHM is ``(upper - lower) / 2``. Learnable filterbanks use these to start at mel.
    """
    edges = mel_band_edges(n_filters, min_hz, max_hz)
    return edges[1:-1].float(), ((edges[2:] - edges[:-2]) / 2).float()


def fwhm_to_sigma_time(fwhm_hz: Tensor, sample_rate: int) -> Tensor:
    """Std (samples) of a Gaussian window whose spectrum has FWHM ``fwhm_hz``.

    A Gaussian window of std ``s`` samples has a Gaussian spectrum of std ``1 / (2 pi s)`` cycles per sample;
    FWHM = 2 sqrt(2 ln 2) * std.
    """
    fwhm_cycles = fwhm_hz / sample_rate
    sigma_f = fwhm_cycles / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return 1.0 / (2.0 * math.pi * sigma_f)
