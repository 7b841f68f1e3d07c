"""COLA self-supervised pretraining of a frontend and its encoder (``audiofront train --task cola``).

The objective of Yadav & Zeghidour (Interspeech 2022), as the authors' code implements it:

- from each clip, two independent random crops of ``segment_seconds`` (0.96 s); a clip shorter than two
  segments is zero-padded to two segments first (:func:`cola_crops`);
- each crop L2-normalised over its samples; Gaussian noise (``noise_std`` 0.001) on the positive;
- frontend -> feature norm -> encoder (global pooling) -> Linear(512, no bias) -> LayerNorm -> tanh;
  SpecAugment on the positive only, after the frontend (2 + 2 masks of up to 10 bins/frames);
- bilinear similarity ``A W P^T`` (or cosine / temperature), softmax cross-entropy over the ``B x B``
  logits with the diagonal as the targets (:func:`audiofront.models.cola.cola_loss`); the contrastive
  accuracy (argmax on the diagonal) is logged as ``acc``.

Config::

    frontend: leaf            # any registered frontend; frontend_conf: {init: random}
    encoder: efficientnet-b0  # or small-cnn for quick runs; encoder_conf: {...}
    feature_norm: batch       # batch | none
    train_cuts: data/unlabelled/folder_cuts_all.jsonl.gz   # any lhotse cuts (or a Shar folder); labels ignored
    valid_cuts: null
    segment_seconds: 0.96
    noise_std: 0.001
    specaugment: {time_masks: 2, time_width: 10, freq_masks: 2, freq_width: 10}
    projection_dim: 512
    similarity: bilinear      # bilinear | cosine
    temperature: 0.2          # cosine only
    batch_size: 64            # clips per batch; the other positives of the batch are the negatives

Random numbers (crop offsets, noise, masks) come from torch's global generator, which the trainer saves
and restores: ``--resume`` is exact.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Optional

from pathlib import Path

import torch
from lhotse import CutSet
from lhotse.dataset import SimpleCutSampler
from torch import Tensor, nn

from ..data.cuts import read_cuts
from ..data.labelled import LabelledAudioDataset
from ..data.sampling import ResumableLoader
from ..errors import UserError
from ..models.cola import SIMILARITIES, ColaModel, cola_loss
from . import register_task
from .base import Task

log = logging.getLogger("audiofront.cola")

MODEL_KEYS = ("frontend", "frontend_conf", "encoder", "encoder_conf", "feature_norm", "specaugment",
              "projection_dim", "similarity", "temperature")
KNOWN_KEYS = set(MODEL_KEYS) | {
    "train_cuts", "valid_cuts", "segment_seconds", "noise_std", "batch_size", "num_workers", "seed",
    "sample_rate", "cache_seconds",
}
DEFAULT_SPECAUGMENT = {"time_masks": 2, "time_width": 10, "freq_masks": 2, "freq_width": 10}


def cola_crops(audio: Tensor, lengths: Tensor, segment: int) -> tuple[Tensor, Tensor]:
    """Two independent random crops of ``segment`` samples per clip: ``(anchors, positives)``, ``[B, segment]``.

    A clip shorter than ``2 * segment`` is zero-padded at its end to ``2 * segment`` first (as the authors'
    code does), so short clips still give two crops that differ. Offsets are uniform over every position of
    the (padded) clip, drawn from torch's global generator.
    """
    b = audio.shape[0]
    views = torch.zeros(2, b, segment, dtype=audio.dtype, device=audio.device)
    # once, not per clip: the loss runs this on the training device, where each int(lengths[i]) would sync
    for i, n in enumerate(int(x) for x in lengths.tolist()):
        padded = max(n, 2 * segment)
        starts = torch.randint(0, padded - segment + 1, (2,))
        for v in range(2):
            s = int(starts[v])
            end = min(s + segment, n)  # past the clip's end the (zero-padded) crop stays zero
            if end > s:
                views[v, i, : end - s] = audio[i, s:end]
    return views[0], views[1]


def l2_normalise(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Each row divided by its L2 norm (rows of zeros, from padding, stay zero)."""
    return x / x.norm(dim=-1, keepdim=True).clamp(min=eps)


def _read_any_cuts(path: Any, what: str) -> CutSet:
    """A cuts manifest (read eagerly, :func:`read_cuts`), or a lhotse Shar folder (``cuts.NNNNNN.jsonl.gz`` with
    ``recording.NNNNNN.tar`` beside them), read lazily shard by shard: data too big for one disk's random
    access (AudioSet-size) stream from sequential tar files. A Shar run needs ``training.max_steps`` (the
    number of batches is not counted in advance)."""
    folder = Path(str(path))
    if not folder.is_dir():
        return read_cuts(path, what)
    if not any(folder.glob("cuts.*.jsonl*")):
        raise UserError(f"{what}: {folder} is a folder but not a lhotse Shar folder (no cuts.NNNNNN.jsonl.gz in it)")
    return CutSet.from_shar(in_dir=folder)


def _positive_number(cfg: dict[str, Any], key: str, default: float, allow_zero: bool = False) -> float:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0 or (v == 0 and not allow_zero):
        want = "a number >= 0" if allow_zero else "a positive number"
        raise UserError(f"cola: {key} must be {want}, got {v!r}")
    return float(v)


@register_task("cola")
class ColaTask(Task):
    def __init__(self, config: dict[str, Any]):
        cfg = copy.deepcopy(dict(config))
        unknown = sorted(set(cfg) - KNOWN_KEYS)
        if unknown:
            log.warning("cola: ignoring config key(s) %s", ", ".join(unknown))
            for k in unknown:
                cfg.pop(k)
        if not cfg.get("frontend"):
            raise UserError("cola: the config needs a frontend (e.g. frontend: leaf)")
        _positive_number(cfg, "segment_seconds", 0.96)
        _positive_number(cfg, "noise_std", 0.001, allow_zero=True)
        _positive_number(cfg, "temperature", 0.2)
        if cfg.get("similarity", "bilinear") not in SIMILARITIES:
            raise UserError(f"cola: similarity must be one of {', '.join(SIMILARITIES)}, got {cfg.get('similarity')!r}")
        # the masks unless the recipe says otherwise (null or {} switches them off)
        cfg.setdefault("specaugment", dict(DEFAULT_SPECAUGMENT))
        super().__init__(cfg)
        self._train_cuts = None

    @property
    def sample_rate(self) -> int:
        return int(self.config.get("sample_rate", 16000))

    @property
    def segment(self) -> int:
        return int(round(float(self.config.get("segment_seconds", 0.96)) * self.sample_rate))

    def _batch_size(self) -> int:
        value = self.config.get("batch_size", 64)
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            # one clip has no negatives: its loss would be log(1) = 0 whatever the model does
            raise UserError(f"cola: batch_size must be a whole number of clips >= 2, got {value!r}")
        return value

    # ---- Task API ----------------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        c = self.config
        model = ColaModel(
            frontend=c["frontend"],
            frontend_conf=c.get("frontend_conf") or {},
            encoder=c.get("encoder", "small-cnn"),
            encoder_conf=c.get("encoder_conf") or {},
            feature_norm=c.get("feature_norm", "batch"),
            specaugment=c.get("specaugment") or None,
            projection_dim=int(c.get("projection_dim", 512)),
            similarity=c.get("similarity", "bilinear"),
            temperature=float(c.get("temperature", 0.2)),
        )
        self.saved_frontend_conf = model.frontend.saved_conf(dict(c.get("frontend_conf") or {}))  # for checkpoints
        return model

    def model_parts(self, model: nn.Module) -> dict[str, list[str]]:
        # the feature normalisation belongs to the frontend's output (see ClassifyTask.model_parts)
        return {"frontend": ["frontend", "feature_norm"], "encoder": ["encoder"],
                "projection": ["projection"], "similarity": ["similarity"]}

    def _loader(self, path: Any, train: bool, world_size: int, rank: int, what: str) -> ResumableLoader:
        if not path:
            raise UserError(f"cola needs {what} (a lhotse cuts manifest; labels are ignored)")
        if train:
            if self._train_cuts is None:
                self._train_cuts = _read_any_cuts(path, what)
            cuts = self._train_cuts
        else:
            cuts = _read_any_cuts(path, what)
        batch_size = self._batch_size()
        # Validation drops incomplete batches too: the loss depends on the batch (its other clips are the
        # negatives), so every batch it averages must hold the same number of clips.
        if not cuts.is_lazy and len(cuts) < batch_size * world_size:
            per = f" per process ({world_size} processes)" if world_size > 1 else ""
            raise UserError(
                f"{what}: the {len(cuts)} clips of {path} make no batch of {batch_size}{per} (incomplete batches "
                f"are dropped): lower batch_size (--set batch_size=N, 2 <= N <= {len(cuts) // world_size}) or add clips"
            )
        sampler = SimpleCutSampler(cuts, max_cuts=batch_size, shuffle=train, drop_last=True,
                                   seed=int(self.config.get("seed", 0)), world_size=world_size, rank=rank)
        dataset = LabelledAudioDataset({}, sample_rate=self.sample_rate,
                                       cache_seconds=float(self.config.get("cache_seconds", 7200.0)))
        return ResumableLoader(sampler, dataset, num_workers=int(self.config.get("num_workers", 0)))

    def train_loader(self, world_size: int = 1, rank: int = 0) -> ResumableLoader:
        return self._loader(self.config.get("train_cuts"), True, world_size, rank, "--train-cuts")

    def valid_loader(self, world_size: int = 1, rank: int = 0) -> Optional[ResumableLoader]:
        path = self.config.get("valid_cuts")
        return self._loader(path, False, world_size, rank, "--valid-cuts") if path else None

    def no_batch_reason(self, world_size: int = 1) -> str:
        return (f"fewer training clips than one batch of {self._batch_size()}"
                + (f" per process ({world_size} processes)" if world_size > 1 else "") + "; lower batch_size or add clips")

    def batch_seconds(self, batch: Any) -> float:
        # the audio the model reads: two crops per clip
        return 2.0 * batch["audio"].shape[0] * self.segment / self.sample_rate

    def batch_size(self, batch: Any) -> int:
        return int(batch["audio"].shape[0])

    def views(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """The two model inputs of a batch: L2-normalised crops, noise on the positive."""
        anchors, positives = cola_crops(batch["audio"], batch["audio_lens"], self.segment)
        anchors, positives = l2_normalise(anchors), l2_normalise(positives)
        std = float(self.config.get("noise_std", 0.001))
        if std > 0:
            positives = positives + std * torch.randn_like(positives)
        return anchors, positives

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        anchors, positives = self.views(batch)
        lens = torch.full((anchors.shape[0],), anchors.shape[1], dtype=torch.long)
        logits = model(anchors, positives, lens)
        loss, acc = cola_loss(logits)
        return loss, {"acc": float(acc)}
