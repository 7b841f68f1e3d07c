"""``audiofront train``: a task (asr, classify, ...) from a recipe YAML, command-line options overriding it.

Recipe YAML: ``task: NAME``, ``training: {TrainConfig fields}`` and the task's own config at the top level
(see ``audiofront/tasks/asr.py`` for the asr keys). Multi-GPU / multi-node::

    torchrun --nproc-per-node 4 -m audiofront.cli.main train --task asr --config recipes/x.yaml ...
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
import yaml

from ..errors import UserError
from ..utils.conf import describe_yaml_error, parse_conf


def _set_dotted(cfg: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = cfg
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


def read_recipe(path: Path) -> dict[str, Any]:
    """The mapping in a recipe YAML; a missing, non-UTF-8 or malformed file is a :class:`UserError` naming
    the file (and the line of a YAML syntax error)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--config: {path} does not exist" if not path.exists() else f"--config: {path} is not a file")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise UserError(f"--config: {path} is not UTF-8 text (byte offset {e.start})") from None
    except yaml.YAMLError as e:
        raise UserError(f"--config: {describe_yaml_error(e, path)}") from None
    if not isinstance(loaded, dict):
        raise UserError(f"--config: {path} must hold a mapping (task:, training:, ...), got a {type(loaded).__name__}")
    return loaded


def _check_exp_dir(exp_dir: Path) -> None:
    """Create the experiment folder and make sure files can be written in it, before any work is done."""
    try:
        exp_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"--exp-dir {exp_dir} exists and is not a folder") from None
    except OSError as e:
        raise UserError(f"--exp-dir {exp_dir} cannot be created: {e.strerror or e}") from None
    if not os.access(exp_dir, os.W_OK | os.X_OK):
        raise UserError(f"--exp-dir {exp_dir} is not writable: choose another folder or fix its permissions")


def build_configs(
    config: Optional[Path],
    task: Optional[str],
    overrides: dict[str, Any],
    frontend: Optional[str],
    frontend_conf: dict[str, Any],
    training: dict[str, Any],
    sets: dict[str, Any],
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(task name, task config, training config)`` from a YAML file and the command-line options."""
    cfg: dict[str, Any] = {}
    if config is not None:
        loaded = read_recipe(config)
        cfg = copy.deepcopy(loaded)
    name = task or cfg.get("task") or "asr"
    cfg.pop("task", None)
    train_cfg = dict(cfg.pop("training", None) or {})
    if frontend is not None:
        if cfg.get("frontend") not in (None, frontend):
            # the recipe's frontend options belong to another frontend: start from that frontend's defaults
            cfg["frontend_conf"] = {}
        cfg["frontend"] = frontend
    if frontend_conf:
        cfg["frontend_conf"] = {**(cfg.get("frontend_conf") or {}), **frontend_conf}
    for k, v in overrides.items():
        if v is not None:
            cfg[k] = v
    if training.get("max_steps") and training.get("max_minutes") is None:
        # a step count on the command line replaces the recipe's time budget (both would size the run)
        train_cfg.pop("max_minutes", None)
    train_cfg.update({k: v for k, v in training.items() if v is not None})
    for key, value in sets.items():
        if key.startswith("training."):
            _set_dotted(train_cfg, key[len("training."):], value)
        else:
            _set_dotted(cfg, key, value)
    return name, cfg, train_cfg


def main(
    task: Optional[str] = typer.Option(None, "--task", help="asr | classify | ... (default: the config's `task`, else asr)"),
    config: Optional[Path] = typer.Option(None, "--config", help="recipe YAML (recipes/*.yaml)"),
    frontend: Optional[str] = typer.Option(None, "--frontend", help="frontend name (see `audiofront frontends`)"),
    frontend_conf: Optional[List[str]] = typer.Option(None, "--frontend-conf", help="frontend option key=value (repeatable)"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="encoder preset (asr: tiny, small, medium, paper)"),
    train_cuts: Optional[Path] = typer.Option(None, "--train-cuts", help="lhotse cuts manifest for training"),
    valid_cuts: Optional[Path] = typer.Option(None, "--valid-cuts", help="lhotse cuts manifest for validation"),
    lang_dir: Optional[Path] = typer.Option(None, "--lang-dir", help="tokenizer directory (asr)"),
    max_duration: Optional[float] = typer.Option(None, "--max-duration", help="seconds of audio per batch"),
    exp_dir: Optional[Path] = typer.Option(None, "--exp-dir", help="output: checkpoints, logs, avg.pt"),
    num_epochs: Optional[int] = typer.Option(None, "--num-epochs"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="stop after N optimiser steps"),
    max_minutes: Optional[float] = typer.Option(
        None, "--max-minutes", help="time budget: as many epochs (at most --num-epochs) as fit in M minutes of training"
    ),
    lr: Optional[float] = typer.Option(None, "--lr", help="peak learning rate"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda"),
    num_threads: Optional[int] = typer.Option(None, "--num-threads", help="torch CPU threads"),
    save_every_steps: Optional[int] = typer.Option(None, "--save-every-steps", help="also checkpoint every N steps"),
    resume: bool = typer.Option(False, "--resume", help="continue from EXP_DIR/last.pt exactly where it stopped"),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="start afresh in an EXP_DIR that holds a run: it is moved to EXP_DIR.bakN/ first"
    ),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="rich progress bar"),
    init_from: Optional[Path] = typer.Option(
        None, "--init-from", help="checkpoint to start the frontend and encoder from (any task's; training.init_parts)"
    ),
    freeze: Optional[str] = typer.Option(
        None, "--freeze", help="parts kept frozen, parameters and batch-norm statistics: frontend | frontend,encoder"
    ),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="any option key=value, dotted: training.lr=1e-3, encoder_conf.num_layers=2"),
) -> None:
    """Train a model; writes EXP_DIR/checkpoints/*.pt, last.pt, avg.pt, train.log and tensorboard/."""
    from ..tasks import build_task
    from ..training.trainer import TrainConfig, Trainer
    from ..utils.io import atomic_write_text

    try:
        name, task_cfg, train_cfg = build_configs(
            config,
            task,
            {
                "train_cuts": str(train_cuts) if train_cuts else None,
                "valid_cuts": str(valid_cuts) if valid_cuts else None,
                "lang_dir": str(lang_dir) if lang_dir else None,
                "max_duration": max_duration,
                "encoder": encoder,
            },
            frontend,
            parse_conf(frontend_conf),
            {
                "exp_dir": str(exp_dir) if exp_dir else None,
                "num_epochs": num_epochs,
                "max_steps": max_steps,
                "max_minutes": max_minutes,
                "lr": lr,
                "seed": seed,
                "device": device,
                "num_threads": num_threads,
                "save_every_steps": save_every_steps,
                "progress": progress,
                "init_from": str(init_from) if init_from else None,
                "freeze": freeze,
            },
            parse_conf(set_),
        )
        trainer_cfg = TrainConfig.from_dict(train_cfg)
        the_task = build_task(name, task_cfg)
        # everything the user wrote is checked here, before any file is written or data is read: the
        # frontend and encoder options (by building the model once) and the device
        model = the_task.build_model()
        if trainer_cfg.init_from or trainer_cfg.freeze:
            # a checkpoint that does not fit, or an unknown part, is refused before the exp dir is touched
            from ..training.transfer import check_transfer

            check_transfer(the_task, model, trainer_cfg.init_from, trainer_cfg.init_parts, trainer_cfg.freeze)
        from ..utils.device import resolve_device

        resolve_device(trainer_cfg.device)
    except UserError:
        raise
    except (ValueError, TypeError, FileNotFoundError) as e:
        # the registry, model configs and tasks report a bad option value as ValueError/TypeError
        raise UserError(str(e)) from None
    # before config.yaml is written: a fresh run over an earlier one is refused, or (--overwrite) the
    # earlier one is moved to a numbered backup; every rank checks, rank 0 moves
    from ..training.checkpoint import claim_exp_dir

    backup = claim_exp_dir(Path(trainer_cfg.exp_dir), resume, overwrite, move=int(os.environ.get("RANK", "0")) == 0)
    if backup is not None:
        typer.echo(f"--overwrite: moved the earlier run in {trainer_cfg.exp_dir} to {backup}", err=True)
    if int(os.environ.get("RANK", "0")) == 0:
        _check_exp_dir(Path(trainer_cfg.exp_dir))
    resolved = {"task": name, **the_task.config, "training": trainer_cfg.to_dict()}
    # plain data only (tuples -> lists, anything exotic -> its string) so that the file reads back as YAML
    resolved = json.loads(json.dumps(resolved, default=str))

    def write_config() -> None:
        # once the trainer has set up the run: a --resume refused for a checkpoint that does not fit these
        # options leaves the run's own config.yaml as it was
        atomic_write_text(Path(trainer_cfg.exp_dir) / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))

    out = Trainer(the_task, trainer_cfg, on_start=write_config).fit(resume=resume, overwrite=overwrite)
    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(f"final model: {out}")
