"""``audiofront train`` with bad input (issue 9 items 5, 7, 10, 12): one ``error:`` line naming the value, a
non-zero exit and no traceback; zero-step runs and runs whose loss stays NaN are refused instead of
"succeeding"."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from audiofront.errors import UserError
from audiofront.frontends import build_frontend
from audiofront.tasks.base import Task
from audiofront.training.trainer import NonFiniteLossError, TrainConfig, Trainer
from cli_helpers import asr, assert_one_line_error, run, tones, write_tones  # noqa: F401 - fixtures

CLASSIFY = ["train", "--task", "classify", "--frontend", "mel", "--set", "label=tone", "--set", "encoder=mlp",
            "--no-progress", "--set", "training.tensorboard=false"]


def asr_args(asr):
    cuts, lang = asr
    return ["train", "--task", "asr", "--frontend", "fbank", "--lang-dir", lang, "--train-cuts", cuts, "--no-progress",
            "--set", "encoder_conf.num_layers=1", "--set", "encoder_conf.d_model=32", "--set", "training.tensorboard=false"]


# ---- item 7: zero training steps ---------------------------------------------------------------------
def test_fewer_clips_than_one_batch_is_refused(tones, tmp_path):
    res = run(CLASSIFY + ["--train-cuts", tones, "--set", "batch_size=16", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "9 training clips", str(tones), "batch of 16", "batch_size")
    assert not (tmp_path / "e" / "avg.pt").exists()


@pytest.mark.parametrize(
    "options, words",
    [
        (["--max-steps", "-1", "--num-epochs", "0"], ["max_steps", "-1"]),
        (["--num-epochs", "0"], ["nothing to train", "--num-epochs 0"]),
        (["--num-epochs", "-2"], ["num_epochs", "-2"]),
        (["--lr", "0"], ["lr", "0"]),
        # would divide by zero or fail in torch mid-run, after --overwrite had moved the earlier run aside
        (["--set", "training.div_factor=0"], ["div_factor", "> 0"]),
        (["--set", "training.final_div_factor=0"], ["final_div_factor", "> 0"]),
        (["--set", "training.betas=[0.9,1.5]"], ["betas", "[0, 1)"]),
        (["--set", "training.pct_start=2"], ["pct_start", "[0, 1]"]),
        (["--set", "training.weight_decay=-1"], ["weight_decay", ">= 0"]),
        (["--set", "training.grad_clip=nan"], ["grad_clip", "finite"]),
    ],
)
def test_settings_that_train_nothing_are_refused(tones, tmp_path, options, words):
    res = run(CLASSIFY + ["--train-cuts", tones, "--set", "batch_size=4", "--exp-dir", tmp_path / "e"] + options)
    assert_one_line_error(res, *words)
    assert not (tmp_path / "e").exists()  # refused before anything is written


class _ListLoader:
    """The smallest resumable loader the trainer accepts: the same batches every epoch."""

    def __init__(self, batches):
        self.batches, self.epoch = batches, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def count_batches(self, epoch=None):
        return len(self.batches)

    def __iter__(self):
        yield from self.batches

    def state_dict(self):
        return {"epoch": self.epoch}

    def load_state_dict(self, sd):
        self.epoch = sd["epoch"]


class _ScaleTask(Task):
    """loss = mean((w * x)^2) over a batch ``x``: NaN exactly when the batch holds a NaN."""

    name = "scale-test"

    def __init__(self, batches):
        super().__init__({})
        self.batches = batches

    def build_model(self):
        model = nn.Module()
        model.frontend = build_frontend("mel")
        model.w = nn.Parameter(torch.ones(1))
        return model

    def train_loader(self, world_size=1, rank=0):
        return _ListLoader(self.batches)

    def loss(self, model, batch):
        return ((model.w * batch["x"]) ** 2).mean(), {}


def _fit(tmp_path, batches, task=None, **cfg):
    cfg = {"exp_dir": str(tmp_path / "exp"), "num_epochs": 1, "progress": False, "tensorboard": False, **cfg}
    return Trainer((task or _ScaleTask)(batches), TrainConfig(**cfg)).fit()


def test_a_loader_without_batches_is_refused_before_training(tmp_path):
    with pytest.raises(UserError, match="make no batch"):
        _fit(tmp_path, [])
    # with max_steps the schedule does not count batches: the empty first epoch is still refused
    with pytest.raises(UserError, match="make no batch in epoch 0"):
        _fit(tmp_path, [], max_steps=3, num_epochs=0)
    assert not (tmp_path / "exp" / "last.pt").exists()


# ---- item 5: a loss that stays non-finite ------------------------------------------------------------
def test_training_stops_after_consecutive_non_finite_losses(tmp_path):
    nan = {"x": torch.full((4,), float("nan"))}
    with pytest.raises(NonFiniteLossError, match="not finite for 3 consecutive steps") as info:
        _fit(tmp_path, [nan] * 10, max_nonfinite_steps=3)
    assert isinstance(info.value, UserError)
    assert "step 2 " in str(info.value)  # steps 0, 1, 2: stopped at the third, not after all ten
    assert not (tmp_path / "exp" / "last.pt").exists()


def test_isolated_non_finite_losses_are_skipped_and_training_finishes(tmp_path):
    ok, nan = {"x": torch.ones(4)}, {"x": torch.full((4,), float("inf"))}
    w0 = torch.ones(1)
    out = _fit(tmp_path, [ok, nan, nan, ok, nan, ok], max_nonfinite_steps=3)
    state = torch.load(out, map_location="cpu", weights_only=True)["model"]
    # three good steps moved w towards 0; the skipped ones did not turn it into NaN
    assert torch.isfinite(state["w"]).all() and float(state["w"]) < float(w0)


class _NormTask(_ScaleTask):
    """A batch-norm layer and a step counter in the model: the buffers a forward pass changes."""

    def build_model(self):
        model = super().build_model()
        model.norm = nn.BatchNorm1d(1)
        model.register_buffer("seen", torch.zeros((), dtype=torch.long))
        return model

    def loss(self, model, batch):
        model.seen += 1
        y = model.norm(batch["x"].view(-1, 1)).view(-1)
        return ((model.w * y) ** 2).mean() + (model.w * batch["x"]).mean() ** 2, {}


def test_a_skipped_step_leaves_the_buffers_as_they_were(tmp_path):
    ok, nan = {"x": torch.arange(4.0)}, {"x": torch.full((4,), float("nan"))}
    out = _fit(tmp_path, [ok, nan, ok, nan, nan], task=_NormTask, max_nonfinite_steps=3)
    state = torch.load(out, map_location="cpu", weights_only=True)["model"]
    # the NaN batches went through the batch norm in training mode, which would have left NaN statistics
    assert torch.isfinite(state["norm.running_mean"]).all() and torch.isfinite(state["norm.running_var"]).all()
    assert int(state["seen"]) == 2 and int(state["norm.num_batches_tracked"]) == 2  # the two finite steps only


def test_nan_audio_stops_training_naming_the_cut(tmp_path):
    write_tones(tmp_path, nan_clip=4).to_file(tmp_path / "cuts.jsonl.gz")
    res = run(CLASSIFY + ["--train-cuts", tmp_path / "cuts.jsonl.gz", "--set", "batch_size=9",
                          "--exp-dir", tmp_path / "e"])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    last = res.output.strip().splitlines()[-1]  # training had started: its log lines come first
    assert last.startswith("error: ") and "NaN" in last and "(cut mid_1)" in last, last
    assert not (tmp_path / "e" / "avg.pt").exists()


# ---- item 10: every user error is one line -----------------------------------------------------------
def test_bad_cuts_manifests_are_one_line(tones, tmp_path):
    (tmp_path / "empty.jsonl.gz").write_bytes(b"")
    (tmp_path / "garbage.jsonl.gz").write_bytes(os.urandom(200))
    (tmp_path / "plain.jsonl").write_text('{"a": 1}\n')
    for name, words in [("missing.jsonl.gz", ["does not exist"]), ("empty.jsonl.gz", ["is empty"]),
                        ("garbage.jsonl.gz", ["not a readable"]), ("plain.jsonl", ["plain.jsonl"])]:
        res = run(CLASSIFY + ["--train-cuts", tmp_path / name, "--exp-dir", tmp_path / "e"])
        assert_one_line_error(res, "--train-cuts", name, *words)


def test_repeated_cut_ids_are_refused(tones, tmp_path):
    from lhotse import CutSet

    cuts = CutSet.from_file(tones).to_eager()
    first = next(iter(cuts))
    CutSet.from_cuts(list(cuts) + [first]).to_file(tmp_path / "dup.jsonl.gz")
    res = run(CLASSIFY + ["--train-cuts", tmp_path / "dup.jsonl.gz", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "dup.jsonl.gz", "repeats cut ids", first.id)


@pytest.mark.parametrize(
    "options, words",
    [
        (["--frontend-conf", "n_filters=abc"], ["n_filters", "abc"]),
        (["--frontend-conf", "colour=3"], ["colour"]),
        (["--frontend-conf", "nonsense"], ["nonsense"]),
        (["--frontend", "nope"], ["unknown frontend", "nope"]),
        (["--set", "training.colour=1"], ["colour"]),
        (["--set", "batch_size=0"], ["batch_size", "0"]),
        (["--device", "tpu"], ["--device", "tpu"]),
    ],
)
def test_bad_options_are_one_line(tones, tmp_path, options, words):
    res = run(CLASSIFY + ["--train-cuts", tones, "--exp-dir", tmp_path / "e"] + options)
    assert_one_line_error(res, *words)


def test_asr_max_duration_and_lang_dir_are_one_line(asr, tmp_path):
    res = run(asr_args(asr) + ["--max-duration", "0", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "--max-duration", "0")
    res = run(asr_args(asr) + ["--max-duration", "0.3", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "--train-cuts", "max_duration=0.3")
    args = asr_args(asr)
    args[args.index("--lang-dir") + 1] = str(tmp_path / "no-lang")
    assert_one_line_error(run(args + ["--exp-dir", tmp_path / "e"]), "--lang-dir", "no-lang")


def test_yaml_syntax_error_names_file_and_line(tones, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("task: classify\nfrontend: mel\n  label: [tone\n")
    res = run(["train", "--config", recipe, "--train-cuts", tones, "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "--config", f"{recipe}:3:", "not valid YAML")
    recipe.write_text("- a list\n")
    assert_one_line_error(run(["train", "--config", recipe, "--exp-dir", tmp_path / "e"]), "must hold a mapping")
    missing = tmp_path / "nope.yaml"
    assert_one_line_error(run(["train", "--config", missing, "--exp-dir", tmp_path / "e"]), str(missing), "does not exist")
    conf = tmp_path / "frontend.yaml"
    conf.write_text("n_filters: 40\nmin_hz: [60\n")
    res = run(CLASSIFY + ["--train-cuts", tones, "--frontend-conf", conf, "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, f"{conf}:3:", "not valid YAML")
    res = run(CLASSIFY + ["--train-cuts", tones, "--frontend-conf", "min_hz=[60", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "min_hz=[60")


def test_unwritable_exp_dir_is_one_line(tones, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    res = run(CLASSIFY + ["--train-cuts", tones, "--set", "batch_size=4", "--exp-dir", blocker / "exp"])
    assert_one_line_error(res, "--exp-dir", str(blocker / "exp"))
    # a read-only folder (simulated: the tests may run as root, who may write anywhere)
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) and mode & os.W_OK else real_access(p, mode))
    res = run(CLASSIFY + ["--train-cuts", tones, "--set", "batch_size=4", "--exp-dir", ro])
    assert_one_line_error(res, "--exp-dir", str(ro), "not writable")


def test_cuda_without_a_gpu_is_one_line(tones, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    res = run(CLASSIFY + ["--train-cuts", tones, "--device", "cuda", "--exp-dir", tmp_path / "e"])
    assert_one_line_error(res, "--device cuda", "no CUDA GPU")


def test_debug_shows_the_traceback(tones, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOFRONT_DEBUG", "0")  # restored afterwards: --debug sets it for the process
    from typer.testing import CliRunner

    from audiofront.cli.main import app

    args = ["--debug"] + CLASSIFY + ["--train-cuts", str(tmp_path / "missing.jsonl.gz"), "--exp-dir", str(tmp_path / "e")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0
    assert isinstance(res.exception, UserError) and "missing.jsonl.gz" in str(res.exception)


def test_resuming_with_another_model_is_one_line(tones, tmp_path):
    args = CLASSIFY + ["--train-cuts", tones, "--set", "batch_size=4", "--exp-dir", tmp_path / "e", "--num-epochs", "1"]
    first = run(args)
    assert first.exit_code == 0, first.output
    before = {name: (tmp_path / "e" / name).read_bytes() for name in ("last.pt", "config.yaml")}
    res = run(args + ["--resume", "--num-epochs", "2", "--set", "encoder_conf.hidden=7"])
    assert_one_line_error(res, "--resume", "last.pt", "another model", "--overwrite")
    # the run is as it was: its checkpoint, and its config.yaml still describes the options it was trained with
    assert {name: (tmp_path / "e" / name).read_bytes() for name in before} == before
