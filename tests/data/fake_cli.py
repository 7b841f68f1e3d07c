"""A stand-in ``audiofront`` on ``PATH`` for the recipe tests: it records each call's arguments, one line per
call, and then runs the shell lines a test gives it (to leave the files a stage reads next)."""

from __future__ import annotations

import os
from pathlib import Path

# shell lines for the stand-in: touch the file after --png, print a file after --json
TOUCH_PNG = 'while [ $# -gt 0 ]; do [ "$1" = --png ] && touch "$2"; shift; done'


def print_on_json(path: Path) -> str:
    return f'for a in "$@"; do [ "$a" = --json ] && cat {path}; done'


def fake_audiofront(tmp_path: Path, *shell_lines: str) -> tuple[dict[str, str], Path]:
    """Write ``tmp_path/bin/audiofront``; returns the environment that finds it first, and the calls file."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    script = bindir / "audiofront"
    script.write_text("#!/usr/bin/env bash\n" + f'echo "$*" >> {calls}\n' + "".join(line + "\n" for line in shell_lines))
    script.chmod(0o755)
    return dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}"), calls
