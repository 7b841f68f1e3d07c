"""Streaming transcription of a long file, to show the streaming API end to end:

    soundfile blocks -> streaming frontend (:class:`.stream.FrameStream`) -> encoder on windows of frames
    -> greedy CTC, repeats merged across window boundaries

The frontend part is exact: its frames are those of the whole file. The encoder (a Conformer: self-attention
over all its input frames) is not streamed; it runs on consecutive windows of ``window_frames`` frames, each
normalised by its own statistics when the model normalises features per utterance, so its output is close to,
not equal to, that of the whole file at once (equal when one window holds the whole file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import UserError
from .stream import FrameStream


def read_blocks(path: str | Path, block_samples: int, sample_rate: int) -> Iterator[np.ndarray]:
    """The mono float32 samples of ``path`` in blocks of ``block_samples`` (the last one shorter), read one block
    at a time; a file at another sample rate or with several channels is refused (one line, naming it)."""
    import soundfile as sf

    if block_samples < 1:
        raise UserError(f"the chunk size must be at least 1 sample, got {block_samples}")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"audio file {path} does not exist")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as e:
        raise UserError(f"{path} is not an audio file soundfile can read ({e})") from None
    if info.samplerate != sample_rate:
        raise UserError(f"{path} is at {info.samplerate} Hz but the model's frontend expects {sample_rate} Hz; resample it")
    if info.channels != 1:
        raise UserError(f"{path} has {info.channels} channels; the frontends take mono audio (mix it down first)")
    for block in sf.blocks(str(path), blocksize=block_samples, dtype="float32", always_2d=False):
        yield block


class WindowedCtc:
    """Greedy CTC of a :class:`~audiofront.models.ctc.CtcModel`'s encoder run on consecutive windows of
    ``window_frames`` frontend frames (rounded up to a multiple of the encoder's subsampling).

    ``push(frames [n, D]) -> new token ids``; ``flush() -> the last ones`` (the last, shorter window).
    """

    def __init__(self, model: nn.Module, window_frames: int):
        if window_frames < 1:
            raise UserError(f"the encoder window must hold at least 1 frame, got {window_frames}")
        factor = int(getattr(model.encoder, "factor", 1))
        self.model = model
        self.window_frames = -(-window_frames // factor) * factor
        self._pending: list[Tensor] = []
        self._count = 0
        self._last = None  # last best-path token of the previous window, for merging repeats across windows
        self.windows_run = 0

    def push(self, frames: Tensor) -> list[int]:
        self._pending.append(frames)
        self._count += frames.shape[0]
        tokens: list[int] = []
        while self._count >= self.window_frames:
            everything = torch.cat(self._pending)
            tokens += self._decode(everything[: self.window_frames])
            rest = everything[self.window_frames :]
            self._pending, self._count = [rest], rest.shape[0]
        return tokens

    def flush(self) -> list[int]:
        tokens = self._decode(torch.cat(self._pending)) if self._count else []
        self._pending, self._count, self._last = [], 0, None
        return tokens

    def _decode(self, frames: Tensor) -> list[int]:
        from ..models.ctc import utterance_normalize

        model = self.model
        device = next(model.parameters()).device
        feats = frames.unsqueeze(0).to(device)
        lens = torch.tensor([feats.shape[1]], device=device)
        with torch.no_grad():
            if model.normalize:
                feats = utterance_normalize(feats, lens)
            enc, enc_lens = model.encoder(feats, lens)
            best = model.output(enc)[0, : int(enc_lens[0])].argmax(dim=-1).tolist()
        self.windows_run += 1
        tokens = []
        for t in best:
            if t != self._last and t != 0:  # CTC blank is 0
                tokens.append(t)
            self._last = t
        return tokens


def transcribe_stream(model: nn.Module, frames_stream: FrameStream, blocks, window_frames: int) -> list[int]:
    """Token ids of the audio ``blocks`` pushed one by one through ``frames_stream`` (the model's frontend)
    and decoded by :class:`WindowedCtc`."""
    ctc = WindowedCtc(model, window_frames)
    tokens: list[int] = []
    for block in blocks:
        tokens += ctc.push(frames_stream.push(block))
    tokens += ctc.push(frames_stream.flush())
    return tokens + ctc.flush()
