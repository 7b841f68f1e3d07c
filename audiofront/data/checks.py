"""Validation of corpus files and the report of bad data.

Preparers never drop a file silently and never stop half-way because of one bad file: every problem is
recorded here with the file it concerns, the file is left out of the manifests, and at the end the
problems are printed as a rich table (counts per kind, then the files) and written in full to
``{out_dir}/{corpus}_report.txt``.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

# kind -> description. "resampled" is not an error: the file is kept and its cut is resampled.
ISSUE_KINDS = {
    "missing_audio": "transcript without audio (audio file missing)",
    "unreadable_audio": "unreadable audio",
    "empty_audio": "zero-length audio",
    "no_transcript": "audio without transcript",
    "empty_transcript": "empty transcript",
    "refused_rate": "wrong sample rate (refused)",
    "refused_channels": "not mono (refused)",
    "resampled": "wrong sample rate (kept, resampled in the cuts)",
}
KEPT_KINDS = {"resampled"}


@dataclass(frozen=True)
class Issue:
    kind: str
    path: str
    detail: str = ""


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    num_samples: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


class DataReport:
    """Problems found while preparing one corpus, by kind and file."""

    def __init__(self, corpus: str):
        self.corpus = corpus
        self.issues: list[Issue] = []
        self.notes: list[str] = []

    def add(self, kind: str, path: str | os.PathLike, detail: str = "") -> None:
        if kind not in ISSUE_KINDS:
            raise ValueError(f"unknown issue kind {kind!r}; known: {', '.join(ISSUE_KINDS)}")
        self.issues.append(Issue(kind, str(path), detail))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def counts(self) -> Counter:
        return Counter(i.kind for i in self.issues)

    def files(self, kind: str) -> list[str]:
        return [i.path for i in self.issues if i.kind == kind]

    @property
    def num_excluded(self) -> int:
        return sum(1 for i in self.issues if i.kind not in KEPT_KINDS)

    # ---- output ------------------------------------------------------------------------------------
    def to_text(self) -> str:
        counts = self.counts()
        lines = [f"# {self.corpus}: data report", ""]
        lines += [f"note: {n}" for n in self.notes]
        if self.notes:
            lines.append("")
        if not self.issues:
            lines.append("no problems found")
            return "\n".join(lines) + "\n"
        lines.append(f"{len(self.issues)} problem(s); {self.num_excluded} file(s) left out of the manifests")
        lines.append("")
        lines.append("count\tkind")
        for kind, desc in ISSUE_KINDS.items():
            if counts[kind]:
                lines.append(f"{counts[kind]}\t{desc}")
        lines.append("")
        lines.append("kind\tfile\tdetail")
        for issue in sorted(self.issues, key=lambda i: (list(ISSUE_KINDS).index(i.kind), i.path)):
            lines.append(f"{issue.kind}\t{issue.path}\t{issue.detail}")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | os.PathLike) -> Path:
        from ..utils.io import atomic_write_text

        path = Path(out_dir) / f"{self.corpus}_report.txt"
        atomic_write_text(path, self.to_text())
        return path

    def print(self, console=None, max_files: int = 10) -> None:
        """A rich table: one row per kind with its count and the first ``max_files`` files."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console(stderr=True)
        for n in self.notes:
            console.print(f"[dim]{self.corpus}: {n}[/dim]")
        if not self.issues:
            console.print(f"[green]{self.corpus}: no bad data found[/green]")
            return
        table = Table(title=f"{self.corpus}: bad data ({self.num_excluded} file(s) left out)")
        table.add_column("problem")
        table.add_column("count", justify="right")
        table.add_column("files", overflow="fold")
        counts = self.counts()
        for kind, desc in ISSUE_KINDS.items():
            if not counts[kind]:
                continue
            issues = [i for i in self.issues if i.kind == kind]
            shown = [f"{i.path}" + (f" ({i.detail})" if i.detail else "") for i in issues[:max_files]]
            if len(issues) > max_files:
                shown.append(f"... and {len(issues) - max_files} more (see the report file)")
            table.add_row(desc, str(counts[kind]), "\n".join(shown))
        console.print(table)


def probe_audio(path: str | os.PathLike) -> tuple[Optional[AudioInfo], Optional[Issue]]:
    """Header of one audio file, or the problem that prevents using it (missing, unreadable, empty)."""
    import soundfile as sf

    path = str(path)
    if not os.path.exists(path):  # also a dangling symlink
        return None, Issue("missing_audio", path, "file does not exist")
    if os.path.getsize(path) == 0:
        return None, Issue("empty_audio", path, "0 bytes")
    try:
        info = sf.info(path)
    except Exception as e:  # soundfile raises RuntimeError/LibsndfileError/TypeError for garbage
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, Issue("unreadable_audio", path, msg[:200])
    if info.frames <= 0:
        return None, Issue("empty_audio", path, "0 samples")
    return AudioInfo(path, int(info.samplerate), int(info.frames), int(info.channels)), None


def probe_many(paths: Iterable[str | os.PathLike], num_workers: int = 8) -> list[tuple[Optional[AudioInfo], Optional[Issue]]]:
    """:func:`probe_audio` for many files (threads: reading headers waits on the disk, not the CPU)."""
    paths = list(paths)
    if len(paths) < 64 or num_workers <= 1:
        return [probe_audio(p) for p in paths]
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        return list(pool.map(probe_audio, paths))


def check_format(
    info: AudioInfo,
    report: DataReport,
    sample_rate: Optional[int],
    on_wrong_rate: str = "resample",
    target_rate: Optional[int] = None,
) -> bool:
    """Record sample-rate and channel problems of a readable file; ``True`` if it is kept.

    ``sample_rate`` is the rate the corpus should have; ``on_wrong_rate``: ``"resample"`` keeps the file
    (its cut is resampled to ``target_rate``, default ``sample_rate``), ``"refuse"`` leaves it out with
    the reason in the report.
    """
    if on_wrong_rate not in ("resample", "refuse"):
        raise ValueError(f"on_wrong_rate must be 'resample' or 'refuse', got {on_wrong_rate!r}")
    if info.channels != 1:
        report.add("refused_channels", info.path, f"{info.channels} channels, expected 1")
        return False
    if sample_rate is not None and info.sample_rate != sample_rate:
        if on_wrong_rate == "refuse":
            report.add("refused_rate", info.path, f"{info.sample_rate} Hz, expected {sample_rate} Hz")
            return False
        report.add("resampled", info.path, f"{info.sample_rate} Hz, expected {sample_rate} Hz: resampled to {target_rate or sample_rate} Hz")
    return True
