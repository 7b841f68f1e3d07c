"""Loading a frontend from a registry name or from a training checkpoint.

A checkpoint written by the trainer is a dict with ``frontend = {"name": ..., "config": {...}}`` and the
model's ``state_dict`` under ``model``, in which the frontend's tensors carry the prefix ``frontend.``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..training.checkpoint import read_checkpoint
from .base import Frontend
from .registry import build_frontend, list_frontends


def frontend_checkpoint_entry(frontend: Frontend) -> dict[str, Any]:
    """What a checkpoint stores to rebuild ``frontend``."""
    return {"name": frontend.name, "config": frontend.config.to_dict()}


def load_frontend(spec: str, **config: Any) -> Frontend:
    """``spec`` is a frontend name (built untrained with ``config``) or a checkpoint path."""
    if spec in list_frontends():
        return build_frontend(spec, **config)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"{spec!r} is neither a frontend name ({', '.join(list_frontends())}) nor an existing checkpoint file")
    # weights_only: a checkpoint holding anything but tensors and plain data is refused, never unpickled
    ckpt = read_checkpoint(path)
    if "frontend" not in ckpt:
        raise UserError(f"{path} is not an audiofront checkpoint (no 'frontend' entry)")
    entry = ckpt["frontend"]
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UserError(f"{path}: the 'frontend' entry must be {{'name': ..., 'config': {{...}}}}, got {entry!r:.80}")
    frontend = build_frontend(entry["name"], **{**entry.get("config", {}), **config})
    state = ckpt.get("model", {})
    sub = {k[len("frontend."):]: v for k, v in state.items() if k.startswith("frontend.")}
    if sub:
        frontend.load_state_dict(sub)
    return frontend
