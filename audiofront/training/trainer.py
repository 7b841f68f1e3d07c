"""The one trainer every task uses (ASR, classification, and the self-supervised/VAE tasks to come).

    trainer = Trainer(task, TrainConfig(exp_dir="exp/x", num_epochs=10, lr=1e-3))
    trainer.fit(resume=False)

What it does: AdamW with a one-cycle (default) or warm-up + cosine schedule, gradient clipping, bf16
autocast on GPU only, seeding, parts started from another checkpoint and frozen (``init_from``,
``freeze``; :mod:`audiofront.training.transfer`), TensorBoard scalars, a rich progress bar (loss, lr, audio-seconds per second), atomic checkpoints
(``checkpoints/step-N.pt`` every ``save_every_steps``, ``checkpoints/epoch-N.pt``, ``last.pt``), exact
``resume`` (model, optimiser, scheduler, data position, RNG states; from the newest checkpoint that can
be read), ``avg.pt`` averaged over the last epochs, DDP when launched by torchrun, and a time budget
(``max_minutes``: after each epoch the run plans how many epochs fit at the mean epoch time so far,
``num_epochs`` capping it, and the learning-rate schedule is stretched or shrunk to that plan, so that it
still decays to its end; validation and checkpoints count as training time). A fresh run never
starts over another run's checkpoints: it is refused, or with ``overwrite`` the old run is first moved
to ``EXP.bakN/`` (see :mod:`audiofront.training.checkpoint`).

Exactness of resume: everything random during training draws from the Python/NumPy/torch global
generators (saved in each checkpoint) or from generators seeded by (seed, epoch, cut id) (speed
perturbation); the data position is the number of batches the loop has received in the current epoch
(see :class:`audiofront.data.sampling.ResumableLoader`). With DDP only rank 0's RNG states are saved, so
a resumed multi-process run is equivalent but not bit-identical.

Runs that would train nothing are refused before the first step (a :class:`~audiofront.errors.UserError`):
settings such as ``num_epochs`` 0 without ``max_steps``, negative counts, or training data that make no batch.
A step whose loss or gradient norm is NaN/Inf updates nothing, neither weights nor buffers: batch-norm running
statistics (which a NaN batch would poison for good) and the step counters of the SpecAugment and KL warm-ups
are put back as they were before the batch. The learning-rate schedule and the data position move on as for
any batch, so the schedule still ends where the plan ends. ``max_nonfinite_steps`` such steps in a row
stop the run with :class:`NonFiniteLossError` instead of "training" on to a useless model.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..errors import UserError
from ..frontends.base import FrontendInputError
from ..frontends.checkpoint import frontend_checkpoint_entry
from ..tasks.base import Task
from ..utils.io import remove_stale_tmp_files
from . import ddp
from .averaging import average_checkpoints
from .checkpoint import (
    claim_exp_dir,
    find_resume_checkpoint,
    first_non_plain,
    numbered_checkpoints,
    previous_run_checkpoints,
    prune_checkpoints,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .optim import SCHEDULES, build_cosine, build_one_cycle, build_optimizer, epochs_in_budget
from .transfer import freeze_parts, init_from_checkpoint, parse_parts

log = logging.getLogger("audiofront.train")


@dataclass
class TrainConfig:
    """Settings of the trainer (the ``training:`` section of a recipe; CLI options override them)."""

    exp_dir: str = "exp/run"
    num_epochs: int = 10  # 0: no limit on epochs (then max_steps must be > 0)
    max_steps: int = 0  # > 0: stop after this many optimiser steps (and size the schedule by it)
    lr: float = 1e-3  # peak learning rate of the schedule
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
    max_nonfinite_steps: int = 5  # stop with an error after this many consecutive non-finite losses (0: never)
    schedule: str = "one-cycle"  # one-cycle (pct_start, div_factor, final_div_factor) | cosine (warmup_steps)
    warmup_steps: int = 0  # cosine: linear warm-up steps before the decay
    init_from: str = ""  # a checkpoint to copy init_parts from before training (see training/transfer.py)
    init_parts: str = "frontend,encoder"  # the task's model parts --init-from loads (comma separated)
    freeze: str = ""  # model parts kept frozen, parameters and buffers (e.g. frontend,encoder)
    # > 0: a time budget in minutes of training (validation and checkpoints included). After each epoch the
    # run plans as many epochs as fit at the mean epoch time so far (num_epochs is then the cap) and
    # resizes the schedule to them; the plan is saved in checkpoints, so --resume keeps to the budget. A
    # "an hour on this machine" recipe then fills the hour on a faster or slower host; for a run that
    # repeats step for step elsewhere, set it to 0 and give --num-epochs.
    max_minutes: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
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
                    raise UserError(f"training option {k} expects a number, got {v!r}") from None
            elif kind is float and isinstance(v, int) and not isinstance(v, bool):
                d[k] = float(v)
            elif kind is int and isinstance(v, float) and v.is_integer():
                d[k] = int(v)  # 10.0 epochs is 10 epochs; 2.5 is refused by check()
        if "betas" in d:
            b = d["betas"]
            try:
                d["betas"] = tuple(float(x) for x in b)
            except (TypeError, ValueError):
                raise UserError(f"training option betas expects two numbers, e.g. [0.9, 0.98], got {b!r}") from None
            if len(d["betas"]) != 2:
                raise UserError(f"training option betas expects two numbers, e.g. [0.9, 0.98], got {b!r}")
        return cls(**d).check()

    def check(self) -> "TrainConfig":
        """Refuse settings that would train nothing or fail later (one :class:`UserError` naming the value)."""
        ints = ("num_epochs", "max_steps", "save_every_steps", "keep_last_steps", "average_last", "num_threads",
                "max_nonfinite_steps", "warmup_steps")
        for name in ints:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise UserError(f"training option {name} must be a whole number, got {v!r}")
            if v < 0:
                raise UserError(f"training option {name} (--{name.replace('_', '-')}) must be >= 0, got {v}")
        if self.num_epochs == 0 and self.max_steps == 0:
            raise UserError(
                "nothing to train: --num-epochs 0 and no --max-steps; give --num-epochs N >= 1, or --max-steps N >= 1 "
                "(with --num-epochs 0 meaning no limit on epochs)"
            )
        for name in ("log_every", "valid_every_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise UserError(f"training option {name} must be a whole number >= 1, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise UserError(f"training option lr (--lr) must be a positive number, got {self.lr!r}")

        def number(name: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise UserError(f"training option {name} must be a finite number, got {v!r}")
            return float(v)

        # checked here, not where torch or the schedule would divide by them mid-run (after --overwrite moved
        # the earlier run aside)
        for name in ("div_factor", "final_div_factor"):
            if number(name) <= 0:
                raise UserError(f"training option {name} must be > 0, got {getattr(self, name)!r}")
        if not 0 <= number("pct_start") <= 1:
            raise UserError(f"training option pct_start (the warm-up share) must be in [0, 1], got {self.pct_start!r}")
        if number("weight_decay") < 0:
            raise UserError(f"training option weight_decay must be >= 0, got {self.weight_decay!r}")
        number("grad_clip")  # <= 0 means no clipping; NaN or inf would switch it off unnoticed
        if not (isinstance(self.betas, (tuple, list)) and len(self.betas) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in self.betas)):
            raise UserError(f"training option betas expects two numbers in [0, 1), e.g. [0.9, 0.98], got {self.betas!r}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"training option schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        m = self.max_minutes
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m < 0:
            raise UserError(f"training option max_minutes (--max-minutes) must be a number of minutes >= 0, got {m!r}")
        if m > 0 and self.max_steps > 0:
            raise UserError(
                f"training options max_minutes ({m}) and max_steps ({self.max_steps}) both size the run: give one of "
                "them (set the other to 0)"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    total_steps: int = 0
    planned_epochs: int = 0  # with a time budget: the epochs the run plans in all (0: num_epochs)
    train_seconds: float = 0.0  # wall time of the finished epochs (validation and checkpoints included)
    best_valid: Optional[float] = None
    history: list = field(default_factory=list)


class Trainer:
    # the clock of the time budget (tests replace it)
    clock = staticmethod(time.monotonic)

    def __init__(self, task: Task, config: TrainConfig, on_start: Optional[Callable[[], None]] = None):
        """``on_start`` runs on the main process once the run is set up (a ``resume`` checkpoint loaded and
        found to fit), just before the first step: the CLI writes ``config.yaml`` there, so a refused
        ``--resume`` leaves the run's own file alone."""
        self.task = task
        self.cfg = config.check()
        self.on_start = on_start
        self.exp_dir = Path(config.exp_dir)
        self.ckpt_dir = self.exp_dir / "checkpoints"

    # ---- set-up ----------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        from ..utils.device import resolve_device

        return resolve_device(self.cfg.device)

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
    def fit(self, resume: bool = False, overwrite: bool = False) -> Path:
        """Train; returns the path of the final checkpoint (``avg.pt`` if written, else ``last.pt``).

        A folder holding an earlier run's checkpoints needs ``resume`` (continue it) or ``overwrite``
        (move it to a numbered backup first, see :func:`~audiofront.training.checkpoint.claim_exp_dir`).
        """
        cfg = self.cfg
        device = self._device()
        info = ddp.init_distributed(device.type)
        if device.type == "cuda" and info.enabled:
            device = torch.device("cuda", info.local_rank)
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        try:
            # before the log file is opened: with overwrite the whole folder moves to the backup
            backup = claim_exp_dir(self.exp_dir, resume, overwrite, move=info.is_main)
            stale: list[Path] = []
            if info.is_main:
                # what checkpoint writes killed mid-way left behind (complete ones were renamed into place)
                stale = remove_stale_tmp_files(self.exp_dir, ".*.pt.*.tmp") + remove_stale_tmp_files(self.ckpt_dir, ".*.pt.*.tmp")
            self._setup_logging(info.is_main)
            if backup is not None:
                log.warning("--overwrite: the earlier run in %s was moved to %s", self.exp_dir, backup)
            if stale:
                log.warning("removed %d unfinished checkpoint write(s) of a killed run: %s", len(stale),
                            ", ".join(p.name for p in stale))
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
        # checkpoints hold plain data only (they load with weights_only): a recipe value that is not one
        # (a YAML date, say) is refused now rather than at the first checkpoint
        bad = first_non_plain({"task": self.task.checkpoint_entry(), "training": cfg.to_dict()})
        if bad:
            raise UserError(f"the config cannot be stored in a checkpoint: {bad} is not a string, number, list or mapping")
        if cfg.init_from:
            # on --resume the checkpoint's weights replace these below; loading still checks the fit
            init_from_checkpoint(self.task, model, cfg.init_from, parse_parts(cfg.init_parts, "training.init_parts"))
        if cfg.freeze and not cfg.init_from and info.is_main:
            log.warning("--freeze %s without --init-from: the frozen parts keep their initial weights", cfg.freeze)
        freeze_parts(self.task, model, parse_parts(cfg.freeze, "--freeze"))  # before the optimiser: frozen = not in it
        optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay, cfg.betas)
        loader = self.task.train_loader(world_size=info.world_size, rank=info.rank)
        valid_loader = self.task.valid_loader(world_size=info.world_size, rank=info.rank)

        state = _State()
        last = self.exp_dir / "last.pt"
        ckpt = None
        if resume:
            found = find_resume_checkpoint(self.exp_dir)
            if found is not None:
                resumed_from, ckpt, skipped = found
                for why in skipped:
                    log.warning("--resume: skipping %s", why)
                if skipped:
                    log.warning("--resume: resuming from %s (step %s), the newest checkpoint that can be read",
                                resumed_from, ckpt["step"])
            elif previous_run_checkpoints(self.exp_dir):
                raise UserError(
                    f"--resume: {self.exp_dir} holds checkpoints but neither last.pt nor checkpoints/step-N.pt to "
                    "resume from; pass --overwrite instead of --resume to start afresh (the old run is kept)"
                )
            else:
                log.warning("--resume: %s holds no checkpoint, starting from scratch", self.exp_dir)
        if ckpt is not None:
            state.total_steps = int(ckpt["total_steps"])
            if cfg.max_steps > 0 and cfg.max_steps != state.total_steps:
                # the schedule was sized for the run's own length; changing it now would bend the learning rate
                log.warning("--resume: the run keeps its %d steps (its schedule was sized for them); --max-steps %d "
                            "is ignored", state.total_steps, cfg.max_steps)
            state.planned_epochs = int(ckpt.get("planned_epochs", 0))
            state.train_seconds = float(ckpt.get("train_seconds", 0.0))
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
            if per_epoch == 0:
                raise UserError(f"the training data make no batch: {self.task.no_batch_reason(info.world_size)}")
            state.total_steps = max(1, per_epoch * cfg.num_epochs)
        # the schedule reads the planned length at every step: a time budget changes it after each epoch
        def planned_steps() -> int:
            return state.total_steps

        if cfg.schedule == "cosine":
            scheduler = build_cosine(optimizer, planned_steps, cfg.warmup_steps)
        else:
            scheduler = build_one_cycle(optimizer, planned_steps, cfg.pct_start, cfg.div_factor, cfg.final_div_factor)

        if ckpt is not None:
            try:
                model.load_state_dict(ckpt["model"])
                optimizer.load_state_dict(ckpt["optimizer"])
            except (RuntimeError, ValueError, KeyError) as e:  # another model size, frontend or --freeze
                first = " ".join(str(e).split())[:200]
                raise UserError(
                    f"--resume: {resumed_from} holds another model (or other frozen parts) than "
                    f"these options build ({first}); resume with the options it was started with, or start afresh "
                    "with --overwrite (the old run is kept)"
                ) from None
            scheduler.load_state_dict(ckpt["scheduler"])
            loader.load_state_dict(ckpt["loader"])
            state.step, state.epoch = int(ckpt["step"]), int(ckpt["epoch"])
            state.best_valid = ckpt.get("best_valid")
            state.history = list(ckpt.get("history", []))
            set_rng_state(ckpt["rng"])
            if info.enabled and info.rank != 0:
                # rank 0's states were saved; decorrelate the other ranks' augmentation draws
                torch.manual_seed(cfg.seed + 1000 * info.rank + state.step)
            log.info("resumed from %s at epoch %d, step %d", resumed_from, state.epoch, state.step)
        else:
            seed_everything(cfg.seed + info.rank)  # different augmentation/dropout draws per rank
        if self.on_start is not None and info.is_main:
            self.on_start()

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
                "planned_epochs": state.planned_epochs,
                # a step checkpoint also counts the unfinished epoch's time: a run resumed from it keeps to its budget
                "train_seconds": state.train_seconds + (self.clock() - t_mark if kind == "step" else 0.0),
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

        def epoch_limit() -> int:
            return state.planned_epochs if cfg.max_minutes > 0 and state.planned_epochs > 0 else cfg.num_epochs

        if cfg.max_minutes > 0 and info.is_main:
            log.info("time budget: %g min of training; the epochs are planned after each epoch (at most %d)",
                     cfg.max_minutes, cfg.num_epochs)
        t_mark = self.clock()  # the budget counts from here (and from here again after a resume)
        finished = state.step >= state.total_steps and cfg.max_steps > 0
        ended_mid_epoch: Optional[Path] = None  # the step checkpoint of a run max_steps stopped inside an epoch
        empty_epochs = 0  # consecutive epochs without a batch (a resumed run may start at an epoch's end)
        nonfinite = 0  # consecutive steps with a non-finite loss or gradient norm
        try:
            with progress:
                while (epoch_limit() <= 0 or state.epoch < epoch_limit()) and not finished:
                    epoch = state.epoch
                    loader.set_epoch(epoch)
                    model.train()
                    it = iter(loader)
                    t_epoch = time.time()
                    window = _Window()
                    batches = 0
                    while True:
                        batch = next(it, None)
                        if ddp.all_min_int(batch is not None, info, device) == 0:
                            break  # some rank is out of batches: end the epoch on all of them together
                        batches += 1
                        t0 = time.time()
                        seconds = self.task.batch_seconds(batch)
                        batch = self.task.to_device(batch, device)
                        # the forward pass changes buffers (batch-norm statistics, step counters): kept, so
                        # that a skipped step can put them back
                        kept_buffers = [b.detach().clone() for b in model.buffers()]
                        try:
                            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                                loss, stats = self.task.loss(train_model, batch)
                        except FrontendInputError as e:
                            # the frontend names the batch item; the user needs the cut
                            raise FrontendInputError(f"{e} ({_which_cut(batch, e.item)})") from None
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        if cfg.grad_clip > 0:
                            gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
                        else:
                            gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
                        # gradients are identical on every rank after DDP's all-reduce, but a loss is each
                        # rank's own: agree, so that every rank skips the same updates
                        finite = math.isfinite(gnorm) and bool(torch.isfinite(loss.detach()).all())
                        if ddp.all_min_int(finite, info, device) == 1:
                            optimizer.step()
                            nonfinite = 0
                        else:
                            nonfinite += 1
                            with torch.no_grad():
                                for b, kept in zip(model.buffers(), kept_buffers):
                                    b.copy_(kept)
                            log.warning("step %d: non-finite loss (%s) or gradient norm (%s), update skipped",
                                        state.step, float(loss.detach()), gnorm)
                            if 0 < cfg.max_nonfinite_steps <= nonfinite:
                                raise NonFiniteLossError(
                                    f"training stopped at step {state.step} (epoch {epoch}): the loss or its gradient "
                                    f"was not finite for {nonfinite} consecutive steps (last loss "
                                    f"{float(loss.detach())}, gradient norm {gnorm}), so the model was not updated; "
                                    "look for NaN/Inf in the data or features, or lower --lr "
                                    "(training.max_nonfinite_steps sets how many such steps are tolerated)"
                                )
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
                    empty_epochs = empty_epochs + 1 if batches == 0 else 0
                    if batches == 0 and (state.step == 0 or empty_epochs > 1):
                        # nothing would ever be trained (or, with no epoch limit, the loop would never end)
                        raise UserError(
                            f"the training data make no batch in epoch {epoch}: {self.task.no_batch_reason(info.world_size)}"
                        )
                    if finished and cfg.max_steps > 0 and not _epoch_exhausted(loader, epoch):
                        ddp.average_buffers(model, info)
                        # stopped mid-epoch by max_steps: keep the data position for a later --resume
                        save("step")
                        ended_mid_epoch = self.ckpt_dir / f"step-{state.step}.pt"
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
                    now = self.clock()
                    state.train_seconds += now - t_mark
                    t_mark = now
                    if cfg.max_minutes > 0:
                        self._plan(state, info, device, progress, scheduler)
                        record["planned_epochs"] = state.planned_epochs
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
            out = self.average(ended_mid_epoch)
        ddp.barrier(info)
        return out

    @torch.no_grad()
    def _plan(self, state: _State, info: ddp.DistInfo, device: torch.device, progress: "_Progress",
              scheduler: torch.optim.lr_scheduler.LambdaLR) -> None:
        """Re-plan a time-budgeted run after an epoch: the epochs that fit, and the schedule's length."""
        cfg = self.cfg
        planned = epochs_in_budget(cfg.max_minutes * 60.0, state.train_seconds, state.epoch, cfg.num_epochs)
        planned = ddp.all_min_int(planned, info, device)  # every rank stops after the same epoch
        if planned == state.planned_epochs:
            return
        # steps per epoch as counted so far (bucketing only estimates them in advance)
        state.total_steps = max(state.step, round(state.step / state.epoch * planned))
        if info.is_main:
            log.info(
                "time budget: %.1f of %g min spent in %d epoch(s) (%.1f s each): %d epoch(s) planned%s, the schedule "
                "ends at step %d", state.train_seconds / 60.0, cfg.max_minutes, state.epoch,
                state.train_seconds / state.epoch, planned,
                f" (was {state.planned_epochs})" if state.planned_epochs else "", state.total_steps,
            )
        state.planned_epochs = planned
        progress.set_total(state.total_steps)
        # the next step's learning rate was computed with the old length: recompute it with the new one
        lrs = [base * f(scheduler.last_epoch) for base, f in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
        for group, lr in zip(scheduler.optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = lrs

    @torch.no_grad()  # Task.valid_stats promises no grad: without it every batch built an unused autograd graph
    def validate(self, model: nn.Module, loader: Any, device: torch.device, info: ddp.DistInfo, use_amp: bool) -> dict[str, float]:
        """``task.valid_stats`` over the validation set (all ranks): example-weighted means, and the pairs
        ``(sum, count)`` as total sum over total count."""
        was_training = model.training
        model.eval()
        totals: dict[str, float] = {}
        counts: dict[str, float] = {}  # the denominators of the (sum, count) stats
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
                if isinstance(v, tuple):  # (sum, count): a corpus rate
                    totals[k] = totals.get(k, 0.0) + float(v[0])
                    counts[k] = counts.get(k, 0.0) + float(v[1])
                else:
                    totals[k] = totals.get(k, 0.0) + float(v) * n
            count += n
        set_rng_state(rng)
        keys, pair_keys = sorted(totals), sorted(counts)
        if info.enabled:
            # every rank must take part even with different keys: agree on a fixed order
            summed = ddp.all_sum_floats([totals.get(k, 0.0) for k in keys] + [counts.get(k, 0.0) for k in pair_keys]
                                        + [count], info, device)
            totals = dict(zip(keys, summed[: len(keys)]))
            counts = dict(zip(pair_keys, summed[len(keys): -1]))
            count = summed[-1]
        model.train(was_training)
        if not count:
            return {}
        out = {}
        for k in keys:
            if k not in counts:
                out[k] = totals[k] / count
            elif counts[k] > 0:
                out[k] = totals[k] / counts[k]
        return out

    def average(self, final: Optional[Path] = None) -> Path:
        """Write ``avg.pt`` from the last ``average_last`` epoch checkpoints (or the step ones). ``final``: the
        step checkpoint of a run that stopped inside an epoch (``max_steps``), the newest weights: it counts as
        the last of the checkpoints averaged, so ``avg.pt`` never leaves out the end of training."""
        paths = numbered_checkpoints(self.ckpt_dir, "epoch") or numbered_checkpoints(self.ckpt_dir, "step")
        if final is not None and final.exists() and final not in paths:
            paths = paths + [final]
        n = max(1, self.cfg.average_last)
        if not paths:
            return self.exp_dir / "last.pt"
        chosen = paths[-n:]
        out = self.exp_dir / "avg.pt"
        average_checkpoints(chosen, out)
        log.info("averaged %s -> %s", ", ".join(p.name for p in chosen), out)
        return out


class NonFiniteLossError(UserError):
    """Training stopped: too many consecutive steps had a NaN/Inf loss or gradient norm."""


def _which_cut(batch: Any, item: Optional[int], limit: int = 8) -> str:
    """Which cut of a batch (a dict with ``cut_ids``, or a list of such dicts) item ``item`` is, for messages."""
    if isinstance(batch, dict) and item is not None and 0 <= item < len(batch.get("cut_ids", [])):
        return f"cut {batch['cut_ids'][item]}"
    parts = batch if isinstance(batch, (list, tuple)) else [batch]
    ids = [str(i) for b in parts if isinstance(b, dict) for i in b.get("cut_ids", [])]
    if len(parts) == 1 and item is not None and 0 <= item < len(ids):
        return f"cut {ids[item]}"
    if not ids:
        return "a training batch"
    return "one of the cuts " + ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


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

    def set_total(self, total: int) -> None:
        self.total = total
        if self._p is not None:
            self._p.update(self._id, total=total)

    def update(self, step: int, epoch: int, loss: float, lr: float, speed: float) -> None:
        if self._p is not None:
            self._p.update(self._id, completed=min(step, self.total), epoch=epoch, loss=loss, lr=lr, speed=speed)

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
            self._p = None
