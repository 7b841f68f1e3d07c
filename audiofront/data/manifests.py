"""From checked utterance lists to lhotse manifests on disk.

Every corpus preparer ends the same way: a list of :class:`Utterance` (one audio file with its transcript)
whose files passed :mod:`audiofront.data.checks`, grouped by split, becomes
``{out_dir}/{corpus}_{recordings,supervisions,cuts}_{split}.jsonl.gz``. Cuts whose recording is not at the
target sample rate are resampled by lhotse on load (``cut.resample``); the recording keeps the file's rate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .checks import AudioInfo


@dataclass
class Utterance:
    id: str
    audio: AudioInfo
    text: str
    split: str
    speaker: Optional[str] = None
    gender: Optional[str] = None
    language: Optional[str] = "English"
    custom: dict = field(default_factory=dict)


def manifest_path(out_dir: str | os.PathLike, corpus: str, kind: str, split: str) -> Path:
    """``{out_dir}/{corpus}_{kind}_{split}.jsonl.gz`` with kind in recordings, supervisions, cuts."""
    return Path(out_dir) / f"{corpus}_{kind}_{split}.jsonl.gz"


def build_manifests(utterances: Iterable[Utterance], sample_rate: Optional[int] = 16000) -> dict:
    """``{split: (RecordingSet, SupervisionSet, CutSet)}``, splits in first-seen order."""
    from lhotse import AudioSource, CutSet, MonoCut, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    from collections import Counter

    from ..errors import UserError

    utterances = list(utterances)
    # preparers leave repeated ids out (checks.drop_duplicate_ids); this is the last guard: ids key
    # every later step (decoding, scoring, feature storage)
    repeated = [i for i, n in Counter(u.id for u in utterances).items() if n > 1]
    if repeated:
        raise UserError(f"utterance id(s) {', '.join(repr(i) for i in repeated[:5])} occur more than once; ids must be unique")
    by_split: dict[str, list[Utterance]] = {}
    for u in utterances:
        by_split.setdefault(u.split, []).append(u)
    out = {}
    for split, utts in by_split.items():
        recs, sups, cuts = [], [], []
        for u in utts:
            info = u.audio
            rec = Recording(
                id=u.id,
                # absolute, so the manifests work from any working directory (recipes cd around)
                sources=[AudioSource(type="file", channels=[0], source=str(Path(info.path).resolve()))],
                sampling_rate=info.sample_rate,
                num_samples=info.num_samples,
                duration=info.num_samples / info.sample_rate,
            )
            sup = SupervisionSegment(
                id=u.id,
                recording_id=u.id,
                start=0.0,
                duration=rec.duration,
                channel=0,
                text=u.text,
                speaker=u.speaker,
                gender=u.gender,
                language=u.language,
                custom=dict(u.custom) or None,
            )
            cut = MonoCut(id=u.id, start=0.0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup])
            if sample_rate is not None and rec.sampling_rate != sample_rate:
                cut = cut.resample(sample_rate)
            recs.append(rec)
            sups.append(sup)
            cuts.append(cut)
        out[split] = (RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups), CutSet.from_cuts(cuts))
    return out


def write_manifests(manifests: dict, out_dir: str | os.PathLike, corpus: str) -> list[Path]:
    """Write each split's manifests atomically (a killed run never leaves a half-written manifest)."""
    written = []
    for split, sets in manifests.items():
        for kind, manifest in zip(("recordings", "supervisions", "cuts"), sets):
            path = manifest_path(out_dir, corpus, kind, split)
            write_manifest(manifest, path)
            written.append(path)
    return written


def write_manifest(manifest, path: str | os.PathLike) -> None:
    """One lhotse manifest to ``path`` (``*.jsonl.gz``) atomically."""
    from ..utils.io import atomic_path

    # lhotse picks the format from the suffix, so the temporary name must keep it
    with atomic_path(path) as tmp:
        tmp_gz = tmp.with_name(tmp.name + ".jsonl.gz")
        try:
            manifest.to_file(tmp_gz)
            os.replace(tmp_gz, tmp)
        finally:
            if tmp_gz.exists():
                tmp_gz.unlink()
