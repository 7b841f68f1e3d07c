"""Reading the text files that ``audiofront score`` is given, with one clear error for each way they fail.

A hypothesis or prediction file that is missing, a folder, or not UTF-8 (a binary file, a Latin-1 transcript)
ends in a :class:`~audiofront.errors.UserError` naming the file and, for bad bytes, where they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def read_text(path: str | os.PathLike, what: str) -> str:
    """The whole of ``path`` decoded as UTF-8; ``what`` names the file for the user (e.g. ``"--hyp"``)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what}: {path} does not exist")
    if not path.is_file():
        raise UserError(f"{what}: {path} is not a file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UserError(
            f"{what}: {path} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}, line {line}); "
            "expected UTF-8 text"
        ) from None
