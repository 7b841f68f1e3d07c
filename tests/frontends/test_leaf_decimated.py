"""LEAF with impl="decimated" (per-filter reduced rates, an approximation) against the direct reference.

Without decimation (every filter on all bins) the machinery computes the exact function: tested to float64
rounding. With it, features and every gradient must stay within the stated bounds
(``leaf_decimated.STATED_BOUNDS``, measured by benchmarks/leaf_decimated_error.py).
"""

import math
import shutil

import pytest
import torch

from audiofront.frontends import build_frontend
from audiofront.frontends.gabor import gabor_impulse_responses, sigma_range
from audiofront.frontends.leaf import leaf_energies_direct
from audiofront.frontends.leaf_decimated import (
    STATED_BOUNDS,
    _Geometry,
    decimation_plan,
    leaf_energies_decimated,
    pooling_taps,
)
from audiofront.frontends.native import kernels
from audiofront.frontends.pooling import gaussian_windows
from native_paths import path  # noqa: F401 (the fixture)


def random_parameters(channels, kernel_size, gen):
    """In-range parameters, including both ends of the centre range (bands crossing 0 and Nyquist)."""
    mu = torch.rand(channels, generator=gen, dtype=torch.float64) * math.pi
    mu[0], mu[1] = 0.0, math.pi
    lo, hi = sigma_range(kernel_size)
    sigma = lo + (hi - lo) * torch.rand(channels, generator=gen, dtype=torch.float64)
    width = 2.0 / kernel_size + (0.5 - 2.0 / kernel_size) * torch.rand(channels, generator=gen, dtype=torch.float64)
    return [t.requires_grad_() for t in (mu, sigma, width)]


def energies_and_grads(fn, x, mu, sigma, width, kernel_size, stride, weights):
    h = gabor_impulse_responses(mu, sigma, kernel_size)
    w = gaussian_windows(width, kernel_size)
    out = fn(x, mu, sigma, width, h, w, stride)
    return (out,) + torch.autograd.grad((out * weights).sum(), [x, mu, sigma, width])


def direct(x, mu, sigma, width, h, w, stride):
    return leaf_energies_direct(x, h, w, stride)


def rel(a, b):
    """Max abs difference over the max abs reference value; a gradient that is zero in theory (d/dmu of a
    1-sample input: only the centre tap counts) is compared on an absolute scale of 1e-6, as in test_leaf_fast."""
    return float(((a - b).abs().max() / b.abs().max().clamp(min=1e-6)).detach())


@pytest.mark.parametrize(
    "length, kernel_size, stride, n_fft",
    [(1, 401, 160, None), (161, 401, 160, None), (9000, 401, 160, 1024), (20000, 401, 160, None),
     (3000, 41, 16, None), (3000, 101, 160, None), (3000, 401, 80, 2048)],
)
def test_without_decimation_equals_reference(length, kernel_size, stride, n_fft, path):
    """max_decimation=1 keeps all bins of every filter: the blocks, bands, wrap-around of the bands, pooling
    grid and backward must then give the exact LEAF energies and gradients."""
    gen = torch.Generator().manual_seed(length + kernel_size)
    mu, sigma, width = random_parameters(6, kernel_size, gen)
    x = torch.randn(2, length, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(2, 6, 1 + length // stride, generator=gen, dtype=torch.float64)
    ref = energies_and_grads(direct, x, mu, sigma, width, kernel_size, stride, weights)

    def exact(*args):
        return leaf_energies_decimated(*args, n_fft=n_fft, max_decimation=1)

    got = energies_and_grads(exact, x, mu, sigma, width, kernel_size, stride, weights)
    assert got[0].shape == ref[0].shape
    errors = [rel(a, b) for a, b in zip(got, ref)]
    assert max(errors) < 1e-9, errors


@pytest.mark.parametrize("chunk_elements", [1, 5000])
def test_chunks_of_blocks_change_nothing(chunk_elements, path, monkeypatch):
    """Blocks processed a few at a time (1: one block per chunk) give the same energies and gradients."""
    import audiofront.frontends.leaf_decimated as decimated

    gen = torch.Generator().manual_seed(9)
    mu, sigma, width = random_parameters(8, 401, gen)
    x = torch.randn(3, 30000, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(3, 8, 188, generator=gen, dtype=torch.float64)
    whole = energies_and_grads(leaf_energies_decimated, x, mu, sigma, width, 401, 160, weights)
    monkeypatch.setattr(decimated, "_CHUNK_ELEMENTS", chunk_elements)
    chunked = energies_and_grads(leaf_energies_decimated, x, mu, sigma, width, 401, 160, weights)
    for a, b in zip(chunked, whole):
        assert rel(a, b) < 1e-12


def test_native_and_torch_paths_agree(monkeypatch):
    gen = torch.Generator().manual_seed(3)
    mu, sigma, width = random_parameters(10, 401, gen)
    x = torch.randn(2, 12000, generator=gen, dtype=torch.float64).requires_grad_()
    weights = torch.randn(2, 10, 76, generator=gen, dtype=torch.float64)
    results = {}
    for native in ("1", "0"):
        monkeypatch.setenv("AUDIOFRONT_NATIVE", native)
        results[native] = energies_and_grads(leaf_energies_decimated, x, mu, sigma, width, 401, 160, weights)
    if kernels() is None and shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    for a, b in zip(results["1"], results["0"]):
        assert rel(a, b) < 1e-12


def perturbed_frontend(init, seed, perturb):
    torch.manual_seed(seed)
    fe = build_frontend("leaf", n_filters=40, init=init).double()
    if perturb:  # as benchmarks/leaf_decimated_error.py: moved centres, wider and narrower filters and windows
        gen = torch.Generator().manual_seed(100 + seed)
        with torch.no_grad():
            fe.gabor.center.mul_(torch.exp(0.3 * torch.randn(40, generator=gen, dtype=torch.float64)))
            fe.gabor.inv_bandwidth.mul_(torch.exp(0.5 * torch.randn(40, generator=gen, dtype=torch.float64)))
            fe.pooling.width.mul_(torch.exp(0.5 * torch.randn(40, generator=gen, dtype=torch.float64)))
    return fe


def features_and_grads(fe, impl, x, cotangent):
    fe.config.impl = impl
    xg = x.clone().requires_grad_()
    energies = fe.energies(x)
    feats, _ = fe(xg)
    pcen = list(fe.compression.parameters())
    wrt = [xg, fe.gabor.center, fe.gabor.inv_bandwidth, fe.pooling.width] + pcen
    grads = torch.autograd.grad((feats * cotangent).sum(), wrt)
    return {"energies": energies.detach(), "features": feats.detach(), "d/dx": grads[0], "d/dmu": grads[1],
            "d/dsigma": grads[2], "d/dwidth": grads[3], "d/dpcen": torch.cat([g.flatten() for g in grads[4:]])}


@pytest.mark.parametrize("init, perturb, seed", [("mel", False, 0), ("mel", True, 1), ("random", False, 2),
                                                 ("random", True, 3)])
def test_within_stated_bounds_of_reference(init, perturb, seed, path):
    fe = perturbed_frontend(init, seed, perturb)
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(2, 16000, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5
    cot = torch.randn(2, 101, 40, generator=gen, dtype=torch.float64)
    exact = features_and_grads(fe, "direct", x, cot)
    approx = features_and_grads(fe, "decimated", x, cot)
    errors = {k: rel(approx[k], exact[k]) for k in exact}
    assert all(errors[k] <= STATED_BOUNDS[k] for k in errors), errors
    # the approximation is really used: most filters at a reduced rate
    geo = _Geometry(2, 16000, 401, 160, None)
    rates = decimation_plan(fe.gabor.mu(), fe.gabor.sigma(), fe.pooling.widths, geo)[0]
    assert sum(r >= 8 for r in rates) >= 20, rates


def test_float32_within_stated_bounds():
    fe = perturbed_frontend("mel", 4, True)
    gen = torch.Generator().manual_seed(4)
    x = (torch.rand(1, 40000, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5
    cot = torch.randn(1, 251, 40, generator=gen, dtype=torch.float64)
    exact = features_and_grads(fe, "direct", x, cot)
    fe32 = fe.float()
    approx = features_and_grads(fe32, "decimated", x.float(), cot.float())
    errors = {k: rel(approx[k].double(), exact[k]) for k in exact}
    assert all(errors[k] <= STATED_BOUNDS[k] for k in errors), errors


def test_rates_follow_the_bands():
    """Wide filters or narrow pooling windows need all bins (rate 1); narrow filters with LEAF's initial
    pooling width run at the largest reduction that holds their band and the pooled product; a filter cut high
    on its envelope (the widest sigma) keeps more of its truncation sidelobes."""
    geo = _Geometry(1, 16000, 401, 160, None)
    lo, hi = sigma_range(401)
    mu = torch.full((4,), 1.0, dtype=torch.float64)
    rates = decimation_plan(mu, torch.tensor([60.0, lo, 60.0, hi], dtype=torch.float64),
                            torch.tensor([0.4, 0.4, 2.0 / 401, 0.4], dtype=torch.float64), geo)[0]
    assert rates == [16, 1, 1, 4]
    # the reduced pooling taps weight the window as at the full rate: sum and first moment kept
    # the reduced pooling taps keep the window's sum (a constant is pooled exactly)
    fe = build_frontend("leaf", n_filters=2).double()
    with torch.no_grad():
        fe.pooling.width.copy_(torch.tensor([0.4, 0.1]))
    w = fe.pooling.windows()
    for r in (2, 4, 8, 16, 32):
        taps = pooling_taps(w, r)
        assert torch.allclose(taps.sum(-1), w.sum(-1), rtol=1e-12), r


def test_zero_padding_after_a_sequence_changes_none_of_its_frames(path):
    fe = perturbed_frontend("mel", 5, True)
    fe.config.impl = "decimated"
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(1, 7000, generator=gen, dtype=torch.float64) - 0.5
    alone, _ = fe(x)
    padded, frames = fe(torch.cat([x, torch.zeros(1, 9000, dtype=torch.float64)], dim=1), torch.tensor([7000]))
    assert int(frames[0]) == alone.shape[1]
    assert torch.allclose(padded[:, : alone.shape[1]], alone, rtol=0, atol=1e-12)


def test_state_dict_loads_into_the_exact_paths():
    """A model trained with the decimated path is evaluated exactly: same parameters, same keys."""
    fe = perturbed_frontend("mel", 6, True).float()
    fe.config.impl = "decimated"
    exact = build_frontend("leaf", n_filters=40, impl="fast")
    exact.load_state_dict(fe.state_dict())
    direct_fe = build_frontend("leaf", n_filters=40, impl="direct")
    direct_fe.load_state_dict(fe.state_dict())
    x = torch.rand(2, 16000, generator=torch.Generator().manual_seed(6)) - 0.5
    with torch.no_grad():
        a, b, c = fe(x)[0], exact(x)[0], direct_fe(x)[0]
    assert rel(b, c) < 1e-4  # the exact paths agree with each other
    assert rel(a, c) <= STATED_BOUNDS["features"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_within_stated_bounds():
    fe = perturbed_frontend("mel", 7, True)
    gen = torch.Generator().manual_seed(7)
    x = (torch.rand(2, 16000, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5
    cot = torch.randn(2, 101, 40, generator=gen, dtype=torch.float64)
    exact = features_and_grads(fe, "direct", x, cot)
    approx = features_and_grads(fe.cuda(), "decimated", x.cuda(), cot.cuda())
    errors = {k: rel(approx[k].cpu(), exact[k]) for k in exact}
    assert all(errors[k] <= STATED_BOUNDS[k] for k in errors), errors


def test_a_decimated_frontend_streams_the_exact_frames():
    """Streaming (chunk by chunk, exact by construction) runs the exact LEAF on the same parameters."""
    from audiofront.streaming import stream

    fe = perturbed_frontend("mel", 8, True).float()
    fe.config.impl = "decimated"
    x = torch.rand(1, 8000, generator=torch.Generator().manual_seed(8)) - 0.5
    s = stream(fe)
    out = torch.cat([s.push(x[0, :3000]), s.push(x[0, 3000:]), s.flush()])
    fe.config.impl = "fast"
    with torch.no_grad():
        exact = fe(x)[0][0]
    assert out.shape == exact.shape
    assert rel(out, exact) < 1e-4
