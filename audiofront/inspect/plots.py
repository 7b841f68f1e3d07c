"""Drawing inspect-filters reports: one figure description, two renderers (terminal and PNG).

:func:`build_panels` turns reports into :class:`Panel` descriptions; :func:`render_terminal` draws them
with plotext and :func:`write_png` with matplotlib, so the PNG is the same figure as the terminal one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .filters import FilterReport

# dB range drawn for frequency responses: below this the shape of a filter no longer matters here
PLOT_DB_FLOOR = -60.0
PLOT_DB_TOP = 3.0
# the lowest frequency drawn on log-frequency axes (0 Hz has no place there)
MIN_LOG_HZ = 10.0


@dataclass
class Series:
    x: list[float]
    y: list[float]
    label: str
    role: str  # main | compare | reference
    color: int = 0  # palette index (the same filter keeps its colour across frontends); for references, which one


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    xscale: str = "linear"
    yscale: str = "linear"
    ylim: Optional[tuple[float, float]] = None
    series: list[Series] = field(default_factory=list)
    split_legend: bool = False  # series labelled "frontend #filter": colour = filter, line style = frontend


def figure_title(reports: Sequence[FilterReport]) -> str:
    names = " vs ".join(r.label for r in reports)
    return f"Filters of {names}"


def build_panels(reports: Sequence[FilterReport]) -> list[Panel]:
    """Centres against the mel scale, bandwidths, chosen responses, then one panel per inspected tensor."""
    panels = [_centres(reports), _bandwidths(reports), _responses(reports)]
    panels += _inspection(reports)
    for panel in panels:
        _fit_log_axes(panel)
    return panels


def _role(i: int) -> str:
    return "main" if i == 0 else "compare"


def _mel_refs(reports: Sequence[FilterReport]) -> list[FilterReport]:
    """Reports whose mel reference differs from the ones before (one reference line when they agree)."""
    seen, out = set(), []
    for r in reports:
        key = (r.n_filters, r.mel_min_hz, r.mel_max_hz)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _mel_label(r: FilterReport) -> str:
    return f"mel scale ({r.n_filters} filters, {r.mel_min_hz:g}-{r.mel_max_hz:g} Hz)"


def _centres(reports: Sequence[FilterReport]) -> Panel:
    panel = Panel("Centre frequency (Hz) vs the mel scale", "filter index", "centre frequency (Hz)", yscale="log")
    for j, r in enumerate(_mel_refs(reports)):
        panel.series.append(Series(list(range(r.n_filters)), r.mel_center_hz.tolist(), _mel_label(r), "reference", j))
    for i, r in enumerate(reports):
        panel.series.append(Series(list(range(r.n_filters)), r.center_hz.tolist(), r.label, _role(i), color=i))
    return panel


def _bandwidths(reports: Sequence[FilterReport]) -> Panel:
    kinds = {r.bandwidth_kind for r in reports}
    kind = "FWHM" if kinds == {"fwhm"} else "/".join(sorted(kinds))
    panel = Panel(f"Bandwidth ({kind}, Hz) vs centre frequency", "centre frequency (Hz)", f"bandwidth, {kind} (Hz)",
                  xscale="log", yscale="log")
    for j, r in enumerate(_mel_refs(reports)):
        panel.series.append(Series(r.mel_center_hz.tolist(), r.mel_bandwidth_hz.tolist(), _mel_label(r), "reference", j))
    for i, r in enumerate(reports):
        # learned centres need not stay sorted: draw the curve in frequency order
        pairs = sorted(zip(r.center_hz.tolist(), r.bandwidth_hz.tolist()))
        panel.series.append(Series([p[0] for p in pairs], [p[1] for p in pairs], r.label, _role(i), color=i))
    return panel


def _responses(reports: Sequence[FilterReport]) -> Panel:
    panel = Panel("Frequency responses (dB)", "frequency (Hz)", "gain (dB re. the bank's peak)",
                  xscale="log", ylim=(PLOT_DB_FLOOR, PLOT_DB_TOP), split_legend=True)
    colour_of: dict[int, int] = {}
    for i, r in enumerate(reports):
        freqs = r.response_frequencies_hz.tolist()
        keep = [j for j, f in enumerate(freqs) if f >= MIN_LOG_HZ]
        for k, index in enumerate(r.response_filters):
            colour = colour_of.setdefault(index, len(colour_of))
            db = r.response_db[k].tolist()
            panel.series.append(
                Series([freqs[j] for j in keep], [max(db[j], PLOT_DB_FLOOR) for j in keep], f"{r.label} #{index}",
                       _role(i), color=colour)
            )
    indices = sorted(colour_of, key=colour_of.get)
    if indices:
        panel.title = f"Responses (dB) of filters {', '.join(map(str, indices))}"
    return panel


def _inspection(reports: Sequence[FilterReport]) -> list[Panel]:
    keys: list[str] = []
    for r in reports:
        keys += [k for k, v in r.inspection.items() if v.dim() == 1 and v.numel() > 1 and k not in keys]
    panels = []
    for key in keys:
        nice = " ".join(w.upper() if w.lower() in _ACRONYMS else w for w in key.replace("_", " ").split())
        panel = Panel(f"{nice[:1].upper()}{nice[1:]} per channel", "channel (filter index)", nice)
        for i, r in enumerate(reports):
            value = r.inspection.get(key)
            if value is not None and value.dim() == 1 and value.numel() > 1:
                panel.series.append(Series(list(range(value.numel())), value.tolist(), r.label, _role(i), color=i))
        panels.append(panel)
    return panels


_ACRONYMS = {"pcen", "spcen", "fwhm"}


def _fit_log_axes(panel: Panel) -> None:
    """Keep log-frequency axes when a filter sits at 0 Hz (LEAF's centres may reach it): such values are
    drawn at ``MIN_LOG_HZ`` and the title says how many ("[1 under 10 Hz]"). The JSON keeps the true numbers."""
    for axis in ("x", "y"):
        if getattr(panel, f"{axis}scale") != "log":
            continue
        clipped = 0
        for s in panel.series:
            values = getattr(s, axis)
            low = [i for i, v in enumerate(values) if v is not None and math.isfinite(v) and v < MIN_LOG_HZ]
            # the responses start at MIN_LOG_HZ by construction; only centres and bandwidths get here
            for i in low:
                values[i] = MIN_LOG_HZ
            clipped += len(low)
        if clipped:
            panel.title += f" [{clipped} under {MIN_LOG_HZ:g} Hz]"


def grid_shape(n_panels: int, width: int) -> tuple[int, int]:
    cols = 2 if width >= 100 and n_panels > 1 else 1
    return math.ceil(n_panels / cols), cols


# ---- terminal ------------------------------------------------------------------------------------
_TERM_COLOURS = ("blue+", "red+", "green+", "magenta+", "cyan+", "orange+", "blue", "red", "green", "magenta")
# without colours (a pipe, a log file) the role still shows through the marker
_TERM_MARKERS = {"main": "braille", "compare": "hd", "reference": "\u00b7"}
_TERM_REFERENCE_MARKERS = ("\u00b7", "+")  # a second mel reference (banks of different count or range)
MIN_ROW_HEIGHT = 10
MIN_WIDTH = 40


def terminal_size(n_panels: int, width: Optional[int], height: Optional[int]) -> tuple[int, int, int, int]:
    """``(width, height, rows, cols)``: the terminal width by default, 20 lines per row of panels."""
    import shutil

    if width is None:
        width = shutil.get_terminal_size((120, 40)).columns
    if width < MIN_WIDTH:
        raise ValueError(f"--width {width} is too narrow: the plots need at least {MIN_WIDTH} columns")
    rows, cols = grid_shape(n_panels, width)
    if height is None:
        height = 20 * rows
    if height < MIN_ROW_HEIGHT * rows:
        raise ValueError(
            f"--height {height} is too short for {n_panels} panels in {rows} rows: give at least "
            f"{MIN_ROW_HEIGHT * rows} lines (or a wider --width for two columns)"
        )
    return width, height, rows, cols


def render_terminal(
    panels: Sequence[Panel], width: Optional[int] = None, height: Optional[int] = None, color: bool = False
) -> str:
    """The panels drawn with plotext, as text (ANSI colours only when ``color``)."""
    import plotext as plt

    width, height, rows, cols = terminal_size(len(panels), width, height)
    fig = plt.figure
    plt.terminal.limit(False, False)  # the size asked for, not the size of whatever terminal runs this
    try:
        fig.clear()
        fig.subplots(rows, cols)
        fig.theme("simple")  # the terminal's own background, not plotext's default white canvas
        fig.plot_size(width, height)
        for n, panel in enumerate(panels):
            # plotext makes no grid for 1 x 1: the figure itself is the plot
            sub = fig.subplot(n // cols + 1, n % cols + 1) if rows * cols > 1 else fig
            # plotext writes the y label under the y ticks, where it runs into the x label: the titles name
            # the y quantity instead; plotext drops a title wider than its plot, so shorten it
            limit = max(8, width // cols - 4)
            sub.title(panel.title if len(panel.title) <= limit else panel.title[: limit - 1] + "\u2026")
            sub.label(panel.xlabel, axis="x")
            drawn = [s for s in panel.series if s.x]
            for s in drawn:
                colour = "gray" if s.role == "reference" else _TERM_COLOURS[s.color % len(_TERM_COLOURS)]
                sig = sub.signal(s.x, s.y, marker=plt.marker(_term_marker(s), pixel=colour))
                sig.lines()
                sub.draw(sig)
            # plotext's legend box sits on the data and cannot be placed reliably on log axes: one legend
            # for the whole figure goes underneath instead (the marker tells the roles apart without colour)
            sub.legend(False)
            sub.ruler("x").scale(panel.xscale)
            sub.ruler("y").scale(panel.yscale)
            if panel.ylim is not None:
                sub.ruler("y").lim(*panel.ylim)
        for n in range(len(panels), rows * cols):  # the spare cell of an odd grid stays blank
            fig.subplot(n // cols + 1, n % cols + 1).axes(False)
        text = fig.build().string(colorless=not color)
    finally:
        fig.clear()
        plt.terminal.limit()
    return text.rstrip("\n") + "\n" + terminal_legend(panels, color=color, width=width)


def _term_marker(s: Series) -> str:
    if s.role == "reference":
        return _TERM_REFERENCE_MARKERS[s.color % len(_TERM_REFERENCE_MARKERS)]
    return _TERM_MARKERS[s.role]


def terminal_legend(panels: Sequence[Panel], color: bool = False, width: int = 80) -> str:
    """``marker label`` for every line role (and, in colour, the colour of each response filter)."""
    import plotext as plt

    def paint(text: str, colour: str) -> str:
        return plt.colorize(text, colour).string(colorless=False) if color else text

    glyph = {"main": "⠕", "compare": "▚"}  # what the braille and hd markers look like
    entries: dict[str, tuple[str, str]] = {}  # label -> (plain text, painted text)
    for panel in panels[:2]:  # the centre and bandwidth panels hold every frontend and reference line
        for s in panel.series:
            colour = "gray" if s.role == "reference" else _TERM_COLOURS[s.color % len(_TERM_COLOURS)]
            text = f"{_term_marker(s) if s.role == 'reference' else glyph[s.role]} {s.label}"
            entries.setdefault(s.label, (text, paint(text, colour)))
    lines = _wrap("legend: ", list(entries.values()), width, "   ")
    responses = [p for p in panels if p.title.startswith("Responses")]
    if color and responses:
        seen: dict[str, tuple[str, str]] = {}
        for s in responses[0].series:
            index = s.label.rsplit("#", 1)[-1]
            seen.setdefault(index, (f"#{index}", paint(f"#{index}", _TERM_COLOURS[s.color % len(_TERM_COLOURS)])))
        lines += _wrap("responses: ", list(seen.values()), width, " ")
    return "\n".join(lines)


def _wrap(head: str, items: list[tuple[str, str]], width: int, sep: str) -> list[str]:
    """Lines of ``head`` + items no wider than ``width`` (measured on the plain text, not colour codes)."""
    lines, plain, painted, empty = [], head, head, True
    for text, shown in items:
        if not empty and len(plain) + len(sep) + len(text) > width:
            lines.append(painted)
            plain = painted = " " * len(head)
            empty = True
        if not empty:
            plain, painted = plain + sep, painted + sep
        plain, painted, empty = plain + text, painted + shown, False
    lines.append(painted)
    return lines


# ---- PNG -----------------------------------------------------------------------------------------
# main: solid with filled dots; compare: dashed with hollow squares, so that two identical curves (LEAF at
# its mel initialisation against mel) still show both; the mel reference: grey dots, underneath
_PNG_STYLE = {"main": dict(linestyle="-", marker="o", markersize=3.0, linewidth=1.4, zorder=3),
              "compare": dict(linestyle="--", marker="s", markersize=5.0, markerfacecolor="none", linewidth=1.2,
                              zorder=4),
              "reference": dict(linestyle=":", linewidth=1.8, color="0.45", zorder=2)}
_PNG_REFERENCE_STYLES = (":", "-.")  # a second mel reference (banks of different count or range)
# curves with more points than this are drawn without markers (frequency responses)
_MAX_MARKED_POINTS = 80


def _hz_format(value: float, _pos: object = None) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _log_axis(axis: object) -> None:
    """Plain numbers (``200``, ``1k``) on a log axis, with minor labels (2, 5) when it spans little."""
    from matplotlib.ticker import FuncFormatter

    lo, hi = axis.get_view_interval()
    few_decades = lo > 0 and math.log10(hi / lo) < 2.5

    def minor(value: float, pos: object = None) -> str:
        mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
        return _hz_format(value) if few_decades and round(mantissa) in (2, 5) else ""

    axis.set_major_formatter(FuncFormatter(_hz_format))
    axis.set_minor_formatter(FuncFormatter(minor))


def write_png(panels: Sequence[Panel], path: str | os.PathLike, title: str = "", dpi: int = 110) -> None:
    """The panels drawn with matplotlib (Agg, no display needed), written atomically to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..utils.io import atomic_save_png

    rows, cols = grid_shape(len(panels), 200)
    fig = Figure(figsize=(6.4 * cols, 4.0 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    palette = [f"C{i}" for i in range(10)]
    axes = fig.subplots(rows, cols, squeeze=False)
    for n, panel in enumerate(panels):
        ax = axes[n // cols][n % cols]
        for s in panel.series:
            if not s.x:
                continue
            style = dict(_PNG_STYLE[s.role])
            if s.role == "reference":
                style["linestyle"] = _PNG_REFERENCE_STYLES[s.color % len(_PNG_REFERENCE_STYLES)]
            style.setdefault("color", palette[s.color % len(palette)])
            if len(s.x) > _MAX_MARKED_POINTS:
                style.pop("marker", None)
            ax.plot(s.x, s.y, label=s.label, **style)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.set_xscale(panel.xscale)
        ax.set_yscale(panel.yscale)
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        for axis, scale in ((ax.xaxis, panel.xscale), (ax.yaxis, panel.yscale)):
            if scale == "log":
                _log_axis(axis)
        ax.grid(True, which="major", alpha=0.3)
        if panel.split_legend:
            # one colour per filter, one line style per frontend: a legend of each, under the axes
            handles, seen = [], set()
            for s in panel.series:
                key = s.label.rsplit("#", 1)[-1]
                if key not in seen:
                    seen.add(key)
                    handles.append(Line2D([], [], color=palette[s.color % len(palette)], label=f"#{key}"))
            roles = []
            for s in panel.series:
                name = s.label.rsplit(" #", 1)[0]
                if (name, s.role) not in roles:
                    roles.append((name, s.role))
            for name, role in roles:
                style = {k: v for k, v in _PNG_STYLE[role].items() if k in ("linestyle", "linewidth")}
                handles.append(Line2D([], [], color="black", label=name, **style))
            ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                      ncol=min(len(handles), 8), frameon=False)
        elif any(s.label for s in panel.series):
            ax.legend(fontsize=7, loc="best")
    for n in range(len(panels), rows * cols):
        axes[n // cols][n % cols].set_visible(False)
    if title:
        fig.suptitle(title)
    atomic_save_png(fig, path, dpi)
