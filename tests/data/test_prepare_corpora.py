"""LibriSpeech and yes/no preparation on tiny fake corpora written here, with every kind of bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet, RecordingSet, SupervisionSet

from audiofront.data.librispeech import prepare_librispeech
from audiofront.data.yesno import prepare_yesno
from audiofront.errors import UserError


def _tone(seconds: float, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _fake_librispeech(root: Path) -> dict:
    """LibriSpeech/train-clean-5 with speakers 11, 22, 33 (one chapter each) and one of each problem."""
    part = root / "LibriSpeech" / "train-clean-5"
    paths = {}
    for k, spk in enumerate(["11", "22", "33"]):
        ch = part / spk / "100"
        ch.mkdir(parents=True)
        lines = []
        for u in range(2):
            uid = f"{spk}-100-000{u}"
            sf.write(ch / f"{uid}.flac", _tone(0.3 + 0.1 * u, 16000, k * 10 + u), 16000)
            lines.append(f"{uid} HELLO WORLD {spk} {u}")
        (ch / f"{spk}-100.trans.txt").write_text("\n".join(lines) + "\n")
    ch = part / "11" / "100"
    extra = {
        "missing": "11-100-0007",  # transcript line, no audio
        "orphan": "11-100-0008",  # audio, no transcript line
        "broken": "11-100-0009",  # garbage bytes
        "empty": "11-100-0010",  # a file of 0 bytes
        "rate8k": "11-100-0011",  # 8 kHz instead of 16 kHz
        "notext": "11-100-0012",  # a transcript line with nothing after the id
    }
    sf.write(ch / f"{extra['orphan']}.flac", _tone(0.2, 16000, 99), 16000)
    (ch / f"{extra['broken']}.flac").write_bytes(b"this is not a flac file" * 10)
    (ch / f"{extra['empty']}.flac").write_bytes(b"")
    sf.write(ch / f"{extra['rate8k']}.flac", _tone(0.5, 8000, 98), 8000)
    sf.write(ch / f"{extra['notext']}.flac", _tone(0.2, 16000, 97), 16000)
    with open(ch / "11-100.trans.txt", "a") as f:
        for key in ("missing", "broken", "empty", "rate8k"):
            f.write(f"{extra[key]} SOME TEXT\n")
        f.write(f"{extra['notext']}\n")
    paths.update({k: str(ch / f"{v}.flac") for k, v in extra.items()})
    (root / "LibriSpeech" / "SPEAKERS.TXT").write_text(";ID|SEX| SUBSET\n11 | F | train-clean-5\n22 | M | train-clean-5\n")
    return paths


def _report_rows(path: Path) -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] != "kind":
            rows.setdefault(fields[0], set()).add(fields[1])
    return rows


def test_librispeech_reports_every_bad_file(tmp_path):
    paths = _fake_librispeech(tmp_path / "corpus")
    out = tmp_path / "manifests"
    counts = prepare_librispeech(tmp_path / "corpus", out)  # the parent of LibriSpeech/ is accepted too
    rows = _report_rows(out / "librispeech_report.txt")
    assert rows == {
        "missing_audio": {paths["missing"]},
        "no_transcript": {paths["orphan"]},
        "unreadable_audio": {paths["broken"]},
        "empty_audio": {paths["empty"]},
        "empty_transcript": {paths["notext"]},
        "resampled": {paths["rate8k"]},
    }
    # 6 good utterances + the resampled one; nothing else
    assert counts == {"train-clean-5": 7}
    cuts = CutSet.from_file(out / "librispeech_cuts_train-clean-5.jsonl.gz").to_eager()
    assert sorted(cuts.ids) == sorted([f"{s}-100-000{u}" for s in ("11", "22", "33") for u in range(2)] + ["11-100-0011"])
    c8 = cuts["11-100-0011"]
    assert c8.sampling_rate == 16000 and c8.recording.transforms  # resampled by lhotse on load
    assert c8.load_audio().shape == (1, 8000)  # 0.5 s at 16 kHz
    c = cuts["22-100-0001"]
    assert c.supervisions[0].text == "HELLO WORLD 22 1"
    assert c.supervisions[0].speaker == "22" and c.supervisions[0].gender == "m"
    assert c.load_audio().shape == (1, 6400)
    sups = SupervisionSet.from_file(out / "librispeech_supervisions_train-clean-5.jsonl.gz")
    recs = RecordingSet.from_file(out / "librispeech_recordings_train-clean-5.jsonl.gz").to_eager()
    assert len(sups) == len(recs) == 7
    assert recs["11-100-0011"].sampling_rate == 8000, "the recording keeps the file's own rate"


def test_librispeech_refuse_rate_and_speaker_split(tmp_path):
    paths = _fake_librispeech(tmp_path / "corpus")
    out = tmp_path / "m"
    counts = prepare_librispeech(
        tmp_path / "corpus" / "LibriSpeech", out, parts=["train-clean-5"], test_speakers=["22"], on_wrong_rate="refuse"
    )
    assert counts == {"train": 4, "test": 2}
    rows = _report_rows(out / "librispeech_report.txt")
    assert rows["refused_rate"] == {paths["rate8k"]}
    assert "8000 Hz, expected 16000 Hz" in (out / "librispeech_report.txt").read_text()
    test = CutSet.from_file(out / "librispeech_cuts_test.jsonl.gz").to_eager()
    train = CutSet.from_file(out / "librispeech_cuts_train.jsonl.gz").to_eager()
    assert {c.supervisions[0].speaker for c in test} == {"22"}
    assert {c.supervisions[0].speaker for c in train} == {"11", "33"}


def test_librispeech_clear_errors(tmp_path):
    _fake_librispeech(tmp_path / "corpus")
    with pytest.raises(ValueError, match="test speaker.*999"):
        prepare_librispeech(tmp_path / "corpus", tmp_path / "m", test_speakers=["999"])
    with pytest.raises(UserError, match="dev-clean"):
        prepare_librispeech(tmp_path / "corpus", tmp_path / "m", parts=["dev-clean"])
    with pytest.raises(UserError, match="does not exist"):
        prepare_librispeech(tmp_path / "nowhere", tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.jsonl.gz")) if (tmp_path / "m").exists() else True


def test_yesno_labels_split_resampling_and_report(tmp_path):
    waves = tmp_path / "waves_yesno"
    waves.mkdir()
    names = ["0_0_1_1", "0_1_0_1", "1_0_0_0", "1_1_1_0"]
    for k, n in enumerate(names):
        sf.write(waves / f"{n}.wav", _tone(0.25, 8000, k), 8000)
    (waves / "README").write_text("not audio")
    sf.write(waves / "hello.wav", _tone(0.25, 8000, 9), 8000)  # no label in the name
    (waves / "1_1_1_1.wav").write_bytes(b"RIFF0000WAVEjunk")  # unreadable
    sf.write(waves / "1_1_0_0.wav", np.zeros(0, dtype=np.float32), 8000)  # a valid WAV with 0 samples
    sf.write(waves / "0_0_0_0.wav", _tone(0.25, 16000, 8), 16000)  # another rate: resampled and reported
    out = tmp_path / "m"
    counts = prepare_yesno(tmp_path, out)  # the folder holding waves_yesno/ is accepted
    # sorted names: 0_0_0_0 0_0_1_1 0_1_0_1 1_0_0_0 1_1_0_0 1_1_1_0 1_1_1_1 -> even train, odd test
    assert counts == {"train": 2, "test": 3}
    train = CutSet.from_file(out / "yesno_cuts_train.jsonl.gz").to_eager()
    test = CutSet.from_file(out / "yesno_cuts_test.jsonl.gz").to_eager()
    assert sorted(train.ids) == ["0_0_0_0", "0_1_0_1"]  # 1_1_0_0 is empty and 1_1_1_1 unreadable
    assert sorted(test.ids) == ["0_0_1_1", "1_0_0_0", "1_1_1_0"]
    assert test["0_0_1_1"].supervisions[0].text == "NO NO YES YES"
    for cut in list(train) + list(test):
        assert cut.sampling_rate == 16000
        assert cut.load_audio().shape == (1, 4000)
    recs = RecordingSet.from_file(out / "yesno_recordings_train.jsonl.gz")
    assert {r.sampling_rate for r in recs} == {8000, 16000}, "recordings keep the files' own rates"
    rows = _report_rows(out / "yesno_report.txt")
    assert rows["empty_audio"] == {str(waves / "1_1_0_0.wav")}
    assert rows["no_transcript"] == {str(waves / "hello.wav")}
    assert rows["unreadable_audio"] == {str(waves / "1_1_1_1.wav")}
    assert rows["resampled"] == {str(waves / "0_0_0_0.wav")}
    assert "resampled to 16000 Hz" in (out / "yesno_report.txt").read_text()


def test_yesno_keeps_8k_when_asked(tmp_path):
    sf.write(tmp_path / "0_1.wav", _tone(0.25, 8000, 0), 8000)
    prepare_yesno(tmp_path, tmp_path / "m", sample_rate=None)
    cut = CutSet.from_file(tmp_path / "m" / "yesno_cuts_train.jsonl.gz").to_eager()[0]
    assert cut.sampling_rate == 8000 and cut.load_audio().shape == (1, 2000)
    assert "no problems found" in (tmp_path / "m" / "yesno_report.txt").read_text()
