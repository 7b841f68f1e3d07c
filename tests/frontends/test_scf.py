"""``scf``: parameter count, frames aligned with ``mel``, the whole pipeline against a loop-by-loop reference,
and padding invariance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from audiofront.frontends import build_frontend, count_parameters


def test_parameter_count_and_shape():
    fe = build_frontend("scf")
    # 150 * 256 (first layer) + 5 * 40 (envelope filters) + 2 * 750 (LayerNorm) = 40,100: the paper's ~40k
    assert count_parameters(fe) == 150 * 256 + 5 * 40 + 2 * 750 == 40_100
    assert fe.output_dim == 750 and fe.frame_shift == 160
    feats, n = fe(torch.randn(2, 3200), torch.tensor([3200, 1601]))
    assert feats.shape == (2, 21, 750) and n.tolist() == [21, 11]


def test_frames_match_mel():
    fe = build_frontend("scf")
    lengths = torch.tensor([0, 1, 159, 160, 161, 16000, 16159])
    assert fe.num_frames(lengths).tolist() == [0, 1, 1, 2, 2, 101, 101]
    for total in (1, 159, 160, 1000):
        assert fe(torch.randn(1, total))[0].shape[1] == 1 + total // 160


def reference_scf(fe, x: torch.Tensor) -> torch.Tensor:
    """Loop-by-loop SCF of one signal ``[T]``: frame j of the envelope filters reads first-layer frames
    16 j - 20 .. 16 j + 19 (zero outside), first-layer frame t reads samples 10 t - 128 .. 10 t + 127."""
    w1 = fe.filterbank.weight[:, 0]  # [150, 256]
    w2 = fe.envelope.weight[:, 0, 0]  # [5, 40]
    total = x.shape[0]
    t0 = 1 + total // 10
    padded = F.pad(x, (128, 128))
    first = torch.stack([w1 @ padded[10 * t : 10 * t + 256] for t in range(t0)], dim=1).abs()  # [150, T0]
    first = F.pad(first, (20, 20))  # index t + 20 holds frame t
    frames = []
    for j in range(1 + total // 160):
        window = first[:, 16 * j : 16 * j + 40]  # first-layer frames 16 j - 20 .. 16 j + 19
        env = torch.einsum("ek,ck->ec", w2, window)  # [5, 150]
        comp = (env.abs() + 1e-5) ** 0.4
        frames.append(comp.reshape(-1))
    out = torch.stack(frames)
    return F.layer_norm(out, (750,), fe.norm.weight, fe.norm.bias)


def test_against_reference():
    torch.manual_seed(0)
    fe = build_frontend("scf")
    with torch.no_grad():
        fe.norm.weight.uniform_(0.5, 1.5)  # non-trivial affine so its order of channels is checked too
        fe.norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(1, 1234)
    with torch.no_grad():
        feats, _ = fe(x)
        ref = reference_scf(fe, x[0])
    # (|x| + 1e-5) ** 0.4 has slope 0.4 * 1e-5 ** -0.6 ~ 400 next to zero, so float32 rounding of the
    # convolutions (~1e-6) can move an output by a few 1e-4: compare at 1e-3
    torch.testing.assert_close(feats[0], ref, atol=1e-3, rtol=1e-3)


def test_padding_does_not_change_valid_frames():
    torch.manual_seed(1)
    fe = build_frontend("scf")
    lengths = torch.tensor([3000, 1111, 170])
    x = torch.randn(3, 3000) * (torch.arange(3000) < lengths[:, None])
    with torch.no_grad():
        feats, n = fe(x, lengths)
        for b in range(3):
            alone, m = fe(x[b : b + 1, : lengths[b]])
            assert int(m[0]) == int(n[b])
            # same float32 conditioning argument as in test_against_reference
            torch.testing.assert_close(feats[b, : n[b]], alone[0], atol=1e-3, rtol=1e-3)
            assert (feats[b, n[b] :] == 0).all()


def test_without_the_mask_padding_would_leak():
    # the first-layer mask is what makes padding harmless: the last valid frame of a short sequence reads
    # first-layer frames past its end, which hold the filter response to its last samples in a batch
    fe = build_frontend("scf")
    x = F.pad(torch.randn(1, 1000), (0, 2000))  # 1000 valid samples in a batch padded to 3000
    last = 1000 // 160
    with torch.no_grad():
        unmasked = fe.compute_with_lengths(x, torch.tensor([3000]))  # treats the padding as signal
        masked = fe.compute_with_lengths(x, torch.tensor([1000]))
        alone = fe(x[:, :1000])[0]
    assert (unmasked[0, last] - alone[0, last]).abs().max() > 1e-2
    torch.testing.assert_close(masked[0, : last + 1], alone[0], atol=1e-3, rtol=1e-3)


def test_gammatone_init_and_filters():
    fe = build_frontend("scf", init="gammatone")
    fb = fe.filters()
    assert fb.n_filters == 150 and fb.impulse_responses.shape == (150, 256)
    assert torch.all(torch.diff(fb.center_hz) >= 0)
    with pytest.raises(ValueError, match="exponent"):
        build_frontend("scf", exponent=0.0)
