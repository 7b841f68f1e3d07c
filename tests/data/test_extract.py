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


def _stereo_manifest(tmp_path, name):
    """One stereo cut: a silent left channel and a tone on the right (a lhotse MultiCut)."""
    from lhotse import Recording

    from audiofront.data.manifests import write_manifest

    t = np.arange(8000) / 16000
    audio = np.stack([np.zeros_like(t), 0.5 * np.sin(2 * np.pi * 440 * t)], axis=1).astype(np.float32)
    sf.write(tmp_path / "st.wav", audio, 16000, subtype="FLOAT")
    cut = Recording.from_file(tmp_path / "st.wav", recording_id="st").to_cut()
    assert cut.num_channels == 2
    path = tmp_path / f"{name}_cuts_all.jsonl.gz"
    write_manifest(CutSet.from_cuts([cut]), path)
    return path, audio.mean(axis=1)


def test_multi_channel_cuts_are_mixed_down_as_in_training(tmp_path):
    path, mono = _stereo_manifest(tmp_path, "st")
    out = extract_features(path, tmp_path / "f", frontend="mel", storage="float32")
    got = load_features(next(iter(CutSet.from_file(out.cuts_path))))
    fe = build_frontend("mel")
    with torch.no_grad():
        want, n = fe(torch.from_numpy(mono)[None], torch.tensor([mono.shape[0]]))
    np.testing.assert_allclose(got, want[0, : int(n[0])].numpy(), rtol=1e-5, atol=1e-5)  # not channel 0's silence


def test_dotted_names_keep_every_frontend_in_its_own_file(cuts_path, tmp_path):
    dotted = tmp_path / "my.set_cuts_all.jsonl.gz"
    dotted.write_bytes(cuts_path.read_bytes())
    outs = {fe: extract_features(dotted, tmp_path / "f", frontend=fe) for fe in ("fbank", "mel")}
    assert outs["fbank"].storage_path != outs["mel"].storage_path
    assert outs["mel"].storage_path.name == "my.set_cuts_all_mel.lca"
    source = CutSet.from_file(cuts_path).to_eager()
    for fe, out in outs.items():
        for cut in CutSet.from_file(out.cuts_path):
            assert np.abs(load_features(cut) - _direct(fe, source[cut.id])).max() <= 2.0**-6 + 1e-6


def test_a_second_run_keeps_refuses_or_replaces_and_a_failed_one_loses_nothing(cuts_path, tmp_path):
    out_dir = tmp_path / "f"
    first = extract_features(cuts_path, out_dir, frontend="mel", frontend_conf={"n_filters": 24})
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}

    again = extract_features(cuts_path, out_dir, frontend="mel", frontend_conf={"n_filters": 24})
    assert again.reused and not first.reused and (again.num_cuts, again.num_frames) == (first.num_cuts, first.num_frames)
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before

    with pytest.raises(UserError, match=r"already holds mel features .* config differs.*--overwrite"):
        extract_features(cuts_path, out_dir, frontend="mel", frontend_conf={"n_filters": 32})
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before

    # --overwrite with a cut whose audio has gone: the run fails and the earlier features still load
    cuts = CutSet.from_file(cuts_path).to_eager()
    (tmp_path / "u1.wav").rename(tmp_path / "u1.moved")
    with pytest.raises(UserError, match="u1"):
        extract_features(cuts_path, out_dir, frontend="mel", frontend_conf={"n_filters": 32}, overwrite=True)
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before  # nor any temporary left behind
    (tmp_path / "u1.moved").rename(tmp_path / "u1.wav")

    new = extract_features(cuts_path, out_dir, frontend="mel", frontend_conf={"n_filters": 32}, overwrite=True)
    assert new.dim == 32 and not new.reused
    for cut in CutSet.from_file(new.cuts_path):
        assert np.abs(load_features(cut) - _direct("mel", cuts[cut.id], n_filters=32)).max() <= 2.0**-6 + 1e-6
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(before)  # replaced, no leftovers
