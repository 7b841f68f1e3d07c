#!/usr/bin/env python3
"""Where the learned filters of a study sit: the histogram of centre frequencies (filters per 500 Hz band) of
every system, averaged over its seeds, next to the untrained frontends; one panel per frontend (LEAF, SincNet).
The figure the self-supervised frontends paper discusses (do the filters leave the mel layout, and cover more of
the band above 4 kHz?).

Reads the same files as filter_table.py, ``DIR/TASK/SYSTEM/seedN.json`` and ``DIR/init/NAME.json`` from
``audiofront inspect-filters CKPT --json``:

    python egs/utils/filter_figure.py egs/ssl/exp/study/filters egs/ssl/exp/study/summary/centres.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from filter_table import groups  # the same files, the same labels


def mean_histograms(root: Path) -> dict[str, dict]:
    """``{label: {"frontend", "edges_hz", "counts" (mean over seeds), "seeds"}}``; untrained ones labelled
    ``untrained NAME``, trained ones ``TASK / SYSTEM``."""
    out = {}
    for label, files in groups(root).items():
        entries = [json.loads(f.read_text())["frontends"][0] for f in files]
        hists = [e["summary"]["center_histogram"] for e in entries]
        edges = hists[0]["edges_hz"]
        if any(h["edges_hz"] != edges for h in hists):
            raise ValueError(f"{label}: the seeds' histograms have different bands")
        out[label] = {"frontend": entries[0].get("frontend", "?"), "edges_hz": edges,
                      "counts": np.mean([h["counts"] for h in hists], axis=0).tolist(), "seeds": len(files)}
    return out


def draw(hists: dict[str, dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frontends = sorted({h["frontend"] for h in hists.values()})
    fig, axes = plt.subplots(1, len(frontends), figsize=(6.5 * len(frontends), 4.2), squeeze=False)
    for ax, fe in zip(axes[0], frontends):
        for label, h in hists.items():
            if h["frontend"] != fe:
                continue
            edges = np.asarray(h["edges_hz"]) / 1000.0
            style = dict(linestyle="--", linewidth=1.2) if label.startswith("untrained") else dict(linewidth=2.0)
            seeds = "" if label.startswith("untrained") else f" ({h['seeds']} seed{'s' if h['seeds'] > 1 else ''})"
            ax.stairs(h["counts"], edges, label=label + seeds, **style)
        ax.axvline(4.0, color="grey", linewidth=0.8)
        ax.set_title(f"{fe}: centre frequencies")
        ax.set_xlabel("centre frequency (kHz)")
        ax.set_ylabel("filters per 500 Hz band")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = png.with_name("." + png.name + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(png)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not Path(sys.argv[1]).is_dir():
        sys.exit(f"usage: {sys.argv[0]} DIR OUT.png   (DIR holds TASK/SYSTEM/seedN.json from inspect-filters --json)")
    found = mean_histograms(Path(sys.argv[1]))
    if not found:
        sys.exit(f"{sys.argv[0]}: no inspect-filters JSON under {sys.argv[1]}")
    draw(found, Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
