"""Shared fixtures: deterministic synthetic test signals (no audio files needed)."""

from __future__ import annotations

import math

import pytest
import torch


def speech_like(seconds: float, sample_rate: int = 16000, seed: int = 0, peak: float = 0.5) -> torch.Tensor:
    """A deterministic speech-like waveform ``[T]`` float32 in [-peak, peak].

    Voiced segments: a glottal-like pulse train (f0 gliding between ~100 and ~220 Hz, harmonics falling at
    -12 dB/octave) shaped by three formant resonances that move over time; unvoiced segments: noise above
    2 kHz; a 4 Hz syllabic envelope with short pauses; a little background noise. Enough spectral and
    temporal structure to compare filterbanks on, without shipping audio.
    """
    gen = torch.Generator().manual_seed(seed)
    n = int(round(seconds * sample_rate))
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    f0 = 160.0 + 60.0 * torch.sin(2 * math.pi * 0.7 * t + 0.3 * seed)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / sample_rate
    formants = [  # (centre Hz, bandwidth Hz, sweep Hz, sweep rate Hz)
        (500.0, 80.0, 200.0, 1.1),
        (1500.0, 120.0, 500.0, 0.8),
        (2500.0, 160.0, 300.0, 0.5),
    ]
    k = torch.arange(1, int((sample_rate / 2) / 100) + 1, dtype=torch.float64)[:, None]  # harmonic numbers
    fk = k * f0  # [K, T]
    gain = torch.zeros_like(fk)
    for fc, bw, sweep, rate in formants:
        centre = fc + sweep * torch.sin(2 * math.pi * rate * t)
        gain = gain + 1.0 / (1.0 + ((fk - centre) / bw) ** 2)
    gain = gain * (fk < sample_rate / 2) / k**2 * 40.0 + 0.002 / k
    voiced = (gain * torch.sin(k * phase)).sum(0)
    noise = torch.randn(n, generator=gen, dtype=torch.float64)
    hiss = torch.fft.irfft(
        torch.fft.rfft(noise) * (torch.fft.rfftfreq(n, 1 / sample_rate) > 2000).double(), n=n
    )
    syllable = 0.5 - 0.5 * torch.cos(2 * math.pi * 4.0 * t)
    is_voiced = (torch.sin(2 * math.pi * 1.3 * t + seed) > -0.6).double()
    pauses = (torch.sin(2 * math.pi * 0.25 * t + 1.0) > -0.8).double()
    x = syllable * pauses * (is_voiced * voiced + (1 - is_voiced) * 0.3 * hiss)
    x = x / x.abs().max().clamp(min=1e-12)
    x = x + 1e-3 * torch.randn(n, generator=gen, dtype=torch.float64)
    return (peak * x / x.abs().max()).float()


@pytest.fixture
def speech():
    """``speech(seconds, sample_rate=16000, seed=0, peak=0.5) -> [T]`` deterministic speech-like audio."""
    return speech_like
