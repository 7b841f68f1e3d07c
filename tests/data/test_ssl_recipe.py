"""egs/ssl/run.sh with a fake `audiofront` that records its arguments: each seed of --seeds is a replicate of
pretraining (trainer and batch-sampler seeds) and of the probes that start from it, in seed<N> folders."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fake_cli import TOUCH_PNG, fake_audiofront, print_on_json

REPO = Path(__file__).resolve().parents[2]


def _calls(tmp_path: Path, *args: str) -> list[str]:
    egs = tmp_path / "egs"
    if not egs.exists():
        shutil.copytree(REPO / "egs" / "ssl", egs / "ssl", ignore=shutil.ignore_patterns("exp", "data"))
        shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    env, calls = fake_audiofront(tmp_path)
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


def test_stage7_tables_the_filters_of_every_seed_beside_the_untrained_frontends(tmp_path):
    """Stage 7 writes each pretrained learnable frontend's numbers to exp/TAG/filters/cola/CONFIG/seedN.json, the untrained
    frontend of each configuration (with its init) to filters/init/, a learnable frontend trained supervised to
    filters/TASK/supervised-FRONTEND/, the table over seeds to summary/filters.md and the
    centre-frequency histograms to summary/centres.png;
    the fixed mel frontend (COLA or supervised) is not inspected."""
    egs = tmp_path / "egs"
    shutil.copytree(REPO / "egs" / "ssl", egs / "ssl", ignore=shutil.ignore_patterns("exp", "data"))
    shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    for c in ("mel", "sincnet_random"):
        for seed in (0, 1):
            (egs / "ssl" / "exp" / "p" / "cola" / c / f"seed{seed}").mkdir(parents=True)
    for f in ("mel", "sincnet"):  # supervised baselines: avg.pt of seed 0 only
        sup = egs / "ssl" / "exp" / "p" / "probe" / "fsdd-digits" / f"supervised-{f}" / "seed0"
        sup.mkdir(parents=True)
        (sup / "avg.pt").write_bytes(b"")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"frontends": [{"frontend": "sincnet", "inspection": {}, "summary": {
        "mean_mel_distance": 300.0, "share_above_4khz": 0.5, "median_bandwidth_ratio": 2.0,
        "center_histogram": {"edges_hz": [0.0, 4000.0, 8000.0], "counts": [20, 20]}}}]}))
    calls = tmp_path / "calls.txt"
    env, calls = fake_audiofront(
        tmp_path,
        f'case "$*" in *cola/mel/*|*supervised-mel/*|"inspect-filters mel "*) echo "asked for mel" >> {calls}.mel ;; esac',
        print_on_json(report), TOUCH_PNG, "exit 0")
    res = subprocess.run(["bash", str(egs / "ssl" / "run.sh"), "--stage", "7", "--stop-stage", "7", "--tag", "p",
                          "--configs", "mel sincnet_random", "--seeds", "0 1", "--probe-tasks", "fsdd-digits",
                          "--supervised-frontends", "mel sincnet"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    out = egs / "ssl" / "exp" / "p" / "filters"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.json")) == [
        "cola/sincnet_random/seed0.json", "cola/sincnet_random/seed1.json", "fsdd-digits/supervised-sincnet/seed0.json",
        "init/sincnet_random.json"]
    assert "inspect-filters sincnet --conf init=random --json" in calls.read_text()
    assert not Path(f"{calls}.mel").exists()
    table = (egs / "ssl" / "exp" / "p" / "summary" / "filters.md").read_text()
    assert "| untrained sincnet_random | 1 | 300.0 | 50% | 2.00 |" in table
    assert "| cola / sincnet_random | 2 | 300.0 ± 0.0 | 50% | 2.00 |" in table
    assert "| fsdd-digits / supervised-sincnet | 1 |" in table
    assert (egs / "ssl" / "exp" / "p" / "cola" / "sincnet_random" / "seed1" / "filters_vs_mel.png").exists()
    assert (egs / "ssl" / "exp" / "p" / "summary" / "centres.png").stat().st_size > 1000
