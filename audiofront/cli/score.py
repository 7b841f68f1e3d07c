"""``audiofront score``: WER (or CER, or phone error) of Kaldi text files (sclite-style table), or classification
scores."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..errors import UserError


def main(
    hyp: Path = typer.Option(..., "--hyp", help="asr: hypotheses (Kaldi text); classify: predictions (JSON lines)"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes the summary and per-utterance alignments here"),
    ref: Optional[Path] = typer.Option(None, "--ref", help="asr: references (Kaldi text)"),
    task: str = typer.Option("asr", "--task", help="asr | classify"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="name in the table (default: the hyp's folder)"),
    results: Optional[Path] = typer.Option(None, "--results", help="append a row to this RESULTS.md"),
    tag: Optional[str] = typer.Option(None, "--tag", help="the row's tag in RESULTS.md (default: --out-dir's name)"),
    compare: Optional[Path] = typer.Option(None, "--compare", help="a second system (asr: its hypotheses of the same --ref; classify: its predictions): "
        "paired bootstrap of the two, this --hyp as A"),
    unit: str = typer.Option("word", "--unit", help="asr: word (WER) | token (TER: decode's hyp_tokens/ref_tokens, each token "
        "one unit) | char (CER: characters, '|' between words) | phone (PER of phone token files, without the word-end marks)"),
) -> None:
    """Score hypotheses against references and print the summary table."""
    err = Console(stderr=True)
    if task == "classify":
        from ..scoring.classify import format_summary, score_classification

        try:
            res = score_classification(hyp, out_dir, compare=compare, name=dataset or "")
        except UserError:
            raise
        except ValueError as e:  # malformed prediction files
            raise UserError(str(e)) from None
        Console().print(format_summary(res, dataset or ""), end="")
        return
    if task != "asr":
        raise UserError(f"--task must be asr or classify, got {task!r}")
    if ref is None:
        raise UserError("--ref (the reference Kaldi text) is required for --task asr")
    from ..scoring.asr import print_summary, score_files

    name = dataset or hyp.resolve().parent.name
    try:
        r = score_files(ref, hyp, out_dir, dataset=name, results_md=results, tag=tag, unit=unit, compare=compare)
    except UserError:
        raise
    except ValueError as e:  # malformed Kaldi text
        raise UserError(str(e)) from None
    from ..scoring.asr import UNIT_NAMES

    what = UNIT_NAMES.get(unit, "WER")
    print_summary([r.summary_row()], title=f"{what} {r.wer:.2f}% ({tag or out_dir.name})")
    if r.comparison is not None:
        from ..scoring.asr import format_bootstrap

        typer.echo(f"A = {hyp}, B = {compare}: " + format_bootstrap(r.comparison, what))  # one line, unwrapped
    if r.missing_hyp:
        err.print(f"[yellow]{len(r.missing_hyp)} reference utterances had no hypothesis (scored as empty)[/yellow]")
    if r.extra_hyp:
        err.print(f"[yellow]{len(r.extra_hyp)} hypotheses had no reference (not scored)[/yellow]")


def table(
    score_dirs: list[Path] = typer.Argument(..., help="folders `audiofront score` wrote (each with its wer.json)"),
    results: Optional[Path] = typer.Option(None, "--results", help="append the table to this RESULTS.md, under --title"),
    title: str = typer.Option("error rates (%) by set", "--title", help="the heading of the table in --results"),
    strip_prefix: str = typer.Option("", "--strip-prefix", help="taken off the set names in the header, e.g. librispeech-"),
) -> None:
    """One table of error rates: a row per --tag of `score`, a column per --dataset (icefall's RESULTS.md layout)."""
    from ..scoring.set_table import append_set_table, format_set_table, read_score

    text = format_set_table([read_score(d) for d in score_dirs], strip_prefix=strip_prefix)
    typer.echo(text, nl=False)
    if results is not None:
        append_set_table(results, title, text)
