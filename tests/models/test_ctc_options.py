"""CtcModel options for leaving the CTC plateau: intermediate CTC heads and SpecAugment after N steps."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from audiofront.frontends import build_frontend
from audiofront.models.conformer import conformer_config, lengths_to_mask, relative_positions
from audiofront.models.ctc import CtcModel, utterance_normalize

SMALL = dict(num_layers=3, d_model=32, num_heads=2, ff_dim=64, conv_kernel=7, subsampling_channels=8,
             dropout=0.0, attn_dropout=0.0)


def _model(**kw):
    torch.manual_seed(0)
    return CtcModel(build_frontend("fbank"), vocab_size=10, encoder=conformer_config("tiny", **SMALL), **kw)


def _batch():
    g = torch.Generator().manual_seed(3)
    audio = torch.randn(2, 16000, generator=g) * 0.1
    lens = torch.tensor([16000, 11000])
    audio[1, 11000:] = 0
    return audio, lens


def _by_hand(model, audio, lens, k):
    """Log-probs of block k's output through the final layer, computed step by step (the reference)."""
    feats, flens = model.frontend(audio, lens)
    feats = utterance_normalize(feats, flens)
    enc = model.encoder
    x, olens = enc.subsample(feats, flens)
    mask = lengths_to_mask(olens, x.shape[1])
    pos = relative_positions(x.shape[1], x.shape[2])
    for block in list(enc.blocks)[:k]:
        x = block(x, pos, mask)
    x = x * mask.unsqueeze(-1)
    return F.log_softmax(model.output(x), dim=-1), olens


@pytest.mark.parametrize("k", [1, 2])
def test_shared_inter_head_is_the_final_layer_on_block_k(k):
    model = _model(inter_ctc_layers=[k]).eval()
    audio, lens = _batch()
    with torch.no_grad():
        lp, n, inter = model(audio, lens, return_inter=True)
        plain_lp, plain_n = model(audio, lens)
        ref, ref_n = _by_hand(model, audio, lens, k)
        full, _ = _by_hand(model, audio, lens, 3)
    assert len(inter) == 1 and inter[0].shape == lp.shape
    assert torch.equal(n, ref_n) and torch.equal(n, plain_n)
    torch.testing.assert_close(inter[0], ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lp, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lp, plain_lp)  # the intermediate head changes nothing of the final output
    assert not torch.allclose(inter[0], lp, atol=1e-3)  # block k is not the last block
    # the shared head adds no parameter
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in _model().parameters())


def test_own_inter_heads_have_their_parameters_and_get_gradients():
    model = _model(inter_ctc_layers=[1, 2], inter_ctc_head="own").train()
    base = sum(p.numel() for p in _model().parameters())
    assert sum(p.numel() for p in model.parameters()) == base + 2 * (32 * 10 + 10)
    audio, lens = _batch()
    lp, n, inter = model(audio, lens, return_inter=True)
    assert len(inter) == 2
    inter[1].sum().backward()
    assert model.inter_output[0].weight.grad is None and model.inter_output[1].weight.grad is not None
    assert model.output.weight.grad is None  # the own head, not the final one


@pytest.mark.parametrize("layers", [[0], [3], [1, 1], [5]])
def test_bad_inter_layers_are_refused(layers):
    with pytest.raises(ValueError, match="inter_ctc_layers"):
        _model(inter_ctc_layers=layers)
    with pytest.raises(ValueError, match="inter_ctc_head"):
        _model(inter_ctc_layers=[1], inter_ctc_head="separate")


def _two_draws(model, audio, lens):
    torch.manual_seed(10)
    a, _ = model(audio, lens)
    torch.manual_seed(11)
    b, _ = model(audio, lens)
    return a, b


def test_specaug_only_after_the_given_steps_and_the_count_is_saved():
    model = _model(specaug="feature", specaug_after_steps=2).train()
    audio, lens = _batch()
    assert "train_steps" in model.state_dict() and "train_steps" not in _model().state_dict()
    for _ in range(2):
        a, b = _two_draws(model, audio, lens)
        assert torch.equal(a, b)  # no masking yet (dropout is 0: nothing else is random)
        model.count_step()
    assert int(model.train_steps) == 2 and model.augmenting()
    a, b = _two_draws(model, audio, lens)
    assert not torch.allclose(a, b)  # masks drawn now
    model.eval()
    assert not model.augmenting()
    # the count travels with the weights (what makes --resume continue it exactly)
    other = _model(specaug="feature", specaug_after_steps=2)
    assert int(other.train_steps) == 0
    other.load_state_dict(model.state_dict())
    assert int(other.train_steps) == 2 and other.train().augmenting()


def test_without_the_option_specaug_starts_at_once():
    model = _model(specaug="feature").train()
    audio, lens = _batch()
    a, b = _two_draws(model, audio, lens)
    assert not torch.allclose(a, b)
    model.count_step()  # a no-op
    assert "train_steps" not in model.state_dict()
