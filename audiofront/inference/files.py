"""Run one function over many audio files: a bad file is reported in one line and skipped, not fatal.

``for_each_file`` reads every file at the model's rate, calls ``fn(audio)``, shows a progress bar on
stderr for more than one file, and returns the results, the failures (``(path, message)``) and the
conversions made (:class:`.audio.AudioNotes`), which the caller reports once at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence, TypeVar

from ..errors import UserError
from .audio import Audio, AudioNotes, read_audio

T = TypeVar("T")


def for_each_file(
    files: Sequence[Path],
    sample_rate: int,
    fn: Callable[[Audio], T],
    on_error: Callable[[Path, str], None],
    progress: bool = True,
) -> tuple[dict[Path, T], list[tuple[Path, str]], AudioNotes]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    results: dict[Path, T] = {}
    failures: list[tuple[Path, str]] = []
    notes = AudioNotes()
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True, disable=not progress or len(files) < 2)
    with bar:
        job = bar.add_task("files", total=len(files))
        for path in files:
            try:
                audio = read_audio(path, sample_rate)
                notes.add(audio)
                results[path] = fn(audio)
            except UserError as e:  # this file's problem: say so and go on with the others
                msg = str(e) if str(path) in str(e) else f"{path}: {e}"
                failures.append((path, msg))
                on_error(path, msg)
            bar.advance(job)
    return results, failures, notes
