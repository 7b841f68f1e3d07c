"""Choose the LM weight and word score of the beam search on a dev set (never on the test set).

The model runs once over the cuts; its log-probabilities are kept and decoded again for every pair of the
grid ``lm_weights x word_scores``, each scored against the cuts' transcripts. Writes ``tune.json`` (every
pair's WER and the best) and ``tune.md`` (the grid as a table) into ``out_dir``; the best pair is what
``egs/librispeech/run.sh`` then decodes the test set with.

    >>> best = tune_lm("exp/x/avg.pt", "data/manifests/librispeech_cuts_dev.jsonl.gz", "exp/x/tune_lm",
    ...                lm_weights=[0.5, 1.0, 2.0], word_scores=[0.0, 1.0])   # doctest: +SKIP
    >>> best["lm_weight"], best["word_score"], best["wer"]                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from ..scoring.asr import score_texts
from ..utils.io import atomic_write_text
from . import TUNE_BEAM_SIZE
from .beam import BeamSearchOptions
from .run import _beam_decoder, _emissions, _lang_lm, _load

log = logging.getLogger(__name__)


def tune_lm(
    checkpoint: str | os.PathLike,
    cuts_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    lm_weights: Sequence[float],
    word_scores: Sequence[float],
    lang_dir: str | os.PathLike | None = None,
    lm_path: str | os.PathLike | None = None,
    options: BeamSearchOptions | None = None,
    device: str = "cpu",
    max_duration: float = 200.0,
    num_threads: int | None = None,
) -> dict:
    """Decode ``cuts_path`` with every (LM weight, word score) pair; return the best as a dict
    ``{lm_weight, word_score, wer}`` (ties: the first in grid order, weights then scores)."""
    if not lm_weights or not word_scores:
        raise UserError("tune-lm needs at least one --lm-weights value and one --word-scores value")
    task, model, cuts, lang_dir, device = _load(checkpoint, cuts_path, lang_dir, device, max_duration, num_threads)
    lm_path = Path(lm_path) if lm_path else _lang_lm(lang_dir)
    start = time.perf_counter()
    batches = list(_emissions(task, model, cuts, cuts_path, device, max_duration))
    refs = {i: " ".join(t.split()) for ids, texts, *_ in batches for i, t in zip(ids, texts)}
    base = options or BeamSearchOptions(beam_size=TUNE_BEAM_SIZE)
    decoder = _beam_decoder(task.tokenizer, lang_dir, lm_path, base)  # the LM and trie loaded once
    grid = grid_search(batches, refs, decoder.with_options, base, lm_weights, word_scores)
    best = min(grid, key=lambda g: g["wer"])  # min keeps the first of equal WERs
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "checkpoint": str(checkpoint), "cuts": str(cuts_path), "lang_dir": str(lang_dir), "lm": str(lm_path),
        "options": base.to_dict(), "utterances": len(refs), "seconds": round(time.perf_counter() - start, 1),
        "grid": grid, "best": best,
    }
    meta["edges"] = grid_edges(best, lm_weights, word_scores)
    atomic_write_text(out_dir / "tune.json", json.dumps(meta, indent=2) + "\n")
    atomic_write_text(out_dir / "tune.md", format_grid(grid, lm_weights, word_scores))
    return best


def grid_edges(best: dict, lm_weights: Sequence[float], word_scores: Sequence[float]) -> list[str]:
    """Where the best pair lies on the border of the grid, e.g. ``["--word-score 1 is the largest tried"]``: the
    best value may then lie outside it. An option given a single value has no border to speak of."""
    edges = []
    for option, key, values in (("--lm-weight", "lm_weight", lm_weights), ("--word-score", "word_score", word_scores)):
        values = [float(v) for v in values]
        if len(set(values)) < 2:
            continue
        if best[key] == max(values):
            edges.append(f"{option} {best[key]:g} is the largest tried")
        elif best[key] == min(values):
            edges.append(f"{option} {best[key]:g} is the smallest tried")
    return edges


def grid_search(batches, refs: dict[str, str], make_decoder, base: BeamSearchOptions, lm_weights: Sequence[float],
                word_scores: Sequence[float]) -> list[dict]:
    """``[{lm_weight, word_score, wer}]`` for every pair: ``make_decoder(options)`` decodes the kept
    ``batches`` (``(ids, texts, seconds, log_probs, out_lens)``, as :func:`~audiofront.decoding.run._emissions`
    yields them), scored against ``refs``."""
    grid = []
    for weight in lm_weights:
        for score in word_scores:
            decoder = make_decoder(dataclasses.replace(base, lm_weight=float(weight), word_score=float(score)))
            hyps = {}
            for ids, _, _, log_probs, out_lens in batches:
                for cut_id, words in zip(ids, decoder.decode_batch(log_probs, out_lens)):
                    hyps[cut_id] = " ".join(words)
            wer = score_texts(refs, hyps).wer
            grid.append({"lm_weight": float(weight), "word_score": float(score), "wer": round(wer, 2)})
            log.info("lm weight %g, word score %g: WER %.2f", weight, score, wer)
    return grid


def format_grid(grid: list[dict], lm_weights: Sequence[float], word_scores: Sequence[float]) -> str:
    """WER per pair as a markdown table: LM weights down, word scores across; the best in bold."""
    best = min(grid, key=lambda g: g["wer"])
    wer = {(g["lm_weight"], g["word_score"]): g for g in grid}
    lines = ["| LM weight \\ word score | " + " | ".join(f"{s:g}" for s in word_scores) + " |",
             "|---:|" + "---:|" * len(word_scores)]
    for w in lm_weights:
        cells = []
        for s in word_scores:
            g = wer[(float(w), float(s))]
            cells.append(f"**{g['wer']:.2f}**" if g is best else f"{g['wer']:.2f}")
        lines.append(f"| {w:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
