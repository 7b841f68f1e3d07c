"""``wav2vec``: the convolutional feature encoder of wav2vec 2.0 (Baevski et al. 2020, base model), trained from
scratch as a supervised front-end (a baseline of arXiv 2509.10031).

Seven Conv1d layers with 512 channels and no bias, kernels 10, 3, 3, 3, 3, 2, 2 and strides 5, 2, 2, 2, 2, 2, 2
(receptive field 400 samples = 25 ms, hop 320 = 20 ms at 16 kHz), GELU after each; the first layer is followed
by a group norm with one group per channel (it normalises each channel over time, with a learned scale and
shift), as in the base model. ``variant="40ms"`` appends an eighth layer (kernel 2, stride 2): hop 640 = 40 ms,
receptive field 720 samples.

No padding (as in the original): ``L`` samples give ``floor((L - k) / s) + 1`` frames per layer, so the first
frame needs 400 samples (720 for 40 ms) and an output frame ``i`` covers samples ``[320 i, 320 i + 400)``.

Padding invariance: valid output frames only read valid samples, but the group norm's statistics run over
time; they are computed over the valid first-layer frames of each sequence only, so zero padding added by
batching does not change them (the original includes the padding in the statistics).

``norm="layer"``: the feature encoder of the larger wav2vec 2.0 models (LV-60 large) instead: a layer norm over
the channels of each frame after every convolution (before its GELU), no statistics over time. Each frame then
depends only on its own receptive field (400 samples; 720 at 40 ms), so this variant streams exactly
(:mod:`audiofront.streaming`); the group norm over the whole utterance cannot (it needs the utterance's end).
Its norms hold ``2 * 512`` parameters per layer (the group norm ``2 * 512`` in all): 4,206,592 at 20 ms.

Learnable parameters (20 ms)::

    512 * 1 * 10 + 4 * (512 * 512 * 3) + 2 * (512 * 512 * 2) + 2 * 512 (group norm)
    = 5,120 + 3,145,728 + 1,048,576 + 1,024 = 4,200,448  (about 4.2M)

and 4,724,736 for the 40 ms variant (one more 512 x 512 x 2 layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FilterBank, FrontendConfig, LengthAwareFrontend, conv_num_frames
from .registry import register_frontend
from .responses import filterbank_from_taps

# (kernel, stride) of each layer of the base model's feature encoder
LAYERS_20MS = ((10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2))
LAYERS_40MS = LAYERS_20MS + ((2, 2),)


@dataclass
class Wav2VecConfig(FrontendConfig):
    """Options of ``wav2vec``: ``variant`` "20ms" (7 layers) | "40ms" (8 layers); ``channels`` per layer (512);
    ``norm`` "group" (base model: group norm over time after the first layer) | "layer" (large model: layer
    norm over channels after every layer; streams)."""

    variant: Literal["20ms", "40ms"] = "20ms"
    channels: int = 512
    norm_eps: float = 1e-5
    norm: Literal["group", "layer"] = "group"


class MaskedChannelNorm(nn.Module):
    """Group norm with one group per channel (``nn.GroupNorm(C, C)``) whose statistics skip padded frames."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        """``x [B, C, T]``; ``valid [B]`` frames of each sequence enter the statistics."""
        keep = (torch.arange(x.shape[-1], device=x.device)[None, :] < valid.to(x.device)[:, None]).to(x.dtype)
        keep = keep[:, None, :]
        count = keep.sum(dim=-1, keepdim=True).clamp(min=1)
        mean = (x * keep).sum(dim=-1, keepdim=True) / count
        var = (((x - mean) * keep) ** 2).sum(dim=-1, keepdim=True) / count
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[None, :, None] + self.bias[None, :, None]


@register_frontend("wav2vec")
class Wav2VecFeatureEncoder(LengthAwareFrontend):
    """The wav2vec 2.0 convolutional feature encoder (see the module docstring)."""

    Config = Wav2VecConfig

    def __init__(self, config: Wav2VecConfig):
        super().__init__(config)
        if config.variant not in ("20ms", "40ms"):
            raise ValueError(f"wav2vec: variant must be '20ms' or '40ms', got {config.variant!r}")
        if config.channels < 1:
            raise ValueError(f"wav2vec: channels must be >= 1, got {config.channels}")
        if config.norm not in ("group", "layer"):
            raise ValueError(f"wav2vec: norm must be 'group' or 'layer', got {config.norm!r}")
        self.layers_spec = LAYERS_20MS if config.variant == "20ms" else LAYERS_40MS
        convs = []
        in_channels = 1
        for kernel, stride in self.layers_spec:
            conv = nn.Conv1d(in_channels, config.channels, kernel, stride=stride, bias=False)
            nn.init.kaiming_normal_(conv.weight)  # the original's initialisation
            convs.append(conv)
            in_channels = config.channels
        self.convs = nn.ModuleList(convs)
        if config.norm == "group":
            self.norm = MaskedChannelNorm(config.channels, config.norm_eps)
        else:
            self.layer_norms = nn.ModuleList(nn.LayerNorm(config.channels, eps=config.norm_eps) for _ in convs)

    @property
    def frame_shift(self) -> int:
        shift = 1
        for _, stride in self.layers_spec:
            shift *= stride
        return shift

    @property
    def output_dim(self) -> int:
        return self.config.channels

    @property
    def min_samples(self) -> int:
        """Receptive field: ``k_1 + sum_i (k_i - 1) * (product of the earlier strides)``."""
        field, jump = 1, 1
        for kernel, stride in self.layers_spec:
            field += (kernel - 1) * jump
            jump *= stride
        return field

    def num_frames(self, lengths: Tensor) -> Tensor:
        frames = torch.as_tensor(lengths)
        for kernel, stride in self.layers_spec:
            frames = conv_num_frames(frames, kernel, stride)
        return frames

    def compute_with_lengths(self, waveforms: Tensor, lengths: Tensor) -> Tensor:
        if self.config.norm == "layer":
            x = waveforms.unsqueeze(1)
            for conv, norm in zip(self.convs, self.layer_norms):
                x = F.gelu(norm(conv(x).transpose(1, 2)).transpose(1, 2))
            return x.transpose(1, 2)
        kernel, stride = self.layers_spec[0]
        x = self.convs[0](waveforms.unsqueeze(1))
        x = F.gelu(self.norm(x, conv_num_frames(lengths, kernel, stride)))
        for conv in self.convs[1:]:
            x = F.gelu(conv(x))
        return x.transpose(1, 2)

    def filters(self) -> Optional[FilterBank]:
        """The first layer's 512 learned 10-tap filters, with measured centres and FWHM (coarse: 10 taps)."""
        return filterbank_from_taps(self.convs[0].weight.detach()[:, 0].flip(-1), self.sample_rate)
