"""Audio classification: single-label, multi-label and multi-task, on the shared trainer.

Config (the recipe YAML after command-line overrides)::

    frontend: leaf            # any registered frontend; frontend_conf: {n_filters: 40}
    encoder: small-cnn        # efficientnet-b0 | small-cnn | mlp; encoder_conf: {...}
    feature_norm: batch       # batch | none
    train_cuts: data/fsdd/fsdd_cuts_train.jsonl.gz
    valid_cuts: null          # optional; scored on whole clips (windows averaged)
    heads:                    # one linear head per task; label = key in supervision.custom
      - {name: digit, label: digit, kind: single}
      - {name: speaker, label: speaker, kind: single}
    window_seconds: 1.0       # training: one random window per clip; clips shorter than this are zero padded
    window_padding: auto      # zeros | masked | auto (masked for the mlp encoder, else zeros); see below
    batch_size: 32            # clips per batch (per head group)
    mixup_alpha: 0.0          # > 0: mixup with Beta(alpha, alpha)
    specaugment: null         # e.g. {time_masks: 2, time_width: 10, freq_masks: 2, freq_width: 8}
    train_snr_db: null        # Gaussian noise at this SNR during training

A shortcut for one head: ``label: digit`` (and ``kind``). Each head may name its own ``train_cuts`` (and
``valid_cuts``): heads with the same cuts share batches, and each training step draws one batch from every
group of heads -- uniform sampling over the tasks -- and sums their mean losses (the LEAF paper's eq. 7:
sum over tasks of the task's loss). The step's batches go through the model as one concatenated batch, so
batch norm trains on the same mixture of corpora whose running statistics it uses at test time.
Class lists are read from the training cuts once and stored in the config (so checkpoints rebuild alone).

``window_padding``: how a clip shorter than the window is seen. ``zeros``: placed at a random offset in digital
silence, and the silence counts as part of the clip (a time-shift augmentation for the CNN encoders, which pool
over the whole window anyway). ``masked``: placed at the start, and the frames after it are padding that
feature norm and a length-aware encoder skip. ``auto`` picks masked for the ``mlp`` encoder: it summarises the
frames by their mean and std, which silence would dominate (on FSDD, median clip 0.41 s in 0.5 s windows) and
which is meaningless for frontends that never saw digital zeros (the vae frontend maps them far outside its
training range). Evaluation (whole clips, windows averaged) pads the same way as training.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Iterator, Optional

import torch
import torch.nn.functional as F
from lhotse import CutSet
from lhotse.dataset import SimpleCutSampler
from torch import Tensor, nn

from ..augment.mixup import mix, mixup_pairs
from ..augment.noise import add_noise_snr
from ..data.cuts import read_cuts
from ..data.labelled import LabelledAudioDataset, collect_classes
from ..data.sampling import ResumableLoader
from ..errors import UserError
from ..models.classifier import AudioClassifier, clip_logits
from . import register_task
from .base import Task

log = logging.getLogger("audiofront.classify")

MODEL_KEYS = ("frontend", "frontend_conf", "encoder", "encoder_conf", "feature_norm", "specaugment")
KNOWN_KEYS = set(MODEL_KEYS) | {
    "heads", "label", "kind", "train_cuts", "valid_cuts", "window_seconds", "batch_size", "mixup_alpha",
    "train_snr_db", "num_workers", "seed", "sample_rate", "cache_seconds", "window_padding",
}
WINDOW_PADDINGS = ("auto", "zeros", "masked")
# encoders that pool over the valid frames only (they read the lengths): auto padding masks for them
LENGTH_AWARE_ENCODERS = ("mlp",)


def random_windows(audio: Tensor, lengths: Tensor, window: int, masked: bool = False) -> tuple[Tensor, Tensor]:
    """One random ``window``-sample crop per clip; a shorter clip is placed at a random offset in zeros.

    Draws from torch's global generator (restored on ``--resume``). All outputs have ``window`` samples; the
    lengths returned are ``window`` each, or with ``masked`` a shorter clip starts at sample 0 and its length is
    its own (the rest is padding, not signal).
    """
    b = audio.shape[0]
    out = torch.zeros(b, window, dtype=audio.dtype, device=audio.device)
    for i in range(b):
        n = int(lengths[i])
        if n >= window:
            start = int(torch.randint(0, n - window + 1, (1,)))
            out[i] = audio[i, start : start + window]
        elif masked:
            out[i, :n] = audio[i, :n]
        else:
            offset = int(torch.randint(0, window - n + 1, (1,)))
            out[i, offset : offset + n] = audio[i, :n]
    lens = torch.full((b,), window, dtype=torch.long)
    if masked:
        lens = torch.minimum(lens, lengths.to(torch.long).cpu())
    return out, lens


class ZipLoader:
    """One batch from every head group per step; the epoch is the first group's epoch, the others cycle.

    Resumable like :class:`ResumableLoader` (which each group is): ``state_dict`` holds every group's position.
    """

    def __init__(self, loaders: list[ResumableLoader]):
        self.loaders = loaders

    @property
    def epoch(self) -> int:
        return self.loaders[0].epoch

    def set_epoch(self, epoch: int) -> None:
        self.loaders[0].set_epoch(epoch)

    def count_batches(self, epoch: Optional[int] = None) -> int:
        return self.loaders[0].count_batches(epoch)

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        others = [iter(l) for l in self.loaders[1:]]
        for first in self.loaders[0]:
            batches = [first]
            for j, loader in enumerate(self.loaders[1:]):
                b = next(others[j], None)
                if b is None:  # this group's epoch ended (the loader has moved on to its next one): go on
                    others[j] = iter(loader)
                    b = next(others[j])
                batches.append(b)
            yield batches

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "loaders": [l.state_dict() for l in self.loaders]}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        for loader, s in zip(self.loaders, sd["loaders"]):
            loader.load_state_dict(s)


def _read_cuts(path: Any, what: str) -> CutSet:
    if not path:
        raise UserError(f"classification needs {what} (a lhotse cuts manifest)")
    # eager (read_cuts always is): lhotse shuffles a lazy manifest through a bounded buffer, and a manifest
    # sorted by label (FSDD is sorted by digit) would then give batches dominated by a few classes at a time
    return read_cuts(path, what)


def _check_number(cfg: dict[str, Any], key: str, want: str, ok: Any, optional: bool = True) -> None:
    """Refuse ``cfg[key]`` unless it is a number for which ``ok`` holds (absent is fine; null if ``optional``)."""
    if key not in cfg or (cfg[key] is None and optional):
        return
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or not ok(v):
        raise UserError(f"classify: {key} must be {want}, got {v!r}")


@register_task("classify")
class ClassifyTask(Task):
    def __init__(self, config: dict[str, Any]):
        cfg = copy.deepcopy(dict(config))
        unknown = sorted(set(cfg) - KNOWN_KEYS)
        if unknown:
            log.warning("classify: ignoring config key(s) %s", ", ".join(unknown))
            for k in unknown:
                cfg.pop(k)
        if not cfg.get("frontend"):
            raise UserError("classify: the config needs a frontend (e.g. frontend: mel)")
        _check_number(cfg, "window_seconds", "a positive number of seconds", lambda v: v > 0, optional=False)
        if cfg.get("window_padding", "auto") not in WINDOW_PADDINGS:
            raise UserError(f"classify: window_padding must be one of {', '.join(WINDOW_PADDINGS)}, "
                            f"got {cfg['window_padding']!r}")
        _check_number(cfg, "mixup_alpha", "a number >= 0 or null", lambda v: v >= 0)
        _check_number(cfg, "train_snr_db", "a number of dB or null", lambda v: True)
        heads = cfg.get("heads")
        if heads is not None and not isinstance(heads, list):
            raise UserError(f"classify: heads must be a list of {{name, label, kind}}, got {heads!r}")
        if not heads:
            label = cfg.get("label")
            if not label:
                raise UserError("classify: give `heads` (a list of {name, label, kind}) or a single `label`")
            heads = [{"name": label, "label": label, "kind": cfg.get("kind", "single")}]
        clean = []
        for h in heads:
            if isinstance(h, str):
                h = {"name": h}
            if not isinstance(h, dict):
                raise UserError(f"classify: each head must be a name or a {{name, label, kind}} mapping, got {h!r}")
            h = dict(h)
            h.setdefault("label", h.get("name"))
            h.setdefault("name", h["label"])
            h.setdefault("kind", "single")
            if h["kind"] not in ("single", "multi"):
                raise UserError(f"classify: head {h['name']!r} has kind {h['kind']!r}; expected single or multi")
            clean.append(h)
        names = [h["name"] for h in clean]
        if len(set(names)) != len(names):
            raise UserError(f"classify: head names must be unique, got {names}")
        cfg["heads"] = clean
        cfg.pop("label", None)
        cfg.pop("kind", None)
        super().__init__(cfg)
        self._train_cuts: dict[str, CutSet] = {}
        self._fill_classes()

    # ---- config helpers ----------------------------------------------------------------------------
    @property
    def heads(self) -> list[dict[str, Any]]:
        return self.config["heads"]

    @property
    def window(self) -> int:
        return int(round(float(self.config.get("window_seconds", 1.0)) * self.sample_rate))

    @property
    def masked_padding(self) -> bool:
        """Whether padding of short clips is masked (``window_padding``, see the module docstring)."""
        mode = self.config.get("window_padding", "auto")
        if mode == "auto":
            return self.config.get("encoder", "small-cnn") in LENGTH_AWARE_ENCODERS
        return mode == "masked"

    @property
    def sample_rate(self) -> int:
        return int(self.config.get("sample_rate", 16000))

    def _head_cuts_path(self, head: dict[str, Any], split: str) -> Any:
        return head.get(f"{split}_cuts") or self.config.get(f"{split}_cuts")

    def _cuts(self, path: Any, what: str) -> CutSet:
        key = str(path)
        if key not in self._train_cuts:
            self._train_cuts[key] = _read_cuts(path, what)
        return self._train_cuts[key]

    def _fill_classes(self) -> None:
        for h in self.heads:
            if not h.get("classes"):
                what = f"train_cuts of head {h['name']!r}" if h.get("train_cuts") else "--train-cuts"
                cuts = self._cuts(self._head_cuts_path(h, "train"), what)
                h["classes"] = collect_classes(cuts, h["label"], h["kind"])
                log.info("head %s: %d classes from the training cuts", h["name"], len(h["classes"]))

    def groups(self, split: str = "train") -> list[tuple[Any, list[dict[str, Any]]]]:
        """Heads grouped by the cuts they train on: ``[(cuts path, [head, ...]), ...]`` in config order."""
        out: dict[str, tuple[Any, list]] = {}
        for h in self.heads:
            path = self._head_cuts_path(h, split)
            if path is None:
                continue
            out.setdefault(str(path), (path, []))[1].append(h)
        return list(out.values())

    # ---- Task API ----------------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        c = self.config
        model = AudioClassifier(
            frontend=c["frontend"],
            frontend_conf=c.get("frontend_conf") or {},
            heads={h["name"]: len(h["classes"]) for h in self.heads},
            encoder=c.get("encoder", "small-cnn"),
            encoder_conf=c.get("encoder_conf") or {},
            feature_norm=c.get("feature_norm", "batch"),
            specaugment=c.get("specaugment") or None,
        )
        self.saved_frontend_conf = model.frontend.saved_conf(dict(c.get("frontend_conf") or {}))  # for checkpoints
        return model

    def _dataset(self, heads: list[dict[str, Any]]) -> LabelledAudioDataset:
        return LabelledAudioDataset(
            {h["name"]: (h["label"], h["kind"], h["classes"]) for h in heads},
            sample_rate=self.sample_rate,
            cache_seconds=float(self.config.get("cache_seconds", 7200.0)),
        )

    def _loader(self, path: Any, heads: list[dict[str, Any]], train: bool, world_size: int, rank: int, what: str) -> ResumableLoader:
        cuts = self._cuts(path, what) if train else _read_cuts(path, what)
        batch_size = self._batch_size()
        if train and len(cuts) < batch_size * world_size:
            # training drops incomplete batches: fewer clips than one batch would train zero steps
            per = f" per process ({world_size} processes)" if world_size > 1 else ""
            raise UserError(
                f"{what}: the {len(cuts)} training clips of {path} make no batch of {batch_size}{per} (training "
                f"drops incomplete batches): lower batch_size (--set batch_size=N, N <= {len(cuts) // world_size}) "
                "or add clips"
            )
        sampler = SimpleCutSampler(
            cuts,
            max_cuts=batch_size,
            shuffle=train,
            drop_last=train,  # equal-sized training batches keep batch norm statistics sane
            seed=int(self.config.get("seed", 0)),
            world_size=world_size,
            rank=rank,
        )
        return ResumableLoader(sampler, self._dataset(heads), num_workers=int(self.config.get("num_workers", 0)))

    def _batch_size(self) -> int:
        value = self.config.get("batch_size", 32)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"classify: batch_size must be a whole number of clips >= 1, got {value!r}")
        return value

    def no_batch_reason(self, world_size: int = 1) -> str:
        return (f"fewer training clips than one batch of {self._batch_size()}"
                + (f" per process ({world_size} processes)" if world_size > 1 else "") + "; lower batch_size or add clips")

    def train_loader(self, world_size: int = 1, rank: int = 0) -> ZipLoader:
        loaders = [
            self._loader(path, heads, True, world_size, rank, "--train-cuts") for path, heads in self.groups("train")
        ]
        return ZipLoader(loaders)

    def valid_loader(self, world_size: int = 1, rank: int = 0) -> Optional[ResumableLoader]:
        # validation scores the first group of heads that has validation cuts
        for path, heads in self.groups("valid"):
            return self._loader(path, heads, False, world_size, rank, "--valid-cuts")
        return None

    def batch_seconds(self, batch: Any) -> float:
        batches = batch if isinstance(batch, list) else [batch]
        return float(sum(float(b["durations"].sum()) for b in batches))

    def batch_size(self, batch: Any) -> int:
        return int(batch["audio"].shape[0])

    def _heads_of(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        return [h for h in self.heads if h["name"] in batch["labels"]]

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """The summed head losses of one step. A multi-task step (one batch per head group) runs the model once
        on the groups' windows concatenated: batch-norm layers then normalise training batches with statistics
        of the same mixture of corpora their running averages (used at test time) hold. Separate forwards per
        corpus trained on each corpus's own statistics and tested on the mixture's, which broke the heads of
        corpora unlike the others (FSDD's 8 kHz audio among 16 kHz speech)."""
        batches = batch if isinstance(batch, list) else [batch]
        alpha = float(self.config.get("mixup_alpha") or 0.0)
        snr = self.config.get("train_snr_db")
        groups, audios, lengths, names, start = [], [], [], [], 0
        for b in batches:
            heads = self._heads_of(b)
            audio, lens = random_windows(b["audio"], b["audio_lens"], self.window, self.masked_padding)
            if snr is not None:
                audio = add_noise_snr(audio, lens, float(snr))
            perm, lam = None, 1.0
            if alpha > 0:  # mixup pairs clips of the same group (same labels)
                perm, lam = mixup_pairs(audio.shape[0], alpha, audio.device)
                audio = mix(audio, perm, lam)
            groups.append((b, heads, perm, lam, start, start + audio.shape[0]))
            start += audio.shape[0]
            audios.append(audio)
            lengths.append(lens)
            names += [h["name"] for h in heads if h["name"] not in names]
        logits = model(torch.cat(audios), torch.cat(lengths), heads=names)
        total: Optional[Tensor] = None
        stats: dict[str, float] = {}
        for b, heads, perm, lam, first, end in groups:
            for h in heads:
                y = b["labels"][h["name"]]
                out = logits[h["name"]][first:end].float()
                head_loss = _head_loss(out, y, h["kind"], perm, lam)
                total = head_loss if total is None else total + head_loss
                stats[f"{h['name']}_loss"] = float(head_loss.detach())
                if h["kind"] == "single":
                    valid = y >= 0
                    if bool(valid.any()):
                        stats[f"{h['name']}_acc"] = float((out.argmax(-1)[valid] == y[valid]).float().mean())
        assert total is not None
        return total, stats

    def valid_stats(self, model: nn.Module, batch: Any) -> dict[str, Any]:
        heads = self._heads_of(batch)
        logits = clip_logits(model, batch["audio"], batch["audio_lens"], self.window, heads=[h["name"] for h in heads],
                             masked=self.masked_padding)
        stats: dict[str, float] = {}
        total = 0.0
        for h in heads:
            y = batch["labels"][h["name"]]
            out = logits[h["name"]]
            loss = float(_head_loss(out, y, h["kind"], None, 1.0))
            total += loss
            stats[f"{h['name']}_loss"] = loss
            if h["kind"] == "single":
                valid = y >= 0
                # (correct, labelled clips): accuracy over the set's labelled clips, whatever the batches hold
                stats[f"{h['name']}_acc"] = (int((out.argmax(-1)[valid] == y[valid]).sum()), int(valid.sum()))
        stats["loss"] = total
        return stats

    def model_config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)

    def model_parts(self, model: nn.Module) -> dict[str, list[str]]:
        # the feature norm's statistics describe the frontend's output: they travel (and freeze) with it
        return {"frontend": ["frontend", "feature_norm"], "encoder": ["encoder"], "heads": ["heads"]}

    def checkpoint_extra(self) -> dict[str, Any]:
        return {"classes": {h["name"]: list(h["classes"]) for h in self.heads}}


def _head_loss(logits: Tensor, y: Tensor, kind: str, perm: Optional[Tensor], lam: float) -> Tensor:
    if kind == "single":
        valid = y >= 0
        if not bool(valid.any()):
            return logits.sum() * 0.0
        loss = F.cross_entropy(logits, y.clamp(min=0), reduction="none")
        if perm is None:
            return (loss * valid).sum() / valid.sum()
        loss_b = F.cross_entropy(logits, y[perm].clamp(min=0), reduction="none")
        valid_b = y[perm] >= 0
        return lam * (loss * valid).sum() / valid.sum().clamp(min=1) + (1 - lam) * (loss_b * valid_b).sum() / valid_b.sum().clamp(min=1)
    target = y.float()
    if perm is not None:
        target = mix(target, perm, lam)
    return F.binary_cross_entropy_with_logits(logits, target)
