"""egs/leaf_study/run.sh's plumbing with a fake `audiofront` that records its arguments: the study run, and the
`--dev true` budget run (train minus a dev split, validated on it, the test set never touched)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fake_cli import fake_audiofront

REPO = Path(__file__).resolve().parents[2]


def _recipe(tmp_path: Path) -> tuple[Path, dict, Path]:
    """A copy of the recipe (it writes data/ and exp/ beside itself) and a recording fake CLI on PATH."""
    egs = tmp_path / "egs"
    shutil.copytree(REPO / "egs" / "leaf_study", egs / "leaf_study")
    shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    env, calls = fake_audiofront(tmp_path)
    return egs / "leaf_study" / "run.sh", env, calls


def _run(script: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("task,split,corpus", [
    ("fsdd-digits", "--by speaker --fraction 0.25", "fsdd"),
    ("librispeech-speaker", "--by cut --fraction 0.1 --stratify speaker --window-seconds 1", "librispeech_speakers"),
    ("demo-accent", "--by speaker --fraction 0.25 --stratify accent", "demo_accents"),
])
def test_dev_run_trains_on_the_rest_validates_on_dev_and_never_evaluates(tmp_path, task, split, corpus):
    script, env, calls = _recipe(tmp_path)
    res = _run(script, env, "--task", task, "--frontend", "mel", "--dev", "true", "--num-epochs", "20")
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    dev_data = f"data/{task.replace('-', '_')}_dev"
    make = next(ln for ln in lines if ln.startswith("prepare dev-split"))
    assert split in make and f"--out-dir {dev_data}" in make
    train = next(ln for ln in lines if ln.startswith("train "))
    assert f"--train-cuts {dev_data}/{corpus}_cuts_train.jsonl.gz" in train
    assert f"--valid-cuts {dev_data}/{corpus}_cuts_dev.jsonl.gz" in train
    assert f"--exp-dir exp_dev/{task}/mel/seed0" in train and "--num-epochs 20" in train
    assert not any(ln.startswith(("evaluate", "score")) for ln in lines)  # the test set is not looked at
    assert any(ln.startswith(f"plot curves exp_dev/{task}/mel/seed0") for ln in lines)


def test_study_run_has_no_dev_split_and_evaluates(tmp_path):
    script, env, calls = _recipe(tmp_path)
    res = _run(script, env, "--task", "fsdd-digits", "--frontend", "leaf", "--seed", "2", "--num-threads", "1")
    assert res.returncode == 0, res.stderr[-2000:]
    lines = calls.read_text().splitlines()
    assert not any(ln.startswith("prepare dev-split") for ln in lines)
    train = next(ln for ln in lines if ln.startswith("train "))
    assert "--train-cuts data/fsdd_theo/fsdd_cuts_train.jsonl.gz" in train and "--valid-cuts" not in train
    assert "--exp-dir exp/fsdd-digits/leaf/seed2" in train
    ev = next(ln for ln in lines if ln.startswith("evaluate --checkpoint exp/fsdd-digits/leaf/seed2/avg.pt"))
    assert ev.endswith("--num-threads 1")  # side-by-side jobs: one thread each, evaluation too


@pytest.mark.parametrize("args,match", [
    (["--task", "multitask", "--dev", "true"], "--dev true is per task"),
    (["--task", "fsdd-digits", "--dev", "yes"], "--dev must be true or false"),
])
def test_bad_dev_options_are_refused(tmp_path, args, match):
    script, env, calls = _recipe(tmp_path)
    res = _run(script, env, *args)
    assert res.returncode != 0 and match in res.stderr
    assert not calls.exists()  # refused before any command ran


def test_study_runs_the_compression_grid_as_tagged_systems(tmp_path):
    script, env, calls = _recipe(tmp_path)
    study = script.parent / "study.sh"
    # the summary stages need real runs: stop the study there by making them no-ops
    (script.parent / "summarize.sh").write_text("true\n")
    (script.parent / "filters.sh").write_text("true\n")
    res = subprocess.run(["bash", str(study), "--tasks", "", "--multitask-frontends", "", "--seeds", "1",
                          "--grid-tasks", "fsdd-digits"], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    trains = [ln for ln in calls.read_text().splitlines() if ln.startswith("train ")]
    assert len(trains) == 3
    by_dir = {ln.split("--exp-dir ")[1].split()[0]: ln for ln in trains}
    assert set(by_dir) == {f"exp/fsdd-digits/{s}/seed1" for s in ("mel+pcen", "gabor+log", "gabor+pcen")}
    assert "--frontend mel-pcen" in by_dir["exp/fsdd-digits/mel+pcen/seed1"]
    assert "--frontend-conf compression=pcen" in by_dir["exp/fsdd-digits/mel+pcen/seed1"]
    assert "--frontend leaf" in by_dir["exp/fsdd-digits/gabor+log/seed1"]
    assert "--frontend-conf compression=log" in by_dir["exp/fsdd-digits/gabor+log/seed1"]


def test_study_refuses_an_unknown_grid_system_before_running_anything(tmp_path):
    script, env, calls = _recipe(tmp_path)
    res = subprocess.run(["bash", str(script.parent / "study.sh"), "--grid-systems", "gabor+mfcc"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "unknown grid system 'gabor+mfcc'" in res.stderr
    assert not calls.exists()
