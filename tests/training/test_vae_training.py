"""``audiofront train --task vae``: the loss, resume after SIGKILL, and the checkpoint as the ``vae`` frontend."""

from __future__ import annotations

import pytest
import torch
import yaml

from asr_train_synth import make_corpus
from audiofront.models.vae import kl_to_standard_normal
from audiofront.tasks import build_task
# the SIGKILL-then-resume check of the asr task, run here on a vae recipe (imported under a name pytest does
# not collect a second time)
from test_resume import test_sigkill_then_resume_matches_uninterrupted as sigkill_then_resume_matches_uninterrupted


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("vae_resume")
    cuts = make_corpus(root / "corpus", n=16)
    recipe = {
        "task": "vae",
        "train_cuts": str(cuts),
        "valid_cuts": str(cuts),
        "max_duration": 3.0,
        "fragments_per_batch": 32,
        "kl_warmup_steps": 6,  # still warming up when the run is killed
        "channels": 4,
        "training": {"num_epochs": 3, "lr": 3e-3, "seed": 7, "num_threads": 1, "progress": False,
                     "tensorboard": False, "log_every": 1, "save_every_steps": 2, "keep_last_steps": 0},
    }
    path = root / "vae.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return root, path


def test_sigkill_then_resume_matches_uninterrupted(setup):
    sigkill_then_resume_matches_uninterrupted(setup)
    root, _ = setup
    ref = torch.load(root / "ref" / "last.pt", weights_only=True)
    # the warm-up counter is part of the weights that must match, and counts every training batch
    assert int(ref["model"]["kl_steps"]) == ref["step"]
    log = (root / "ref" / "train.log").read_text()
    for word in ("recon_mse", " kl ", "beta", "active_dims", "lsd_db"):
        assert word in log, f"{word!r} is not logged"


def test_trained_checkpoint_is_the_vae_frontend(setup):
    from audiofront.frontends import build_frontend
    from audiofront.tasks import load_model

    root, _ = setup
    ckpt = root / "ref" / "avg.pt"
    if not ckpt.exists():
        pytest.skip("needs the run of test_sigkill_then_resume_matches_uninterrupted")
    _, model = load_model(ckpt)
    fe = build_frontend("vae", checkpoint=str(ckpt))
    x = 0.1 * torch.randn(2, 9000)
    with torch.no_grad():
        feats, n = fe(x, torch.tensor([9000, 5000]))
        ref = model.encode_frames(x, 160)
    assert feats.shape == (2, 1 + 9000 // 160, 13) and n.tolist() == [1 + 9000 // 160, 1 + 5000 // 160]
    assert torch.allclose(feats[0], ref[0], atol=1e-5)
    assert not any(p.requires_grad for p in fe.parameters())
    assert all(p.requires_grad for p in build_frontend("vae", checkpoint=str(ckpt), fine_tune=True).parameters())


def test_loss_is_reconstruction_plus_warmed_up_beta_kl(tmp_path):
    cuts = make_corpus(tmp_path / "c", n=4)
    task = build_task("vae", {"train_cuts": str(cuts), "channels": 4, "beta": 2.0, "kl_warmup_steps": 4,
                              "fragments_per_batch": 16, "max_duration": 5.0})
    # the normalisation was measured on the training cuts and is stored in the config (checkpoints rebuild it)
    assert len(task.config["norm_mean"]) == 128 and min(task.config["norm_std"]) > 0
    assert [task.beta_at(s) for s in (0, 1, 3, 10)] == [0.5, 1.0, 2.0, 2.0]
    model = task.build_model().train()
    batch = next(iter(task.train_loader()))
    for step in range(2):
        state = torch.random.get_rng_state()
        loss, stats = task.loss(model, batch)
        assert int(model.kl_steps) == step + 1
        # recompute by hand from the same random draws
        torch.random.set_rng_state(state)
        frags = task.random_fragments(model, batch["audio"], batch["audio_lens"])
        out = model(frags)
        sse = 0.5 * (out["recon"] - frags).square().sum(dim=(1, 2)).mean()
        kl = kl_to_standard_normal(out["mean"], out["logvar"]).mean()
        assert float(loss.detach()) == pytest.approx(float((sse + task.beta_at(step) * kl).detach()), rel=1e-5)
        assert stats["beta"] == task.beta_at(step) and stats["kl"] == pytest.approx(float(kl.detach()), rel=1e-5)
        assert set(stats) == {"recon_mse", "kl", "beta", "active_dims"}
    model.eval()
    stats = task.valid_stats(model, batch)
    assert int(model.kl_steps) == 2  # validation does not advance the warm-up
    n = stats["loss"][1]  # (sum, fragments) pairs: the trainer divides the set's sums by its fragments
    assert n > 0 and all(stats[k][1] == n for k in ("loss", "recon_mse", "kl", "lsd_db"))
    assert stats["lsd_db"][0] > 0 and stats["loss"][0] > 0


def test_a_model_using_the_vae_frontend_loads_without_the_vae_file(tmp_path):
    """Checkpoints of a classifier on VAE features hold the VAE's config and weights: they load (and compute
    the same) after the VAE checkpoint they were built from is gone."""
    import shutil

    from audiofront.errors import UserError
    from audiofront.frontends import build_frontend
    from audiofront.tasks import load_model
    from audiofront.training.checkpoint import save_checkpoint
    from conftest import speech_like
    from vae_fixtures import tiny_vae_checkpoint

    vae_file = tmp_path / "vae.pt"
    shutil.copy(tiny_vae_checkpoint(), vae_file)
    cuts = make_corpus(tmp_path / "corpus", n=4)
    cfg = {"frontend": "vae", "frontend_conf": {"checkpoint": str(vae_file)}, "encoder": "mlp",
           "encoder_conf": {"hidden": 8, "layers": 1}, "train_cuts": str(cuts), "label": "text"}
    task = build_task("classify", cfg)
    model = task.build_model().eval()
    assert task.checkpoint_entry()["config"]["frontend_conf"]["vae"]["latent_dim"] == 5
    save_checkpoint({"task": task.checkpoint_entry(), "model": model.state_dict(), "step": 0}, tmp_path / "cls.pt")
    vae_file.unlink()
    _, loaded = load_model(tmp_path / "cls.pt")
    x = torch.stack([speech_like(0.5, seed=3), speech_like(0.5, seed=4)])
    with torch.no_grad():
        assert torch.equal(loaded.frontend(x)[0], model.frontend(x)[0])
    # the stored config is checked like a file's
    with pytest.raises(UserError, match="stored VAE config"):
        build_frontend("vae", vae={"latent_dim": -1})


def test_training_on_the_vae_frontend_uses_the_trained_vae(tmp_path):
    """`audiofront train` builds the model twice (once to check the options, once to train), and checkpoints store
    the VAE config (Task.saved_frontend_conf): the frozen frontend that trains must still be the VAE of the
    checkpoint, not an untrained encoder of the same shape."""
    import shutil

    from typer.testing import CliRunner

    from audiofront.cli.main import app
    from vae_fixtures import tiny_vae_checkpoint

    vae_file = tmp_path / "vae.pt"
    shutil.copy(tiny_vae_checkpoint(), vae_file)
    cuts = make_corpus(tmp_path / "corpus", n=4)
    res = CliRunner().invoke(app, [
        "train", "--task", "classify", "--frontend", "vae", "--frontend-conf", f"checkpoint={vae_file}",
        "--set", "encoder=mlp", "--set", "encoder_conf.hidden=8", "--set", "label=text", "--set", "batch_size=2",
        "--train-cuts", str(cuts), "--exp-dir", str(tmp_path / "exp"), "--max-steps", "1", "--no-progress",
        "--set", "training.tensorboard=false"])
    assert res.exit_code == 0, res.output
    vae = torch.load(vae_file, weights_only=True)["model"]
    trained = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)["model"]
    names = [k for k in vae if k.startswith("encoder.")]
    assert names
    for k in names:
        assert torch.equal(trained[f"frontend.{k}"], vae[k]), k


def test_level_free_normalisation_is_measured_on_level_free_fragments(tmp_path):
    """With level: fragment the stored per-bin statistics are those of level-free fragments: the training
    fragments, normalised with them, have per-bin mean near 0 and std near 1 (they would not with the statistics
    of the kept level, which differ by each fragment's loudness)."""
    import numpy as np
    from lhotse import load_manifest

    cuts = make_corpus(tmp_path / "c", n=4)
    opts = {"train_cuts": str(cuts), "channels": 4, "frequency_scale": "mel", "n_bins": 32, "fragments_per_batch": 16,
            "max_duration": 5.0}
    task = build_task("vae", {**opts, "level": "fragment"})
    keep = build_task("vae", opts)
    assert not np.allclose(task.config["norm_mean"], keep.config["norm_mean"], atol=0.5)
    analysis = task.build_model().analysis
    step = analysis.cfg.fragment_frames * analysis.cfg.stft_hop  # whole fragments side by side, as measured
    frags = []
    for cut in load_manifest(cuts):
        audio = torch.from_numpy(np.ascontiguousarray(cut.load_audio()[0], dtype=np.float32))
        frags.append(analysis.frames(audio[None], step)[0, 1:-1])  # inside the cut (no zero padding)
    x = torch.cat(frags).transpose(0, 1).reshape(32, -1)  # [bins, fragments x frames]
    assert x.mean(1).abs().max() < 0.1
    assert (x.std(1) - 1).abs().max() < 0.1
