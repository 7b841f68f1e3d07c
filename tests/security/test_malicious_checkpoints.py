"""A checkpoint is a pickle, and unpickling can run any code: every way audiofront reads one must refuse a
file that carries a payload, before the payload runs.

The payload, as a hostile user would plant it: an object whose ``__reduce__`` calls ``os.system`` to create
a marker file. Each test feeds it to one entry point of the command line (or the library function behind
it) and checks that the command exits 2 with one line naming the file, and that the marker never appears.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))  # the synthetic corpus helpers
from asr_train_synth import make_corpus, make_lang, write_recipe  # noqa: E402

from audiofront.cli.main import app  # noqa: E402
from audiofront.training.checkpoint import UnsafeCheckpointError  # noqa: E402

runner = CliRunner()


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _plant(path: Path, marker: Path, base: dict | None = None) -> Path:
    """Write ``base`` (default: a bare checkpoint-looking dict) with one extra key holding the payload."""
    obj = dict(base) if base is not None else {"frontend": {"name": "leaf", "config": {}}, "model": {}}
    obj["extra"] = _Payload(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def _refused(result, bad: Path, marker: Path) -> None:
    assert not marker.exists(), "the checkpoint's payload ran"
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refusing to load checkpoint" in errors[0] and str(bad) in errors[0], result.stderr
    assert "posix.system" in errors[0]  # names what the file asked for
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real, finished one-epoch ASR run (``audiofront train``): ``(root, recipe, exp)``."""
    root = tmp_path_factory.mktemp("sec")
    cuts = make_corpus(root / "corpus", n=4)
    recipe = write_recipe(root / "recipe.yaml", cuts, make_lang(root / "lang", cuts), num_epochs=1)
    exp = root / "exp"
    result = runner.invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(exp), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return root, recipe, exp


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "PAYLOAD_RAN"
    # the payload is live: run the way an unrestricted unpickler would, it creates the marker
    func, args = _Payload(m).__reduce__()
    func(*args)
    assert m.exists()
    m.unlink()
    return m


def test_inspect_filters_refuses(tmp_path, marker):
    bad = _plant(tmp_path / "BAD.pt", marker)
    _refused(runner.invoke(app, ["inspect-filters", str(bad)]), bad, marker)


def test_inspect_filters_compare_refuses(tmp_path, marker):
    bad = _plant(tmp_path / "BAD.pt", marker)
    _refused(runner.invoke(app, ["inspect-filters", "leaf", "--compare", str(bad)]), bad, marker)


@pytest.mark.parametrize("command", ["decode", "evaluate"])
def test_checkpoint_command_refuses(command, trained, tmp_path, marker):
    root, _, _ = trained
    bad = _plant(tmp_path / "BAD.pt", marker)
    result = runner.invoke(app, [command, "--checkpoint", str(bad), "--cuts", str(root / "corpus" / "cuts.jsonl.gz"),
                                 "--out-dir", str(tmp_path / "out")])
    _refused(result, bad, marker)


def test_train_resume_refuses_a_planted_last_pt(trained, tmp_path, marker):
    _, recipe, _ = trained
    exp = tmp_path / "exp"
    bad = _plant(exp / "last.pt", marker)
    result = runner.invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(exp), "--device", "cpu", "--resume"])
    _refused(result, bad, marker)


def test_averaging_refuses_a_planted_epoch_checkpoint(trained, tmp_path, marker):
    """``train --resume`` of a finished run re-averages its last epoch checkpoints: plant one among them."""
    import shutil

    _, recipe, exp = trained
    copy = tmp_path / "exp"
    shutil.copytree(exp, copy)
    good = torch.load(copy / "checkpoints" / "epoch-1.pt", weights_only=True)
    bad = _plant(copy / "checkpoints" / "epoch-2.pt", marker, base=good)
    result = runner.invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(copy), "--device", "cpu", "--resume"])
    _refused(result, bad, marker)

    from audiofront.training.averaging import average_checkpoints

    with pytest.raises(UnsafeCheckpointError, match="posix.system"):
        average_checkpoints([copy / "checkpoints" / "epoch-1.pt", bad], tmp_path / "avg.pt")
    assert not marker.exists() and not (tmp_path / "avg.pt").exists()


def test_a_real_checkpoint_with_one_extra_key_is_refused(trained, tmp_path, marker):
    """The issue's case: a genuine avg.pt that decodes normally, plus one key holding the payload."""
    root, _, exp = trained
    good = torch.load(exp / "avg.pt", weights_only=True)
    bad = _plant(tmp_path / "avg.pt", marker, base=good)
    cuts = str(root / "corpus" / "cuts.jsonl.gz")
    ok = runner.invoke(app, ["decode", "--checkpoint", str(exp / "avg.pt"), "--cuts", cuts, "--out-dir", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output  # the genuine one decodes
    _refused(runner.invoke(app, ["decode", "--checkpoint", str(bad), "--cuts", cuts, "--out-dir", str(tmp_path / "d")]),
             bad, marker)
    _refused(runner.invoke(app, ["inspect-filters", str(bad)]), bad, marker)

    from audiofront.tasks import load_model

    with pytest.raises(UnsafeCheckpointError):
        load_model(bad)
    assert not marker.exists()
