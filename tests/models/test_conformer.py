"""Conformer encoder: relative-position attention against a direct formula, the convolution module against
plain Conv1d, padding invariance, subsampling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from audiofront.models.conformer import (
    PRESETS,
    ConformerEncoder,
    Conv2dSubsampling,
    ConvModule,
    RelPositionMultiHeadAttention,
    conformer_config,
    rel_shift,
    relative_positions,
    subsampling_for,
)


def test_rel_shift_picks_the_row_of_each_distance():
    L = 5
    # scores[i, m] = 1000 * i + (distance of row m) with row m at distance L-1-m
    rows = torch.arange(L - 1, -L, -1).float()
    scores = 1000 * torch.arange(L).float()[:, None] + rows[None, :]
    out = rel_shift(scores)
    for i in range(L):
        for j in range(L):
            assert out[i, j] == 1000 * i + (i - j)


def test_attention_matches_transformer_xl_formula():
    torch.manual_seed(0)
    d, h, L = 16, 2, 6
    att = RelPositionMultiHeadAttention(d, h).eval()
    x = torch.randn(1, L, d)
    pos = relative_positions(L, d)
    mask = torch.ones(1, L, dtype=torch.bool)
    got = att(x, pos, mask)

    dk = d // h
    q = att.q(x)[0].view(L, h, dk)
    k = att.k(x)[0].view(L, h, dk)
    v = att.v(x)[0].view(L, h, dk)
    out = torch.zeros(L, h, dk)
    for head in range(h):
        scores = torch.zeros(L, L)
        for i in range(L):
            for j in range(L):
                # the encoding of distance i - j, computed directly rather than looked up
                dist = float(i - j)
                r = torch.zeros(d)
                for m in range(0, d, 2):
                    r[m] = math.sin(dist / 10000 ** (m / d))
                    r[m + 1] = math.cos(dist / 10000 ** (m / d))
                p = att.pos(r).view(h, dk)[head]
                scores[i, j] = ((q[i, head] + att.u[head]) @ k[j, head] + (q[i, head] + att.v_bias[head]) @ p) / math.sqrt(dk)
        out[:, head] = torch.softmax(scores, dim=-1) @ v[:, head]
    want = att.out(out.reshape(L, d))
    torch.testing.assert_close(got[0], want, atol=1e-5, rtol=1e-4)


def _conv_module_reference(m: ConvModule, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The convolution module as written in the Conformer paper: every convolution a Conv1d on [B, d, L]."""
    y = m.ln(x).transpose(1, 2)
    y = F.glu(m.pw1(y), dim=1)
    y = y * mask[:, None, :].to(y.dtype)
    y = m.dw(y)
    y = m.norm(y, mask) if m.norm_kind == "batch" else m.norm(y.transpose(1, 2)).transpose(1, 2)
    return m.pw2(F.silu(y)).transpose(1, 2)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_conv_module_matches_conv1d_reference(norm):
    # the pointwise convolutions run as matrix products on [B, L, d]: same outputs and gradients as Conv1d
    torch.manual_seed(0)
    m = ConvModule(12, 5, norm, dropout=0.0).train()
    x = torch.randn(3, 9, 12, requires_grad=True)
    mask = torch.arange(9)[None, :] < torch.tensor([9, 6, 2])[:, None]
    got = m(x, mask)
    gx, *gp = torch.autograd.grad(got.square().sum(), [x, *m.parameters()])
    want = _conv_module_reference(m, x, mask)
    wx, *wp = torch.autograd.grad(want.square().sum(), [x, *m.parameters()])
    assert got.shape == (3, 9, 12)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gx, wx, atol=1e-5, rtol=1e-5)
    for a, b in zip(gp, wp):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("factor", [1, 2, 4])
def test_padding_does_not_change_valid_frames(factor):
    torch.manual_seed(1)
    cfg = conformer_config("tiny", num_layers=2, d_model=32, num_heads=4, ff_dim=64, conv_kernel=7, conv_norm="batch",
                           subsampling=factor, subsampling_channels=8)
    enc = ConformerEncoder(20, 10.0, cfg).eval()
    x = torch.randn(1, 50, 20)
    alone, n_alone = enc(x, torch.tensor([50]))
    padded = torch.cat([x, torch.randn(1, 30, 20) * 5], dim=1)  # garbage past the length must not matter
    batch = torch.cat([padded, torch.randn(1, 80, 20)], dim=0)
    both, n_both = enc(batch, torch.tensor([50, 80]))
    assert int(n_alone[0]) == int(n_both[0]) == alone.shape[1]
    torch.testing.assert_close(both[0, : alone.shape[1]], alone[0], atol=1e-5, rtol=1e-4)
    assert torch.all(both[0, alone.shape[1]:] == 0)


def test_subsampling_lengths_match_outputs():
    sub = Conv2dSubsampling(80, 32, 4, 8)
    for t in (7, 8, 9, 10, 57, 100, 101):
        y, n = sub(torch.randn(1, t, 80), torch.tensor([t]))
        assert int(n[0]) == y.shape[1], t


def test_subsampling_choice_from_frame_rate():
    assert subsampling_for(10.0) == 4  # fbank, mel, LEAF
    assert subsampling_for(40.0) == 1  # the 2D-conv frontend
    assert subsampling_for(20.0) == 2
    assert subsampling_for(10.0, setting=2) == 2
    with pytest.raises(ValueError):
        subsampling_for(10.0, setting=3)


def test_presets_and_bad_options():
    paper = conformer_config("paper")
    assert (paper.num_layers, paper.d_model, paper.num_heads, paper.ff_dim) == (12, 512, 8, 2048)
    tiny = conformer_config("tiny")
    assert (tiny.num_layers, tiny.d_model, tiny.num_heads, tiny.ff_dim) == (4, 144, 4, 576)
    assert {"tiny", "small", "paper"} <= set(PRESETS)
    with pytest.raises(ValueError, match="unknown encoder preset"):
        conformer_config("huge")
    with pytest.raises(ValueError, match="num_layer"):
        conformer_config("tiny", num_layer=3)
    with pytest.raises(ValueError, match="divisible"):
        conformer_config("tiny", num_heads=5)


def test_masked_batchnorm_uses_valid_frames_only():
    from audiofront.models.conformer import MaskedBatchNorm1d

    torch.manual_seed(0)
    x = torch.randn(3, 4, 10) * 3 + 1
    lens = torch.tensor([10, 6, 3])
    mask = torch.arange(10)[None, :] < lens[:, None]
    x = x.masked_fill(~mask[:, None, :], 100.0)  # junk in the padding must not matter
    ours = MaskedBatchNorm1d(4, momentum=0.5)
    ref = torch.nn.BatchNorm1d(4, momentum=0.5)
    y = ours.train()(x, mask)
    valid = torch.cat([x[b, :, : int(n)] for b, n in enumerate(lens)], dim=1).unsqueeze(0)  # [1, 4, 19]
    want = ref.train()(valid)
    got = torch.cat([y[b, :, : int(n)] for b, n in enumerate(lens)], dim=1).unsqueeze(0)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x, mask), ref(x))
