"""The one trainer every task uses (ASR, classification, and the self-supervised/VAE tasks to come).

    trainer = Trainer(task, TrainConfig(exp_dir="exp/x", num_epochs=10, lr=1e-3))
    trainer.fit(resume=False)

What it does: AdamW with a one-cycle schedule, gradient clipping, bf16 autocast on GPU only, seeding,
TensorBoard scalars, a rich progress bar (loss, lr, audio-seconds per second), atomic checkpoints
(``checkpoints/step-N.pt`` every ``save_every_steps``, ``checkpoints/epoch-N.pt``, ``last.pt``), exact
``resume`` (model, optimiser, scheduler, data position, RNG states), ``avg.pt`` averaged over the last
epochs, DDP when launched by torchrun.

Exactness of resume: everything random during training draws from the Python/NumPy/torch global
generators (saved in each checkpoint) or from generators seeded by (seed, epoch, cut id) (speed
perturbation); the data position is the number of batches the loop has received in the current epoch
(see :class:`audiofront.data.sampling.ResumableLoader`). With DDP only rank 0's RNG states are saved, so
a resumed multi-process run is equivalent but not bit-identical.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from ..frontends.checkpoint import frontend_checkpoint_entry
from ..tasks.base import Task
from . import ddp
from .averaging import average_checkpoints
from .checkpoint import (
    numbered_checkpoints,
    prune_checkpoints,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .optim import build_one_cycle, build_optimizer

log = logging.getLogger("audiofront.train")


@dataclass
class TrainConfig:
    """Settings of the trainer (the ``training:`` section of a recipe; CLI options override them)."""

    exp_dir: str = "exp/run"
    num_epochs: int = 10
    max_steps: int = 0  # > 0: stop after this many optimiser steps (and size the schedule by it)
    lr: float = 1e-3  # peak learning rate of the one-cycle schedule
    weight_decay: float = 1e-2
    betas: tuple = (0.9, 0.98)
    pct_start: float = 0.1  # warm-up share of the schedule
    div_factor: float = 25.0  # initial lr = lr / div_factor
    final_div_factor: float = 1e3  # final lr = initial lr / final_div_factor
    grad_clip: float = 5.0  # max global gradient norm (<= 0: no clipping)
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast, used on GPU only
    num_threads: int = 0  # torch CPU threads (0: torch's default)
    save_every_steps: int = 0  # also checkpoint every N steps (0: at epoch ends only)
    keep_last_steps: int = 3  # step checkpoints kept
    average_last: int = 3  # avg.pt = mean of the last N epoch checkpoints
    log_every: int = 10  # steps between train.log lines and TensorBoard points
    progress: bool = True  # rich progress bar (rank 0)
    tensorboard: bool = True
    valid_every_epochs: int = 1

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        d = dict(d)
        defaults = cls()
        for k, v in list(d.items()):
            kind = type(getattr(defaults, k))
            if kind is bool and isinstance(v, str):
                d[k] = v.strip().lower() in ("1", "true", "yes", "on")
            elif kind in (int, float) and isinstance(v, str):
                try:  # YAML reads 1e-3 (no dot) as a string
                    d[k] = kind(float(v)) if kind is int else float(v)
                except ValueError:
                    raise ValueError(f"training option {k} expects a number, got {v!r}") from None
            elif kind is float and isinstance(v, int) and not isinstance(v, bool):
                d[k] = float(v)
        if "betas" in d:
            d["betas"] = tuple(float(b) for b in d["betas"])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    total_steps: int = 0
    best_valid: Optional[float] = None
    history: list = field(default_factory=list)


class Trainer:
    def __init__(self, task: Task, config: TrainConfig):
        self.task = task
        self.cfg = config
        self.exp_dir = Path(config.exp_dir)
        self.ckpt_dir = self.exp_dir / "checkpoints"

    # ---- set-up ----------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        want = self.cfg.device
        if want == "auto":
            want = "cuda" if torch.cuda.is_available() else "cpu"
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but torch sees no CUDA GPU (use --device cpu)")
        if want not in ("cpu", "cuda") and not want.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.cfg.device!r}")
        return torch.device(want)

    def _setup_logging(self, is_main: bool) -> None:
        log.setLevel(logging.INFO)
        for h in list(log.handlers):
            if getattr(h, "_audiofront", False):
                log.removeHandler(h)
                h.close()
        if not is_main:
            return
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(self.exp_dir / "train.log")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        fh._audiofront = True  # type: ignore[attr-defined]
        log.addHandler(fh)
        # the terminal: warnings only while the progress bar shows the rest; every line when there is no
        # live bar (progress off, or output piped to a log file by a recipe)
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        sh.setLevel(logging.WARNING if (self.cfg.progress and sys.stderr.isatty()) else logging.INFO)
        sh._audiofront = True  # type: ignore[attr-defined]
        log.addHandler(sh)
        log.propagate = False

    # ---- the run ---------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> Path:
        """Train; returns the path of the final checkpoint (``avg.pt`` if written, else ``last.pt``)."""
        cfg = self.cfg
        device = self._device()
        info = ddp.init_distributed(device.type)
        if device.type == "cuda" and info.enabled:
            device = torch.device("cuda", info.local_rank)
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        self._setup_logging(info.is_main)
        try:
            return self._fit(device, info, resume)
        finally:
            for h in list(log.handlers):
                if getattr(h, "_audiofront", False):
                    log.removeHandler(h)
                    h.close()
            ddp.cleanup()

    def _fit(self, device: torch.device, info: ddp.DistInfo, resume: bool) -> Path:
        cfg = self.cfg
        seed_everything(cfg.seed)  # same on every rank: identical initial weights
        model = self.task.build_model().to(device)
        if not hasattr(model, "frontend"):
            raise TypeError(f"task {self.task.name!r} built a model without a 'frontend' attribute")
        optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay, cfg.betas)
        loader = self.task.train_loader(world_size=info.world_size, rank=info.rank)
        valid_loader = self.task.valid_loader(world_size=info.world_size, rank=info.rank)

        state = _State()
        last = self.exp_dir / "last.pt"
        ckpt = None
        if resume:
            if last.is_file():
                ckpt = torch.load(last, map_location="cpu", weights_only=False)
            else:
                log.warning("--resume: %s does not exist, starting from scratch", last)
        if ckpt is None and info.is_main:
            self._set_aside_previous_run()
        if ckpt is not None:
            state.total_steps = int(ckpt["total_steps"])
        elif cfg.max_steps > 0:
            state.total_steps = cfg.max_steps
        else:
            if hasattr(loader, "count_batches"):
                count = loader.count_batches(0)
            elif hasattr(loader, "__len__"):
                count = len(loader)
            else:
                raise TypeError("the train loader can tell neither count_batches() nor len(): set max_steps")
            per_epoch = ddp.all_max_int(count, info, device)
            state.total_steps = max(1, per_epoch * cfg.num_epochs)
        scheduler = build_one_cycle(optimizer, state.total_steps, cfg.pct_start, cfg.div_factor, cfg.final_div_factor)

        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            loader.load_state_dict(ckpt["loader"])
            state.step, state.epoch = int(ckpt["step"]), int(ckpt["epoch"])
            state.best_valid = ckpt.get("best_valid")
            state.history = list(ckpt.get("history", []))
            set_rng_state(ckpt["rng"])
            if info.enabled and info.rank != 0:
                # rank 0's states were saved; decorrelate the other ranks' augmentation draws
                torch.manual_seed(cfg.seed + 1000 * info.rank + state.step)
            log.info("resumed from %s at epoch %d, step %d", last, state.epoch, state.step)
        else:
            seed_everything(cfg.seed + info.rank)  # different augmentation/dropout draws per rank

        train_model: nn.Module = model
        if info.enabled:
            train_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=False
            )

        writer = None
        if info.is_main and cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.exp_dir / "tensorboard"), purge_step=state.step if state.step else None)
        if info.is_main:
            log.info(
                "task %s, %d parameters (%d in the frontend), device %s, world size %d, %d steps planned",
                self.task.name,
                sum(p.numel() for p in model.parameters()),
                sum(p.numel() for p in model.frontend.parameters()),
                device,
                info.world_size,
                state.total_steps,
            )

        progress = _Progress(enabled=info.is_main and cfg.progress, total=state.total_steps, done=state.step)
        use_amp = cfg.amp and device.type == "cuda"

        def save(kind: str) -> None:
            if not info.is_main:
                return
            obj = {
                "frontend": frontend_checkpoint_entry(model.frontend),
                "model": model.state_dict(),
                "task": self.task.checkpoint_entry(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "loader": loader.state_dict(),
                "rng": rng_state(),
                "step": state.step,
                "epoch": state.epoch,
                "total_steps": state.total_steps,
                "best_valid": state.best_valid,
                "history": state.history,
                "train_config": cfg.to_dict(),
            }
            if kind == "step":
                save_checkpoint(obj, self.ckpt_dir / f"step-{state.step}.pt")
                prune_checkpoints(self.ckpt_dir, "step", cfg.keep_last_steps)
            else:
                # epoch checkpoints are for averaging and decoding: the model without the resume state
                slim = {k: v for k, v in obj.items() if k not in ("optimizer", "scheduler", "loader", "rng")}
                save_checkpoint(slim, self.ckpt_dir / f"epoch-{state.epoch}.pt")
            save_checkpoint(obj, last)

        finished = state.step >= state.total_steps and cfg.max_steps > 0
        try:
            with progress:
                while state.epoch < cfg.num_epochs and not finished:
                    epoch = state.epoch
                    loader.set_epoch(epoch)
                    model.train()
                    it = iter(loader)
                    t_epoch = time.time()
                    window = _Window()
                    while True:
                        batch = next(it, None)
                        if ddp.all_min_int(batch is not None, info, device) == 0:
                            break  # some rank is out of batches: end the epoch on all of them together
                        t0 = time.time()
                        seconds = self.task.batch_seconds(batch)
                        batch = self.task.to_device(batch, device)
                        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                            loss, stats = self.task.loss(train_model, batch)
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        if cfg.grad_clip > 0:
                            gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
                        else:
                            gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
                        # gradients are identical on every rank after DDP's all-reduce, so all ranks agree
                        if math.isfinite(gnorm):
                            optimizer.step()
                        else:
                            log.warning("step %d: non-finite gradient norm, update skipped", state.step)
                        lr = optimizer.param_groups[0]["lr"]
                        scheduler.step()
                        state.step += 1
                        window.add(float(loss.detach()), seconds, time.time() - t0, stats, gnorm)
                        progress.update(state.step, epoch, float(loss.detach()), lr, window.speed())
                        if state.step % cfg.log_every == 0 and info.is_main:
                            means = window.means()
                            log.info(
                                "epoch %d step %d loss %.4f lr %.3g grad-norm %.3g audio-s/s %.1f %s",
                                epoch, state.step, means["loss"], lr, means["grad_norm"], window.speed(),
                                " ".join(f"{k} {v:.4g}" for k, v in means.items() if k not in ("loss", "grad_norm")),
                            )
                            if writer is not None:
                                for k, v in means.items():
                                    writer.add_scalar(f"train/{k}", v, state.step)
                                writer.add_scalar("train/lr", lr, state.step)
                                writer.add_scalar("train/audio_seconds_per_second", window.speed(), state.step)
                            window = _Window()
                        if cfg.max_steps > 0 and state.step >= cfg.max_steps:
                            finished = True
                            break
                        if cfg.save_every_steps > 0 and state.step % cfg.save_every_steps == 0:
                            save("step")
                    del it
                    if finished and cfg.max_steps > 0 and not _epoch_exhausted(loader, epoch):
                        ddp.average_buffers(model, info)
                        # stopped mid-epoch by max_steps: keep the data position for a later --resume
                        save("step")
                        break
                    ddp.average_buffers(model, info)
                    state.epoch = epoch + 1
                    loader.set_epoch(state.epoch)
                    record: dict[str, Any] = {"epoch": state.epoch, "step": state.step, "seconds": time.time() - t_epoch}
                    if valid_loader is not None and state.epoch % max(1, cfg.valid_every_epochs) == 0:
                        vstats = self.validate(model, valid_loader, device, info, use_amp)
                        record.update({f"valid_{k}": v for k, v in vstats.items()})
                        if info.is_main:
                            log.info("epoch %d validation: %s", state.epoch,
                                     " ".join(f"{k} {v:.4g}" for k, v in vstats.items()))
                            if writer is not None:
                                for k, v in vstats.items():
                                    writer.add_scalar(f"valid/{k}", v, state.step)
                        if "loss" in vstats and (state.best_valid is None or vstats["loss"] < state.best_valid):
                            state.best_valid = vstats["loss"]
                    state.history.append(record)
                    save("epoch")
                    if info.is_main:
                        log.info("epoch %d done in %.1f s (step %d)", state.epoch, record["seconds"], state.step)
        finally:
            if writer is not None:
                writer.close()

        ddp.barrier(info)
        out = last
        if info.is_main:
            out = self.average()
        ddp.barrier(info)
        return out

    def _set_aside_previous_run(self) -> None:
        """A fresh run in a folder that holds another run's checkpoints: move them to checkpoints.prev/
        (one generation kept) so that averaging and pruning never mix the two runs."""
        old = numbered_checkpoints(self.ckpt_dir, "epoch") + numbered_checkpoints(self.ckpt_dir, "step")
        old += [p for p in (self.exp_dir / "last.pt", self.exp_dir / "avg.pt") if p.is_file()]
        if not old:
            return
        prev = self.exp_dir / "checkpoints.prev"
        if prev.exists():
            shutil.rmtree(prev)
        prev.mkdir(parents=True)
        for p in old:
            os.replace(p, prev / p.name)
        log.warning("%s held checkpoints of an earlier run (no --resume given): moved %d files to %s",
                    self.exp_dir, len(old), prev)

    @torch.no_grad()
    def validate(self, model: nn.Module, loader: Any, device: torch.device, info: ddp.DistInfo, use_amp: bool) -> dict[str, float]:
        """Example-weighted mean of ``task.valid_stats`` over the validation set (all ranks)."""
        was_training = model.training
        model.eval()
        totals: dict[str, float] = {}
        count = 0.0
        rng = rng_state()  # validation must not perturb the training random streams
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(0)
        for batch in loader:
            n = self.task.batch_size(batch)
            batch = self.task.to_device(batch, device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                stats = self.task.valid_stats(model, batch)
            for k, v in stats.items():
                totals[k] = totals.get(k, 0.0) + float(v) * n
            count += n
        set_rng_state(rng)
        keys = sorted(totals)
        if info.enabled:
            # every rank must take part even with different keys: agree on a fixed order
            summed = ddp.all_sum_floats([totals.get(k, 0.0) for k in keys] + [count], info, device)
            totals, count = dict(zip(keys, summed[:-1])), summed[-1]
        model.train(was_training)
        return {k: totals[k] / count for k in keys} if count else {}

    def average(self) -> Path:
        """Write ``avg.pt`` from the last ``average_last`` epoch checkpoints (or the step ones)."""
        paths = numbered_checkpoints(self.ckpt_dir, "epoch") or numbered_checkpoints(self.ckpt_dir, "step")
        n = max(1, self.cfg.average_last)
        if not paths:
            return self.exp_dir / "last.pt"
        chosen = paths[-n:]
        out = self.exp_dir / "avg.pt"
        average_checkpoints(chosen, out)
        log.info("averaged %s -> %s", ", ".join(p.name for p in chosen), out)
        return out


def _epoch_exhausted(loader: Any, epoch: int) -> bool:
    state = loader.state_dict() if hasattr(loader, "state_dict") else {}
    return state.get("epoch", epoch) != epoch


class _Window:
    """Running means over the steps since the last log line."""

    def __init__(self) -> None:
        self.n = 0
        self.sums: dict[str, float] = {}
        self.seconds = 0.0
        self.wall = 0.0

    def add(self, loss: float, seconds: float, wall: float, stats: dict[str, float], gnorm: float) -> None:
        self.n += 1
        self.seconds += seconds
        self.wall += wall
        for k, v in {"loss": loss, "grad_norm": gnorm, **stats}.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)

    def means(self) -> dict[str, float]:
        return {k: v / max(1, self.n) for k, v in self.sums.items()}

    def speed(self) -> float:
        return self.seconds / self.wall if self.wall > 0 else 0.0


class _Progress:
    """A rich progress bar with loss, lr and audio-seconds per second (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.enabled = enabled
        self.total, self.done = total, done
        self._p = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._p = Progress(
                TextColumn("epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.3f}  lr {task.fields[lr]:.2e}  {task.fields[speed]:.1f} audio-s/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._p.__enter__()
            self._id = self._p.add_task("train", total=self.total, completed=self.done, epoch=0, loss=float("nan"), lr=0.0, speed=0.0)
        return self

    def update(self, step: int, epoch: int, loss: float, lr: float, speed: float) -> None:
        if self._p is not None:
            self._p.update(self._id, completed=min(step, self.total), epoch=epoch, loss=loss, lr=lr, speed=speed)

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
            self._p = None
