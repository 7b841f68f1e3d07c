"""A frontend comparison study from its run folders: accuracy mean ± std over seeds per task and frontend, the
paired bootstrap of each frontend against a baseline (mel) pooled over tasks, and accuracy against SNR.

Layout read (written by ``egs/leaf_study/run.sh``)::

    {exp_root}/{task}/{system}/seed{N}/eval/{condition}/predictions.jsonl

``condition`` is ``clean`` or ``snr{X}dB`` (:func:`audiofront.tasks.classify_eval.snr_dirname`). A predictions
file may hold several heads (LibriSpeech: ``speaker`` and ``sex``); every single-label head is one scored
item ``"{task}/{head}"``.

Statistics (decided here, stated in the output):
- accuracy per run = the head's accuracy on its test clips; ``mean`` and ``std`` (sample standard deviation,
  ddof=1; 0 for a single seed) over the seeds of a system;
- the 95% interval drawn as whiskers = percentile bootstrap over the test clips of the *seed-averaged* clip
  correctness (a clip right in 2 of 3 seeds counts 2/3), the same resampling as the comparison test;
- the comparison of a system with the baseline: :func:`audiofront.scoring.classify.pooled_paired_bootstrap`
  over the task-heads both have run, on the seed-averaged clip correctness, clips matched by id; every
  task-head weighs the same. Tasks listed in ``pool_exclude`` (default: ``multitask``, whose heads repeat the
  single-task ones) are summarised but not pooled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import UserError
from .classify import correct_by_id, paired_bootstrap, pooled_paired_bootstrap, read_predictions

_SEED = re.compile(r"^seed(\d+)$")
_SNR = re.compile(r"^snr(-?[0-9.]+)dB$")


@dataclass
class Run:
    task: str
    system: str
    seed: int
    folder: Path

    def predictions(self, condition: str = "clean") -> Optional[Path]:
        path = self.folder / "eval" / condition / "predictions.jsonl"
        return path if path.is_file() else None


def find_runs(exp_root: str | Path) -> list[Run]:
    """Every ``{task}/{system}/seed{N}`` folder under ``exp_root`` (sorted); UserError if there is none."""
    root = Path(exp_root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder (expected a study's exp folder holding TASK/SYSTEM/seedN/)")
    runs = []
    for seed_dir in sorted(root.glob("*/*/seed*")):
        m = _SEED.match(seed_dir.name)
        if m and seed_dir.is_dir():
            runs.append(Run(seed_dir.parent.parent.name, seed_dir.parent.name, int(m.group(1)), seed_dir))
    if not runs:
        raise UserError(f"{root} holds no run folder TASK/SYSTEM/seedN (written by egs/leaf_study/run.sh)")
    return runs


def condition_order(name: str) -> float:
    """Sort key of an evaluation condition: clean first (as +inf dB), then SNRs from high to low."""
    if name == "clean":
        return float("-inf")
    m = _SNR.match(name)
    return -float(m.group(1)) if m else float("inf")


def snr_of(name: str) -> Optional[float]:
    """``snr10dB`` -> 10.0; ``clean`` -> None; anything else: UserError."""
    if name == "clean":
        return None
    m = _SNR.match(name)
    if not m:
        raise UserError(f"evaluation condition {name!r} is neither 'clean' nor snr<X>dB")
    return float(m.group(1))


def _clip_means(runs: Sequence[Run], head: str, condition: str) -> tuple[dict[str, float], list[float]]:
    """Seed-averaged correctness per clip id, and each seed's accuracy; clips must be the same in every seed."""
    per_seed, ids = [], None
    for run in runs:
        path = run.predictions(condition)
        c = correct_by_id(read_predictions(path)[head])
        if ids is not None and set(c) != ids:
            raise UserError(f"{path}: head {head!r} was scored on other clips than the other seeds of {run.task}/{run.system}")
        ids = set(c)
        per_seed.append(c)
    means = {i: float(np.mean([c[i] for c in per_seed])) for i in sorted(ids or [])}
    return means, [float(np.mean(list(c.values()))) for c in per_seed]


def _heads(path: Path) -> list[str]:
    return [h for h, p in read_predictions(path).items() if p["kind"] == "single"]


def summarize_study(
    exp_root: str | Path,
    baseline: str = "mel",
    condition: str = "clean",
    n_boot: int = 10000,
    seed: int = 0,
    pool_exclude: Sequence[str] = ("multitask",),
) -> dict[str, Any]:
    """``{"rows": [...], "comparisons": {...}, "snr": {...}}`` (see the module doc); JSON-serialisable."""
    runs = find_runs(exp_root)
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        if r.predictions(condition) is not None:
            groups.setdefault((r.task, r.system), []).append(r)
    if not groups:
        raise UserError(f"{exp_root}: no run has eval/{condition}/predictions.jsonl (run the evaluate stage first)")
    rows, clips = [], {}
    for (task, system), rs in sorted(groups.items()):
        for head in _heads(rs[0].predictions(condition)):
            means, accs = _clip_means(rs, head, condition)
            values = np.array(list(means.values()))
            boot = paired_bootstrap(values, np.zeros_like(values), n_boot=n_boot, seed=seed)
            rows.append({
                "task": f"{task}/{head}", "system": system, "seeds": [r.seed for r in rs], "n_clips": len(values),
                "accuracies": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                "ci95": list(boot.ci95), "ci_method": "bootstrap over clips of the seed-averaged correctness",
            })
            clips[(f"{task}/{head}", system)] = (task, means)
    comparisons = {}
    systems = sorted({s for _, s in clips})
    for system in systems:
        if system == baseline:
            continue
        pooled, per_task = {}, {}
        for (name, sys_name), (task, means) in sorted(clips.items()):
            if sys_name != system or (name, baseline) not in clips:
                continue
            base = clips[(name, baseline)][1]
            if set(means) != set(base):
                raise UserError(f"{name}: {system} and {baseline} were evaluated on different clips; re-run the evaluate stage")
            ids = sorted(means)
            pair = ([means[i] for i in ids], [base[i] for i in ids])
            b = paired_bootstrap(*pair, n_boot=n_boot, seed=seed)
            per_task[name] = {"observed": b.observed, "ci95": list(b.ci95), "p_value": b.p_value}
            if task not in pool_exclude:
                pooled[name] = pair
        if not pooled:
            continue
        b = pooled_paired_bootstrap(pooled, n_boot=n_boot, seed=seed)
        comparisons[system] = {
            "against": baseline, "tasks": sorted(pooled), "observed": b.observed, "mean": b.mean, "ci95": list(b.ci95),
            "p_value": b.p_value, "n_boot": n_boot, "per_task": per_task,
        }
    return {"exp_root": str(exp_root), "condition": condition, "baseline": baseline, "rows": rows,
            "comparisons": comparisons, "snr": snr_table(runs)}


def snr_table(runs: Sequence[Run]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"task/head": {system: {"snr": [...], "mean": [...], "std": [...]}}}`` over every condition evaluated by
    every seed of the system (clean is drawn at ``null`` SNR: the plot puts it at the right end)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.task, r.system), []).append(r)
    for (task, system), rs in sorted(groups.items()):
        conds = None
        for r in rs:
            here = {p.name for p in (r.folder / "eval").glob("*") if (p / "predictions.jsonl").is_file()}
            conds = here if conds is None else conds & here
        if not conds or conds == {"clean"}:  # nothing to draw against SNR
            continue
        ordered = sorted(conds, key=condition_order)
        for head in _heads(rs[0].predictions(ordered[0])):
            mean, std = [], []
            for cond in ordered:
                accs = [float(np.mean(list(correct_by_id(read_predictions(r.predictions(cond))[head]).values()))) for r in rs]
                mean.append(float(np.mean(accs)))
                std.append(float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0)
            out.setdefault(f"{task}/{head}", {})[system] = {
                "conditions": ordered, "snr": [snr_of(c) for c in ordered], "mean": mean, "std": std, "seeds": len(rs)}
    return out


def format_study(summary: dict[str, Any]) -> str:
    """A Markdown report: one table of accuracy (mean ± std over seeds) and the pooled comparisons."""
    lines = [f"Accuracy (%) on `{summary['condition']}`, mean ± std over seeds; whiskers/CI: 95% bootstrap over clips.", "",
             "| task | system | seeds | clips | accuracy | 95% CI |", "|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        lo, hi = r["ci95"]
        lines.append(f"| {r['task']} | {r['system']} | {len(r['seeds'])} | {r['n_clips']} | "
                     f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f} | {100 * lo:.1f}-{100 * hi:.1f} |")
    if summary["comparisons"]:
        lines += ["", f"Paired bootstrap against {summary['baseline']}, pooled over tasks (mean over tasks of the "
                  "accuracy difference; clips resampled within each task):", "",
                  "| system | tasks | difference (points) | 95% interval | p(diff <= 0) |", "|---|---|---|---|---|"]
        for system, c in summary["comparisons"].items():
            lo, hi = c["ci95"]
            lines.append(f"| {system} | {len(c['tasks'])} | {100 * c['observed']:+.2f} | [{100 * lo:+.2f}, {100 * hi:+.2f}] | "
                         f"{c['p_value']:.4f} |")
    return "\n".join(lines) + "\n"


def write_study(summary: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """``{out_dir}/study.json`` and ``study.md``, atomically."""
    from ..utils.io import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "study.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "study.md", format_study(summary))
    return [out / "study.json", out / "study.md"]


def read_study(path: str | Path) -> dict[str, Any]:
    """A ``study.json`` written by :func:`write_study`; UserError naming the file otherwise."""
    from .files import read_text

    path = Path(path)
    try:
        data = json.loads(read_text(path, "study summary"))
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not JSON (line {e.lineno}: {e.msg}); expected the study.json of `audiofront plot study`") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise UserError(f"{path} has no 'rows' list; expected the study.json of `audiofront plot study`")
    return data
