"""How each frontend streams: which samples a frame reads, and what part of it carries state.

A :class:`StreamPlan` says, for frames ``k = 0, 1, ...`` anchored on sample ``k * hop`` (the frame's centre for
the centred frontends, its first sample for the ``snip_edges`` / valid-convolution ones), that frame ``k`` reads
no sample before ``k * hop - past`` and none after ``k * hop + lookahead`` (of the signal zero-extended on both
sides), and gives the function ``frames`` that computes the bounded-window part of the frontend on a waveform.
A frame is therefore final as soon as sample ``k * hop + lookahead`` has arrived: ``lookahead`` is the
frontend's latency in samples past the anchor.

The extents come from the built frontend (its config and its fixed windows): a fixed window whose end taps
are exactly zero (Hann) does not read the samples under them, so those do not count. Learned filters count
all their taps.

``frames`` is the frontend's own computation, so a stream is correct by construction; only PCEN's smoother,
a recursion over all past frames, is taken out of ``frames`` and continued with its state
(:mod:`.recursive`). Frontends with statistics over the whole utterance (2dconv's waveform normalisation,
wav2vec's group norm over time) have no plan: :func:`plan_for` refuses them, saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor

from ..errors import UserError
from ..frontends.base import Frontend
from ..frontends.compression import PCEN
from .recursive import CompressionStage


class StreamingNotSupported(UserError):
    """The frontend (in this configuration) cannot produce on a stream the frames it produces offline."""


@dataclass(frozen=True)
class StreamPlan:
    """What a stream needs to know about a frontend (see the module docstring).

    hop: frame shift in samples; past, lookahead: the samples frame ``k`` reads lie in
    ``[k * hop - past, k * hop + lookahead]``; anchor: ``"centre"`` or ``"start"`` (what sample ``k * hop`` is to
    frame ``k``); frames: ``[B, T] -> [B, num_frames(T), D']``, the frontend up to its recursive stage;
    num_frames: the frontend's frame count for ``T`` samples; finish: the recursive stage
    ``(frames [B, n, D'], state) -> (frames [B, n, D], state)``, or ``None``.
    """

    hop: int
    past: int
    lookahead: int
    anchor: str
    frames: Callable[[Tensor], Tensor]
    num_frames: Callable[[int], int]
    finish: Optional[Callable[[Tensor, Optional[Tensor]], tuple[Tensor, Tensor]]] = None


def _nonzero_extent(window: Tensor, centre: int) -> tuple[int, int]:
    """(taps before, taps after) ``centre`` up to the first and last nonzero tap of a fixed window."""
    nz = torch.nonzero(window.detach().reshape(-1)).reshape(-1)
    if nz.numel() == 0:
        return 0, 0
    return centre - int(nz[0]), int(nz[-1]) - centre


def _count(frontend: Frontend) -> Callable[[int], int]:
    return lambda n: int(frontend.num_frames(torch.tensor([n]))[0])


def _centred(frontend: Frontend, past: int, lookahead: int, frames, finish=None) -> StreamPlan:
    return StreamPlan(frontend.frame_shift, past, lookahead, "centre", frames, _count(frontend), finish)


def _compressed(frontend: Frontend, energies: Callable[[Tensor], Tensor]):
    """``(frames, finish)`` for ``energies [B, C, F] -> compression``: PCEN becomes the recursive stage."""
    compression = frontend.compression
    if isinstance(compression, PCEN):
        return (lambda w: energies(w).transpose(1, 2)), CompressionStage(compression)
    return (lambda w: compression(energies(w)).transpose(1, 2)), None


def _centred_compressed(frontend: Frontend, past: int, lookahead: int, energies: Callable[[Tensor], Tensor],
                        floor: float) -> StreamPlan:
    """A centred plan for ``energies`` floored at ``floor``, then the frontend's compression (see :func:`_compressed`)."""
    frames, finish = _compressed(frontend, lambda w: energies(w).clamp(min=floor))
    return _centred(frontend, past, lookahead, frames, finish)


# ---- one plan per registry frontend -----------------------------------------------------------------------
def _mel(fe) -> StreamPlan:
    # STFT frames centred on k * hop: window tap i reads sample k * hop + i - n_fft // 2
    past, ahead = _nonzero_extent(fe.energies.window, fe.energies.n_fft // 2)
    return _centred(fe, past, ahead, fe.compute)


def _mel_pcen(fe) -> StreamPlan:
    past, ahead = _nonzero_extent(fe.energies.window, fe.energies.n_fft // 2)
    return _centred_compressed(fe, past, ahead, fe.energies, fe.config.energy_floor)


def _leaf(fe) -> StreamPlan:
    # K-tap Gabor filters around each output, K-tap Gaussian pooling of the outputs around the centre
    reach = 2 * (fe.config.window_length // 2)
    energies = fe.energies
    if fe.config.impl == "decimated":
        # the decimated approximation's band-limited filters are not K taps long: stream the exact LEAF (same
        # parameters), whose frames are final after `reach` samples
        def energies(w):
            return fe.energies(w, impl="fast")
    return _centred_compressed(fe, reach, reach, energies, fe.config.energy_floor)


def _tdfbanks(fe) -> StreamPlan:
    half = fe.config.window_length // 2  # learned taps: all count
    pool_past, pool_ahead = _nonzero_extent(fe.pool_window[0, 0], half)  # squared Hann: zero end taps
    return _centred(fe, half + pool_past, half + pool_ahead, fe.compute)


def _sincnet(fe) -> StreamPlan:
    reach = 2 * (fe.config.window_length // 2)  # sinc filters, then max-pool, both window_length taps
    return _centred(fe, reach, reach, fe.compute)


def _sincnet_plus(fe) -> StreamPlan:
    reach = 2 * (fe.config.window_length // 2)
    return _centred_compressed(fe, reach, reach, fe.pooled, fe.config.floor)


def _fbank(fe) -> StreamPlan:
    # snip_edges frames: frame k is samples k * hop .. k * hop + window_length - 1 (DC removal reads them all)
    return StreamPlan(fe.frame_shift, 0, fe.window_length - 1, "start", fe.compute, _count(fe))


def _scf(fe) -> StreamPlan:
    c = fe.config
    half = c.kernel_size // 2  # first-layer frame t reads samples hop t - half .. hop t - half + kernel - 1
    left = c.envelope_size // 2  # envelope frame j reads first-layer frames stride j - left .. + size - 1 - left
    past = left * c.hop_length + half
    ahead = (c.envelope_size - 1 - left) * c.hop_length + (c.kernel_size - 1 - half)
    return _centred(fe, past, ahead, fe.compute)


def _2dconv(fe) -> StreamPlan:
    c = fe.config
    if c.normalize:
        raise StreamingNotSupported(
            "2dconv with normalize=true cannot stream: it scales the waveform by the mean and variance of the whole "
            "utterance, known only at its end; build (and train) it with normalize=false to stream it exactly"
        )
    if c.first_layer == "conv":
        half = c.kernel_size // 2
        first_past, first_ahead = half, c.kernel_size - 1 - half
    else:
        first_past, first_ahead = _nonzero_extent(fe.window, c.n_fft // 2)
    # each stride-2 3x3 conv reads frames 2i - 1 .. 2i + 1 of the layer below: 2**n - 1 first-layer frames each side
    reach = (2 ** len(fe.convs) - 1) * c.hop_length
    return _centred(fe, reach + first_past, reach + first_ahead, fe.compute)


def _wav2vec(fe) -> StreamPlan:
    if getattr(fe.config, "norm", "group") == "group":
        raise StreamingNotSupported(
            "wav2vec cannot stream: the group norm after its first layer normalises each channel by its mean and "
            "variance over the whole utterance, known only at its end"
            + ("; build (and train) it with norm=layer (per-frame layer norms) to stream it exactly"
               if hasattr(fe.config, "norm") else "")
        )
    # valid convolutions, no padding: frame k is samples k * hop .. k * hop + receptive field - 1
    return StreamPlan(fe.frame_shift, 0, fe.min_samples - 1, "start", fe.compute, _count(fe))


PLANS: dict[str, Callable[[Frontend], StreamPlan]] = {
    "mel": _mel,
    "mfcc": _mel,
    "mel-pcen": _mel_pcen,
    "leaf": _leaf,
    "tdfbanks": _tdfbanks,
    "sincnet": _sincnet,
    "sincnet+": _sincnet_plus,
    "fbank": _fbank,
    "scf": _scf,
    "2dconv": _2dconv,
    "wav2vec": _wav2vec,
}


def plan_for(frontend: Frontend) -> StreamPlan:
    """The :class:`StreamPlan` of a built frontend; :class:`StreamingNotSupported` (one line, why) if it has none.

    A frontend outside this table can stream by defining ``streaming_plan() -> StreamPlan`` itself.
    """
    own = getattr(frontend, "streaming_plan", None)
    if callable(own):
        return own()
    name = getattr(frontend, "name", "") or type(frontend).__name__
    build = PLANS.get(name)
    if build is None:
        raise StreamingNotSupported(
            f"frontend {name!r} has no streaming plan; frontends that stream: {', '.join(sorted(PLANS))}"
        )
    return build(frontend)
