"""Kaldi-compatible log mel filterbank (``compute-fbank-feats``), written in torch.

It computes the same numbers as Kaldi (and ``kaldi_native_fbank``) for the options below, but is
differentiable with respect to the input and runs on any device. Per frame:

1. frames of ``frame_length_ms`` (25 ms, 400 samples) every ``frame_shift_ms`` (10 ms, 160 samples), only
   frames that lie entirely inside the signal (Kaldi's ``snip_edges=True``): ``1 + (L - 400) // 160``;
2. optional Gaussian dither (``dither`` times N(0, 1); 0 by default, i.e. deterministic);
3. remove the frame's mean (``remove_dc_offset``);
4. raw log energy of the frame, if ``use_energy`` (floored at ``energy_floor`` when positive);
5. pre-emphasis ``x[i] -= preemph_coeff * x[i-1]`` (``x[0] -= preemph_coeff * x[0]``);
6. window (``povey`` = Hann ** 0.85 by default), zero-pad to the next power of two (512);
7. power spectrum, ``n_filters`` (80) triangular filters that are triangles *in mel*, on Kaldi's mel scale
   ``1127 ln(1 + f / 700)`` from ``low_freq`` (20 Hz) to ``high_freq`` (0 means Nyquist; negative values are
   offsets from Nyquist); the Nyquist bin is not used, as in Kaldi;
8. ``log(max(energy, float32 epsilon))``.

Input scale: Kaldi reads int16 samples, so its features (and the energy floors above) are meant for audio in
[-32768, 32767]. Our frontends take float audio in [-1, 1]; with ``scale_to_int16=True`` (the default) the
input is multiplied by 32768 first, which gives exactly the features Kaldi computes from the int16 file. With
``scale_to_int16=False`` the samples are used as given (features shifted by ``-2 ln 32768`` ~ -20.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from .base import Frontend, FrontendConfig, conv_num_frames
from .registry import register_frontend

FLOAT_EPS = float(torch.finfo(torch.float32).eps)  # Kaldi's std::numeric_limits<float>::epsilon()


def kaldi_mel_scale(hz: Tensor | float) -> Tensor:
    return 1127.0 * torch.log1p(torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def kaldi_window(kind: str, length: int, blackman_coeff: float = 0.42) -> Tensor:
    """Kaldi's analysis windows (``FeatureWindowFunction``), float64."""
    i = torch.arange(length, dtype=torch.float64)
    a = 2.0 * math.pi / (length - 1) if length > 1 else 0.0
    if kind == "povey":
        return (0.5 - 0.5 * torch.cos(a * i)).pow(0.85)
    if kind == "hanning":
        return 0.5 - 0.5 * torch.cos(a * i)
    if kind == "hamming":
        return 0.54 - 0.46 * torch.cos(a * i)
    if kind == "rectangular":
        return torch.ones(length, dtype=torch.float64)
    if kind == "blackman":
        return blackman_coeff - 0.5 * torch.cos(a * i) + (0.5 - blackman_coeff) * torch.cos(2 * a * i)
    raise ValueError(f"unknown window_type {kind!r}; expected povey, hanning, hamming, rectangular or blackman")


def kaldi_mel_banks(n_filters: int, padded_length: int, sample_rate: int, low_freq: float, high_freq: float) -> Tensor:
    """``[padded_length // 2 + 1, n_filters]`` Kaldi mel filters (triangles in mel; Nyquist bin weight 0)."""
    nyquist = 0.5 * sample_rate
    high = high_freq if high_freq > 0 else nyquist + high_freq
    if not (0.0 <= low_freq < nyquist and 0.0 < high <= nyquist and high > low_freq):
        raise ValueError(
            f"fbank needs 0 <= low_freq < high_freq <= Nyquist ({nyquist:g} Hz); got low_freq={low_freq}, "
            f"high_freq={high_freq} (i.e. {high:g} Hz)"
        )
    mel_low, mel_high = float(kaldi_mel_scale(low_freq)), float(kaldi_mel_scale(high))
    delta = (mel_high - mel_low) / (n_filters + 1)
    b = torch.arange(n_filters, dtype=torch.float64)
    left, center, right = mel_low + b * delta, mel_low + (b + 1) * delta, mel_low + (b + 2) * delta
    n_bins = padded_length // 2
    mel = kaldi_mel_scale(torch.arange(n_bins, dtype=torch.float64) * (sample_rate / padded_length))[:, None]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    weights = torch.where(mel <= center, up, down)
    weights = torch.where((mel > left) & (mel < right), weights, torch.zeros_like(weights))
    return torch.cat([weights, torch.zeros(1, n_filters, dtype=torch.float64)], dim=0)


@register_frontend("fbank")
class KaldiFbank(Frontend):
    """Kaldi ``compute-fbank-feats`` log mel filterbank (80 dims, 25 ms / 10 ms), differentiable."""

    @dataclass
    class Config(FrontendConfig):
        sample_rate: int = 16000
        n_filters: int = 80
        frame_length_ms: float = 25.0
        frame_shift_ms: float = 10.0
        dither: float = 0.0
        preemph_coeff: float = 0.97
        remove_dc_offset: bool = True
        window_type: Literal["povey", "hanning", "hamming", "rectangular", "blackman"] = "povey"
        blackman_coeff: float = 0.42
        round_to_power_of_two: bool = True
        low_freq: float = 20.0
        high_freq: float = 0.0
        use_energy: bool = False
        raw_energy: bool = True
        energy_floor: float = 0.0
        scale_to_int16: bool = True

    def __init__(self, config: "KaldiFbank.Config"):
        super().__init__(config)
        if config.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {config.sample_rate}")
        if config.n_filters < 1:
            raise ValueError(f"n_filters must be at least 1, got {config.n_filters}")
        if config.dither < 0:
            raise ValueError(f"dither must be >= 0, got {config.dither}")
        # Kaldi truncates: static_cast<int32>(samp_freq * 0.001 * frame_length_ms); the tiny offset keeps
        # 16000 * 0.001 * 25 (= 400.00000000000006 or 399.99999999999994 in floating point) at 400.
        self.window_length = int(config.sample_rate * 0.001 * config.frame_length_ms + 1e-6)
        self.hop_length = int(config.sample_rate * 0.001 * config.frame_shift_ms + 1e-6)
        if self.window_length < 2 or self.hop_length < 1:
            raise ValueError(
                f"frame_length_ms={config.frame_length_ms} and frame_shift_ms={config.frame_shift_ms} give "
                f"{self.window_length} and {self.hop_length} samples at {config.sample_rate} Hz; need >= 2 and >= 1"
            )
        if config.round_to_power_of_two:
            self.padded_length = 1 << (self.window_length - 1).bit_length()
        else:
            self.padded_length = self.window_length
        self.register_buffer(
            "window", kaldi_window(config.window_type, self.window_length, config.blackman_coeff).float(), persistent=False
        )
        self.register_buffer(
            "mel_banks",
            kaldi_mel_banks(
                config.n_filters, self.padded_length, config.sample_rate, config.low_freq, config.high_freq
            ).float(),
            persistent=False,
        )

    @property
    def frame_shift(self) -> int:
        return self.hop_length

    @property
    def output_dim(self) -> int:
        return self.config.n_filters + (1 if self.config.use_energy else 0)

    @property
    def min_samples(self) -> int:
        return self.window_length

    def num_frames(self, lengths: Tensor) -> Tensor:
        return conv_num_frames(lengths, self.window_length, self.hop_length)

    def compute(self, waveforms: Tensor) -> Tensor:
        cfg = self.config
        x = waveforms * 32768.0 if cfg.scale_to_int16 else waveforms
        frames = x.unfold(-1, self.window_length, self.hop_length)  # [B, F, W]
        if cfg.dither > 0:
            frames = frames + cfg.dither * torch.randn_like(frames)
        if cfg.remove_dc_offset:
            frames = frames - frames.mean(dim=-1, keepdim=True)
        log_energy = None
        if cfg.use_energy and cfg.raw_energy:
            log_energy = torch.log(frames.square().sum(-1).clamp(min=FLOAT_EPS))
        if cfg.preemph_coeff != 0.0:
            previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
            frames = frames - cfg.preemph_coeff * previous
        frames = frames * self.window.to(frames.dtype)
        if cfg.use_energy and not cfg.raw_energy:
            log_energy = torch.log(frames.square().sum(-1).clamp(min=FLOAT_EPS))
        spec = torch.fft.rfft(frames, n=self.padded_length, dim=-1)
        power = spec.real.square() + spec.imag.square()  # [B, F, padded // 2 + 1]
        mel = torch.matmul(power, self.mel_banks.to(power.dtype))
        feats = torch.log(mel.clamp(min=FLOAT_EPS))
        if log_energy is not None:
            if cfg.energy_floor > 0.0:
                log_energy = log_energy.clamp(min=math.log(cfg.energy_floor))
            feats = torch.cat([log_energy.unsqueeze(-1), feats], dim=-1)
        return feats
