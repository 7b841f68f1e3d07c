"""Classification scores: accuracy with a 95% confidence interval, per-class accuracy, confusion matrix;
mAP, ROC AUC and d-prime for multi-label tasks; a paired bootstrap to compare two systems.

Predictions come as JSON lines (written by the classification evaluation, one line per clip and task)::

    {"id": "3_theo_7", "task": "digit", "kind": "single", "classes": ["0", ..., "9"],
     "target": "3", "scores": [p_0, ..., p_9]}

``kind`` is ``"single"`` (``target`` is one class, ``scores`` are softmax probabilities) or ``"multi"``
(``target`` is a list of classes, ``scores`` per-class sigmoid probabilities).

Conventions:
- the 95% interval of an accuracy is the **Wilson score interval** (it stays inside [0, 1] and behaves
  for accuracies near 0 or 1 and small test sets, unlike the normal approximation);
- AP follows the usual step-wise definition ``sum_n (R_n - R_{n-1}) P_n`` over the distinct score
  thresholds (tied scores enter together); ROC AUC is the Mann-Whitney probability that a positive scores
  above a negative, ties counted one half; classes without positives (AP) or without positives or
  negatives (AUC) are left out of the means and listed;
- d-prime = sqrt(2) * Phi^-1(AUC) (the AudioSet convention);
- the paired bootstrap resamples the test items with replacement (the same draw for both systems) and
  reports the distribution of ``acc(A) - acc(B)`` and the one-sided p-value ``P(diff <= 0)``; pooled over
  several tasks (:func:`pooled_paired_bootstrap`), the clips are resampled within each task and the statistic
  is the mean over tasks of the per-task differences.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import UserError
from ..utils.io import atomic_write_text
from .files import read_text

Z95 = NormalDist().inv_cdf(0.975)


# ---------------------------------------------------------------------------------------------------
# single-label
# ---------------------------------------------------------------------------------------------------
def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / total`` (95% by default)."""
    if total <= 0:
        raise ValueError("an accuracy needs at least one test item")
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def confusion_matrix(targets: Sequence[int], preds: Sequence[int], n_classes: int) -> np.ndarray:
    """``[n_classes, n_classes]`` counts, rows = true class, columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(targets, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return cm


def single_label_scores(targets: Sequence[int], scores: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    preds = scores.argmax(axis=1)
    correct = int((preds == targets).sum())
    n = len(targets)
    lo, hi = wilson_interval(correct, n)
    cm = confusion_matrix(targets, preds, len(classes))
    per_class = {}
    for i, c in enumerate(classes):
        total = int(cm[i].sum())
        per_class[c] = {"n": total, "correct": int(cm[i, i]), "accuracy": (cm[i, i] / total) if total else None}
    return {
        "kind": "single",
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "ci95": [lo, hi],
        "ci_method": "wilson",
        "per_class": per_class,
        "classes": list(classes),
        "confusion": cm.tolist(),
    }


# ---------------------------------------------------------------------------------------------------
# multi-label
# ---------------------------------------------------------------------------------------------------
def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
    """AP of one class: ``sum_n (R_n - R_{n-1}) P_n`` over distinct thresholds, highest first."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # the last index of each run of tied scores: a threshold admits the whole run at once
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """P(score of a random positive > score of a random negative), ties counted 1/2 (Mann-Whitney U)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # average ranks handle ties exactly
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def d_prime(auc: float) -> float:
    """sqrt(2) * Phi^-1(AUC): the separation of two unit-variance Gaussians that gives this AUC."""
    if not 0.0 < auc < 1.0:
        return float("inf") if auc >= 1.0 else float("-inf")
    return math.sqrt(2.0) * NormalDist().inv_cdf(auc)


def multi_label_scores(targets: np.ndarray, scores: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """``targets`` and ``scores`` are ``[N, C]`` (0/1 and probabilities)."""
    targets = np.asarray(targets, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    per_class = {}
    aps, aucs, skipped_ap, skipped_auc = [], [], [], []
    for i, c in enumerate(classes):
        ap = average_precision(scores[:, i], targets[:, i])
        auc = roc_auc(scores[:, i], targets[:, i])
        per_class[c] = {"positives": int(targets[:, i].sum()), "ap": None if math.isnan(ap) else ap,
                        "auc": None if math.isnan(auc) else auc}
        (skipped_ap if math.isnan(ap) else aps).append(c if math.isnan(ap) else ap)
        (skipped_auc if math.isnan(auc) else aucs).append(c if math.isnan(auc) else auc)
    mean_auc = float(np.mean(aucs)) if aucs else float("nan")
    return {
        "kind": "multi",
        "n": int(targets.shape[0]),
        "mAP": float(np.mean(aps)) if aps else float("nan"),
        "AUC": mean_auc,
        "d_prime": d_prime(mean_auc) if aucs else float("nan"),
        "classes_without_positives": skipped_ap,
        "classes_without_auc": skipped_auc,
        "per_class": per_class,
        "classes": list(classes),
    }


# ---------------------------------------------------------------------------------------------------
# comparing two systems
# ---------------------------------------------------------------------------------------------------
@dataclass
class BootstrapResult:
    observed: float  # acc(A) - acc(B) on the test set
    mean: float
    ci95: tuple[float, float]
    p_value: float  # one-sided: P(diff <= 0) under resampling, i.e. evidence that A is better than B
    n_boot: int
    diffs: np.ndarray


def paired_bootstrap(correct_a: Sequence[bool], correct_b: Sequence[bool], n_boot: int = 10000, seed: int = 0) -> BootstrapResult:
    """Resample the test items (same indices for both systems) and collect ``acc(A) - acc(B)``."""
    a = np.asarray(correct_a, dtype=np.float64)
    b = np.asarray(correct_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired bootstrap needs two equally long, non-empty lists of outcomes, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    diff = a - b
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    return _bootstrap_result(float(diff.mean()), diff[idx].mean(axis=1), n_boot)


def _bootstrap_result(observed: float, diffs: np.ndarray, n_boot: int) -> BootstrapResult:
    """The summary of resampled differences ``diffs`` around the ``observed`` one."""
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return BootstrapResult(observed=observed, mean=float(diffs.mean()), ci95=(float(lo), float(hi)),
                           p_value=float((diffs <= 0).mean()), n_boot=n_boot, diffs=diffs)


def pooled_paired_bootstrap(
    tasks: dict[str, tuple[Sequence[float], Sequence[float]]], n_boot: int = 10000, seed: int = 0
) -> BootstrapResult:
    """The paired bootstrap of two systems pooled over tasks: the statistic is the *mean over tasks* of
    ``acc_t(A) - acc_t(B)`` (every task weighs the same, as the average-accuracy column of the LEAF paper's
    tables), and each resample draws the clips of every task with replacement, within that task.

    ``tasks``: ``{task: (outcomes of A, outcomes of B)}`` per clip, paired, in [0, 1]: 0/1 correctness, or
    the mean correctness of a clip over several seeds (so seeds are averaged, clips resampled).
    Tasks are drawn in sorted order from one generator, so a single task gives exactly
    :func:`paired_bootstrap`'s draw for the same seed.
    """
    if not tasks:
        raise ValueError("a pooled bootstrap needs at least one task")
    diffs = []
    for name in sorted(tasks):
        a = np.asarray(tasks[name][0], dtype=np.float64)
        b = np.asarray(tasks[name][1], dtype=np.float64)
        if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
            raise ValueError(f"task {name!r}: the two systems need equally long, non-empty lists of outcomes, got {a.shape} and {b.shape}")
        diffs.append(a - b)
    rng = np.random.default_rng(seed)
    total = np.zeros(n_boot)
    for d in diffs:
        total += d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    return _bootstrap_result(float(np.mean([d.mean() for d in diffs])), total / len(diffs), n_boot)


# ---------------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------------
def read_predictions(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{task: {"kind", "classes", "ids", "targets", "scores"}}`` from a predictions JSONL file."""
    path = Path(path)
    tasks: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate(read_text(path, "predictions file").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task, kind, classes = row["task"], row["kind"], row["classes"]
            target, scores = row["target"], row["scores"]
            uid = row["id"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UserError(f"{path}:{lineno}: not a prediction line (need id, task, kind, classes, target, scores): {e}") from None
        t = tasks.setdefault(task, {"kind": kind, "classes": classes, "ids": [], "targets": [], "scores": []})
        if t["classes"] != classes or t["kind"] != kind:
            raise UserError(f"{path}:{lineno}: task {task!r} changes its classes or kind mid-file")
        if len(scores) != len(classes):
            raise UserError(f"{path}:{lineno}: {len(scores)} scores for {len(classes)} classes")
        index = {c: i for i, c in enumerate(classes)}
        if kind == "single":
            if target not in index:
                raise UserError(f"{path}:{lineno}: target {target!r} is not one of the classes of task {task!r}")
            t["targets"].append(index[target])
        elif kind == "multi":
            vec = [0] * len(classes)
            for c in target:
                if c not in index:
                    raise UserError(f"{path}:{lineno}: target {c!r} is not one of the classes of task {task!r}")
                vec[index[c]] = 1
            t["targets"].append(vec)
        else:
            raise UserError(f"{path}:{lineno}: kind must be 'single' or 'multi', got {kind!r}")
        t["ids"].append(uid)
        t["scores"].append(scores)
    if not tasks:
        raise UserError(f"{path} holds no predictions")
    return tasks


def score_task(pred: dict[str, Any]) -> dict[str, Any]:
    scores = np.asarray(pred["scores"], dtype=np.float64)
    if pred["kind"] == "single":
        return single_label_scores(pred["targets"], scores, pred["classes"])
    return multi_label_scores(np.asarray(pred["targets"]), scores, pred["classes"])


def correct_by_id(pred: dict[str, Any]) -> dict[str, bool]:
    scores = np.asarray(pred["scores"])
    return {uid: bool(scores[i].argmax() == pred["targets"][i]) for i, uid in enumerate(pred["ids"])}


def compare_predictions(pred_a: dict[str, Any], pred_b: dict[str, Any], n_boot: int = 10000, seed: int = 0) -> BootstrapResult:
    """Paired bootstrap of two systems' single-label predictions on the same test items (matched by id)."""
    if pred_a["kind"] != "single" or pred_b["kind"] != "single":
        raise ValueError("the paired bootstrap compares accuracies: single-label tasks only")
    ca, cb = correct_by_id(pred_a), correct_by_id(pred_b)
    if set(ca) != set(cb):
        only_a, only_b = sorted(set(ca) - set(cb)), sorted(set(cb) - set(ca))
        raise ValueError(
            f"the two systems were not scored on the same items: {len(only_a)} only in A (e.g. {only_a[:3]}), "
            f"{len(only_b)} only in B (e.g. {only_b[:3]})"
        )
    ids = sorted(ca)
    return paired_bootstrap([ca[i] for i in ids], [cb[i] for i in ids], n_boot=n_boot, seed=seed)


def format_summary(results: dict[str, dict[str, Any]], name: str = "") -> str:
    lines = []
    for task, r in results.items():
        if task == "comparison":
            continue
        if r["kind"] == "single":
            lo, hi = r["ci95"]
            lines.append(f"{name} task={task} accuracy={100 * r['accuracy']:.2f}% "
                         f"(95% Wilson CI {100 * lo:.2f}-{100 * hi:.2f}%, {r['correct']}/{r['n']})")
            lines.append("  per class: " + ", ".join(
                f"{c}={100 * v['accuracy']:.1f}%" if v["accuracy"] is not None else f"{c}=n/a" for c, v in r["per_class"].items()))
            width = max(len(c) for c in r["classes"])
            lines.append("  confusion (rows = truth, columns = predicted):")
            lines.append("  " + " " * (width + 1) + " ".join(f"{c:>{max(3, width)}}" for c in r["classes"]))
            for c, row in zip(r["classes"], r["confusion"]):
                lines.append(f"  {c:>{width}} " + " ".join(f"{v:>{max(3, width)}}" for v in row))
        else:
            lines.append(f"{name} task={task} mAP={r['mAP']:.4f} AUC={r['AUC']:.4f} d'={r['d_prime']:.3f} (n={r['n']})")
    for task, c in results.get("comparison", {}).items():
        lo, hi = c["ci95"]
        lines.append(f"{name} task={task} paired bootstrap A-B: observed {100 * c['observed']:+.2f} points, "
                     f"95% interval [{100 * lo:+.2f}, {100 * hi:+.2f}], one-sided p(A<=B)={c['p_value']:.4f} "
                     f"({c['n_boot']} resamples)")
    return "\n".join(lines) + "\n"


def score_classification(
    predictions: str | Path,
    out_dir: str | Path,
    compare: Optional[str | Path] = None,
    n_boot: int = 10000,
    seed: int = 0,
    name: str = "",
) -> dict[str, Any]:
    """Score a predictions file; with ``compare``, also bootstrap ``predictions`` (A) against ``compare`` (B).

    Writes ``{out_dir}/scores.json`` and ``{out_dir}/summary.txt`` (atomically) and returns the results.
    """
    preds = read_predictions(predictions)
    results: dict[str, Any] = {task: score_task(p) for task, p in preds.items()}
    if compare is not None:
        other = read_predictions(compare)
        results["comparison"] = {}
        for task, p in preds.items():
            if task in other and p["kind"] == "single":
                b = compare_predictions(p, other[task], n_boot=n_boot, seed=seed)
                results["comparison"][task] = {
                    "a": str(predictions), "b": str(compare), "observed": b.observed, "mean": b.mean,
                    "ci95": list(b.ci95), "p_value": b.p_value, "n_boot": b.n_boot,
                    "diff_percentiles": {str(q): float(np.percentile(b.diffs, q)) for q in (1, 5, 25, 50, 75, 95, 99)},
                }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "scores.json", json.dumps(results, indent=1, default=_json_default))
    atomic_write_text(out_dir / "summary.txt", format_summary(results, name))
    return results


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))
