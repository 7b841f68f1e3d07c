"""The yes/no corpus (OpenSLR 1) from a local ``waves_yesno`` folder.

Each ``*.wav`` is named by what is said: ``0_1_1_0_1_0_0_1.wav`` is "NO YES YES NO YES NO NO YES"
(1 = "ken" = YES, 0 = "lo" = NO). Files named otherwise have no transcript and are reported.

Sample rate: the corpus is recorded at 8 kHz. We keep the files as they are (the recordings manifest says
8000 Hz) and resample in the cuts (``cut.resample(16000)``: lhotse resamples on load), because every
frontend of the project is configured for 16 kHz speech; ``sample_rate=None`` keeps 8 kHz cuts.
A file at another rate than 8 kHz is reported and resampled too, or left out with ``on_wrong_rate="refuse"``.

Split: files sorted by name, even positions train and odd positions test (30/30 for the 60 files; the
same rule as lhotse's recipe). The split is made from the names before any check, so a broken file never
moves another file from one split to the other.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from ..errors import UserError
from .checks import DataReport, check_format, check_format_option, check_rate, probe_many
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

NATIVE_RATE = 8000
_LABELS = re.compile(r"^[01](_[01])*$")
_WORDS = {"0": "NO", "1": "YES"}


def find_waves_dir(corpus_dir: str | os.PathLike) -> Path:
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise UserError(f"yes/no folder {corpus_dir} does not exist")
    if not any(corpus_dir.glob("*.wav")) and (corpus_dir / "waves_yesno").is_dir():
        return corpus_dir / "waves_yesno"
    return corpus_dir


@holds_prepare_lock("yesno")
def prepare_yesno(
    corpus_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    sample_rate: Optional[int] = 16000,
    on_wrong_rate: str = "resample",
    console=None,
) -> dict:
    """Write ``{out_dir}/yesno_{recordings,supervisions,cuts}_{train,test}.jsonl.gz`` and the report.

    ``sample_rate``: the rate of the cuts (``None``: the corpus' 8 kHz).

    Raises:
        UserError: a bad option, no file named by its labels, or none usable (then the report is
            written first, and no manifest).
    """
    check_rate(sample_rate)
    check_format_option(on_wrong_rate)
    waves = find_waves_dir(corpus_dir)
    report = DataReport("yesno")
    labelled = []
    for path in sorted(waves.glob("*.wav")):
        if _LABELS.match(path.stem):
            labelled.append(path)
        else:
            report.add("no_transcript", path, "file name is not a 0/1 label sequence such as 0_1_1_0_1_0_0_1.wav")
    if not labelled and not report.issues:
        raise UserError(f"no .wav file in {waves}")
    if not labelled:
        raise UserError(
            f"none of the {len(report.issues)} .wav file(s) in {waves} is named by its labels "
            f"(expected names such as 0_1_1_0_1_0_0_1.wav, e.g. not {Path(report.issues[0].path).name})"
        )

    utts = []
    for k, (path, (info, issue)) in enumerate(zip(labelled, probe_many(labelled, console=console))):
        if issue is not None:
            report.add(issue.kind, issue.path, issue.detail)
            continue
        if not check_format(info, report, NATIVE_RATE, on_wrong_rate, target_rate=sample_rate or NATIVE_RATE):
            continue
        text = " ".join(_WORDS[x] for x in path.stem.split("_"))
        split = "train" if k % 2 == 0 else "test"
        utts.append(Utterance(path.stem, info, text, split, speaker="yesno", language="Hebrew"))

    if sample_rate is not None and sample_rate != NATIVE_RATE:
        report.note(f"the corpus is at {NATIVE_RATE} Hz; cuts are resampled to {sample_rate} Hz when loaded")
    utts.sort(key=lambda u: u.split != "train")  # train first, each split in name order
    out_dir = Path(out_dir)
    if not utts:
        report.print(console)
        raise UserError(f"no usable recording in {waves} (the problems: {report.write(out_dir)})")
    manifests = build_manifests(utts, sample_rate or NATIVE_RATE)
    write_manifests(manifests, out_dir, "yesno")
    report.write(out_dir)
    report.print(console)
    return {split: len(sets[2]) for split, sets in manifests.items()}
