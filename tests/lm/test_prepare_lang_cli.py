"""`audiofront prepare lang --tokenizer phone --lm-text FILE`: what it writes and says, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from audiofront.cli.main import app


def _cuts(tmp_path, texts):
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    recs, sups = [], []
    for i, text in enumerate(texts):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
        rec = Recording.from_file(path, recording_id=f"u{i}")
        recs.append(rec)
        sups.append(SupervisionSegment(f"u{i}", f"u{i}", 0.0, rec.duration, text=text))
    out = tmp_path / "cuts.jsonl.gz"
    CutSet.from_manifests(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups)).to_file(out)
    return out


def run(*args):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args])


def test_phone_lang_with_lm_text(tmp_path):
    cuts = _cuts(tmp_path, ["THE CAT SAT", "A ZYXQUARK SAT"])
    more = tmp_path / "more.txt"
    more.write_text("The dog sat on the mat.\n")
    out = tmp_path / "lang"
    r = run("prepare", "lang", "--cuts", cuts, "--out-dir", out, "--tokenizer", "phone", "--phone-marking", "boundary",
            "--vocab", "train", "--lm-text", more, "--lm-order", 2)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "1 words are not in CMUdict and were pronounced by eSpeak NG (e.g. ZYXQUARK)" in r.stdout
    info = json.loads((out / "lang.json").read_text())
    assert info["tokenizer"] == "phone" and info["vocab_size"] == 42 and info["sil_token"] == "|"
    assert info["num_lm_text_sentences"] == 1
    assert set((out / "words.txt").read_text().split()) == {"THE", "CAT", "SAT", "A", "ZYXQUARK", "DOG", "ON", "MAT"}


def test_bad_options_are_one_line(tmp_path):
    cuts = _cuts(tmp_path, ["THE CAT SAT"])
    for args, want in (
        (["--tokenizer", "phone", "--phone-marking", "middle"], "--phone-marking must be one of final, boundary"),
        (["--vocab", "everything"], "--vocab must be one of train, cmudict"),
        (["--prior", "zipf"], "--prior must be one of uniform, wordfreq"),
        (["--lm-text", tmp_path / "none.txt"], "none.txt does not exist"),
    ):
        r = run("prepare", "lang", "--cuts", cuts, "--out-dir", tmp_path / "lang", *args)
        assert r.exit_code == 2, (args, r.stdout)
        assert r.stderr.count("\n") == 1 and want in r.stderr and "Traceback" not in r.stderr, r.stderr
