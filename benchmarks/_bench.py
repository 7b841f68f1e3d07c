"""What the benchmark scripts share: the CPU's name for their headers and the best time of a training step.

Not a benchmark: imported by the scripts beside it (their folder is on ``sys.path`` when they run).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Callable, Optional


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def best_step_seconds(step: Callable[[], None], warmup: int, repeats: int, device: str) -> float:
    """The shortest of ``repeats`` timed calls of ``step`` after ``warmup`` untimed ones (CUDA synchronised
    around each call, so the time is the step's, not its launch's)."""
    import torch

    times = []
    for i in range(warmup + repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return min(times)


def report(text: str, out: Optional[Path]) -> None:
    """Print a benchmark's table and, with ``--out``, write it atomically (a half-written result never stays)."""
    print(text, end="")
    if out:
        from audiofront.utils.io import atomic_write_text

        atomic_write_text(out, text)
