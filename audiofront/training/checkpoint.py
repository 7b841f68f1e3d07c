"""Training checkpoints: what they hold, RNG states, atomic writes and which ones to keep.

A checkpoint is a dict (the convention of :mod:`audiofront.frontends.checkpoint`)::

    frontend   {"name", "config"}           rebuild the frontend alone (inspect-filters)
    model      state_dict (frontend tensors under "frontend.")
    task       {"name", "config", ...}      rebuild the whole model (audiofront.tasks.load_model)
    optimizer, scheduler, loader, rng, step, epoch, total_steps, train_config   -- resume only

Every file is written atomically (a temporary file renamed over the target), so a run killed at any
moment leaves either the previous or the new checkpoint, never a truncated one.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..utils.io import atomic_torch_save


def rng_state() -> dict[str, Any]:
    """States of every random generator training draws from (Python, NumPy, torch CPU and CUDA)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    atomic_torch_save(obj, path)


_NUM = re.compile(r"-(\d+)\.pt$")


def numbered_checkpoints(directory: str | Path, prefix: str) -> list[Path]:
    """``{prefix}-{n}.pt`` files in ``directory``, sorted by ``n``."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for p in directory.glob(f"{prefix}-*.pt"):
        m = _NUM.search(p.name)
        if m and p.name == f"{prefix}-{m.group(1)}.pt":
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def prune_checkpoints(directory: str | Path, prefix: str, keep: int) -> None:
    """Delete all but the last ``keep`` ``{prefix}-{n}.pt`` files (``keep <= 0`` keeps all)."""
    if keep <= 0:
        return
    for p in numbered_checkpoints(directory, prefix)[:-keep]:
        p.unlink(missing_ok=True)
