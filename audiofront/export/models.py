"""Trained models as traceable graphs: frontend + encoder + heads, from ``load_model(checkpoint)``.

* ASR (:class:`audiofront.models.ctc.CtcModel`): ``(waveforms [B, T], lengths [B]) -> (log_probs [B, F, V],
  out_lengths [B])``, the CTC log-probabilities (blank = 0) that ``audiofront decode`` reads.
* Classification (:class:`audiofront.models.classifier.AudioClassifier`): ``(waveforms, lengths) -> one
  logits [B, n_classes] per head``, in the order of the checkpoint's heads.

Both are copies of the model in eval mode with the frontend replaced by its :class:`.traceable.FrontendGraph`
and, for the classifier, the feature batch norm (which gathers the valid frames, a data-dependent shape)
by the same arithmetic on the whole padded batch, then masked.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from .traceable import traceable_frontend


class MaskedFeatureNorm(nn.Module):
    """:class:`audiofront.models.classifier.FeatureNorm` in eval mode (running statistics), without
    gathering the valid frames: normalise every frame, then zero the padded ones (which it leaves at 0)."""

    def __init__(self, norm: nn.Module):
        super().__init__()
        self.norm = norm.norm  # BatchNorm1d(D, affine=False) or None

    def forward(self, feats: Tensor, lengths: Tensor) -> Tensor:
        if self.norm is None:
            return feats
        bn = self.norm
        normed = (feats - bn.running_mean.to(feats.dtype)) * torch.rsqrt(bn.running_var.to(feats.dtype) + bn.eps)
        keep = torch.arange(feats.shape[1], device=feats.device)[None, :] < lengths.to(feats.device)[:, None]
        return normed * keep.unsqueeze(-1).to(feats.dtype)


class AsrGraph(nn.Module):
    """``(waveforms, lengths) -> (log_probs [B, F, V], out_lengths [B])`` of a CTC model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, waveforms: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        log_probs, out_lengths = self.model(waveforms, lengths.to(torch.int64))
        return log_probs, out_lengths.to(torch.int64)


class ClassifierGraph(nn.Module):
    """``(waveforms, lengths) -> (logits of head 1 [B, C1], logits of head 2, ...)`` of an audio classifier."""

    def __init__(self, model: nn.Module, heads: list[str]):
        super().__init__()
        self.model = model
        self.heads = list(heads)

    def forward(self, waveforms: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        out = self.model(waveforms, lengths.to(torch.int64))
        return tuple(out[name] for name in self.heads)


def traceable_model(model: nn.Module) -> nn.Module:
    """An :class:`AsrGraph` or :class:`ClassifierGraph` computing ``model``'s eval-mode function."""
    from ..models.classifier import AudioClassifier, FeatureNorm
    from ..models.ctc import CtcModel

    if not isinstance(model, (CtcModel, AudioClassifier)):
        raise TypeError(f"cannot export a {type(model).__name__}: expected a CtcModel or an AudioClassifier")
    frontend = model.frontend
    clone = copy.deepcopy(model).eval()
    clone.frontend = traceable_frontend(frontend)
    if isinstance(clone, CtcModel):
        return AsrGraph(clone).eval()
    if isinstance(clone.feature_norm, FeatureNorm):
        clone.feature_norm = MaskedFeatureNorm(clone.feature_norm)
    return ClassifierGraph(clone, list(clone.heads)).eval()
