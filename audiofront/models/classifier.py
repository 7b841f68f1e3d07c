"""Audio classifier: a frontend, an encoder and one linear head per task.

``model(audio [B, T], audio_lens [B]) -> {head name: logits [B, n_classes]}``. Single-label heads are read
with a softmax, multi-label heads with per-class sigmoids; the model itself does not care which.

Multi-task (LEAF paper, section 4.3): every head shares the frontend and the encoder; a head is a single
linear layer on the encoder's embedding.

Evaluation on whole clips (:func:`split_windows` / :func:`clip_logits`): a clip is cut into consecutive
windows of ``window`` samples, the last one ending at the clip's end (overlapping the one before when the
length is not a multiple of the window), so every window is all audio and none is thrown away; a clip
shorter than one window becomes one zero-padded window, as in training. The logits of a clip's windows are
averaged.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from ..frontends import build_frontend
from .efficientnet import EfficientNet, EfficientNetConfig
from .mlp import MLP, MLPConfig
from .small_cnn import SmallCNN

ENCODERS = ("efficientnet-b0", "small-cnn", "mlp")


def build_encoder(name: str, input_dim: int, **conf: Any) -> nn.Module:
    """Encoder by name: ``[B, F, D]`` features -> ``[B, E]``; it exposes ``embed_dim``."""
    if name in ("efficientnet-b0", "efficientnet", "b0"):
        return EfficientNet(EfficientNetConfig(**conf))
    if name in ("small-cnn", "cnn"):
        return SmallCNN(**conf)
    if name == "mlp":
        return MLP(MLPConfig(input_dim=input_dim, **conf))
    raise ValueError(f"unknown encoder {name!r}; choose one of: {', '.join(ENCODERS)}")


class FeatureNorm(nn.Module):
    """Per-feature-dimension normalisation of the frontend output before the encoder.

    ``"batch"``: batch norm over the D feature channels (statistics of valid frames only, no affine);
    ``"none"``: identity (the LEAF paper's setting). Features of different frontends live on very different
    scales (log-mel around -10..5, PCEN around 0..1); normalising lets one learning rate fit them all.
    """

    def __init__(self, kind: str, dim: int):
        super().__init__()
        if kind not in ("batch", "none"):
            raise ValueError(f"feature_norm must be 'batch' or 'none', got {kind!r}")
        self.kind = kind
        self.norm = nn.BatchNorm1d(dim, affine=False) if kind == "batch" else None

    def forward(self, feats: Tensor, lengths: Tensor) -> Tensor:
        if self.norm is None:
            return feats
        mask = torch.arange(feats.shape[1], device=feats.device)[None, :] < lengths.to(feats.device)[:, None]
        valid = feats[mask]  # [N_valid_frames, D]
        if valid.shape[0] < 2 and self.training:
            return feats
        normed = self.norm(valid)
        out = torch.zeros_like(feats)
        out[mask] = normed.to(out.dtype)
        return out


class AudioClassifier(nn.Module):
    """Frontend + feature norm + encoder + ``heads`` ({name: n_classes}) linear layers."""

    def __init__(
        self,
        frontend: str,
        heads: dict[str, int],
        frontend_conf: Optional[dict] = None,
        encoder: str = "small-cnn",
        encoder_conf: Optional[dict] = None,
        feature_norm: str = "batch",
        specaugment: Optional[dict] = None,
    ):
        super().__init__()
        if not heads:
            raise ValueError("a classifier needs at least one head (task name -> number of classes)")
        self.frontend = build_frontend(frontend, **(frontend_conf or {}))
        self.feature_norm = FeatureNorm(feature_norm, self.frontend.output_dim)
        self.encoder = build_encoder(encoder, self.frontend.output_dim, **(encoder_conf or {}))
        self.heads = nn.ModuleDict({name: nn.Linear(self.encoder.embed_dim, n) for name, n in heads.items()})
        self.specaugment = FeatureMasking(**specaugment) if specaugment else None

    def embed(self, audio: Tensor, audio_lens: Optional[Tensor] = None) -> Tensor:
        if audio_lens is None:
            audio_lens = torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long)
        feats, frame_lens = self.frontend(audio, audio_lens.cpu())
        feats = self.feature_norm(feats, frame_lens)
        if self.specaugment is not None and self.training:
            feats = self.specaugment(feats, frame_lens)
        return self.encoder(feats, frame_lens)

    def forward(self, audio: Tensor, audio_lens: Optional[Tensor] = None, heads: Optional[list[str]] = None) -> dict[str, Tensor]:
        emb = self.embed(audio, audio_lens)
        names = list(self.heads) if heads is None else heads
        return {name: self.heads[name](emb) for name in names}


class FeatureMasking(nn.Module):
    """SpecAugment-style masks on features ``[B, F, D]`` (training only): ``time_masks`` masks of at most
    ``time_width`` frames and ``freq_masks`` masks of at most ``freq_width`` channels, set to zero (the mean
    after :class:`FeatureNorm`). Draws from torch's global generator so that resumed runs are exact."""

    def __init__(self, time_masks: int = 2, time_width: int = 10, freq_masks: int = 2, freq_width: int = 8):
        super().__init__()
        self.time_masks, self.time_width = time_masks, time_width
        self.freq_masks, self.freq_width = freq_masks, freq_width

    def forward(self, feats: Tensor, lengths: Tensor) -> Tensor:
        b, f, d = feats.shape
        keep = torch.ones(b, f, d, dtype=torch.bool, device=feats.device)
        t_idx = torch.arange(f, device=feats.device)
        d_idx = torch.arange(d, device=feats.device)
        for _ in range(self.time_masks):
            w = torch.randint(0, self.time_width + 1, (b,))
            start = (torch.rand(b) * (lengths.cpu() - w).clamp(min=1)).long()
            m = (t_idx[None, :] >= start[:, None].to(feats.device)) & (t_idx[None, :] < (start + w)[:, None].to(feats.device))
            keep &= ~m[:, :, None]
        for _ in range(self.freq_masks):
            w = torch.randint(0, min(self.freq_width, d) + 1, (b,))
            start = (torch.rand(b) * (d - w).clamp(min=1)).long()
            m = (d_idx[None, :] >= start[:, None].to(feats.device)) & (d_idx[None, :] < (start + w)[:, None].to(feats.device))
            keep &= ~m[:, None, :]
        return feats * keep.to(feats.dtype)


def split_windows(audio: Tensor, lengths: Tensor, window: int) -> tuple[Tensor, Tensor, Tensor]:
    """Cut each clip of a padded batch into windows of ``window`` samples that cover it.

    Consecutive non-overlapping windows, except that the last one ends at the clip's end: with a partial
    remainder it overlaps the previous window instead of being zero-padded. (A zero-padded remainder window is
    mostly silence -- a 1 s clip in 0.96 s windows gave a second window of 4% audio -- and it weighed as much as
    the full windows in the average.) A clip shorter than ``window`` gives one zero-padded window. Returns
    ``windows [N, window]``, their valid lengths ``[N]`` and the index of the clip each came from ``[N]``.
    """
    wins, lens, owner = [], [], []
    for b in range(audio.shape[0]):
        n = int(lengths[b])
        if n <= window:
            padded = torch.zeros(1, window, dtype=audio.dtype, device=audio.device)
            padded[0, :n] = audio[b, :n]
            wins.append(padded)
            lens.append(torch.tensor([n if n > 0 else window], dtype=torch.long))
        else:
            count = -(-n // window)
            starts = [i * window for i in range(count - 1)] + [n - window]
            wins.append(torch.stack([audio[b, s : s + window] for s in starts]))
            lens.append(torch.full((count,), window, dtype=torch.long))
        owner.append(torch.full((wins[-1].shape[0],), b, dtype=torch.long))
    return torch.cat(wins), torch.cat(lens), torch.cat(owner)


@torch.no_grad()
def clip_logits(
    model: nn.Module, audio: Tensor, lengths: Tensor, window: int, heads: Optional[list[str]] = None,
    max_windows: int = 256, masked: bool = False,
) -> dict[str, Tensor]:
    """Clip-level logits ``{head: [B, C]}``: the mean of the logits of the clip's 1-window chunks.

    The windows are fed to the model at full window length, the zero padding of a short clip's only window
    counted as part of it, or with ``masked`` given its valid length (padding the model skips): as the training
    windows were, so a short clip looks the same at training and test time.
    """
    wins, lens, owner = split_windows(audio, lengths, window)
    full = lens if masked else torch.full((wins.shape[0],), window, dtype=torch.long)
    outs: dict[str, list[Tensor]] = {}
    for start in range(0, wins.shape[0], max_windows):
        chunk = model(wins[start : start + max_windows], full[start : start + max_windows], heads=heads)
        for k, v in chunk.items():
            outs.setdefault(k, []).append(v.float())
    result = {}
    owner = owner.to(wins.device)
    counts = torch.bincount(owner, minlength=audio.shape[0]).clamp(min=1).float()
    for k, parts in outs.items():
        logits = torch.cat(parts)
        summed = torch.zeros(audio.shape[0], logits.shape[1], device=logits.device).index_add_(0, owner, logits)
        result[k] = summed / counts[:, None]
    return result
