"""The Free Spoken Digit Dataset (FSDD): digits and speakers as labels.

Layout (github.com/Jakobovski/free-spoken-digit-dataset): ``recordings/{digit}_{speaker}_{index}.wav``,
8 kHz mono, 50 recordings of each digit by each speaker. ``corpus_dir`` is the folder holding
``recordings/`` (or the recordings folder itself).

Sample rate: the files are 8 kHz; the cuts are **resampled to 16 kHz** (lhotse ``cut.resample``) so that every
frontend runs with its 16 kHz defaults (LEAF/mel 60-7800 Hz filters, 401-tap windows, 10 ms hop). The band above
4 kHz is then empty, which is the same for every frontend compared.

Splits:
- ``split="speaker"`` with ``test_speakers`` (e.g. ``theo``): train on the other speakers, test on those
  (unseen voices: only the digit label can be scored on test);
- ``split="index"``: the dataset's own convention, recordings 0-4 of every digit and speaker are the test
  set, 5-49 training (every speaker in both: digit and speaker can both be scored).

Labels: ``supervision.custom = {"digit": "3", "speaker": "theo"}``; the text is the digit's word (``THREE``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Sequence

from ..errors import UserError
from .checks import DataReport, check_format, check_rate, probe_many, summarize_resampled
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

CORPUS = "fsdd"
WORDS = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)$")


def find_recordings_dir(corpus_dir: str | Path) -> Path:
    # absolute: the manifests must stay valid whatever the working directory of later commands
    corpus_dir = Path(corpus_dir).resolve()
    if not corpus_dir.is_dir():
        raise UserError(f"FSDD folder {corpus_dir} does not exist (expected a folder with recordings/*.wav)")
    rec = corpus_dir / "recordings"
    if rec.is_dir():
        return rec
    if any(corpus_dir.glob("*.wav")):
        return corpus_dir
    raise UserError(f"{corpus_dir} has neither a recordings/ folder nor .wav files (the FSDD layout)")


@holds_prepare_lock(CORPUS)
def prepare_fsdd(
    corpus_dir: str | Path,
    out_dir: str | Path,
    split: str = "speaker",
    test_speakers: Optional[Sequence[str]] = None,
    sample_rate: int = 16000,
    num_workers: Optional[int] = None,
    console=None,
) -> tuple[dict, DataReport]:
    """Write ``{out_dir}/fsdd_{recordings,supervisions,cuts}_{train,test}.jsonl.gz``; return (manifests, report)."""
    if split not in ("speaker", "index"):
        raise UserError(f"--split must be 'speaker' or 'index', got {split!r}")
    check_rate(sample_rate)
    rec_dir = find_recordings_dir(corpus_dir)
    report = DataReport(CORPUS)
    files = sorted(rec_dir.glob("*.wav"))
    parsed = []
    for f in files:
        m = _NAME.match(f.stem)
        if not m:
            report.add("bad_id", f, "name does not follow {digit}_{speaker}_{index}.wav: no label")
            continue
        parsed.append((f, m.group(1), m.group(2), int(m.group(3))))
    speakers = sorted({p[2] for p in parsed})
    if split == "speaker":
        test = set(test_speakers or [])
        if not test:
            raise UserError(f"split='speaker' needs --test-speakers (one or more of: {', '.join(speakers)})")
        missing = sorted(test - set(speakers))
        if missing:
            raise UserError(f"test speaker(s) {', '.join(missing)} not in the corpus; speakers: {', '.join(speakers)}")
        report.note(f"split by speaker: test = {', '.join(sorted(test))}; train = {', '.join(s for s in speakers if s not in test)}")
    else:
        report.note("split by index: recordings 0-4 of each digit and speaker are the test set (FSDD convention)")
    report.note(f"audio resampled from the files' rate to {sample_rate} Hz in the cuts")
    utts = []
    for (f, digit, speaker, index), (info, issue) in zip(parsed, probe_many([p[0] for p in parsed], num_workers, console=console)):
        if issue is not None:
            report.issues.append(issue)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate="resample"):
            continue
        if split == "speaker":
            part = "test" if speaker in test else "train"
        else:
            part = "test" if index < 5 else "train"
        utts.append(
            Utterance(id=f.stem, audio=info, text=WORDS[int(digit)], split=part, speaker=speaker,
                      custom={"digit": digit, "speaker": speaker})
        )
    # "resampled" lines for the 2000 files at 8 kHz would drown the report: one note for those, and
    # every file at another rate still listed by name
    summarize_resampled(report, [u.audio for u in utts], sample_rate)
    if not utts:
        raise UserError(f"no usable FSDD recordings in {rec_dir} (the problems: {report.write(out_dir)})")
    manifests = build_manifests(utts, sample_rate=sample_rate)
    for part in ("train", "test"):
        if part not in manifests:
            raise UserError(f"the {part} split of FSDD is empty (split={split}, test_speakers={test_speakers})")
    write_manifests(manifests, out_dir, CORPUS)
    report.write(out_dir)
    return manifests, report
