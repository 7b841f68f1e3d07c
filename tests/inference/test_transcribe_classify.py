"""`audiofront transcribe` and `audiofront classify` on files of other rates and channel counts, and bad files."""

from __future__ import annotations

import json
import os

import pytest
import torch
from inference_fixtures import asr_checkpoint, audio_files, classify_checkpoint  # noqa: F401 (fixtures)
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.inference.audio import chunks, read_audio


def run(*args):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # Click 8.2 keeps stderr apart already
        runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args])


def test_transcribe_many_files_with_a_bad_one_among_them(asr_checkpoint, audio_files, monkeypatch, tmp_path):
    monkeypatch.chdir(asr_checkpoint.parent.parent)  # where the recorded lang dir "data/lang" is
    files = [audio_files[k] for k in ("stereo44k", "broken", "mono8k", "missing", "long")]
    out = tmp_path / "hyp"
    r = run("transcribe", "--checkpoint", asr_checkpoint, *files, "--output", out, "--chunk-seconds", 3, "--no-progress")
    assert r.exit_code == 2, r.output
    err = r.stderr.splitlines()
    assert sum(line.startswith("error: ") and "broken.wav" in line for line in err) == 1
    assert sum(line.startswith("error: ") and "missing.wav" in line for line in err) == 1
    assert "note: resampled to the model's 16000 Hz: 1 file at 8000 Hz, 1 file at 44100 Hz" in err
    assert "note: mixed down to mono: 1 file with 2 channels" in err
    assert err[-1] == "error: 2 of 5 file(s) could not be transcribed (listed above)"
    assert "Traceback" not in r.stderr
    # the model says "A" throughout: one word per chunk; the 7 s file is three or more chunks of at most 3 s
    n = len(list(chunks(read_audio(audio_files["long"], 16000).samples, 16000, 3.0)))
    assert n >= 3 and out.read_text().splitlines() == ["stereo44k A", "mono8k A", "long " + " ".join(["A"] * n)]


def test_transcribe_formats_and_lm(asr_checkpoint, audio_files, tmp_path):
    # run from elsewhere: the lang dir is found beside the checkpoint's folders
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = run("transcribe", "--checkpoint", asr_checkpoint, audio_files["mono8k"])
        assert r.exit_code == 0, r.output + r.stderr
        assert r.stdout.strip() == "A"
        r = run("transcribe", "--checkpoint", asr_checkpoint, "--lm", audio_files["mono16k"], audio_files["stereo44k"],
                "-o", tmp_path / "out.jsonl")
        assert r.exit_code == 0, r.stderr
        rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert [x["id"] for x in rows] == ["mono16k", "stereo44k"]
        # the lexicon search can say only words of the lang dir (the beam's choice on these flat,
        # all-"A" emissions is flashlight's business)
        lexicon = {"A", "CAT", "DOG", "THE"}
        assert all(x["text"].split() and set(x["text"].split()) <= lexicon for x in rows), rows
        assert rows[0]["seconds"] == pytest.approx(2.5, abs=1e-3)
        r = run("transcribe", "--checkpoint", asr_checkpoint, "--method", "beam", audio_files["mono16k"])
        assert r.exit_code == 2 and "--method must be one of" in r.stderr
    finally:
        os.chdir(cwd)


def test_transcribe_with_phone_tokens(tmp_path, audio_files):
    from inference_fixtures import make_asr_checkpoint

    # the model says AY_E (the phone AY, word-final) throughout: the word I, pronounced AY. (Greedy only:
    # the lexicon search over phones is tested on hand-made emissions in tests/text/test_phone_decoding.py.)
    ckpt = make_asr_checkpoint(tmp_path, "phone", "AY_E")
    r = run("transcribe", "--checkpoint", ckpt, audio_files["stereo44k"], audio_files["mono8k"], "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["stereo44k I", "mono8k I"]


def test_transcribe_refuses_a_classifier(classify_checkpoint, audio_files):
    r = run("transcribe", "--checkpoint", classify_checkpoint, audio_files["mono16k"])
    assert r.exit_code == 2 and "is a 'classify' checkpoint" in r.stderr and "Traceback" not in r.stderr


def test_classify_every_head_top_k(classify_checkpoint, audio_files, tmp_path):
    files = [audio_files["stereo44k"], audio_files["broken"], audio_files["mono8k"]]
    out = tmp_path / "pred.jsonl"
    r = run("classify", "--checkpoint", classify_checkpoint, *files, "--top-k", 2, "-o", out)
    assert r.exit_code == 2
    assert sum("broken.wav" in line for line in r.stderr.splitlines()) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["path"] for row in rows] == [str(audio_files["stereo44k"]), str(audio_files["mono8k"])]
    for row in rows:
        digit, tags = row["heads"]["digit"], row["heads"]["tags"]
        assert [d["label"] for d in digit] == ["7", digit[1]["label"]] and len(digit) == 2
        e4 = torch.tensor(4.0).exp().item()
        assert digit[0]["prob"] == pytest.approx(e4 / (e4 + 9), abs=1e-5)  # softmax over 10 classes
        assert [t["label"] for t in tags] == ["loud", "quiet"]  # multi-label: independent sigmoids
        assert tags[0]["prob"] == pytest.approx(torch.tensor(3.0).sigmoid().item(), abs=1e-5)
        assert tags[1]["prob"] == pytest.approx(0.5, abs=1e-5)
    r = run("classify", "--checkpoint", classify_checkpoint, audio_files["mono16k"], "--top-k", 1)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [f"{audio_files['mono16k']}\tdigit\t7 0.858", f"{audio_files['mono16k']}\ttags\tloud 0.953"]


@pytest.mark.parametrize("command", ["transcribe", "classify"])
def test_a_bad_device_is_one_line(command, asr_checkpoint, classify_checkpoint, audio_files):
    ckpt = asr_checkpoint if command == "transcribe" else classify_checkpoint
    r = run(command, "--checkpoint", ckpt, audio_files["mono16k"], "--device", "bogus")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["error: --device must be auto, cpu, cuda or cuda:N, got 'bogus'"]


def test_transcribe_lm_takes_the_tuned_pair_of_its_experiment(asr_checkpoint, audio_files, monkeypatch):
    """With --lm and neither --lm-weight nor --word-score (nor another lang dir or LM), the pair tune-lm chose for this
    model (tune_lm/tune.json beside the checkpoint, where egs/librispeech leaves it); the two were tuned together, so
    one given on the command line means the defaults for the other."""
    from audiofront.inference import asr as asr_mod

    seen = []
    real_init = asr_mod.Transcriber.__init__

    def spy(self, *a, **kw):
        seen.append((kw["options"].lm_weight, kw["options"].word_score))
        real_init(self, *a, **kw)

    monkeypatch.setattr(asr_mod.Transcriber, "__init__", spy)
    tune = asr_checkpoint.parent / "tune_lm" / "tune.json"
    audio = audio_files["mono16k"]
    r = run("transcribe", "--checkpoint", asr_checkpoint, "--lm", audio)  # no tune.json: the defaults
    assert r.exit_code == 0, r.stderr
    tune.parent.mkdir()
    try:
        tune.write_text(json.dumps({"best": {"lm_weight": 2.5, "word_score": -1.0, "wer": 30.0}}))
        r = run("transcribe", "--checkpoint", asr_checkpoint, "--lm", audio)
        assert r.exit_code == 0, r.stderr
        assert "LM weight 2.5, word score -1, tune-lm's choice" in r.stderr and str(tune) in r.stderr
        r = run("transcribe", "--checkpoint", asr_checkpoint, "--lm", "--word-score", "0.5", audio)
        assert r.exit_code == 0, r.stderr
        r = run("transcribe", "--checkpoint", asr_checkpoint, audio)  # greedy: no LM, no note
        assert r.exit_code == 0 and "LM weight" not in r.stderr
        tune.write_text("{}")
        r = run("transcribe", "--checkpoint", asr_checkpoint, "--lm", audio)
        assert r.exit_code == 2 and "is not a tune.json" in r.stderr and "Traceback" not in r.stderr
    finally:
        tune.unlink()
        tune.parent.rmdir()
    assert seen == [(1.0, 0.0), (2.5, -1.0), (1.0, 0.5), (1.0, 0.0)]
