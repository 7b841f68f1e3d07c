"""Helpers of the command-line error tests (not a test module): tiny corpora (and module fixtures writing them,
imported by the test modules: a ``conftest.py`` here would shadow ``tests/conftest.py`` for the modules that
import it by name), and a CLI runner that checks the one-line error contract (non-zero exit, one ``error:``
line naming the value, no traceback)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from audiofront.cli.main import app

SR = 16000
TONES = {"low": 300.0, "mid": 1200.0, "high": 4000.0}
WORDS = {"ONE": 400.0, "TWO": 700.0, "GO": 1600.0}


def write_tones(root, n_per_class=3, nan_clip=None):
    """``3 * n_per_class`` clips of 0.3 s, labelled ``tone``; ``nan_clip`` (an index) gets NaN samples."""
    from lhotse import CutSet, MonoCut, Recording, SupervisionSegment

    rng = np.random.default_rng(0)
    cuts = []
    for tone, hz in TONES.items():
        for i in range(n_per_class):
            x = 0.3 * np.sin(2 * np.pi * hz * np.arange(int(0.3 * SR)) / SR) + 0.01 * rng.standard_normal(int(0.3 * SR))
            if nan_clip is not None and len(cuts) == nan_clip:
                x[100:110] = np.nan
            path = root / f"{tone}_{i}.wav"
            sf.write(path, x.astype(np.float32), SR, subtype="FLOAT")
            rec = Recording.from_file(path)
            sup = SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, custom={"tone": tone})
            cuts.append(MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    return CutSet.from_cuts(cuts)


def write_asr(root, n=4):
    """``n`` utterances of tone-burst "words" with transcripts, and a character tokenizer in ``root/lang``."""
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    from audiofront.text.tokenizer import Tokenizer

    rng = np.random.default_rng(1)
    recs, sups = [], []
    for i in range(n):
        words = [str(w) for w in rng.choice(list(WORDS), size=2)]
        t = np.arange(int(0.2 * SR)) / SR
        x = np.concatenate([np.concatenate([0.3 * np.sin(2 * np.pi * WORDS[w] * t), np.zeros(int(0.05 * SR))]) for w in words])
        path = root / f"utt{i}.wav"
        sf.write(path, x.astype(np.float32), SR)
        rec = Recording.from_file(path, recording_id=f"utt{i}")
        recs.append(rec)
        sups.append(SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, text=" ".join(words)))
    cuts = CutSet.from_manifests(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups))
    Tokenizer.train([s.text for s in sups], kind="char", out_dir=root / "lang")
    return cuts, root / "lang"


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    path = root / "tones_cuts.jsonl.gz"
    write_tones(root).to_file(path)
    return path


@pytest.fixture(scope="module")
def asr(tmp_path_factory):
    root = tmp_path_factory.mktemp("asr")
    cuts, lang = write_asr(root)
    path = root / "cuts.jsonl.gz"
    cuts.to_file(path)
    return path, lang


def run(args):
    """Invoke ``audiofront ARGS`` in-process (AUDIOFRONT_DEBUG unset)."""
    import os

    os.environ.pop("AUDIOFRONT_DEBUG", None)
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(res, *words, code=2):
    """A user error: exit ``code`` (None: any non-zero), ONE line of output, ``error: ...`` holding every word, no traceback."""
    out = res.output
    ok = res.exit_code != 0 if code is None else res.exit_code == code
    assert ok, f"exit {res.exit_code}, output:\n{out}\nexception: {res.exception!r}"
    # a bug would leave its exception here (CliRunner catches it instead of printing the traceback)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{out}"
    assert lines[0].startswith("error: "), lines[0]
    for w in words:
        assert str(w) in lines[0], f"{w!r} not in {lines[0]!r}"
    return lines[0]
