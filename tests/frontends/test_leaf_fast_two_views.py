"""COLA's pattern on the fast LEAF path: two forwards (anchor and positive views) before one backward.

The fast path keeps intermediates from forward to backward; they must belong to each call (on its autograd
context), not to the module or the process, or the second forward would overwrite what the first one's
backward needs. Gradients of both inputs and of every parameter are compared with the direct reference,
on the fused C kernels and the PyTorch path, with kept and with recomputed intermediates.
"""

from __future__ import annotations

import pytest
import torch

from audiofront.frontends import build_frontend
from audiofront.frontends.gabor import gabor_impulse_responses
from audiofront.frontends.leaf import leaf_energies_direct
from audiofront.frontends.leaf_fast import leaf_energies_fast
from audiofront.frontends.pooling import gaussian_windows

from test_leaf_fast import edge_parameters, path  # noqa: F401 - the fixture runs both paths


def _two_views_then_backward(fn, x1, x2, mu, sigma, width, w1, w2):
    h = gabor_impulse_responses(mu, sigma, 401)
    win = gaussian_windows(width, 401)
    e1 = fn(x1, h, win, 160)  # first forward ...
    e2 = fn(x2, h, win, 160)  # ... second forward before any backward
    # a loss coupling the two views (as the similarity of anchor and positive does)
    loss = (e1 * w1).sum() + (e2 * w2).sum() + (e1.mean(-1) * e2.mean(-1)).sum()
    return (e1, e2) + torch.autograd.grad(loss, [x1, x2, mu, sigma, width])


@pytest.mark.parametrize("save_limit", [None, 0])
def test_two_forwards_one_backward_equal_direct(save_limit, path):  # noqa: F811
    gen = torch.Generator().manual_seed(11)
    mu, sigma, width = edge_parameters(6, 401, gen, torch.float64)
    # views of different lengths and content, so that mixing up their saved states cannot go unnoticed
    x1 = torch.randn(2, 4000, generator=gen, dtype=torch.float64).requires_grad_()
    x2 = (0.3 * torch.randn(2, 2500, generator=gen, dtype=torch.float64)).requires_grad_()
    w1 = torch.randn(2, 6, 1 + 4000 // 160, generator=gen, dtype=torch.float64)
    w2 = torch.randn(2, 6, 1 + 2500 // 160, generator=gen, dtype=torch.float64)

    def fast(*args):
        return leaf_energies_fast(*args, save_limit=save_limit)

    ref = _two_views_then_backward(leaf_energies_direct, x1, x2, mu, sigma, width, w1, w2)
    got = _two_views_then_backward(fast, x1, x2, mu, sigma, width, w1, w2)
    names = ("energies 1", "energies 2", "d/dx1", "d/dx2", "d/dmu", "d/dsigma", "d/dwidth")
    for name, a, b in zip(names, got, ref):
        assert a.shape == b.shape, name
        assert float((a - b).abs().max() / b.abs().max().clamp(min=1e-6)) < 1e-10, name


def test_frontend_two_views_equal_direct(path):  # noqa: F811
    """The whole frontend (compression included) called twice, then one backward: fast == direct."""
    torch.manual_seed(0)
    fe = build_frontend("leaf", n_filters=8, init="random")
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(3, 6000, generator=gen)
    p = a + 0.05 * torch.randn(3, 6000, generator=gen)
    lens = torch.full((3,), 6000)
    results = {}
    for impl in ("direct", "fast"):
        fe.config.impl = impl
        try:
            fa, _ = fe(a, lens)
            fp, _ = fe(p, lens)
        finally:
            fe.config.impl = "fast"
        sim = fa.mean(1) @ fp.mean(1).t()
        loss = torch.nn.functional.cross_entropy(sim, torch.arange(3))
        results[impl] = torch.autograd.grad(loss, list(fe.parameters()))
    for (name, _), g_fast, g_direct in zip(fe.named_parameters(), results["fast"], results["direct"]):
        assert float((g_fast - g_direct).abs().max() / g_direct.abs().max().clamp(min=1e-8)) < 1e-4, name
