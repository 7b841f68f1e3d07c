"""Other datasets of the LEAF paper's benchmark, where a preparer is simple.

- VoxCeleb1 speaker identification (1,251 speakers): recordings and supervisions through lhotse's
  ``prepare_voxceleb`` (note: lhotse also fetches the verification trials list from openslr), then the
  official identification split ``iden_split.txt`` (1 = train, 2 = valid, 3 = test) from the corpus folder.
  Label ``custom["speaker"]``.
- CREMA-D emotion (6 classes): ``AudioWAV/{actor}_{sentence}_{emotion}_{level}.wav`` from a local folder;
  split by actor (actors whose id ends in 0 or 5 are the test set: 18 of 91), label ``custom["emotion"]``.
- NSynth pitch and instrument family: ``nsynth-{train,valid,test}/examples.json`` + ``audio/*.wav`` from a local
  folder; the dataset's own splits; labels ``custom["pitch"]`` (MIDI number) and ``custom["instrument"]``.

Missing (no lhotse recipe and no simple local layout handled here): AudioSet (multi-label; YouTube
clips), DCASE 2016 task 1 acoustic scenes, DCASE 2018 bird audio detection, VoxForge language id.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Optional

from ..errors import UserError
from .checks import DataReport, check_format, check_id, check_rate, drop_duplicate_ids, probe_many, summarize_resampled
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
# {actor}_{sentence}_{emotion}_{level}, e.g. 1001_DFA_ANG_XX
_CREMAD_NAME = re.compile(r"(\d{4})_([A-Z]{3})_(" + "|".join(CREMAD_EMOTIONS) + r")_([A-Z]{2})")
# NSynth note ids: {family}_{source}_{instrument}-{pitch}-{velocity}, e.g. guitar_acoustic_010-066-100
_NSYNTH_ID = re.compile(r"[a-z]+_[a-z]+_\d{3}-\d{3}-\d{3}")
_NSYNTH_FIELDS = ("pitch", "instrument_family_str")


def _finish(utts: list[Utterance], report: DataReport, out_dir: str | Path, corpus: str, sample_rate: int) -> dict:
    if not utts:
        raise UserError(f"{corpus}: no usable recordings found (the problems: {report.write(out_dir)})")
    summarize_resampled(report, [u.audio for u in utts], sample_rate)
    manifests = build_manifests(utts, sample_rate=sample_rate)
    write_manifests(manifests, out_dir, corpus)
    report.write(out_dir)
    return manifests


def _probe_into(entries: list[tuple[Path, str, str, dict, Optional[str]]], report: DataReport, sample_rate: int) -> list[Utterance]:
    """entries: (path, id, split, custom labels, speaker) -> checked utterances (repeated ids left out)."""
    entries = drop_duplicate_ids(entries, lambda e: e[1], lambda e: e[0], report)
    utts = []
    for (path, uid, split, custom, speaker), (info, issue) in zip(entries, probe_many([e[0] for e in entries])):
        if issue is not None:
            report.issues.append(issue)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate="resample"):
            continue
        utts.append(Utterance(id=uid, audio=info, text="", split=split, speaker=speaker, custom=custom))
    return utts


@holds_prepare_lock("cremad")
def prepare_cremad(corpus_dir: str | Path, out_dir: str | Path, sample_rate: int = 16000) -> tuple[dict, DataReport]:
    check_rate(sample_rate)
    corpus_dir = Path(corpus_dir).resolve()
    if not corpus_dir.is_dir():
        raise UserError(f"CREMA-D folder {corpus_dir} does not exist (expected a folder with AudioWAV/*.wav)")
    wav_dir = corpus_dir / "AudioWAV" if (corpus_dir / "AudioWAV").is_dir() else corpus_dir
    files = sorted(wav_dir.glob("*.wav"))
    if not files:
        raise UserError(f"{corpus_dir}: no AudioWAV/*.wav files (the CREMA-D layout)")
    report = DataReport("cremad")
    report.note("split by actor: actors whose id ends in 0 or 5 are the test set")
    entries = []
    for f in files:
        expected = "{actor}_{sentence}_{emotion}_{level}.wav such as 1001_DFA_ANG_XX.wav (no label otherwise)"
        if not check_id(f.stem, _CREMAD_NAME, f, report, expected):
            continue
        parts = f.stem.split("_")
        actor = parts[0]
        split = "test" if actor[-1] in "05" else "train"
        entries.append((f, f.stem, split, {"emotion": CREMAD_EMOTIONS[parts[2]], "actor": actor}, actor))
    utts = _probe_into(entries, report, sample_rate)
    return _finish(utts, report, out_dir, "cremad", sample_rate), report


def _read_nsynth_examples(meta: Path) -> dict:
    """``examples.json``: note id -> its metadata, each with the fields we use; UserError naming the file."""

    def no_repeats(pairs):
        seen = {k for k, n in Counter(k for k, _ in pairs).items() if n > 1}  # not keys.count: O(n^2) for 300k notes
        if seen:  # json.loads would keep the last one silently
            raise UserError(f"{meta}: note id(s) {', '.join(repr(k) for k in sorted(seen)[:5])} repeated; every note id must be unique")
        return dict(pairs)

    try:
        data = json.loads(meta.read_text(), object_pairs_hook=no_repeats)
    except json.JSONDecodeError as e:
        raise UserError(f"{meta} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError:
        raise UserError(f"{meta} is not a UTF-8 text file (expected the NSynth examples.json)") from None
    if not isinstance(data, dict):
        raise UserError(f"{meta}: expected a JSON object of note id -> metadata, got a {type(data).__name__}")
    for note, info in data.items():
        if not isinstance(info, dict):
            raise UserError(f"{meta}: note {note!r} is a {type(info).__name__}, expected an object with {', '.join(_NSYNTH_FIELDS)}")
        missing = [k for k in _NSYNTH_FIELDS if k not in info]
        if missing:
            raise UserError(f"{meta}: note {note!r} has no {', '.join(repr(k) for k in missing)} (every note needs {', '.join(_NSYNTH_FIELDS)})")
    return data


@holds_prepare_lock("nsynth")
def prepare_nsynth(corpus_dir: str | Path, out_dir: str | Path, sample_rate: int = 16000) -> tuple[dict, DataReport]:
    """NSynth from ``nsynth-{split}/examples.json``; a note id not of the NSynth form (it names the audio
    file, so ``../x`` would point outside the corpus) is reported as "bad_id" and not looked up."""
    check_rate(sample_rate)
    corpus_dir = Path(corpus_dir).resolve()
    if not corpus_dir.is_dir():
        raise UserError(f"NSynth folder {corpus_dir} does not exist (expected nsynth-{{train,valid,test}}/examples.json)")
    report = DataReport("nsynth")
    entries = []
    for split in ("train", "valid", "test"):
        part = corpus_dir / f"nsynth-{split}"
        meta = part / "examples.json"
        if not meta.is_file():
            report.note(f"no {meta}: split {split} skipped")
            continue
        for note, info in _read_nsynth_examples(meta).items():
            expected = "{family}_{source}_{instrument}-{pitch}-{velocity} such as guitar_acoustic_010-066-100"
            if not check_id(note, _NSYNTH_ID, meta, report, expected):
                continue
            custom = {"pitch": str(info["pitch"]), "instrument": info["instrument_family_str"]}
            entries.append((part / "audio" / f"{note}.wav", note, split, custom, None))
    if not entries:
        raise UserError(f"{corpus_dir}: no nsynth-{{train,valid,test}}/examples.json with a usable note (the NSynth layout)")
    utts = _probe_into(entries, report, sample_rate)
    return _finish(utts, report, out_dir, "nsynth", sample_rate), report


@holds_prepare_lock("voxceleb1")
def prepare_voxceleb1_identification(corpus_dir: str | Path, out_dir: str | Path, num_jobs: int = 2, sample_rate: int = 16000) -> dict:
    """VoxCeleb1 through lhotse, re-split with the identification list ``iden_split.txt``."""
    from lhotse import CutSet, RecordingSet, SupervisionSet
    from lhotse.recipes import prepare_voxceleb

    corpus_dir = Path(corpus_dir).resolve()
    split_file = corpus_dir / "iden_split.txt"
    if not split_file.is_file():
        raise UserError(f"{split_file} not found: the identification split list of VoxCeleb1 is needed")
    names = {"1": "train", "2": "valid", "3": "test"}
    split_of = {}
    for line in split_file.read_text().splitlines():
        if line.strip():
            code, rel = line.split()
            # lhotse's recording ids are "{speaker}-{video}-{segment}" (video ids may contain "-" themselves)
            split_of["-".join(Path(rel).with_suffix("").parts)] = names[code]
    man = prepare_voxceleb(voxceleb1_root=corpus_dir, output_dir=None, num_jobs=num_jobs)
    recs = RecordingSet.from_recordings(r for part in ("train", "test") for r in man[part]["recordings"])
    sups = SupervisionSet.from_segments(s for part in ("train", "test") for s in man[part]["supervisions"])
    out = {}
    sups = sups.map(lambda s: s.with_custom("speaker", s.speaker))
    cuts = CutSet.from_manifests(recordings=recs, supervisions=sups)
    from .manifests import write_manifest

    for split in ("train", "valid", "test"):
        part = cuts.filter(lambda c: split_of.get(c.recording_id) == split)
        if sample_rate is not None:
            part = part.resample(sample_rate)
        path = Path(out_dir) / f"voxceleb1_cuts_{split}.jsonl.gz"
        write_manifest(part, path)
        out[split] = part
    return out
