"""`audiofront score-table`: the error rates of several `score` folders as one table, a row per tag, a column per set."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.errors import UserError
from audiofront.scoring.asr import score_files, write_kaldi_text
from audiofront.scoring.set_table import append_set_table, format_set_table, read_score

REFS = {"u1": "a b c d", "u2": "e f g h"}  # 8 words


def _score(tmp: Path, name: str, hyps: dict[str, str], dataset: str, tag: str, unit: str = "word") -> Path:
    ref = write_kaldi_text(tmp / f"{name}.ref", REFS)
    hyp = write_kaldi_text(tmp / f"{name}.hyp", hyps)
    out = tmp / name
    score_files(ref, hyp, out, dataset=dataset, tag=tag, unit=unit)
    return out


def _four(tmp: Path) -> list[Path]:
    return [
        _score(tmp, "g_dev", {"u1": "a b c x", "u2": "e f g h"}, "librispeech-dev-clean", "m_greedy"),   # 1/8
        _score(tmp, "g_test", {"u1": "a x c x", "u2": "e f g"}, "librispeech-test-clean", "m_greedy"),   # 3/8
        _score(tmp, "l_test", {"u1": "a b c d", "u2": "e f g h z"}, "librispeech-test-clean", "m_lm"),  # 1/8
        _score(tmp, "c_test", {"u1": "a b c d", "u2": "e f g x"}, "librispeech-test-clean", "m_lm_cer", unit="char"),
        _score(tmp, "t_dev", {"u1": "a b c d", "u2": "e f"}, "librispeech-dev-clean", "m_greedy_ter", unit="token"),
    ]


def test_rows_are_tags_and_columns_are_sets(tmp_path):
    scores = [read_score(d) for d in _four(tmp_path)]
    assert [(s.tag, s.dataset, s.err) for s in scores[:3]] == [
        ("m_greedy", "librispeech-dev-clean", 12.5), ("m_greedy", "librispeech-test-clean", 37.5),
        ("m_lm", "librispeech-test-clean", 12.5)]
    # characters: "a | b | c | d" and "e | f | g | h" are 14 units, one substituted
    assert scores[3].unit == "char" and scores[3].err == round(100 / 14, 2)
    lines = format_set_table(scores, strip_prefix="librispeech-").splitlines()
    assert lines[0] == "| tag | unit | dev-clean | test-clean |"
    assert lines[2] == "| m_greedy | WER | 12.50 | 37.50 |"
    assert lines[3] == "| m_lm | WER |  | 12.50 |"  # not scored on dev-clean: an empty cell
    assert lines[4] == f"| m_lm_cer | CER |  | {100 / 14:.2f} |"
    assert lines[5] == "| m_greedy_ter | TER | 25.00 |  |"  # the model's own units, each token one (2 of 8 deleted)
    assert len(lines) == 6


def test_the_table_is_appended_and_the_file_kept(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\nearlier text\n")
    dirs = _four(tmp_path)
    res = CliRunner().invoke(app, ["score-table", *map(str, dirs), "--results", str(results), "--title", "exp/m by set",
                                   "--strip-prefix", "librispeech-"])
    assert res.exit_code == 0, res.output
    assert "| m_greedy | WER | 12.50 | 37.50 |" in res.output
    text = results.read_text()
    assert text.startswith("# Results\n\nearlier text\n\n## exp/m by set\n\n| tag | unit | dev-clean | test-clean |")
    append_set_table(results, "again", "| x |\n")
    assert results.read_text().endswith("## exp/m by set\n\n" + res.output + "\n## again\n\n| x |\n")


def test_a_folder_without_scores_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="wer.json does not exist"):
        read_score(tmp_path)
    (tmp_path / "wer.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="is not a wer.json"):
        read_score(tmp_path)
    res = CliRunner().invoke(app, ["score-table", str(tmp_path / "nothing")])
    assert res.exit_code != 0 and "does not exist" in res.output
