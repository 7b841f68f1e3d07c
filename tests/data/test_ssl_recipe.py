"""egs/ssl/run.sh's pretraining stage with a fake `audiofront` that records its arguments: the pretraining seed
reaches both the trainer (initialisation, crops) and the task's batch sampler, and is left alone by default."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pretrain_calls(tmp_path: Path, *args: str) -> list[str]:
    egs = tmp_path / "egs"
    shutil.copytree(REPO / "egs" / "ssl", egs / "ssl", ignore=shutil.ignore_patterns("exp", "data"))
    shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bindir / "audiofront"
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    res = subprocess.run(["bash", str(egs / "ssl" / "run.sh"), "--stage", "2", "--stop-stage", "2",
                          "--configs", "mel sincnet_random", *args], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    return [ln for ln in calls.read_text().splitlines() if ln.startswith("train ")]


def test_pretrain_seed_sets_the_trainer_and_sampler_seeds(tmp_path):
    lines = _pretrain_calls(tmp_path, "--pretrain-seed", "3", "--tag", "p3")
    assert len(lines) == 2
    for ln in lines:
        assert "--task cola" in ln and " --seed 3 " in ln and "--set seed=3" in ln
    assert "--exp-dir exp/p3/cola/mel " in lines[0] and "--exp-dir exp/p3/cola/sincnet_random " in lines[1]


def test_default_pretraining_keeps_the_recipe_seeds(tmp_path):
    lines = _pretrain_calls(tmp_path)
    assert len(lines) == 2
    assert not any("--seed" in ln or "seed=" in ln for ln in lines)
