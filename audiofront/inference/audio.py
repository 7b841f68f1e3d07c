"""A user's own audio files for a trained model: listed, read at any rate and channel count, cut into chunks.

    files = list_audio_files(["talk.flac", "recordings/"])     # directories are searched recursively
    audio = read_audio("talk.flac", sample_rate=16000)          # mono float32 at the model's rate
    for start, piece in chunks(audio.samples, 16000, max_seconds=30.0): ...

A recording at another rate is resampled with the polyphase lowpass of :func:`audiofront.data.synth.resample`
and several channels are averaged to one; :class:`AudioNotes` collects what was done so that a command can
say it once for all its files rather than once per file.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import UserError

# the containers libsndfile reads (soundfile.available_formats), by extension
AUDIO_EXTENSIONS = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64", ".rf64", ".sph", ".nist",
)


@dataclass
class Audio:
    path: Path
    samples: np.ndarray  # [T] float32 in [-1, 1] at ``sample_rate``
    sample_rate: int
    source_rate: int
    source_channels: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.sample_rate


@dataclass
class AudioNotes:
    """The conversions done over a run: source rate -> file count, and how many files were downmixed."""

    resampled: dict[int, int] = field(default_factory=dict)
    downmixed: dict[int, int] = field(default_factory=dict)

    def add(self, audio: Audio) -> None:
        if audio.source_rate != audio.sample_rate:
            self.resampled[audio.source_rate] = self.resampled.get(audio.source_rate, 0) + 1
        if audio.source_channels > 1:
            self.downmixed[audio.source_channels] = self.downmixed.get(audio.source_channels, 0) + 1

    def summary(self, sample_rate: int) -> list[str]:
        """One line per kind of conversion, e.g. ``resampled to 16000 Hz: 2 files at 44100 Hz, 1 at 8000 Hz``."""
        lines = []
        if self.resampled:
            parts = ", ".join(f"{n} file{'s' * (n > 1)} at {sr} Hz" for sr, n in sorted(self.resampled.items()))
            lines.append(f"resampled to the model's {sample_rate} Hz: {parts}")
        if self.downmixed:
            parts = ", ".join(f"{n} file{'s' * (n > 1)} with {c} channels" for c, n in sorted(self.downmixed.items()))
            lines.append(f"mixed down to mono: {parts}")
        return lines


def list_audio_files(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The files named, and the audio files (by extension, sorted) under each directory named, each file once.

    A name that does not exist is kept in the list, so that reading it reports it like any other
    unreadable file; a directory without audio files is an error.
    """
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                raise UserError(f"{p} is a directory with no audio files (looked for {', '.join(AUDIO_EXTENSIONS)})")
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise UserError("no audio files given")
    # a file named twice (or a folder and a file in it) is read once
    seen, unique = set(), []
    for p in out:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def read_audio(path: str | os.PathLike, sample_rate: int) -> Audio:
    """Mono float32 samples of ``path`` at ``sample_rate``; :class:`UserError` naming the file when unreadable."""
    import soundfile as sf

    from ..data.synth import resample

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not an audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise UserError(f"{path}: not a readable audio file ({reason})") from None
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror or e})") from None
    if data.shape[0] == 0:
        raise UserError(f"{path}: the audio is empty (0 samples)")
    channels = int(data.shape[1])
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise UserError(f"{path}: the audio holds NaN or infinite samples")
    samples = resample(mono, int(rate), int(sample_rate))
    return Audio(path, np.ascontiguousarray(samples, dtype=np.float32), int(sample_rate), int(rate), channels)


def chunks(
    samples: np.ndarray, sample_rate: int, max_seconds: float = 30.0, search_seconds: float = 2.0, min_seconds: float = 1.0
) -> Iterator[tuple[int, np.ndarray]]:
    """``(start sample, piece)`` of at most ``max_seconds`` each, covering ``samples`` exactly once.

    Each cut is put at the quietest 25 ms within the last ``search_seconds`` before the limit, so that
    it falls in a pause rather than inside a word where it can. A remainder shorter than ``min_seconds``
    stays with the piece before it (which may then pass the limit by that much): a sliver of audio is
    shorter than some frontends' windows and holds no word.
    """
    if not max_seconds > 0:
        raise UserError(f"--chunk-seconds must be a positive number of seconds, got {max_seconds}")
    limit = max(1, int(round(max_seconds * sample_rate)))
    frame = max(1, int(0.025 * sample_rate))
    search = min(int(search_seconds * sample_rate), limit // 2)
    start, n = 0, samples.shape[0]
    while start < n:
        end = start + limit
        if end < n and search >= frame:
            lo = end - search
            window = samples[lo:end].astype(np.float64)
            energy = np.convolve(window**2, np.ones(frame), mode="valid")  # energy of each 25 ms span
            end = lo + int(np.argmin(energy)) + frame // 2
        if n - end < min_seconds * sample_rate:
            end = n
        yield start, samples[start:end]
        start = end


def unique_ids(paths: Iterable[Path]) -> list[str]:
    """One-word ids for Kaldi ``text``, distinct for distinct paths: the file stem; where stems clash, the path
    without its extension; where that clashes too (``take.wav`` beside ``take.flac``), the whole path; what still
    clashes (``a-b.wav`` beside ``a/b.wav``) gets ``_2``, ``_3``, ... in order."""
    paths = list(paths)

    def word(name: str) -> str:
        return "_".join(name.replace(os.sep, "/").strip("/").replace("/", "-").split()) or "file"

    ids = [word(p.stem) for p in paths]
    for longer in (lambda p: str(p.with_suffix("")), str):
        clash = {i for i, n in Counter(ids).items() if n > 1}
        ids = [word(longer(p)) if i in clash else i for p, i in zip(paths, ids)]
    taken, out = set(), []
    for i in ids:
        new, k = i, 1
        while new in taken:
            k += 1
            new = f"{i}_{k}"
        taken.add(new)
        out.append(new)
    return out
