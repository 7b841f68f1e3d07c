"""A time budget (``training.max_minutes``): the run plans the epochs that fit and resizes its schedule.

The trainer's clock is replaced by a fake one in which every epoch takes a fixed number of seconds, so
the plans are exact and the tests do not depend on the machine's speed.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest
import torch

from asr_train_synth import make_corpus
from toy_task import toy_task
from audiofront.cli.train import build_configs
from audiofront.errors import UserError
from audiofront.training.optim import cosine_factor, epochs_in_budget
from audiofront.training.trainer import TrainConfig, Trainer


def _slow_reference(budget: float, spent: float, done: int, cap: int) -> int:
    """Add epochs of the mean duration one at a time while the next one still ends inside the budget."""
    per = spent / done
    n = done
    while spent + (n - done + 1) * per <= budget + 1e-9 * budget:
        n += 1
    return min(n, cap) if cap > 0 else n


def test_epochs_in_budget_matches_counting_one_epoch_at_a_time():
    rng = random.Random(0)
    for _ in range(500):
        done = rng.randint(1, 30)
        spent = rng.uniform(1.0, 5000.0)
        budget = rng.uniform(0.0, 6000.0)
        cap = rng.choice([0, rng.randint(1, 80)])
        assert epochs_in_budget(budget, spent, done, cap) == _slow_reference(budget, spent, done, cap), (budget, spent, done, cap)
    assert epochs_in_budget(3600, 120, 1) == 30  # exactly 30 epochs of 120 s fill the hour
    assert epochs_in_budget(3600, 4000, 33) == 33  # over the budget: no further epoch
    with pytest.raises(ValueError, match="epochs_done"):
        epochs_in_budget(3600, 0, 0)


def test_max_minutes_option_is_checked():
    assert TrainConfig.from_dict({"max_minutes": "55"}).max_minutes == 55.0
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(UserError, match="max_minutes"):
            TrainConfig.from_dict({"max_minutes": bad})
    with pytest.raises(UserError, match="max_minutes .* and max_steps .* both size the run"):
        TrainConfig.from_dict({"max_minutes": 10, "max_steps": 100})
    with pytest.raises(UserError, match="nothing to train"):  # the budget needs num_epochs as its cap
        TrainConfig.from_dict({"max_minutes": 10, "num_epochs": 0, "max_steps": 0})


def test_max_steps_on_the_command_line_replaces_the_recipes_budget(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: asr\ntraining:\n  num_epochs: 40\n  max_minutes: 55\n")
    _, _, train = build_configs(recipe, None, {}, None, {}, {"max_steps": 100}, {})
    assert "max_minutes" not in train and TrainConfig.from_dict(train).max_steps == 100
    _, _, train = build_configs(recipe, None, {}, None, {}, {"num_epochs": 3}, {})
    assert train["max_minutes"] == 55 and train["num_epochs"] == 3  # --num-epochs is the cap under the budget
    with pytest.raises(UserError, match="both size the run"):  # both given at once: refused
        TrainConfig.from_dict(build_configs(recipe, None, {}, None, {}, {"max_steps": 100, "max_minutes": 5}, {})[2])


@pytest.fixture(scope="module")
def cuts_path(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("budget"), n=12)


class _FakeClock:
    """Each call is one epoch boundary later: every epoch 'takes' ``seconds``."""

    def __init__(self, seconds: float):
        self.ticks = itertools.count()
        self.seconds = seconds

    def __call__(self) -> float:
        return next(self.ticks) * self.seconds


def _train(cuts_path, exp, clock, **overrides):
    cfg = TrainConfig(exp_dir=str(exp), lr=1e-2, progress=False, tensorboard=False, device="cpu", schedule="cosine",
                      warmup_steps=2, log_every=1, average_last=1, **overrides)
    trainer = Trainer(toy_task(cuts_path), cfg)
    trainer.clock = clock
    return trainer


def test_the_run_stops_at_the_planned_epoch_with_the_schedule_decayed(cuts_path, tmp_path):
    exp = tmp_path / "exp"
    # 10 s an epoch, a 45 s budget, at most 20 epochs: 4 epochs fit (the 5th would end at 50 s)
    _train(cuts_path, exp, _FakeClock(10.0), num_epochs=20, max_minutes=0.75).fit()
    epochs = sorted(int(p.stem.split("-")[1]) for p in (exp / "checkpoints").glob("epoch-*.pt"))
    assert epochs == [1, 2, 3, 4]
    last = torch.load(exp / "last.pt", weights_only=True)
    assert last["planned_epochs"] == 4 and last["train_seconds"] == pytest.approx(40.0)
    assert [r["planned_epochs"] for r in last["history"]] == [4, 4, 4, 4]
    log = (exp / "train.log").read_text()
    assert "4 epoch(s) planned" in log
    # the schedule: sized for 20 epochs during the first, then for the 4 planned (steps counted so far)
    per_epoch = last["history"][0]["step"]
    assert [r["step"] for r in last["history"]] == [per_epoch * k for k in (1, 2, 3, 4)]  # the toy's epochs are alike
    assert last["step"] == last["total_steps"] == 4 * per_epoch
    lrs = [float(m) for m in re.findall(r" lr ([0-9.e+-]+) ", log)]
    assert len(lrs) == last["step"]
    want = [1e-2 * cosine_factor(s, 20 * per_epoch if s < per_epoch else 4 * per_epoch, 2) for s in range(len(lrs))]
    assert lrs == pytest.approx(want, rel=5e-3, abs=1e-9)  # the log prints 3 significant digits
    assert lrs[-1] < 0.1 * lrs[per_epoch]  # it decayed to the end of the planned run, not of 20 epochs


def test_the_cap_and_a_finished_run_resumed(cuts_path, tmp_path):
    exp = tmp_path / "exp"
    # a budget for 100 epochs, capped at 3 by num_epochs
    _train(cuts_path, exp, _FakeClock(1.0), num_epochs=3, max_minutes=100 / 60).fit()
    last = torch.load(exp / "last.pt", weights_only=True)
    assert last["epoch"] == 3 and last["planned_epochs"] == 3
    # resuming the finished run trains nothing: the plan comes from the checkpoint, not num_epochs
    exp2 = tmp_path / "exp2"
    _train(cuts_path, exp2, _FakeClock(10.0), num_epochs=20, max_minutes=0.5).fit()  # 3 epochs fit in 30 s
    before = (exp2 / "last.pt").read_bytes()
    _train(cuts_path, exp2, _FakeClock(10.0), num_epochs=20, max_minutes=0.5).fit(resume=True)
    assert (exp2 / "last.pt").read_bytes() == before
    assert not (exp2 / "checkpoints" / "epoch-4.pt").exists()


def test_a_slower_epoch_shrinks_the_plan(cuts_path, tmp_path):
    exp = tmp_path / "exp"
    times = iter([0.0, 10.0, 20.0, 60.0, 70.0, 80.0, 90.0, 100.0])  # the third epoch takes 40 s

    _train(cuts_path, exp, lambda: next(times), num_epochs=20, max_minutes=1.5).fit()
    last = torch.load(exp / "last.pt", weights_only=True)
    # after 1 and 2 epochs: 10 s each, 9 fit in 90 s; after 3: 20 s each on average, 60 s spent, 4 in all
    # ... and after 4: 17.5 s each, 70 s spent, 5 in all; after 5: 16 s each, 80 s spent, none more
    assert [r["planned_epochs"] for r in last["history"]] == [9, 9, 4, 5, 5]
    assert last["epoch"] == 5
    assert "4 epoch(s) planned (was 9)" in (exp / "train.log").read_text()


def test_without_a_budget_nothing_changes(cuts_path, tmp_path):
    exp = tmp_path / "exp"
    _train(cuts_path, exp, _FakeClock(1e6), num_epochs=2).fit()
    last = torch.load(exp / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and last["planned_epochs"] == 0
    assert "time budget" not in (exp / "train.log").read_text()


def test_the_command_line_option_reaches_the_trainer(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from asr_train_synth import make_lang, write_recipe
    from audiofront.cli.main import app

    cuts = make_corpus(tmp_path / "corpus", n=6)
    recipe = write_recipe(tmp_path / "r.yaml", cuts, make_lang(tmp_path / "lang", cuts), num_epochs=2)
    exp = tmp_path / "exp"
    res = CliRunner().invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(exp), "--device", "cpu",
                                   "--max-minutes", "30"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((exp / "config.yaml").read_text())["training"]["max_minutes"] == 30.0
    # a real clock: two epochs of a tiny model fit in 30 minutes many times over, so the cap of 2 holds
    last = torch.load(exp / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and last["planned_epochs"] == 2 and 0 < last["train_seconds"] < 30 * 60
    assert "time budget: 30 min of training" in (exp / "train.log").read_text()
    res = CliRunner().invoke(app, ["train", "--config", str(recipe), "--exp-dir", str(tmp_path / "x"), "--device",
                                   "cpu", "--max-minutes", "-1"])
    assert res.exit_code != 0 and "max_minutes (--max-minutes) must be a number of minutes >= 0" in res.output


def test_a_step_checkpoint_counts_the_unfinished_epochs_time(cuts_path, tmp_path):
    # every step "takes" one second; a run resumed from step-k.pt must know that k seconds are spent,
    # not only the seconds of the epochs finished before it
    task = toy_task(cuts_path)
    now = [0.0]
    loss = task.loss

    def one_second_a_step(model, batch):
        now[0] += 1.0
        return loss(model, batch)

    task.loss = one_second_a_step
    cfg = TrainConfig(exp_dir=str(tmp_path / "exp"), lr=1e-2, progress=False, tensorboard=False, device="cpu",
                      num_epochs=3, max_minutes=100.0, save_every_steps=1, keep_last_steps=0)
    trainer = Trainer(task, cfg)
    trainer.clock = lambda: now[0]
    trainer.fit()
    steps = sorted((tmp_path / "exp" / "checkpoints").glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    per_epoch = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)["history"][0]["step"]
    assert len(steps) == 3 * per_epoch
    for p in steps:
        k = int(p.stem.split("-")[1])
        assert torch.load(p, weights_only=True)["train_seconds"] == pytest.approx(k), p.name
