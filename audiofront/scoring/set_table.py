"""One table of error rates by test set, as icefall's RESULTS.md has them: a row per system and decoding
(the ``--tag`` of ``audiofront score``), a column per set (its ``--dataset``), read from the ``wer.json``
files that ``score`` writes.

    | tag | unit | dev-clean | dev-other | test-clean | test-other |
    |---|---|---:|---:|---:|---:|
    | fbank_tiny_phone_greedy | WER | 30.12 | 50.40 | 31.00 | 52.75 |
    | fbank_tiny_phone_lm | WER | 12.34 | ... |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..utils.io import atomic_write_text
from .asr import UNIT_NAMES


@dataclass(frozen=True)
class SetScore:
    tag: str
    unit: str
    dataset: str
    err: float


def read_score(score_dir: str | os.PathLike) -> SetScore:
    """The tag, unit, set and error rate that ``audiofront score`` left in ``score_dir/wer.json``."""
    path = Path(score_dir) / "wer.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        summary = payload["summary"]
        return SetScore(str(payload.get("tag") or Path(score_dir).name), str(payload.get("unit", "word")),
                        str(summary["dataset"]), float(summary["Err"]))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist: run `audiofront score ... --out-dir {score_dir}` first") from None
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path} is not a wer.json of `audiofront score` ({e})") from None


def format_set_table(scores: list[SetScore], strip_prefix: str = "") -> str:
    """Markdown: rows are tags in the order first seen, columns the sets in the order first seen (``strip_prefix``
    taken off their names, e.g. ``librispeech-``); a set a row was not scored on is empty."""
    tags = list(dict.fromkeys(s.tag for s in scores))
    sets = list(dict.fromkeys(s.dataset for s in scores))
    cell = {(s.tag, s.dataset): s for s in scores}
    unit = {s.tag: s.unit for s in scores}
    lines = ["| tag | unit | " + " | ".join(d.removeprefix(strip_prefix) for d in sets) + " |", "|---|---|" + "---:|" * len(sets)]
    for t in tags:
        vals = [f"{cell[t, d].err:.2f}" if (t, d) in cell else "" for d in sets]
        lines.append(f"| {t} | {UNIT_NAMES.get(unit[t], unit[t])} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def append_set_table(results_md: str | os.PathLike, title: str, table: str) -> Path:
    """``table`` under a ``## title`` heading at the end of ``results_md`` (created if needed), atomically;
    the rest of the file is kept as it is."""
    path = Path(results_md)
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Results\n"
    text = text.rstrip("\n") + f"\n\n## {title}\n\n{table}"
    atomic_write_text(path, text)
    return path
