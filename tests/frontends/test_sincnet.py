"""``sincnet`` and ``sincnet+``: parameter counts, mel initialisation, cut-off constraints, the filters' pass
bands, both pipelines against frame-by-frame references, and padding invariance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from audiofront.frontends import build_frontend, count_parameters
from audiofront.frontends.melscale import hz_to_mel


@pytest.mark.parametrize("name, n, expected", [("sincnet", 64, 256), ("sincnet+", 64, 448), ("sincnet", 40, 160), ("sincnet+", 40, 280)])
def test_parameter_counts(name, n, expected):
    # sincnet: 2N cut-offs + 2N LayerNorm; sincnet+: 2N cut-offs + N pooling widths + 4N sPCEN
    assert count_parameters(build_frontend(name, n_filters=n)) == expected


def test_sincnet_plus_compression_grid():
    assert count_parameters(build_frontend("sincnet+", n_filters=64, compression="pcen")) == 128 + 64 + 3 * 64
    assert count_parameters(build_frontend("sincnet+", n_filters=64, compression="log")) == 128 + 64
    assert count_parameters(build_frontend("sincnet+", n_filters=64, freeze_filters=True, freeze_pooling=True)) == 256


def test_mel_initialisation():
    fe = build_frontend("sincnet", n_filters=32)
    with torch.no_grad():
        low, high = fe.sinc.cutoffs()
    # adjacent bands share an edge, the edges are equally spaced in mel from 60 to 7800 Hz
    torch.testing.assert_close(low[1:], high[:-1], atol=1e-2, rtol=0)
    edges = torch.cat([low, high[-1:]]).double()
    steps = torch.diff(hz_to_mel(edges))
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps.mean())), atol=1e-3, rtol=1e-4)
    assert abs(float(low[0]) - 60) < 1e-3 and abs(float(high[-1]) - 7800) < 1e-2


def test_filters_pass_their_band():
    fe = build_frontend("sincnet", n_filters=16)
    fb = fe.filters()
    freqs, mag = fb.frequency_response(n_fft=8192)
    low, high = (t.detach() for t in fe.sinc.cutoffs())
    for i in range(16):
        if high[i] - low[i] < 300:  # 401 Hamming taps resolve ~160 Hz: narrow low bands are smeared
            continue
        inside = (freqs > low[i] + 100) & (freqs < high[i] - 100)
        outside = (freqs < low[i] - 300) | (freqs > high[i] + 300)
        assert mag[i, inside].min() > 0.95 and mag[i, inside].max() < 1.05, i
        assert mag[i, outside].max() < 0.01, i
        # the measured FWHM is the band: the windowed sinc is at half amplitude at its cut-offs
        assert abs(float(fb.bandwidth_hz[i]) - float(high[i] - low[i])) < 0.05 * float(high[i] - low[i]) + 10, i


def test_cutoffs_stay_in_range_after_optimiser_steps():
    fe = build_frontend("sincnet+", n_filters=8)
    opt = torch.optim.SGD(fe.parameters(), lr=1e4)
    for sign in (1.0, -1.0):
        for _ in range(3):
            opt.zero_grad()
            low, high = fe.sinc.cutoffs()
            (sign * (low.sum() - 3 * high.sum())).backward()
            opt.step()
        low, high = fe.sinc.cutoffs()
        assert torch.all(low >= 50) and torch.all(high <= 8000)
        assert torch.all((high - low >= 50 - 1e-3) | (high == 8000))
        feats, _ = fe(torch.randn(1, 1600))
        assert torch.isfinite(feats).all()


def test_cutoffs_learn_at_an_ordinary_learning_rate():
    # kept in Hz, the cut-offs moved ~1e-3 Hz per AdamW step at lr 1e-3 and never left their initialisation
    torch.manual_seed(0)
    fe = build_frontend("sincnet", n_filters=8)
    before = fe.sinc.cutoffs()[0].detach().clone()
    opt = torch.optim.AdamW(fe.parameters(), lr=1e-3)
    feats, _ = fe(torch.randn(2, 4000))
    feats.pow(2).mean().backward()
    opt.step()
    moved = (fe.sinc.cutoffs()[0].detach() - before).abs()
    # Adam's first step is ~lr in the parameter's units: 1e-3 of the sample rate is 16 Hz
    assert float(moved.max()) > 8.0, moved
    assert float(moved.max()) < 17.0, moved


@pytest.mark.parametrize("freeze", [False, True])
def test_checkpoint_with_cutoffs_in_hz_loads_to_the_same_filters(freeze):
    torch.manual_seed(0)
    trained = build_frontend("sincnet", n_filters=8, init="random", freeze_filters=freeze)
    sd = trained.state_dict()
    sr = trained.sinc.sample_rate
    # the layout written before the cut-offs were kept in units of the sample rate
    old = {k: v for k, v in sd.items() if k not in ("sinc.low", "sinc.band")}
    old["sinc.low_hz"] = sd["sinc.low"] * sr
    old["sinc.band_hz"] = sd["sinc.band"] * sr
    fresh = build_frontend("sincnet", n_filters=8, init="mel", freeze_filters=freeze)
    wrapper = torch.nn.Module()
    wrapper.frontend = fresh
    wrapper.load_state_dict({"frontend." + k: v for k, v in old.items()})  # strict: every key accounted for
    for a, b in zip(fresh.sinc.cutoffs(), trained.sinc.cutoffs()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-3)
    x = torch.randn(1, 3200)
    torch.testing.assert_close(fresh(x)[0], trained(x)[0], rtol=1e-5, atol=1e-5)


def zero_extended_filter_outputs(fe, x: torch.Tensor, positions: range) -> torch.Tensor:
    """``[N, len(positions)]``: output of each sinc filter at each position, by direct dot products with the
    signal extended by zeros on both sides."""
    h = fe.sinc.impulse_responses()  # [N, K], taps -K//2 .. K//2 (symmetric)
    half = h.shape[1] // 2
    padded = F.pad(x, (1000, 1000))
    cols = [h @ padded[1000 + p - half : 1000 + p + half + 1] for p in positions]
    return torch.stack(cols, dim=1)


# the paper's sizes, and a short window and hop where pooling one position off changes most maxima
SIZES = [(401, 160), (11, 4)]


@pytest.mark.parametrize("window, hop", SIZES)
def test_sincnet_against_frame_by_frame_reference(window, hop):
    torch.manual_seed(0)
    fe = build_frontend("sincnet", n_filters=6, window_length=window, hop_length=hop)
    half = window // 2
    with torch.no_grad():
        fe.norm.weight.uniform_(0.5, 1.5)
        fe.norm.bias.uniform_(-0.5, 0.5)
        x = torch.randn(1000)
        feats, _ = fe(x[None])
        assert feats.shape == (1, 1 + 1000 // hop, 6)
        for j in range(feats.shape[1]):  # frame j pools the outputs at hop j - half .. hop j + half
            y = zero_extended_filter_outputs(fe, x, range(hop * j - half, hop * j + half + 1))
            pooled = F.leaky_relu(y, 0.2).amax(dim=1).clamp(min=1e-5)
            ref = F.layer_norm(pooled, (6,), fe.norm.weight, fe.norm.bias)
            torch.testing.assert_close(feats[0, j], ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("window, hop", SIZES)
@pytest.mark.parametrize("activation", ["leaky_relu", "square"])
def test_sincnet_plus_against_frame_by_frame_reference(activation, window, hop):
    torch.manual_seed(0)
    fe = build_frontend("sincnet+", n_filters=5, activation=activation, compression="log", window_length=window, hop_length=hop)
    half = window // 2
    with torch.no_grad():
        fe.pooling.width.uniform_(0.1, 0.5)
        x = torch.randn(1000)
        feats, _ = fe(x[None])
        assert feats.shape == (1, 1 + 1000 // hop, 5)
        windows = fe.pooling.windows()  # [N, K]
        for j in range(feats.shape[1]):
            y = zero_extended_filter_outputs(fe, x, range(hop * j - half, hop * j + half + 1))
            y = F.leaky_relu(y, 0.2) if activation == "leaky_relu" else y * y
            pooled = (y * windows).sum(dim=1).clamp(min=1e-5)
            torch.testing.assert_close(feats[0, j], torch.log(pooled + 1e-5), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["sincnet", "sincnet+"])
def test_padding_does_not_change_valid_frames(name):
    torch.manual_seed(1)
    fe = build_frontend(name, n_filters=8)
    lengths = torch.tensor([3000, 1111, 160, 7])
    x = torch.randn(4, 3000) * (torch.arange(3000) < lengths[:, None])
    with torch.no_grad():
        feats, n = fe(x, lengths)
        for b in range(4):
            alone, m = fe(x[b : b + 1, : lengths[b]])
            assert int(m[0]) == int(n[b]) == 1 + int(lengths[b]) // 160
            torch.testing.assert_close(feats[b, : n[b]], alone[0], atol=1e-5, rtol=1e-4)
            assert (feats[b, n[b] :] == 0).all()


def test_inspection_and_errors():
    fe = build_frontend("sincnet+", n_filters=8)
    info = fe.inspection()
    assert set(info) >= {"pooling_width", "alpha", "delta", "r", "s"}
    assert torch.allclose(info["pooling_width"], torch.full((8,), 0.4))
    fb = fe.filters()
    assert fb.n_filters == 8 and torch.all(torch.diff(fb.center_hz) > 0)
    with pytest.raises(ValueError, match="activation"):
        build_frontend("sincnet+", activation="relu")
    with pytest.raises(ValueError, match="window_length"):
        build_frontend("sincnet", window_length=400)
    with pytest.raises(ValueError, match="max_hz"):
        build_frontend("sincnet", max_hz=9000.0)


@pytest.mark.parametrize(
    "name, options",
    [("sincnet", {}), ("sincnet+", {"activation": "leaky_relu"}), ("sincnet+", {"activation": "square"})],
)
@pytest.mark.parametrize("dtype, length, tol", [(torch.float64, 1, 1e-10), (torch.float64, 7000, 1e-10), (torch.float32, 16000, 1e-4)])
def test_sinc_fast_paths_equal_direct(name, options, dtype, length, tol):
    """The default (blockwise FFT with the activation and pooling fused -- max-pool for ``sincnet``, Gaussian
    pooling for ``sincnet+`` -- custom backward) against the conv1d reference: features and the gradients of the
    input and of every parameter, after moving the parameters off their initial values."""
    torch.manual_seed(length)
    fast = build_frontend(name, n_filters=8, **options).to(dtype)
    with torch.no_grad():
        for p in fast.parameters():
            p.mul_(1 + 0.3 * torch.rand_like(p))
    direct = build_frontend(name, n_filters=8, impl="direct", **options).to(dtype)
    direct.load_state_dict(fast.state_dict())
    x = torch.randn(2, length, dtype=dtype) * 0.3
    results = []
    for fe in (fast, direct):
        xi = x.clone().requires_grad_()
        feats, _ = fe(xi)
        weights = torch.linspace(-1, 1, feats.numel(), dtype=dtype).reshape(feats.shape)
        results.append((feats,) + torch.autograd.grad((feats * weights).sum(), [xi, *fe.parameters()]))
    names = ["features", "d/dx"] + [n for n, _ in fast.named_parameters()]
    for name, got, ref in zip(names, *results):
        # relative to the tensor's scale; gradients that are nearly zero (1-sample input: 1e-8 and less, where
        # FFT rounding relative to the block's norm dominates) on an absolute 1e-3 scale
        assert float((got - ref).abs().max() / ref.abs().max().clamp(min=1e-3)) < tol, name
