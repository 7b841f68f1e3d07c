"""Centres and bandwidths *measured* from filters' responses, for frontends whose filters are free taps.

Used by :meth:`Frontend.filters` of ``tdfbanks``, ``sincnet``, ``scf``, ``wav2vec`` and ``2dconv``: after
training, the taps no longer follow the parameterisation they were initialised with, so ``inspect-filters``
reads the centre (peak of the magnitude response) and the full width at half maximum off the response itself.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import FilterBank


def measure_center_and_fwhm(freqs: Tensor, magnitude: Tensor) -> tuple[Tensor, Tensor]:
    """Peak frequency and full width at half maximum of each magnitude response ``[N, F]`` on grid ``freqs``.

    The half-maximum crossings on either side of the peak are linearly interpolated between grid points;
    a response still above half maximum at the edge of the grid is cut there.
    """
    freqs = freqs.double()
    mag = magnitude.detach().double()
    n, n_freq = mag.shape
    peak = mag.argmax(dim=-1)
    centers = freqs[peak]
    widths = torch.empty(n, dtype=torch.float64)
    for k in range(n):
        m = mag[k]
        half = m[peak[k]] / 2
        i = int(peak[k])
        while i > 0 and m[i - 1] >= half:
            i -= 1
        if i > 0:  # crossing between i - 1 (below half) and i (above)
            lo = freqs[i - 1] + (half - m[i - 1]) / (m[i] - m[i - 1]) * (freqs[i] - freqs[i - 1])
        else:
            lo = freqs[0]
        j = int(peak[k])
        while j < n_freq - 1 and m[j + 1] >= half:
            j += 1
        if j < n_freq - 1:
            hi = freqs[j] + (m[j] - half) / (m[j] - m[j + 1]) * (freqs[j + 1] - freqs[j])
        else:
            hi = freqs[-1]
        widths[k] = hi - lo
    return centers.float(), widths.float()


def filterbank_from_taps(impulse_responses: Tensor, sample_rate: int, n_fft: int = 4096) -> FilterBank:
    """A :class:`FilterBank` of real FIR filters ``[N, K]`` with centres and FWHM measured by
    :func:`measure_center_and_fwhm` on an ``n_fft``-point grid (at least the filter length)."""
    h = impulse_responses.detach().float().cpu()
    n_fft = max(n_fft, 2 ** math.ceil(math.log2(h.shape[-1])))
    mag = torch.fft.rfft(h, n=n_fft).abs()  # [N, F]
    freqs = torch.arange(mag.shape[-1], dtype=torch.float64) * (sample_rate / n_fft)
    centers, widths = measure_center_and_fwhm(freqs, mag)
    return FilterBank(center_hz=centers, bandwidth_hz=widths, sample_rate=sample_rate, impulse_responses=h)
