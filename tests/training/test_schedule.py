"""The cosine schedule with linear warm-up (the COLA recipe's), next to the default one-cycle."""

from __future__ import annotations

import math

import pytest
import torch

from audiofront.errors import UserError
from audiofront.training.optim import build_cosine, build_optimizer, cosine_factor
from audiofront.training.trainer import TrainConfig


def test_cosine_factor_warms_up_then_decays():
    total, warm = 110, 10
    assert [cosine_factor(s, total, warm) for s in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert cosine_factor(warm - 1, total, warm) == pytest.approx(1.0)
    assert cosine_factor(warm, total, warm) == pytest.approx(1.0)
    # half-way through the decay: half of the peak; the end: the final factor, and it stays there
    assert cosine_factor(warm + 50, total, warm) == pytest.approx(0.5)
    assert cosine_factor(warm + 25, total, warm) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert cosine_factor(total, total, warm) == pytest.approx(0.0, abs=1e-12)
    assert cosine_factor(total + 40, total, warm, final_factor=0.01) == pytest.approx(0.01)
    values = [cosine_factor(s, total, warm) for s in range(warm, total)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert cosine_factor(0, 10, 0) == pytest.approx(1.0)  # no warm-up: start at the peak


def test_build_cosine_drives_the_optimiser():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=2e-3)
    sched = build_cosine(opt, total_steps=20, warmup_steps=4)
    seen = []
    for _ in range(22):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen[0] == pytest.approx(2e-3 / 4) and seen[3] == pytest.approx(2e-3)
    assert seen[12] == pytest.approx(2e-3 * 0.5) and seen[21] == pytest.approx(0.0, abs=1e-12)


def test_train_config_schedule_option():
    assert TrainConfig().schedule == "one-cycle"
    cfg = TrainConfig.from_dict({"schedule": "cosine", "warmup_steps": "100"})
    assert cfg.schedule == "cosine" and cfg.warmup_steps == 100
    with pytest.raises(UserError, match="schedule must be one of one-cycle, cosine"):
        TrainConfig.from_dict({"schedule": "linear"})
    with pytest.raises(UserError, match="warmup_steps"):
        TrainConfig.from_dict({"warmup_steps": -1})


def test_trainer_follows_the_cosine_schedule(tmp_path):
    import re

    from asr_train_synth import make_corpus

    from audiofront.tasks import build_task
    from audiofront.training.trainer import Trainer

    cuts = make_corpus(tmp_path / "corpus", n=8)
    task = build_task("cola", {"frontend": "mel", "frontend_conf": {"n_filters": 16}, "encoder_conf": {"channels": [4]},
                               "train_cuts": str(cuts), "batch_size": 4, "segment_seconds": 0.2, "projection_dim": 8})
    training = {"exp_dir": str(tmp_path / "exp"), "max_steps": 6, "num_epochs": 0, "lr": 1e-2, "schedule": "cosine",
                "warmup_steps": 2, "log_every": 1, "progress": False, "tensorboard": False, "device": "cpu"}
    Trainer(task, TrainConfig.from_dict(training)).fit()
    lrs = [float(m) for m in re.findall(r" lr ([0-9.e+-]+) ", (tmp_path / "exp" / "train.log").read_text())]
    want = [1e-2 * cosine_factor(s, 6, 2) for s in range(6)]
    assert lrs == pytest.approx(want, rel=5e-3)  # the log prints 3 significant digits


def test_build_optimizer_fused_matches_per_tensor_adamw():
    # the fused kernel against torch's plain per-tensor AdamW with the same groups (decay on matrices only)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.LayerNorm(5), torch.nn.Linear(5, 3))
    ref_model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.LayerNorm(5), torch.nn.Linear(5, 3))
    ref_model.load_state_dict(model.state_dict())
    start = [p.detach().clone() for p in model.parameters()]
    opt = build_optimizer(model, lr=1e-2, weight_decay=0.1)
    assert opt.defaults["fused"] is True
    ref = torch.optim.AdamW(
        [{"params": [p for p in ref_model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
         {"params": [p for p in ref_model.parameters() if p.dim() < 2], "weight_decay": 0.0}],
        lr=1e-2, betas=(0.9, 0.98), eps=1e-8, foreach=False,
    )
    for step in range(5):
        x = torch.randn(4, 6)
        for m, o in ((model, opt), (ref_model, ref)):
            o.zero_grad()
            m(x).square().sum().backward()
            o.step()
    for a, b in zip(model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(model.parameters(), start))  # the steps moved them
