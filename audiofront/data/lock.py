"""One ``prepare`` of a corpus at a time in an output folder.

Two runs writing the same ``{corpus}_*`` manifests at once leave a mix of both (the recordings of one
and the cuts of the other) while each reports success. Every preparer therefore holds an exclusive,
non-blocking ``fcntl.flock`` on ``{out_dir}/.{corpus}_prepare.lock`` for its whole run; a second run
fails at once with a message naming the folder. The lock is per corpus: preparing ``fsdd`` and ``yesno``
into one folder at the same time is fine (their files do not overlap).

The kernel releases the lock when the process ends, however it ends, so a killed run never leaves a
stale lock; the (empty) lock file stays, because deleting it while another process opens it would let
two runs hold "the" lock on two different files.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import os
from pathlib import Path
from typing import Iterator

from ..errors import UserError


def lock_path(out_dir: str | os.PathLike, corpus: str) -> Path:
    return Path(out_dir) / f".{corpus}_prepare.lock"


@contextlib.contextmanager
def out_dir_lock(out_dir: str | os.PathLike, corpus: str) -> Iterator[Path]:
    """Hold the ``prepare`` lock of ``corpus`` in ``out_dir`` (created if needed) for the block.

    Raises:
        UserError: another process holds it.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out-dir {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(out_dir, corpus)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"another `audiofront prepare {corpus}` is writing into {out_dir} (lock {path} is held); "
                f"wait for it to finish or use another --out-dir"
            ) from None
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def holds_prepare_lock(corpus: str):
    """Decorator: run the preparer while holding :func:`out_dir_lock` on its ``out_dir`` argument."""

    def wrap(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            out_dir = sig.bind(*args, **kwargs).arguments["out_dir"]
            with out_dir_lock(out_dir, corpus):
                return fn(*args, **kwargs)

        return wrapped

    return wrap
