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
from pathlib import Path
from typing import Optional

from .checks import DataReport, check_format, probe_many
from .manifests import Utterance, build_manifests, write_manifests

CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}


def _finish(utts: list[Utterance], report: DataReport, out_dir: str | Path, corpus: str, sample_rate: int) -> dict:
    if not utts:
        raise ValueError(f"{corpus}: no usable recordings found")
    resampled = [i for i in report.issues if i.kind == "resampled"]
    if resampled:
        report.issues = [i for i in report.issues if i.kind != "resampled"]
        report.note(f"{len(resampled)} file(s) resampled to {sample_rate} Hz in the cuts ({resampled[0].detail})")
    manifests = build_manifests(utts, sample_rate=sample_rate)
    write_manifests(manifests, out_dir, corpus)
    report.write(out_dir)
    return manifests


def _probe_into(entries: list[tuple[Path, str, str, dict, Optional[str]]], report: DataReport, sample_rate: int) -> list[Utterance]:
    """entries: (path, id, split, custom labels, speaker) -> checked utterances."""
    utts = []
    for (path, uid, split, custom, speaker), (info, issue) in zip(entries, probe_many([e[0] for e in entries])):
        if issue is not None:
            report.issues.append(issue)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate="resample"):
            continue
        utts.append(Utterance(id=uid, audio=info, text="", split=split, speaker=speaker, custom=custom))
    return utts


def prepare_cremad(corpus_dir: str | Path, out_dir: str | Path, sample_rate: int = 16000) -> tuple[dict, DataReport]:
    corpus_dir = Path(corpus_dir).resolve()
    wav_dir = corpus_dir / "AudioWAV" if (corpus_dir / "AudioWAV").is_dir() else corpus_dir
    files = sorted(wav_dir.glob("*.wav"))
    if not files:
        raise FileNotFoundError(f"{corpus_dir}: no AudioWAV/*.wav files (the CREMA-D layout)")
    report = DataReport("cremad")
    report.note("split by actor: actors whose id ends in 0 or 5 are the test set")
    entries = []
    for f in files:
        parts = f.stem.split("_")
        if len(parts) != 4 or parts[2] not in CREMAD_EMOTIONS:
            report.add("unreadable_audio", f, "name is not {actor}_{sentence}_{emotion}_{level}.wav: no label")
            continue
        actor = parts[0]
        split = "test" if actor[-1] in "05" else "train"
        entries.append((f, f.stem, split, {"emotion": CREMAD_EMOTIONS[parts[2]], "actor": actor}, actor))
    utts = _probe_into(entries, report, sample_rate)
    return _finish(utts, report, out_dir, "cremad", sample_rate), report


def prepare_nsynth(corpus_dir: str | Path, out_dir: str | Path, sample_rate: int = 16000) -> tuple[dict, DataReport]:
    corpus_dir = Path(corpus_dir).resolve()
    report = DataReport("nsynth")
    entries = []
    for split in ("train", "valid", "test"):
        part = corpus_dir / f"nsynth-{split}"
        meta = part / "examples.json"
        if not meta.is_file():
            report.note(f"no {meta}: split {split} skipped")
            continue
        for note, info in json.loads(meta.read_text()).items():
            custom = {"pitch": str(info["pitch"]), "instrument": info["instrument_family_str"]}
            entries.append((part / "audio" / f"{note}.wav", note, split, custom, None))
    if not entries:
        raise FileNotFoundError(f"{corpus_dir}: no nsynth-{{train,valid,test}}/examples.json (the NSynth layout)")
    utts = _probe_into(entries, report, sample_rate)
    return _finish(utts, report, out_dir, "nsynth", sample_rate), report


def prepare_voxceleb1_identification(corpus_dir: str | Path, out_dir: str | Path, num_jobs: int = 2, sample_rate: int = 16000) -> dict:
    """VoxCeleb1 through lhotse, re-split with the identification list ``iden_split.txt``."""
    from lhotse import CutSet, RecordingSet, SupervisionSet
    from lhotse.recipes import prepare_voxceleb

    corpus_dir = Path(corpus_dir).resolve()
    split_file = corpus_dir / "iden_split.txt"
    if not split_file.is_file():
        raise FileNotFoundError(f"{split_file} not found: the identification split list of VoxCeleb1 is needed")
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
    from ..utils.io import atomic_path

    for split in ("train", "valid", "test"):
        part = cuts.filter(lambda c: split_of.get(c.recording_id) == split)
        if sample_rate is not None:
            part = part.resample(sample_rate)
        path = Path(out_dir) / f"voxceleb1_cuts_{split}.jsonl.gz"
        with atomic_path(path) as tmp:
            tmp_gz = tmp.with_name(tmp.name + ".jsonl.gz")
            part.to_file(tmp_gz)
            tmp_gz.replace(tmp)
        out[split] = part
    return out
