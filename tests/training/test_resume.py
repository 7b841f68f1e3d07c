"""A training run killed with SIGKILL and resumed ends with exactly the weights of one never interrupted.

Both runs go through the real command line (``python -m audiofront.cli.main train``) in subprocesses, on
CPU with one thread and a fixed seed; speed perturbation and SpecAugment are on, so the test also covers
the data position and the random streams being restored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from asr_train_synth import make_corpus, make_lang, write_recipe

REPO = Path(__file__).resolve().parents[2]


def _cmd(recipe: Path, exp: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "audiofront.cli.main", "train", "--config", str(recipe), "--exp-dir", str(exp),
            "--device", "cpu", *extra]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    cuts = make_corpus(root / "corpus", n=16)
    lang = make_lang(root / "lang", cuts)
    recipe = write_recipe(root / "recipe.yaml", cuts, lang, save_every_steps=2, keep_last_steps=0)
    return root, recipe


def test_sigkill_then_resume_matches_uninterrupted(setup):
    root, recipe = setup
    check_sigkill_resume(recipe, root)


def check_sigkill_resume(recipe: Path, root: Path) -> None:
    """Train ``recipe`` (which must save every 2 steps and run >= 10 steps) once uninterrupted and once
    killed after step 4 and resumed; the weights, optimiser moments and averaged model must be identical.
    Shared by the tests of other tasks (``tests/training/test_cola_resume.py``)."""
    ref_exp, cut_exp = root / "ref", root / "killed"
    done = subprocess.run(_cmd(recipe, ref_exp), env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ref = torch.load(ref_exp / "last.pt", weights_only=True)
    total = ref["step"]
    assert total >= 10, f"the run is too short ({total} steps) to kill it in the middle"

    # kill right after the 2nd step checkpoint (step 4) appears, well before the end
    proc = subprocess.Popen(_cmd(recipe, cut_exp), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = cut_exp / "checkpoints" / "step-4.pt"
    deadline = time.time() + 240
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = torch.load(cut_exp / "last.pt", weights_only=True)["step"]
    # step-4.pt is written just before last.pt: the kill may fall in between (then last.pt holds step 2)
    assert 2 <= killed_at < total, killed_at
    assert not (cut_exp / "avg.pt").exists()

    resumed = subprocess.run(_cmd(recipe, cut_exp, "--resume"), env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in (cut_exp / "train.log").read_text()
    out = torch.load(cut_exp / "last.pt", weights_only=True)
    assert out["step"] == total
    assert out["model"].keys() == ref["model"].keys()
    for k in ref["model"]:
        assert torch.equal(out["model"][k], ref["model"][k]), f"weights differ after resume: {k}"
    # the optimiser moments too (a resumed run must be able to go on identically)
    for s_ref, s_out in zip(ref["optimizer"]["state"].values(), out["optimizer"]["state"].values()):
        assert torch.equal(s_ref["exp_avg_sq"], s_out["exp_avg_sq"])
    # and the averaged model
    avg_ref = torch.load(ref_exp / "avg.pt", weights_only=True)["model"]
    avg_out = torch.load(cut_exp / "avg.pt", weights_only=True)["model"]
    assert all(torch.equal(avg_ref[k], avg_out[k]) for k in avg_ref)


def test_max_steps_mid_epoch_keeps_data_position(setup):
    """Stopping at max_steps in the middle of an epoch records the data position for a later resume."""
    import yaml

    from audiofront.tasks import build_task
    from audiofront.training.trainer import TrainConfig, Trainer

    root, recipe = setup
    cfg = yaml.safe_load(recipe.read_text())
    training = {**cfg.pop("training"), "max_steps": 4, "exp_dir": str(root / "partial"), "device": "cpu"}
    cfg.pop("task")
    Trainer(build_task("asr", cfg), TrainConfig.from_dict(training)).fit()
    part = torch.load(root / "partial" / "last.pt", weights_only=True)
    assert part["step"] == 4 and part["loader"] == {"epoch": 0, "batches_done": 4} and part["epoch"] == 0
    assert part["total_steps"] == 4
