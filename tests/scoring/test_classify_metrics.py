"""Classification metrics against values worked out by hand (the arithmetic is in the comments)."""

import json
import math

import numpy as np
import pytest

from audiofront.scoring.classify import (
    average_precision,
    confusion_matrix,
    d_prime,
    multi_label_scores,
    paired_bootstrap,
    roc_auc,
    score_classification,
    single_label_scores,
    wilson_interval,
)

# Two scored classes and one without positives, four clips.
#  class a: scores 0.9 0.8 0.3 0.1, labels 1 0 1 0
#    ranked: 0.9(+) 0.8(-) 0.3(+) 0.1(-): precision at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2 = 5/6
#    AUC: positive/negative pairs (0.9,0.8) (0.9,0.1) (0.3,0.8) (0.3,0.1) -> 3 of 4 ordered right = 0.75
#  class b: scores 0.5 0.5 0.2 0.7, labels 1 0 0 0  (a tie between the positive and a negative)
#    thresholds: 0.7 admits one negative (P=0, R=0); 0.5 admits the tied pair: tp=1, fp=2, P=1/3, R=1
#    -> AP = (1 - 0) * 1/3 = 1/3
#    AUC: 0.5 vs 0.5 tie = 1/2, vs 0.2 = 1, vs 0.7 = 0 -> 1.5 / 3 = 0.5
#  class c: no positives -> no AP; all negatives -> no AUC
#  mAP = (5/6 + 1/3) / 2 = 7/12; mean AUC = (0.75 + 0.5) / 2 = 0.625
#  d' = sqrt(2) * Phi^-1(0.625); Phi^-1(0.625) = 0.318639 (normal table) -> d' = 0.450625
SCORES = np.array([[0.9, 0.5, 0.1], [0.8, 0.5, 0.2], [0.3, 0.2, 0.3], [0.1, 0.7, 0.4]])
LABELS = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]])


def test_average_precision_by_hand():
    assert average_precision(SCORES[:, 0], LABELS[:, 0]) == pytest.approx(5 / 6)
    assert average_precision(SCORES[:, 1], LABELS[:, 1]) == pytest.approx(1 / 3)
    assert math.isnan(average_precision(SCORES[:, 2], LABELS[:, 2]))


def test_roc_auc_by_hand():
    assert roc_auc(SCORES[:, 0], LABELS[:, 0]) == pytest.approx(0.75)
    assert roc_auc(SCORES[:, 1], LABELS[:, 1]) == pytest.approx(0.5)
    assert math.isnan(roc_auc(SCORES[:, 2], LABELS[:, 2]))
    # a perfect ranking and a reversed one
    assert roc_auc([0.9, 0.8, 0.1], [1, 1, 0]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9], [1, 1, 0]) == 0.0


def test_multi_label_summary_by_hand():
    r = multi_label_scores(LABELS, SCORES, ["a", "b", "c"])
    assert r["mAP"] == pytest.approx(7 / 12)
    assert r["AUC"] == pytest.approx(0.625)
    assert r["d_prime"] == pytest.approx(0.450625, abs=2e-6)
    assert r["classes_without_positives"] == ["c"]
    assert r["per_class"]["a"]["ap"] == pytest.approx(5 / 6)


def test_d_prime_reference_points():
    assert d_prime(0.5) == pytest.approx(0.0)
    # Phi(1) = 0.841345 -> AUC 0.841345 is d' = sqrt(2)
    assert d_prime(0.841345) == pytest.approx(math.sqrt(2), abs=1e-5)


def test_wilson_interval_by_hand():
    # 8/10, z = 1.96: denom 1.38415, centre (0.8 + 0.19207)/1.38415 = 0.71674,
    # half 1.96 * sqrt(0.016 + 0.0096036) / 1.38415 = 0.22658 -> [0.49016, 0.94332]
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.49016, abs=5e-5)
    assert hi == pytest.approx(0.94332, abs=5e-5)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0) and wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_single_label_accuracy_per_class_and_confusion():
    targets = [0, 0, 1, 1, 2]
    preds = [0, 1, 1, 1, 0]
    scores = np.eye(3)[preds] * 0.8 + 0.05
    r = single_label_scores(targets, scores, ["x", "y", "z"])
    assert r["correct"] == 3 and r["accuracy"] == pytest.approx(0.6)
    assert r["per_class"]["x"]["accuracy"] == 0.5
    assert r["per_class"]["y"]["accuracy"] == 1.0
    assert r["per_class"]["z"]["accuracy"] == 0.0
    assert r["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert confusion_matrix([1], [2], 3)[1, 2] == 1


def test_paired_bootstrap():
    # A right on 30 items where B is wrong, B right on 10 where A is wrong, both right on 60
    a = [1] * 30 + [0] * 10 + [1] * 60
    b = [0] * 30 + [1] * 10 + [1] * 60
    r = paired_bootstrap(a, b, n_boot=4000, seed=1)
    assert r.observed == pytest.approx(0.2)
    assert abs(r.mean - 0.2) < 0.01
    # the difference has sd sqrt((0.4 - 0.04) / 100) = 0.06: 0 lies 3.3 sd below -> p well under 1%
    assert r.p_value < 0.01
    assert r.ci95[0] > 0.05 and r.ci95[1] < 0.35
    swapped = paired_bootstrap(b, a, n_boot=4000, seed=1)
    assert swapped.p_value > 0.99
    same = paired_bootstrap(a, a, n_boot=100)
    assert same.p_value == 1.0 and same.observed == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [1])


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_score_files_and_compare(tmp_path):
    classes = ["0", "1"]
    truth = ["0", "1", "1", "0"]
    good = [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]]
    bad = [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6]]
    rows = lambda s: [{"id": f"u{i}", "task": "digit", "kind": "single", "classes": classes, "target": t, "scores": p}
                      for i, (t, p) in enumerate(zip(truth, s))]
    _write(tmp_path / "a.jsonl", rows(good))
    _write(tmp_path / "b.jsonl", rows(bad))
    r = score_classification(tmp_path / "a.jsonl", tmp_path / "out", compare=tmp_path / "b.jsonl", n_boot=500)
    assert r["digit"]["accuracy"] == 1.0
    assert r["comparison"]["digit"]["observed"] == pytest.approx(0.75)
    assert (tmp_path / "out" / "scores.json").is_file()
    assert "accuracy=100.00%" in (tmp_path / "out" / "summary.txt").read_text()
    # unknown class label -> a clear error naming the file and line
    bad_rows = rows(good)
    bad_rows[2]["target"] = "7"
    _write(tmp_path / "c.jsonl", bad_rows)
    with pytest.raises(ValueError, match=r"c.jsonl:3"):
        score_classification(tmp_path / "c.jsonl", tmp_path / "out2")
