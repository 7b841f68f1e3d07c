"""egs/demo/run.sh end to end at toy sizes: every stage runs, writes what the next one reads, and a
second run skips the finished stages. (The real demo's WER is measured by running the recipe itself.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "egs" / "demo" / "run.sh"

TOY = [
    "--n-train", "24", "--n-test", "4", "--num-jobs", "2", "--vocab-size", "48",
    "--num-epochs", "1", "--max-duration", "30", "--frontend-conf", "n_filters=4",
    "--train-opts", "--set encoder_conf.num_layers=1 --set encoder_conf.d_model=32 --set encoder_conf.ff_dim=64 "
    "--set encoder_conf.num_heads=2 --set speed_perturb=null --no-progress",
    "--beam-size", "8", "--num-threads", "1", "--tag", "toy", "--stop-stage", "4",
]


@pytest.mark.slow
def test_demo_recipe_end_to_end(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    args = ["bash", str(RUN), "--work-dir", str(tmp_path), "--results", str(tmp_path / "RESULTS.md"), *TOY]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    exp = tmp_path / "exp" / "toy"
    for method in ("greedy", "lm"):
        ref = (exp / f"decode_{method}" / "ref").read_text().splitlines()
        hyp = (exp / f"decode_{method}" / "hyp").read_text().splitlines()
        assert len(ref) == 4 and len(hyp) == 4
        assert all(line.split()[0].startswith("demo-test-") and len(line.split()) > 1 for line in ref)
        summary = (exp / f"score_{method}" / "wer_summary.md").read_text()
        assert summary.splitlines()[2].startswith("| demo-test | 4 |")
    # every word the LM decoder emits is a word of the lexicon
    words = set((tmp_path / "data" / "lang" / "words.txt").read_text().split())
    lm_words = {w for line in (exp / "decode_lm" / "hyp").read_text().splitlines() for w in line.split()[1:]}
    assert lm_words <= words
    rows = [ln for ln in (tmp_path / "RESULTS.md").read_text().splitlines() if ln.startswith("| toy_")]
    assert [r.split(" | ")[0] for r in rows] == ["| toy_greedy", "| toy_lm"]
    assert "demo WER on unseen test voices" in first.stdout

    # Second run: all stages are done, nothing is recomputed, no second row.
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count("already done") == 5
    rows = [ln for ln in (tmp_path / "RESULTS.md").read_text().splitlines() if ln.startswith("| toy_")]
    assert len(rows) == 2

    # tune-lm on the toy model (here on its test cuts; a recipe tunes on a dev split): every pair decoded,
    # the best the lowest WER of the grid
    import json

    tune = subprocess.run(["audiofront", "tune-lm", "--checkpoint", str(exp / "avg.pt"), "--cuts",
                           str(tmp_path / "data" / "manifests" / "demo_cuts_test.jsonl.gz"), "--out-dir",
                           str(exp / "tune_lm"), "--lm-weights", "0,1", "--word-scores", "0,2", "--beam-size", "8"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert tune.returncode == 0, tune.stderr[-3000:]
    meta = json.loads((exp / "tune_lm" / "tune.json").read_text())
    assert [(g["lm_weight"], g["word_score"]) for g in meta["grid"]] == [(0, 0), (0, 2), (1, 0), (1, 2)]
    assert meta["best"]["wer"] == min(g["wer"] for g in meta["grid"]) and meta["utterances"] == 4
    assert "--lm-weight" in tune.stdout

    bad = subprocess.run(["bash", str(RUN), "--no-such-option", "1"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown option --no-such-option" in bad.stderr
