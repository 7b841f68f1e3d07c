"""What the trainer needs from a task (ASR, classification, ...): the :class:`Task` interface.

The one :class:`~audiofront.training.trainer.Trainer` runs every task. A task knows its data, how to
build its model and how to compute the loss of a batch; the trainer owns everything else (optimiser,
schedule, mixed precision, checkpoints, resume, DDP, logging).

A task is built from a plain dict (the recipe YAML after command-line overrides)::

    task = build_task("asr", cfg)          # or AsrTask.from_config(cfg)
    model = task.build_model()             # nn.Module with a ``frontend`` attribute
    loader = task.train_loader(world_size=1, rank=0)
    for batch in loader: loss, stats = task.loss(model, batch)

Checkpoints store ``task.checkpoint_entry()`` (the task name and the config needed to rebuild the
model) so that :func:`audiofront.tasks.load_model` can rebuild the model without the recipe.
"""

from __future__ import annotations

import abc
import copy
from typing import Any, ClassVar, Iterable, Optional

import torch
from torch import Tensor, nn


class Task(abc.ABC):
    """Abstract task. Subclasses set ``name`` (via :func:`~audiofront.tasks.register_task`)."""

    name: ClassVar[str] = ""

    def __init__(self, config: dict[str, Any]):
        self.config: dict[str, Any] = copy.deepcopy(dict(config))
        # what the built model's frontend adds to its config for checkpoints (Frontend.saved_conf: the vae
        # frontend stores its VAE's config); kept apart from ``config``, which stays what the user wrote, so
        # that building the model again builds the same model
        self.saved_frontend_conf: dict[str, Any] | None = None

    # ---- construction --------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "Task":
        """Build the task from a config dict (the recipe after overrides)."""
        return cls(cfg)

    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """The model to train. It must have a ``frontend`` attribute (an audiofront Frontend)."""

    # ---- data ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def train_loader(self, world_size: int = 1, rank: int = 0) -> Iterable:
        """Training batches, as a :class:`audiofront.data.sampling.ResumableLoader` (or any iterable with
        ``set_epoch(epoch)``, ``state_dict()`` and ``load_state_dict(sd)``, whose position the trainer
        restores on ``--resume``)."""

    def valid_loader(self, world_size: int = 1, rank: int = 0) -> Optional[Iterable]:
        """Validation batches, or ``None`` when the task has no validation set."""
        return None

    def batch_seconds(self, batch: Any) -> float:
        """Seconds of audio in ``batch`` (for the audio-seconds/s throughput shown while training)."""
        return 0.0

    def batch_size(self, batch: Any) -> int:
        """Number of examples in ``batch`` (weights the validation average)."""
        return 1

    def no_batch_reason(self, world_size: int = 1) -> str:
        """Why the training loader yields no batch, and what to change (the trainer refuses to train zero
        steps and prints this). Tasks that know their batch size say more than the default."""
        hint = f" for each of the {world_size} processes" if world_size > 1 else ""
        return f"too few training examples{hint}; add data or make the batches smaller"

    def to_device(self, batch: Any, device: torch.device) -> Any:
        """Move a batch to ``device``. The default moves every tensor of a dict/list/tuple."""
        return _to_device(batch, device)

    # ---- training ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        """The scalar loss to minimise and stats to log (floats, e.g. ``{"ctc": 1.3}``).

        ``model`` may be wrapped in DistributedDataParallel: call it, do not reach into it
        (use :func:`unwrap` if an attribute is needed). Augmentation that draws random numbers must use
        torch's global generator (or the Python/NumPy ones): the trainer saves and restores them, which is
        what makes ``--resume`` exact.
        """

    def valid_stats(self, model: nn.Module, batch: Any) -> dict[str, Any]:
        """Stats of one validation batch (model in eval mode, no grad); default: the loss stats.

        A value is a float, averaged over the set weighted by :meth:`batch_size`, or a pair ``(sum, count)``
        (e.g. word errors and reference words): the trainer reports such a stat as the set's total sum over its
        total count, the corpus rate, whatever the batches' sizes (a count of 0 over the whole set leaves the
        stat out)."""
        loss, stats = self.loss(model, batch)
        return {"loss": float(loss), **stats}

    def model_parts(self, model: nn.Module) -> dict[str, list[str]]:
        """The parts of ``model`` that ``--init-from`` loads and ``--freeze`` freezes, by name: ``{part:
        [submodule attribute names]}``. Default: every top-level submodule is its own part; tasks group
        modules that only make sense together (a frontend and the normalisation of its output)."""
        return {name: [name] for name, _ in model.named_children()}

    # ---- checkpoints ------------------------------------------------------------------------------
    def checkpoint_extra(self) -> dict[str, Any]:
        """Anything else the task wants in each checkpoint (e.g. the tokenizer dir, label names)."""
        return {}

    def adapt_checkpoint(self, ckpt: dict[str, Any]) -> None:
        """Called by :func:`audiofront.tasks.load_model` before ``build_model``: adjust ``self.config`` for
        checkpoints written by older versions (default: nothing)."""

    def model_config(self) -> dict[str, Any]:
        """The part of the config needed to rebuild the model (stored in checkpoints). Default: all of it."""
        return copy.deepcopy(self.config)

    def checkpoint_entry(self) -> dict[str, Any]:
        """The ``task`` entry of a checkpoint: ``{"name": ..., "config": ...}`` plus ``checkpoint_extra``."""
        config = self.model_config()
        if self.saved_frontend_conf is not None and "frontend_conf" in config:
            config["frontend_conf"] = copy.deepcopy(self.saved_frontend_conf)
        return {"name": self.name, "config": config, **self.checkpoint_extra()}


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel (or any ``.module``) wrapper."""
    while isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not isinstance(obj, str):
        moved = [_to_device(v, device) for v in obj]
        return type(obj)(moved) if isinstance(obj, list) else tuple(moved)
    return obj
