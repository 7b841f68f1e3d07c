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

from ..utils.conf import parse_conf


def _set_dotted(cfg: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = cfg
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


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
        if not Path(config).is_file():
            raise typer.BadParameter(f"config file {config} does not exist", param_hint="--config")
        loaded = yaml.safe_load(Path(config).read_text()) or {}
        if not isinstance(loaded, dict):
            raise typer.BadParameter(f"{config} must hold a mapping, got {type(loaded).__name__}", param_hint="--config")
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
    lr: Optional[float] = typer.Option(None, "--lr", help="peak learning rate"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda"),
    num_threads: Optional[int] = typer.Option(None, "--num-threads", help="torch CPU threads"),
    save_every_steps: Optional[int] = typer.Option(None, "--save-every-steps", help="also checkpoint every N steps"),
    resume: bool = typer.Option(False, "--resume", help="continue from EXP_DIR/last.pt exactly where it stopped"),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="rich progress bar"),
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
                "lr": lr,
                "seed": seed,
                "device": device,
                "num_threads": num_threads,
                "save_every_steps": save_every_steps,
                "progress": progress,
            },
            parse_conf(set_),
        )
        trainer_cfg = TrainConfig.from_dict(train_cfg)
        the_task = build_task(name, task_cfg)
    except (ValueError, FileNotFoundError) as e:
        raise typer.BadParameter(str(e)) from None
    if int(os.environ.get("RANK", "0")) == 0:
        resolved = {"task": name, **the_task.config, "training": trainer_cfg.to_dict()}
        # plain data only (tuples -> lists, anything exotic -> its string) so that the file reads back as YAML
        resolved = json.loads(json.dumps(resolved, default=str))
        atomic_write_text(Path(trainer_cfg.exp_dir) / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    out = Trainer(the_task, trainer_cfg).fit(resume=resume)
    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(f"final model: {out}")
