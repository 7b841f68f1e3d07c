"""VAE training under DistributedDataParallel (torchrun, two CPU processes on gloo): it runs, both ranks step
together (the KL warm-up counter counts optimiser steps, not steps times ranks), and the averaged checkpoint
is a ``vae`` frontend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from asr_train_synth import make_corpus

REPO = Path(__file__).resolve().parents[2]


def test_vae_training_under_ddp(tmp_path):
    cuts = make_corpus(tmp_path / "corpus", n=16)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "audiofront.cli.main", "train", "--task", "vae", "--device", "cpu", "--no-progress",
           "--train-cuts", str(cuts), "--exp-dir", str(tmp_path / "vae"), "--max-steps", "3",
           "--set", "max_duration=3.0", "--set", "fragments_per_batch=16", "--set", "channels=4",
           "--set", "norm_cuts=4", "--set", "kl_warmup_steps=10"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "world size 2" in (tmp_path / "vae" / "train.log").read_text()
    last = torch.load(tmp_path / "vae" / "last.pt", weights_only=True)
    assert last["step"] == 3
    assert int(last["model"]["kl_steps"]) == 3  # one warm-up step per optimiser step on every rank
    from audiofront.frontends import build_frontend

    fe = build_frontend("vae", checkpoint=str(tmp_path / "vae" / "avg.pt"))
    feats, _ = fe(torch.randn(1, 3200) * 0.1)
    assert feats.shape[-1] == 13 and torch.isfinite(feats).all()
