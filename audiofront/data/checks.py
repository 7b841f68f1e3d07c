"""Validation of corpus files and the report of bad data.

Preparers never drop a file silently and never stop half-way because of one bad file: every problem is
recorded here with the file it concerns, the file is left out of the manifests, and at the end the
problems are printed as a rich table (counts per kind, then the files) and written in full to
``{out_dir}/{corpus}_report.txt``.

Every file is decoded once, to the end, at prepare time (:func:`decode_check`): a header can be fine while
the data is truncated, NaN or a single sample, and such a file must not reach training (where it stops
an epoch half-way or turns the loss into NaN). Decoding the corpora of ``../shared/data`` (about 3.5 h of
audio) this way takes a few seconds, nothing next to training.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ..errors import UserError

# kind -> description. "resampled" is not an error: the file is kept and its cut is resampled.
ISSUE_KINDS = {
    "missing_audio": "transcript without audio (audio file missing)",
    "bad_id": "file name or utterance id not of the corpus' form",
    "duplicate_id": "utterance id used more than once (every copy left out)",
    "unreadable_audio": "unreadable audio",
    "undecodable_audio": "audio that does not decode to the end (truncated or corrupt)",
    "nonfinite_audio": "audio with NaN or infinite samples",
    "empty_audio": "zero-length audio",
    "too_short_audio": "audio too short to use",
    "no_transcript": "audio without transcript",
    "empty_transcript": "empty transcript",
    "refused_rate": "wrong sample rate (refused)",
    "refused_channels": "not mono (refused)",
    "resampled": "wrong sample rate (kept, resampled in the cuts)",
}
KEPT_KINDS = {"resampled"}

# Shorter audio is left out ("too_short_audio"). 25 ms is the analysis window of the project's frontends
# (400-401 taps at 16 kHz): a shorter file gives no frame at all. The shortest real file of the shared
# corpora is 0.14 s (FSDD), so no real clip comes near it; a 1-sample file or a stub does.
MIN_DURATION = 0.025


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
        from rich.markup import escape
        from rich.table import Table

        console = console or Console(stderr=True)
        # file names are data: "[red]" in one is text, not a style tag
        for n in self.notes:
            console.print(f"[dim]{escape(self.corpus)}: {escape(n)}[/dim]")
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
            shown = [escape(f"{i.path}" + (f" ({i.detail})" if i.detail else "")) for i in issues[:max_files]]
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


def decode_check(path: str | os.PathLike, min_duration: float = MIN_DURATION) -> tuple[Optional[AudioInfo], Optional[Issue]]:
    """:func:`probe_audio`, then decode the whole file: truncated, corrupt, non-finite and too short audio
    are issues too.

    The file is read in blocks (bounded memory whatever its length); the number of samples decoded must
    equal the header's, or the file is "undecodable" (libsndfile raises on a cut FLAC, but a WAV whose
    data chunk is short may just end early).
    """
    import numpy as np
    import soundfile as sf

    info, issue = probe_audio(path)
    if issue is not None:
        return None, issue
    decoded, finite = 0, True
    try:
        with sf.SoundFile(info.path) as f:
            while True:
                block = f.read(1 << 16, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                decoded += block.shape[0]
                if finite and not np.isfinite(block).all():
                    finite = False
    except Exception as e:  # noqa: BLE001 - libsndfile reports a broken stream with several exception types
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, Issue("undecodable_audio", info.path, f"decoding failed after {decoded} of {info.num_samples} samples: {msg[:200]}")
    if decoded != info.num_samples:
        return None, Issue("undecodable_audio", info.path, f"decoded {decoded} of the {info.num_samples} samples the header announces")
    if not finite:
        return None, Issue("nonfinite_audio", info.path, "NaN or infinite sample values")
    if info.duration < min_duration:
        return None, Issue(
            "too_short_audio", info.path, f"{info.num_samples} sample(s) = {info.duration * 1000:.1f} ms, need >= {min_duration * 1000:.0f} ms"
        )
    return info, None


def default_workers() -> int:
    """Threads for :func:`probe_many`: the cores this process may use (soundfile and numpy release the GIL)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def probe_many(
    paths: Iterable[str | os.PathLike],
    num_workers: Optional[int] = None,
    decode: bool = True,
    min_duration: float = MIN_DURATION,
    progress: Optional[str] = "checking audio",
    console=None,
) -> list[tuple[Optional[AudioInfo], Optional[Issue]]]:
    """:func:`decode_check` (or, with ``decode=False``, only :func:`probe_audio`) for many files, in order.

    Threads, not processes: libsndfile (through cffi) and numpy release the GIL while they decode and
    scan, so threads use every core without pickling. ``num_workers``: default :func:`default_workers`.
    ``progress``: the label of a rich progress bar on stderr (``None``: no bar).
    """
    paths = list(paths)
    if num_workers is not None and num_workers < 1:
        raise UserError(f"--num-workers must be >= 1, got {num_workers}")
    num_workers = num_workers or default_workers()
    check = functools.partial(decode_check, min_duration=min_duration) if decode else probe_audio
    if len(paths) < 64 or num_workers == 1:
        return _with_progress(map(check, paths), len(paths), progress, console)
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        return _with_progress(pool.map(check, paths), len(paths), progress, console)


def _with_progress(results, total: int, label: Optional[str], console) -> list:
    if label is None or total < 64:  # a bar for a handful of files is only noise
        return list(results)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    out = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for r in results:
            out.append(r)
            bar.advance(task)
    return out


def drop_duplicate_ids(entries: list, id_of, path_of, report: DataReport) -> list:
    """``entries`` without any whose id occurs more than once; every copy is reported as "duplicate_id".

    Every copy goes, not all but the first: nothing tells which copy is right, and a manifest keyed by id
    (decoding, scoring) would otherwise silently keep one of them.
    """
    counts = Counter(id_of(e) for e in entries)
    for e in entries:
        n = counts[id_of(e)]
        if n > 1:
            report.add("duplicate_id", path_of(e), f"id {id_of(e)!r} occurs {n} times")
    return [e for e in entries if counts[id_of(e)] == 1]


def check_id(uid: str, pattern, path: str | os.PathLike, report: DataReport, expected: str) -> bool:
    """``True`` if ``uid`` matches the corpus' ``pattern`` (a compiled regex, full match) and is a safe file
    name; else the file is reported as "bad_id" (``expected`` says what the corpus' ids look like)."""
    from ..utils.paths import check_name

    try:
        check_name(uid)
    except UserError:
        report.add("bad_id", path, f"id {uid!r} is not a plain file name; expected {expected}")
        return False
    if not pattern.fullmatch(uid):
        report.add("bad_id", path, f"id {uid!r}: expected {expected}")
        return False
    return True


def summarize_resampled(report: DataReport, infos: Iterable[AudioInfo], sample_rate: int) -> None:
    """Replace the "resampled" issues of files at the corpus' usual rate by one note; the files at any
    other rate stay listed by name (the odd ones out, e.g. one 44.1 kHz file among 8 kHz ones).

    The usual rate is the most common rate of ``infos`` (the kept files).
    """
    rates = Counter(i.sample_rate for i in infos)
    if not rates:
        return
    usual = rates.most_common(1)[0][0]
    rate_of = {i.path: i.sample_rate for i in infos}
    common = [i for i in report.issues if i.kind == "resampled" and rate_of.get(i.path) == usual]
    if not common:
        return
    report.issues = [i for i in report.issues if not (i.kind == "resampled" and rate_of.get(i.path) == usual)]
    report.note(f"{len(common)} file(s) at {usual} Hz resampled to {sample_rate} Hz in the cuts")
    odd = sorted(r for r in rates if r != usual and r != sample_rate)
    if odd:
        report.note(f"file(s) at another rate ({', '.join(f'{r} Hz' for r in odd)}) are listed as 'resampled' below")


def check_rate(sample_rate: Optional[int], what: str = "--sample-rate") -> None:
    """Refuse a sample rate that is not a positive whole number of Hz (0 once divided a duration)."""
    if sample_rate is None:
        return
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise UserError(f"{what} must be a positive number of Hz (e.g. 16000), got {sample_rate!r}")


def check_format_option(on_wrong_rate: str) -> None:
    if on_wrong_rate not in ("resample", "refuse"):
        raise UserError(f"--on-wrong-rate must be 'resample' or 'refuse', got {on_wrong_rate!r}")


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
    check_format_option(on_wrong_rate)
    if info.channels != 1:
        report.add("refused_channels", info.path, f"{info.channels} channels, expected 1")
        return False
    if sample_rate is not None and info.sample_rate != sample_rate:
        if on_wrong_rate == "refuse":
            report.add("refused_rate", info.path, f"{info.sample_rate} Hz, expected {sample_rate} Hz")
            return False
        report.add("resampled", info.path, f"{info.sample_rate} Hz, expected {sample_rate} Hz: resampled to {target_rate or sample_rate} Hz")
    return True
