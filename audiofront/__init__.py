"""audiofront: learnable audio frontends (LEAF, SincNet, TD-filterbanks, 2D-conv, ...) behind one interface,
with Kaldi-style recipes. Frontends: :mod:`audiofront.frontends`; the command line: ``audiofront --help``."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("audiofront")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
