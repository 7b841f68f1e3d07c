"""SpecAugment in the STFT domain, back to the waveform: augmentation for learnable frontends.

A learnable frontend reads the raw waveform, so masking its *output* would hide the augmentation from
the layer being learned. As in the unified 2D-conv front-end paper (arXiv 2509.10031), the waveform is
taken to the STFT domain, time frames and frequency bins are zeroed there, and the inverse STFT gives
the augmented waveform that the frontend then reads.

With a Hann window and hop = window/4 the STFT/iSTFT pair is a perfect reconstruction, so with no masks
the output equals the input (up to float rounding; tested). Masks are drawn from torch's global
generator; time masks stay inside each utterance, and samples past ``lengths`` stay zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .specaugment import span_mask


@dataclass
class StftSpecAugmentConfig:
    n_fft: int = 512
    win_length: int = 400  # 25 ms at 16 kHz
    hop_length: int = 100  # win/4: overlap-add reconstructs exactly
    num_freq_masks: int = 2
    freq_mask_frac: float = 0.15  # widest frequency mask, fraction of the n_fft/2+1 bins (~1.2 kHz)
    num_time_masks: int = 2
    time_mask_max: int = 64  # widest time mask, in STFT frames (64 x 6.25 ms = 400 ms)
    time_mask_frac: float = 0.2  # ... and at most this fraction of the utterance


class StftSpecAugment(nn.Module):
    """``waveforms [B, T]``, ``lengths [B]`` -> augmented waveforms ``[B, T]`` (training mode only)."""

    def __init__(self, config: StftSpecAugmentConfig | None = None):
        super().__init__()
        self.config = config or StftSpecAugmentConfig()
        self.register_buffer("window", torch.hann_window(self.config.win_length), persistent=False)

    def masks(self, n_frames: int, n_bins: int, frame_lengths: Tensor) -> Tensor:
        """``[B, bins, frames]`` bool: True where the STFT is zeroed."""
        c = self.config
        b = frame_lengths.shape[0]
        drop = torch.zeros(b, n_bins, n_frames, dtype=torch.bool)
        if c.num_freq_masks > 0 and c.freq_mask_frac > 0:
            widest = torch.full((b,), int(c.freq_mask_frac * n_bins), dtype=torch.long)
            drop |= span_mask(c.num_freq_masks, widest, torch.full((b,), n_bins), n_bins)[:, :, None]
        if c.num_time_masks > 0 and c.time_mask_max > 0:
            widest = torch.minimum(torch.full((b,), c.time_mask_max), (c.time_mask_frac * frame_lengths.float()).long())
            drop |= span_mask(c.num_time_masks, widest, frame_lengths, n_frames)[:, None, :]
        drop &= (torch.arange(n_frames)[None, :] < frame_lengths[:, None])[:, None, :]
        return drop

    def stft(self, x: Tensor) -> Tensor:
        c = self.config
        return torch.stft(x, c.n_fft, c.hop_length, c.win_length, self.window.to(x.dtype), center=True,
                          pad_mode="constant", return_complex=True)

    def istft(self, spec: Tensor, length: int) -> Tensor:
        c = self.config
        return torch.istft(spec, c.n_fft, c.hop_length, c.win_length, self.window, center=True, length=length)

    def forward(self, x: Tensor, lengths: Tensor, force: bool = False) -> Tensor:
        if not (self.training or force):
            return x
        lengths = lengths.detach().cpu().long()
        n_frames = 1 + x.shape[1] // self.config.hop_length
        frame_lengths = 1 + torch.div(lengths, self.config.hop_length, rounding_mode="floor")
        drop = self.masks(n_frames, self.config.n_fft // 2 + 1, frame_lengths)
        return self.apply_masks(x, lengths, drop)

    def apply_masks(self, x: Tensor, lengths: Tensor, drop: Tensor) -> Tensor:
        """Zero the STFT of ``x`` where ``drop`` ([B or 1, bins, frames or 1] bool) is True; back to samples."""
        orig_dtype = x.dtype
        x = x.float()
        t = x.shape[1]
        spec = self.stft(x)  # [B, bins, frames]
        y = self.istft(spec.masked_fill(drop.to(spec.device), 0), length=t)
        valid = torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        return (y * valid.to(y.dtype)).to(orig_dtype)
