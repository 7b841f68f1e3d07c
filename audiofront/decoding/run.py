"""Decode a cut set with a trained CTC model: batches of raw audio -> log-probabilities -> words.

Writes Kaldi ``text`` files: ``hyp`` (hypotheses) and ``ref`` (the cuts' transcripts), one line
``utt_id WORD WORD ...`` per cut, plus ``decode.json`` with the settings and the real-time factor. Greedy
decoding also writes ``hyp_tokens`` and ``ref_tokens``, the same lines in the model's own units (phones,
characters or BPE pieces, one per "word"): ``score`` on them gives the token error rate without lexicon or LM,
which for a phone model is the only greedy error rate that spells nothing it cannot look up.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from ..errors import UserError
from ..frontends.base import FrontendInputError
from ..scoring.asr import write_kaldi_text
from ..utils.device import resolve_device, set_num_threads
from ..utils.io import atomic_write_text
from .beam import BeamSearchOptions
from .greedy import ctc_greedy

log = logging.getLogger(__name__)
METHODS = ("greedy", "lm", "lexicon")  # lexicon: lexicon-constrained beam search without an LM


@dataclass
class DecodeSummary:
    num_utts: int
    audio_seconds: float
    decode_seconds: float
    out_dir: Path

    @property
    def rtf(self) -> float:
        return self.decode_seconds / max(self.audio_seconds, 1e-9)


def _batches(cuts, max_duration: float) -> Iterator:
    """Cuts sorted by duration, grouped so that a batch holds at most ``max_duration`` seconds of padded audio."""
    from lhotse import CutSet

    ordered = sorted(cuts, key=lambda c: c.duration, reverse=True)
    batch: list = []
    for cut in ordered:
        longest = batch[0].duration if batch else cut.duration
        if batch and longest * (len(batch) + 1) > max_duration:
            yield CutSet.from_cuts(batch)
            batch = []
        batch.append(cut)
    if batch:
        yield CutSet.from_cuts(batch)


def decode_cuts(
    checkpoint: str | os.PathLike,
    cuts_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    lang_dir: str | os.PathLike | None = None,
    method: str = "greedy",
    lm_path: str | os.PathLike | None = None,
    options: BeamSearchOptions | None = None,
    device: str = "cpu",
    max_duration: float = 200.0,
    num_threads: int | None = None,
) -> DecodeSummary:
    if method not in METHODS:
        raise UserError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    task, model, cuts, lang_dir, device = _load(checkpoint, cuts_path, lang_dir, device, max_duration, num_threads)
    tokenizer = task.tokenizer
    decoder = None
    if method in ("lm", "lexicon"):
        lm_path = (Path(lm_path) if lm_path else _lang_lm(lang_dir)) if method == "lm" else None
        decoder = _beam_decoder(tokenizer, lang_dir, lm_path, options or BeamSearchOptions())

    hyps: dict[str, str] = {}
    refs: dict[str, str] = {}
    hyp_tokens: dict[str, str] = {}
    audio_seconds = 0.0
    start = time.perf_counter()
    for ids, texts, seconds, log_probs, out_lens in _emissions(task, model, cuts, cuts_path, device, max_duration):
        if decoder is None:
            token_ids = ctc_greedy(log_probs, out_lens, tokenizer.blank_id)
            words = [tokenizer.decode(t).split() for t in token_ids]
            hyp_tokens.update((cut_id, " ".join(tokenizer.tokens[i] for i in t)) for cut_id, t in zip(ids, token_ids))
        else:
            words = decoder.decode_batch(log_probs, out_lens)
        for cut_id, text, w in zip(ids, texts, words):
            hyps[cut_id] = " ".join(w)
            refs[cut_id] = " ".join(text.split())
        audio_seconds += seconds
    elapsed = time.perf_counter() - start
    if len(hyps) != len(cuts):
        raise RuntimeError(f"decoded {len(hyps)} of the {len(cuts)} cuts of {cuts_path} (a bug: none may be dropped)")

    out_dir = Path(out_dir)
    write_kaldi_text(out_dir / "hyp", hyps)
    write_kaldi_text(out_dir / "ref", refs)
    if decoder is None:
        write_kaldi_text(out_dir / "hyp_tokens", hyp_tokens)
        # the references in the same units, from the normalised transcripts written to ref
        write_kaldi_text(out_dir / "ref_tokens", {i: " ".join(tokenizer.encode_as_tokens(r)) for i, r in refs.items()})
    summary = DecodeSummary(len(hyps), audio_seconds, elapsed, out_dir)
    meta = {
        "checkpoint": str(checkpoint),
        "cuts": str(cuts_path),
        "lang_dir": str(lang_dir),
        "method": method,
        "lm": str(lm_path) if lm_path else None,
        "options": (options or BeamSearchOptions()).to_dict() if decoder is not None else None,
        "utterances": summary.num_utts,
        "audio_seconds": round(audio_seconds, 2),
        "decode_seconds": round(elapsed, 2),
        "rtf": round(summary.rtf, 4),
        "device": device,
    }
    atomic_write_text(out_dir / "decode.json", json.dumps(meta, indent=2) + "\n")
    return summary


def _load(checkpoint, cuts_path, lang_dir, device: str, max_duration: float, num_threads: int | None):
    """Check the options, read the cuts, load the model: ``(task, model, cuts, lang_dir, device)``."""
    from ..data.cuts import read_cuts
    from ..tasks import load_model

    if not (max_duration > 0 and max_duration != float("inf")):
        raise UserError(f"--max-duration must be a positive number of seconds per batch, got {max_duration}")
    set_num_threads(num_threads)
    device = str(resolve_device(device))
    # every cut is decoded and written under its id: repeated ids would silently keep one hypothesis
    cuts = read_cuts(cuts_path, "--cuts")
    spaced = [c.id for c in cuts if len(c.id.split()) != 1]
    if spaced:
        raise UserError(f"--cuts {cuts_path}: cut id {spaced[0]!r} contains whitespace; Kaldi text needs one-word ids")
    task, model = load_model(checkpoint, device=device)
    if task.name != "asr" or not hasattr(task, "tokenizer"):
        raise UserError(
            f"--checkpoint {checkpoint} is a {task.name!r} checkpoint; decode needs an asr (CTC) one "
            "(classifiers are run by `audiofront evaluate`)"
        )
    if lang_dir is not None:
        task.config["lang_dir"] = str(lang_dir)
    lang_dir = Path(task.config["lang_dir"])
    if task.tokenizer.vocab_size != task.vocab_size():
        raise ValueError(
            f"the tokenizer in {lang_dir} has {task.tokenizer.vocab_size} tokens but the model in {checkpoint} "
            f"outputs {task.vocab_size()}; decode with the lang dir the model was trained with"
        )
    return task, model, cuts, lang_dir, device


def _lang_lm(lang_dir: Path) -> Path:
    from ..lm.lang import read_lang_info

    return lang_dir / read_lang_info(lang_dir)["lm"]


def _beam_decoder(tokenizer, lang_dir: Path, lm_path: Path | None, options: BeamSearchOptions):
    from ..lm.lang import read_lang_info
    from ..text.lexicon import Lexicon
    from .beam import LexiconBeamDecoder

    info = read_lang_info(lang_dir)
    lexicon = Lexicon.read(lang_dir / info.get("lexicon", "lexicon.txt"), sil_token=info.get("sil_token"))
    return LexiconBeamDecoder(tokenizer.tokens, lexicon, lm_path, blank_id=tokenizer.blank_id, options=options)


def _emissions(task, model, cuts, cuts_path, device: str, max_duration: float) -> Iterator:
    """Per batch: ``(cut ids, transcripts, seconds of audio, log-probs [B, F, V] on CPU, output lengths [B])``."""
    from ..data.dataset import AudioBatchDataset

    sample_rate = task._sample_rate() if hasattr(task, "_sample_rate") else 16000
    dataset = AudioBatchDataset(speed_factors=None, sample_rate=sample_rate)
    with torch.inference_mode():
        for batch_cuts in _batches(cuts, max_duration):
            batch = dataset[batch_cuts]
            audio = batch["audio"].to(device)
            lens = batch["audio_lens"].to(device)
            try:
                log_probs, out_lens = model(audio, lens)
            except FrontendInputError as e:  # the frontend names the batch item; the user needs the cut
                ids = list(batch["cut_ids"])
                which = f"cut {ids[e.item]}" if e.item is not None and 0 <= e.item < len(ids) else f"one of {', '.join(ids)}"
                raise FrontendInputError(f"{e} ({which} of --cuts {cuts_path})") from None
            yield (list(batch["cut_ids"]), list(batch["texts"]), float(batch["durations"].sum()),
                   log_probs.float().cpu(), out_lens.cpu())
