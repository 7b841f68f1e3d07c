"""Gammatone impulse responses on the ERB scale (Glasberg & Moore 1990), to initialise learned filterbanks.

A 4th-order gammatone filter centred on ``fc`` Hz has the causal impulse response::

    g(t) = t ** (n - 1) * exp(-2 pi b ERB(fc) t) * cos(2 pi fc t),   t >= 0,  n = 4,  b = 1.019

with ``ERB(f) = 24.7 * (4.37 f / 1000 + 1)`` Hz. Centres are equally spaced on the ERB-rate scale
``21.4 * log10(1 + 0.00437 f)``. Each response is scaled to a peak magnitude response of 1, so that all
channels start at the same gain.

The responses are truncated to ``kernel_size`` taps: at 16 kHz and 256 taps (16 ms) the envelope of the
lowest channels (below about 150 Hz, whose envelope peaks after ``3 / (2 pi b ERB)`` seconds) is cut, which is
acceptable for an initialisation that training then changes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def erb_bandwidth(hz: Tensor) -> Tensor:
    """Equivalent rectangular bandwidth (Hz) of the auditory filter at ``hz`` (Glasberg & Moore 1990)."""
    return 24.7 * (4.37 * torch.as_tensor(hz, dtype=torch.float64) / 1000.0 + 1.0)


def hz_to_erb_rate(hz: Tensor | float) -> Tensor:
    return 21.4 * torch.log10(1.0 + 0.00437 * torch.as_tensor(hz, dtype=torch.float64))


def erb_rate_to_hz(erb: Tensor | float) -> Tensor:
    return (10.0 ** (torch.as_tensor(erb, dtype=torch.float64) / 21.4) - 1.0) / 0.00437


def erb_centers(n_filters: int, min_hz: float, max_hz: float) -> Tensor:
    """``n_filters`` centre frequencies (Hz, float64) equally spaced on the ERB-rate scale, both ends included."""
    if not 0 <= min_hz < max_hz:
        raise ValueError(f"gammatone centres need 0 <= min_hz < max_hz, got {min_hz}, {max_hz}")
    if n_filters < 1:
        raise ValueError(f"gammatone filterbank needs n_filters >= 1, got {n_filters}")
    if n_filters == 1:
        return erb_rate_to_hz((hz_to_erb_rate(min_hz) + hz_to_erb_rate(max_hz)) / 2).reshape(1)
    return erb_rate_to_hz(torch.linspace(float(hz_to_erb_rate(min_hz)), float(hz_to_erb_rate(max_hz)), n_filters, dtype=torch.float64))


def gammatone_impulse_responses(
    n_filters: int,
    kernel_size: int,
    sample_rate: int,
    min_hz: float = 100.0,
    max_hz: float = 7600.0,
    order: int = 4,
    b: float = 1.019,
) -> Tensor:
    """``[n_filters, kernel_size]`` causal gammatone impulse responses (float32), peak gain 1 each."""
    if max_hz > sample_rate / 2:
        raise ValueError(f"gammatone max_hz={max_hz} is above the Nyquist frequency {sample_rate / 2} Hz")
    centers = erb_centers(n_filters, min_hz, max_hz)  # [N]
    t = torch.arange(kernel_size, dtype=torch.float64) / sample_rate  # [K] seconds
    envelope = t[None, :] ** (order - 1) * torch.exp(-2 * math.pi * b * erb_bandwidth(centers)[:, None] * t[None, :])
    h = envelope * torch.cos(2 * math.pi * centers[:, None] * t[None, :])
    n_fft = max(4096, 2 ** math.ceil(math.log2(kernel_size)))
    peak = torch.fft.rfft(h, n=n_fft).abs().amax(dim=-1, keepdim=True)
    return (h / peak).float()
