"""The ``vae`` frontend: frames aligned with mfcc, the 300 ms model's hop, clear refusals of other files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from audiofront.errors import UserError
from audiofront.frontends import build_frontend
from audiofront.training.checkpoint import save_checkpoint
from conftest import speech_like
from vae_fixtures import tiny_vae_checkpoint


def test_frames_align_with_mfcc():
    vae, mfcc = build_frontend("vae", checkpoint=tiny_vae_checkpoint()), build_frontend("mfcc")
    assert vae.frame_shift == mfcc.frame_shift == 160
    lengths = torch.tensor([1, 159, 160, 161, 400, 4001, 16000, 16037])
    assert torch.equal(vae.num_frames(lengths), mfcc.num_frames(lengths))
    # the same frame centres: an impulse at frame k0's centre changes frames symmetrically about k0, in both
    x = 0.01 * speech_like(0.5, seed=3)[None]
    for k0 in (7, 20):
        y = x.clone()
        y[0, 160 * k0] += 0.5
        for fe in (vae, mfcc):
            with torch.no_grad():
                changed = ((fe(y)[0] - fe(x)[0]).abs().amax(-1)[0] > 1e-6).nonzero().flatten().tolist()
            assert changed and k0 - changed[0] == changed[-1] - k0 and changed == list(range(changed[0], changed[-1] + 1)), (fe.name, changed)


def test_the_300ms_model_and_hop_override():
    fe = build_frontend("vae", checkpoint=tiny_vae_checkpoint(fragment_frames=96, latent_dim=6, feature_hop=1600))
    assert fe.frame_shift == 1600 and fe.output_dim == 6
    feats, n = fe(0.1 * speech_like(1.0)[None])
    assert feats.shape == (1, 1 + 16000 // 1600, 6) and int(n[0]) == 11
    fine = build_frontend("vae", checkpoint=tiny_vae_checkpoint(), hop_length=80)
    assert fine(torch.zeros(1, 1600))[0].shape == (1, 21, 5)


def test_frozen_unless_fine_tuned():
    path = tiny_vae_checkpoint()
    assert not any(p.requires_grad for p in build_frontend("vae", checkpoint=path).parameters())
    tuned = build_frontend("vae", checkpoint=path, fine_tune=True)
    assert tuned.encoder.conv1.weight.requires_grad and not hasattr(tuned, "decoder")


def test_files_that_are_not_a_vae_checkpoint_get_one_clear_error(tmp_path):
    asr = tmp_path / "asr.pt"
    save_checkpoint({"task": {"name": "asr", "config": {}}, "model": {}, "frontend": {"name": "fbank", "config": {}}}, asr)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    for path, words in ((asr, "not a VAE checkpoint (a checkpoint of task 'asr')"), (junk, str(junk)),
                        (tmp_path / "missing.pt", "does not exist")):
        with pytest.raises(UserError) as err:
            build_frontend("vae", checkpoint=str(path))
        assert words in str(err.value)
    with pytest.raises(UserError, match="needs checkpoint=PATH"):
        build_frontend("vae")
    # through the command line: one line on stderr, exit 2
    import soundfile as sf
    from lhotse import CutSet, Recording, RecordingSet

    sf.write(tmp_path / "a.wav", speech_like(0.3).numpy(), 16000)
    cuts = tmp_path / "cuts.jsonl.gz"
    CutSet.from_manifests(RecordingSet.from_recordings([Recording.from_file(tmp_path / "a.wav")])).to_file(cuts)
    run = subprocess.run([sys.executable, "-m", "audiofront.cli.main", "extract", "--frontend", "vae", "--frontend-conf",
                          f"checkpoint={asr}", "--cuts", str(cuts), "--out-dir", str(tmp_path / "f")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0 and "not a VAE checkpoint" in run.stderr


def test_frontends_table_lists_vae_without_and_with_a_checkpoint():
    def table(*conf):
        run = subprocess.run([sys.executable, "-m", "audiofront.cli.main", "frontends", *conf], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
        assert run.returncode == 0, run.stderr
        return next(line for line in run.stdout.splitlines() if "│ vae " in line)

    assert "checkpoint's" in table()
    cells = [c.strip() for c in table("--conf", f"checkpoint={tiny_vae_checkpoint()}").split("│")[1:-1]]
    assert cells[:5] == ["vae", "16000", "10", "5", "0"]
