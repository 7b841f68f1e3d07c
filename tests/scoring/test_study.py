"""The pooled paired bootstrap (against hand-computed cases and a slow loop) and the study summary."""

import json

import numpy as np
import pytest

from audiofront.errors import UserError
from audiofront.scoring.classify import paired_bootstrap, pooled_paired_bootstrap
from audiofront.scoring.study import find_runs, format_study, summarize_study


def _slow_pooled(tasks, n_boot, seed):
    """The definition, one resample and one task at a time, drawing in the same order as the fast one."""
    rng = np.random.default_rng(seed)
    names = sorted(tasks)
    draws = {t: rng.integers(0, len(tasks[t][0]), size=(n_boot, len(tasks[t][0]))) for t in names}
    out = []
    for k in range(n_boot):
        per_task = []
        for t in names:
            a, b = np.asarray(tasks[t][0], float), np.asarray(tasks[t][1], float)
            idx = draws[t][k]
            per_task.append(sum(a[i] - b[i] for i in idx) / len(idx))
        out.append(sum(per_task) / len(per_task))
    return np.array(out)


def test_pooled_bootstrap_by_hand():
    # task x: A right on 3 of 4 clips, B on 1 of 4 -> +0.5; task y (10 clips): A 5/10, B 6/10 -> -0.1
    # pooled = mean over tasks (each weighs the same, whatever its size) = (0.5 - 0.1) / 2 = 0.2;
    # weighting by clips would give (2 - 1) / 14 = 0.0714
    tasks = {"x": ([1, 1, 1, 0], [1, 0, 0, 0]), "y": ([1] * 5 + [0] * 5, [1] * 6 + [0] * 4)}
    r = pooled_paired_bootstrap(tasks, n_boot=2000, seed=3)
    assert r.observed == pytest.approx(0.2)
    assert np.allclose(r.diffs, _slow_pooled(tasks, 2000, 3))
    assert r.ci95[0] < 0.2 < r.ci95[1]
    assert r.p_value == pytest.approx(float((r.diffs <= 0).mean()))


def test_pooled_bootstrap_constant_differences_have_no_spread():
    # every clip of task x differs by +1, every clip of task y by 0 (seed-averaged outcomes, 2/3 vs 2/3):
    # each resample gives (1 + 0) / 2 = 0.5, so the interval is [0.5, 0.5] and p(diff <= 0) = 0
    tasks = {"x": ([1, 1, 1], [0, 0, 0]), "y": ([2 / 3, 2 / 3], [2 / 3, 2 / 3])}
    r = pooled_paired_bootstrap(tasks, n_boot=500, seed=0)
    assert r.observed == pytest.approx(0.5)
    assert r.ci95 == pytest.approx((0.5, 0.5))
    assert r.p_value == 0.0


def test_pooled_bootstrap_of_one_task_is_the_paired_bootstrap():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    pooled = pooled_paired_bootstrap({"only": (a, b)}, n_boot=300, seed=7)
    single = paired_bootstrap(a, b, n_boot=300, seed=7)
    assert np.array_equal(pooled.diffs, single.diffs) and pooled.ci95 == single.ci95


def test_pooled_bootstrap_refuses_bad_input():
    with pytest.raises(ValueError, match="at least one task"):
        pooled_paired_bootstrap({})
    with pytest.raises(ValueError, match="task 'x'"):
        pooled_paired_bootstrap({"x": ([1, 0], [1])})


def _write_run(root, task, system, seed, outcomes, head="digit", condition="clean"):
    """A predictions file where clip i is right iff outcomes[i] (2 classes; target always class '0')."""
    path = root / task / system / f"seed{seed}" / "eval" / condition / "predictions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"c{i}", "task": head, "kind": "single", "classes": ["0", "1"], "target": "0",
             "scores": [0.9, 0.1] if ok else [0.1, 0.9]} for i, ok in enumerate(outcomes)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_study_summary_mean_std_and_pooled_comparison(tmp_path):
    # task a: mel seeds right on 2/4 and 4/4 clips (mean 0.75, std 0.3536); leaf 4/4 both seeds
    _write_run(tmp_path, "a", "mel", 0, [1, 1, 0, 0])
    _write_run(tmp_path, "a", "mel", 1, [1, 1, 1, 1])
    _write_run(tmp_path, "a", "leaf", 0, [1, 1, 1, 1])
    _write_run(tmp_path, "a", "leaf", 1, [1, 1, 1, 1])
    # task b: one seed each; mel 1/2, leaf 0/2
    _write_run(tmp_path, "b", "mel", 0, [1, 0])
    _write_run(tmp_path, "b", "leaf", 0, [0, 0])
    # a multitask run is summarised, not pooled
    _write_run(tmp_path, "multitask", "leaf", 0, [1, 1])
    _write_run(tmp_path, "multitask", "mel", 0, [0, 0])
    s = summarize_study(tmp_path, n_boot=200)
    rows = {(r["task"], r["system"]): r for r in s["rows"]}
    assert rows[("a/digit", "mel")]["mean"] == pytest.approx(0.75)
    assert rows[("a/digit", "mel")]["std"] == pytest.approx(np.std([0.5, 1.0], ddof=1))
    assert rows[("b/digit", "leaf")]["std"] == 0.0 and rows[("b/digit", "leaf")]["seeds"] == [0]
    c = s["comparisons"]["leaf"]
    # seed-averaged clips: task a leaf - mel = mean(0, 0, 0.5, 0.5) = 0.25; task b = 0 - 0.5 = -0.5
    # pooled = (0.25 - 0.5) / 2 = -0.125 (multitask left out)
    assert c["tasks"] == ["a/digit", "b/digit"]
    assert c["observed"] == pytest.approx(-0.125)
    assert c["per_task"]["multitask/digit"]["observed"] == pytest.approx(1.0)
    assert "| leaf | 2 | -12.50 |" in format_study(s)


def test_study_snr_table_and_errors(tmp_path):
    for cond, ok in (("clean", [1, 1]), ("snr10dB", [1, 0]), ("snr0dB", [0, 0])):
        _write_run(tmp_path, "a", "mel", 0, ok, condition=cond)
    s = summarize_study(tmp_path, n_boot=10)
    curve = s["snr"]["a/digit"]["mel"]
    assert curve["conditions"] == ["clean", "snr10dB", "snr0dB"]
    assert curve["snr"] == [None, 10.0, 0.0] and curve["mean"] == [1.0, 0.5, 0.0]
    with pytest.raises(UserError, match="not a folder"):
        find_runs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no run folder"):
        find_runs(tmp_path / "empty")
    _write_run(tmp_path / "diff", "a", "mel", 0, [1, 1])
    _write_run(tmp_path / "diff", "a", "leaf", 0, [1, 1, 1])
    with pytest.raises(UserError, match="different clips"):
        summarize_study(tmp_path / "diff", n_boot=10)
