"""Writing a traceable graph as ONNX or TorchScript, with the JSON that describes it beside the file.

* ONNX: ``torch.export`` with automatic dynamic batch and length axes, then the ONNX exporter
  (``torch.onnx.export(..., dynamo=True)``, which needs ``onnxscript``); ``Dim.AUTO`` rather than named
  ``Dim``\\ s, because torch.export assumes every dynamic size is at least 2 and would refuse a batch of one or a
  single output frame, which the exported graph computes all the same (the tests run both).
* TorchScript: ``torch.jit.trace``. The graphs of :mod:`.traceable` compute every size from the traced
  input's shape, so the trace stays valid at other batch sizes and lengths (tested at several from one file).

The sidecar ``<file>.json`` says what a consumer without audiofront needs: sample rate, frame shift, output
dimension, the frontend's name and config, the opset, and the name, dtype and axes of every input and output.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor, nn

from ..errors import UserError
from ..utils.io import atomic_path, atomic_write_text

FORMATS = ("onnx", "torchscript")
INPUTS = ("waveforms", "lengths")
OPTIMIZE = True  # onnxscript's graph optimiser: constant folding, fewer nodes


@dataclass
class GraphSpec:
    """What to export: ``module(waveforms [B, T] float32, lengths [B] int64) -> outputs``.

    ``outputs``: ``(name, axes)`` per output, ``axes`` naming each dimension (a name for a dynamic one, an
    int for a fixed size). ``info``: what the sidecar says about the model (sample rate, frontend, ...).
    """

    module: nn.Module
    outputs: list[tuple[str, list[Any]]]
    info: dict[str, Any] = field(default_factory=dict)
    example_samples: int = 16000


def example_inputs(spec: GraphSpec) -> tuple[Tensor, Tensor]:
    """A batch of two: one full-length, one shorter (so the traced mask is not all ones)."""
    t = spec.example_samples
    gen = torch.Generator().manual_seed(0)
    return 0.1 * torch.randn(2, t, generator=gen), torch.tensor([t, max(1, (3 * t) // 4)], dtype=torch.int64)


def _require_onnx() -> None:
    missing = []
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UserError(
            f"ONNX export needs the package(s) {', '.join(missing)}: pip install 'audiofront[export]' "
            "(or pip install onnx onnxscript onnxruntime)"
        )


def _write_onnx(module: nn.Module, example: tuple[Tensor, Tensor], output_names: list[str], out: Path,
                opset: Optional[int]) -> tuple[int, dict[str, list[Any]]]:
    """Returns the opset and each output's shape as the file states it (sizes as formulas of the inputs')."""
    _require_onnx()
    import onnx

    auto = torch.export.Dim.AUTO
    dynamic = {"waveforms": {0: auto, 1: auto}, "lengths": {0: auto}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module, example, dynamic_shapes=dynamic, strict=False)
        onnx_program = torch.onnx.export(
            program, example, dynamo=True, input_names=list(INPUTS), output_names=output_names,
            opset_version=opset, external_data=False, verbose=False, optimize=OPTIMIZE,
        )
    model = onnx_program.model_proto
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if any(not d.dim_param for d in dims):  # a fixed size: the export specialised a dynamic axis
            raise RuntimeError(f"ONNX input {value.name} has a fixed axis ({[d.dim_value or d.dim_param for d in dims]})")
    _name_axes(model)
    with atomic_path(out, "ONNX model") as tmp:
        onnx.save_model(model, str(tmp))
    shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.output}
    return next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), shapes


def _name_axes(model) -> None:
    """Call torch.export's symbols of the input axes (``s2``, ``s52``) ``batch`` and ``samples`` everywhere in
    the graph, so that the output shapes read e.g. ``((samples//160)) + 1``."""
    waveforms = next(v for v in model.graph.input if v.name == "waveforms").type.tensor_type.shape.dim
    names = {waveforms[0].dim_param: "batch", waveforms[1].dim_param: "samples"}
    symbol = re.compile(r"\b(" + "|".join(re.escape(k) for k in names) + r")\b")
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = symbol.sub(lambda m: names[m.group(1)], dim.dim_param)


def _write_torchscript(module: nn.Module, example: tuple[Tensor, Tensor], out: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about sizes taken as Python ints: what we want
        traced = torch.jit.trace(module, example, check_trace=False)
    with atomic_path(out, "TorchScript model") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, not removed: still the format
        torch.jit.save(traced, str(tmp))


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def export_graph(spec: GraphSpec, fmt: str, out: str | Path, opset: Optional[int] = None) -> dict[str, Any]:
    """Write ``spec.module`` as ``fmt`` to ``out`` and its description to ``out + ".json"``; returns that."""
    if fmt not in FORMATS:
        raise UserError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    module = spec.module.eval()
    example = example_inputs(spec)
    with torch.no_grad():
        results = module(*example)
    output_names = [name for name, _ in spec.outputs]
    if len(results) != len(output_names):
        raise RuntimeError(f"the graph returns {len(results)} outputs, the spec names {len(output_names)}")
    meta: dict[str, Any] = {"format": fmt, "file": out.name}
    onnx_shapes: dict[str, list[Any]] = {}
    if fmt == "onnx":
        meta["opset"], onnx_shapes = _write_onnx(module, example, output_names, out, opset)
    else:
        _write_torchscript(module, example, out)
        meta["opset"] = None
    meta["torch_version"] = torch.__version__
    meta.update(spec.info)
    meta["inputs"] = [
        {"name": "waveforms", "dtype": "float32", "shape": ["batch", "samples"],
         "meaning": f"mono audio in [-1, 1] at {spec.info.get('sample_rate')} Hz, zero-padded to the longest"},
        {"name": "lengths", "dtype": "int64", "shape": ["batch"], "meaning": "valid samples of each waveform"},
    ]
    meta["outputs"] = [
        {"name": name, "dtype": _dtype_name(value.dtype), "shape": axes}
        for (name, axes), value in zip(spec.outputs, results)
    ]
    for item in meta["outputs"]:
        if item["name"] in onnx_shapes:  # e.g. ["batch", "((samples//160)) + 1", 40]: the frame count formula
            item["onnx_shape"] = onnx_shapes[item["name"]]
    meta["dynamic_axes"] = {
        item["name"]: {str(i): axis for i, axis in enumerate(item["shape"]) if isinstance(axis, str)}
        for item in meta["inputs"] + meta["outputs"]
    }
    atomic_write_text(sidecar_path(out), json.dumps(meta, indent=2) + "\n")
    return meta


def sidecar_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".json")
