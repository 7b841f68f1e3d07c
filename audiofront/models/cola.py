"""COLA (Saeed et al., 2021), as the self-supervised frontend paper (Yadav & Zeghidour, 2022) trains it.

Two views of each clip (an anchor and a positive crop) go through the same frontend and encoder, a
projection ``Linear(E, 512, no bias) -> LayerNorm -> tanh`` and a similarity: bilinear, ``logits = A W P^T``
with a learned ``W`` [512, 512], or cosine ``logits = cos(a, p) / temperature``. The loss
(:func:`cola_loss`) is a softmax cross-entropy over the ``B x B`` logits with the diagonal as the targets:
each anchor must pick out its own positive among the batch's positives.

``model(anchors [B, T], positives [B, T], lens [B]) -> logits [B, B]``; ``model.embed(audio, lens)`` gives
the ``[B, dim]`` embeddings. The feature masks (SpecAugment) go on the positive view only, after the
frontend and its feature normalisation.

The module names ``frontend``, ``feature_norm`` and ``encoder`` are those of
:class:`~audiofront.models.classifier.AudioClassifier`, so that a classifier can start from (and freeze)
the pretrained parts (``--init-from``).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..frontends import build_frontend
from .classifier import FeatureMasking, FeatureNorm, build_encoder

SIMILARITIES = ("bilinear", "cosine")


def cola_loss(logits: Tensor) -> tuple[Tensor, Tensor]:
    """``(loss, accuracy)`` of ``[B, B]`` similarity logits whose diagonal holds the true pairs.

    loss = mean over rows i of ``-log softmax(logits[i])[i]``; accuracy = share of rows whose argmax is i.
    """
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"COLA logits must be a square [B, B] matrix, got shape {tuple(logits.shape)}")
    target = torch.arange(logits.shape[0], device=logits.device)
    loss = F.cross_entropy(logits.float(), target)
    acc = (logits.argmax(dim=1) == target).float().mean()
    return loss, acc


class Similarity(nn.Module):
    """``[B, D]`` anchors and positives -> ``[B, B]`` logits (row: anchor, column: positive)."""

    def __init__(self, dim: int, kind: str = "bilinear", temperature: float = 0.2):
        super().__init__()
        if kind not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {kind!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.kind, self.temperature = kind, float(temperature)
        if kind == "bilinear":
            # Glorot-uniform, the initialiser of the Keras dense layer the authors' code uses for W
            self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(dim, dim)))
        else:
            self.register_parameter("weight", None)

    def forward(self, anchors: Tensor, positives: Tensor) -> Tensor:
        if self.kind == "bilinear":
            return anchors @ self.weight @ positives.t()
        return F.normalize(anchors, dim=1) @ F.normalize(positives, dim=1).t() / self.temperature

    def extra_repr(self) -> str:
        return f"kind={self.kind}" + (f", temperature={self.temperature}" if self.kind == "cosine" else "")


class ColaModel(nn.Module):
    """Frontend + feature norm + encoder (global pooling) + projection + similarity."""

    def __init__(
        self,
        frontend: str,
        frontend_conf: Optional[dict] = None,
        encoder: str = "small-cnn",
        encoder_conf: Optional[dict] = None,
        feature_norm: str = "batch",
        specaugment: Optional[dict[str, Any]] = None,
        projection_dim: int = 512,
        similarity: str = "bilinear",
        temperature: float = 0.2,
    ):
        super().__init__()
        self.frontend = build_frontend(frontend, **(frontend_conf or {}))
        self.feature_norm = FeatureNorm(feature_norm, self.frontend.output_dim)
        self.encoder = build_encoder(encoder, self.frontend.output_dim, **(encoder_conf or {}))
        self.projection = nn.Sequential(
            nn.Linear(self.encoder.embed_dim, projection_dim, bias=False), nn.LayerNorm(projection_dim), nn.Tanh()
        )
        self.similarity = Similarity(projection_dim, similarity, temperature)
        self.specaugment = FeatureMasking(**specaugment) if specaugment else None

    def embed(self, audio: Tensor, audio_lens: Optional[Tensor] = None, augment: bool = False) -> Tensor:
        """``[B, T]`` audio -> ``[B, projection_dim]`` embeddings (feature masks when ``augment`` and training)."""
        if audio_lens is None:
            audio_lens = torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long)
        feats, frame_lens = self.frontend(audio, audio_lens.cpu())
        feats = self.feature_norm(feats, frame_lens)
        if augment and self.specaugment is not None and self.training:
            feats = self.specaugment(feats, frame_lens)
        return self.projection(self.encoder(feats, frame_lens))

    def forward(self, anchors: Tensor, positives: Tensor, audio_lens: Optional[Tensor] = None) -> Tensor:
        """``[B, B]`` logits of anchors against positives (masks on the positives only).

        Both views pass in one ``forward`` (two frontend calls, one backward): what DDP needs, and the
        pattern the fast LEAF path is tested in."""
        a = self.embed(anchors, audio_lens)
        p = self.embed(positives, audio_lens, augment=True)
        return self.similarity(a, p)
