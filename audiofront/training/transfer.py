"""Start a model from parts of another run's checkpoint (``--init-from``) and freeze parts (``--freeze``).

The linear-probe and fine-tuning protocols of the self-supervised frontend paper: a classifier takes the
frontend and encoder of a COLA checkpoint, then trains only its heads (``--freeze frontend,encoder``),
the encoder and heads (``--freeze frontend``) or everything (no freeze). It works for any task: the
parts are the task's :meth:`~audiofront.tasks.base.Task.model_parts` (``frontend`` also holds the
feature normalisation of classify/cola models).

Frozen means frozen: the parameters get ``requires_grad=False`` (so the optimiser never sees them, and
weight decay cannot move them), and the frozen modules are put in eval mode before each of their
forwards, so batch-norm running statistics are neither updated nor replaced by batch statistics while
the rest of the model trains. (The authors' released probe code left the frontend trainable; ours
freezes exactly what is named.)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable

from torch import nn

from ..errors import UserError
from ..tasks.base import Task

log = logging.getLogger("audiofront.train")


def parse_parts(value: Any, what: str) -> list[str]:
    """``"frontend,encoder"`` (or a list) -> ``["frontend", "encoder"]``; empty -> ``[]``."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = [str(x).strip() for x in items if str(x).strip()]
    if len(set(out)) != len(out):
        raise UserError(f"{what}: a part is named twice in {value!r}")
    return out


def _check_known(parts: Iterable[str], known: dict[str, list[str]], what: str) -> None:
    for p in parts:
        if p not in known:
            raise UserError(f"{what}: this model has no part {p!r}; its parts are {', '.join(known)}")


def _describe(cfg: dict[str, Any], part: str) -> str:
    """``leaf {"n_filters": 40}`` from a task config's ``part`` and ``part_conf`` keys (what the user chose)."""
    name = cfg.get(part)
    conf = cfg.get(f"{part}_conf") or {}
    if name is None or isinstance(name, (dict, list)):
        return "its own settings"
    return f"{name}" + (f" {json.dumps(conf, sort_keys=True, default=str)}" if conf else "")


def init_from_checkpoint(task: Task, model: nn.Module, path: str | Path, parts: list[str]) -> None:
    """Copy ``parts`` of ``model`` from checkpoint ``path`` (read with ``weights_only``); a checkpoint whose
    parts are of another kind or shape is refused with one message naming both sides."""
    from ..tasks import load_checkpoint

    known = task.model_parts(model)
    _check_known(parts, known, "--init-from")
    ckpt = load_checkpoint(path)
    theirs = ckpt["model"]
    their_cfg = ckpt["task"]["config"]
    ours = model.state_dict()
    for part in parts:
        mismatch = None
        if their_cfg.get(part) is not None and task.config.get(part) is not None and their_cfg.get(part) != task.config.get(part):
            mismatch = f"it is a {their_cfg.get(part)}, this model's is a {task.config.get(part)}"
        wanted: dict[str, Any] = {}
        for module in known[part]:
            prefix = module + "."
            mine = {k: v for k, v in ours.items() if k.startswith(prefix)}
            got = {k: v for k, v in theirs.items() if k.startswith(prefix)}
            if mismatch is None:
                for k, v in mine.items():
                    if k in got and tuple(got[k].shape) != tuple(v.shape):
                        mismatch = f"{k} is {tuple(got[k].shape)} there, {tuple(v.shape)} here"
                        break
            wanted.update(got)
        if mismatch is None:
            # names are compared after loading, so that a module's own load hook may rename the keys of an
            # older checkpoint (e.g. sincnet's cut-offs, once in Hz); a failed check aborts the run anyway
            result = model.load_state_dict(wanted, strict=False)
            prefixes = tuple(m + "." for m in known[part])
            missing = sorted(k for k in result.missing_keys if k.startswith(prefixes))
            extra = sorted(result.unexpected_keys)
            if missing or extra:
                mismatch = f"the checkpoint lacks {missing[0]}" if missing else f"this model has no {extra[0]}"
        if mismatch is not None:
            raise UserError(
                f"--init-from {path}: its {part} ({_describe(their_cfg, part)}) does not fit this model's {part} "
                f"({_describe(task.config, part)}): {mismatch}"
            )
        log.info("--init-from %s: loaded %s (%s)", path, part, ", ".join(known[part]))


def _stay_in_eval(module: nn.Module, _inputs: Any) -> None:
    if module.training:
        module.eval()


def freeze_parts(task: Task, model: nn.Module, parts: list[str]) -> list[nn.Module]:
    """Freeze ``parts``: no gradients, and eval mode at every forward (batch-norm statistics stay put).

    Returns the frozen modules. Logs what is frozen and what trains."""
    known = task.model_parts(model)
    _check_known(parts, known, "--freeze")
    frozen: list[nn.Module] = []
    for part in parts:
        for name in known[part]:
            module = getattr(model, name)
            module.requires_grad_(False)
            module.eval()
            # the trainer calls model.train() every epoch: the hook puts the frozen part back before it runs
            module.register_forward_pre_hook(_stay_in_eval)
            frozen.append(module)
    if parts:
        n_frozen = sum(p.numel() for m in frozen for p in m.parameters())
        trainable = [p for p in known if p not in parts]
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        log.info("frozen (parameters and buffers, eval mode): %s, %d parameters; training: %s, %d parameters",
                 ", ".join(f"{p} ({', '.join(known[p])})" for p in parts), n_frozen,
                 ", ".join(trainable) or "nothing", n_train)
        if n_train == 0:
            raise UserError(f"--freeze {','.join(parts)} leaves nothing to train (the parts are {', '.join(known)})")
    return frozen


def check_transfer(task: Task, model: nn.Module, init_from: str, init_parts: Any, freeze: Any) -> None:
    """What the trainer will do with ``init_from``/``freeze``, done once on a throw-away ``model``: the
    command line refuses a bad checkpoint or part name before any file is written."""
    frozen = parse_parts(freeze, "--freeze")
    _check_known(frozen, task.model_parts(model), "--freeze")
    if init_from:
        init_from_checkpoint(task, model, init_from, parse_parts(init_parts, "training.init_parts"))
