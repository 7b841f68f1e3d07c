"""`audiofront plot asr-study`: ASR runs read from their exp folders, error rates computed by hand, the paired
comparison against the baseline, and clear refusals (a run not decoded, runs of different references)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.errors import UserError
from audiofront.scoring.asr_study import compare_asr_runs, read_asr_run

REFS = {"u1": "A B C D", "u2": "E F"}


def _run(root: Path, name: str, hyps: dict[str, str], tokenizer: str = "phone", refs: dict[str, str] = REFS,
         greedy: bool = True) -> Path:
    exp = root / "exp" / name
    lang = root / f"lang_{tokenizer}"
    lang.mkdir(parents=True, exist_ok=True)
    (lang / "lang.json").write_text(json.dumps({"tokenizer": tokenizer}))
    exp.mkdir(parents=True)
    (exp / "config.yaml").write_text(yaml.safe_dump({"frontend": "leaf", "encoder": "tiny", "lang_dir": str(lang)}))
    torch.save({"epoch": 7, "step": 700, "train_seconds": 90.0, "model": {}}, exp / "last.pt")
    (exp / "tune_lm").mkdir()
    (exp / "tune_lm" / "tune.json").write_text(json.dumps({"best": {"lm_weight": 2.0, "word_score": -1.0, "wer": 40.5}}))
    for method in ("lm", "greedy") if greedy else ("lm",):
        d = exp / f"decode_{method}"
        d.mkdir()
        (d / "ref").write_text("".join(f"{u} {t}\n" for u, t in refs.items()))
        (d / "hyp").write_text("".join(f"{u} {t}\n" for u, t in hyps.items()))
    return exp


def test_runs_are_read_and_compared_with_error_rates_computed_by_hand(tmp_path):
    a = read_asr_run(_run(tmp_path, "a", {"u1": "A B C D", "u2": "E X"}))
    b = read_asr_run(_run(tmp_path, "b", {"u1": "A C D", "u2": "E F G"}, tokenizer="char", greedy=False))
    assert (a.frontend, a.encoder, a.tokenizer, b.tokenizer) == ("leaf", "tiny", "phone", "char")
    assert (a.epochs, a.steps, a.train_minutes) == (7, 700, 1.5)
    assert (a.dev_wer, a.lm_weight, a.word_score) == (40.5, 2.0, -1.0)
    # words: a has 1 substitution of 6 words, b 1 deletion + 1 insertion
    assert a.wer.wer == pytest.approx(100 / 6) and b.wer.wer == pytest.approx(200 / 6)
    # characters, '|' between words: 7 + 3 units; a: X for F; b: "B|" deleted and "|G" inserted
    assert a.cer.wer == pytest.approx(10.0) and b.cer.wer == pytest.approx(40.0)
    assert a.greedy is not None and a.greedy.wer == pytest.approx(100 / 6) and b.greedy is None
    rows = compare_asr_runs([a, b], baseline="a", n_boot=2000)
    assert rows[0].vs_wer is None and rows[0].vs_cer is None  # the baseline
    assert rows[1].vs_wer.observed == pytest.approx(100 / 6) and rows[1].vs_cer.observed == pytest.approx(30.0)
    lo, hi = rows[1].wer_ci
    assert lo <= b.wer.wer <= hi
    # the default baseline is the first run
    assert compare_asr_runs([b, a], n_boot=200)[1].vs_wer.observed == pytest.approx(-100 / 6)


def test_the_cli_writes_the_table_and_refuses_bad_runs_in_one_line(tmp_path):
    a = _run(tmp_path, "a", {"u1": "A B C D", "u2": "E X"})
    b = _run(tmp_path, "b", {"u1": "A C D", "u2": "E F G"})
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["plot", "asr-study", str(a), str(b), "--out-dir", str(out), "--n-boot", "500"])
    assert res.exit_code == 0, res.output
    table = (out / "asr_study.md").read_text()
    assert "| a | leaf | tiny | phone | 7 | 1.5 | 40.50 | 16.67 [" in table
    row_b = next(ln for ln in table.splitlines() if ln.startswith("| b |"))
    assert "| 33.33 [" in row_b and "| +16.67 [" in row_b and "| +30.00 [" in row_b
    js = json.loads((out / "asr_study.json").read_text())
    assert [r["name"] for r in js["runs"]] == ["a", "b"] and js["runs"][1]["vs_baseline_wer"]["observed"] == pytest.approx(100 / 6)

    def one_line_error(args: list[str], *words: str) -> None:
        r = CliRunner().invoke(app, ["plot", "asr-study", *args, "--out-dir", str(tmp_path / "o2")])
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code != 0 and len(lines) == 1 and lines[0].startswith("error: "), r.output
        assert "Traceback" not in r.output and all(w in lines[0] for w in words), lines[0]

    undecoded = tmp_path / "exp" / "c"
    undecoded.mkdir()
    one_line_error([str(a), str(undecoded)], "decode_lm", "no ref and hyp")
    other = _run(tmp_path, "d", {"u1": "A", "u3": "B"}, refs={"u1": "A", "u3": "B"})
    one_line_error([str(a), str(other)], "different utterances")
    one_line_error([str(a), str(b), "--baseline", "zzz"], "zzz", "not one of the runs")


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="not an experiment folder"):
        read_asr_run(tmp_path / "nope")


def test_a_last_pt_that_is_not_a_checkpoint_is_one_clear_error(tmp_path):
    exp = _run(tmp_path, "a", {"u1": "A B C D", "u2": "E F"})
    (exp / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="last.pt"):
        read_asr_run(exp)
