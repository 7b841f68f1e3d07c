"""Every frontend of the papers behind one interface.

>>> from audiofront.frontends import build_frontend, list_frontends
>>> "leaf" in list_frontends()
True
"""

from .base import FilterBank, Frontend, FrontendConfig, FrontendInputError, count_parameters
from .registry import build_frontend, frontend_config_class, get_frontend_class, list_frontends, make_config, register_frontend

# Importing a module registers the frontends it defines.
from . import conv2d, fbank, leaf, mel, mel_pcen, scf, sincnet, tdfbanks, vae, wav2vec  # noqa: E402,F401
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
