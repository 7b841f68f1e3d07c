"""``audiofront plot curves | snr | bars | study | asr-study``: figures (and the study summaries) from experiment files.

Every figure is drawn in the terminal with plotext by default, or written as a PNG with ``--png FILE``
(matplotlib, Agg), like ``audiofront inspect-filters``. A thin layer over :mod:`audiofront.plots` and
:mod:`audiofront.scoring.study` / :mod:`audiofront.scoring.asr_study`; bad input (a missing file, a log with no step) is one ``error:`` line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError

app = typer.Typer(
    name="plot",
    help="Figures from experiment files: learning curves, accuracy vs SNR, accuracy bars; the study summary.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_PNG = typer.Option(None, "--png", help="write the figure to this PNG file (matplotlib) instead of drawing it in the terminal")
_WIDTH = typer.Option(None, "--width", help="terminal plot width in columns (default: the terminal's)")
_HEIGHT = typer.Option(None, "--height", help="terminal plot height in lines (default: 20 per row of panels)")


def labels_of(paths: List[Path]) -> list[str]:
    """A short, distinct name per folder: its name, ``parent/seedN`` for seed folders, the path if still repeated."""
    names = []
    for p in paths:
        p = Path(p)
        if p.name == "train.log" or p.name == "eval":
            p = p.parent
        names.append(f"{p.parent.name}/{p.name}" if p.name.startswith("seed") else p.name or str(p))
    if len(set(names)) < len(names):
        return [str(p) for p in paths]
    return names


def _draw(panels, png: Optional[Path], title: str, width: Optional[int], height: Optional[int]) -> None:
    from ..inspect.plots import render_terminal, terminal_size, write_png

    if png is not None:
        write_png(panels, png, title=title)
        typer.echo(f"wrote {png}", err=True)
        return
    try:
        terminal_size(len(panels), width, height)
    except ValueError as e:
        raise UserError(str(e)) from None
    typer.echo(render_terminal(panels, width, height, color=sys.stdout.isatty()))


@app.command("curves", help="Learning curves (loss, accuracy / error rates, learning rate) from train.log of any experiment.")
def curves(
    exp_dirs: List[Path] = typer.Argument(..., help="experiment folders (holding train.log) or train.log files; several overlay"),
    png: Optional[Path] = _PNG,
    width: Optional[int] = _WIDTH,
    height: Optional[int] = _HEIGHT,
) -> None:
    from ..plots.figures import curve_panels
    from ..plots.trainlog import parse_train_log

    logs = [parse_train_log(p) for p in exp_dirs]
    labels = labels_of(exp_dirs)
    _draw(curve_panels(logs, labels), png, "Training curves: " + ", ".join(labels), width, height)


def _eval_dir(path: Path) -> Path:
    """A run folder's ``eval/``, or the folder itself when it already holds ``{condition}/predictions.jsonl``."""
    if (path / "eval").is_dir():
        return path / "eval"
    if path.is_dir() and any(path.glob("*/predictions.jsonl")):
        return path
    raise UserError(f"{path}: no eval/{{clean,snrXdB}}/predictions.jsonl (run `audiofront evaluate --snr ...` first)")


def snr_curves(paths: List[Path], labels: list[str]) -> dict[str, dict[str, dict]]:
    """``{head: {label: {"snr": [...], "mean": [...]}}}``; runs with the same label (seeds) are averaged over
    the conditions they all have."""
    import numpy as np

    from ..scoring.classify import correct_by_id, read_predictions
    from ..scoring.study import condition_order, snr_of

    runs: dict[str, list[dict[str, dict[str, float]]]] = {}
    for path, label in zip(paths, labels):
        acc: dict[str, dict[str, float]] = {}
        for pred in sorted(_eval_dir(Path(path)).glob("*/predictions.jsonl")):
            snr_of(pred.parent.name)  # refuses a folder that is no evaluation condition
            for head, p in read_predictions(pred).items():
                if p["kind"] == "single":
                    acc.setdefault(head, {})[pred.parent.name] = float(np.mean(list(correct_by_id(p).values())))
        runs.setdefault(label, []).append(acc)
    out: dict[str, dict[str, dict]] = {}
    for label, seeds in runs.items():
        for head in set.intersection(*(set(s) for s in seeds)):
            conds = sorted(set.intersection(*(set(s[head]) for s in seeds)), key=condition_order)
            out.setdefault(head, {})[label] = {
                "snr": [snr_of(c) for c in conds], "mean": [float(np.mean([s[head][c] for s in seeds])) for c in conds]}
    if not out:
        raise UserError("no single-label head was evaluated in every run given: nothing to draw")
    return out


@app.command("snr", help="Accuracy vs SNR, one line per frontend, from `evaluate --snr` outputs (seed folders averaged).")
def snr(
    runs: List[Path] = typer.Argument(..., help="run folders (holding eval/), eval folders, or one study.json"),
    head: Optional[str] = typer.Option(None, "--task", help="only this head / study task (default: every one)"),
    png: Optional[Path] = _PNG,
    width: Optional[int] = _WIDTH,
    height: Optional[int] = _HEIGHT,
) -> None:
    from ..plots.figures import snr_panel

    if len(runs) == 1 and runs[0].suffix == ".json":
        from ..scoring.study import read_study

        curves_by_head = read_study(runs[0]).get("snr") or {}
        if not curves_by_head:
            raise UserError(f"{runs[0]}: no run of the study was evaluated at more than one SNR")
    else:
        curves_by_head = snr_curves(runs, _run_labels(runs))
    if head is not None:
        if head not in curves_by_head:
            raise UserError(f"--task {head!r}: not among the evaluated heads ({', '.join(sorted(curves_by_head))})")
        curves_by_head = {head: curves_by_head[head]}
    panels = [snr_panel(c, f"{h}: accuracy vs SNR") for h, c in sorted(curves_by_head.items())]
    _draw(panels, png, "Noise robustness", width, height)


def _run_labels(runs: List[Path]) -> list[str]:
    """Seed folders ``.../SYSTEM/seedN`` share the label SYSTEM (so their curves are averaged)."""
    out = []
    for r in runs:
        r = Path(r)
        r = r.parent if r.name == "eval" else r
        out.append(r.parent.name if r.name.startswith("seed") else r.name)
    return out


@app.command("bars", help="Accuracy per frontend with 95% CI whiskers, one panel per task, from a study.json.")
def bars(
    study: Path = typer.Argument(..., help="study.json written by `audiofront plot study`"),
    tasks: Optional[str] = typer.Option(None, "--task", help="comma-separated study tasks (default: all)"),
    png: Optional[Path] = _PNG,
    width: Optional[int] = _WIDTH,
) -> None:
    import shutil

    from ..plots.figures import bars_from_study, render_bars_terminal, write_bars_png
    from ..scoring.study import read_study

    summary = read_study(study)
    wanted = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    groups = bars_from_study(summary, wanted)
    if not groups:
        known = sorted({r["task"] for r in summary["rows"]})
        raise UserError(f"{study}: no row for --task {tasks!r} (tasks: {', '.join(known) or 'none'})")
    if png is not None:
        write_bars_png(groups, png, title=f"Accuracy ({summary.get('condition', 'clean')}), 95% CI")
        typer.echo(f"wrote {png}", err=True)
        return
    try:
        text = render_bars_terminal(groups, width or shutil.get_terminal_size((100, 40)).columns, color=sys.stdout.isatty())
    except ValueError as e:
        raise UserError(str(e)) from None
    typer.echo(text, nl=False)


@app.command("study", help="Summarise a study: accuracy mean ± std over seeds, pooled paired bootstrap vs mel; study.json/.md.")
def study(
    exp_root: Path = typer.Argument(..., help="the study's exp folder (TASK/SYSTEM/seedN/eval/...)"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes study.json and study.md here"),
    baseline: str = typer.Option("mel", "--baseline", help="the system every other one is compared with"),
    condition: str = typer.Option("clean", "--condition", help="evaluation condition to summarise (clean, snr10dB, ...)"),
    n_boot: int = typer.Option(10000, "--n-boot", help="bootstrap resamples"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
) -> None:
    from ..scoring.study import format_study, summarize_study, write_study

    if n_boot < 1:
        raise UserError(f"--n-boot must be >= 1, got {n_boot}")
    summary = summarize_study(exp_root, baseline=baseline, condition=condition, n_boot=n_boot, seed=seed)
    written = write_study(summary, out_dir)
    typer.echo(format_study(summary), nl=False)
    typer.echo("wrote " + ", ".join(map(str, written)), err=True)


@app.command("asr-study", help="Compare ASR runs on one test set: cost, dev WER, test WER/CER with 95% CI, paired bootstrap vs a baseline run; asr_study.json/.md.")
def asr_study(
    exp_dirs: List[Path] = typer.Argument(..., help="the runs' exp folders (egs/librispeech/exp/TAG), the baseline first unless --baseline"),
    out_dir: Path = typer.Option(..., "--out-dir", help="writes asr_study.json and asr_study.md here"),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="the run (folder name) every other one is compared with; default: the first"),
    test_set: Optional[str] = typer.Option(None, "--test-set", help="which test set, when the runs decoded several (decode_SET_lm)"),
    n_boot: int = typer.Option(10000, "--n-boot", help="bootstrap resamples"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
) -> None:
    from ..scoring.asr_study import compare_asr_runs, format_asr_study, read_asr_run, write_asr_study

    if n_boot < 1:
        raise UserError(f"--n-boot must be >= 1, got {n_boot}")
    names = labels_of(exp_dirs)
    runs = [read_asr_run(d, name=n, test_set=test_set) for d, n in zip(exp_dirs, names)]
    rows = compare_asr_runs(runs, baseline=baseline, n_boot=n_boot, seed=seed)
    written = write_asr_study(rows, out_dir)
    typer.echo(format_asr_study(rows), nl=False)
    typer.echo("wrote " + ", ".join(map(str, written)), err=True)
