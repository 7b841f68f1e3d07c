"""`extract`: stored features equal the frontend's own output, cut by cut, through lhotse."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from lhotse import CutSet

from audiofront.data.checks import probe_audio
from audiofront.errors import UserError
from audiofront.data.extract import extract_features, load_features
from audiofront.data.manifests import Utterance, build_manifests, write_manifests
from audiofront.frontends import build_frontend


@pytest.fixture
def cuts_path(tmp_path):
    """Four cuts of different lengths, one of them an 8 kHz file (resampled to 16 kHz in its cut)."""
    rng = np.random.default_rng(0)
    utts = []
    for k, (seconds, sr) in enumerate([(0.31, 16000), (0.5, 16000), (0.2213, 16000), (0.4, 8000)]):
        path = tmp_path / f"u{k}.wav"
        sf.write(path, (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32), sr, subtype="FLOAT")
        info, issue = probe_audio(path)
        assert issue is None
        utts.append(Utterance(f"u{k}", info, "HELLO", "train"))
    write_manifests(build_manifests(utts, 16000), tmp_path, "tiny")
    return tmp_path / "tiny_cuts_train.jsonl.gz"


def _direct(name, cut, **conf):
    fe = build_frontend(name, **conf)
    audio = torch.from_numpy(cut.load_audio())
    with torch.no_grad():
        feats, n = fe(audio, torch.tensor([audio.shape[1]]))
    return feats[0, : int(n[0])].numpy()


def test_numpy_storage_is_exact(cuts_path, tmp_path):
    out = extract_features(cuts_path, tmp_path / "feats", frontend="mel", frontend_conf={"n_filters": 24},
                           storage="numpy", batch_seconds=0.6)  # batches of 2-3 padded cuts
    assert out.num_cuts == 4 and out.dim == 24
    cuts = CutSet.from_file(out.cuts_path).to_eager()
    assert out.cuts_path.name == "tiny_cuts_train_mel.jsonl.gz"
    source = CutSet.from_file(cuts_path).to_eager()
    for cut in cuts:
        assert cut.has_features and cut.features.type == "mel"
        assert cut.features.frame_shift == pytest.approx(0.01)
        got = load_features(cut)
        want = _direct("mel", source[cut.id], n_filters=24)
        assert got.shape == want.shape == (cut.features.num_frames, 24)
        np.testing.assert_array_equal(got, want)  # padding in a batch changes nothing
    assert cuts["u3"].features.sampling_rate == 16000
    meta = json.loads((tmp_path / "feats" / "tiny_cuts_train_mel_frontend.json").read_text())
    assert meta["frontend"] == "mel" and meta["config"]["n_filters"] == 24


def test_lilcom_storage_is_close(cuts_path, tmp_path):
    out = extract_features(cuts_path, tmp_path / "feats", frontend="mel")
    assert out.storage_path.suffix == ".lca" and out.storage_path.is_file()
    source = CutSet.from_file(cuts_path).to_eager()
    for cut in CutSet.from_file(out.cuts_path):
        want = _direct("mel", source[cut.id])
        got = load_features(cut)
        assert got.shape == want.shape
        # lilcom's default tick_power=-5 quantises to steps of 2**-5: error at most half a step
        assert np.abs(got - want).max() <= 2.0**-6 + 1e-6


def test_errors(cuts_path, tmp_path):
    with pytest.raises(UserError, match="none.jsonl.gz does not exist"):
        extract_features(tmp_path / "none.jsonl.gz", tmp_path / "f")
    with pytest.raises(ValueError, match="storage"):
        extract_features(cuts_path, tmp_path / "f", frontend="mel", storage="hdf9")
    with pytest.raises(ValueError, match="unknown frontend"):
        extract_features(cuts_path, tmp_path / "f", frontend="no-such-frontend")


def test_too_short_cut_is_listed_not_fatal(tmp_path):
    utts = []
    for k, seconds in enumerate([0.3, 0.01]):  # fbank needs 400 samples (25 ms) for one frame
        path = tmp_path / f"s{k}.wav"
        sf.write(path, np.full(int(seconds * 16000), 0.1, dtype=np.float32), 16000)
        utts.append(Utterance(f"s{k}", probe_audio(path)[0], "HI", "train"))
    write_manifests(build_manifests(utts), tmp_path, "short")
    out = extract_features(tmp_path / "short_cuts_train.jsonl.gz", tmp_path / "f", frontend="fbank")
    assert out.skipped == ["s1"] and out.num_cuts == 1
    assert "s1\t" in (tmp_path / "f" / "short_cuts_train_fbank_skipped.txt").read_text()
    assert list(CutSet.from_file(out.cuts_path).ids) == ["s0"]
