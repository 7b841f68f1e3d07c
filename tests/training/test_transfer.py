"""``--init-from`` / ``--freeze``: a classifier probing a COLA checkpoint keeps every frozen tensor
bit-identical (parameters and batch-norm statistics) while the rest trains; a checkpoint that does not
fit is refused with one line naming both sides."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from asr_train_synth import make_corpus
from test_resume import _env

from audiofront.errors import UserError
from audiofront.tasks import build_task
from audiofront.training.checkpoint import seed_everything
from audiofront.training.trainer import TrainConfig, Trainer

FRONTEND = {"frontend": "leaf", "frontend_conf": {"n_filters": 8}, "encoder": "small-cnn",
            "encoder_conf": {"channels": [4, 8], "dropout": 0.0}}
QUIET = {"num_threads": 1, "progress": False, "tensorboard": False, "device": "cpu", "log_every": 1}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    cuts = make_corpus(root / "corpus", n=8)
    task = build_task("cola", {**FRONTEND, "train_cuts": str(cuts), "batch_size": 4, "segment_seconds": 0.3,
                               "projection_dim": 16})
    Trainer(task, TrainConfig.from_dict({**QUIET, "exp_dir": str(root / "cola"), "max_steps": 3})).fit()
    return root, cuts, root / "cola" / "last.pt"


def _probe(root, cuts, ckpt, freeze, tag, **over):
    cfg = {**FRONTEND, "train_cuts": str(cuts), "label": "text", "batch_size": 4, "window_seconds": 0.3, **over}
    task = build_task("classify", cfg)
    training = {**QUIET, "exp_dir": str(root / tag), "max_steps": 3, "init_from": str(ckpt), "freeze": freeze,
                "lr": 1e-2}
    Trainer(task, TrainConfig.from_dict(training)).fit()
    seed_everything(42)  # the trainer's default seed: the model as it was before training
    initial = task.build_model().state_dict()
    return torch.load(root / tag / "last.pt", weights_only=True)["model"], initial, root / tag / "train.log"


def _parts(sd, prefixes):
    return {k: v for k, v in sd.items() if k.startswith(prefixes)}


def test_linear_probe_keeps_every_frozen_tensor_bit_identical(pretrained):
    root, cuts, ckpt = pretrained
    cola = torch.load(ckpt, weights_only=True)["model"]
    out, initial, logfile = _probe(root, cuts, ckpt, "frontend,encoder", "probe")
    frozen = _parts(cola, ("frontend.", "feature_norm.", "encoder."))
    assert any("running_mean" in k for k in frozen) and any("num_batches_tracked" in k for k in frozen)
    assert frozen and frozen.keys() == _parts(out, ("frontend.", "feature_norm.", "encoder.")).keys()
    for k, v in frozen.items():
        assert torch.equal(out[k], v), f"frozen tensor {k} changed"
    # the COLA weights really were loaded (they differ from a fresh initialisation), and the head trained
    assert not all(torch.equal(initial[k], v) for k, v in frozen.items() if v.is_floating_point())
    assert not torch.equal(out["heads.text.weight"], initial["heads.text.weight"])
    log = logfile.read_text()
    assert "frozen (parameters and buffers, eval mode): frontend (frontend, feature_norm)" in log
    assert "encoder (encoder)" in log and "training: heads" in log


def test_freeze_frontend_only_trains_the_encoder(pretrained):
    root, cuts, ckpt = pretrained
    cola = torch.load(ckpt, weights_only=True)["model"]
    out, _, _ = _probe(root, cuts, ckpt, "frontend", "finetune")
    for k, v in _parts(cola, ("frontend.", "feature_norm.")).items():
        assert torch.equal(out[k], v), f"frozen tensor {k} changed"
    enc = _parts(cola, ("encoder.",))
    assert any(not torch.equal(out[k], v) for k, v in enc.items() if "running" in k)  # batch norm statistics moved
    assert any(not torch.equal(out[k], v) for k, v in enc.items() if k.endswith("weight"))


def test_no_freeze_trains_the_frontend_too(pretrained):
    root, cuts, ckpt = pretrained
    cola = torch.load(ckpt, weights_only=True)["model"]
    out, _, _ = _probe(root, cuts, ckpt, "", "full")
    learnable = [k for k in _parts(cola, ("frontend.",)) if cola[k].is_floating_point()]
    assert any(not torch.equal(out[k], cola[k]) for k in learnable)


def test_mismatched_checkpoint_is_refused_naming_both(pretrained):
    root, cuts, ckpt = pretrained
    with pytest.raises(UserError) as e:
        _probe(root, cuts, ckpt, "frontend,encoder", "bad_frontend", frontend="sincnet", frontend_conf={"n_filters": 8})
    msg = str(e.value)
    assert "frontend (leaf" in msg and "frontend (sincnet" in msg and str(ckpt) in msg
    with pytest.raises(UserError) as e:
        _probe(root, cuts, ckpt, "frontend,encoder", "bad_encoder", encoder_conf={"channels": [4, 16], "dropout": 0.0})
    assert "its encoder (small-cnn" in str(e.value) and "[4, 16]" in str(e.value) and "[4, 8]" in str(e.value)
    with pytest.raises(UserError, match="no part 'decoder'"):
        _probe(root, cuts, ckpt, "decoder", "bad_part")


def test_cli_refuses_mismatch_in_one_line_before_writing(pretrained, tmp_path):
    root, cuts, ckpt = pretrained
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "audiofront.cli.main", "train", "--task", "classify", "--frontend", "mel",
           "--train-cuts", str(cuts), "--set", "label=text", "--set", "batch_size=4", "--exp-dir", str(exp),
           "--init-from", str(ckpt), "--freeze", "frontend,encoder", "--device", "cpu", "--max-steps", "1"]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [l for l in done.stderr.splitlines() if l.strip()]
    assert lines[-1].startswith("error: --init-from") and "leaf" in lines[-1] and "mel" in lines[-1], done.stderr
    assert "Traceback" not in done.stderr
    assert not (exp / "config.yaml").exists()


def test_init_from_accepts_sincnet_checkpoint_in_hz_and_refuses_a_missing_tensor(tmp_path):
    # sincnet's cut-offs were once stored in Hz as sinc.low_hz / sinc.band_hz; such checkpoints still
    # initialise a probe (the frontend's load hook renames them), while a tensor truly absent is refused
    sinc = {"frontend": "sincnet", "frontend_conf": {"n_filters": 8}}
    cuts = make_corpus(tmp_path / "corpus", n=8)
    task = build_task("cola", {**FRONTEND, **sinc, "train_cuts": str(cuts), "batch_size": 4,
                               "segment_seconds": 0.3, "projection_dim": 16})
    Trainer(task, TrainConfig.from_dict({**QUIET, "exp_dir": str(tmp_path / "cola"), "max_steps": 2})).fit()
    ckpt = torch.load(tmp_path / "cola" / "last.pt", weights_only=True)
    sr = 16000
    model = ckpt["model"]
    low, band = model.pop("frontend.sinc.low"), model.pop("frontend.sinc.band")
    model["frontend.sinc.low_hz"], model["frontend.sinc.band_hz"] = low * sr, band * sr
    old = tmp_path / "old.pt"
    torch.save(ckpt, old)
    probed, _, _ = _probe(tmp_path, cuts, old, "frontend,encoder", "probe_old", **sinc)
    torch.testing.assert_close(probed["frontend.sinc.low"], low)
    torch.testing.assert_close(probed["frontend.sinc.band"], band)
    del model["frontend.sinc.band_hz"]
    torch.save(ckpt, old)
    with pytest.raises(UserError, match="lacks frontend.sinc.band"):
        _probe(tmp_path, cuts, old, "frontend,encoder", "probe_missing", **sinc)
