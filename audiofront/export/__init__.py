"""Exporting frontends and trained models to ONNX and TorchScript (``audiofront export``).

>>> from audiofront.frontends import build_frontend
>>> from audiofront.export import frontend_spec
>>> spec = frontend_spec(build_frontend("mel"))
>>> [name for name, _ in spec.outputs]
['features', 'frame_lengths']

Every graph maps ``(waveforms [B, T] float32, lengths [B] int64)`` to its outputs with dynamic ``B`` and
``T``; what it computes is the PyTorch model's function on its reference path (:mod:`.traceable`), and the
tests in tests/export/ compare the exported files with the PyTorch model at several batch sizes and lengths.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from ..frontends.base import Frontend
from .models import traceable_model
from .runtime import load_runner, relative_error
from .traceable import FrontendGraph, traceable_frontend
from .writer import FORMATS, GraphSpec, export_graph, sidecar_path


def _version() -> str:
    from .. import __version__

    return __version__


def frontend_info(frontend: Frontend) -> dict[str, Any]:
    """Sample rate, frame shift, output dim and the frontend's name and config."""
    return {
        "sample_rate": frontend.sample_rate,
        "frame_shift": frontend.frame_shift,
        "frame_shift_ms": frontend.frame_shift / frontend.sample_rate * 1000.0,
        "output_dim": frontend.output_dim,
        "min_samples": frontend.min_samples,
        "frontend": {"name": frontend.name, "config": dataclasses.asdict(frontend.config)},
    }


def _example_samples(frontend: Frontend, min_samples: int) -> int:
    # one second, or more where a single frame needs more; never a multiple of the frame shift, so no
    # size of the trace coincides with another by accident
    return max(frontend.sample_rate, 2 * min_samples) + frontend.frame_shift // 2 + 1


def frontend_spec(frontend: Frontend) -> GraphSpec:
    """The frontend alone: ``-> (features [B, frames, D] float32, frame_lengths [B] int64)``."""
    return GraphSpec(
        module=traceable_frontend(frontend),
        outputs=[("features", ["batch", "frames", frontend.output_dim]), ("frame_lengths", ["batch"])],
        info={"kind": "frontend", "audiofront_version": _version(), **frontend_info(frontend)},
        example_samples=_example_samples(frontend, frontend.min_samples),
    )


def model_min_samples(model: nn.Module) -> int:
    """Shortest input for which the model's encoder needs no padding branch: a traced or exported graph
    keeps only the branch of its example, so shorter inputs are refused in the sidecar's ``min_samples``."""
    frontend = model.frontend
    need = 1
    encoder = getattr(model, "encoder", None)
    sub = getattr(encoder, "subsample", None)
    if sub is not None:
        need = int(sub.min_frames)
    length = max(1, frontend.min_samples)
    while int(frontend.num_frames(torch.tensor([length]))[0]) < need:
        length += 1
    return length


def model_spec(task: Any, model: nn.Module) -> GraphSpec:
    """A trained ASR or classification model (from :func:`audiofront.tasks.load_model`)."""
    from ..models.ctc import CtcModel

    frontend = model.frontend
    min_samples = max(frontend.min_samples, model_min_samples(model))
    info: dict[str, Any] = {"kind": task.name, "audiofront_version": _version(), **frontend_info(frontend)}
    info["min_samples"] = min_samples
    if isinstance(model, CtcModel):
        info.update(vocab_size=int(model.vocab_size), blank_id=0,
                    output_frame_shift_ms=float(model.frame_shift_ms))
        tokens = _tokens(task)
        if tokens is not None:
            info["tokens"] = tokens
        outputs = [("log_probs", ["batch", "out_frames", int(model.vocab_size)]), ("out_lengths", ["batch"])]
    else:
        heads = [{"name": h["name"], "kind": h.get("kind", "single"), "classes": list(h.get("classes") or [])}
                 for h in task.heads]
        info["heads"] = heads
        outputs = [(f"logits_{h['name']}", ["batch", int(model.heads[h["name"]].out_features)]) for h in heads]
    return GraphSpec(module=traceable_model(model), outputs=outputs, info=info,
                     example_samples=_example_samples(frontend, min_samples))


def _tokens(task: Any) -> Optional[list[str]]:
    """The token of each output index, when the checkpoint's lang dir is still there."""
    try:
        tok = task.tokenizer
    except (OSError, ValueError):
        return None
    tokens = getattr(tok, "tokens", None)
    return list(tokens) if tokens is not None else None


def export_frontend(frontend: Frontend, fmt: str, out: str | Path, opset: Optional[int] = None) -> dict[str, Any]:
    """Export a frontend; returns the sidecar's content (also written to ``out + ".json"``)."""
    return export_graph(frontend_spec(frontend), fmt, out, opset)


def export_model(task: Any, model: nn.Module, fmt: str, out: str | Path, opset: Optional[int] = None) -> dict[str, Any]:
    """Export a trained model (frontend + encoder + heads); returns the sidecar's content."""
    return export_graph(model_spec(task, model), fmt, out, opset)


__all__ = [
    "FORMATS",
    "FrontendGraph",
    "GraphSpec",
    "export_frontend",
    "export_graph",
    "export_model",
    "frontend_info",
    "frontend_spec",
    "load_runner",
    "model_spec",
    "relative_error",
    "sidecar_path",
    "traceable_frontend",
    "traceable_model",
]
