"""LibriSpeech speaker identity (and speaker sex): every speaker in both splits, utterances split per speaker.

The LEAF paper's speaker task is VoxCeleb1 identification: the same speakers in training and test, other
recordings of them in test. Here the same protocol on a local LibriSpeech folder (``../shared/data`` holds 19
speakers of Mini LibriSpeech ``train-clean-5``):

- the utterances of each speaker are shuffled with ``seed`` and ``round(test_fraction * n)`` of them (at least
  one, and at least one left for training) go to the test split; splitting utterances, not windows, keeps
  every second of a test utterance out of training;
- training cuts are the whole utterances (the classification task trains on one random window per clip);
- test utterances are cut into consecutive ``window_seconds`` windows, each one test item (the LEAF paper
  classifies 1 s windows); a tail shorter than a window is not used (its seconds are noted in the report).
  ``window_seconds=None`` keeps whole test utterances (scored with their windows' logits averaged);
- labels ``supervision.custom = {"speaker": "1737", "sex": "f", "chapter": "142397"}``: ``sex`` comes from
  ``SPEAKERS.TXT`` (the second head). A speaker missing from it has no ``sex`` label (noted in the report).

Writes ``{out_dir}/librispeech_speakers_{recordings,supervisions,cuts}_{train,test}.jsonl.gz`` and the report.
"""

from __future__ import annotations

import math
import os
import random
from collections import defaultdict
from typing import Optional, Sequence

from ..errors import UserError
from .checks import DataReport, check_format, probe_many
from .librispeech import _read_speakers, find_corpus_root, scan_parts, select_parts
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

CORPUS = "librispeech_speakers"


def split_per_speaker(ids_by_speaker: dict[str, list[str]], test_fraction: float, seed: int) -> dict[str, str]:
    """utterance id -> ``"train"`` | ``"test"``: per speaker, a seeded shuffle, then the first
    ``round(test_fraction * n)`` (clamped to 1 .. n-1) are test.

    The shuffle of a speaker depends only on the seed, the speaker and the speaker's ids (sorted first), so
    adding or removing another speaker does not change anyone else's split.
    """
    out = {}
    for speaker, ids in sorted(ids_by_speaker.items()):
        ids = sorted(ids)
        if len(ids) < 2:
            raise UserError(f"speaker {speaker} has {len(ids)} usable utterance(s); a train/test split per speaker needs >= 2")
        random.Random(f"{seed}-{speaker}").shuffle(ids)
        n_test = min(len(ids) - 1, max(1, round(test_fraction * len(ids))))
        for k, uid in enumerate(ids):
            out[uid] = "test" if k < n_test else "train"
    return out


def window_cuts(cuts, window_seconds: float):
    """``(windowed CutSet, SupervisionSet, unused seconds)``: each cut cut into consecutive windows of exactly
    ``window_seconds``, ids ``{cut id}_w{k:03d}``; the tail shorter than one window is left out."""
    from lhotse import CutSet, MonoCut, SupervisionSet
    from lhotse.utils import fastcopy

    out, sups, unused = [], [], 0.0
    for cut in cuts:
        n = int(math.floor(cut.duration / window_seconds + 1e-9))
        unused += cut.duration - n * window_seconds
        base = cut.supervisions[0]
        for k in range(n):
            wid = f"{cut.id}_w{k:03d}"
            start = cut.start + k * window_seconds
            # the manifest's supervision is on the recording's time line, the cut's one on the cut's; the
            # utterance's transcript does not belong to a window of it
            sup = fastcopy(base, id=wid, start=start, duration=window_seconds, text=None)
            sups.append(sup)
            out.append(MonoCut(id=wid, start=start, duration=window_seconds, channel=cut.channel, recording=cut.recording,
                               supervisions=[fastcopy(sup, start=0.0)]))
    return CutSet.from_cuts(out), SupervisionSet.from_segments(sups), unused


@holds_prepare_lock(CORPUS)
def prepare_librispeech_speakers(
    corpus_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    parts: Optional[Sequence[str]] = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    window_seconds: Optional[float] = 1.0,
    num_workers: Optional[int] = None,
    console=None,
) -> tuple[dict, DataReport]:
    """Write the speaker-identity manifests (see the module doc); return ``(manifests, report)``.

    ``manifests`` is ``{split: (RecordingSet, SupervisionSet, CutSet)}`` as written (test windowed).
    """
    sample_rate = 16000  # LibriSpeech's own rate: a file at another rate is resampled in the cuts (and reported)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise UserError(f"--test-fraction must be a number between 0 and 1 (e.g. 0.2), got {test_fraction!r}")
    if window_seconds is not None and (not isinstance(window_seconds, (int, float)) or not window_seconds > 0):
        raise UserError(f"--window-seconds must be a positive number of seconds (or 0 for whole utterances), got {window_seconds!r}")
    if not os.path.isdir(corpus_dir):
        raise UserError(f"LibriSpeech folder {corpus_dir} does not exist (expected PART/SPEAKER/CHAPTER/*.flac and SPEAKERS.TXT)")
    root = find_corpus_root(corpus_dir).resolve()
    parts = select_parts(root, parts)
    speakers_txt = root / "SPEAKERS.TXT"
    if not speakers_txt.is_file():
        raise UserError(f"{speakers_txt} not found: the speaker sex labels come from LibriSpeech's SPEAKERS.TXT")
    sexes = _read_speakers(root)

    report = DataReport(CORPUS)
    entries = scan_parts(root, parts, report)
    kept = []
    for (part, uid, audio, text, _), (info, issue) in zip(entries, probe_many([e[2] for e in entries], num_workers, console=console)):
        if issue is not None:
            report.add(issue.kind, issue.path, issue.detail)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate="resample"):
            continue
        kept.append((part, uid, info, text))
    if not kept:
        raise UserError(f"no usable utterance in {', '.join(parts)} under {root} (the problems: {report.write(out_dir)})")

    by_speaker: dict[str, list[str]] = defaultdict(list)
    for _, uid, _, _ in kept:
        by_speaker[uid.split("-")[0]].append(uid)
    split_of = split_per_speaker(by_speaker, float(test_fraction), seed)
    no_sex = sorted((s for s in by_speaker if s not in sexes), key=int)
    if no_sex:
        report.note(f"speaker(s) {', '.join(no_sex)} not in SPEAKERS.TXT: no sex label")
    utts = []
    for part, uid, info, text in kept:
        speaker, chapter, _ = uid.split("-")
        custom = {"speaker": speaker, "chapter": chapter, "part": part}
        if speaker in sexes:
            custom["sex"] = sexes[speaker]
        utts.append(Utterance(uid, info, text, split_of[uid], speaker, sexes.get(speaker), "English", custom))
    n_test = sum(1 for u in utts if u.split == "test")
    report.note(f"{len(by_speaker)} speakers; utterances split per speaker with seed {seed}: "
                f"{len(utts) - n_test} train, {n_test} test (test fraction {test_fraction:g})")
    manifests = build_manifests(utts, sample_rate=sample_rate)
    if window_seconds:
        recs, _, cuts = manifests["test"]
        windows, sups, unused = window_cuts(cuts, float(window_seconds))
        if len(windows) == 0:
            raise UserError(f"every test utterance is shorter than --window-seconds {window_seconds:g}: no test window")
        manifests["test"] = (recs, sups, windows)
        report.note(f"test utterances cut into {len(windows)} windows of {window_seconds:g} s "
                    f"({unused:.1f} s of tails shorter than a window not used)")
    write_manifests(manifests, out_dir, CORPUS)
    report.write(out_dir)
    return manifests, report
