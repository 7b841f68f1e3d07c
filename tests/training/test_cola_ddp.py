"""COLA pretraining and a frozen linear probe under DistributedDataParallel (torchrun, two CPU processes on
gloo): both views go through one DDP forward, and frozen parts stay bit-identical with two replicas too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from asr_train_synth import make_corpus

REPO = Path(__file__).resolve().parents[2]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "audiofront.cli.main", "train", "--device", "cpu", "--no-progress", "--num-epochs", "1",
           "--frontend", "leaf", "--frontend-conf", "n_filters=8", "--set", "batch_size=4", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_cola_and_frozen_probe_under_ddp(tmp_path):
    cuts = make_corpus(tmp_path / "corpus", n=16)
    cola = _torchrun("--task", "cola", "--train-cuts", str(cuts), "--set", "segment_seconds=0.3",
                     "--set", "projection_dim=16", "--exp-dir", str(tmp_path / "cola"))
    assert cola.returncode == 0, cola.stderr[-3000:]
    log = (tmp_path / "cola" / "train.log").read_text()
    assert "world size 2" in log
    pre = torch.load(tmp_path / "cola" / "last.pt", weights_only=True)
    assert pre["step"] == 2  # 16 clips, 2 ranks x 4 clips per step
    probe = _torchrun("--task", "classify", "--train-cuts", str(cuts), "--set", "label=text", "--set", "window_seconds=0.3",
                      "--exp-dir", str(tmp_path / "probe"), "--init-from", str(tmp_path / "cola" / "avg.pt"),
                      "--freeze", "frontend,encoder")
    assert probe.returncode == 0, probe.stderr[-3000:]
    init = torch.load(tmp_path / "cola" / "avg.pt", weights_only=True)["model"]
    out = torch.load(tmp_path / "probe" / "last.pt", weights_only=True)["model"]
    frozen = [k for k in init if k.startswith(("frontend.", "feature_norm.", "encoder."))]
    assert frozen and all(torch.equal(out[k], init[k]) for k in frozen)
