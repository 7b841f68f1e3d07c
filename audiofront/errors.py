"""The one exception type for bad input, and how the command line reports it.

Anything a user can get wrong (a missing or malformed file, an out-of-range option, a checkpoint of
the wrong kind) raises :class:`UserError` (or a subclass) with a message that names the file or value
and says what was expected. The CLI prints that message as one line and exits non-zero; a traceback is
shown only for bugs, or for every error with ``audiofront --debug``.

    >>> from audiofront.errors import UserError
    >>> raise UserError("--max-duration must be > 0, got 0")
    Traceback (most recent call last):
    ...
    audiofront.errors.UserError: --max-duration must be > 0, got 0

``UserError`` is a ``ValueError`` so that library callers who already catch ``ValueError`` keep working.
"""

from __future__ import annotations

import errno
from typing import Optional


class UserError(ValueError):
    """Bad input from the user; the message is the whole report (one line, names the file or value)."""


def describe_os_error(e: OSError, path: Optional[str] = None) -> str:
    """One line for an operating-system error, naming the file (and the device when the disk is full)."""
    where = path or e.filename
    if e.errno == errno.ENOSPC:
        return f"no space left on device while writing {where}" if where else "no space left on device"
    reason = e.strerror or str(e)
    return f"{where}: {reason}" if where else reason
