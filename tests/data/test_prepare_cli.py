"""The `prepare` and `extract` commands, run through the CLI on tiny corpora made here."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from lhotse import CutSet
from typer.testing import CliRunner

from audiofront.cli.main import app


def _flat(text: str) -> str:
    """Rich wraps long lines to the terminal width: compare with the line breaks taken out."""
    return " ".join(text.split())


def _yesno(folder):
    folder.mkdir()
    for k, name in enumerate(["0_1_1", "1_0_0", "1_1_1"]):
        t = np.arange(2000) / 8000
        sf.write(folder / f"{name}.wav", (0.2 * np.sin(2 * np.pi * (300 + 50 * k) * t)).astype(np.float32), 8000)
    (folder / "0_0_0.wav").write_bytes(b"")


def test_prepare_yesno_then_extract(tmp_path):
    _yesno(tmp_path / "waves_yesno")
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", "yesno", "--corpus-dir", str(tmp_path / "waves_yesno"), "--out-dir", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "train: 1 cuts, test: 2 cuts" in _flat(res.output)
    assert "empty_audio\t" + str(tmp_path / "waves_yesno" / "0_0_0.wav") in (tmp_path / "m" / "yesno_report.txt").read_text()
    res = runner.invoke(app, [
        "extract", "--frontend", "mel", "--frontend-conf", "n_filters=16", "--cuts", str(tmp_path / "m" / "yesno_cuts_test.jsonl.gz"),
        "--out-dir", str(tmp_path / "f"),
    ])
    assert res.exit_code == 0, res.output
    cuts = CutSet.from_file(tmp_path / "f" / "yesno_cuts_test_mel.jsonl.gz").to_eager()
    assert len(cuts) == 2 and all(c.features.num_features == 16 for c in cuts)
    assert cuts[0].features.load().shape == (1 + 4000 // 160, 16)  # 0.25 s resampled to 16 kHz


def test_prepare_errors_are_clear(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", "yesno", "--corpus-dir", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "m")])
    assert res.exit_code == 2 and "nowhere does not exist" in _flat(res.output)
    res = runner.invoke(app, ["extract", "--frontend", "mel", "--frontend-conf", "bogus=1", "--cuts", str(tmp_path / "x.jsonl.gz"), "--out-dir", str(tmp_path)])
    assert res.exit_code == 2 and "x.jsonl.gz does not exist" in res.output


def test_librispeech_download_goes_through_lhotse(tmp_path, monkeypatch):
    """--download calls lhotse's downloader with the parts, then reads what it unpacked."""
    import lhotse.recipes

    calls = []

    def fake_download(target_dir, dataset_parts):
        calls.append((str(target_dir), list(dataset_parts)))
        ch = tmp_path / "dl" / "LibriSpeech" / "dev-clean-2" / "7" / "1"
        ch.mkdir(parents=True)
        sf.write(ch / "7-1-0000.flac", np.zeros(3200, dtype=np.float32) + 0.01, 16000)
        (ch / "7-1.trans.txt").write_text("7-1-0000 HELLO THERE\n")
        return tmp_path / "dl" / "LibriSpeech"

    monkeypatch.setattr(lhotse.recipes, "download_librispeech", fake_download)
    res = CliRunner().invoke(app, [
        "prepare", "librispeech", "--download", "--corpus-dir", str(tmp_path / "dl"), "--parts", "dev-clean-2", "--out-dir", str(tmp_path / "m"),
    ])
    assert res.exit_code == 0, res.output
    assert calls == [(str(tmp_path / "dl"), ["dev-clean-2"])]
    cut = CutSet.from_file(tmp_path / "m" / "librispeech_cuts_dev-clean-2.jsonl.gz").to_eager()[0]
    assert cut.supervisions[0].text == "HELLO THERE" and cut.supervisions[0].speaker == "7"
    res = CliRunner().invoke(app, ["prepare", "librispeech", "--download", "--corpus-dir", str(tmp_path), "--parts", "train-bogus"])
    assert res.exit_code == 2 and "unknown LibriSpeech part(s) train-bogus" in _flat(res.output)
