"""The fused CPU loops of ``_filterbank_kernels.c``, compiled on first use and loaded with ctypes.

Optional: without a C compiler (or with ``AUDIOFRONT_NATIVE=0``) :func:`kernels` returns ``None`` and
:mod:`.leaf_fast` and :mod:`.leaf_decimated` use their pure-PyTorch paths, which compute the same values (both are
tested against the conv1d reference). The library is built once per source version, compiler flags and CPU model into
``$XDG_CACHE_HOME/audiofront`` (default ``~/.cache/audiofront``; ``AUDIOFRONT_CACHE`` overrides), written
atomically, so concurrent first uses do not race. It uses OpenMP through the ``libgomp`` that PyTorch has
already loaded, so its threads are PyTorch's (``torch.set_num_threads`` applies).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

_SOURCE = Path(__file__).with_name("_filterbank_kernels.c")
_FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC"]
_lock = threading.Lock()
_loaded: Optional["Kernels"] = None
_tried = False


def _cpu_model() -> str:
    """CPU model and instruction-set flags: ``-march=native`` code must not run on a CPU lacking them (a cache
    shared by cluster nodes whose model names agree, "AMD EPYC", can still differ in AVX-512)."""
    found = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "flags", "Features") and key not in found:
                    found[key] = line.strip()
    except OSError:
        pass
    return "\n".join(found.values()) or (platform.processor() or platform.machine())


def _cache_dir() -> Path:
    root = os.environ.get("AUDIOFRONT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "audiofront"
    )
    return Path(root) / "native"


def _build(compiler: str) -> Path:
    source = _SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join([compiler, *_FLAGS]).encode() + _cpu_model().encode()).hexdigest()[:16]
    target = _cache_dir() / f"filterbank_kernels_{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        proc = subprocess.run([compiler, *_FLAGS, str(_SOURCE), "-o", str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{compiler} failed on {_SOURCE.name}: {proc.stderr.strip()[-500:]}")
        os.replace(out, target)  # atomic: another process may have built the same file meanwhile
    return target


class Kernels:
    """ctypes bindings of the float32 and float64 kernels."""

    def __init__(self, lib: ctypes.CDLL):
        p, lg, i = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
        self._fns = {}
        self._band = {}  # the kernels of leaf_decimated.py
        for suffix, real in (("f32", ctypes.c_float), ("f64", ctypes.c_double)):
            fwd = getattr(lib, f"pool_forward_{suffix}")
            fwd.argtypes = [p, p, p] + [lg] * 9 + [i, real]
            bwd = getattr(lib, f"pool_backward_{suffix}")
            bwd.argtypes = [p, p, p, p, p] + [lg] * 9 + [i, real]
            spec = getattr(lib, f"spectra_backward_{suffix}")
            spec.argtypes = [p, p, p, p, p, lg, lg, lg]
            band_f = getattr(lib, f"band_forward_{suffix}")
            band_f.argtypes = [p, p, p, p] + [lg] * 4
            band_b = getattr(lib, f"band_backward_{suffix}")
            band_b.argtypes = [p] * 6 + [lg] * 4
            cpool_f = getattr(lib, f"cpool_forward_{suffix}")
            cpool_f.argtypes = [p, p, p] + [lg] * 7
            cpool_b = getattr(lib, f"cpool_backward_{suffix}")
            cpool_b.argtypes = [p] * 5 + [lg] * 7
            for fn in (fwd, bwd, spec, band_f, band_b, cpool_f, cpool_b):
                fn.restype = None
            self._fns[suffix] = (fwd, bwd, spec)
            self._band[suffix] = (band_f, band_b, cpool_f, cpool_b)

    @staticmethod
    def _suffix(t: Tensor) -> str:
        if t.dtype in (torch.float32, torch.complex64):
            return "f32"
        if t.dtype in (torch.float64, torch.complex128):
            return "f64"
        raise TypeError(f"native filterbank kernels take float32/float64 tensors, got {t.dtype}")

    @staticmethod
    def _ptr(t: Optional[Tensor]) -> Optional[int]:
        if t is None:
            return None
        if not t.is_contiguous() or t.device.type != "cpu":
            raise ValueError("native filterbank kernels need contiguous CPU tensors")
        return t.data_ptr()

    def pool_forward(self, y: Tensor, w: Tensor, out: Tensor, channels: int, start: int, width: int, stride: int,
                     frames: int, act: int, slope: float) -> None:
        g, rows, n = y.shape
        fn = self._fns[self._suffix(y)][0]
        fn(self._ptr(y), self._ptr(w), self._ptr(out), g, channels, rows, n, start, width, stride, w.shape[-1],
           frames, act, slope)

    def pool_backward(self, y: Tensor, w: Tensor, gout: Tensor, gy: Tensor, gw: Optional[Tensor], channels: int,
                      start: int, width: int, stride: int, frames: int, act: int, slope: float) -> None:
        g, rows, n = y.shape
        fn = self._fns[self._suffix(y)][1]
        fn(self._ptr(y), self._ptr(w), self._ptr(gout), self._ptr(gy), self._ptr(gw), g, channels, rows, n, start,
           width, stride, w.shape[-1], frames, act, slope)

    def spectra_backward(self, gy_spec: Tensor, x_spec: Tensor, h_spec: Tensor, acc: Optional[Tensor],
                         gx_spec: Optional[Tensor]) -> None:
        g, rows, f = gy_spec.shape
        fn = self._fns[self._suffix(gy_spec)][2]
        fn(self._ptr(gy_spec), self._ptr(x_spec), self._ptr(h_spec), self._ptr(acc), self._ptr(gx_spec), g, rows, f)

    # ---- leaf_decimated.py: complex tensors, interleaved ------------------------------------------------
    def band_forward(self, x: Tensor, h: Tensor, starts: Tensor, band: Tensor) -> None:
        """``band[s, c, j] = x[s, starts[c] + j] * h[c, j]`` (complex)."""
        s, nx = x.shape
        c, m = h.shape
        self._band[self._suffix(x)][0](self._ptr(x), self._ptr(h), self._ptr(starts), self._ptr(band), s, nx, c, m)

    def band_backward(self, gz: Tensor, x: Tensor, h: Tensor, starts: Tensor, gh: Optional[Tensor],
                      gx: Optional[Tensor]) -> None:
        """``gh[c, j] += sum_s gz[s, c, j] conj(x[s, starts[c] + j])``; ``gx[s, starts[c] + j] += gz conj(h)``."""
        s, nx = x.shape
        c, m = h.shape
        self._band[self._suffix(x)][1](self._ptr(gz), self._ptr(x), self._ptr(h), self._ptr(starts), self._ptr(gh),
                                       self._ptr(gx), s, nx, c, m)

    def cpool_forward(self, y: Tensor, taps: Tensor, out: Tensor, first: int, step: int) -> None:
        """``out[s, c, k] = sum_j taps[c, j] |y[s, c, first + k step + j]|^2``."""
        s, c, m = y.shape
        self._band[self._suffix(y)][2](self._ptr(y), self._ptr(taps), self._ptr(out), s, c, m, first, step,
                                       taps.shape[-1], out.shape[-1])

    def cpool_backward(self, y: Tensor, taps: Tensor, gout: Tensor, gy: Tensor, gtaps: Optional[Tensor],
                       first: int, step: int) -> None:
        """Gradients of :meth:`cpool_forward`: ``gy`` (all of it written) and ``gtaps`` (accumulated)."""
        s, c, m = y.shape
        self._band[self._suffix(y)][3](self._ptr(y), self._ptr(taps), self._ptr(gout), self._ptr(gy),
                                       self._ptr(gtaps), s, c, m, first, step, taps.shape[-1], gout.shape[-1])


def kernels() -> Optional[Kernels]:
    """The compiled kernels, or ``None`` when disabled or when they cannot be built here (said once)."""
    global _loaded, _tried
    if os.environ.get("AUDIOFRONT_NATIVE", "1") == "0":
        return None
    if _tried:
        return _loaded
    with _lock:
        if not _tried:
            try:
                compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
                if compiler is None:
                    raise RuntimeError("no C compiler (cc or gcc) on PATH")
                _loaded = Kernels(ctypes.CDLL(str(_build(compiler))))
            except Exception as exc:  # any failure means: use the PyTorch path
                warnings.warn(f"audiofront: fused CPU kernels unavailable ({exc}); using the PyTorch path", stacklevel=2)
                _loaded = None
            _tried = True
    return _loaded
