"""The ASR task: Conformer-CTC on raw audio through any frontend, tokens from ``data/lang``.

Config (a recipe YAML without its ``task``/``training`` keys; command-line options override it)::

    frontend: 2dconv               # any registered frontend
    frontend_conf: {channels: 8}
    encoder: tiny                  # preset of audiofront.models.conformer.PRESETS
    encoder_conf: {}               # overrides of the preset (num_layers, d_model, ...)
    specaug: auto                  # auto | feature | stft | none (auto: stft for learnable frontends)
    specaug_conf: {}
    specaug_after_steps: 0         # > 0: SpecAugment only from this training step on (counted in the model)
    inter_ctc_layers: []           # e.g. [2]: intermediate CTC on the output of block 2 (1-based)
    inter_ctc_weight: 0.3          # loss = (1-w) CTC_final + w mean_k CTC_inter_k (with inter_ctc_layers)
    inter_ctc_head: shared         # shared: the final output layer | own: a linear layer per inter layer
    lang_dir: data/lang            # the tokenizer (Tokenizer.load)
    train_cuts: data/manifests/demo_cuts_train.jsonl.gz
    valid_cuts: data/manifests/demo_cuts_test.jsonl.gz   # optional
    max_duration: 60               # seconds of audio per batch
    num_buckets: 10
    speed_perturb: [0.9, 1.0, 1.1] # or null
    num_workers: 0
    seed: 0                        # data order and speed-perturbation draws
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ..errors import UserError
from . import register_task
from .base import Task

_MODEL_KEYS = ("frontend", "frontend_conf", "encoder", "encoder_conf", "specaug", "specaug_conf", "normalize",
               "vocab_size", "lang_dir", "specaug_after_steps", "inter_ctc_layers", "inter_ctc_weight", "inter_ctc_head")
_DATA_KEYS = ("train_cuts", "valid_cuts", "max_duration", "valid_max_duration", "num_buckets", "speed_perturb",
              "speed_prob", "num_workers", "seed", "bucketing")

DEFAULTS: dict[str, Any] = {
    "frontend": "fbank",
    "frontend_conf": {},
    "encoder": "tiny",
    "encoder_conf": {},
    "specaug": "auto",
    "specaug_conf": {},
    "specaug_after_steps": 0,
    "inter_ctc_layers": [],
    "inter_ctc_weight": 0.3,
    "inter_ctc_head": "shared",
    "normalize": True,
    "vocab_size": None,
    "lang_dir": "data/lang",
    "train_cuts": None,
    "valid_cuts": None,
    "max_duration": 60.0,
    "valid_max_duration": None,
    "num_buckets": 10,
    "speed_perturb": [0.9, 1.0, 1.1],
    "speed_prob": 1.0,
    "num_workers": 0,
    "seed": 0,
    "bucketing": True,
}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _check_seconds(key: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    try:
        ok = float(value) > 0 and float(value) != float("inf")
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError(f"--{key.replace('_', '-')} must be a positive number of seconds per batch, got {value!r}")


def _has_text(cut: Any) -> bool:
    return len(cut.supervisions) > 0 and bool((cut.supervisions[0].text or "").strip())


def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def greedy_tokens(log_probs: Tensor, out_lens: Tensor, blank: int = 0) -> list[list[int]]:
    """Best path per utterance with repeats merged and blanks removed."""
    best = log_probs.argmax(dim=-1).cpu()
    out = []
    for b in range(best.shape[0]):
        seq = best[b, : int(out_lens[b])].tolist()
        toks, last = [], None
        for t in seq:
            if t != last and t != blank:
                toks.append(t)
            last = t
        out.append(toks)
    return out


@register_task("asr")
class AsrTask(Task):
    def __init__(self, config: dict[str, Any]):
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise UserError(f"unknown asr option(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}")
        merged = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(dict(config))}
        for key in ("max_duration", "valid_max_duration"):
            _check_seconds(key, merged[key], allow_none=key == "valid_max_duration")
        sp = merged["speed_perturb"]
        if sp is not None and not (
            isinstance(sp, (list, tuple)) and sp and all(_is_number(f) and f > 0 for f in sp)
        ):
            raise UserError(f"asr option speed_perturb must be a list of positive speed factors or null, got {sp!r}")
        if not (_is_number(merged["speed_prob"]) and 0 <= merged["speed_prob"] <= 1):
            raise UserError(f"asr option speed_prob must be a number in [0, 1], got {merged['speed_prob']!r}")
        if not (isinstance(merged["num_buckets"], int) and merged["num_buckets"] >= 1):
            raise UserError(f"asr option num_buckets must be a whole number >= 1, got {merged['num_buckets']!r}")
        after = merged["specaug_after_steps"]
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise UserError(f"asr option specaug_after_steps must be a whole number >= 0, got {after!r}")
        layers = merged["inter_ctc_layers"]
        if layers is None:
            layers = merged["inter_ctc_layers"] = []
        if isinstance(layers, int) and not isinstance(layers, bool):
            layers = merged["inter_ctc_layers"] = [layers]  # `--set inter_ctc_layers=2`
        if not (isinstance(layers, (list, tuple)) and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1
                                                          for k in layers)):
            raise UserError(f"asr option inter_ctc_layers must be a list of block numbers >= 1 (e.g. [2]), got {layers!r}")
        w = merged["inter_ctc_weight"]
        if not (_is_number(w) and 0 <= w < 1):
            raise UserError(f"asr option inter_ctc_weight must be a number in [0, 1), got {w!r}")
        if merged["inter_ctc_head"] not in ("shared", "own"):
            raise UserError(f"asr option inter_ctc_head must be 'shared' or 'own', got {merged['inter_ctc_head']!r}")
        super().__init__(merged)
        self._tokenizer = None

    # ---- tokens ------------------------------------------------------------------------------
    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from ..text.tokenizer import Tokenizer

            lang = self.config["lang_dir"]
            if lang is None or not Path(lang).is_dir():
                raise UserError(
                    f"--lang-dir {lang} does not exist: run `audiofront prepare lang ... --out-dir {lang}` first"
                )
            self._tokenizer = Tokenizer.load(lang)
            if getattr(self._tokenizer, "blank_id", 0) != 0:
                raise UserError(f"the tokenizer in {lang} has blank id {self._tokenizer.blank_id}; CTC here uses 0")
        return self._tokenizer

    def vocab_size(self) -> int:
        if self.config.get("vocab_size"):
            return int(self.config["vocab_size"])
        self.config["vocab_size"] = int(self.tokenizer.vocab_size)
        return self.config["vocab_size"]

    # ---- model -------------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        from ..frontends import build_frontend
        from ..models.conformer import conformer_config
        from ..models.ctc import CtcModel

        c = self.config
        frontend = build_frontend(c["frontend"], **(c["frontend_conf"] or {}))
        self.saved_frontend_conf = frontend.saved_conf(dict(c["frontend_conf"] or {}))  # for checkpoints
        encoder = conformer_config(c["encoder"], **(c["encoder_conf"] or {}))
        try:
            return CtcModel(frontend, self.vocab_size(), encoder, specaug=c["specaug"], specaug_conf=c["specaug_conf"],
                            normalize=c["normalize"], specaug_after_steps=int(c["specaug_after_steps"]),
                            inter_ctc_layers=list(c["inter_ctc_layers"] or []), inter_ctc_head=c["inter_ctc_head"])
        except ValueError as e:
            if "inter_ctc" in str(e) or "specaug_after_steps" in str(e):
                raise UserError(f"asr option {e}") from None
            raise

    def model_config(self) -> dict[str, Any]:
        from ..models.conformer import conformer_config

        self.vocab_size()
        cfg = {k: copy.deepcopy(self.config[k]) for k in _MODEL_KEYS}
        # every encoder field, not just the preset's name: a later change of a preset must not change
        # the model a checkpoint rebuilds
        cfg["encoder_conf"] = conformer_config(cfg["encoder"], **(cfg["encoder_conf"] or {})).to_dict()
        return cfg

    def adapt_checkpoint(self, ckpt: dict[str, Any]) -> None:
        """Checkpoints written before the ``tiny`` preset moved to BatchNorm (and before the full encoder
        config was stored) hold LayerNorm conv-module norms: rebuild them that way."""
        conf = self.config.setdefault("encoder_conf", {}) or {}
        state = ckpt.get("model", {})
        if "conv_norm" not in conf and any(k.endswith("conv.norm.weight") for k in state) and not any(
            k.endswith("conv.norm.running_mean") for k in state
        ):
            conf["conv_norm"] = "layer"
            self.config["encoder_conf"] = conf

    def checkpoint_extra(self) -> dict[str, Any]:
        return {"lang_dir": self.config["lang_dir"]}

    # ---- data --------------------------------------------------------------------------------
    def _sample_rate(self) -> int:
        from ..frontends import make_config

        return int(make_config(self.config["frontend"], **(self.config["frontend_conf"] or {})).sample_rate)

    def _loader(self, key: str, train: bool, world_size: int, rank: int):
        from lhotse import CutSet

        from ..data.cuts import read_cuts
        from ..data.dataset import AudioBatchDataset
        from ..data.sampling import ResumableLoader, make_sampler

        path = self.config[key]
        if path is None:
            return None
        option = "--" + key.replace("_", "-")
        cuts = read_cuts(path, option)
        if train:
            # an utterance without text cannot train CTC; a missing supervision would be a data bug
            n_before = len(cuts)
            cuts = CutSet.from_cuts([c for c in cuts if _has_text(c)])
            if len(cuts) < n_before:
                import logging

                logging.getLogger("audiofront.train").warning(
                    "%s: %d of %d cuts have no transcript and are not used for training", path, n_before - len(cuts), n_before
                )
            if len(cuts) == 0:
                raise UserError(f"{option}: {path} has no cut with a transcript to train on")
        c = self.config
        max_dur = float(c["max_duration"] if train or not c["valid_max_duration"] else c["valid_max_duration"])
        try:
            sampler = make_sampler(cuts, max_duration=max_dur, shuffle=train, num_buckets=int(c["num_buckets"]),
                                   seed=int(c["seed"]), world_size=world_size, rank=rank, bucketing=bool(c["bucketing"]))
        except UserError:
            raise
        except ValueError as e:  # the sampler's checks of max_duration against these cuts
            raise UserError(f"{option} {path}: {e}") from None
        dataset = AudioBatchDataset(
            speed_factors=c["speed_perturb"] if train else None,
            speed_prob=float(c["speed_prob"]),
            seed=int(c["seed"]),
            sample_rate=self._sample_rate(),
        )
        return ResumableLoader(sampler, dataset, num_workers=int(c["num_workers"]))

    def train_loader(self, world_size: int = 1, rank: int = 0):
        if not self.config["train_cuts"]:
            raise UserError("the asr task needs train_cuts (--train-cuts)")
        return self._loader("train_cuts", True, world_size, rank)

    def no_batch_reason(self, world_size: int = 1) -> str:
        share = f" shared by {world_size} processes" if world_size > 1 else ""
        return (f"--train-cuts {self.config['train_cuts']}{share} give no batch of at most --max-duration "
                f"{self.config['max_duration']} s; use more cuts or fewer processes")

    def valid_loader(self, world_size: int = 1, rank: int = 0):
        return self._loader("valid_cuts", False, world_size, rank)

    def batch_seconds(self, batch: Any) -> float:
        return float(batch["durations"].sum())

    def batch_size(self, batch: Any) -> int:
        return len(batch["cut_ids"])

    # ---- loss --------------------------------------------------------------------------------
    def targets(self, batch: Any) -> list[list[int]]:
        if "tokens" in batch:
            return batch["tokens"]
        return [list(self.tokenizer.encode(t)) for t in batch["texts"]]

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        from ..models.ctc import ctc_loss
        from .base import unwrap

        inner = unwrap(model)
        targets = self.targets(batch)
        if getattr(inner, "inter_ctc_layers", None):
            log_probs, out_lens, inter = model(batch["audio"], batch["audio_lens"], return_inter=True)
        else:
            (log_probs, out_lens), inter = model(batch["audio"], batch["audio_lens"]), []
        total, n_tokens = ctc_loss(log_probs, out_lens, targets)
        loss = total / max(1, n_tokens)
        stats = {"ctc_per_utt": float(total.detach()) / max(1, len(targets)), "frames": float(out_lens.float().mean())}
        if inter:
            w = float(self.config["inter_ctc_weight"])
            inter_loss = sum(ctc_loss(lp, out_lens, targets)[0] for lp in inter) / (len(inter) * max(1, n_tokens))
            stats["ctc_final"] = float(loss.detach())
            stats["ctc_inter"] = float(inter_loss.detach())
            loss = (1.0 - w) * loss + w * inter_loss
        if model.training and hasattr(inner, "count_step"):
            inner.count_step()  # the step counter specaug_after_steps reads (saved with the weights)
        return loss, stats

    def valid_stats(self, model: nn.Module, batch: Any) -> dict[str, Any]:
        from ..models.ctc import ctc_loss

        log_probs, out_lens = model(batch["audio"], batch["audio_lens"])
        targets = self.targets(batch)
        total, n_tokens = ctc_loss(log_probs, out_lens, targets)
        hyps = greedy_tokens(log_probs, out_lens)
        tok_err = sum(edit_distance(r, h) for r, h in zip(targets, hyps))
        word_err, words = 0, 0
        for ref_text, h in zip(batch["texts"], hyps):
            ref_w, hyp_w = ref_text.split(), self.tokenizer.decode(h).split()
            word_err += edit_distance(ref_w, hyp_w)
            words += len(ref_w)
        # (sum, count) pairs: the trainer reports the set's rates (errors over all its tokens and words), which
        # per-batch ratios weighted by utterances are not when batches of short clips hold many utterances
        return {
            "loss": (float(total), n_tokens),
            "ter": (tok_err, n_tokens),
            "wer_greedy": (word_err, words),
        }
