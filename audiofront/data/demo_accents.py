"""Accent identity on the demo corpus: its eSpeak NG accents as labels, test voices never in training.

``audiofront prepare demo`` already writes cuts labelled ``custom = {"accent": "en-gb-scotland", "variant":
"m3", ...}`` with a voice split: a voice (accent+variant, the supervision's ``speaker``) of the dev or test
split never speaks in training, while every accent is heard in training through other variants. This
preparer reads those manifests, checks that the split still holds for *these* files (a re-run with other
sizes, or hand-edited manifests, must not leak a test voice into training without a word), and writes them
as their own corpus ``demo_accents`` so that the accent recipe names one stable set of files.

Refused (one clear error each): a split without the manifests, a cut without an ``accent`` label, a dev/test
voice that also speaks in training, a dev/test accent never heard in training (it could never be predicted).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from ..errors import UserError
from .checks import DataReport
from .cuts import read_cuts
from .lock import holds_prepare_lock
from .manifests import manifest_path

CORPUS = "demo_accents"
SOURCE = "demo"


def _voice(cut) -> str:
    sup = cut.supervisions[0] if cut.supervisions else None
    return (sup.speaker if sup is not None and sup.speaker else "") or ""


def _accent(cut):
    for sup in cut.supervisions:
        if sup.custom and sup.custom.get("accent"):
            return str(sup.custom["accent"])
    return None


@holds_prepare_lock(CORPUS)
def prepare_demo_accents(manifest_dir: str | os.PathLike, out_dir: str | os.PathLike) -> tuple[dict, DataReport]:
    """Write ``{out_dir}/demo_accents_{recordings,supervisions,cuts}_{train,dev,test}.jsonl.gz`` (the splits
    that exist) from the demo manifests in ``manifest_dir``; return ``(manifests, report)``."""
    from lhotse import RecordingSet, SupervisionSet

    from .manifests import write_manifests

    manifest_dir = Path(manifest_dir)
    train_path = manifest_path(manifest_dir, SOURCE, "cuts", "train")
    if not train_path.is_file():
        raise UserError(f"{train_path} not found: run `audiofront prepare demo --out-dir {manifest_dir}` first")
    cut_sets = {"train": read_cuts(train_path, "demo training cuts")}
    for split in ("dev", "test"):
        path = manifest_path(manifest_dir, SOURCE, "cuts", split)
        if path.is_file():
            cut_sets[split] = read_cuts(path, f"demo {split} cuts")
    if "test" not in cut_sets:
        raise UserError(f"{manifest_path(manifest_dir, SOURCE, 'cuts', 'test')} not found: the accent task needs the demo test split (--n-test > 0)")

    report = DataReport(CORPUS)
    for split, cuts in cut_sets.items():
        unlabelled = [c.id for c in cuts if _accent(c) is None]
        if unlabelled:
            raise UserError(f"{manifest_path(manifest_dir, SOURCE, 'cuts', split)}: cut(s) {', '.join(unlabelled[:3])} carry no "
                            "'accent' label (expected the manifests of `audiofront prepare demo`)")
    train_voices = {_voice(c) for c in cut_sets["train"]}
    train_accents = Counter(_accent(c) for c in cut_sets["train"])
    for split in ("dev", "test"):
        if split not in cut_sets:
            continue
        leaked = sorted({_voice(c) for c in cut_sets[split]} & train_voices)
        if leaked:
            raise UserError(f"{manifest_path(manifest_dir, SOURCE, 'cuts', split)}: voice(s) {', '.join(leaked[:5])} also speak in "
                            "training; the accent task needs test voices never heard in training")
        unseen = sorted({_accent(c) for c in cut_sets[split]} - set(train_accents))
        if unseen:
            raise UserError(f"{manifest_path(manifest_dir, SOURCE, 'cuts', split)}: accent(s) {', '.join(unseen)} never occur "
                            "in training, so no model trained on it can predict them")
    for split, cuts in cut_sets.items():
        counts = Counter(_accent(c) for c in cuts)
        voices = len({_voice(c) for c in cuts})
        report.note(f"{split}: {len(cuts)} clips, {voices} voices; per accent: "
                    + ", ".join(f"{a} {n}" for a, n in sorted(counts.items())))
    manifests = {}
    for split, cuts in cut_sets.items():
        recs = RecordingSet.from_recordings(c.recording for c in cuts)
        sups = SupervisionSet.from_segments(s for c in cuts for s in c.supervisions)
        manifests[split] = (recs, sups, cuts)
    write_manifests(manifests, out_dir, CORPUS)
    report.write(out_dir)
    return manifests, report
