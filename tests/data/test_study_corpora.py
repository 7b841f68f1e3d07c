"""The LEAF-study preparers: LibriSpeech speaker identity (+ sex) and demo accent identity, on tiny corpora
written in the test (and, when ../shared/data is there, the real LibriSpeech subset: 19 speakers)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet

from audiofront.data.checks import AudioInfo
from audiofront.data.demo_accents import prepare_demo_accents
from audiofront.data.librispeech_speakers import prepare_librispeech_speakers, split_per_speaker
from audiofront.data.manifests import Utterance, build_manifests, write_manifests
from audiofront.errors import UserError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "LibriSpeech"


def _noise(seconds: float, seed: int, sr: int = 16000) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(round(seconds * sr)))).astype(np.float32)


def _fake_librispeech(root: Path, speakers=("11", "22", "33"), n_utts=5) -> Path:
    part = root / "LibriSpeech" / "train-clean-5"
    for k, spk in enumerate(speakers):
        ch = part / spk / "100"
        ch.mkdir(parents=True)
        lines = []
        for u in range(n_utts):
            uid = f"{spk}-100-{u:04d}"
            sf.write(ch / f"{uid}.flac", _noise(2.5, 10 * k + u), 16000)  # 2.5 s: two 1 s windows + a tail
            lines.append(f"{uid} WORDS OF {spk}")
        (ch / f"{spk}-100.trans.txt").write_text("\n".join(lines) + "\n")
    # speaker 33 is missing from SPEAKERS.TXT on purpose
    (root / "LibriSpeech" / "SPEAKERS.TXT").write_text(";ID|SEX| SUBSET\n11 | F | train-clean-5\n22 | M | train-clean-5\n")
    return root / "LibriSpeech"


def test_split_per_speaker_is_seeded_and_per_speaker():
    ids = {"1": [f"1-{i}" for i in range(10)], "2": [f"2-{i}" for i in range(3)]}
    a = split_per_speaker(ids, 0.2, seed=0)
    assert a == split_per_speaker(ids, 0.2, seed=0)
    assert sum(v == "test" for k, v in a.items() if k.startswith("1-")) == 2  # round(0.2 * 10)
    assert sum(v == "test" for k, v in a.items() if k.startswith("2-")) == 1  # at least one
    others = [split_per_speaker(ids, 0.2, seed=s) for s in range(1, 6)]
    assert any(o != a for o in others)  # the seed matters
    # another speaker's presence does not move speaker 1's split
    alone = split_per_speaker({"1": ids["1"]}, 0.2, seed=0)
    assert {k: v for k, v in a.items() if k.startswith("1-")} == alone
    with pytest.raises(UserError, match="speaker 3 has 1"):
        split_per_speaker({"3": ["3-0"]}, 0.5, seed=0)


def test_librispeech_speakers_split_windows_and_sex(tmp_path):
    root = _fake_librispeech(tmp_path)
    manifests, report = prepare_librispeech_speakers(root, tmp_path / "out", test_fraction=0.4, seed=3)
    train = CutSet.from_file(tmp_path / "out" / "librispeech_speakers_cuts_train.jsonl.gz")
    test = CutSet.from_file(tmp_path / "out" / "librispeech_speakers_cuts_test.jsonl.gz")
    assert len(train) == 9  # 3 speakers x (5 - round(0.4 * 5))
    test_utts = {c.recording.id for c in test}
    assert len(test_utts) == 6
    assert not test_utts & {c.id for c in train}  # no utterance in both
    assert {c.supervisions[0].speaker for c in train} == {c.supervisions[0].speaker for c in test} == {"11", "22", "33"}
    # 2.5 s utterances: two whole 1 s windows each, the 0.5 s tail left out
    assert len(test) == 12
    w = {c.id: c for c in test}[f"{sorted(test_utts)[0]}_w001"]
    assert (w.start, w.duration) == (1.0, 1.0)
    assert w.load_audio().shape == (1, 16000)
    assert np.allclose(w.load_audio()[0], sf.read(w.recording.sources[0].source, dtype="float32")[0][16000:32000], atol=1e-4)
    sex = {c.supervisions[0].speaker: c.supervisions[0].custom.get("sex") for c in train}
    assert sex == {"11": "f", "22": "m", "33": None}
    assert any("33" in n and "SPEAKERS.TXT" in n for n in report.notes)
    # the split is a function of the seed
    prepare_librispeech_speakers(root, tmp_path / "again", test_fraction=0.4, seed=3)
    again = CutSet.from_file(tmp_path / "again" / "librispeech_speakers_cuts_test.jsonl.gz")
    assert sorted(c.id for c in again) == sorted(c.id for c in test)


def test_librispeech_speakers_whole_test_utterances_and_errors(tmp_path):
    root = _fake_librispeech(tmp_path)
    prepare_librispeech_speakers(root, tmp_path / "whole", window_seconds=None)
    test = CutSet.from_file(tmp_path / "whole" / "librispeech_speakers_cuts_test.jsonl.gz")
    assert len(test) == 3 and all(c.duration == 2.5 for c in test)
    with pytest.raises(UserError, match="--test-fraction"):
        prepare_librispeech_speakers(root, tmp_path / "o", test_fraction=1.5)
    with pytest.raises(UserError, match="--window-seconds"):
        prepare_librispeech_speakers(root, tmp_path / "o", window_seconds=-1.0)
    with pytest.raises(UserError, match="no test window"):
        prepare_librispeech_speakers(root, tmp_path / "o", window_seconds=3.0)
    (root / "SPEAKERS.TXT").unlink()
    with pytest.raises(UserError, match="SPEAKERS.TXT"):
        prepare_librispeech_speakers(root, tmp_path / "o")


@pytest.mark.skipif(not (SHARED / "SPEAKERS.TXT").is_file(), reason="../shared/data/LibriSpeech not present")
def test_librispeech_speakers_on_the_shared_subset_has_19_speakers(tmp_path):
    manifests, _ = prepare_librispeech_speakers(SHARED, tmp_path, seed=0)
    for split in ("train", "test"):
        cuts = manifests[split][2]
        assert len({c.supervisions[0].speaker for c in cuts}) == 19
        assert {c.supervisions[0].custom["sex"] for c in cuts} == {"f", "m"}
    assert all(c.duration == 1.0 for c in manifests["test"][2])


def _fake_demo(out: Path, voices: dict) -> None:
    """Demo-like manifests: ``voices`` = {split: [(accent, variant), ...]}, two clips per voice."""
    utts = []
    for split, vs in voices.items():
        for k, (accent, variant) in enumerate(vs):
            for i in range(2):
                uid = f"demo-{split}-{k:02d}{i}"
                path = out / "audio" / f"{uid}.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, _noise(0.3, 10 * k + i), 16000)
                utts.append(Utterance(uid, AudioInfo(str(path), 16000, 4800, 1), "TURN ON", split, f"{accent}+{variant}",
                                      None, "English", {"accent": accent, "variant": variant}))
    write_manifests(build_manifests(utts, 16000), out, "demo")


def test_demo_accents_keeps_the_voice_split_and_refuses_leaks(tmp_path):
    src = tmp_path / "demo"
    _fake_demo(src, {"train": [("en-us", "m1"), ("en", "f2"), ("en-us", "f2"), ("en", "m1")],
                     "test": [("en-us", "m3"), ("en", "m3")]})
    manifests, report = prepare_demo_accents(src, tmp_path / "out")
    test = CutSet.from_file(tmp_path / "out" / "demo_accents_cuts_test.jsonl.gz")
    assert sorted({c.supervisions[0].custom["accent"] for c in test}) == ["en", "en-us"]
    assert len(test) == 4 and len(manifests["train"][2]) == 8
    assert any(n.startswith("test: 4 clips, 2 voices") for n in report.notes)

    leak = tmp_path / "leak"
    _fake_demo(leak, {"train": [("en-us", "m1"), ("en", "f2")], "test": [("en-us", "m1")]})
    with pytest.raises(UserError, match=r"en-us\+m1 also speak"):
        prepare_demo_accents(leak, tmp_path / "o1")
    unseen = tmp_path / "unseen"
    _fake_demo(unseen, {"train": [("en-us", "m1")], "test": [("en-029", "m1")]})
    with pytest.raises(UserError, match="en-029 never occur"):
        prepare_demo_accents(unseen, tmp_path / "o2")
    with pytest.raises(UserError, match="prepare demo"):
        prepare_demo_accents(tmp_path / "nothing", tmp_path / "o3")


def test_prepare_commands_report_bad_input_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from audiofront.cli.main import app

    root = _fake_librispeech(tmp_path)
    (root / "SPEAKERS.TXT").unlink()
    for args in (["librispeech-speakers", "--corpus-dir", str(root), "--out-dir", str(tmp_path / "o")],
                 ["librispeech-speakers", "--corpus-dir", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "o")],
                 ["demo-accents", "--manifest-dir", str(tmp_path / "nothing"), "--out-dir", str(tmp_path / "o")]):
        result = CliRunner().invoke(app, ["prepare", *args])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: prepare "), result.stderr
    missing = CliRunner().invoke(app, ["prepare", "librispeech-speakers", "--corpus-dir", str(tmp_path / "nowhere"),
                                       "--out-dir", str(tmp_path / "o")])
    assert "nowhere" in missing.stderr
