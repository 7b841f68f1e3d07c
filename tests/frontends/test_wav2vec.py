"""``wav2vec``: the wav2vec 2.0 feature encoder's parameter count, frame arithmetic, its group norm against
``nn.GroupNorm`` and padding invariance (which the original's group norm does not have)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from audiofront.frontends import FrontendInputError, build_frontend, count_parameters


@pytest.fixture(scope="module")
def encoder():
    """One 20 ms encoder for the tests that only read it (building 4.2M parameters is not free)."""
    torch.manual_seed(0)
    return build_frontend("wav2vec")


def test_parameter_counts(encoder):
    # 512*10 + 4 * 512*512*3 + 2 * 512*512*2 + 2*512 (group norm scale and shift) = 4,200,448: ~4.2M
    fe = encoder
    assert count_parameters(fe) == 5_120 + 4 * 786_432 + 2 * 524_288 + 1_024 == 4_200_448
    # 40 ms: one more 512 x 512 x 2 layer
    assert count_parameters(build_frontend("wav2vec", variant="40ms")) == 4_200_448 + 524_288


@pytest.mark.parametrize("variant, shift, field", [("20ms", 320, 400), ("40ms", 640, 720)])
def test_frame_arithmetic(variant, shift, field):
    fe = build_frontend("wav2vec", variant=variant)
    assert fe.frame_shift == shift and fe.min_samples == field and fe.output_dim == 512
    lengths = torch.arange(0, 5000, 7)
    # frame i covers samples [shift * i, shift * i + field): floor((L - field) / shift) + 1 frames
    expected = torch.where(lengths >= field, (lengths - field) // shift + 1, torch.zeros_like(lengths))
    assert fe.num_frames(lengths).tolist() == expected.tolist()


def test_output_shape_matches_num_frames(encoder):
    fe = encoder
    for total in (400, 719, 720, 2001):
        feats, n = fe(torch.randn(1, total))
        assert feats.shape == (1, (total - 400) // 320 + 1, 512) and n.tolist() == [feats.shape[1]]


def test_group_norm_matches_torch_without_padding(encoder):
    fe = encoder
    with torch.no_grad():
        fe.norm.weight.uniform_(0.5, 1.5)
        fe.norm.bias.uniform_(-0.5, 0.5)
    ref = nn.GroupNorm(512, 512)
    ref.load_state_dict({"weight": fe.norm.weight, "bias": fe.norm.bias})
    x = torch.randn(2, 512, 37)
    torch.testing.assert_close(fe.norm(x, torch.tensor([37, 37])), ref(x), atol=1e-5, rtol=1e-5)


def test_whole_encoder_against_plain_layers(encoder):
    torch.manual_seed(0)
    fe = encoder
    x = torch.randn(1, 3000)
    with torch.no_grad():
        h = fe.convs[0](x[:, None])
        h = F.gelu(F.group_norm(h, 512, fe.norm.weight, fe.norm.bias, eps=1e-5))
        for conv in fe.convs[1:]:
            h = F.gelu(conv(h))
        feats, _ = fe(x)
    torch.testing.assert_close(feats[0], h[0].T, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_valid_frames(encoder):
    torch.manual_seed(1)
    fe = encoder
    lengths = torch.tensor([4000, 1500, 401, 300])
    x = torch.randn(4, 4000) * (torch.arange(4000) < lengths[:, None])
    with torch.no_grad():
        feats, n = fe(x, lengths)
        assert n.tolist() == [12, 4, 1, 0]
        for b in range(3):
            alone, _ = fe(x[b : b + 1, : lengths[b]])
            torch.testing.assert_close(feats[b, : n[b]], alone[0], atol=1e-5, rtol=1e-4)
        assert (feats[3] == 0).all() and (feats[1, 4:] == 0).all()


def test_short_input_and_bad_variant(encoder):
    with pytest.raises(FrontendInputError, match="400 samples"):
        encoder(torch.randn(1, 399))
    with pytest.raises(ValueError, match="variant"):
        build_frontend("wav2vec", variant="10ms")


def test_layer_norm_variant_against_plain_layers():
    """``norm="layer"`` (wav2vec 2.0 large): conv -> LayerNorm over channels -> GELU at every layer, 2 x 512
    parameters per layer instead of one group norm."""
    torch.manual_seed(0)
    fe = build_frontend("wav2vec", norm="layer")
    assert count_parameters(fe) == 4_200_448 - 1_024 + 7 * 1_024
    with torch.no_grad():
        for norm in fe.layer_norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
        x = torch.randn(1, 3000)
        h = x[:, None]
        for conv, norm in zip(fe.convs, fe.layer_norms):
            h = conv(h)
            h = F.gelu(F.layer_norm(h.transpose(1, 2), (512,), norm.weight, norm.bias, eps=1e-5).transpose(1, 2))
        feats, _ = fe(x)
    torch.testing.assert_close(feats[0], h[0].T, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="norm must be"):
        build_frontend("wav2vec", norm="batch")
