"""Training checkpoints: what they hold, RNG states, atomic writes and which ones to keep.

A checkpoint is a dict (the convention of :mod:`audiofront.frontends.checkpoint`)::

    frontend   {"name", "config"}           rebuild the frontend alone (inspect-filters)
    model      state_dict (frontend tensors under "frontend.")
    task       {"name", "config", ...}      rebuild the whole model (audiofront.tasks.load_model)
    optimizer, scheduler, loader, rng, step, epoch, total_steps, train_config   -- resume only

A fresh run never starts over an earlier run's checkpoints (:func:`claim_exp_dir`: refused, or moved to a
numbered backup with ``--overwrite``); ``--resume`` takes the newest checkpoint that can be read
(:func:`find_resume_checkpoint`).

Every file is written atomically (a temporary file renamed over the target), so a run killed at any
moment leaves either the previous or the new checkpoint, never a truncated one.

Every read goes through :func:`read_checkpoint`, which unpickles with ``weights_only=True``: a pickle can
run any code while it loads, so a checkpoint may hold only tensors, numbers, strings, ``None`` and plain
containers (configs are plain data, RNG states are tensors and ints, the data position is ints).
Anything else is refused with one line naming the file and the offending object.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..errors import UserError
from ..utils.io import atomic_torch_save


class UnsafeCheckpointError(UserError):
    """The file holds objects other than tensors and plain data; it is not unpickled."""


class UnreadableCheckpointError(UserError):
    """The file is missing, empty, truncated or not a checkpoint at all."""


# Checkpoints written before the NumPy RNG state was stored as a tensor hold it as a uint32 ndarray.
# Exactly what rebuilds such an array is allowed (no object dtype: its data are raw bytes, no code runs);
# read_checkpoint then accepts an ndarray only there and converts it.
_np_multiarray = getattr(np, "_core", None) or np.core
_LEGACY_NUMPY_GLOBALS = [_np_multiarray.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def rng_state() -> dict[str, Any]:
    """States of every random generator training draws from (Python, NumPy, torch CPU and CUDA).

    Plain data and tensors only (see :func:`read_checkpoint`): Python's state is a tuple of ints, NumPy's
    ``get_state()`` tuple becomes ``{"kind", "keys" (int64 tensor of the 624 uint32 words), "pos",
    "has_gauss", "cached_gaussian"}``.
    """
    state = {"python": random.getstate(), "numpy": _numpy_state_entry(np.random.get_state()), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state_entry(state: tuple) -> dict[str, Any]:
    """NumPy's ``get_state()`` tuple as the plain-data entry a checkpoint stores (see :func:`rng_state`)."""
    kind, keys, pos, has_gauss, cached = state
    return {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _python_state(saved: Any) -> tuple:
    # random.getstate() is (version, tuple of 625 ints, gauss_next); keep it a tuple whatever the reader
    version, internal, gauss = saved
    return (int(version), tuple(int(x) for x in internal), gauss)


def _numpy_state(saved: Any) -> tuple:
    if isinstance(saved, dict):
        keys = saved["keys"].numpy().astype(np.uint32)
        return (saved["kind"], keys, int(saved["pos"]), int(saved["has_gauss"]), float(saved["cached_gaussian"]))
    return tuple(saved)  # get_state()'s own tuple


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_python_state(state["python"]))
    np.random.set_state(_numpy_state(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


# exact types: a NumPy float64 is a float subclass but would not load with weights_only=True
_PLAIN_SCALARS = (int, float, bool, str, bytes, type(None), torch.dtype, torch.device)
_PLAIN_CONTAINERS = (dict, OrderedDict, list, tuple, torch.Size)


def first_non_plain(obj: Any, where: str = "") -> Optional[str]:
    """``"/key/...: TYPE"`` of the first value that is not a tensor or plain data, else ``None``."""
    if isinstance(obj, torch.Tensor) or type(obj) in _PLAIN_SCALARS:
        return None
    if type(obj) in (dict, OrderedDict):
        for k, v in obj.items():
            if type(k) not in _PLAIN_SCALARS:
                return f"{where}/{k!r} (key): {type(k).__name__}"
            found = first_non_plain(v, f"{where}/{k}")
            if found:
                return found
        return None
    if type(obj) in _PLAIN_CONTAINERS:
        for i, v in enumerate(obj):
            found = first_non_plain(v, f"{where}/{i}")
            if found:
                return found
        return None
    return f"{where or '/'}: {type(obj).__module__}.{type(obj).__qualname__}"


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> None:
    """Write ``obj`` atomically, after checking that :func:`read_checkpoint` will be able to read it."""
    bad = first_non_plain(obj)
    if bad:  # a bug of the code that built the entry, caught before a run's checkpoints become unreadable
        raise TypeError(f"checkpoint {path}: {bad} is not a tensor or plain data (it could not be loaded safely)")
    atomic_torch_save(obj, path)


def _refusal_reason(e: Exception) -> str:
    """The informative part of torch's "Weights only load failed ..." message."""
    text = str(e)
    m = re.search(r"GLOBAL ([\w.]+)", text)
    if m:
        return f"it refers to {m.group(1)}, which is neither a tensor nor plain data"
    m = re.search(r"WeightsUnpickler error:(.*?)(Check the documentation|$)", text, re.S)
    detail = " ".join(m.group(1).split()) if m else ""
    return f"it holds something other than tensors and plain data ({detail})" if detail else (
        "it holds something other than tensors and plain data")


def _ndarray_paths(obj: Any, where: str = "") -> list[str]:
    if isinstance(obj, np.ndarray):
        return [where or "/"]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _ndarray_paths(v, f"{where}/{k}")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in _ndarray_paths(v, f"{where}/{i}")]
    return []


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict on CPU with ``weights_only=True``; every failure is one clear UserError.

    Raises :class:`UnsafeCheckpointError` for a file that holds any other object (a pickle payload
    would run code while loading: it is refused, never loaded "unsafely"), and
    :class:`UnreadableCheckpointError` for a missing, empty, truncated or non-checkpoint file.
    Checkpoints of older versions, whose NumPy RNG state is an ndarray, are read and converted.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableCheckpointError(f"checkpoint {path} does not exist" if not path.exists() else f"{path} is not a file")
    if path.stat().st_size == 0:
        raise UnreadableCheckpointError(f"could not read checkpoint {path}: the file is empty (a write that never finished?)")
    try:
        with torch.serialization.safe_globals(_LEGACY_NUMPY_GLOBALS):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # nothing of the file ran either way; "unsafe" is a well-formed pickle asking for other objects
        if re.search(r"GLOBAL|allowlist|add_safe_globals", str(e)):
            raise UnsafeCheckpointError(
                f"refusing to load checkpoint {path}: {_refusal_reason(e)} (loading it could run code from the "
                "file); audiofront checkpoints hold only tensors and plain data"
            ) from None
        detail = _refusal_reason(e).partition("(")[2].rstrip(")") or type(e).__name__
        raise UnreadableCheckpointError(f"could not read checkpoint {path}: not a torch checkpoint ({detail})") from None
    except Exception as e:  # noqa: BLE001 - truncated zip, not a torch file, ...: the same clear message
        # the first sentence: torch's zip reader goes on about miniz internals
        reason = str(e).strip().split(". ")[0].splitlines()[0] if str(e).strip() else type(e).__name__
        raise UnreadableCheckpointError(f"could not read checkpoint {path} (truncated, or not a torch file): {reason}") from None
    if not isinstance(ckpt, dict):
        raise UnreadableCheckpointError(f"{path} is not an audiofront checkpoint (it holds a {type(ckpt).__name__}, not a dict)")
    rng = ckpt.get("rng")
    if isinstance(rng, dict) and isinstance(rng.get("numpy"), tuple):
        rng["numpy"] = _legacy_numpy_state(rng["numpy"], path)
    stray = _ndarray_paths(ckpt)
    if stray:
        raise UnsafeCheckpointError(f"refusing checkpoint {path}: NumPy arrays at {', '.join(stray[:3])} (only tensors and plain data are read)")
    return ckpt


def _legacy_numpy_state(saved: tuple, path: Path) -> dict[str, Any]:
    try:
        kind, keys, pos, has_gauss, cached = saved
        if not (isinstance(keys, np.ndarray) and keys.dtype == np.uint32 and keys.ndim == 1):
            raise ValueError("keys")
        return _numpy_state_entry(saved)
    except (TypeError, ValueError):
        raise UnreadableCheckpointError(f"{path}: rng/numpy is not a NumPy random state") from None


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


# ---- which checkpoint a run resumes from, and never losing an earlier run ---------------------------

RESUME_KEYS = ("model", "optimizer", "scheduler", "loader", "rng", "step", "epoch", "total_steps")


def find_resume_checkpoint(exp_dir: str | Path) -> Optional[tuple[Path, dict[str, Any], list[str]]]:
    """``(path, checkpoint, why the newer ones were skipped)`` for the newest checkpoint a run can resume from.

    ``last.pt`` is written after every other checkpoint, so it is the newest; when it is missing, empty or
    corrupt, the ``checkpoints/step-N.pt`` files are tried from the highest N down (epoch checkpoints hold
    no optimiser state). ``None`` when there is none at all; an :class:`UnreadableCheckpointError` naming
    every file when none of them can be read; an :class:`UnsafeCheckpointError` as soon as one holds
    objects other than plain data (a tampered folder is not silently worked around).
    """
    exp_dir = Path(exp_dir)
    candidates = [exp_dir / "last.pt"] + numbered_checkpoints(exp_dir / "checkpoints", "step")[::-1]
    skipped: list[str] = []
    for path in candidates:
        if not path.exists():
            continue
        try:
            ckpt = read_checkpoint(path)
        except UnsafeCheckpointError:
            raise
        except UnreadableCheckpointError as e:
            skipped.append(str(e))
            continue
        missing = [k for k in RESUME_KEYS if k not in ckpt]
        if missing:
            skipped.append(f"{path} cannot be resumed from (no {', '.join(missing)})")
            continue
        return path, ckpt, skipped
    if skipped:
        raise UnreadableCheckpointError(f"--resume: no checkpoint in {exp_dir} can be read: {'; '.join(skipped)}")
    return None


def previous_run_checkpoints(exp_dir: str | Path) -> list[Path]:
    """Checkpoints of an earlier run in ``exp_dir``: ``*.pt`` there and in its ``checkpoints*/`` folders."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        return []
    found = sorted(p for p in exp_dir.glob("*.pt") if p.is_file())
    for sub in sorted(d for d in exp_dir.glob("checkpoints*") if d.is_dir()):
        found += sorted(p for p in sub.glob("*.pt") if p.is_file())
    return found


def claim_exp_dir(exp_dir: str | Path, resume: bool, overwrite: bool, move: bool = True) -> Optional[Path]:
    """Make sure a fresh run never mixes with, or destroys, an earlier run's checkpoints in ``exp_dir``.

    A fresh run (no ``resume``) in a folder that holds checkpoints is refused unless ``overwrite``; then
    everything in the folder is moved to a new numbered sibling ``EXP.bak1/`` (``.bak2``, ... if taken)
    and that folder is returned (``None`` when nothing was moved). Nothing is ever deleted. ``move=False``
    only checks (the DDP ranks other than 0).
    """
    exp_dir = Path(exp_dir)
    if resume and overwrite:
        raise UserError("--resume and --overwrite contradict each other: continue the run in place, or start afresh")
    if resume:
        return None
    old = previous_run_checkpoints(exp_dir)
    if not old:
        return None
    if not overwrite:
        shown = ", ".join(str(p.relative_to(exp_dir)) for p in old[:3]) + (", ..." if len(old) > 3 else "")
        raise UserError(
            f"{exp_dir} already holds a training run ({len(old)} checkpoint(s): {shown}); pass --resume to continue "
            f"it, or --overwrite to start afresh (the old run is then moved to {exp_dir.name}.bakN/, never deleted)"
        )
    if not move:
        return None
    resolved = exp_dir.resolve()
    n = 1
    while resolved.with_name(f"{resolved.name}.bak{n}").exists():
        n += 1
    backup = resolved.with_name(f"{resolved.name}.bak{n}")
    backup.mkdir()
    # entry by entry (not one rename of the folder): exp_dir may be the working directory or a mount point
    for entry in sorted(resolved.iterdir()):
        os.replace(entry, backup / entry.name)
    return backup
