"""Parsing ``--frontend-conf``-style options: JSON, a YAML file, or ``key=value`` pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml


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
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        elif Path(item).suffix in (".yaml", ".yml", ".json") :
            if not Path(item).is_file():
                raise ValueError(f"config file {item} does not exist")
            value = yaml.safe_load(Path(item).read_text()) or {}
            if not isinstance(value, dict):
                raise ValueError(f"config file {item} must hold a mapping, got {type(value).__name__}")
            out.update(value)
        else:
            raise ValueError(f"cannot read option {item!r}: expected key=value, a JSON object or a .yaml file")
    return out
