"""The convolutional VAE of arXiv 2410.02560: short log-spectrogram fragments <-> a few latent dimensions.

Fragment analysis (our choice; the paper fixes only "128 frequency bins x 8 frames for 25 ms"), 16 kHz:

* sub-frames every ``stft_hop`` = 50 samples (3.125 ms), so 8 of them span 25 ms (``fragment_frames`` = 96
  for the 300 ms model);
* each sub-frame: a symmetric Hann window of ``window_length`` = 255 taps whose middle tap is the
  sub-frame's centre, zero padded to ``n_fft`` = 256; power ``|FFT|^2`` of bins 0..127 (0 to 7937.5 Hz; the
  Nyquist bin is dropped so that 128 = 2^7 halves cleanly through the two stride-2 layers);
* ``frequency_scale: mel`` (our option, not the paper's): the power of the 129 bins is summed into ``n_bins``
  triangular mel bands between ``mel_min_hz`` and ``mel_max_hz`` (peak 1, :func:`mel_filter_matrix`) before
  the log; the linear bins spend half the fragment on 4-8 kHz, and 13 principal components of linear fragments
  classify digits far worse than those of 32 mel bands (egs/vae/RESULTS.md);
* ``ln(power + log_floor)`` (floor 1e-6 for audio in [-1, 1], about -80 dB below a full-scale sine);
* ``level: fragment`` (our option): each fragment's mean ln power over its bins and sub-frames subtracted, so
  that the latents are spent on the spectral shape and its change within the fragment: loudness is gone from
  the features altogether (MFCC keeps it, but apart, in c0); on FSDD digits this, with 0-4 kHz bands, decided
  more than any other choice (egs/vae/RESULTS.md);
* each bin normalised by the mean and standard deviation of that bin over training speech (``norm_mean``,
  ``norm_std``: measured by the ``vae`` task before training and stored in the config, so checkpoints
  rebuild the same analysis).

A fragment centred on sample ``c`` has sub-frames centred on ``c - 175, c - 125, ..., c + 175``: it reads the
606 samples ``c - 303 .. c + 302`` (:meth:`FragmentAnalysis.fragments_at`).

Model: encoder ``Conv2d(1, C, 8, stride 2, padding 3) -> ReLU -> Conv2d(C, C, 8, 2, 3) -> ReLU -> pooling ->
Linear`` heads for the mean and log-variance of ``latent_dim`` Gaussians; padding 3 makes each layer halve
the fragment exactly (128 x 8 -> 64 x 4 -> 32 x 2). ``pooling: global`` averages over frequency and time (the
paper); ``pooling: time`` averages over time only and keeps the frequency axis (``C * 32`` inputs to the
heads), which keeps where in frequency the energy is. The decoder mirrors it: ``Linear -> [C, 32, 2] ->
ReLU -> ConvTranspose2d(C, C, 8, 2, 3) -> ReLU -> ConvTranspose2d(C, 1, 8, 2, 3)``, back to 128 x 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UserError
from ..frontends.base import Frontend, FrontendConfig, centered_num_frames
from ..frontends.mel import centered_window
from ..frontends.melscale import mel_filter_matrix

LN_TO_DB = 10.0 / math.log(10.0)  # ln power -> dB

@dataclass
class VaeConfig:
    """Everything needed to rebuild a VAE (stored in checkpoints as the task config's model part)."""

    sample_rate: int = 16000
    n_fft: int = 256
    window_length: int = 255
    stft_hop: int = 50
    n_bins: int = 128
    fragment_frames: int = 8  # 8 x 50 samples = 25 ms; 96 for the 300 ms model
    log_floor: float = 1e-6
    latent_dim: int = 13
    channels: int = 32
    pooling: str = "global"  # global | time
    frequency_scale: str = "linear"  # linear (the paper's FFT bins 0..n_bins-1) | mel (n_bins mel bands)
    mel_min_hz: float = 0.0
    mel_max_hz: Optional[float] = None  # None: sample_rate / 2
    feature_hop: int = 160  # hop of the `vae` frontend's frames (10 ms: the mfcc/mel frames)
    level: str = "keep"  # keep | fragment: subtract each fragment's mean ln power (its loudness) before normalising
    norm_mean: Optional[list] = None  # [n_bins] per-bin mean of ln power (None: 0)
    norm_std: Optional[list] = None  # [n_bins] per-bin std (None: 1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VaeConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names}).check()

    def check(self) -> "VaeConfig":
        def whole(name: str, low: int) -> int:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise UserError(f"vae: {name} must be a whole number >= {low}, got {v!r}")
            return v

        for name, low in (("sample_rate", 1), ("n_fft", 2), ("window_length", 1), ("stft_hop", 1), ("n_bins", 4),
                          ("fragment_frames", 4), ("latent_dim", 1), ("channels", 1), ("feature_hop", 1)):
            whole(name, low)
        if self.window_length > self.n_fft:
            raise UserError(f"vae: window_length ({self.window_length}) must be <= n_fft ({self.n_fft})")
        if self.frequency_scale not in ("linear", "mel"):
            raise UserError(f"vae: frequency_scale must be linear or mel, got {self.frequency_scale!r}")
        if self.frequency_scale == "linear" and self.n_bins > self.n_fft // 2 + 1:
            raise UserError(f"vae: n_bins ({self.n_bins}) must be <= n_fft // 2 + 1 ({self.n_fft // 2 + 1})")
        if self.frequency_scale == "mel":
            for name in ("mel_min_hz", "mel_max_hz"):
                v = getattr(self, name)
                if v is None and name == "mel_max_hz":  # the Nyquist frequency
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise UserError(f"vae: {name} must be a frequency in Hz, got {v!r}")
            top = self.mel_top_hz
            if not (0 <= self.mel_min_hz < top <= self.sample_rate / 2):
                raise UserError(f"vae: mel bands need 0 <= mel_min_hz < mel_max_hz <= {self.sample_rate / 2:g} Hz, "
                                f"got {self.mel_min_hz} and {top}")
            empty = (self.mel_matrix().sum(0) == 0).nonzero().flatten().tolist()
            if empty:
                raise UserError(f"vae: {len(empty)} of the {self.n_bins} mel bands (the first is band {empty[0]}) fall "
                                f"between two of the {self.n_fft // 2 + 1} FFT bins; use fewer bands or a larger n_fft")
        if self.n_bins % 4 or self.fragment_frames % 4:
            raise UserError(
                f"vae: n_bins ({self.n_bins}) and fragment_frames ({self.fragment_frames}) must be multiples of 4 "
                "(two stride-2 layers halve them exactly)"
            )
        if ((self.fragment_frames - 1) * self.stft_hop) % 2:
            raise UserError(
                f"vae: (fragment_frames - 1) * stft_hop must be even so that a fragment's sub-frames sit symmetrically "
                f"about its centre sample; got {self.fragment_frames} and {self.stft_hop}"
            )
        if self.pooling not in ("global", "time"):
            raise UserError(f"vae: pooling must be global or time, got {self.pooling!r}")
        if self.level not in ("keep", "fragment"):
            raise UserError(f"vae: level must be keep or fragment, got {self.level!r}")
        if not (isinstance(self.log_floor, (int, float)) and self.log_floor > 0):
            raise UserError(f"vae: log_floor must be a positive number, got {self.log_floor!r}")
        for name in ("norm_mean", "norm_std"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (list, tuple)) or len(v) != self.n_bins):
                raise UserError(f"vae: {name} must be a list of {self.n_bins} numbers (one per bin) or null")
        if self.norm_std is not None and min(self.norm_std) <= 0:
            raise UserError("vae: norm_std must be positive")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def mel_top_hz(self) -> float:
        return float(self.sample_rate / 2 if self.mel_max_hz is None else self.mel_max_hz)

    def mel_matrix(self) -> Tensor:
        """``[n_fft // 2 + 1, n_bins]`` triangular mel filters (``frequency_scale: mel``)."""
        return mel_filter_matrix(self.n_bins, self.n_fft, self.sample_rate, float(self.mel_min_hz), self.mel_top_hz)

    @property
    def fragment_reach(self) -> int:
        """Samples from a fragment's centre to its first sub-frame's centre: ``(frames - 1) * hop / 2``."""
        return (self.fragment_frames - 1) * self.stft_hop // 2

    @property
    def fragment_span(self) -> int:
        """Samples a fragment reads (window taps included): ``(frames - 1) * hop + n_fft``."""
        return (self.fragment_frames - 1) * self.stft_hop + self.n_fft

    @property
    def fragment_ms(self) -> float:
        return 1000.0 * self.fragment_frames * self.stft_hop / self.sample_rate


class FragmentAnalysis(nn.Module):
    """Normalised log power fragments ``[N, n_bins, fragment_frames]`` of a waveform (see the module docstring)."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", centered_window(cfg.window_length, cfg.n_fft), persistent=False)
        # rebuilt from the config, so not in the state dict (checkpoints of linear VAEs load unchanged)
        self.register_buffer("mel", cfg.mel_matrix() if cfg.frequency_scale == "mel" else None, persistent=False)
        mean = torch.tensor(cfg.norm_mean, dtype=torch.float32) if cfg.norm_mean is not None else torch.zeros(cfg.n_bins)
        std = torch.tensor(cfg.norm_std, dtype=torch.float32) if cfg.norm_std is not None else torch.ones(cfg.n_bins)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def log_power(self, chunks: Tensor) -> Tensor:
        """``[..., span]`` sample chunks (``span = (K - 1) * stft_hop + n_fft``) -> ``[..., n_bins, K]`` ln power
        (of FFT bins, or of mel bands)."""
        c = self.cfg
        frames = chunks.unfold(-1, c.n_fft, c.stft_hop) * self.window.to(chunks.dtype)  # [..., K, n_fft]
        spec = torch.fft.rfft(frames, n=c.n_fft, dim=-1)
        power = spec.real.square() + spec.imag.square()
        # the first n_bins FFT bins, or the mel bands summed from all of them
        power = power[..., : c.n_bins] if self.mel is None else power @ self.mel.to(power.dtype)
        return torch.log(power + c.log_floor).transpose(-1, -2)

    def level_free(self, logp: Tensor) -> Tensor:
        """``[..., n_bins, K]`` ln power of whole fragments (``K = fragment_frames``) less each fragment's mean
        (``level: fragment``), or unchanged (``level: keep``)."""
        if self.cfg.level == "fragment":
            return logp - logp.mean(dim=(-2, -1), keepdim=True)
        return logp

    def normalise(self, logp: Tensor) -> Tensor:
        return (logp - self.mean.to(logp.dtype)[:, None]) / self.std.to(logp.dtype)[:, None]

    def denormalise(self, x: Tensor) -> Tensor:
        return x * self.std.to(x.dtype)[:, None] + self.mean.to(x.dtype)[:, None]

    def _padded(self, waveforms: Tensor) -> Tensor:
        """``waveforms`` zero-extended so that padded index ``c`` starts the chunk of the fragment centred on ``c``."""
        c = self.cfg
        left = c.fragment_reach + c.n_fft // 2
        return F.pad(waveforms, (left, c.fragment_span - left))

    def _chunks(self, waveforms: Tensor, hop: int) -> Tensor:
        """The samples of the fragments centred on ``0, hop, 2 hop, ...`` of ``[B, T]``: ``[B, 1 + T // hop, span]``."""
        return self._padded(waveforms).unfold(-1, self.cfg.fragment_span, hop)

    def frames(self, waveforms: Tensor, hop: int) -> Tensor:
        """Fragments centred on samples ``0, hop, 2 hop, ...`` of ``[B, T]``: ``[B, 1 + T // hop, n_bins, frames]``.

        The signal is zero-extended on both sides, as every centred frontend does (``centered_num_frames``).
        """
        return self.normalise(self.level_free(self.log_power(self._chunks(waveforms, hop))))

    def levels(self, waveforms: Tensor, hop: int) -> Tensor:
        """Mean ln power of the fragments of :meth:`frames` (what ``level: fragment`` removes): ``[B, F]``."""
        return self.log_power(self._chunks(waveforms, hop)).mean(dim=(-2, -1))

    def fragments_at(self, waveforms: Tensor, item: Tensor, centre: Tensor) -> Tensor:
        """Fragments of ``waveforms[item[i]]`` centred on sample ``centre[i]``: ``[N, n_bins, frames]``."""
        # sample centre - left .. centre - left + span - 1 of the signal is padded index centre .. centre + span - 1
        idx = centre[:, None] + torch.arange(self.cfg.fragment_span, device=waveforms.device)[None, :]
        return self.normalise(self.level_free(self.log_power(self._padded(waveforms)[item[:, None], idx])))


class VaeAnalysisFrontend(Frontend):
    """The VAE's input as a frontend (``model.frontend`` for the trainer): the flattened normalised log power
    fragment of every ``feature_hop`` frame, ``[B, F, n_bins * fragment_frames]``. Not in the registry: the
    ``vae`` frontend (latent means) is what other tasks use."""

    name = "vae-analysis"

    def __init__(self, analysis: FragmentAnalysis):
        super().__init__(FrontendConfig(sample_rate=analysis.cfg.sample_rate))
        self.analysis = analysis

    @property
    def frame_shift(self) -> int:
        return self.analysis.cfg.feature_hop

    @property
    def output_dim(self) -> int:
        return self.analysis.cfg.n_bins * self.analysis.cfg.fragment_frames

    def num_frames(self, lengths: Tensor) -> Tensor:
        return centered_num_frames(lengths, self.frame_shift)

    def compute(self, waveforms: Tensor) -> Tensor:
        return self.analysis.frames(waveforms, self.frame_shift).flatten(2)


def kl_to_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """Closed-form ``KL(N(mean, exp(logvar)) || N(0, 1))`` per example, summed over the last axis:
    ``0.5 * sum(mean^2 + exp(logvar) - 1 - logvar)`` (Kingma & Welling 2014, appendix B)."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(-1)


def active_dimensions(mean: Tensor, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies across the batch (variance > ``threshold``, Burda et al.
    2016): the ones the decoder can use; a collapsed dimension has the same mean for every input."""
    if mean.shape[0] < 2:
        return 0
    return int((mean.float().var(dim=0) > threshold).sum())


class VaeEncoder(nn.Module):
    """``[N, 1, n_bins, frames]`` -> ``(mean, logvar)``, each ``[N, latent_dim]``."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.conv1 = nn.Conv2d(1, c, 8, stride=2, padding=3)
        self.conv2 = nn.Conv2d(c, c, 8, stride=2, padding=3)
        pooled = c if cfg.pooling == "global" else c * (cfg.n_bins // 4)
        self.mean = nn.Linear(pooled, cfg.latent_dim)
        self.logvar = nn.Linear(pooled, cfg.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.conv2(F.relu(self.conv1(x))))  # [N, C, n_bins / 4, frames / 4]
        h = h.mean(dim=(2, 3)) if self.cfg.pooling == "global" else h.mean(dim=3).flatten(1)
        return self.mean(h), self.logvar(h)

    def frame_means(self, frags: Tensor) -> Tensor:
        """Means of ``[B, F, n_bins, frames]`` fragments (:meth:`FragmentAnalysis.frames`): ``[B, F, latent_dim]``."""
        b, f = frags.shape[:2]
        mean, _ = self(frags.reshape(b * f, 1, *frags.shape[2:]))
        return mean.reshape(b, f, -1)


class VaeDecoder(nn.Module):
    """``[N, latent_dim]`` -> ``[N, 1, n_bins, frames]`` (the encoder mirrored with transposed convolutions)."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        c = cfg.channels
        self.shape = (c, cfg.n_bins // 4, cfg.fragment_frames // 4)
        self.linear = nn.Linear(cfg.latent_dim, math.prod(self.shape))
        self.deconv1 = nn.ConvTranspose2d(c, c, 8, stride=2, padding=3)
        self.deconv2 = nn.ConvTranspose2d(c, 1, 8, stride=2, padding=3)

    def forward(self, z: Tensor) -> Tensor:
        h = F.relu(self.linear(z)).view(z.shape[0], *self.shape)
        return self.deconv2(F.relu(self.deconv1(h)))


class ConvVae(nn.Module):
    """Analysis + encoder + decoder. ``kl_steps`` counts training batches (a buffer, so the KL warm-up
    continues exactly on ``--resume`` and is stored in every checkpoint)."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        self.cfg = cfg.check()
        self.analysis = FragmentAnalysis(cfg)
        self.frontend = VaeAnalysisFrontend(self.analysis)
        self.encoder = VaeEncoder(cfg)
        self.decoder = VaeDecoder(cfg)
        self.register_buffer("kl_steps", torch.zeros((), dtype=torch.long))

    def forward(self, fragments: Tensor, sample: bool = True) -> dict[str, Tensor]:
        """``fragments [N, n_bins, frames]`` (normalised) -> ``recon`` (same shape), ``mean``, ``logvar``, ``z``.

        ``z = mean + exp(logvar / 2) * eps`` (the reparameterisation trick, eps from torch's global generator,
        which the trainer restores on resume); ``sample=False`` decodes the mean.
        """
        mean, logvar = self.encoder(fragments.unsqueeze(1))
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if sample else mean
        recon = self.decoder(z).squeeze(1)
        return {"recon": recon, "mean": mean, "logvar": logvar, "z": z}

    def encode_frames(self, waveforms: Tensor, hop: int) -> Tensor:
        """Latent means of the fragments centred every ``hop`` samples: ``[B, 1 + T // hop, latent_dim]``."""
        return self.encoder.frame_means(self.analysis.frames(waveforms, hop))


__all__ = ["ConvVae", "FragmentAnalysis", "VaeConfig", "active_dimensions", "kl_to_standard_normal"]
