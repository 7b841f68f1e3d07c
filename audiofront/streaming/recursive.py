"""PCEN / sPCEN over a stream: the smoother's state carried from chunk to chunk.

Offline, :class:`.frontends.compression.PCEN` evaluates the smoother ``M[t] = (1 - s) M[t-1] + s E[t]``
(``M[0] = E[0]``) as one exact scan over the whole sequence. A stream cannot recompute that scan every chunk
(it would need every past frame); it continues the same recursion from the last state instead, with the same
chunked scan (``_decay_scan``, whose ``init`` is the state entering the first frame). The arithmetic is the
same recursion, grouped differently, so a stream agrees with the offline frames up to float rounding.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..frontends.compression import _CHUNK, PCEN, _decay_scan


def pcen_continue(pcen: PCEN, energies: Tensor, state: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """PCEN of the next frames ``[B, C, n]`` of a stream given the smoother ``state`` ``[B, C]`` after the
    previous frame (``None`` before the first one). Returns the compressed frames ``[B, C, n]`` and the state
    after the last of them; the formula is that of :meth:`PCEN.forward`."""
    s = pcen.effective_smooth().to(energies.dtype)
    if state is None:
        # M[0] = E[0]: the recursion entered from the state E[0], as the offline scan starts it
        state = energies[:, :, 0]
    smoother = _decay_scan(energies * s[None, :, None], 1.0 - s, state, _CHUNK)
    alpha = pcen.effective_alpha().to(energies.dtype)[None, :, None]
    delta = pcen.effective_delta().to(energies.dtype)[None, :, None]
    inv_root = (1.0 / pcen.effective_root()).to(energies.dtype)[None, :, None]
    normalised = energies * torch.exp(-alpha * torch.log(smoother + pcen.floor))
    out = (normalised + delta).pow(inv_root) - delta.pow(inv_root)
    return out, smoother[:, :, -1]


class CompressionStage:
    """The recursive last stage of a stream: PCEN/sPCEN on ``[B, n, C]`` frames with its carried state."""

    def __init__(self, pcen: PCEN):
        self.pcen = pcen

    def __call__(self, frames: Tensor, state: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        out, state = pcen_continue(self.pcen, frames.transpose(1, 2), state)
        return out.transpose(1, 2), state
