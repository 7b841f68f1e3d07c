"""egs/ssl/run.sh with a fake `audiofront` that records its arguments: each seed of --seeds is a replicate of
pretraining (trainer and batch-sampler seeds) and of the probes that start from it, in seed<N> folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _calls(tmp_path: Path, *args: str) -> list[str]:
    egs = tmp_path / "egs"
    if not egs.exists():
        shutil.copytree(REPO / "egs" / "ssl", egs / "ssl", ignore=shutil.ignore_patterns("exp", "data"))
        shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    fake = bindir / "audiofront"
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    res = subprocess.run(["bash", str(egs / "ssl" / "run.sh"), "--stage", "2", "--stop-stage", "2",
                          "--configs", "mel sincnet_random", *args], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    return calls.read_text().splitlines() if calls.exists() else []


def test_each_seed_is_a_replicate_of_pretraining_and_probing(tmp_path):
    lines = _calls(tmp_path, "--seeds", "0 3", "--tag", "p", "--stop-stage", "3", "--probe-tasks", "fsdd-digits")
    pre = [ln for ln in lines if "--task cola" in ln]
    assert len(pre) == 4  # 2 configurations x 2 seeds
    for seed in (0, 3):
        for c in ("mel", "sincnet_random"):
            ln = next(x for x in pre if f"--exp-dir exp/p/cola/{c}/seed{seed} " in x)
            # seed 0 is the recipe's own pair (trainer 42, sampler 0)
            assert f" --seed {42 + seed} " in ln and f"--set seed={seed}" in ln
            probe = next(x for x in lines if f"--exp-dir exp/p/probe/fsdd-digits/{c}/seed{seed} " in x)
            assert f"--init-from exp/p/cola/{c}/seed{seed}/avg.pt" in probe and f" --seed {seed} " in probe + " "


def test_summary_is_made_again_over_every_seed_and_bad_seeds_are_refused(tmp_path):
    lines = _calls(tmp_path, "--stage", "6", "--stop-stage", "6", "--probe-tasks", "fsdd-digits")
    assert sum(ln.startswith("plot study exp/study/probe") for ln in lines) == 1
    lines = _calls(tmp_path, "--stage", "6", "--stop-stage", "6", "--probe-tasks", "fsdd-digits")
    assert sum(ln.startswith("plot study exp/study/probe") for ln in lines) == 2  # no done marker skips it
    with pytest.raises(AssertionError, match="--seeds takes whole numbers"):
        _calls(tmp_path, "--seeds", "0 x")
