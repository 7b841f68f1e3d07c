"""`prepare` and `extract` refuse what they cannot do right: a second run into the same folder, ids that
would write outside the output folder, bad options and bad files -- each with one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.data.checks import probe_audio
from audiofront.data.extract import extract_features
from audiofront.data.lock import lock_path, out_dir_lock
from audiofront.data.manifests import Utterance, build_manifests, write_manifests
from audiofront.errors import UserError


def _wav(path: Path, sr: int = 8000, seconds: float = 0.25, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.random.default_rng(seed).standard_normal(int(sr * seconds))).astype(np.float32), sr)


def _yesno(folder: Path) -> Path:
    for k, name in enumerate(["0_1_1", "1_0_0", "1_1_1"]):
        _wav(folder / f"{name}.wav", seed=k)
    return folder


# ---- item 8: one prepare of a corpus at a time per out-dir -----------------------------------------
def test_second_prepare_into_the_same_out_dir_is_refused(tmp_path):
    waves, out = _yesno(tmp_path / "waves"), tmp_path / "m"
    runner = CliRunner()
    args = ["prepare", "yesno", "--corpus-dir", str(waves), "--out-dir", str(out)]
    with out_dir_lock(out, "yesno"):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.stderr.strip() == (
            f"error: prepare yesno: another `audiofront prepare yesno` is writing into {out} (lock {lock_path(out, 'yesno')} "
            "is held); wait for it to finish or use another --out-dir"
        )
        assert not list(out.glob("*.jsonl.gz")), "the refused run wrote nothing"
        # another corpus into the same folder is fine: their files do not overlap
        for i in range(6):
            _wav(tmp_path / "fsdd" / f"1_theo_{i}.wav", seed=i)
        res = runner.invoke(app, ["prepare", "fsdd", "--corpus-dir", str(tmp_path / "fsdd"), "--out-dir", str(out), "--split", "index"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, args)  # released: the next run goes through
    assert res.exit_code == 0, res.output
    assert len(CutSet.from_file(out / "yesno_cuts_train.jsonl.gz")) == 2


def test_lock_held_by_another_process(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
         str(lock_path(out, "yesno"))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match="another `audiofront prepare yesno` is writing into"):
            with out_dir_lock(out, "yesno"):
                pass
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with out_dir_lock(out, "yesno"):  # the kernel released it with the process
        pass


# ---- item 2: a writer that derives paths from ids stays in its folder ------------------------------
@pytest.mark.parametrize("evil", ["../../victim/target", "/ABS/victim/target", "..", "a\0b"])
def test_extract_numpy_refuses_ids_that_leave_the_out_dir(tmp_path, evil):
    _wav(tmp_path / "a.wav", 16000)
    info, _ = probe_audio(tmp_path / "a.wav")
    evil = evil.replace("/ABS", str(tmp_path))
    write_manifests(build_manifests([Utterance(evil, info, "HI", "train"), Utterance("ok", info, "HI", "train")]), tmp_path, "evil")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "target.npy").write_bytes(b"precious")
    out = tmp_path / "deep" / "er" / "feats"
    with pytest.raises(UserError, match="cut id"):
        extract_features(tmp_path / "evil_cuts_train.jsonl.gz", out, frontend="mel", storage="numpy")
    assert (victim / "target.npy").read_bytes() == b"precious"
    assert not out.exists() or not list(out.rglob("*.npy")), "nothing written before the check"


# ---- items 9, 10: one clear line and exit 2 for every bad option or file ----------------------------
def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    waves = _yesno(tmp_path / "waves")
    (tmp_path / "unlabelled").mkdir()
    _wav(tmp_path / "unlabelled" / "hello.wav")
    ch = tmp_path / "ls" / "LibriSpeech" / "train-clean-5" / "1" / "2"
    _wav(ch / "1-2-0.flac", 16000)
    (ch / "1-2.trans.txt").write_text("1-2-0 HI\n")
    out = str(tmp_path / "m")
    res = CliRunner().invoke(app, ["prepare", "yesno", "--corpus-dir", str(waves), "--out-dir", out])
    assert res.exit_code == 0, res.output  # the manifests the extract and lang cases read
    cuts = str(tmp_path / "m" / "yesno_cuts_test.jsonl.gz")
    recs = str(tmp_path / "m" / "yesno_recordings_test.jsonl.gz")
    (tmp_path / "garbage.jsonl.gz").write_bytes(b"\x1f\x8b not really gzip")
    ls = ["prepare", "librispeech", "--corpus-dir", str(tmp_path / "ls"), "--out-dir", out]
    yn = ["prepare", "yesno", "--corpus-dir", str(waves), "--out-dir", out]
    ext = ["extract", "--frontend", "mel", "--cuts", cuts, "--out-dir", str(tmp_path / "f")]
    lang = ["prepare", "lang", "--out-dir", str(tmp_path / "lang")]
    return [
        (ls + ["--sample-rate", "0"], "--sample-rate must be a positive number of Hz (e.g. 16000), got 0"),
        (ls + ["--sample-rate", "-8000"], "got -8000"),
        (ls + ["--num-workers", "-1"], "--num-workers must be >= 0"),
        (ls + ["--on-wrong-rate", "ignore"], "--on-wrong-rate must be 'resample' or 'refuse', got 'ignore'"),
        (ls + ["--test-speakers", "77"], "test speaker(s) 77 have no utterance"),
        (yn + ["--sample-rate", "-1"], "--sample-rate must be a positive number of Hz"),
        (["prepare", "yesno", "--corpus-dir", str(tmp_path / "unlabelled"), "--out-dir", out], "none of the 1 .wav file(s)"),
        (["prepare", "demo", "--n-train", "-3", "--out-dir", out], "--n-train must be a whole number >= 0, got -3"),
        (["prepare", "demo", "--n-train", "0", "--n-dev", "0", "--n-test", "0", "--out-dir", out], "the demo corpus is empty"),
        (["prepare", "fsdd", "--corpus-dir", str(tmp_path / "nowhere"), "--out-dir", out], "nowhere does not exist"),
        (["prepare", "fsdd", "--corpus-dir", str(waves), "--out-dir", out, "--split", "random"], "--split must be 'speaker' or 'index'"),
        (["prepare", "fsdd", "--corpus-dir", str(waves), "--out-dir", out, "--sample-rate", "0"], "--sample-rate must be a positive"),
        (["prepare", "cremad", "--corpus-dir", str(tmp_path / "nowhere"), "--out-dir", out], "nowhere does not exist"),
        (["prepare", "nsynth", "--corpus-dir", str(tmp_path), "--out-dir", out], "no nsynth-{train,valid,test}/examples.json"),
        (ls[:-2] + ["--out-dir", str(waves / "0_1_1.wav")], "exists and is not a folder"),
        (ext[:-4] + ["--cuts", str(tmp_path / "none.jsonl.gz"), "--out-dir", str(tmp_path / "f")], "none.jsonl.gz does not exist"),
        (ext[:-4] + ["--cuts", recs, "--out-dir", str(tmp_path / "f")], "is a RecordingSet manifest; expected cuts"),
        (ext[:-4] + ["--cuts", str(tmp_path / "garbage.jsonl.gz"), "--out-dir", str(tmp_path / "f")], "is not a readable lhotse cuts manifest"),
        (ext + ["--storage", "hdf9"], "--storage must be one of lilcom, float32, float16, numpy, got 'hdf9'"),
        (ext + ["--batch-seconds", "0"], "--batch-seconds must be > 0, got 0.0"),
        (ext + ["--device", "toaster"], "--device 'toaster'"),
        (ext + ["--num-threads", "-2"], "--num-threads must be >= 0"),
        (ext + ["--frontend-conf", "bogus=1"], "frontend 'mel' has no option(s) bogus"),
        (["extract", "--frontend", "nope", "--cuts", cuts, "--out-dir", str(tmp_path / "f")], "unknown frontend 'nope'"),
        (ext[:-2] + ["--out-dir", cuts], "exists and is not a folder"),
        (lang + ["--cuts", str(tmp_path / "none.jsonl.gz")], "--cuts: " + str(tmp_path / "none.jsonl.gz") + " does not exist"),
        (lang + ["--cuts", recs], "is a RecordingSet manifest"),
        (lang + ["--cuts", cuts, "--lm-order", "1"], "--lm-order must be at least 2"),
        (lang + ["--cuts", cuts, "--tokenizer", "words"], "--tokenizer must be one of bpe, char, phone, got 'words'"),
        (lang + ["--cuts", cuts, "--vocab-size", "0"], "--vocab-size must be at least 2"),
    ]


def test_every_bad_input_is_one_line_and_exit_2(tmp_path):
    runner = CliRunner()
    for args, expected in _bad_inputs(tmp_path):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        err = _lines(res.stderr)
        assert len(err) >= 1 and err[-1].startswith("error: ") and expected in err[-1], (args, res.stderr)
        # one line: the error; anything before it is the bad-data table of a corpus that had no usable file
        assert len(err) == 1 or "bad data" in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.output


def test_extract_names_a_cut_whose_audio_went_missing(tmp_path):
    _wav(tmp_path / "a.wav", 16000)
    _wav(tmp_path / "b.wav", 16000)
    utts = [Utterance(n, probe_audio(tmp_path / f"{n}.wav")[0], "HI", "train") for n in ("a", "b")]
    write_manifests(build_manifests(utts), tmp_path, "gone")
    (tmp_path / "b.wav").unlink()
    with pytest.raises(UserError, match=f"cut 'b': cannot load its audio {tmp_path / 'b.wav'}"):
        extract_features(tmp_path / "gone_cuts_train.jsonl.gz", tmp_path / "f", frontend="mel")
    assert not (tmp_path / "f" / "gone_cuts_train_mel.jsonl.gz").exists()
