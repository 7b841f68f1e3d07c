"""Compression of filterbank energies: log, PCEN and sPCEN (per-channel energy normalisation).

PCEN (Wang et al. 2017, as learned in LEAF, Zeghidour et al. 2021) of energies ``E[c, t] >= 0``::

    M[c, t] = (1 - s_c) M[c, t-1] + s_c E[c, t],     M[c, 0] = E[c, 0]
    PCEN    = (E / (floor + M) ** alpha_c + delta_c) ** (1 / r_c) - delta_c ** (1 / r_c)

``pcen`` learns alpha, delta and r per channel with a fixed smoothing coefficient ``s``; ``spcen`` learns
``s`` per channel too (4 parameters per channel).

Every parameter is kept in its valid range *by construction*: the raw parameters are free, and the
effective values used in ``forward`` (and returned by :meth:`PCEN.parameters_for_inspection`) are clamped
(``alpha`` in [0, 1], ``delta`` >= 1e-3, ``r`` >= 1, ``s`` in [1e-3, 1]). The original LEAF code clamps only
alpha and r, so a ``delta`` pushed below zero by training makes ``(E / M**alpha + delta) ** (1/r)`` the root of
a negative number, NaN. Clamping (as LEAF does for alpha and r) leaves the gradient zero while a raw value
sits outside its range, which is the intended behaviour of a box constraint.

The smoother ``M`` is a first-order recursion over thousands of frames (6000 for 60 s at 10 ms). It is
evaluated exactly by a chunked scan: within a chunk of ``_CHUNK`` frames, a matrix of decay powers
``(1 - s) ** (i - j)`` (all in [0, 1], so nothing overflows whatever the input length; a closed form with
``(1 - s) ** -t`` would overflow after a few thousand frames), and a short loop carries the state from chunk
to chunk. This is causal, so zero frames appended by batch padding never change the valid frames.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

ALPHA_RANGE = (0.0, 1.0)
DELTA_MIN = 1e-3
ROOT_MIN = 1.0
SMOOTH_RANGE = (1e-3, 1.0)
_CHUNK = 64


class LogCompression(nn.Module):
    """``log(x + eps)``: the fixed compression of log-mel (no parameters)."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        if eps <= 0:
            raise ValueError(f"LogCompression needs eps > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return torch.log(x + self.eps)

    def parameters_for_inspection(self) -> dict[str, Tensor]:
        return {}

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"


def _decay_scan(u: Tensor, decay: Tensor, init: Tensor, chunk: int) -> Tensor:
    """``out[..., t] = decay * out[..., t-1] + u[..., t]`` with ``out[..., -1] = init``.

    ``u``: ``[B, C, T]``; ``decay``: ``[C]`` in [0, 1]; ``init``: ``[B, C]``. Chunks of ``chunk`` steps are
    solved with a lower-triangular matrix of decay powers; the states carried between chunks follow the same
    recursion with decay ``decay ** chunk``, solved by recursing on the (``chunk`` times shorter) sequence.
    Only powers in [0, 1] appear, so nothing overflows whatever the length.
    """
    batch, channels, steps = u.shape
    n = min(chunk, steps)
    idx = torch.arange(n, device=u.device, dtype=u.dtype)
    diff = idx[:, None] - idx[None, :]  # i - j
    d = decay.to(u.dtype)
    # [C, n, n] with decay^(i - j) on and below the diagonal (pow(0, 0) = 1 and its gradient is defined).
    powers = torch.pow(d[:, None, None], diff.clamp(min=0)[None]) * (diff >= 0).to(u.dtype)[None]
    into = torch.pow(d[:, None], idx[None, :] + 1)  # [C, n]: decay of the carried-in state at step i
    n_chunks = -(-steps // n)
    padded = torch.nn.functional.pad(u, (0, n_chunks * n - steps))
    chunks = padded.reshape(batch, channels, n_chunks, n)
    # local[b, c, k, i] = sum_j powers[c, i, j] u[b, c, k, j]: one batched product per channel (a broadcast
    # matmul against powers.unsqueeze(0) copied powers B times: 97 ms of copies at 256 x 1 s, 40 filters)
    local = torch.einsum("bckj,cij->bcki", chunks, powers)
    if n_chunks == 1:
        carried = init.unsqueeze(-1)
    else:
        ends = _decay_scan(local[..., -1], torch.pow(d, n), init, chunk)  # state after each chunk
        carried = torch.cat([init.unsqueeze(-1), ends[..., :-1]], dim=-1)  # state entering each chunk
    out = local + carried.unsqueeze(-1) * into[None, :, None, :]
    return out.reshape(batch, channels, n_chunks * n)[..., :steps]


def exponential_moving_average(x: Tensor, smooth: Tensor, chunk: int = _CHUNK) -> Tensor:
    """``M[..., t] = (1 - s) M[..., t-1] + s x[..., t]`` with ``M[..., 0] = x[..., 0]``, over the last axis.

    Args:
        x: ``[B, C, F]``.
        smooth: ``[C]`` coefficients in [0, 1].
    Exact (no truncation of the recursion) and stable for any length: only powers of ``1 - s`` in [0, 1]
    appear. Differentiable with respect to ``x`` and ``smooth``.
    """
    batch, channels, frames = x.shape
    if frames == 0:
        return x
    s = smooth.to(x.dtype).reshape(channels)
    # M[0] = x[0] is the recursion started from the state x[0] before the first frame.
    return _decay_scan(x * s[None, :, None], 1.0 - s, x[:, :, 0], chunk)


class PCEN(nn.Module):
    """Learnable per-channel energy normalisation of energies ``[B, C, F]`` (see the module docstring).

    Args:
        n_channels: number of channels ``C``.
        alpha, smooth, delta, root: initial values (LEAF: 0.96, 0.04, 2.0, 2.0, i.e. ``r = 1 / root = 0.5``).
        floor: added to the smoother before the power ``alpha``.
        learn_smooth: learn ``s`` (sPCEN) or keep it fixed (PCEN).
        per_channel_smooth: one ``s`` per channel (else one shared ``s``).
        learnable: learn alpha, delta and root (else all are fixed buffers).
    """

    def __init__(
        self,
        n_channels: int,
        alpha: float = 0.96,
        smooth: float = 0.04,
        delta: float = 2.0,
        root: float = 2.0,
        floor: float = 1e-12,
        learn_smooth: bool = True,
        per_channel_smooth: bool = True,
        learnable: bool = True,
    ):
        super().__init__()
        if n_channels < 1:
            raise ValueError(f"PCEN needs n_channels >= 1, got {n_channels}")
        checks = {
            "alpha": (alpha, ALPHA_RANGE[0] <= alpha <= ALPHA_RANGE[1], f"in [{ALPHA_RANGE[0]}, {ALPHA_RANGE[1]}]"),
            "smooth": (smooth, SMOOTH_RANGE[0] <= smooth <= SMOOTH_RANGE[1], f"in [{SMOOTH_RANGE[0]}, {SMOOTH_RANGE[1]}]"),
            "delta": (delta, delta >= DELTA_MIN, f">= {DELTA_MIN}"),
            "root": (root, root >= ROOT_MIN, f">= {ROOT_MIN}"),
            "floor": (floor, floor > 0, "> 0"),
        }
        for name, (value, ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"PCEN {name} must be {expected}, got {value}")
        self.n_channels = n_channels
        self.floor = float(floor)
        self.learn_smooth = learn_smooth and learnable
        self.per_channel_smooth = per_channel_smooth

        def make(name: str, value: float, size: int, trainable: bool) -> None:
            tensor = torch.full((size,), float(value))
            if trainable:
                setattr(self, name, nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)

        make("alpha", alpha, n_channels, learnable)
        make("delta", delta, n_channels, learnable)
        make("root", root, n_channels, learnable)
        make("smooth", smooth, n_channels if per_channel_smooth else 1, self.learn_smooth)

    # ---- effective (constrained) values ------------------------------------------------------------
    def effective_alpha(self) -> Tensor:
        return self.alpha.clamp(*ALPHA_RANGE)

    def effective_delta(self) -> Tensor:
        return self.delta.clamp(min=DELTA_MIN)

    def effective_root(self) -> Tensor:
        return self.root.clamp(min=ROOT_MIN)

    def effective_smooth(self) -> Tensor:
        return self.smooth.clamp(*SMOOTH_RANGE).expand(self.n_channels)

    def parameters_for_inspection(self) -> dict[str, Tensor]:
        """Per-channel effective values ``[C]``: alpha, delta, r (= 1 / root, the exponent) and s."""
        with torch.no_grad():
            return {
                "alpha": self.effective_alpha().detach().clone(),
                "delta": self.effective_delta().detach().clone(),
                "r": (1.0 / self.effective_root()).detach().clone(),
                "s": self.effective_smooth().detach().clone(),
            }

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """``x``: ``[B, C, F]`` nonnegative energies -> ``[B, C, F]``. ``lengths`` is unused (causal)."""
        if x.dim() != 3 or x.shape[1] != self.n_channels:
            raise ValueError(f"PCEN expects energies [batch, {self.n_channels}, frames], got {tuple(x.shape)}")
        alpha = self.effective_alpha().to(x.dtype)[None, :, None]
        delta = self.effective_delta().to(x.dtype)[None, :, None]
        inv_root = (1.0 / self.effective_root()).to(x.dtype)[None, :, None]
        smoother = exponential_moving_average(x, self.effective_smooth())
        # x / (floor + M)^alpha in log space: (floor + M) > 0 always, so this is finite.
        normalised = x * torch.exp(-alpha * torch.log(smoother + self.floor))
        return (normalised + delta).pow(inv_root) - delta.pow(inv_root)

    def extra_repr(self) -> str:
        return (
            f"n_channels={self.n_channels}, learn_smooth={self.learn_smooth}, "
            f"per_channel_smooth={self.per_channel_smooth}, floor={self.floor:g}"
        )


COMPRESSIONS = ("log", "pcen", "spcen")


def build_compression(kind: str, n_channels: int, **kw) -> nn.Module:
    """The compressions of LEAF's Table 2: ``log``, ``pcen`` (fixed s) or ``spcen`` (s learned per channel).

    ``kw`` go to :class:`LogCompression` (``eps``) or :class:`PCEN` (initial values, ``floor``,
    ``learnable``); keys that do not apply to ``kind`` are an error.
    """
    if kind == "log":
        return LogCompression(**kw)
    if kind == "pcen":
        return PCEN(n_channels, **{"learn_smooth": False, **kw})
    if kind == "spcen":
        return PCEN(n_channels, **{"learn_smooth": True, "per_channel_smooth": True, **kw})
    raise ValueError(f"unknown compression {kind!r}; choose one of: {', '.join(COMPRESSIONS)}")
