"""Unlabelled audio: cuts from every audio file below a folder (``audiofront prepare folder``).

For self-supervised pretraining (``train --task cola``) on one's own audio. Every file below
``corpus_dir`` whose suffix is an audio format soundfile reads (:data:`AUDIO_SUFFIXES`) is decoded to the
end (:func:`.checks.probe_many`); a bad one is left out and listed in ``{out_dir}/{name}_report.txt`` like
the other preparers do. Hidden files and folders (``.name``) and the output folder itself are skipped;
symbolic links to folders are not followed (no loops).

Any rate, any channel count: the recordings keep the files as they are; the cuts are resampled to
``sample_rate`` (lhotse, on load) and a file with several channels gets a cut over all of them, which
the training datasets downmix to their mean (:class:`audiofront.data.labelled.LabelledAudioDataset`).
The report says how many files were resampled (from which rates) and downmixed.

Ids: the path below ``corpus_dir`` without its suffix, folders joined by ``__``
(``spk1/a.flac`` -> ``spk1__a``); two files with the same id (``a.wav`` and ``a.flac``) are both left out
and reported. Labels: ``supervision.custom = {"folder": "spk1"}`` (the file's folder below
``corpus_dir``), so a folder-per-class corpus can also be probed.

Output: ``{out_dir}/{name}_{recordings,supervisions,cuts}_all.jsonl.gz`` (``name`` defaults to ``folder``).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Optional

from ..errors import UserError
from .checks import DataReport, check_id, check_rate, drop_duplicate_ids, probe_many, summarize_resampled
from .lock import out_dir_lock
from .manifests import write_manifests

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au", ".snd",
                  ".w64", ".caf", ".rf64", ".sph", ".nist")
SPLIT = "all"
_ID = re.compile(r"[^\x00-\x1f\x7f]+")  # no control characters (check_name rules out separators)


def find_audio_files(corpus_dir: Path, skip: Optional[Path] = None) -> list[Path]:
    """Audio files below ``corpus_dir`` (sorted, hidden entries and ``skip`` left out, links to folders not followed)."""
    found = []
    skip_real = skip.resolve() if skip is not None else None
    for root, dirs, files in os.walk(corpus_dir, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip_real is None or (here / d).resolve() != skip_real))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES:
                found.append(here / f)
    return found


def file_id(path: Path, corpus_dir: Path) -> str:
    rel = path.relative_to(corpus_dir).with_suffix("")
    return "__".join(rel.parts)


def prepare_folder(
    corpus_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    sample_rate: int = 16000,
    name: str = "folder",
    num_workers: Optional[int] = None,
    console=None,
) -> tuple[int, DataReport]:
    """Write the manifests and the report; returns ``(number of cuts, report)``.

    Raises:
        UserError: a bad option, no audio file below ``corpus_dir``, or none usable (the report is
            written first, and no manifest).
    """
    from ..utils.paths import check_name

    check_rate(sample_rate)
    check_name(name, "--name")
    # absolute: the manifests must stay valid whatever the working directory of later commands
    corpus_dir = Path(corpus_dir).resolve()
    if not corpus_dir.is_dir():
        raise UserError(f"--corpus-dir {corpus_dir} is not a folder")
    out_dir = Path(out_dir)
    with out_dir_lock(out_dir, name):
        files = find_audio_files(corpus_dir, skip=out_dir)
        if not files:
            raise UserError(f"no audio file ({', '.join(AUDIO_SUFFIXES[:4])}, ...) below {corpus_dir}")
        report = DataReport(name)
        named = [(file_id(f, corpus_dir), f) for f in files]
        named = [(uid, f) for uid, f in named if check_id(uid, _ID, f, report, "a path without control characters")]
        named = drop_duplicate_ids(named, lambda e: e[0], lambda e: e[1], report)
        kept = []
        for (uid, f), (info, issue) in zip(named, probe_many([f for _, f in named], num_workers, console=console)):
            if issue is not None:
                report.issues.append(issue)
                continue
            if info.sample_rate != sample_rate:
                report.add("resampled", info.path, f"{info.sample_rate} Hz: resampled to {sample_rate} Hz")
            kept.append((uid, f, info))
        summarize_resampled(report, [info for _, _, info in kept], sample_rate)
        channels = Counter(info.channels for _, _, info in kept if info.channels > 1)
        if channels:
            report.note("downmixed to mono (the mean of the channels) when loaded: "
                        + ", ".join(f"{n} file(s) with {c} channels" for c, n in sorted(channels.items())))
        if not kept:
            report.print(console)
            raise UserError(f"no usable audio file below {corpus_dir} (the problems: {report.write(out_dir)})")
        manifests = {SPLIT: _manifests(kept, corpus_dir, sample_rate)}
        write_manifests(manifests, out_dir, name)
        report.note(f"{len(kept)} cut(s), {sum(i.duration for _, _, i in kept) / 3600:.2f} h of audio")
        report.write(out_dir)
        report.print(console)
        return len(kept), report


def _manifests(kept, corpus_dir: Path, sample_rate: int):
    from lhotse import AudioSource, CutSet, MonoCut, MultiCut, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    recs, sups, cuts = [], [], []
    for uid, f, info in kept:
        chans = list(range(info.channels))
        rec = Recording(id=uid, sources=[AudioSource(type="file", channels=chans, source=str(f))],
                        sampling_rate=info.sample_rate, num_samples=info.num_samples,
                        duration=info.num_samples / info.sample_rate)
        folder = f.parent.relative_to(corpus_dir).as_posix()
        channel = chans[0] if len(chans) == 1 else chans
        sup = SupervisionSegment(id=uid, recording_id=uid, start=0.0, duration=rec.duration, channel=channel,
                                 custom={"folder": "" if folder == "." else folder})
        kind = MonoCut if len(chans) == 1 else MultiCut
        cut = kind(id=uid, start=0.0, duration=rec.duration, channel=channel, recording=rec, supervisions=[sup])
        if rec.sampling_rate != sample_rate:
            cut = cut.resample(sample_rate)
        recs.append(rec)
        sups.append(sup)
        cuts.append(cut)
    return RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups), CutSet.from_cuts(cuts)
