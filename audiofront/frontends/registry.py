"""Frontends registered by name: ``build_frontend("leaf", n_filters=64)``."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable

from .base import Frontend, FrontendConfig

_REGISTRY: dict[str, type[Frontend]] = {}


def register_frontend(name: str) -> Callable[[type[Frontend]], type[Frontend]]:
    """Class decorator: make a :class:`Frontend` subclass buildable as ``name``."""

    def wrap(cls: type[Frontend]) -> type[Frontend]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"frontend name {name!r} is already registered by {_REGISTRY[name].__name__}")
        if not (dataclasses.is_dataclass(cls.Config) and issubclass(cls.Config, FrontendConfig)):
            raise TypeError(f"{cls.__name__}.Config must be a dataclass deriving from FrontendConfig")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def list_frontends(buildable_by_default: bool = False) -> list[str]:
    """Names of every registered frontend, sorted; ``buildable_by_default``: only those that build without
    options (not the ones made from a trained checkpoint, such as ``vae``)."""
    return sorted(n for n, cls in _REGISTRY.items() if not (buildable_by_default and cls.needs_checkpoint))


def get_frontend_class(name: str) -> type[Frontend]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown frontend {name!r}; choose one of: {', '.join(list_frontends())}") from None


def frontend_config_class(name: str) -> type[FrontendConfig]:
    return get_frontend_class(name).Config


def make_config(name: str, **config: Any) -> FrontendConfig:
    """Build the typed config of frontend ``name``, with a clear error for unknown or mistyped keys."""
    cls = frontend_config_class(name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ValueError(
            f"frontend {name!r} has no option(s) {', '.join(unknown)}; its options are: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    clean = {}
    for key, value in config.items():
        clean[key] = _coerce(name, key, value, hints.get(key))
    return cls(**clean)


def _coerce(frontend: str, key: str, value: Any, hint: Any) -> Any:
    """Accept ints for floats and strings from the command line; refuse anything else that mismatches."""
    if hint is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"frontend {frontend!r}: {key} must be one of {list(args)}, got {value!r}")
        return value
    if hint is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin in (tuple, list):
        if isinstance(value, (list, tuple)):
            return type(value)(value) if origin is list else tuple(value)
    else:
        return value
    raise ValueError(f"frontend {frontend!r}: option {key} expects {getattr(hint, '__name__', hint)}, got {value!r}")


def build_frontend(name: str, **config: Any) -> Frontend:
    """Build frontend ``name`` with options ``config`` (see ``frontend_config_class(name)``).

    Example:
        >>> import torch
        >>> from audiofront.frontends import build_frontend
        >>> fe = build_frontend("mel", n_filters=40)
        >>> feats, n = fe(torch.zeros(2, 16000), torch.tensor([16000, 8000]))
        >>> tuple(feats.shape), n.tolist()
        ((2, 101, 40), [101, 51])
    """
    cls = get_frontend_class(name)
    return cls(make_config(name, **config))
