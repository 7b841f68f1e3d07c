"""Fixtures shared by the streaming tests (a module, not a conftest.py: one here would shadow tests/conftest.py
for the modules that import it by name)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Many small frontend passes (a few hundred samples each) run fastest on one thread: with two, thread
    hand-offs cost more than the work, worst on a busy machine (this folder: 74 s against 7 s, measured on the
    shared 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
