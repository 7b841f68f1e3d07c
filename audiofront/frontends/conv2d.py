"""``2dconv``: the unified learnable 2D convolutional front-end for ASR (Vieting et al., arXiv 2509.10031).

Pipeline, for a waveform of ``L`` valid samples::

    mean/variance normalisation over the L valid samples
    -> first layer, frames centred on samples 0, 10, 20, ...  (T0 = 1 + L // 10 frames)
         "conv":         Conv1d(1, C, kernel 256, stride 10, no bias), random or gammatone init
         "stft_mag":     |STFT| (Hann window 400, hop 10), 1 input channel, C = n_fft // 2 + 1
         "stft_complex": real and imaginary STFT parts as 2 input channels
    -> an image of time x C (channels first: [B, in, T0, C])
    -> six Conv2d 3x3 (+bias), stride 2 in time and 1 in frequency, padding 1, ReLU, channels 32-64-64-64-64-32
    -> flatten (32 * C) per frame -> Linear(32 * C, 512)

Frame counts (exact, see :meth:`TwoDConv.num_frames`): each strided Conv2d maps ``T`` frames to ``ceil(T / 2)``
('same'-style padding of 1 on both sides), so after six of them ``ceil(T0 / 64) = 1 + L // 640`` frames,
centred on samples 0, 640, 1280, ...: 40 ms frames at 16 kHz, ``centered_num_frames(L, 640)``.

Padding invariance: a sequence must give the same valid frames alone and inside a zero-padded batch. The
normalisation statistics are computed over the valid samples only, and after every layer the frames past that
layer's valid count are set to zero, so each layer sees exactly the zero padding it would see on the
sequence alone. This needs the lengths inside the computation, hence :class:`LengthAwareFrontend`.

Learnable parameters (conv first layer, no bias)::

    C * 256                                   first layer
    (9*1*32+32) + (9*32*64+64) + 3*(9*64*64+64) + (9*64*32+32) = 320 + 18,496 + 110,784 + 18,464 = 148,064
    32 * C * 512 + 512                        output projection
    C = 8:   2,048 + 148,064 + 131,584   =   281,696  (~0.28M)
    C = 80:  20,480 + 148,064 + 1,311,232 = 1,479,776  (~1.48M)
    C = 128: 32,768 + 148,064 + 2,097,664 = 2,278,496  (~2.28M)

The STFT variants have no first-layer parameters; with ``n_fft = 400`` the image has 201 frequency bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FilterBank, FrontendConfig, LengthAwareFrontend, centered_num_frames, mask_frames
from .gammatone import gammatone_impulse_responses
from .registry import register_frontend
from .responses import filterbank_from_taps


def normalize_waveforms(waveforms: Tensor, lengths: Tensor, eps: float = 1e-5) -> Tensor:
    """Zero mean, unit variance per sequence over its valid samples; padding stays zero."""
    valid = (torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < lengths.to(waveforms.device)[:, None]).to(
        waveforms.dtype
    )
    count = valid.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (waveforms * valid).sum(dim=1, keepdim=True) / count
    centred = (waveforms - mean) * valid
    var = (centred**2).sum(dim=1, keepdim=True) / count
    return centred * torch.rsqrt(var + eps)


# ---- the frontend ------------------------------------------------------------------------------------------
FIRST_LAYERS = ("conv", "stft_mag", "stft_complex")


@dataclass
class Conv2dFrontendConfig(FrontendConfig):
    """Options of ``2dconv``.

    n_filters: C, the first layer's filters (``first_layer="conv"`` only; the STFT variants have
        ``n_fft // 2 + 1`` frequency bins instead). Default 8: the paper's most parameter-efficient
        configuration (0.28M), and the cheapest: the 2D convolutions cost grows linearly with C (3 x 60 s took
        4 s at C=8 and 56 s at C=80 on 2 busy CPU cores).
    first_layer: "conv" | "stft_mag" | "stft_complex".
    init: "random" (PyTorch's default Conv1d init) | "gammatone" (ERB-spaced gammatones, ``min_hz``..``max_hz``).
    kernel_size, hop_length: the first layer's window and hop in samples (256 and 10 for conv; the STFT
        uses ``n_fft`` samples of Hann window and the same hop).
    channels: output channels of the strided Conv2d layers (each halves the frame rate).
    output_size: size of the final projection (the frontend's output dim).
    normalize: per-utterance waveform mean/variance normalisation.
    """

    n_filters: int = 8
    first_layer: Literal["conv", "stft_mag", "stft_complex"] = "conv"
    init: Literal["random", "gammatone"] = "random"
    kernel_size: int = 256
    hop_length: int = 10
    n_fft: int = 400
    channels: list[int] = field(default_factory=lambda: [32, 64, 64, 64, 64, 32])
    output_size: int = 512
    normalize: bool = True
    min_hz: float = 100.0
    max_hz: float = 7600.0


@register_frontend("2dconv")
class TwoDConv(LengthAwareFrontend):
    """Unified learnable 2D convolutional front-end (see the module docstring)."""

    Config = Conv2dFrontendConfig

    def __init__(self, config: Conv2dFrontendConfig):
        super().__init__(config)
        c = config
        for key in ("n_filters", "kernel_size", "hop_length", "n_fft", "output_size"):
            if getattr(c, key) < 1:
                raise ValueError(f"2dconv: {key} must be >= 1, got {getattr(c, key)}")
        if c.first_layer not in FIRST_LAYERS:
            raise ValueError(f"2dconv: first_layer must be one of {list(FIRST_LAYERS)}, got {c.first_layer!r}")
        if (
            not isinstance(c.channels, (list, tuple))
            or not c.channels
            or any(isinstance(ch, bool) or not isinstance(ch, int) or ch < 1 for ch in c.channels)
        ):
            raise ValueError(f"2dconv: channels must be a non-empty list of positive ints, got {c.channels!r}")
        c.channels = [int(ch) for ch in c.channels]  # a list, so the config round-trips through YAML/JSON
        if c.first_layer == "conv":
            self.n_bins = c.n_filters
            self.filterbank = nn.Conv1d(1, c.n_filters, c.kernel_size, stride=c.hop_length, bias=False)
            if c.init == "gammatone":
                with torch.no_grad():
                    taps = gammatone_impulse_responses(c.n_filters, c.kernel_size, c.sample_rate, c.min_hz, c.max_hz)
                    # Conv1d cross-correlates: its weight is the time-reversed impulse response.
                    self.filterbank.weight.copy_(taps.flip(-1).unsqueeze(1))
            elif c.init != "random":
                raise ValueError(f"2dconv: init must be 'random' or 'gammatone', got {c.init!r}")
            in_channels = 1
        else:
            self.n_bins = c.n_fft // 2 + 1
            self.filterbank = None
            self.register_buffer("window", torch.hann_window(c.n_fft, periodic=False), persistent=False)
            in_channels = 1 if c.first_layer == "stft_mag" else 2
        layers = []
        for out_channels in c.channels:
            layers.append(nn.Conv2d(in_channels, int(out_channels), 3, stride=(2, 1), padding=1))
            in_channels = int(out_channels)
        self.convs = nn.ModuleList(layers)
        self.proj = nn.Linear(in_channels * self.n_bins, c.output_size)

    # ---- stated properties ----------------------------------------------------------------------------
    @property
    def frame_shift(self) -> int:
        return self.config.hop_length * 2 ** len(self.convs)

    @property
    def output_dim(self) -> int:
        return self.config.output_size

    def first_layer_frames(self, lengths: Tensor) -> Tensor:
        """Frames of the first layer, centred on samples 0, hop, 2 hop, ...: ``1 + L // hop`` (0 for L = 0)."""
        return centered_num_frames(lengths, self.config.hop_length)

    def layer_frames(self, lengths: Tensor) -> list[Tensor]:
        """Valid frame counts after the first layer and after each Conv2d: ``T_{k+1} = ceil(T_k / 2)``."""
        counts = [self.first_layer_frames(lengths)]
        for _ in self.convs:
            counts.append(torch.div(counts[-1] + 1, 2, rounding_mode="floor"))
        return counts

    def num_frames(self, lengths: Tensor) -> Tensor:
        # ceil-chain of the strided convs: ceil(T0 / 2**n) = 1 + L // (hop * 2**n) for L > 0
        return self.layer_frames(torch.as_tensor(lengths))[-1]

    # ---- computation --------------------------------------------------------------------------------
    def first_layer(self, x: Tensor) -> Tensor:
        """``[B, T]`` -> ``[B, in_channels, 1 + T // hop, n_bins]``."""
        c = self.config
        if self.filterbank is not None:
            half = c.kernel_size // 2
            # frame t covers samples [hop*t - half, hop*t - half + kernel): centred on hop*t
            padded = F.pad(x.unsqueeze(1), (half, c.kernel_size - half))
            out = self.filterbank(padded)  # [B, C, T0 (+1 when kernel is odd)]
            out = out[..., : 1 + x.shape[1] // c.hop_length]
            return out.transpose(1, 2).unsqueeze(1)
        spec = torch.stft(
            x,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            window=self.window.to(x.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # [B, n_bins, T0]
        spec = spec.transpose(1, 2)
        if c.first_layer == "stft_mag":
            return spec.abs().unsqueeze(1)
        return torch.stack([spec.real, spec.imag], dim=1)

    def compute_with_lengths(self, waveforms: Tensor, lengths: Tensor) -> Tensor:
        counts = self.layer_frames(lengths)
        x = normalize_waveforms(waveforms, lengths) if self.config.normalize else waveforms
        x = mask_frames(self.first_layer(x), counts[0], dim=2)  # [B, in, T0, C]
        for conv, valid in zip(self.convs, counts[1:]):
            x = mask_frames(torch.relu(conv(x)), valid, dim=2)
        batch, channels, frames, bins = x.shape
        x = x.permute(0, 2, 1, 3).reshape(batch, frames, channels * bins)
        return self.proj(x)

    # ---- inspection ----------------------------------------------------------------------------------
    def filters(self) -> Optional[FilterBank]:
        """The C learned impulse responses of the conv first layer (``None`` for the fixed STFT variants)."""
        if self.filterbank is None:
            return None
        return filterbank_from_taps(self.filterbank.weight.detach()[:, 0].flip(-1), self.sample_rate)


__all__ = ["LengthAwareFrontend", "TwoDConv", "filterbank_from_taps", "mask_frames", "normalize_waveforms"]
