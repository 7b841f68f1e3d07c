"""Training the convolutional VAE of arXiv 2410.02560 on spectrogram fragments cut from any lhotse cuts.

Config (the recipe YAML after command-line overrides)::

    train_cuts: data/librispeech/librispeech_cuts_train-clean-5.jsonl.gz
    valid_cuts: null            # optional: fixed, non-overlapping fragments, decoded from their means
    max_duration: 60.0          # seconds of audio loaded per batch
    fragments_per_batch: 256    # fragments drawn per batch, uniformly over the batch's samples
    beta: 1.0                   # weight of the KL term
    kl_warmup_steps: 2000       # beta rises linearly from beta / kl_warmup_steps to beta over these batches
    norm_cuts: 200              # training cuts that set the per-bin normalisation (once, stored in the config)
    # the model (audiofront.models.vae.VaeConfig): latent_dim 13, fragment_frames 8 (25 ms; 96: 300 ms),
    # channels 32, pooling global|time, feature_hop 160 (the `vae` frontend's hop), n_fft, window_length, ...

Loss per fragment (then averaged over the batch): ``0.5 * sum of squared errors`` over the 128 x 8 normalised
log power values (the negative log-likelihood of a unit-variance Gaussian decoder, up to a constant) ``+
beta_t * KL``, the closed-form KL divergence of the posterior from N(0, I) summed over latent dimensions.
The warm-up (``beta_t = beta * min(1, (t + 1) / kl_warmup_steps)``, ``t`` the batches trained so far, kept in
the model so that ``--resume`` continues it) lets the decoder learn to use the latents before the KL term
can pull every posterior onto the prior (posterior collapse). Logged: ``recon_mse`` (per value), ``kl``
(nats per fragment), ``beta`` and ``active_dims`` (latent dimensions whose mean varies across the batch).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import fields
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor, nn

from ..data.cuts import read_cuts
from ..data.dataset import AudioBatchDataset
from ..data.sampling import ResumableLoader, make_sampler
from ..errors import UserError
from ..models.vae import LN_TO_DB, ConvVae, FragmentAnalysis, VaeConfig, active_dimensions, kl_to_standard_normal
from . import register_task
from .base import Task, unwrap

log = logging.getLogger("audiofront.vae")

MODEL_KEYS = tuple(f.name for f in fields(VaeConfig))
KNOWN_KEYS = set(MODEL_KEYS) | {
    "train_cuts", "valid_cuts", "max_duration", "fragments_per_batch", "beta", "kl_warmup_steps", "norm_cuts",
    "num_workers", "seed",
}


def _number(cfg: dict[str, Any], key: str, default: float, ok, want: str) -> float:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or not ok(v):
        raise UserError(f"vae: {key} must be {want}, got {v!r}")
    return v


@register_task("vae")
class VaeTask(Task):
    def __init__(self, config: dict[str, Any]):
        cfg = copy.deepcopy(dict(config))
        unknown = sorted(set(cfg) - KNOWN_KEYS)
        if unknown:
            log.warning("vae: ignoring config key(s) %s", ", ".join(unknown))
            for k in unknown:
                cfg.pop(k)
        _number(cfg, "max_duration", 60.0, lambda v: v > 0, "a positive number of seconds")
        _number(cfg, "beta", 1.0, lambda v: v >= 0, "a number >= 0")
        for key, default in (("fragments_per_batch", 256), ("kl_warmup_steps", 2000), ("norm_cuts", 200)):
            v = cfg.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "kl_warmup_steps" else 1):
                raise UserError(f"vae: {key} must be a whole number >= {0 if key == 'kl_warmup_steps' else 1}, got {v!r}")
        super().__init__(cfg)
        VaeConfig.from_dict(self.config)  # refuse a bad model option now, before any data is read
        if self.config.get("norm_mean") is None or self.config.get("norm_std") is None:
            self._fill_normalisation()

    # ---- config helpers ------------------------------------------------------------------------
    @property
    def model_cfg(self) -> VaeConfig:
        return VaeConfig.from_dict(self.config)

    def beta_at(self, step: int) -> float:
        beta = float(self.config.get("beta", 1.0))
        warm = int(self.config.get("kl_warmup_steps", 2000))
        return beta if warm <= 0 else beta * min(1.0, (step + 1) / warm)

    def _fill_normalisation(self) -> None:
        """Per-bin mean and std of ln power over (up to) ``norm_cuts`` training cuts, stored in the config."""
        path = self.config.get("train_cuts")
        if not path:
            raise UserError("the vae task needs train_cuts (--train-cuts, a lhotse cuts manifest)")
        cuts = read_cuts(path, "--train-cuts")
        cfg = self.model_cfg
        analysis = FragmentAnalysis(VaeConfig.from_dict({**cfg.to_dict(), "norm_mean": None, "norm_std": None}))
        total = torch.zeros(cfg.n_bins, dtype=torch.float64)
        square = torch.zeros(cfg.n_bins, dtype=torch.float64)
        count = 0
        for i, cut in enumerate(cuts):
            if i >= int(self.config.get("norm_cuts", 200)):
                break
            if cut.sampling_rate != cfg.sample_rate:
                cut = cut.resample(cfg.sample_rate)
            audio = torch.from_numpy(np.ascontiguousarray(cut.load_audio()[0], dtype=np.float32))
            if audio.shape[0] < cfg.n_fft:
                continue
            with torch.no_grad():
                logp = analysis.log_power(audio).double()  # [n_bins, K], frames inside the cut only
            if cfg.level == "fragment":  # the statistics of level-free fragments: K cut into whole fragments
                k = logp.shape[1] // cfg.fragment_frames * cfg.fragment_frames
                if k == 0:
                    continue
                frags = logp[:, :k].reshape(cfg.n_bins, -1, cfg.fragment_frames).transpose(0, 1)
                logp = analysis.level_free(frags).transpose(0, 1).reshape(cfg.n_bins, k)
            total += logp.sum(1)
            square += logp.square().sum(1)
            count += logp.shape[1]
        if count < 2:
            need = cfg.fragment_span if cfg.level == "fragment" else cfg.n_fft  # a whole fragment, or one sub-frame
            raise UserError(f"--train-cuts {path}: no cut is long enough ({need} samples) to measure the spectrum")
        mean = total / count
        std = (square / count - mean.square()).clamp(min=1e-8).sqrt()
        self.config["norm_mean"] = [float(v) for v in mean.float()]
        self.config["norm_std"] = [float(v) for v in std.float()]
        log.info("vae: normalisation from %d frames of %s", count, path)

    # ---- Task API ------------------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        return ConvVae(self.model_cfg)

    def _loader(self, key: str, train: bool, world_size: int, rank: int) -> Optional[ResumableLoader]:
        path = self.config.get(key)
        if not path:
            if train:
                raise UserError("the vae task needs train_cuts (--train-cuts, a lhotse cuts manifest)")
            return None
        cuts = read_cuts(path, f"--{key.replace('_', '-')}")
        try:
            sampler = make_sampler(cuts, float(self.config.get("max_duration", 60.0)), shuffle=train, bucketing=False,
                                   seed=int(self.config.get("seed", 0)), world_size=world_size, rank=rank)
        except ValueError as e:
            raise UserError(f"vae: {e}") from None
        dataset = AudioBatchDataset(sample_rate=self.model_cfg.sample_rate)
        return ResumableLoader(sampler, dataset, num_workers=int(self.config.get("num_workers", 0)))

    def train_loader(self, world_size: int = 1, rank: int = 0) -> ResumableLoader:
        return self._loader("train_cuts", True, world_size, rank)

    def valid_loader(self, world_size: int = 1, rank: int = 0) -> Optional[ResumableLoader]:
        return self._loader("valid_cuts", False, world_size, rank)

    def no_batch_reason(self, world_size: int = 1) -> str:
        share = f" shared by {world_size} processes" if world_size > 1 else ""
        return f"--train-cuts {self.config.get('train_cuts')}{share} give no batch; use more cuts or fewer processes"

    def batch_seconds(self, batch: Any) -> float:
        return float(batch["durations"].sum())

    def batch_size(self, batch: Any) -> int:
        return len(batch["cut_ids"])

    # ---- loss ----------------------------------------------------------------------------------------
    def random_fragments(self, vae: ConvVae, audio: Tensor, lengths: Tensor) -> Tensor:
        """``fragments_per_batch`` fragments centred on samples drawn uniformly over the batch's valid samples
        (torch's global generator: restored on ``--resume``)."""
        n = int(self.config.get("fragments_per_batch", 256))
        lengths = lengths.to(audio.device)
        ends = torch.cumsum(lengths, 0)
        u = torch.randint(0, int(ends[-1]), (n,), device=audio.device)
        item = torch.searchsorted(ends, u, right=True)
        centre = u - (ends[item] - lengths[item])
        return vae.analysis.fragments_at(audio, item, centre)

    def _terms(self, model: nn.Module, frags: Tensor, sample: bool) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        out = model(frags, sample=sample)
        err = (out["recon"].float() - frags.float()).square()
        kl = kl_to_standard_normal(out["mean"].float(), out["logvar"].float())
        return out, err, kl

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        vae = unwrap(model)
        frags = self.random_fragments(vae, batch["audio"], batch["audio_lens"])
        out, err, kl = self._terms(model, frags, sample=True)
        beta = self.beta_at(int(vae.kl_steps))
        if model.training:
            vae.kl_steps += 1
        recon = 0.5 * err.sum(dim=(1, 2)).mean()
        kl_mean = kl.mean()
        stats = {"recon_mse": float(err.mean().detach()), "kl": float(kl_mean.detach()), "beta": beta,
                 "active_dims": float(active_dimensions(out["mean"].detach()))}
        return recon + beta * kl_mean, stats

    @torch.no_grad()
    def valid_stats(self, model: nn.Module, batch: Any) -> dict[str, Any]:
        """Non-overlapping fragments of every cut, decoded from their means: the loss at the full beta, the
        reconstruction error, the log-spectral distance in dB and the active dimensions."""
        vae = unwrap(model)
        cfg = vae.cfg
        step = cfg.fragment_frames * cfg.stft_hop
        audio, lengths = batch["audio"], batch["audio_lens"]
        frags = vae.analysis.frames(audio, step)  # [B, F, bins, frames], centred every fragment length
        valid = torch.arange(frags.shape[1], device=audio.device)[None, :] < (1 + lengths.to(audio.device) // step)[:, None]
        frags = frags[valid]
        out, err, kl = self._terms(model, frags, sample=False)
        recon = 0.5 * err.sum(dim=(1, 2)).mean()
        # log-spectral distance: RMS over bins of the dB difference, per sub-frame, averaged
        std = vae.analysis.std.to(err.dtype)[None, :, None]
        lsd = (LN_TO_DB * (err * std.square()).mean(dim=1).sqrt()).mean()
        beta = float(self.config.get("beta", 1.0))
        # per-fragment means as (sum, fragments): the set's mean over its fragments, not over its cuts
        n = int(frags.shape[0])
        return {"loss": (float(recon + beta * kl.mean()) * n, n), "recon_mse": (float(err.mean()) * n, n),
                "kl": (float(kl.sum()), n), "lsd_db": (float(lsd) * n, n),
                "active_dims": float(active_dimensions(out["mean"]))}

    def model_config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)
