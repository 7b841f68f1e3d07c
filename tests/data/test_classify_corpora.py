"""FSDD and Speech Commands preparers on tiny fake corpora written in the test."""

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet

from audiofront.data.fsdd import prepare_fsdd
from audiofront.errors import UserError
from audiofront.data.speechcommands import prepare_speechcommands


def _wav(path, sr, seconds=0.1):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(int(sr * seconds))).astype(np.float32), sr)


def test_fsdd_split_by_speaker_labels_and_resampling(tmp_path):
    rec = tmp_path / "fsdd" / "recordings"
    for spk in ("george", "theo"):
        for digit in (0, 7):
            for i in range(3):
                _wav(rec / f"{digit}_{spk}_{i}.wav", 8000)
    (rec / "notes_theo.wav").write_bytes(b"not audio")  # bad name: reported, not fatal
    (rec / "3_theo_9.wav").write_bytes(b"garbage")  # unreadable: reported
    manifests, report = prepare_fsdd(tmp_path / "fsdd", tmp_path / "out", split="speaker", test_speakers=["theo"])
    train = CutSet.from_file(tmp_path / "out" / "fsdd_cuts_train.jsonl.gz")
    test = CutSet.from_file(tmp_path / "out" / "fsdd_cuts_test.jsonl.gz")
    assert len(train) == 6 and len(test) == 6
    assert {c.supervisions[0].custom["speaker"] for c in test} == {"theo"}
    c = {c.id: c for c in train}["7_george_1"]
    assert c.supervisions[0].custom == {"digit": "7", "speaker": "george"}
    assert c.supervisions[0].text == "SEVEN"
    assert c.sampling_rate == 16000 and c.load_audio().shape[1] == 1600  # 0.1 s at 8 kHz -> 16 kHz
    bad = {i.path.split("/")[-1] for i in report.issues}
    assert bad == {"notes_theo.wav", "3_theo_9.wav"}
    assert "3_theo_9.wav" in (tmp_path / "out" / "fsdd_report.txt").read_text()


def test_fsdd_index_split_and_errors(tmp_path, monkeypatch):
    rec = tmp_path / "recordings"
    for i in range(7):
        _wav(rec / f"1_jackson_{i}.wav", 8000)
    monkeypatch.chdir(tmp_path)
    prepare_fsdd(".", "out", split="index")  # relative folders ...
    test = CutSet.from_file(tmp_path / "out" / "fsdd_cuts_test.jsonl.gz")
    assert sorted(c.id for c in test) == [f"1_jackson_{i}" for i in range(5)]
    # ... but absolute audio paths: the manifests work from any directory
    assert all(c.recording.sources[0].source.startswith("/") for c in test)
    with pytest.raises(ValueError, match="nobody"):
        prepare_fsdd(tmp_path, tmp_path / "o2", split="speaker", test_speakers=["nobody"])
    with pytest.raises(UserError, match="does not exist"):
        prepare_fsdd(tmp_path / "missing", tmp_path / "o3")


def test_speechcommands_35_class_protocol(tmp_path):
    part = tmp_path / "speech_commands_v0.02"
    for word in ("yes", "no", "backward"):
        for spk in ("aa11", "bb22", "cc33"):
            _wav(part / word / f"{spk}_nohash_0.wav", 16000)
    _wav(part / "_background_noise_" / "white_noise.wav", 16000, seconds=1.0)
    (part / "testing_list.txt").write_text("yes/aa11_nohash_0.wav\nno/aa11_nohash_0.wav\nbackward/aa11_nohash_0.wav\n")
    (part / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nno/zz99_nohash_0.wav\n")
    manifests, report = prepare_speechcommands(tmp_path, tmp_path / "out")
    cuts = {s: CutSet.from_file(tmp_path / "out" / f"speechcommands_cuts_{s}.jsonl.gz") for s in ("train", "valid", "test")}
    assert len(cuts["test"]) == 3 and len(cuts["valid"]) == 1 and len(cuts["train"]) == 5
    assert {c.supervisions[0].custom["keyword"] for c in cuts["test"]} == {"yes", "no", "backward"}
    all_ids = [c.id for s in cuts.values() for c in s]
    assert not any("background" in i or "noise" in i for i in all_ids)  # noise out of every split
    assert next(iter(cuts["valid"])).supervisions[0].speaker == "bb22"
    # a listed file that does not exist is reported
    assert [i.kind for i in report.issues] == ["missing_audio"]


def test_fast_resampling_matches_lhotse(tmp_path):
    from audiofront.data.labelled import fast_resampled_audio

    rec = tmp_path / "recordings"
    _wav(rec / "4_george_0.wav", 8000, seconds=0.37)
    _wav(rec / "4_george_7.wav", 8000, seconds=0.2)  # the train split must not be empty
    prepare_fsdd(tmp_path, tmp_path / "out", split="index")
    cut = next(iter(CutSet.from_file(tmp_path / "out" / "fsdd_cuts_test.jsonl.gz")))
    fast = fast_resampled_audio(cut)
    slow = cut.load_audio()[0]  # lhotse's own resampling: the reference
    assert fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, atol=1e-6)
    # a cut without a resampling transform is left to lhotse
    assert fast_resampled_audio(cut.resample(8000)) is None


def test_cli_prepare_fsdd_and_evaluate_errors(tmp_path):
    from typer.testing import CliRunner

    from audiofront.cli.main import app

    for i in range(6):
        _wav(tmp_path / "fsdd" / "recordings" / f"2_nicolas_{i}.wav", 8000)
        _wav(tmp_path / "fsdd" / "recordings" / f"2_theo_{i}.wav", 8000)
    runner = CliRunner()
    r = runner.invoke(app, ["prepare", "fsdd", "--corpus-dir", str(tmp_path / "fsdd"), "--out-dir", str(tmp_path / "out"),
                            "--test-speakers", "theo"])
    assert r.exit_code == 0, r.output
    assert len(CutSet.from_file(tmp_path / "out" / "fsdd_cuts_test.jsonl.gz")) == 6
    r = runner.invoke(app, ["prepare", "fsdd", "--corpus-dir", str(tmp_path / "fsdd"), "--out-dir", str(tmp_path / "o"),
                            "--test-speakers", "alice"])
    assert r.exit_code == 2 and "alice" in r.output
    r = runner.invoke(app, ["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--cuts", str(tmp_path / "x.jsonl.gz"),
                            "--out-dir", str(tmp_path / "ev")])
    # which missing file evaluate names first is its own business (tests/cli); it must name one of them
    assert r.exit_code != 0 and ("none.pt" in r.output or "x.jsonl.gz" in r.output)
    r = runner.invoke(app, ["evaluate", "--checkpoint", "a.pt", "--cuts", "b", "--out-dir", "c", "--snr", "clean,loud"])
    assert r.exit_code != 0 and "loud" in r.output
