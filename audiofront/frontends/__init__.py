"""Every frontend of the papers behind one interface.

>>> from audiofront.frontends import build_frontend, list_frontends
>>> "leaf" in list_frontends()
True
"""

from .base import FilterBank, Frontend, FrontendConfig, FrontendInputError, count_parameters
from .registry import build_frontend, frontend_config_class, get_frontend_class, list_frontends, make_config, register_frontend

# Importing a module registers the frontends it defines.
import importlib as _importlib

# TEMPORARY while the modules are being written in parallel: skip the ones not there yet.
for _mod in ("mel", "fbank", "mel_pcen", "tdfbanks", "sincnet", "leaf", "conv2d", "scf", "wav2vec"):
    try:
        _importlib.import_module(f"{__name__}.{_mod}")
    except ModuleNotFoundError as _e:
        if _e.name != f"{__name__}.{_mod}":
            raise
from .checkpoint import load_frontend  # noqa: E402

__all__ = [
    "FilterBank",
    "Frontend",
    "FrontendConfig",
    "FrontendInputError",
    "build_frontend",
    "count_parameters",
    "frontend_config_class",
    "get_frontend_class",
    "list_frontends",
    "load_frontend",
    "make_config",
    "register_frontend",
]
