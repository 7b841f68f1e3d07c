"""``prepare folder``: cuts from every audio file below a folder, any rate and channel count (resampled and
downmixed, and said so), bad files and clashing ids listed in the report, nothing else picked up."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.data.cuts import read_cuts
from audiofront.data.labelled import LabelledAudioDataset


def _tone(seconds, sr, hz=440.0, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * hz * t)
    if channels == 1:
        return x.astype(np.float32)
    return np.stack([x * (c + 1) / channels for c in range(channels)], axis=1).astype(np.float32)


def _corpus(root):
    (root / "spk1").mkdir(parents=True)
    (root / "spk2" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    sf.write(root / "spk1" / "a.wav", _tone(0.5, 16000), 16000)
    sf.write(root / "spk1" / "b.wav", _tone(0.7, 8000), 8000)
    sf.write(root / "spk2" / "deep" / "c.flac", _tone(0.4, 44100, channels=2), 44100)
    (root / "spk2" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sf.write(root / "spk2" / "dup.wav", _tone(0.3, 16000), 16000)
    sf.write(root / "spk2" / "dup.flac", _tone(0.3, 16000), 16000)
    sf.write(root / ".hidden" / "x.wav", _tone(0.3, 16000), 16000)
    (root / "spk1" / "notes.txt").write_text("not audio")


def test_prepare_folder_makes_resampled_downmixed_cuts_and_reports_bad_files(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _corpus(corpus)
    res = CliRunner().invoke(app, ["prepare", "folder", "--corpus-dir", str(corpus), "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    cuts = read_cuts(out / "folder_cuts_all.jsonl.gz", "cuts")
    assert sorted(c.id for c in cuts) == ["spk1__a", "spk1__b", "spk2__deep__c"]
    assert all(c.sampling_rate == 16000 for c in cuts)
    by_id = {c.id: c for c in cuts}
    assert by_id["spk2__deep__c"].supervisions[0].custom == {"folder": "spk2/deep"}
    batch = LabelledAudioDataset({}, sample_rate=16000)[cuts.subset(cut_ids=["spk1__b", "spk2__deep__c"])]
    lens = dict(zip(batch["cut_ids"], batch["audio_lens"].tolist()))
    assert lens == {"spk1__b": int(0.7 * 16000), "spk2__deep__c": int(round(0.4 * 44100 * 16000 / 44100))}
    # the stereo file is the mean of its channels (1/2 and 2/2 of the tone): 0.75 of the tone's amplitude
    i = batch["cut_ids"].index("spk2__deep__c")
    peak = float(batch["audio"][i, : lens["spk2__deep__c"]].abs().max())
    assert abs(peak - 0.75 * 0.3) < 0.02
    report = (out / "folder_report.txt").read_text()
    assert "broken.wav" in report and "unreadable_audio" in report
    assert report.count("duplicate_id") == 2 and "dup.flac" in report and "dup.wav" in report
    assert "downmixed to mono" in report and "1 file(s) with 2 channels" in report
    assert "8000" in report and "44100" in report  # the resampled rates are named
    assert ".hidden" not in report and "notes.txt" not in report


def test_prepare_folder_refuses_a_folder_without_audio(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    res = CliRunner().invoke(app, ["prepare", "folder", "--corpus-dir", str(tmp_path / "empty"), "--out-dir", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no audio file" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["prepare", "folder", "--corpus-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is not a folder" in res.output
