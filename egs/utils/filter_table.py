#!/usr/bin/env python3
"""Learned-filter numbers of a study: one Markdown row per task and system, over its seeds.

Reads ``DIR/TASK/SYSTEM/seedN.json`` (``audiofront inspect-filters CKPT --json``; TASK is the trained task:
the probe task in egs/leaf_study/filters.sh, ``cola`` in egs/ssl stage 7) and prints, for each task x system: the
mean distance of the centres to the mel scale (mels), the share of centres above 4 kHz, the median bandwidth / mel
bandwidth, and for every per-channel parameter the frontend reports (pooling width; PCEN alpha, delta, r, s) its
mean over channels and the range over channels; each figure is averaged over the seeds (the distance also gets its
std over seeds). The first rows are the untrained frontends, ``DIR/init/NAME.json``: what training moved away from.

    python egs/utils/filter_table.py egs/leaf_study/exp/filters > filters.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

PARAMS = ("pooling_width", "pcen_alpha", "pcen_delta", "pcen_r", "pcen_s")


def read(path: Path) -> dict:
    entry = json.loads(path.read_text())["frontends"][0]
    return {"summary": entry["summary"], "inspection": entry.get("inspection", {})}


def row(label: str, runs: list[dict]) -> str:
    dist = [r["summary"]["mean_mel_distance"] for r in runs]
    cells = [label, str(len(runs)),
             f"{np.mean(dist):.1f}" + (f" ± {np.std(dist, ddof=1):.1f}" if len(runs) > 1 else ""),
             f"{100 * np.mean([r['summary']['share_above_4khz'] for r in runs]):.0f}%",
             f"{np.mean([r['summary']['median_bandwidth_ratio'] for r in runs]):.2f}"]
    for p in PARAMS:
        values = [np.asarray(r["inspection"][p], dtype=float) for r in runs if p in r["inspection"]]
        if not values:
            cells.append("")
            continue
        cells.append(f"{np.mean([v.mean() for v in values]):.3g} "
                     f"[{np.mean([v.min() for v in values]):.3g}, {np.mean([v.max() for v in values]):.3g}]")
    return "| " + " | ".join(cells) + " |"


def groups(root: Path) -> dict[str, list[Path]]:
    """The JSON files of each row, in table order: ``untrained NAME`` (init/NAME.json), then ``TASK / SYSTEM``
    (its seedN.json files); also read by filter_figure.py."""
    out = {f"untrained {p.stem}": [p] for p in sorted(root.glob("init/*.json"))}
    for system_dir in sorted(p for p in root.glob("*/*") if p.is_dir() and p.parent.name != "init"):
        files = sorted(system_dir.glob("seed*.json"))
        if files:
            out[f"{system_dir.parent.name} / {system_dir.name}"] = files
    return out


def main(root: Path) -> None:
    print("| task / system | seeds | centres to mel (mels) | above 4 kHz | bandwidth / mel | pooling width | "
          "PCEN alpha | PCEN delta | PCEN r | PCEN s |")
    print("|---|---:|---:|---:|---:|---|---|---|---|---|")
    for label, files in groups(root).items():
        print(row(label, [read(f) for f in files]))
    print("\nParameters: mean over the channels [lowest, highest channel], each averaged over the seeds.")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit(f"usage: {sys.argv[0]} DIR   (DIR holds TASK/SYSTEM/seedN.json from inspect-filters --json)")
    main(Path(sys.argv[1]))
