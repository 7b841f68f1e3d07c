"""AdamW and the learning-rate schedules: one-cycle (the default) and cosine with linear warm-up.

The schedule is our own ``LambdaLR`` rather than ``torch.optim.lr_scheduler.OneCycleLR`` because with
dynamic bucketing the number of steps is only estimated in advance: OneCycleLR raises past its
``total_steps``, ours stays at the final learning rate. The cosine schedule is built the same way.
``total_steps`` may be a zero-argument callable read at every step: a run with a time budget
(``training.max_minutes``) re-plans its length as it learns how long an epoch takes.
"""

from __future__ import annotations

import math
from typing import Callable, Union

import torch
from torch import nn


_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)  # what torch's fused AdamW takes


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float = 1e-2, betas: tuple[float, float] = (0.9, 0.98), eps: float = 1e-8
) -> torch.optim.AdamW:
    """AdamW; biases, norms' gains and other 1-D parameters (filter centre frequencies, PCEN
    exponents, ...) get no weight decay: decaying them towards 0 is not a sensible prior."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    # torch's fused AdamW updates all parameters in one kernel: on CPU an update (with gradient clipping) of
    # the 2.1M-parameter tiny Conformer took 3.7 ms instead of 12 (2 threads; the whole step:
    # benchmarks/asr_step.py); tests/training/test_schedule.py checks it against the per-tensor implementation
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype in _FUSED_DTYPES for g in groups for p in g["params"])
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, fused=fused or None)



def one_cycle_factor(step: int, total_steps: int, pct_start: float = 0.1, div_factor: float = 25.0,
                     final_div_factor: float = 1e4) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of a one-cycle schedule.

    Linear warm-up from ``1/div_factor`` to 1 over the first ``pct_start`` of the steps, then cosine
    annealing down to ``1/(div_factor*final_div_factor)`` at ``total_steps``; constant after that.
    """
    total_steps = max(1, int(total_steps))
    warm = max(1, int(round(pct_start * total_steps)))
    start = 1.0 / div_factor
    end = start / final_div_factor
    if step < warm:
        return start + (1.0 - start) * step / warm
    t = min(1.0, (step - warm) / max(1, total_steps - warm))
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * t))


Total = Union[int, Callable[[], int]]  # a step count, or a function returning the current plan


def _total(total_steps: Total) -> int:
    return int(total_steps()) if callable(total_steps) else int(total_steps)


def build_one_cycle(optimizer: torch.optim.Optimizer, total_steps: Total, pct_start: float = 0.1,
                    div_factor: float = 25.0, final_div_factor: float = 1e4) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`one_cycle_factor` (the optimiser's ``lr`` is the peak)."""

    def factor(step: int) -> float:
        return one_cycle_factor(step, _total(total_steps), pct_start, div_factor, final_div_factor)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def cosine_factor(step: int, total_steps: int, warmup_steps: int = 0, final_factor: float = 0.0) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based): linear warm-up, then cosine decay.

    Warm-up: ``(step + 1) / warmup_steps`` over the first ``warmup_steps`` steps (the first step already
    moves, unlike a warm-up from 0); then half a cosine from 1 down to ``final_factor`` at ``total_steps``,
    and ``final_factor`` after that (the step count is an estimate with dynamic bucketing).
    The COLA recipe's schedule (AdamW, warm-up, cosine decay).
    """
    total_steps = max(1, int(total_steps))
    warmup_steps = max(0, int(warmup_steps))
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * t))


def build_cosine(optimizer: torch.optim.Optimizer, total_steps: Total, warmup_steps: int = 0,
                 final_factor: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`cosine_factor` (the optimiser's ``lr`` is the peak)."""

    def factor(step: int) -> float:
        return cosine_factor(step, _total(total_steps), warmup_steps, final_factor)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


SCHEDULES = ("one-cycle", "cosine")


def epochs_in_budget(budget_seconds: float, spent_seconds: float, epochs_done: int, cap: int = 0) -> int:
    """How many epochs a run plans in all when ``epochs_done`` epochs took ``spent_seconds`` of a
    ``budget_seconds`` budget: those done, plus as many more as fit at their mean duration (rounded
    down, so the plan does not overrun on a steady machine), at most ``cap`` in all (0: no cap).

    >>> epochs_in_budget(600, 100, 2)   # 50 s an epoch: 10 fit in 600 s
    10
    >>> epochs_in_budget(600, 100, 2, cap=8)
    8
    >>> epochs_in_budget(600, 700, 7)   # over budget already: no further epoch
    7
    """
    if epochs_done < 1:
        raise ValueError(f"epochs_done must be >= 1 to measure an epoch, got {epochs_done}")
    per_epoch = max(spent_seconds, 1e-9) / epochs_done
    more = max(0, math.floor((budget_seconds - spent_seconds) / per_epoch))
    planned = epochs_done + more
    return min(planned, cap) if cap > 0 else planned
