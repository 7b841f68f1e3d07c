"""Tasks by name (``asr``, ``classify``, ...) and rebuilding a trained model from its checkpoint.

>>> from audiofront.tasks import list_tasks
>>> "asr" in list_tasks()
True
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..errors import UserError
from .base import Task, unwrap

_REGISTRY: dict[str, type[Task]] = {}

# Modules that define tasks; importing one registers its tasks. A module not written yet is skipped.
_TASK_MODULES = ("asr", "classify", "cola", "vae")
_loaded = False


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    """Class decorator: make a :class:`Task` subclass buildable as ``name``."""

    def wrap(cls: type[Task]) -> type[Task]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"task name {name!r} is already registered by {_REGISTRY[name].__name__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # imported lazily: a task module pulls in its models and data code
    for mod in _TASK_MODULES:
        importlib.import_module(f"{__name__}.{mod}")


def list_tasks() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_task_class(name: str) -> type[Task]:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}") from None


def build_task(name: str, cfg: dict[str, Any]) -> Task:
    """Build task ``name`` from its config dict."""
    return get_task_class(name).from_config(cfg)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint (on CPU, ``weights_only``) with a clear error for files that are not one.

    See :func:`audiofront.training.checkpoint.read_checkpoint`: a file holding anything but tensors and
    plain data is refused, never unpickled.
    """
    from ..training.checkpoint import read_checkpoint

    ckpt = read_checkpoint(path)
    if "task" not in ckpt or "model" not in ckpt:
        raise UserError(f"{path} is not an audiofront training checkpoint (expected keys 'task' and 'model')")
    entry = ckpt["task"]
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("config"), dict):
        raise UserError(f"{path}: the 'task' entry must be {{'name': ..., 'config': {{...}}}}, got {entry!r:.80}")
    return ckpt


def load_model(ckpt_path: str | Path, device: str | torch.device = "cpu") -> tuple[Task, nn.Module]:
    """Rebuild ``(task, model)`` from a checkpoint (``last.pt``, ``avg.pt``, ...); the model is in eval mode."""
    ckpt = load_checkpoint(ckpt_path)
    entry = ckpt["task"]
    task = build_task(entry["name"], entry["config"])
    task.adapt_checkpoint(ckpt)
    model = task.build_model()
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()
    return task, model


__all__ = [
    "Task",
    "build_task",
    "get_task_class",
    "list_tasks",
    "load_checkpoint",
    "load_model",
    "register_task",
    "unwrap",
]
