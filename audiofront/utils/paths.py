"""Paths made from names that come from data (utterance ids, cut ids): they never leave their folder.

An id read from a transcript or a manifest is data, not a path: ``../../victim/target`` or ``/etc/passwd``
as a cut id must not make a writer create or overwrite a file outside its output folder. Every writer
that turns an id into a file name goes through :func:`path_in_dir`.

    >>> path_in_dir("/data/feats", "1272-128104-0000", ".npy")
    PosixPath('/data/feats/1272-128104-0000.npy')
    >>> path_in_dir("/data/feats", "../x")
    Traceback (most recent call last):
    ...
    audiofront.errors.UserError: ...
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def check_name(name: str, what: str = "id") -> str:
    """``name`` if it is usable as one file name: not empty, not ``.``/``..``, no separator, no NUL.

    Raises:
        UserError: naming the offending value and what was expected.
    """
    if not isinstance(name, str) or not name:
        raise UserError(f"{what} {name!r} is empty; expected a non-empty name")
    if "\0" in name:
        raise UserError(f"{what} {name!r} contains a NUL character; expected a plain file name")
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if any(s in name for s in seps):
        raise UserError(f"{what} {name!r} contains a path separator; expected a plain file name (no '/')")
    if name in (".", ".."):
        raise UserError(f"{what} {name!r} is a relative path; expected a plain file name")
    return name


def path_in_dir(root: str | os.PathLike, name: str, suffix: str = "", what: str = "id") -> Path:
    """``root / (name + suffix)``, refused unless it is a file directly inside ``root``.

    ``name`` is checked by :func:`check_name` (which already rules out absolute paths, ``..`` and
    separators); the resolved result is compared with the resolved ``root`` as well, so that nothing
    the name could do (now or after a change of rules) places the file elsewhere.
    """
    check_name(name, what)
    root = Path(root)
    path = root / f"{name}{suffix}"
    real_root = root.resolve()
    if path.resolve().parent != real_root:
        raise UserError(f"{what} {name!r} would write {path.resolve()}, outside {real_root}")
    return path
