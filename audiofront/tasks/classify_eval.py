"""Evaluate a trained classifier on a cut set: clip-level predictions as JSON lines, optionally in noise.

Each clip is cut into consecutive windows of the training window length (the last one ending at the clip's
end; a clip shorter than a window zero-padded), the logits of its windows are averaged (:func:`audiofront.models.classifier.clip_logits`)
and turned into probabilities (softmax for single-label heads, sigmoids for multi-label heads). One line per
clip and head, in the format :mod:`audiofront.scoring.classify` reads. Clips whose label is not among the
head's training classes (e.g. a speaker never seen in training) are left out for that head and counted.

Noise robustness: ``snrs`` lists SNRs in dB (``None`` = clean); white Gaussian noise is drawn per clip from a
generator seeded by (seed, clip id), so every model compared hears exactly the same noisy test set.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from lhotse import CutSet

from ..augment.noise import add_noise_snr_seeded
from ..data.cuts import read_cuts
from ..data.labelled import LabelledAudioDataset, as_label_list, cut_label
from ..errors import UserError
from ..frontends.base import FrontendInputError
from ..models.classifier import clip_logits
from ..utils.device import resolve_device
from ..utils.io import atomic_path
from . import load_model

log = logging.getLogger("audiofront.classify")


def snr_dirname(snr: Optional[float]) -> str:
    return "clean" if snr is None else f"snr{snr:g}dB"


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    task: Any,
    cuts: CutSet,
    snr: Optional[float] = None,
    seed: int = 0,
    batch_size: int = 16,
    device: str = "cpu",
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Prediction rows for every cut and head, and the number of clips skipped per head (unknown label)."""
    heads = task.heads
    dataset = LabelledAudioDataset({h["name"]: (h["label"], h["kind"], h["classes"]) for h in heads},
                                   sample_rate=task.sample_rate, cache_seconds=0)
    cut_list = list(cuts)
    rows: list[dict[str, Any]] = []
    skipped = {h["name"]: 0 for h in heads}
    for start in range(0, len(cut_list), batch_size):
        chunk = CutSet.from_cuts(cut_list[start : start + batch_size])
        batch = dataset[chunk]
        audio, lens = batch["audio"], batch["audio_lens"]
        if snr is not None:
            audio = add_noise_snr_seeded(audio, lens, float(snr), batch["cut_ids"], seed)
        bad = (~torch.isfinite(audio)).any(dim=1).nonzero().flatten().tolist()
        if bad:
            # checked here, not left to the frontend: it sees windows of clips and could not name the clip
            raise FrontendInputError(f"cut {batch['cut_ids'][bad[0]]} holds NaN or infinite samples; audio must be finite")
        logits = clip_logits(model, audio.to(device), lens.to(device), task.window, heads=[h["name"] for h in heads],
                             masked=task.masked_padding)
        for h in heads:
            out = logits[h["name"]].float().cpu()
            probs = out.softmax(-1) if h["kind"] == "single" else out.sigmoid()
            known = set(h["classes"])
            for i, cut in enumerate(chunk):
                value = cut_label(cut, h["label"])
                if h["kind"] == "single":
                    if value is None or str(value) not in known:
                        skipped[h["name"]] += 1
                        continue
                    target: Any = str(value)
                else:
                    if value is None:
                        skipped[h["name"]] += 1
                        continue
                    target = [c for c in as_label_list(value) if c in known]
                rows.append({"id": cut.id, "task": h["name"], "kind": h["kind"], "classes": h["classes"],
                             "target": target, "scores": [round(float(p), 6) for p in probs[i]]})
    return rows, skipped


def set_frontend_impl(frontend, impl: str, checkpoint: str | Path) -> None:
    """Switch ``frontend`` to implementation ``impl`` of its function; UserError if it has none of that name."""
    from ..frontends.leaf import IMPLS

    if frontend.name != "leaf":
        raise UserError(f"--frontend-impl: the frontend of {checkpoint} is {frontend.name!r}; only leaf has "
                        f"implementations to choose from ({', '.join(IMPLS)})")
    if impl not in IMPLS:
        raise UserError(f"--frontend-impl must be one of {', '.join(IMPLS)}, got {impl!r}")
    frontend.config.impl = impl


def evaluate_checkpoint(
    checkpoint: str | Path,
    cuts_path: str | Path,
    out_dir: str | Path,
    snrs: Sequence[Optional[float]] = (None,),
    seed: int = 0,
    batch_size: int = 16,
    device: str = "cpu",
    frontend_impl: Optional[str] = None,
) -> dict[str, Path]:
    """Write ``{out_dir}/{clean|snrXdB}/predictions.jsonl`` for each SNR; returns ``{dirname: path}``.

    ``frontend_impl`` computes the model's frontend with another implementation of the same function and the
    same weights (``leaf``: ``direct``, ``fast``, ``decimated``): a model trained with the approximate
    ``decimated`` LEAF is evaluated exactly with ``fast``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"--batch-size must be a whole number of clips >= 1, got {batch_size!r}")
    device = str(resolve_device(device))
    cuts = read_cuts(cuts_path, "--cuts")  # before the model: a bad manifest fails fast
    task, model = load_model(checkpoint, device=device)
    if task.name != "classify":
        raise UserError(f"--checkpoint {checkpoint} is a {task.name!r} checkpoint; evaluate needs a classify one")
    if frontend_impl is not None:
        set_frontend_impl(model.frontend, frontend_impl, checkpoint)
    written = {}
    for snr in snrs:
        rows, skipped = predict(model, task, cuts, snr=snr, seed=seed, batch_size=batch_size, device=device)
        for head, n in skipped.items():
            if n:
                log.warning("head %s: %d clip(s) without a label among its training classes were not scored", head, n)
        if not rows:
            raise UserError(f"--cuts {cuts_path}: no clip has a label the model knows: nothing to score")
        path = Path(out_dir) / snr_dirname(snr) / "predictions.jsonl"
        with atomic_path(path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        written[snr_dirname(snr)] = path
    return written
