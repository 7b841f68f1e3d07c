"""The ``--device`` option of train, decode and evaluate: a name checked against what torch can see; and the
``--num-threads`` option of decode, evaluate and extract.

    >>> resolve_device("cpu")
    device(type='cpu')

``auto`` is CUDA when torch sees a GPU, else the CPU. Asking for CUDA on a machine without one is bad input
(a :class:`~audiofront.errors.UserError` naming the option), not a torch assertion deep in the first copy.
"""

from __future__ import annotations

from typing import Optional

import torch

from ..errors import UserError


def resolve_device(name: str | torch.device, what: str = "--device") -> torch.device:
    """``auto | cpu | cuda | cuda:N`` -> a :class:`torch.device` that exists here."""
    want = str(name).strip().lower()
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want != "cpu" and want != "cuda" and not (want.startswith("cuda:") and want[5:].isdigit()):
        raise UserError(f"{what} must be auto, cpu, cuda or cuda:N, got {str(name)!r}")
    if want.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"{what} {name} was asked for but torch sees no CUDA GPU here (use {what} cpu)")
        index = int(want[5:]) if ":" in want else 0
        if index >= torch.cuda.device_count():
            raise UserError(f"{what} {name}: torch sees {torch.cuda.device_count()} CUDA GPU(s) (cuda:0..)")
    return torch.device(want)


def set_num_threads(num_threads: Optional[int]) -> None:
    """``--num-threads N`` of the CLI commands: N > 0 sets torch's CPU threads, 0 or None keeps torch's default
    (one per core); a negative N is a UserError."""
    if num_threads is None:
        return
    if num_threads < 0:
        raise UserError(f"--num-threads must be >= 0 (0: torch's default), got {num_threads}")
    if num_threads > 0:
        torch.set_num_threads(num_threads)
