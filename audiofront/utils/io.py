"""Atomic file writes: a crash mid-write never leaves a truncated file behind.

A write goes to ``.NAME.XXXX.tmp`` beside the target and is renamed over it once complete and synced. A
full disk is reported as :class:`DiskFullError` (one line naming the device and the file); a process
killed mid-write leaves only the temporary file, which :func:`remove_stale_tmp_files` clears later.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

import torch


class DiskFullError(OSError):
    """A write failed for lack of space. The message is the whole report; the ENOSPC error is its cause.

    Built without an errno on purpose: the CLI prints an errno-less ``OSError`` as its message alone.
    """


def _device_of(path: Path) -> str:
    """``/dev/sda1 (mounted on /data)`` for the filesystem holding ``path`` (``the filesystem at /data``
    where the mount table does not say)."""
    mount = Path(os.path.abspath(path))
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    try:
        with open("/proc/self/mounts") as f:
            sources = [line.split()[0] for line in f if len(line.split()) > 1 and line.split()[1] == str(mount)]
    except OSError:
        sources = []
    return f"{sources[-1]} (mounted on {mount})" if sources else f"the filesystem at {mount}"


def _enospc_in(e: BaseException) -> Optional[OSError]:
    """The ENOSPC error in ``e``'s chain: torch.save, cleaning up after a failed write, raises its own
    "unexpected pos" RuntimeError with the OSError only as its context."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return e
        e = e.__cause__ or e.__context__
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    ``what`` names the kind of file in the disk-full message ("the previous checkpoint is intact").
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; give the result the usual permissions of a new file
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    existed = path.exists()
    try:
        try:
            yield tmp_path
            with open(tmp_path, "rb") as f:
                os.fsync(f.fileno())
        except Exception as e:
            full = _enospc_in(e)
            if full is None:
                raise
            kept = f"the previous {what} is intact" if existed else f"no {what} was written"
            raise DiskFullError(f"no space left on {_device_of(path.parent)} while writing {path}; {kept}") from full
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_torch_save(obj: Any, path: str | os.PathLike, what: str = "checkpoint") -> None:
    # through a Python file object: then a full disk raises OSError(ENOSPC), where torch's own file
    # writer says only "[enforce fail at inline_container.cc] unexpected pos"
    with atomic_path(path, what) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def remove_stale_tmp_files(directory: str | os.PathLike, pattern: str = ".*.tmp") -> list[Path]:
    """Delete the temporary files that writes killed mid-way left in ``directory``; returns them.

    Only names of the form :func:`atomic_path` creates (``.NAME.XXXX.tmp``) match; call it when no other
    process writes there (e.g. at the start of a training run, which owns its folder).
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for p in sorted(directory.glob(pattern)):
        if p.is_file() and p.name.startswith(".") and p.name.count(".") >= 3:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def atomic_save_png(fig: Any, path: str | os.PathLike, dpi: int = 110) -> None:
    """Write a matplotlib figure as PNG atomically (with the usual permissions of a new file)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
