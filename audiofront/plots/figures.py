"""Figures of experiments: learning curves, accuracy against SNR, accuracy per frontend with CI whiskers.

Line figures are :class:`audiofront.inspect.plots.Panel` descriptions, drawn by the same two renderers as
``inspect-filters`` (plotext in the terminal, matplotlib for ``--png``), so both show the same figure. Bar
charts have their own two small renderers below (plotext bars; matplotlib bars with error bars).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence

from ..inspect.plots import Panel, Series
from .trainlog import TrainLog

# metrics that are fractions (drawn in %, higher is better for *_acc, lower for error rates), by the last
# "_" part of their name: digit_acc, ter, wer_greedy; not ctc_inter (a loss that happens to end in "ter")
_RATE_WORDS = {"acc", "wer", "ter", "cer", "greedy"}
# quantities of a step line that are not learning curves
_NOT_CURVES = {"lr", "grad-norm", "audio-s/s", "frames", "loss"}


def _is_rate(key: str) -> bool:
    last = key.split("_")[-1]
    return last in _RATE_WORDS and (last != "greedy" or key.endswith(("wer_greedy", "cer_greedy")))


def _role(i: int) -> str:
    return "main" if i == 0 else "compare"


def curve_panels(logs: Sequence[TrainLog], labels: Sequence[str]) -> list[Panel]:
    """Loss (training, and validation at epoch ends), accuracies / error rates in %, and the learning rate;
    one series per run and split. A panel no run has a number for is left out."""
    loss = Panel("Loss", "step", "loss")
    rates = Panel("Accuracy / error rate (%)", "step", "%")
    lr = Panel("Learning rate", "step", "lr", yscale="log")
    for i, (log, label) in enumerate(zip(logs, labels)):
        steps, values = log.series("train", "loss")
        loss.series.append(Series(steps, values, f"{label} train", _role(i), color=2 * i))
        steps, values = log.series("valid", "loss")
        if steps:
            loss.series.append(Series(steps, values, f"{label} valid", _role(i), color=2 * i + 1))
        for which in ("train", "valid"):
            keys = sorted(k for k in (log.train if which == "train" else log.valid) if _is_rate(k))
            for k in keys:
                steps, values = log.series(which, k)
                # a colour per series: several rates of one run (ter, wer_greedy) must not look alike
                rates.series.append(Series(steps, [100 * v for v in values], f"{label} {which} {k}", _role(i),
                                           color=len(rates.series)))
        steps, values = log.series("train", "lr")
        if steps and all(v > 0 for v in values):
            lr.series.append(Series(steps, values, f"{label} lr", _role(i), color=2 * i))
    return [p for p in (loss, rates, lr) if p.series]


def snr_panel(curves: dict[str, dict], title: str) -> Panel:
    """Accuracy (%) against SNR, one line per system; ``curves[system] = {"snr": [...], "mean": [...]}`` with
    ``None`` for clean. Clean is drawn 10 dB above the highest SNR (the paper's figure puts it at the end)."""
    panel = Panel(title, "SNR (dB); rightmost point = clean", "accuracy (%)")
    numeric = [s for c in curves.values() for s in c["snr"] if s is not None]
    clean_x = (max(numeric) + 10.0) if numeric else 0.0
    for i, (system, c) in enumerate(curves.items()):
        pairs = sorted((clean_x if s is None else s, 100 * m) for s, m in zip(c["snr"], c["mean"]))
        panel.series.append(Series([p[0] for p in pairs], [p[1] for p in pairs], system, _role(i), color=i))
    return panel


# ---- bars ----------------------------------------------------------------------------------------
@dataclass
class Bar:
    label: str
    value: float  # accuracy in [0, 1]
    low: float
    high: float
    note: str = ""  # e.g. "3 seeds, std 1.2"


def render_bars_terminal(groups: dict[str, list[Bar]], width: int = 100, color: bool = False) -> str:
    """One horizontal plotext bar chart per group (task), the value and interval written after each bar."""
    import plotext as plt

    if width < 40:
        raise ValueError(f"--width {width} is too narrow: the bars need at least 40 columns")
    out = []
    plt.terminal.limit(False, False)
    fig = plt.figure
    try:
        for title, bars in groups.items():
            fig.clear()
            fig.theme("simple")
            fig.plot_size(width, max(7, 3 * len(bars) + 4))
            bars = list(reversed(bars))  # plotext stacks horizontal bars bottom-up: the first one on top
            # plotext bars have no error bars: the interval is written into each bar's label
            names = [f"{b.label} {100 * b.value:.1f}% [{100 * b.low:.1f}, {100 * b.high:.1f}]"
                     + (f" ({b.note})" if b.note else "") for b in bars]
            fig.draw(fig.bar(names, [100 * b.value for b in bars], orientation="horizontal", width=0.4))
            fig.ruler("x").lim(0, 100)
            fig.label("accuracy (%)", axis="x")
            fig.title(title)
            out.append(fig.build().string(colorless=not color).rstrip("\n"))
    finally:
        fig.clear()
        plt.terminal.limit()
    return "\n".join(out) + "\n"


def write_bars_png(groups: dict[str, list[Bar]], path: str | os.PathLike, title: str = "", dpi: int = 110) -> None:
    """One bar panel per group, bars with asymmetric error bars (the 95% interval), written atomically."""
    import math

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..utils.io import atomic_save_png

    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig = Figure(figsize=(4.8 * cols, 3.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    colour: dict[str, str] = {}  # one colour per system across every panel
    for bars in groups.values():
        for b in bars:
            colour.setdefault(b.label, f"C{len(colour) % 10}")
    for n, (name, bars) in enumerate(groups.items()):
        ax = axes[n // cols][n % cols]
        x = list(range(len(bars)))
        values = [100 * b.value for b in bars]
        err = [[100 * (b.value - b.low) for b in bars], [100 * (b.high - b.value) for b in bars]]
        ax.bar(x, values, yerr=err, capsize=4, color=[colour[b.label] for b in bars])
        ax.set_xticks(x, [b.label for b in bars], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("accuracy (%)")
        ax.set_title(name, fontsize=10)
        ax.set_ylim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
    for n in range(len(groups), rows * cols):
        axes[n // cols][n % cols].set_visible(False)
    if title:
        fig.suptitle(title)
    atomic_save_png(fig, path, dpi)


def bars_from_study(summary: dict, tasks: Optional[Sequence[str]] = None) -> dict[str, list[Bar]]:
    """``{task: [Bar per system]}`` from a study summary (:func:`audiofront.scoring.study.summarize_study`)."""
    groups: dict[str, list[Bar]] = {}
    for r in summary["rows"]:
        if tasks and r["task"] not in tasks:
            continue
        note = f"{len(r['seeds'])} seed(s), std {100 * r['std']:.1f}"
        groups.setdefault(r["task"], []).append(Bar(r["system"], r["mean"], r["ci95"][0], r["ci95"][1], note))
    baseline = summary.get("baseline")
    for bars in groups.values():  # the baseline first, then the others by name
        bars.sort(key=lambda b: (b.label != baseline, b.label))
    return groups
