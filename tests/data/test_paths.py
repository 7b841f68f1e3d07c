"""``utils.paths``: a name taken from data (an utterance or cut id) never makes a path outside its folder."""

from __future__ import annotations

import os

import pytest

from audiofront.errors import UserError
from audiofront.utils.paths import check_name, path_in_dir


@pytest.mark.parametrize("good", ["1272-128104-0000", "0_1_1_0", "guitar_acoustic_010-066-100", "a..b", "...", ".hidden"])
def test_plain_names_are_accepted(tmp_path, good):
    assert check_name(good) == good
    path = path_in_dir(tmp_path, good, ".npy")
    assert path == tmp_path / f"{good}.npy" and path.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize(
    "bad, why",
    [
        ("..", "relative path"),
        (".", "relative path"),
        ("../victim", "separator"),
        ("../../../../victim/target", "separator"),
        ("/etc/passwd", "separator"),  # absolute: starts with a separator
        ("a/b", "separator"),
        ("a\0b", "NUL"),
        ("", "empty"),
    ],
)
def test_names_that_leave_the_folder_are_refused(tmp_path, bad, why):
    with pytest.raises(UserError, match=why):
        check_name(bad, "cut id")
    with pytest.raises(UserError, match="cut id"):
        path_in_dir(tmp_path, bad, ".npy", what="cut id")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside / "target.npy", root / "x.npy")
    with pytest.raises(UserError, match="outside"):
        path_in_dir(root, "x", ".npy")
