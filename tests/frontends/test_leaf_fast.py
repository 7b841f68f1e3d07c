"""The fast LEAF energies (block FFTs, fused pooling, custom backward) against the direct reference."""

import math

import pytest
import torch

from audiofront.frontends import build_frontend
from audiofront.frontends.gabor import gabor_impulse_responses, sigma_range
from audiofront.frontends.leaf import leaf_energies_direct
from audiofront.frontends.leaf_fast import leaf_energies_fast, max_pooled_filterbank_fast, pooled_filterbank_fast
from audiofront.frontends.pooling import gaussian_windows
from native_paths import path  # noqa: F401 (the fixture)


def edge_parameters(channels, kernel_size, generator, dtype):
    """Random constrained parameters, a third of them exactly on a bound of their range."""

    def draw(lo, hi):
        u = torch.rand(channels, generator=generator, dtype=torch.float64)
        pick = torch.randint(0, 3, (channels,), generator=generator)
        value = torch.where(pick == 0, torch.full_like(u, lo), torch.where(pick == 1, torch.full_like(u, hi), lo + (hi - lo) * u))
        return value.to(dtype).requires_grad_()

    mu = draw(0.0, math.pi)
    sigma = draw(*sigma_range(kernel_size))
    width = draw(2.0 / kernel_size, 0.5)
    return mu, sigma, width


def energies_and_grads(fn, x, mu, sigma, width, kernel_size, stride, weights):
    h = gabor_impulse_responses(mu, sigma, kernel_size)
    w = gaussian_windows(width, kernel_size)
    out = fn(x, h, w, stride)
    grads = torch.autograd.grad((out * weights).sum(), [x, mu, sigma, width])
    return (out,) + grads


def relative_errors(fast, ref):
    """Max abs difference over the max abs reference value, per tensor. A gradient that is exactly zero in
    theory (e.g. d/dmu for a 1-sample input, where only the centre tap counts) is compared on an absolute
    scale of 1e-6 instead."""
    names = ("energies", "d/dx", "d/dmu", "d/dsigma", "d/dwidth")
    return {
        n: float((a - b).abs().max() / b.abs().max().clamp(min=1e-6)) for n, a, b in zip(names, fast, ref)
    }


@pytest.mark.parametrize(
    "length, kernel_size, stride, n_fft, save_limit",
    [
        (1, 401, 160, None, None),
        (100, 401, 160, None, 0),
        (160, 401, 160, None, None),
        (161, 401, 160, None, 0),
        (1999, 401, 160, None, None),
        (9000, 401, 160, 1024, None),  # many small blocks, kept filter outputs
        (9000, 401, 160, 1024, 0),  # many small blocks, recomputed in backward
        (20000, 401, 160, None, 0),
        (3000, 41, 16, None, None),  # other geometries: window over several strides
        (3000, 101, 160, None, 0),  # stride longer than the window
        (3000, 401, 80, 2048, None),
    ],
)
def test_float64_equal_to_reference(length, kernel_size, stride, n_fft, save_limit, path):
    gen = torch.Generator().manual_seed(length + kernel_size)
    mu, sigma, width = edge_parameters(6, kernel_size, gen, torch.float64)
    x = torch.randn(2, length, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(2, 6, 1 + length // stride, generator=gen, dtype=torch.float64)
    ref = energies_and_grads(leaf_energies_direct, x, mu, sigma, width, kernel_size, stride, weights)

    def fast(*args):
        return leaf_energies_fast(*args, n_fft=n_fft, save_limit=save_limit)

    got = energies_and_grads(fast, x, mu, sigma, width, kernel_size, stride, weights)
    assert got[0].shape == ref[0].shape
    errors = relative_errors(got, ref)
    assert max(errors.values()) < 1e-10, errors


@pytest.mark.parametrize("seconds, channels", [(0.1, 16), (1.0, 16), (4.0, 8), (60.0, 1)])
def test_float32_within_1e4_of_reference(seconds, channels, path):
    """The acceptance criterion: outputs and every gradient within 1e-4 of the output scale in float32.

    Measured: about 1e-6 for every tensor at every length (float32 rounding of either implementation; the
    reference computed by two conv1d backends differs from itself by 1e-7 to 2e-6).
    """
    length = int(seconds * 16000)
    gen = torch.Generator().manual_seed(channels)
    mu, sigma, width = edge_parameters(channels, 401, gen, torch.float32)
    x = (torch.rand(1, length, generator=gen) * 2 - 1).requires_grad_()
    weights = torch.randn(1, channels, 1 + length // 160, generator=gen)
    # Same op either way. Up to a few seconds, oneDNN's conv1d is ~10x slower than the plain kernels for these
    # shapes; beyond, the plain kernels' im2col buffer (401 x T floats: 1.5 GB at 60 s) costs more.
    with torch.backends.mkldnn.flags(enabled=seconds > 10):
        ref = energies_and_grads(leaf_energies_direct, x, mu, sigma, width, 401, 160, weights)
    got = energies_and_grads(leaf_energies_fast, x, mu, sigma, width, 401, 160, weights)
    errors = relative_errors(got, ref)
    assert max(errors.values()) < 1e-4, errors


@pytest.mark.parametrize("compression", ["spcen", "log"])
def test_frontend_fast_equals_direct(compression):
    """Whole frontend (floor, compression, masking) at random in-range parameters: features and gradients."""
    torch.manual_seed(0)
    fe = build_frontend("leaf", n_filters=12, compression=compression)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in fe.parameters():
            p.mul_(0.5 + torch.rand(p.shape, generator=gen))
    x = torch.randn(3, 12345, generator=gen) * torch.tensor([[1.0], [0.01], [0.3]])
    lengths = torch.tensor([12345, 7000, 160])
    weights = torch.randn(3, 1 + 12345 // 160, 12, generator=gen)
    results = {}
    for impl in ("direct", "fast"):
        feats, frames = fe(x, lengths) if impl == "fast" else _direct(fe, x, lengths)
        grads = torch.autograd.grad((feats * weights).sum(), list(fe.parameters()))
        results[impl] = (feats, frames, grads)
    (fd, nd, gd), (ff, nf, gf) = results["direct"], results["fast"]
    assert torch.equal(nd, nf)
    assert float((ff - fd).abs().max() / fd.abs().max()) < 1e-4
    for (name, _), a, b in zip(fe.named_parameters(), gf, gd):
        assert float((a - b).abs().max() / b.abs().max()) < 1e-4, name


def _direct(fe, x, lengths):
    fe.config.impl = "direct"
    try:
        return fe(x, lengths)
    finally:
        fe.config.impl = "fast"


def test_input_gradient_only_when_asked_and_no_grad_forward():
    fe = build_frontend("leaf", n_filters=4)
    x = torch.randn(1, 4000)
    with torch.no_grad():
        a, _ = fe(x)
    b, _ = fe(x)
    assert torch.equal(a, b.detach())
    b.sum().backward()
    assert x.grad is None and all(p.grad is not None for p in fe.parameters())


@pytest.mark.parametrize("wanted", [("x",), ("taps",), ("windows",), ("x", "windows"), ("taps", "windows")])
def test_partial_gradients_equal_full_ones(wanted, path):
    """Only the asked-for gradients are computed (the kernels skip the others); each equals the one computed
    with every gradient."""
    gen = torch.Generator().manual_seed(3)
    inputs = {
        "x": torch.randn(2, 3000, generator=gen, dtype=torch.float64),
        "taps": torch.randn(8, 401, generator=gen, dtype=torch.float64) / 20,
        "windows": torch.rand(4, 401, generator=gen, dtype=torch.float64),
    }
    weights = torch.randn(2, 4, 1 + 3000 // 160, generator=gen, dtype=torch.float64)

    def grads(names):
        leaves = {k: v.clone().requires_grad_(k in names) for k, v in inputs.items()}
        out = pooled_filterbank_fast(leaves["x"], leaves["taps"], leaves["windows"], 160, "modulus2")
        return dict(zip(names, torch.autograd.grad((out * weights).sum(), [leaves[k] for k in names])))

    full = grads(("x", "taps", "windows"))
    for name, value in grads(wanted).items():
        torch.testing.assert_close(value, full[name], rtol=1e-12, atol=1e-12)


def test_rejects_even_filters():
    h = torch.zeros(2, 400, dtype=torch.complex64)
    with pytest.raises(ValueError, match="odd"):
        leaf_energies_fast(torch.zeros(1, 100), h, torch.ones(2, 400), 160)


def pooled_direct(x, taps, windows, stride, activation, slope):
    """The obviously-correct form of ``pooled_filterbank_fast``: full-rate conv1d, activation, strided pooling."""
    k = taps.shape[-1]
    half = k // 2
    last = (x.shape[-1] // stride) * stride
    ext = torch.nn.functional.pad(x, (2 * half, max(0, last + 2 * half + 1 - x.shape[-1])))
    y = torch.nn.functional.conv1d(ext[:, None], taps[:, None])[..., : last + 2 * half + 1]  # positions -half..
    if activation == "leaky_relu":
        a = torch.nn.functional.leaky_relu(y, slope)
    elif activation == "square":
        a = y.square()
    else:
        c = windows.shape[0]
        a = y[:, :c].square() + y[:, c:].square()
    return torch.nn.functional.conv1d(a, windows[:, None], stride=stride, groups=windows.shape[0])


@pytest.mark.parametrize("activation", ["square", "leaky_relu", "modulus2"])
@pytest.mark.parametrize("length, n_fft, save_limit", [(1, None, None), (1000, None, 0), (9000, 1024, None), (9000, 1024, 0)])
def test_pooled_filterbank_float64_equal_to_conv1d(activation, length, n_fft, save_limit, path):
    """Arbitrary real taps (as tdfbanks and sincnet+ learn them), every activation, against conv1d."""
    gen = torch.Generator().manual_seed(length)
    channels, k, stride, slope = 5, 401, 160, 0.2
    rows = 2 * channels if activation == "modulus2" else channels
    taps = (torch.randn(rows, k, generator=gen, dtype=torch.float64) / 20).requires_grad_()
    windows = torch.rand(channels, k, generator=gen, dtype=torch.float64).requires_grad_()
    x = torch.randn(2, length, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(2, channels, 1 + length // stride, generator=gen, dtype=torch.float64)
    results = []
    for fn in (pooled_direct, lambda *a: pooled_filterbank_fast(*a[:4], a[4], a[5], n_fft=n_fft, save_limit=save_limit)):
        out = fn(x, taps, windows, stride, activation, slope)
        results.append((out,) + torch.autograd.grad((out * weights).sum(), [x, taps, windows]))
    for name, got, ref in zip(("out", "d/dx", "d/dtaps", "d/dwindows"), *results):
        assert got.shape == ref.shape, name
        assert float((got - ref).abs().max() / ref.abs().max()) < 1e-10, name


def test_pooled_filterbank_rejects_bad_shapes():
    x = torch.randn(1, 1000)
    with pytest.raises(ValueError, match="activation must be one of"):
        pooled_filterbank_fast(x, torch.randn(3, 11), torch.rand(3, 11), 4, "relu")
    with pytest.raises(ValueError, match="needs 6 filters"):
        pooled_filterbank_fast(x, torch.randn(3, 11), torch.rand(3, 11), 4, "modulus2")
    with pytest.raises(ValueError, match="must have the filters' 11 taps"):
        pooled_filterbank_fast(x, torch.randn(3, 11), torch.rand(3, 9), 4, "square")


@pytest.mark.parametrize("slope", [0.2, 0.0])
@pytest.mark.parametrize("length, n_fft", [(1, None), (1000, None), (9000, 1024), (20000, None)])
def test_max_pooled_filterbank_float64_equal_to_conv1d(length, n_fft, slope):
    """SincNet's pipeline: conv1d, LeakyReLU, max-pool over the zero-extended signal's outputs."""
    gen = torch.Generator().manual_seed(length)
    k, stride = 401, 160
    taps = (torch.randn(5, k, generator=gen, dtype=torch.float64) / 20).requires_grad_()
    x = torch.randn(2, length, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(2, 5, 1 + length // stride, generator=gen, dtype=torch.float64)

    def direct(x, taps):
        half = k // 2
        last = (x.shape[-1] // stride) * stride
        ext = torch.nn.functional.pad(x, (2 * half, max(0, last + 2 * half + 1 - x.shape[-1])))
        y = torch.nn.functional.conv1d(ext[:, None], taps[:, None])[..., : last + 2 * half + 1]
        return torch.nn.functional.max_pool1d(torch.nn.functional.leaky_relu(y, slope), k, stride)

    results = []
    for fn in (direct, lambda a, h: max_pooled_filterbank_fast(a, h, stride, slope, n_fft)):
        out = fn(x, taps)
        results.append((out,) + torch.autograd.grad((out * weights).sum(), [x, taps]))
    for name, got, ref in zip(("out", "d/dx", "d/dtaps"), *results):
        assert got.shape == ref.shape, name
        assert float((got - ref).abs().max() / ref.abs().max()) < 1e-10, name
    with pytest.raises(ValueError, match="negative_slope >= 0"):
        max_pooled_filterbank_fast(x, taps, stride, -0.1)


def test_without_a_compiler_the_pytorch_path_runs(tmp_path, monkeypatch):
    """No working C compiler: one warning naming the cause, then the same values from PyTorch operations."""
    from audiofront.frontends import native

    monkeypatch.setattr(native, "_tried", False)
    monkeypatch.setattr(native, "_loaded", None)
    monkeypatch.setenv("AUDIOFRONT_NATIVE", "1")
    monkeypatch.setenv("AUDIOFRONT_CACHE", str(tmp_path))  # nothing built there yet
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.warns(UserWarning, match="fused CPU kernels unavailable"):
        assert native.kernels() is None
    assert native.kernels() is None  # decided once per process
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2000, generator=gen, dtype=torch.float64)
    taps = torch.randn(4, 401, generator=gen, dtype=torch.float64) / 20
    windows = torch.rand(2, 401, generator=gen, dtype=torch.float64)
    ref = pooled_direct(x, taps, windows, 160, "modulus2", 0.0)
    got = pooled_filterbank_fast(x, taps, windows, 160, "modulus2")
    assert float((got - ref).abs().max() / ref.abs().max()) < 1e-10
