"""What :mod:`.asr` and :mod:`.classify` share: a checkpoint of the task the command needs, and one file as a batch."""

from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import UserError
from .audio import Audio


def load_task_model(checkpoint: str | os.PathLike, device: str, task_name: str, refusal: str):
    """``(task, model)`` of ``checkpoint``; :class:`UserError` if it is not a ``task_name`` checkpoint
    (``refusal`` says what the command needs instead)."""
    from ..tasks import load_model
    from ..utils.device import resolve_device

    task, model = load_model(checkpoint, device=resolve_device(device))  # a bad --device: one line, not a traceback
    if task.name != task_name:
        raise UserError(f"--checkpoint {checkpoint} is a {task.name!r} checkpoint; {refusal}")
    return task, model


def check_audio_rate(audio: Audio, sample_rate: int) -> None:
    if audio.sample_rate != sample_rate:
        raise ValueError(f"audio at {audio.sample_rate} Hz given to a {sample_rate} Hz model (a bug)")


def one_batch(samples: np.ndarray, device) -> tuple[torch.Tensor, torch.Tensor]:
    """``([1, T] float32 samples, [1] length)`` on ``device``."""
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None].to(device)
    return x, torch.tensor([x.shape[1]], device=device)
