"""Checkpoint averaging: the element-wise mean of the model weights of the last N checkpoints.

Averaging the weights of the last epochs smooths the noise of the final SGD steps; for CTC models it
is typically worth a few percent relative WER. Integer buffers (e.g. BatchNorm's ``num_batches_tracked``)
cannot be averaged and are taken from the newest checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..errors import UserError
from .checkpoint import read_checkpoint, save_checkpoint


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    if not states:
        raise ValueError("average_state_dicts needs at least one state dict")
    keys = list(states[-1].keys())
    for i, s in enumerate(states):
        if set(s.keys()) != set(keys):
            diff = sorted(set(s.keys()) ^ set(keys))[:5]
            raise ValueError(f"checkpoint {i} has different parameters from the last one (e.g. {diff})")
    out = {}
    for k in keys:
        last = states[-1][k]
        if torch.is_floating_point(last) or torch.is_complex(last):
            acc = torch.zeros_like(last, dtype=torch.float64 if not torch.is_complex(last) else torch.complex128)
            for s in states:
                acc += s[k].to(acc.dtype)
            out[k] = (acc / len(states)).to(last.dtype)
        else:
            out[k] = last.clone()
    return out


def average_checkpoints(paths: Sequence[str | Path], out_path: str | Path) -> dict:
    """Write ``out_path``: the newest checkpoint's ``frontend``/``task`` entries with the averaged model.

    Resume-only entries (optimizer, scheduler, loader, rng) are dropped: ``avg.pt`` is for decoding.
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    ckpts = [read_checkpoint(p) for p in paths]  # weights_only: a planted epoch-N.pt runs no code
    for p, c in zip(paths, ckpts):
        if not isinstance(c.get("model"), dict):
            raise UserError(f"{p} has no model weights to average (no 'model' entry)")
    avg = {k: v for k, v in ckpts[-1].items() if k not in ("optimizer", "scheduler", "loader", "rng")}
    avg["model"] = average_state_dicts([c["model"] for c in ckpts])
    avg["averaged_from"] = [str(Path(p).name) for p in paths]
    save_checkpoint(avg, out_path)
    return avg
