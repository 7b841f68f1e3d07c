"""Trainer parts: resumable data position, one-cycle schedule, checkpoint averaging, config merging."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from asr_train_synth import make_corpus
from toy_task import toy_task
from audiofront.cli.train import build_configs
from audiofront.training.averaging import average_checkpoints, average_state_dicts
from audiofront.training.optim import build_one_cycle, one_cycle_factor
from audiofront.training.trainer import TrainConfig


class _Ids(torch.utils.data.Dataset):
    def __getitem__(self, cuts):
        return [c.id for c in cuts]


@pytest.fixture(scope="module")
def cuts_path(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("parts"), n=20)


def test_resumable_loader_continues_after_the_last_received_batch(cuts_path):
    from lhotse import CutSet

    from audiofront.data.sampling import ResumableLoader, make_sampler

    cuts = CutSet.from_file(cuts_path)

    def loader():
        return ResumableLoader(make_sampler(cuts, max_duration=3.0, shuffle=True, num_buckets=2, seed=5), _Ids())

    full = loader()
    full.set_epoch(2)
    everything = list(full)
    assert len(everything) >= 4
    assert full.state_dict() == {"epoch": 3, "batches_done": 0}  # exhausted: on to the next epoch
    assert sorted(i for b in everything for i in b) == sorted(c.id for c in cuts)

    part = loader()
    part.set_epoch(2)
    it = iter(part)
    head = [next(it) for _ in range(3)]
    state = part.state_dict()
    assert state == {"epoch": 2, "batches_done": 3}
    again = loader()
    again.load_state_dict(state)
    again.set_epoch(2)
    assert head + list(again) == everything
    # another epoch is another order
    other = loader()
    other.set_epoch(3)
    assert list(other) != everything


def test_sampler_refuses_a_cut_longer_than_a_batch(cuts_path):
    from lhotse import CutSet

    from audiofront.data.sampling import make_sampler

    with pytest.raises(ValueError, match="longest cut"):
        make_sampler(CutSet.from_file(cuts_path), max_duration=0.5)


def test_one_cycle_schedule():
    total = 100
    assert one_cycle_factor(0, total, 0.1, 25, 1e4) == pytest.approx(1 / 25)
    assert one_cycle_factor(10, total, 0.1, 25, 1e4) == pytest.approx(1.0)
    assert one_cycle_factor(5, total, 0.1, 25, 1e4) == pytest.approx(1 / 25 + (1 - 1 / 25) * 0.5)
    mid = 10 + 45  # half-way through the cosine
    end = 1 / 25 / 1e4
    assert one_cycle_factor(mid, total, 0.1, 25, 1e4) == pytest.approx(end + (1 - end) * 0.5)
    assert one_cycle_factor(total, total, 0.1, 25, 1e4) == pytest.approx(end)
    assert one_cycle_factor(total + 50, total, 0.1, 25, 1e4) == pytest.approx(end)  # past the end: stays
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    sched = build_one_cycle(opt, total)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert max(lrs) == pytest.approx(1e-3) and lrs.index(max(lrs)) == 10
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:11])) and all(a >= b for a, b in zip(lrs[10:-1], lrs[11:]))


def test_average_state_dicts():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3), "h": torch.tensor([1.0], dtype=torch.float16)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5), "h": torch.tensor([2.0], dtype=torch.float16)}
    avg = average_state_dicts([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0]))
    assert int(avg["n"]) == 5  # integer buffers come from the newest
    assert avg["h"].dtype == torch.float16 and float(avg["h"]) == 1.5
    with pytest.raises(ValueError, match="different parameters"):
        average_state_dicts([a, {"w": a["w"]}])


def test_average_checkpoints_file(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"epoch-{i}.pt"
        torch.save({"model": {"w": torch.full((2,), float(i))}, "optimizer": {}, "task": {"name": "asr"},
                    "frontend": {"name": "fbank", "config": {}}}, p)
        paths.append(p)
    avg = average_checkpoints(paths[1:], tmp_path / "avg.pt")
    loaded = torch.load(tmp_path / "avg.pt", weights_only=True)
    assert torch.equal(loaded["model"]["w"], torch.full((2,), 1.5))
    assert "optimizer" not in loaded and loaded["task"] == {"name": "asr"} and loaded["frontend"]["name"] == "fbank"
    assert avg["averaged_from"] == ["epoch-1.pt", "epoch-2.pt"]


def test_command_line_overrides_the_recipe(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: asr\nfrontend: 2dconv\nfrontend_conf: {n_filters: 8}\nmax_duration: 60\n"
        "encoder_conf: {num_layers: 4}\ntraining: {num_epochs: 8, lr: 2.0e-3}\n"
    )
    name, cfg, train = build_configs(recipe, None, {"max_duration": 30.0, "lang_dir": None}, None, {"channels": [4, 4]},
                                     {"num_epochs": 2, "lr": None}, {"encoder_conf.num_layers": 2, "training.lr": "1e-3"})
    assert name == "asr"
    assert cfg["frontend_conf"] == {"n_filters": 8, "channels": [4, 4]}
    assert cfg["max_duration"] == 30.0 and "lang_dir" not in cfg
    assert cfg["encoder_conf"] == {"num_layers": 2}
    tc = TrainConfig.from_dict(train)
    assert tc.num_epochs == 2 and tc.lr == pytest.approx(1e-3)
    # another frontend: the recipe's options of the old one are dropped
    _, cfg2, _ = build_configs(recipe, None, {}, "fbank", {}, {}, {})
    assert cfg2["frontend"] == "fbank" and cfg2["frontend_conf"] == {}
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"epochs": 3})


def test_trainer_runs_any_task_and_never_overwrites_a_previous_run(cuts_path, tmp_path):
    from audiofront.errors import UserError
    from audiofront.training.trainer import Trainer

    exp = tmp_path / "exp"
    cfg = TrainConfig(exp_dir=str(exp), num_epochs=3, lr=1e-2, progress=False, tensorboard=False, average_last=2,
                      device="cpu")
    out = Trainer(toy_task(cuts_path), cfg).fit()
    assert out == exp / "avg.pt"
    ep = [torch.load(exp / "checkpoints" / f"epoch-{i}.pt", weights_only=True) for i in (2, 3)]
    avg = torch.load(out, weights_only=True)
    for k, v in avg["model"].items():
        torch.testing.assert_close(v, (ep[0]["model"][k] + ep[1]["model"][k]) / 2)
    assert avg["averaged_from"] == ["epoch-2.pt", "epoch-3.pt"]
    assert "optimizer" not in ep[0]  # epoch checkpoints are slim; last.pt holds the resume state
    assert {"optimizer", "scheduler", "loader", "rng"} <= set(torch.load(exp / "last.pt", weights_only=True))
    assert avg["task"]["name"] == "toy" and avg["frontend"]["name"] == "mel"

    first_run = {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*.pt")}

    # a fresh run in the same folder without resume or overwrite is refused, and touches nothing
    shorter = dataclasses.replace(cfg, num_epochs=1)
    with pytest.raises(UserError, match=r"already holds a training run .*--resume.*--overwrite"):
        Trainer(toy_task(cuts_path), shorter).fit()
    assert {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*.pt")} == first_run

    # --overwrite: the first run moves whole to exp.bak1/ and the new one must not average its epoch-3
    Trainer(toy_task(cuts_path), shorter).fit(overwrite=True)
    assert torch.load(exp / "avg.pt", weights_only=True)["averaged_from"] == ["epoch-1.pt"]
    assert not (exp / "checkpoints" / "epoch-3.pt").exists()
    backup = tmp_path / "exp.bak1"
    assert {p.relative_to(backup): p.read_bytes() for p in backup.rglob("*.pt")} == first_run
    assert (backup / "train.log").is_file()
    # a second overwrite keeps both earlier runs: numbered, never deleted
    second_run = {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*.pt")}
    Trainer(toy_task(cuts_path), shorter).fit(overwrite=True)
    assert {p.relative_to(backup): p.read_bytes() for p in backup.rglob("*.pt")} == first_run
    backup2 = tmp_path / "exp.bak2"
    assert {p.relative_to(backup2): p.read_bytes() for p in backup2.rglob("*.pt")} == second_run


def test_load_model_rebuilds_the_trained_model(tmp_path):
    from audiofront.tasks import build_task, load_model

    cfg = {"frontend": "fbank", "vocab_size": 12, "encoder_conf": {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64}}
    task = build_task("asr", cfg)
    torch.manual_seed(0)
    model = task.build_model().eval()
    entry = task.checkpoint_entry()
    # the full encoder config is stored, so a later change of the preset cannot change this model
    assert entry["config"]["encoder_conf"]["conv_norm"] == "batch" and entry["config"]["encoder_conf"]["d_model"] == 32
    torch.save({"task": entry, "model": model.state_dict(), "frontend": {"name": "fbank", "config": {}}}, tmp_path / "m.pt")
    task2, model2 = load_model(tmp_path / "m.pt")
    audio, lens = torch.randn(2, 8000) * 0.1, torch.tensor([8000, 6000])
    with torch.no_grad():
        torch.testing.assert_close(model2(audio, lens)[0], model(audio, lens)[0])
    assert not model2.training and task2.vocab_size() == 12

    # a checkpoint from before the tiny preset used BatchNorm (LayerNorm conv norms, preset name only)
    old_cfg = {**cfg, "encoder_conf": {**cfg["encoder_conf"], "conv_norm": "layer"}}
    old_model = build_task("asr", old_cfg).build_model()
    torch.save({"task": {"name": "asr", "config": cfg}, "model": old_model.state_dict()}, tmp_path / "old.pt")
    _, loaded = load_model(tmp_path / "old.pt")
    assert isinstance(loaded.encoder.blocks[0].conv.norm, torch.nn.LayerNorm)
    with pytest.raises(ValueError, match="not an audiofront training checkpoint"):
        torch.save({"weights": 1}, tmp_path / "bad.pt")
        load_model(tmp_path / "bad.pt")


def _stub_task(**methods):
    """The least Task ``Trainer.validate`` can be called on directly, with ``methods`` added or replaced."""
    from audiofront.tasks.base import Task

    body = {"name": "stub", "build_model": lambda self: torch.nn.Linear(1, 1),
            "train_loader": lambda self, world_size=1, rank=0: []}
    return type("Stub", (Task,), {**body, **methods})({})


def _validate(task, model, batches):
    from audiofront.training.ddp import DistInfo
    from audiofront.training.trainer import Trainer

    trainer = Trainer(task, TrainConfig(exp_dir="unused", progress=False, tensorboard=False, device="cpu"))
    return trainer.validate(model, batches, torch.device("cpu"), DistInfo(), False)


def test_validation_runs_in_eval_mode_without_grad_and_restores_training_mode():
    # Task.valid_stats is promised eval mode and no autograd graph; the trainer must keep that promise
    seen = []

    def loss(self, model, batch):
        out = model(batch).mean()
        seen.append((torch.is_grad_enabled(), model.training, out.requires_grad))
        return out, {}

    model = torch.nn.Linear(2, 1).train()
    stats = _validate(_stub_task(loss=loss), model, [torch.ones(3, 2), torch.zeros(1, 2)])
    assert seen == [(False, False, False)] * 2
    assert model.training  # back in training mode afterwards
    want = (model(torch.ones(3, 2)).mean() + model(torch.zeros(1, 2)).mean()) / 2  # batch_size 1 each by default
    assert stats["loss"] == pytest.approx(float(want))


def test_a_run_that_max_steps_stops_inside_an_epoch_averages_its_final_weights(cuts_path, tmp_path):
    from audiofront.training.trainer import Trainer

    base = dict(lr=1e-2, progress=False, tensorboard=False, device="cpu", average_last=2)
    Trainer(toy_task(cuts_path), TrainConfig(exp_dir=str(tmp_path / "one"), num_epochs=1, **base)).fit()
    per_epoch = torch.load(tmp_path / "one" / "last.pt", weights_only=True)["step"]
    assert per_epoch >= 2

    exp = tmp_path / "cut"
    stop = per_epoch + 1  # one step into the second epoch
    out = Trainer(toy_task(cuts_path), TrainConfig(exp_dir=str(exp), num_epochs=5, max_steps=stop, **base)).fit()
    avg = torch.load(out, weights_only=True)
    assert avg["averaged_from"] == ["epoch-1.pt", f"step-{stop}.pt"]
    parts = [torch.load(exp / "checkpoints" / n, weights_only=True)["model"] for n in avg["averaged_from"]]
    for k, v in avg["model"].items():
        torch.testing.assert_close(v, (parts[0][k] + parts[1][k]) / 2)


def test_validation_reports_sum_count_pairs_as_the_sets_rate():
    # a batch of 30 short clips (60 words, 6 errors) and one of 4 long ones (160 words, 32 errors): the set's
    # WER is 38/220, not the mean of 10% and 20% weighted by clips (11.2%)
    def loss(self, model, batch):
        raise AssertionError("not used")

    def valid_stats(self, model, batch):
        return {"wer": (batch["errors"], batch["words"]), "per_clip": batch["errors"] / batch["clips"],
                "acc": (0, 0)}  # a stat no example counts towards is left out, not 0

    task = _stub_task(loss=loss, valid_stats=valid_stats, batch_size=lambda self, batch: batch["clips"])
    batches = [{"clips": 30, "words": 60, "errors": 6}, {"clips": 4, "words": 160, "errors": 32}]
    stats = _validate(task, torch.nn.Linear(1, 1), batches)
    assert stats["wer"] == pytest.approx(38 / 220)
    assert stats["per_clip"] == pytest.approx((6 + 32) / 34)  # plain floats: weighted by batch_size, as before
    assert "acc" not in stats
