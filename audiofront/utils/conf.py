"""Parsing ``--frontend-conf``-style options: JSON, a YAML file, or ``key=value`` pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..errors import UserError


def parse_conf(items: str | Iterable[str] | None) -> dict[str, Any]:
    """``'{"n_filters": 64}'``, ``'conf.yaml'`` or ``['n_filters=64', 'init=random']`` -> dict.

    Values of ``key=value`` pairs are read as YAML scalars, so ``64`` is an int and ``true`` a bool.
    """
    if items is None:
        return {}
    if isinstance(items, str):
        items = [items]
    out: dict[str, Any] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        if item.startswith("{"):
            try:
                value = json.loads(item)
            except json.JSONDecodeError as e:
                raise ValueError(f"could not parse {item!r} as JSON: {e}") from None
            out.update(value)
        elif "=" in item:
            key, _, raw = item.partition("=")
            try:
                out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError as e:
                raise UserError(f"could not read the value of {item!r}: {_yaml_problem(e)}") from None
        elif Path(item).suffix in (".yaml", ".yml", ".json") :
            if not Path(item).is_file():
                raise ValueError(f"config file {item} does not exist")
            try:
                value = yaml.safe_load(Path(item).read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as e:
                raise UserError(describe_yaml_error(e, item)) from None
            except UnicodeDecodeError as e:
                raise UserError(f"config file {item} is not UTF-8 text (byte offset {e.start})") from None
            if not isinstance(value, dict):
                raise ValueError(f"config file {item} must hold a mapping, got {type(value).__name__}")
            out.update(value)
        else:
            raise ValueError(f"cannot read option {item!r}: expected key=value, a JSON object or a .yaml file")
    return out


def describe_yaml_error(e: Exception, path: Any) -> str:
    """``PATH:LINE:COL: not valid YAML (problem)`` for a YAML error raised while reading ``path``."""
    mark = getattr(e, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    return f"{where}: not valid YAML ({_yaml_problem(e)})"


def _yaml_problem(e: Exception) -> str:
    """The one-line gist of a YAML error (its ``problem``), without PyYAML's multi-line context."""
    return " ".join(str(getattr(e, "problem", None) or e).split())
