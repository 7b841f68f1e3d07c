"""The ``path`` fixture of the tests that run on both the fused C kernels and the pure-PyTorch path.

Not a test module (no conftest.py here: it would shadow tests/conftest.py): ``from native_paths import path``.
"""

from __future__ import annotations

import shutil

import pytest

from audiofront.frontends.native import kernels


@pytest.fixture(params=["native", "torch"])
def path(request, monkeypatch):
    """Run a test on the fused C kernels and on the pure-PyTorch path. The kernels must build wherever a C
    compiler is present (a build failure there is a failure, not a skip)."""
    if request.param == "torch":
        monkeypatch.setenv("AUDIOFRONT_NATIVE", "0")
    else:
        monkeypatch.setenv("AUDIOFRONT_NATIVE", "1")
        if shutil.which("cc") is None and shutil.which("gcc") is None:
            pytest.skip("no C compiler: only the PyTorch path exists here")
        assert kernels() is not None, "a C compiler is present but the fused kernels did not build"
    return request.param
