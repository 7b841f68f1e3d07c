"""Running an exported file the way a consumer would: onnxruntime on CPU, or ``torch.jit.load``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import UserError

Runner = Callable[[np.ndarray, np.ndarray], list[np.ndarray]]


def onnx_session(path: str | Path, threads: int = 0):
    """An onnxruntime CPU session (``threads`` intra-op threads, 0 = onnxruntime's default)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("running ONNX models needs onnxruntime: pip install 'audiofront[export]'") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its constant-folding notes are not the user's concern
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_runner(path: str | Path, fmt: str, threads: int = 0) -> Runner:
    """``run(waveforms float32 [B, T], lengths int64 [B]) -> [outputs as numpy arrays]`` of an exported file."""
    if fmt == "onnx":
        session = onnx_session(path, threads)

        def run_onnx(waveforms: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
            feeds = {"waveforms": np.ascontiguousarray(waveforms, dtype=np.float32),
                     "lengths": np.ascontiguousarray(lengths, dtype=np.int64)}
            return list(session.run(None, feeds))

        return run_onnx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu").eval()

    def run_torchscript(waveforms: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            outs = module(torch.as_tensor(waveforms, dtype=torch.float32), torch.as_tensor(lengths, dtype=torch.int64))
        return [o.numpy() for o in (outs if isinstance(outs, (tuple, list)) else (outs,))]

    return run_torchscript


def relative_error(exported: np.ndarray, reference: np.ndarray) -> float:
    """``max |exported - reference| / max |reference|`` (the "within 1e-4 of the output scale" of the tests)."""
    if exported.shape != reference.shape:
        return float("inf")
    scale = float(np.abs(reference).max()) if reference.size else 0.0
    diff = float(np.abs(exported.astype(np.float64) - reference.astype(np.float64)).max()) if reference.size else 0.0
    return diff / scale if scale > 0 else diff
