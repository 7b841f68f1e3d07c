"""Loading a frontend from a registry name or from a training checkpoint.

A checkpoint written by the trainer is a dict with ``frontend = {"name": ..., "config": {...}}`` and the
model's ``state_dict`` under ``model``, in which the frontend's tensors carry the prefix ``frontend.``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

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
        raise ValueError(f"{spec!r} is neither a frontend name ({', '.join(list_frontends())}) nor an existing checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"could not read checkpoint {path}: {e}") from None
    if not isinstance(ckpt, dict) or "frontend" not in ckpt:
        raise ValueError(f"{path} is not an audiofront checkpoint (no 'frontend' entry)")
    entry = ckpt["frontend"]
    frontend = build_frontend(entry["name"], **{**entry.get("config", {}), **config})
    state = ckpt.get("model", {})
    sub = {k[len("frontend."):]: v for k, v in state.items() if k.startswith("frontend.")}
    if sub:
        frontend.load_state_dict(sub)
    return frontend
