"""A frontend on a live stream: push chunks of any size, get each frame as soon as it is final.

    stream = FrameStream(frontend)          # or audiofront.streaming.stream(frontend)
    for chunk in chunks:                    # [T] or [B, T] float samples, any T (1 included)
        frames = stream.push(chunk)         # [n, D] (or [B, n, D]): the frames that became final
    frames = stream.flush()                 # the end frames (from the implicit zero padding); resets

The concatenated frames equal ``frontend(whole_signal)`` (same count, ``num_frames(length)``; same values up to
float rounding, see tests/streaming/). Frame ``k`` comes out of the push that brings sample
``k * frame_shift + lookahead`` (:attr:`FrameStream.lookahead`).

How: the stream keeps the samples the next frames can still read, from a multiple of the hop (so that the
frontend's frames on that window line up with the offline ones). When frames become final it runs the
frontend's own computation (:attr:`.plans.StreamPlan.frames`) on that window and keeps only the frames whose
whole receptive field lies inside it (or, at the true start of the signal, whose left zero padding is real);
then it drops the samples no later frame reads. The recursive stage (PCEN) continues from its carried state.
Cost per frame: one frontend pass over about ``past + hop + lookahead`` samples. Runs without gradients.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional

import torch
from torch import Tensor

from ..errors import UserError
from ..frontends.base import Frontend
from .plans import StreamPlan, plan_for


class FrameStream:
    """Streaming form of ``frontend`` (see the module docstring). One stream per signal (or per batch of
    signals pushed together, ``[B, T]`` chunks of the same length); :meth:`flush` ends it and starts afresh."""

    def __init__(self, frontend: Frontend, plan: Optional[StreamPlan] = None):
        self.frontend = frontend
        self.plan = plan if plan is not None else plan_for(frontend)
        self.reset()

    # ---- what the stream states --------------------------------------------------------------------
    @property
    def lookahead(self) -> int:
        """Samples past frame ``k``'s anchor ``k * frame_shift`` that must arrive before frame ``k`` is final."""
        return self.plan.lookahead

    @property
    def anchor(self) -> str:
        """``"centre"`` (sample ``k * frame_shift`` is frame ``k``'s centre) or ``"start"`` (its first sample)."""
        return self.plan.anchor

    @property
    def frame_shift(self) -> int:
        return self.plan.hop

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def samples_received(self) -> int:
        return self._received

    @property
    def frames_emitted(self) -> int:
        return self._emitted

    @property
    def samples_buffered(self) -> int:
        """Samples kept for the next frames: after a push, at most ``past + lookahead + frame_shift - 1``."""
        return 0 if self._buffer is None else self._buffer.shape[1]

    # ---- the calls ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything pushed so far (samples, emitted frames, PCEN state): the next push starts a signal."""
        self._buffer: Optional[Tensor] = None  # [B, n]: samples from global index self._start on
        self._start = 0
        self._received = 0
        self._emitted = 0
        self._state: Optional[Tensor] = None
        self._batched: Optional[bool] = None

    def push(self, chunk: Any) -> Tensor:
        """Append ``chunk`` (``[T]`` or ``[B, T]`` float samples) and return the frames that became final:
        ``[n, D]`` for ``[T]`` chunks, ``[B, n, D]`` for ``[B, T]`` (``n`` may be 0)."""
        x = self._check(chunk)
        self._buffer = x if self._buffer is None else torch.cat([self._buffer, x], dim=1)
        self._received += x.shape[1]
        return self._emit(self._ready(self._received))

    def flush(self) -> Tensor:
        """The remaining frames of the signal pushed so far, as if it were followed by zeros (the offline
        padding); then :meth:`reset`. Same shape convention as :meth:`push`."""
        try:
            return self._emit(self.plan.num_frames(self._received))
        finally:
            self.reset()

    # ---- internals ---------------------------------------------------------------------------------
    def _ready(self, received: int) -> int:
        """Frames whose last sample read has arrived: ``k * hop + lookahead <= received - 1``."""
        last = received - 1 - self.plan.lookahead
        if last < 0:
            return 0
        ready = last // self.plan.hop + 1
        # the frame count only matters when new frames are due (and costs more than a 1-sample push)
        return ready if ready <= self._emitted else min(ready, self.plan.num_frames(received))

    def _window_start(self, frame: int) -> int:
        """First sample of the window for frames ``frame, ...``: a multiple of the hop at or before the first
        sample frame ``frame`` reads (0 when that lies before the signal: the left zero padding is real)."""
        first = frame * self.plan.hop - self.plan.past
        return 0 if first <= 0 else (first // self.plan.hop) * self.plan.hop

    def _empty(self) -> Tensor:
        batch = 1 if self._buffer is None else self._buffer.shape[0]
        dtype = torch.float32 if self._buffer is None else self._buffer.dtype
        device = None if self._buffer is None else self._buffer.device
        out = torch.zeros(batch, 0, self.frontend.output_dim, dtype=dtype, device=device)
        return out if self._batched else out[0]

    def _emit(self, upto: int) -> Tensor:
        if upto <= self._emitted or self._buffer is None:
            return self._empty()
        hop = self.plan.hop
        start = self._window_start(self._emitted)
        window = self._buffer[:, start - self._start :]
        with torch.no_grad():
            frames = self.plan.frames(window)
            first, last = self._emitted - start // hop, upto - start // hop
            if frames.shape[1] < last:
                raise RuntimeError(
                    f"{type(self.frontend).__name__}: {frames.shape[1]} frames on a {window.shape[1]}-sample window, "
                    f"{last} expected (a bug in its streaming plan)"
                )
            frames = frames[:, first:last]
            if self.plan.finish is not None:
                frames, self._state = self.plan.finish(frames, self._state)
        self._emitted = upto
        keep = self._window_start(upto)
        self._buffer = self._buffer[:, keep - self._start :]
        self._start = keep
        return frames if self._batched else frames[0]

    def _check(self, chunk: Any) -> Tensor:
        name = getattr(self.frontend, "name", "") or type(self.frontend).__name__
        try:
            x = chunk if isinstance(chunk, Tensor) else torch.as_tensor(chunk)
        except (TypeError, ValueError, RuntimeError):
            raise UserError(f"{name} stream: a chunk must be a tensor or array of samples, got {type(chunk).__name__}") from None
        if x.dim() not in (1, 2):
            raise UserError(f"{name} stream: a chunk must be [samples] or [batch, samples], got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise UserError(
                f"{name} stream: chunks must be floating point samples in [-1, 1], got {x.dtype}"
                + (" (divide int16 audio by 32768)" if x.dtype == torch.int16 else "")
            )
        batched = x.dim() == 2
        if self._batched is not None and batched != self._batched:
            raise UserError(
                f"{name} stream: this stream was fed {'[batch, samples]' if self._batched else '[samples]'} chunks; "
                f"got shape {tuple(x.shape)} (call reset() to start another kind of stream)"
            )
        x = x if batched else x.unsqueeze(0)
        if self._buffer is not None and x.shape[0] != self._buffer.shape[0]:
            raise UserError(
                f"{name} stream: chunks must keep the batch size {self._buffer.shape[0]}, got {x.shape[0]}"
            )
        if not bool(torch.isfinite(x).all()):
            raise UserError(
                f"{name} stream: the chunk starting at sample {self._received} holds NaN or infinite samples; "
                "audio must be finite samples in [-1, 1]"
            )
        self._batched = batched
        # as Frontend.forward does: compute in the frontend's own dtype (float64 audio into a float32 frontend),
        # and on its device (chunks usually come from a CPU audio reader); looked up once per signal
        if self._buffer is None:
            self._dtype, self._device = _dtype_and_device(self.frontend)
        return x.detach().to(device=self._device, dtype=self._dtype)


def _dtype_and_device(frontend: Frontend) -> tuple[torch.dtype, torch.device]:
    # the tensor Frontend.compute_dtype reads its dtype from also says where the frontend lives
    first = next((t for t in itertools.chain(frontend.parameters(), frontend.buffers()) if t.is_floating_point()), None)
    return frontend.compute_dtype(), (first.device if first is not None else torch.device("cpu"))
