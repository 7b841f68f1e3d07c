"""The asr task's options: intermediate CTC in the loss, SpecAugment after N steps (counted exactly across
--resume), and their config checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from asr_train_synth import make_corpus, make_lang, write_recipe  # noqa: E402

from audiofront.errors import UserError  # noqa: E402
from audiofront.models.ctc import ctc_loss  # noqa: E402
from audiofront.tasks import build_task, load_model  # noqa: E402
from audiofront.training.trainer import TrainConfig, Trainer  # noqa: E402

ENC = {"num_layers": 3, "d_model": 32, "num_heads": 2, "ff_dim": 64, "conv_kernel": 7, "subsampling_channels": 8,
       "dropout": 0.0, "attn_dropout": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("asr_opts")
    cuts = make_corpus(root / "audio", n=8)
    lang = make_lang(root / "lang", cuts)
    return root, cuts, lang


def _task(corpus, **conf):
    _, cuts, lang = corpus
    return build_task("asr", {"frontend": "fbank", "encoder_conf": ENC, "lang_dir": str(lang), "train_cuts": str(cuts),
                              "max_duration": 3.0, "speed_perturb": None, "specaug": "none", **conf})


def _first_batch(task):
    loader = task.train_loader()
    loader.set_epoch(0)
    return next(iter(loader))


@pytest.mark.parametrize("head", ["shared", "own"])
def test_loss_mixes_final_and_intermediate_ctc(corpus, head):
    task = _task(corpus, inter_ctc_layers=[1, 2], inter_ctc_weight=0.4, inter_ctc_head=head)
    torch.manual_seed(0)
    model = task.build_model().eval()
    batch = _first_batch(task)
    loss, stats = task.loss(model, batch)
    targets = task.targets(batch)
    with torch.no_grad():
        lp, n, inter = model(batch["audio"], batch["audio_lens"], return_inter=True)
    n_tok = sum(len(t) for t in targets)
    final = ctc_loss(lp, n, targets)[0] / n_tok
    mid = [ctc_loss(x, n, targets)[0] / n_tok for x in inter]
    want = 0.6 * final + 0.4 * (mid[0] + mid[1]) / 2
    torch.testing.assert_close(loss.detach(), want)
    assert abs(stats["ctc_final"] - float(final)) < 1e-4 and abs(stats["ctc_inter"] - float(sum(mid) / 2)) < 1e-4
    assert abs(float(loss.detach()) - float(final)) > 1e-4  # the intermediate term really is in it
    # without intermediate layers the loss is the final CTC alone, as before
    plain = _task(corpus)
    torch.manual_seed(0)
    pm = plain.build_model().eval()
    pl, _ = plain.loss(pm, batch)
    with torch.no_grad():
        plp, pn = pm(batch["audio"], batch["audio_lens"])
    torch.testing.assert_close(pl.detach(), ctc_loss(plp, pn, targets)[0] / n_tok)


def test_the_loss_counts_training_steps_only(corpus):
    task = _task(corpus, specaug="feature", specaug_after_steps=5)
    model = task.build_model()
    batch = _first_batch(task)
    model.train()
    for _ in range(3):
        task.loss(model, batch)
    assert int(model.train_steps) == 3
    model.eval()
    with torch.no_grad():
        task.loss(model, batch)
        task.valid_stats(model, batch)
    assert int(model.train_steps) == 3


@pytest.mark.parametrize("conf,match", [
    ({"specaug_after_steps": -1}, "specaug_after_steps must be"),
    ({"specaug_after_steps": 1.5}, "specaug_after_steps must be"),
    ({"inter_ctc_layers": "two"}, "inter_ctc_layers must be"),
    ({"inter_ctc_layers": [0]}, "inter_ctc_layers must be"),
    ({"inter_ctc_weight": 1.0}, "inter_ctc_weight must be"),
    ({"inter_ctc_head": "both"}, "inter_ctc_head must be"),
])
def test_bad_options_are_refused(corpus, conf, match):
    with pytest.raises(UserError, match=match):
        _task(corpus, **conf)


def test_inter_layer_beyond_the_encoder_is_a_user_error(corpus):
    task = _task(corpus, inter_ctc_layers=[3])
    with pytest.raises(UserError, match="inter_ctc_layers"):
        task.build_model()


def _recipe(corpus, tmp_path, **training) -> tuple[dict, dict]:
    """The synthetic corpus' asr recipe as (task config, trainer config) with the exp dir in ``tmp_path``."""
    _, cuts, lang = corpus
    cfg = yaml.safe_load(write_recipe(tmp_path / "r.yaml", cuts, lang).read_text())
    cfg.pop("task")
    return cfg, {**cfg.pop("training"), "exp_dir": str(tmp_path / "exp"), "device": "cpu", **training}


def test_step_count_survives_resume_and_checkpoints_rebuild(corpus, tmp_path):
    """The model's step counter equals the trainer's step after a resumed run: it is saved, not restarted."""
    cfg, training = _recipe(corpus, tmp_path, num_epochs=1)
    cfg.update(specaug="feature", specaug_after_steps=3, inter_ctc_layers=[], encoder_conf={**cfg["encoder_conf"]})
    Trainer(build_task("asr", cfg), TrainConfig.from_dict(training)).fit()
    first = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)
    assert int(first["model"]["train_steps"]) == first["step"] > 0
    Trainer(build_task("asr", cfg), TrainConfig.from_dict({**training, "num_epochs": 2})).fit(resume=True)
    last = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)
    assert last["step"] > first["step"] and int(last["model"]["train_steps"]) == last["step"]
    task, model = load_model(tmp_path / "exp" / "avg.pt")
    assert model.specaug_after_steps == 3 and not model.training


def test_inter_ctc_checkpoint_rebuilds_for_decoding(corpus, tmp_path):
    cfg, training = _recipe(corpus, tmp_path, max_steps=2)
    cfg["encoder_conf"] = {**cfg["encoder_conf"], "num_layers": 2}
    cfg.update(inter_ctc_layers=[1], inter_ctc_head="own", inter_ctc_weight=0.5)
    Trainer(build_task("asr", cfg), TrainConfig.from_dict(training)).fit()
    task, model = load_model(tmp_path / "exp" / "last.pt")
    assert model.inter_ctc_layers == [1] and model.inter_output is not None
    assert task.config["inter_ctc_weight"] == 0.5
    lp, n = model(torch.randn(1, 8000) * 0.1, torch.tensor([8000]))
    assert lp.shape[0] == 1 and int(n[0]) == lp.shape[1]


def test_the_plateau_recipe_builds(corpus):
    """recipes/librispeech_fbank_tiny.yaml: its task and training sections are accepted as they are."""
    _, cuts, lang = corpus
    recipe = yaml.safe_load((Path(__file__).resolve().parents[2] / "recipes" / "librispeech_fbank_tiny.yaml").read_text())
    assert recipe.pop("task") == "asr"
    training = TrainConfig.from_dict(recipe.pop("training"))
    assert training.schedule == "cosine" and training.warmup_steps > 0
    task = build_task("asr", {**recipe, "lang_dir": str(lang), "train_cuts": str(cuts)})
    model = task.build_model()
    assert model.inter_ctc_layers == recipe["inter_ctc_layers"] and model.specaug_after_steps == recipe["specaug_after_steps"]
    assert model.frame_shift_ms == 40.0
