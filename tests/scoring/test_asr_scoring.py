"""WER counts, the sclite-style summary, alignments and RESULTS.md rows on hand-made transcripts."""

from __future__ import annotations

import json

import pytest

from audiofront.errors import UserError
from audiofront.scoring.asr import (
    append_results_row,
    read_kaldi_text,
    score_files,
    score_texts,
    wer_bootstrap,
)

REF = {
    "u1": "THE CAT SAT",  # hyp: one substitution
    "u2": "GO LEFT NOW",  # hyp: one deletion (LEFT)
    "u3": "STOP",  # hyp: one insertion (STOP STOP)
    "u4": "ONE TWO THREE FOUR",  # hyp: exact
    "u5": "UP DOWN",  # missing from the hyp -> two deletions
}
HYP = {"u1": "THE BAT SAT", "u2": "GO NOW", "u3": "STOP STOP", "u4": "ONE TWO THREE FOUR", "u9": "EXTRA"}


def test_counts_by_hand():
    r = score_texts(REF, HYP, dataset="demo")
    c = r.counts()
    # Words: 3 + 3 + 1 + 4 + 2 = 13. Correct: 2 + 2 + 1 + 4 + 0 = 9.
    assert c == {"sentences": 5, "words": 13, "correct": 9, "substitutions": 1, "deletions": 3, "insertions": 1,
                 "sentence_errors": 4}
    assert r.missing_hyp == ["u5"] and r.extra_hyp == ["u9"]
    assert r.wer == pytest.approx(100 * 5 / 13)
    row = r.summary_row()
    assert (row["Snt"], row["Wrd"]) == (5, 13)
    assert row["Corr"] == round(100 * 9 / 13, 2) and row["Sub"] == round(100 / 13, 2)
    assert row["Del"] == round(300 / 13, 2) and row["Ins"] == round(100 / 13, 2)
    assert row["Err"] == round(500 / 13, 2) and row["S.Err"] == 80.0
    u1 = next(u for u in r.utts if u.utt == "u1")
    assert u1.ops == [("C", "THE", "THE"), ("S", "CAT", "BAT"), ("C", "SAT", "SAT")]


def test_character_error_rate_by_hand(tmp_path):
    (tmp_path / "ref").write_text("u1 THE CAT\nu2 GO\n")
    (tmp_path / "hyp").write_text("u1 THE CAP\nu2 G O\n")
    r = score_files(tmp_path / "ref", tmp_path / "hyp", tmp_path / "score", unit="char")
    # u1: T H E | C A T vs T H E | C A P: 1 substitution; u2: G O vs G | O: 1 insertion (the split word); 9 chars
    c = r.counts()
    assert (c["words"], c["substitutions"], c["insertions"], c["deletions"]) == (9, 1, 1, 0)
    assert r.wer == pytest.approx(100 * 2 / 9)
    with pytest.raises(ValueError, match="--unit"):
        score_files(tmp_path / "ref", tmp_path / "hyp", tmp_path / "score", unit="syllable")


def test_phone_error_rate_leaves_out_the_word_end_marks(tmp_path):
    # "HI YOU": HH AY_E Y UW_E (word-final variants) or HH AY | Y UW (boundary tokens): the same 4 phones
    (tmp_path / "ref").write_text("u1 HH AY_E Y UW_E\nu2 HH AY | Y UW\n")
    # u1: AY's word end missed (no phone error), AY for UW (one substitution); u2: Y deleted (the extra '|' is
    # no phone)
    (tmp_path / "hyp").write_text("u1 HH AY Y AY_E\nu2 HH AY | | UW\n")
    r = score_files(tmp_path / "ref", tmp_path / "hyp", tmp_path / "score", unit="phone")
    c = r.counts()
    assert (c["words"], c["substitutions"], c["insertions"], c["deletions"]) == (8, 1, 0, 1)
    assert r.wer == pytest.approx(100 * 2 / 8)
    # the same files as tokens (unit word): the word-end marks count
    assert score_files(tmp_path / "ref", tmp_path / "hyp", tmp_path / "s2").counts()["words"] == 9


def test_files_alignment_and_results_rows(tmp_path):
    (tmp_path / "ref").write_text("".join(f"{u} {t}\n" for u, t in REF.items()))
    (tmp_path / "hyp").write_text("".join(f"{u} {t}\n" for u, t in HYP.items()) + "u6\n")
    assert read_kaldi_text(tmp_path / "hyp")["u6"] == ""
    results = tmp_path / "RESULTS.md"
    results.write_text("# Demo results\n\nSome notes that must stay.\n")
    r = score_files(tmp_path / "ref", tmp_path / "hyp", tmp_path / "score", dataset="demo", results_md=results, tag="greedy")
    summary = (tmp_path / "score" / "wer_summary.md").read_text()
    assert summary.splitlines()[0] == "| dataset | Snt | Wrd | Corr | Sub | Del | Ins | Err | S.Err |"
    assert "| demo | 5 | 13 | 69.23 | 7.69 | 23.08 | 7.69 | 38.46 | 80.0 |" in summary
    align = (tmp_path / "score" / "per_utt.txt").read_text()
    assert "u2 ref  GO  LEFT  NOW" in align and "u2 hyp  GO  ***   NOW" in align and "u2 op   C   D     C" in align
    assert "u3 #csid 1 0 0 1" in align
    assert json.loads((tmp_path / "score" / "wer.json").read_text())["counts"]["deletions"] == 3

    append_results_row(results, "lm", {**r.summary_row(), "Err": 1.0}, date="d")
    lines = results.read_text().splitlines()
    assert lines[:3] == ["# Demo results", "", "Some notes that must stay."]
    rows = [ln for ln in lines if ln.startswith("| greedy") or ln.startswith("| lm")]
    assert len(rows) == 2 and rows[1].startswith("| lm | demo | 5 | 13 |") and rows[1].endswith("| 1.0 | 80.0 | d |")
    assert sum(ln.startswith("| tag |") for ln in lines) == 1  # one table, rows appended below its header


def test_bad_transcripts_are_reported(tmp_path):
    (tmp_path / "dup").write_text("u1 A\nu1 B\n")
    with pytest.raises(ValueError, match="dup:2: utterance 'u1' appears twice"):
        read_kaldi_text(tmp_path / "dup")
    with pytest.raises(UserError, match="nope does not exist"):
        read_kaldi_text(tmp_path / "nope")
    (tmp_path / "latin1").write_bytes("u1 CAF\xc9\nu2 OK\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1 is not UTF-8 text \(byte 0xc9 at offset 6, line 1\)"):
        read_kaldi_text(tmp_path / "latin1", "--hyp")
    with pytest.raises(ValueError, match="no utterances"):
        score_texts({}, {"a": "B"})


# ---- the paired bootstrap of two systems -----------------------------------------------------------
def _reference_bootstrap(err_a, err_b, words, draws):
    """Loop by loop: for each resample, the WER of each system over the drawn utterances."""
    diffs, was, wbs = [], [], []
    for row in draws:
        n = sum(words[i] for i in row)
        wa = 100.0 * sum(err_a[i] for i in row) / n
        wb = 100.0 * sum(err_b[i] for i in row) / n
        diffs.append(wa - wb)
        was.append(wa)
        wbs.append(wb)
    return diffs, was, wbs


def test_wer_bootstrap_against_a_loop_over_the_same_draws():
    import numpy as np

    ref = {f"u{i}": " ".join(["W"] * (i + 1)) for i in range(6)}  # 1..6 words
    hyp_a = {"u0": "W", "u1": "W W", "u2": "W W X", "u3": "W W W W", "u4": "", "u5": "W W W W W W"}
    hyp_b = {"u0": "X", "u1": "W W", "u2": "", "u3": "W W", "u4": "W W W W W", "u5": "W W W W W W W"}
    a, b = score_texts(ref, hyp_a), score_texts(ref, hyp_b)
    errs_a = [u.errors for u in a.utts]
    errs_b = [u.errors for u in b.utts]
    words = [len(u.ref) for u in a.utts]
    assert errs_a == [0, 0, 1, 0, 5, 0] and errs_b == [1, 0, 3, 2, 0, 1]
    r = wer_bootstrap(a, b, n_boot=500, seed=3)
    # the observed figures by hand: 6 / 21 and 7 / 21 errors per reference word
    assert r.wer_a == pytest.approx(600 / 21) and r.wer_b == pytest.approx(700 / 21)
    assert r.observed == pytest.approx(-100 / 21)
    draws = np.random.default_rng(3).integers(0, 6, size=(500, 6))
    diffs, was, wbs = _reference_bootstrap(errs_a, errs_b, words, draws)
    assert r.ci95 == pytest.approx((np.percentile(diffs, 2.5), np.percentile(diffs, 97.5)))
    assert r.ci95_a == pytest.approx((np.percentile(was, 2.5), np.percentile(was, 97.5)))
    assert r.ci95_b == pytest.approx((np.percentile(wbs, 2.5), np.percentile(wbs, 97.5)))
    assert r.p_a_not_better == pytest.approx(np.mean(np.array(diffs) >= 0))
    assert 0 < r.p_a_not_better < 1  # the systems trade errors: neither wins every resample


def test_wer_bootstrap_when_one_system_is_better_on_every_utterance(tmp_path):
    ref = {f"u{i}": "A B C" for i in range(20)}
    better = {u: "A B C" for u in ref}
    worse = {u: "A B" for u in ref}  # one deletion each
    r = wer_bootstrap(score_texts(ref, better), score_texts(ref, worse), n_boot=200)
    assert r.observed == pytest.approx(-100 / 3) and r.ci95 == pytest.approx((-100 / 3, -100 / 3))
    assert r.p_a_not_better == 0.0
    same = wer_bootstrap(score_texts(ref, worse), score_texts(ref, worse), n_boot=200)
    assert same.observed == 0.0 and same.p_a_not_better == 1.0
    with pytest.raises(ValueError, match="different utterances"):
        wer_bootstrap(score_texts(ref, better), score_texts({"u0": "A B C"}, {"u0": "A"}))

    # through the files (and the CLI's --compare): compare.json holds it, A being --hyp
    (tmp_path / "ref").write_text("".join(f"{u} {t}\n" for u, t in ref.items()))
    (tmp_path / "a").write_text("".join(f"{u} {t}\n" for u, t in better.items()))
    (tmp_path / "b").write_text("".join(f"{u} {t}\n" for u, t in worse.items()))
    r2 = score_files(tmp_path / "ref", tmp_path / "a", tmp_path / "s", compare=tmp_path / "b")
    got = json.loads((tmp_path / "s" / "compare.json").read_text())
    assert got["observed"] == pytest.approx(-100 / 3) and got["b"] == str(tmp_path / "b")
    assert r2.comparison.wer_b == pytest.approx(100 / 3)
    # characters: the deleted word is one character and its '|' (2 of the 5 units of A|B|C)
    r3 = score_files(tmp_path / "ref", tmp_path / "a", tmp_path / "c", compare=tmp_path / "b", unit="char")
    assert r3.comparison.observed == pytest.approx(-40.0)
