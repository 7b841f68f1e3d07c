"""Conformer encoder (Gulati et al., 2020) with relative positional self-attention.

Block (macaron): ``x + FF/2 -> x + MHSA_rel -> x + Conv -> x + FF/2 -> LayerNorm``.

* Self-attention with relative positions in the style of Transformer-XL (Dai et al., 2019): the score
  of query i on key j is ``(q_i + u)·k_j + (q_i + v)·W_p r_{i-j}`` with sinusoidal ``r`` and learned
  per-head biases ``u`` and ``v``. No absolute positions anywhere, so the encoder is shift-equivariant
  and generalises to lengths not seen in training.
* Convolution module: pointwise conv to 2d channels, GLU, depthwise conv (kernel 31), BatchNorm or
  LayerNorm, swish, pointwise conv. Padded frames are zeroed before the depthwise conv so that padding
  never leaks into valid frames.
* Subsampling in front of the blocks only when the frontend's frames need it (see :func:`subsampling_for`):
  fbank/mel/LEAF give 10 ms frames -> Conv2d x4 to 40 ms; the 2D-conv frontend already gives 40 ms.
* Dropout is :class:`~audiofront.models.dropout.FastDropout`: torch's CPU dropout drew its masks one element
  at a time, a fifth of a training step of the tiny recipe.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .dropout import FastDropout


@dataclass
class ConformerConfig:
    d_model: int = 144
    num_layers: int = 4
    num_heads: int = 4
    ff_dim: int = 576
    conv_kernel: int = 31
    conv_norm: str = "batch"  # batch | layer
    dropout: float = 0.1
    attn_dropout: float = 0.1
    subsampling: Any = "auto"  # auto | 1 | 2 | 4
    subsampling_channels: int = 0  # 0: d_model
    target_frame_ms: float = 40.0  # what "auto" subsampling aims at

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Sizes. ``tiny`` trains in minutes on 2 CPU cores; ``paper`` is the 2D-conv front-end paper's encoder.
PRESETS: dict[str, dict[str, Any]] = {
    # tiny: 32 channels in the Conv2d subsampling (with d_model=144 channels it would cost more than the
    # four blocks together on 10 ms features). BatchNorm in the conv module: on the demo corpus it left
    # the CTC blank plateau clearly sooner than LayerNorm did (token error 0.63 vs 0.86 after ~135 steps).
    "tiny": dict(d_model=144, num_layers=4, num_heads=4, ff_dim=576, conv_kernel=31, conv_norm="batch",
                 subsampling_channels=32),
    "small": dict(d_model=256, num_layers=12, num_heads=4, ff_dim=1024, conv_kernel=31),
    "medium": dict(d_model=256, num_layers=16, num_heads=4, ff_dim=1024, conv_kernel=31),
    "paper": dict(d_model=512, num_layers=12, num_heads=8, ff_dim=2048, conv_kernel=31),
}


def conformer_config(preset: str = "tiny", **overrides: Any) -> ConformerConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown encoder preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(ConformerConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown encoder option(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    cfg = ConformerConfig(**{**PRESETS[preset], **overrides})
    if cfg.d_model % cfg.num_heads:
        raise ValueError(f"d_model={cfg.d_model} must be divisible by num_heads={cfg.num_heads}")
    if cfg.conv_kernel % 2 == 0:
        raise ValueError(f"conv_kernel must be odd (symmetric 'same' padding), got {cfg.conv_kernel}")
    if cfg.conv_norm not in ("batch", "layer"):
        raise ValueError(f"conv_norm must be 'batch' or 'layer', got {cfg.conv_norm!r}")
    return cfg


def subsampling_for(frame_shift_ms: float, setting: Any = "auto", target_ms: float = 40.0) -> int:
    """The time subsampling factor (1, 2 or 4) that brings frames of ``frame_shift_ms`` near ``target_ms``."""
    if setting != "auto":
        factor = int(setting)
        if factor not in (1, 2, 4):
            raise ValueError(f"subsampling must be auto, 1, 2 or 4, got {setting!r}")
        return factor
    want = target_ms / frame_shift_ms
    return min((1, 2, 4), key=lambda f: abs(math.log(f / want)))


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``[B, T]`` bool, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class Conv2dSubsampling(nn.Module):
    """``factor`` x time subsampling (2 or 4) by stride-2 3x3 Conv2d layers with ReLU, then a linear map."""

    def __init__(self, in_dim: int, d_model: int, factor: int, channels: int):
        super().__init__()
        n = {2: 1, 4: 2}[factor]
        layers: list[nn.Module] = []
        c_in, dim = 1, in_dim
        for _ in range(n):
            layers += [nn.Conv2d(c_in, channels, 3, stride=2), nn.ReLU()]
            c_in, dim = channels, (dim - 3) // 2 + 1
        if dim < 1:
            raise ValueError(f"feature dim {in_dim} is too small for {factor}x Conv2d subsampling")
        self.conv = nn.Sequential(*layers)
        self.n = n
        self.out = nn.Linear(channels * dim, d_model)

    def out_lengths(self, lengths: Tensor) -> Tensor:
        for _ in range(self.n):
            lengths = torch.div(lengths - 3, 2, rounding_mode="floor") + 1
        return lengths.clamp(min=0)

    @property
    def min_frames(self) -> int:
        t = 1
        for _ in range(self.n):
            t = 2 * t + 1
        return t

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[1] < self.min_frames:
            # too short for the convolutions: pad with zeros (the extra frames are beyond every length)
            x = F.pad(x, (0, 0, 0, self.min_frames - x.shape[1]))
        y = self.conv(x.unsqueeze(1))  # [B, C, T', D']
        b, c, t, d = y.shape
        y = self.out(y.transpose(1, 2).reshape(b, t, c * d))
        return y, self.out_lengths(lengths)


def relative_positions(length: int, d_model: int, device=None, dtype=torch.float32) -> Tensor:
    """Sinusoidal encodings ``[2L-1, d]`` of relative distances ``L-1, L-2, ..., -(L-1)`` (row m: L-1-m)."""
    dist = torch.arange(length - 1, -length, -1, device=device, dtype=torch.float32)
    inv = torch.exp(torch.arange(0, d_model, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    ang = dist[:, None] * inv[None, :]
    pe = torch.zeros(2 * length - 1, d_model, device=device)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)
    return pe.to(dtype)


def rel_shift(scores: Tensor) -> Tensor:
    """``[..., L, 2L-1]`` scores against relative-position rows -> ``[..., L, L]`` with
    ``out[..., i, j] = scores[..., i, L-1-i+j]`` (the row of distance ``i-j``)."""
    length = scores.shape[-2]
    idx = (length - 1) - torch.arange(length, device=scores.device)[:, None] + torch.arange(length, device=scores.device)[None, :]
    return scores.gather(-1, idx.expand(*scores.shape[:-2], length, length))


class RelPositionMultiHeadAttention(nn.Module):
    """Multi-head self-attention with Transformer-XL relative positions and learned biases u, v."""

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.h, self.dk = num_heads, d_model // num_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.pos = nn.Linear(d_model, d_model, bias=False)
        self.out = nn.Linear(d_model, d_model)
        self.u = nn.Parameter(torch.zeros(num_heads, self.dk))
        self.v_bias = nn.Parameter(torch.zeros(num_heads, self.dk))
        nn.init.xavier_uniform_(self.u)
        nn.init.xavier_uniform_(self.v_bias)
        self.dropout = FastDropout(dropout)

    def forward(self, x: Tensor, pos: Tensor, mask: Tensor) -> Tensor:
        """``x`` [B, L, d], ``pos`` [2L-1, d] from :func:`relative_positions`, ``mask`` [B, L] valid frames."""
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.h, self.dk)
        k = self.k(x).view(b, n, self.h, self.dk).transpose(1, 2)  # [B, H, L, dk]
        v = self.v(x).view(b, n, self.h, self.dk).transpose(1, 2)
        p = self.pos(pos).view(-1, self.h, self.dk).permute(1, 2, 0)  # [H, dk, 2L-1]
        # the 1/sqrt(dk) scale goes on the [B, L, H, dk] queries rather than on the [B, H, L, L] scores
        scale = 1.0 / math.sqrt(self.dk)
        ac = torch.matmul(((q + self.u) * scale).transpose(1, 2), k.transpose(-2, -1))  # [B, H, L, L]
        bd = rel_shift(torch.matmul(((q + self.v_bias) * scale).transpose(1, 2), p))  # [B, H, L, L]
        scores = ac + bd
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        attn = torch.softmax(scores, dim=-1)
        attn = self.dropout(attn)
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, self.h * self.dk)
        return self.out(y)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, ff_dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, ff_dim), nn.SiLU(), FastDropout(dropout),
            nn.Linear(ff_dim, d_model), FastDropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over ``[B, C, L]`` whose training statistics come from the valid frames only.

    Plain BatchNorm would count the padding of short utterances (and what the depthwise conv smears into
    it) in the batch statistics, so the statistics would depend on how the batch was padded.
    """

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:  # type: ignore[override]
        if mask is None or not self.training:
            return super().forward(x)
        m = mask[:, None, :].to(x.dtype)
        n = m.sum()
        mean = (x * m).sum(dim=(0, 2)) / n.clamp(min=1)
        var = (((x - mean[None, :, None]) ** 2) * m).sum(dim=(0, 2)) / n.clamp(min=1)
        with torch.no_grad():
            if self.track_running_stats and self.running_mean is not None and n > 1:
                self.num_batches_tracked += 1
                mom = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - mom).add_(mom * mean.detach().to(self.running_mean.dtype))
                unbiased = var.detach() * (n / (n - 1))
                self.running_var.mul_(1 - mom).add_(mom * unbiased.to(self.running_var.dtype))
        y = (x - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)
        if self.affine:
            y = y * self.weight[None, :, None] + self.bias[None, :, None]
        return y


class ConvModule(nn.Module):
    def __init__(self, d_model: int, kernel: int, norm: str, dropout: float):
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.pw1 = nn.Conv1d(d_model, 2 * d_model, 1)
        self.dw = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.norm_kind = norm
        self.norm = MaskedBatchNorm1d(d_model) if norm == "batch" else nn.LayerNorm(d_model)
        self.pw2 = nn.Conv1d(d_model, d_model, 1)
        self.dropout = FastDropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        # The pointwise convolutions keep their Conv1d parameters (checkpoints stay loadable) but run as
        # matrix products on [B, L, d]: on CPU a kernel-1 Conv1d forward and backward took 2.8 ms against 1.0-1.4
        # ms for F.linear ([2, 330, 144] -> 288, 2 threads); the whole step: benchmarks/asr_step.py. Tests check
        # outputs and gradients against plain Conv1d.
        y = F.glu(_pointwise(self.pw1, self.ln(x)), dim=-1)  # [B, L, d]
        y = y * mask[:, :, None].to(y.dtype)  # padding must not leak into valid frames
        y = self.dw(y.transpose(1, 2))  # [B, d, L]
        if self.norm_kind == "batch":
            y = self.norm(y, mask)
        else:
            y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return self.dropout(_pointwise(self.pw2, F.silu(y).transpose(1, 2)))


def _pointwise(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """A kernel-1 ``Conv1d`` applied to channels-last ``x`` [B, L, C_in] -> [B, L, C_out]."""
    return F.linear(x, conv.weight.squeeze(-1), conv.bias)


class ConformerBlock(nn.Module):
    def __init__(self, cfg: ConformerConfig):
        super().__init__()
        d = cfg.d_model
        self.ff1 = FeedForward(d, cfg.ff_dim, cfg.dropout)
        self.ln_att = nn.LayerNorm(d)
        self.att = RelPositionMultiHeadAttention(d, cfg.num_heads, cfg.attn_dropout)
        self.drop_att = FastDropout(cfg.dropout)
        self.conv = ConvModule(d, cfg.conv_kernel, cfg.conv_norm, cfg.dropout)
        self.ff2 = FeedForward(d, cfg.ff_dim, cfg.dropout)
        self.ln_out = nn.LayerNorm(d)

    def forward(self, x: Tensor, pos: Tensor, mask: Tensor) -> Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.drop_att(self.att(self.ln_att(x), pos, mask))
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ff2(x)
        return self.ln_out(x)


class ConformerEncoder(nn.Module):
    """Features ``[B, T, in_dim]`` at ``frame_shift_ms`` -> encodings ``[B, T', d_model]`` and lengths."""

    def __init__(self, in_dim: int, frame_shift_ms: float, cfg: Optional[ConformerConfig] = None):
        super().__init__()
        self.cfg = cfg = copy.deepcopy(cfg) if cfg is not None else ConformerConfig()
        self.in_frame_ms = float(frame_shift_ms)
        self.factor = subsampling_for(frame_shift_ms, cfg.subsampling, cfg.target_frame_ms)
        if self.factor == 1:
            self.subsample: Optional[Conv2dSubsampling] = None
            self.proj = nn.Linear(in_dim, cfg.d_model)
        else:
            self.subsample = Conv2dSubsampling(in_dim, cfg.d_model, self.factor, cfg.subsampling_channels or cfg.d_model)
            self.proj = None
        self.in_dropout = FastDropout(cfg.dropout)
        self.blocks = nn.ModuleList(ConformerBlock(cfg) for _ in range(cfg.num_layers))

    @property
    def output_frame_ms(self) -> float:
        return self.in_frame_ms * self.factor

    def out_lengths(self, lengths: Tensor) -> Tensor:
        return lengths if self.subsample is None else self.subsample.out_lengths(lengths)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x, lengths, _ = self.forward_layers(x, lengths, ())
        return x, lengths

    def forward_layers(self, x: Tensor, lengths: Tensor, layers: Sequence[int]) -> tuple[Tensor, Tensor, list[Tensor]]:
        """:meth:`forward` plus the outputs of the blocks numbered ``layers`` (1-based: ``k`` is the output of
        the k-th block, padding zeroed), for intermediate losses such as intermediate CTC."""
        wanted = [int(k) for k in layers]
        bad = [k for k in wanted if not 1 <= k <= len(self.blocks)]
        if bad:
            raise ValueError(f"layer(s) {bad} out of range: the encoder has blocks 1..{len(self.blocks)}")
        if self.subsample is None:
            x = self.proj(x)
        else:
            x, lengths = self.subsample(x, lengths)
        mask = lengths_to_mask(lengths.to(x.device), x.shape[1])
        keep = mask.unsqueeze(-1).to(x.dtype)
        x = self.in_dropout(x)
        pos = relative_positions(x.shape[1], x.shape[2], device=x.device, dtype=x.dtype)
        taken: dict[int, Tensor] = {}
        for k, block in enumerate(self.blocks, 1):
            x = block(x, pos, mask)
            if k in wanted:
                taken[k] = x * keep
        x = x * keep
        return x, lengths, [taken[k] for k in wanted]
