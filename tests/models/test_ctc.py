"""CTC model: any frontend on raw audio, frame bookkeeping, augmentation only in training, gradients."""

from __future__ import annotations

import pytest
import torch

from audiofront.frontends import build_frontend, list_frontends
from vae_fixtures import tiny_vae_checkpoint
from audiofront.models.conformer import conformer_config
from audiofront.models.ctc import CtcModel, ctc_loss, utterance_normalize

SMALL = dict(num_layers=1, d_model=32, num_heads=2, ff_dim=64, conv_kernel=7, subsampling_channels=8)


def _model(name, **conf):
    return CtcModel(build_frontend(name, **conf), vocab_size=10, encoder=conformer_config("tiny", **SMALL))


@pytest.mark.parametrize("name,conf", [("fbank", {}), ("2dconv", {"channels": (4, 4, 4, 4, 4, 4), "output_size": 32})])
def test_shapes_lengths_and_padding(name, conf):
    if name not in list_frontends():
        pytest.fail(f"frontend {name} is not registered")
    torch.manual_seed(0)
    model = _model(name, **conf).eval()
    audio = torch.randn(2, 16000) * 0.1
    lens = torch.tensor([16000, 9000])
    audio[1, 9000:] = 0
    lp, n = model(audio, lens)
    assert lp.shape[0] == 2 and lp.shape[2] == 10
    assert int(n[0]) == lp.shape[1]
    assert n.tolist() == model.out_lengths(lens).tolist()
    # about 25 frames per second (40 ms) whatever the frontend's own frame rate
    assert 22 <= int(n[0]) <= 26
    # probabilities
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(lp.shape[:2]))
    # the short utterance alone gives the same valid frames as inside the padded batch
    alone, n1 = model(audio[1:, :9000], lens[1:])
    assert int(n1[0]) == int(n[1])
    torch.testing.assert_close(alone[0], lp[1, : int(n1[0])], atol=1e-4, rtol=1e-4)


def test_augmentation_choice_and_only_in_training():
    fixed, learn = _model("fbank"), _model("2dconv", channels=(4, 4, 4, 4, 4, 4), output_size=32)
    assert fixed.specaug_kind == "feature" and fixed.feat_aug is not None and fixed.wave_aug is None
    assert learn.specaug_kind == "stft" and learn.wave_aug is not None and learn.feat_aug is None
    audio, lens = torch.randn(1, 16000) * 0.1, torch.tensor([16000])
    learn.eval()
    a, _ = learn(audio, lens)
    b, _ = learn(audio, lens)
    assert torch.equal(a, b)  # deterministic in eval mode
    learn.train()
    torch.manual_seed(0)
    c, _ = learn(audio, lens)
    torch.manual_seed(1)
    d, _ = learn(audio, lens)
    assert not torch.allclose(c, d)  # different masks (and dropout) in training


def test_ctc_loss_trains_the_frontend():
    torch.manual_seed(0)
    model = _model("2dconv", channels=(4, 4, 4, 4, 4, 4), output_size=32)
    audio, lens = torch.randn(2, 12000) * 0.1, torch.tensor([12000, 8000])
    lp, n = model(audio, lens)
    loss, ntok = ctc_loss(lp, n, [[1, 2, 3], [4, 5]])
    assert ntok == 5 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.frontend.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)


def test_ctc_loss_of_impossible_alignment_is_zero_not_inf():
    lp = torch.log_softmax(torch.randn(1, 2, 5), dim=-1)
    loss, _ = ctc_loss(lp, torch.tensor([2]), [[1, 2, 3, 4]])  # 4 tokens cannot fit in 2 frames
    assert float(loss) == 0.0


def test_utterance_normalize_ignores_padding():
    x = torch.randn(2, 7, 3) * 4 + 2
    y = utterance_normalize(x, torch.tensor([7, 4]))
    torch.testing.assert_close(y[1, :4].mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y[1, :4].std(0, unbiased=False), torch.ones(3), atol=1e-3, rtol=0)
    assert torch.all(y[1, 4:] == 0)
    torch.testing.assert_close(utterance_normalize(x[1:, :4], torch.tensor([4]))[0], y[1, :4])


@pytest.mark.parametrize("name", list_frontends())
def test_every_registered_frontend_trains_in_the_ctc_model(name):
    torch.manual_seed(0)
    # a trained model's frontend (vae) needs its checkpoint: a tiny random one with the paper's 13 latents
    model = _model(name, **({"checkpoint": tiny_vae_checkpoint(latent_dim=13)} if name == "vae" else {})).train()
    audio, lens = torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000])
    lp, n = model(audio, lens)
    assert n.tolist() == model.out_lengths(lens).tolist() and int(n[0]) == lp.shape[1]
    # 40 ms output frames (+-1) whatever the frontend's frame rate: 25 per second
    assert abs(int(n[0]) - 25) <= 2, (name, model.encoder.factor, int(n[0]))
    loss, _ = ctc_loss(lp, n, [[1, 2, 3], [4, 5]])
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
