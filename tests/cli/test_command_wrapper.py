"""The wrapper every command runs in (``audiofront.cli.main._report_user_errors``): a UserError is one line and
exit 2, an OSError one line and exit 1, a bug keeps its exception, and ``--debug`` re-raises everything."""

from __future__ import annotations

import errno

import pytest
import typer
from typer.testing import CliRunner

from audiofront.cli.main import EXIT_OS_ERROR, EXIT_USER_ERROR, _wrap_commands, app
from audiofront.errors import UserError


def _app():
    t = typer.Typer()

    @t.command("bad-value")
    def bad_value() -> None:
        raise UserError("--size must be > 0, got -3")

    @t.command("no-space")
    def no_space() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out.pt")

    @t.command("denied")
    def denied() -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/ro/exp")

    @t.command("bug")
    def bug() -> None:
        raise KeyError("a bug")

    _wrap_commands(t)
    _wrap_commands(t)  # wrapping twice must not nest the handlers
    return t


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("AUDIOFRONT_DEBUG", raising=False)


@pytest.mark.parametrize(
    "command, code, line",
    [
        ("bad-value", EXIT_USER_ERROR, "error: --size must be > 0, got -3"),
        ("no-space", EXIT_OS_ERROR, "error: no space left on device while writing /data/out.pt"),
        ("denied", EXIT_OS_ERROR, "error: /ro/exp: Permission denied"),
    ],
)
def test_user_and_os_errors_are_one_line(command, code, line):
    res = CliRunner().invoke(_app(), [command])
    assert res.exit_code == code
    assert res.output.strip().splitlines() == [line]
    assert isinstance(res.exception, SystemExit)


def test_a_bug_keeps_its_exception():
    res = CliRunner().invoke(_app(), ["bug"])
    assert isinstance(res.exception, KeyError)  # CliRunner caught it; the real CLI prints its traceback


def test_debug_environment_re_raises(monkeypatch):
    monkeypatch.setenv("AUDIOFRONT_DEBUG", "1")
    res = CliRunner().invoke(_app(), ["bad-value"])
    assert isinstance(res.exception, UserError)
    res = CliRunner().invoke(_app(), ["denied"])
    assert isinstance(res.exception, PermissionError)


def test_every_registered_command_is_wrapped():
    def walk(t):
        for info in t.registered_commands:
            yield info
        for group in t.registered_groups:
            yield from walk(group.typer_instance)

    infos = list(walk(app))
    assert len(infos) >= 8
    unwrapped = [info.name or info.callback.__name__ for info in infos if not getattr(info.callback, "_audiofront_wrapped", False)]
    assert not unwrapped, f"commands outside the error wrapper: {unwrapped}"


def test_debug_option_shows_the_traceback_through_the_real_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOFRONT_DEBUG", "0")  # restored afterwards: --debug sets it for the process
    args = ["score", "--hyp", str(tmp_path / "missing"), "--ref", str(tmp_path / "missing"), "--out-dir", str(tmp_path)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == EXIT_USER_ERROR and res.output.startswith("error: ")
    res = CliRunner().invoke(app, ["--debug"] + args)
    assert isinstance(res.exception, UserError) and "missing" in str(res.exception)


def test_debug_prints_the_traceback_in_a_real_process(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AUDIOFRONT_DEBUG"}
    args = ["score", "--hyp", str(tmp_path / "missing"), "--ref", str(tmp_path / "missing"), "--out-dir", str(tmp_path)]

    def cli(*extra):
        return subprocess.run([sys.executable, "-m", "audiofront.cli.main", *extra, *args], capture_output=True,
                              text=True, env=env, timeout=120)

    plain, debug = cli(), cli("--debug")
    assert plain.returncode == EXIT_USER_ERROR and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == [f"error: --ref: {tmp_path / 'missing'} does not exist"]
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "UserError" in debug.stderr


def test_a_user_error_from_a_dataloader_worker_is_still_one_line():
    # torch re-raises a worker's exception with the worker's traceback in its message: keep only the message
    from torch.utils.data import DataLoader, Dataset

    from audiofront.cli.main import _user_message

    class Bad(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            raise UserError("could not load audio of cut c1: no such file")

    with pytest.raises(UserError) as caught:
        next(iter(DataLoader(Bad(), num_workers=1)))
    assert "Traceback" in str(caught.value)  # what torch does
    assert _user_message(caught.value) == "could not load audio of cut c1: no such file"
    assert _user_message(UserError("plain")) == "plain"
