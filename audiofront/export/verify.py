"""Check an exported file against the PyTorch model it came from, at batch sizes and lengths it was not
traced at (one of them the shortest the model takes, one odd)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from .runtime import load_runner, relative_error


def reference_fn(module: nn.Module, heads: list[str] | None = None) -> Callable[[Tensor, Tensor], list[np.ndarray]]:
    """The PyTorch outputs, in the exported order, of a frontend, a CTC model or (``heads``) a classifier."""

    def run(waveforms: Tensor, lengths: Tensor) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(waveforms, lengths)
        if heads is not None:
            out = [out[name] for name in heads]
        return [o.detach().cpu().numpy() for o in out]

    return run


def check_shapes(min_samples: int, sample_rate: int) -> list[tuple[int, int]]:
    """``(batch, samples)`` pairs: the shortest input alone, an odd length, and three sequences of ~1.3 s."""
    return [(1, max(1, min_samples)), (2, max(min_samples, 1601) | 1), (3, max(min_samples, int(1.3 * sample_rate)) + 7)]


def verify_export(path: str | Path, fmt: str, reference: Callable[[Tensor, Tensor], list[np.ndarray]],
                  min_samples: int, sample_rate: int, seed: int = 0) -> list[dict[str, Any]]:
    """Run the exported file and the reference on random audio; per shape, the worst relative error of the
    float outputs (max |diff| / max |reference|) and whether the integer outputs (lengths) are equal."""
    run = load_runner(path, fmt)
    gen = torch.Generator().manual_seed(seed)
    report = []
    for batch, samples in check_shapes(min_samples, sample_rate):
        waveforms = 0.1 * torch.randn(batch, samples, generator=gen)
        lengths = torch.randint(max(1, min_samples), samples + 1, (batch,), generator=gen)
        lengths[0] = samples
        expected = reference(waveforms, lengths)
        got = run(waveforms.numpy(), lengths.numpy())
        errors, equal = [], True
        for g, e in zip(got, expected):
            if np.issubdtype(e.dtype, np.integer):
                equal = equal and g.shape == e.shape and bool((g == e).all())
            else:
                errors.append(relative_error(g, e))
        report.append({"batch": batch, "samples": samples, "rel_error": max(errors, default=0.0), "lengths_equal": equal})
    return report
