"""Checkpoint files as they are found on disk: corrupt, empty, left half-written, of an older version,
written to a full disk. Each test builds the broken state the way it happens and checks the report."""

from __future__ import annotations

import errno
import io
import random
import shutil

import numpy as np
import pytest
import torch

from asr_train_synth import make_corpus
from toy_task import toy_task
from audiofront.errors import UserError
from audiofront.training.checkpoint import (
    UnreadableCheckpointError,
    UnsafeCheckpointError,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from audiofront.training.trainer import TrainConfig, Trainer
from audiofront.utils import io as io_mod


@pytest.fixture(scope="module")
def cuts_path(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("ckfiles"), n=12)


def _cfg(exp, **kw):
    return TrainConfig(exp_dir=str(exp), num_epochs=3, lr=1e-2, progress=False, tensorboard=False, device="cpu",
                       save_every_steps=2, keep_last_steps=0, log_every=1000, **kw)


@pytest.fixture(scope="module")
def reference_run(cuts_path, tmp_path_factory):
    """An uninterrupted three-epoch toy run with a step checkpoint every 2 steps (all kept)."""
    exp = tmp_path_factory.mktemp("ref") / "exp"
    Trainer(toy_task(cuts_path), _cfg(exp)).fit()
    return exp


def test_rng_state_is_plain_data_and_round_trips(tmp_path):
    state = rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(3))
    path = tmp_path / "rng.pt"
    torch.save({"rng": state}, path)
    set_rng_state(torch.load(path, weights_only=True)["rng"])  # loads with no allowlist at all
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert again[:2] == expected[:2] and torch.equal(again[2], expected[2])


def test_older_checkpoint_with_a_numpy_rng_state_still_resumes(tmp_path):
    """Checkpoints written before this change hold np.random.get_state() (an ndarray) as it is."""
    np.random.seed(11)
    old_state = np.random.get_state()
    expected = np.random.rand(4)
    path = tmp_path / "old.pt"
    torch.save({"model": {}, "rng": {"python": random.getstate(), "numpy": old_state, "torch": torch.get_rng_state()}}, path)
    loaded = read_checkpoint(path)
    assert isinstance(loaded["rng"]["numpy"]["keys"], torch.Tensor)  # converted on reading
    set_rng_state(loaded["rng"])
    assert np.array_equal(np.random.rand(4), expected)
    # the allowlist is for that one place: an ndarray anywhere else, or one of objects, is refused
    torch.save({"model": {}, "stats": np.zeros(3, dtype=np.uint32)}, tmp_path / "nd.pt")
    with pytest.raises(UnsafeCheckpointError, match="NumPy arrays at /stats"):
        read_checkpoint(tmp_path / "nd.pt")
    torch.save({"model": {}, "rng": {"numpy": ("MT19937", np.array([1, "x"], dtype=object), 0, 0, 0.0)}}, tmp_path / "obj.pt")
    with pytest.raises(UnsafeCheckpointError, match="ObjectDType"):
        read_checkpoint(tmp_path / "obj.pt")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"not a zip file at all", "could not read checkpoint"),
        (None, "could not read checkpoint"),  # a real checkpoint cut in half
    ],
)
def test_unreadable_files_get_one_line(tmp_path, content, message):
    path = tmp_path / "x.pt"
    if content is None:
        torch.save({"model": {"w": torch.randn(1000)}}, path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(UnreadableCheckpointError, match=message) as e:
        read_checkpoint(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UnreadableCheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")


def test_saving_refuses_what_could_not_be_loaded_safely(tmp_path):
    with pytest.raises(TypeError, match="/task/config/scale: numpy.float64"):
        save_checkpoint({"task": {"config": {"scale": np.float64(0.5)}}}, tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def _resume_from_damaged_copy(reference_run, tmp_path, damage):
    """A run folder holding the reference's step checkpoints up to step 4, damaged by ``damage``."""
    exp = tmp_path / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    for n in (2, 4, 6):
        shutil.copy(reference_run / "checkpoints" / f"step-{n}.pt", exp / "checkpoints" / f"step-{n}.pt")
    damage(exp)
    return exp


def test_resume_falls_back_to_the_newest_readable_checkpoint(reference_run, cuts_path, tmp_path):
    def damage(exp):
        (exp / "last.pt").write_bytes(b"")  # killed while the disk was being flushed, say
        six = exp / "checkpoints" / "step-6.pt"
        six.write_bytes(six.read_bytes()[:5000])  # truncated
        # the temporary files that writes killed mid-way leave behind
        (exp / ".last.pt.k3j4h5g6.tmp").write_bytes(b"partial")
        (exp / "checkpoints" / ".step-8.pt.a1b2c3d4.tmp").write_bytes(b"partial")

    exp = _resume_from_damaged_copy(reference_run, tmp_path, damage)
    Trainer(toy_task(cuts_path), _cfg(exp)).fit(resume=True)
    log = (exp / "train.log").read_text()
    assert "resuming from" in log and "step-4.pt" in log, log
    assert "last.pt: the file is empty" in log and "step-6.pt" in log  # and why the newer ones were skipped
    assert "removed 2 unfinished checkpoint write(s)" in log
    assert not list(exp.rglob("*.tmp"))
    # resumed from step 4, it ends exactly where the uninterrupted run ended
    ref, out = (torch.load(d / "last.pt", weights_only=True) for d in (reference_run, exp))
    assert out["step"] == ref["step"] > 6
    for k in ref["model"]:
        assert torch.equal(out["model"][k], ref["model"][k]), k


def test_resume_with_no_readable_checkpoint_names_every_file(cuts_path, tmp_path):
    exp = tmp_path / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    (exp / "last.pt").write_bytes(b"")
    (exp / "checkpoints" / "step-2.pt").write_bytes(b"garbage")
    with pytest.raises(UnreadableCheckpointError, match=r"no checkpoint in .* can be read: .*last\.pt.*step-2\.pt"):
        Trainer(toy_task(cuts_path), _cfg(exp)).fit(resume=True)
    assert (exp / "last.pt").exists() and (exp / "checkpoints" / "step-2.pt").exists()  # nothing deleted


def test_resume_without_a_resumable_checkpoint_is_refused(cuts_path, tmp_path):
    """Only decoding checkpoints (avg.pt, epoch-N.pt): starting from scratch would mix two runs."""
    exp = tmp_path / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    torch.save({"model": {}}, exp / "checkpoints" / "epoch-1.pt")
    with pytest.raises(UserError, match="neither last.pt nor checkpoints/step-N.pt"):
        Trainer(toy_task(cuts_path), _cfg(exp)).fit(resume=True)
    with pytest.raises(UserError, match="contradict"):
        Trainer(toy_task(cuts_path), _cfg(exp)).fit(resume=True, overwrite=True)


class _FullDisk(io.FileIO):
    """A file on a disk with ``room`` bytes left: the write that does not fit fails with ENOSPC."""

    room = 0

    def write(self, b):
        if len(b) > _FullDisk.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        _FullDisk.room -= len(b)
        return super().write(b)


@pytest.mark.parametrize("room", [0, 3000])  # full from the first byte, or in the middle of the tensors
def test_full_disk_says_so_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch, room):
    path = tmp_path / "exp" / "last.pt"
    save_checkpoint({"model": {"w": torch.zeros(10)}}, path)
    before = path.read_bytes()
    real_open = open
    monkeypatch.setattr(io_mod, "open", lambda f, mode="r", *a, **k: _FullDisk(f, mode) if mode == "wb" else real_open(f, mode, *a, **k),
                        raising=False)
    _FullDisk.room = room
    with pytest.raises(io_mod.DiskFullError) as e:
        save_checkpoint({"model": {"w": torch.randn(100_000)}}, path)
    msg = str(e.value)
    assert msg.startswith("no space left on ") and f"while writing {path}; the previous checkpoint is intact" in msg
    assert "inline_container" not in msg and "\n" not in msg
    assert isinstance(e.value, OSError) and e.value.__cause__.errno == errno.ENOSPC
    assert path.read_bytes() == before and not list(path.parent.glob("*.tmp"))
    _FullDisk.room = 0
    with pytest.raises(io_mod.DiskFullError, match="no checkpoint was written"):
        save_checkpoint({"model": {}}, tmp_path / "exp" / "new.pt")


def test_full_disk_during_training_is_one_line_from_the_command(tmp_path, monkeypatch):
    """Through ``audiofront train``: exit 1, one line, no torch traceback."""
    from typer.testing import CliRunner

    from asr_train_synth import make_lang, write_recipe
    from audiofront.cli.main import app

    cuts = make_corpus(tmp_path / "corpus", n=4)
    recipe = write_recipe(tmp_path / "r.yaml", cuts, make_lang(tmp_path / "lang", cuts), max_steps=2, save_every_steps=1)
    real_open = open
    monkeypatch.setattr(io_mod, "open", lambda f, mode="r", *a, **k: _FullDisk(f, mode) if mode == "wb" else real_open(f, mode, *a, **k),
                        raising=False)
    _FullDisk.room = 0
    result = CliRunner().invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(tmp_path / "exp"), "--device", "cpu"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "no space left on" in lines[0] and "step-1.pt" in lines[0], result.stderr
    assert "Traceback" not in result.output and "inline_container" not in result.output


def test_rerunning_the_command_never_loses_a_finished_run(tmp_path):
    """The issue's case: ``audiofront train`` run again, twice, in the folder of a finished run."""
    from typer.testing import CliRunner

    from asr_train_synth import make_lang, write_recipe
    from audiofront.cli.main import app

    cuts = make_corpus(tmp_path / "corpus", n=4)
    recipe = write_recipe(tmp_path / "r.yaml", cuts, make_lang(tmp_path / "lang", cuts), num_epochs=1)
    exp = tmp_path / "exp"
    cmd = ["train", "--config", str(recipe), "--exp-dir", str(exp), "--device", "cpu"]
    runner = CliRunner()
    assert runner.invoke(app, cmd).exit_code == 0
    first = {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*") if p.is_file()}
    assert any(p.suffix == ".pt" for p in first)

    for _ in range(2):
        again = runner.invoke(app, cmd)
        assert again.exit_code == 2, again.output
        assert "already holds a training run" in again.stderr and "--overwrite" in again.stderr
        assert {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*") if p.is_file()} == first  # config.yaml too

    for n in (1, 2):
        over = runner.invoke(app, [*cmd, "--overwrite"])
        assert over.exit_code == 0, over.output
        backup = tmp_path / f"exp.bak{n}"
        assert f"moved the earlier run in {exp} to {backup}" in over.stderr
        assert (exp / "avg.pt").is_file() and (backup / "avg.pt").is_file()
    # the first run, byte for byte, in the first backup; the second run in the second
    assert {p.relative_to(tmp_path / "exp.bak1"): p.read_bytes() for p in (tmp_path / "exp.bak1").rglob("*") if p.is_file()} == first
    assert not (tmp_path / "exp.bak3").exists()


def test_a_config_value_a_checkpoint_cannot_hold_is_refused_before_training(cuts_path, tmp_path):
    import datetime

    task = toy_task(cuts_path)
    task.config["note"] = datetime.date(2024, 1, 1)  # what YAML makes of `note: 2024-01-01`
    with pytest.raises(UserError, match="/task/config/note: datetime.date"):
        Trainer(task, _cfg(tmp_path / "exp")).fit()
    assert not list((tmp_path / "exp").rglob("*.pt"))
