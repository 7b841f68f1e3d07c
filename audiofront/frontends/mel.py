"""Log mel filterbanks and MFCCs: the fixed baselines of the LEAF paper.

Analysis (shared by ``mel``, ``mfcc`` and :class:`MelEnergies`, which ``mel-pcen`` reuses):

* frames centred on samples 0, hop, 2*hop, ... (zero padding at both ends, ``torch.stft(center=True,
  pad_mode="constant")``), ``1 + L // hop`` frames for ``L`` samples (:func:`centered_num_frames`);
* a symmetric Hann window of ``window_length`` (401) taps whose middle tap sits exactly on the frame
  centre, zero-padded to ``n_fft`` (512) points;
* power spectrum ``|STFT|^2`` through ``n_filters`` triangular mel filters (HTK mel scale, ``min_hz`` to
  ``max_hz``, :func:`melscale.mel_filter_matrix`).

``mel`` then compresses with ``log(x + log_floor)``; ``mfcc`` takes the orthonormal DCT-II of that over the
filter axis and keeps the first ``n_ceps`` coefficients. No learnable parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .base import FilterBank, FilterbankConfig, FilterbankFrames, Frontend, centered_num_frames
from .melscale import mel_centers_and_fwhm, mel_filter_matrix
from .registry import register_frontend


def _check_analysis(sample_rate: int, n_filters: int, min_hz: float, max_hz: float, window_length: int,
                    hop_length: int, n_fft: int) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if n_filters < 1:
        raise ValueError(f"n_filters must be at least 1, got {n_filters}")
    if not 0 <= min_hz < max_hz <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= min_hz < max_hz <= Nyquist ({sample_rate / 2:g} Hz), got min_hz={min_hz}, max_hz={max_hz}"
        )
    if hop_length < 1:
        raise ValueError(f"hop_length must be at least 1, got {hop_length}")
    if not 1 <= window_length <= n_fft:
        raise ValueError(f"window_length must lie in [1, n_fft={n_fft}], got {window_length}")


def centered_window(window_length: int, n_fft: int) -> Tensor:
    """A symmetric Hann window of ``window_length`` taps inside ``n_fft`` zeros, its middle on tap ``n_fft // 2``.

    ``torch.stft(center=True)`` puts the frame centre on tap ``n_fft // 2``; placing the window ourselves
    (instead of letting ``torch.stft`` pad it) keeps the window's peak exactly on the frame centre for odd
    window lengths such as 401, so these frames line up with the convolutional frontends (Gabor/TD filters
    centred on t = 0) sample for sample.
    """
    hann = torch.hann_window(window_length, periodic=False, dtype=torch.float64)
    start = n_fft // 2 - window_length // 2
    window = torch.zeros(n_fft, dtype=torch.float64)
    window[start : start + window_length] = hann
    return window.float()


class MelEnergies(nn.Module):
    """Linear mel power ``[B, n_filters, F]`` of a zero-padded batch ``[B, T]``, ``F = 1 + T // hop_length``.

    Used by the ``mel`` and ``mfcc`` frontends and by ``mel-pcen`` (which compresses these energies with a
    learnable PCEN instead of the log). Contains no parameters, only buffers.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_filters: int = 40,
        min_hz: float = 60.0,
        max_hz: float = 7800.0,
        window_length: int = 401,
        hop_length: int = 160,
        n_fft: int = 512,
    ):
        super().__init__()
        _check_analysis(sample_rate, n_filters, min_hz, max_hz, window_length, hop_length, n_fft)
        self.sample_rate = sample_rate
        self.n_filters = n_filters
        self.min_hz = float(min_hz)
        self.max_hz = float(max_hz)
        self.window_length = window_length
        self.hop_length = hop_length
        self.n_fft = n_fft
        self.register_buffer("window", centered_window(window_length, n_fft), persistent=False)
        # [n_fft // 2 + 1, n_filters]
        self.register_buffer(
            "mel_matrix", mel_filter_matrix(n_filters, n_fft, sample_rate, min_hz, max_hz), persistent=False
        )

    @classmethod
    def from_config(cls, config) -> "MelEnergies":
        """The analysis of a frontend config with the :class:`FilterbankConfig` fields and ``n_fft``."""
        return cls(config.sample_rate, config.n_filters, config.min_hz, config.max_hz, config.window_length,
                   config.hop_length, config.n_fft)

    def num_frames(self, lengths: Tensor) -> Tensor:
        return centered_num_frames(lengths, self.hop_length)

    def power_spectrum(self, waveforms: Tensor) -> Tensor:
        """``|STFT|^2`` as ``[B, n_fft // 2 + 1, F]``."""
        spec = torch.stft(
            waveforms,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.n_fft,
            window=self.window.to(waveforms.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        return spec.real.square() + spec.imag.square()

    def forward(self, waveforms: Tensor) -> Tensor:
        power = self.power_spectrum(waveforms)
        # [C, K] @ [B, K, F] -> [B, C, F]
        return torch.matmul(self.mel_matrix.t().to(power.dtype), power)

    def filters(self) -> FilterBank:
        center, fwhm = mel_centers_and_fwhm(self.n_filters, self.min_hz, self.max_hz)
        return FilterBank(
            center_hz=center,
            bandwidth_hz=fwhm,
            sample_rate=self.sample_rate,
            frequency_responses=self.mel_matrix.t().clone(),
            frequencies_hz=torch.linspace(0, self.sample_rate / 2, self.n_fft // 2 + 1),
            bandwidth_kind="fwhm",
        )


@register_frontend("mel")
class LogMel(FilterbankFrames, Frontend):
    """Log mel filterbank of the LEAF paper: ``log(mel power + 1e-5)``, 10 ms frames, ``n_filters`` dims."""

    @dataclass
    class Config(FilterbankConfig):
        n_fft: int = 512
        log_floor: float = 1e-5

    def __init__(self, config: "LogMel.Config"):
        super().__init__(config)
        if config.log_floor <= 0:
            raise ValueError(f"log_floor must be positive, got {config.log_floor}")
        self.energies = MelEnergies.from_config(config)

    def log_mel(self, waveforms: Tensor) -> Tensor:
        """``[B, F, n_filters]`` log mel energies."""
        return torch.log(self.energies(waveforms) + self.config.log_floor).transpose(1, 2)

    def compute(self, waveforms: Tensor) -> Tensor:
        return self.log_mel(waveforms)

    def filters(self) -> FilterBank:
        return self.energies.filters()


def dct_matrix(n_in: int, n_out: int) -> Tensor:
    """``[n_in, n_out]`` orthonormal DCT-II: ``x @ D`` gives the first ``n_out`` coefficients of ``x``."""
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)
    basis = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    basis[:, 0] /= math.sqrt(2.0)
    return basis.float()


@register_frontend("mfcc")
class MFCC(LogMel):
    """MFCCs: orthonormal DCT-II of the ``mel`` frontend's log mel energies, first ``n_ceps`` coefficients."""

    @dataclass
    class Config(LogMel.Config):
        n_ceps: int = 13

    def __init__(self, config: "MFCC.Config"):
        super().__init__(config)
        if not 1 <= config.n_ceps <= config.n_filters:
            raise ValueError(f"n_ceps must lie in [1, n_filters={config.n_filters}], got {config.n_ceps}")
        self.register_buffer("dct", dct_matrix(config.n_filters, config.n_ceps), persistent=False)

    @property
    def output_dim(self) -> int:
        return self.config.n_ceps

    def compute(self, waveforms: Tensor) -> Tensor:
        return torch.matmul(self.log_mel(waveforms), self.dct.to(waveforms.dtype))
