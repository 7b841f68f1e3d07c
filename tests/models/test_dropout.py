"""FastDropout against an element-by-element reference on the same random draws, and against dropout's
statistics."""

import math
import struct
import sys

import pytest
import torch
from torch import nn

from audiofront.models.conformer import ConformerConfig, ConformerEncoder
from audiofront.models.dropout import FastDropout, drop_threshold, fast_dropout


def reference_dropout(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    """The same 64-bit draws, cut into 16-bit integers one at a time with struct, compared one by one."""
    n = x.numel()
    g = torch.Generator().manual_seed(seed)
    words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None, generator=g).tolist()
    lanes = []
    for w in words:
        lanes.extend(struct.unpack("=4h", w.to_bytes(8, sys.byteorder, signed=True)))
    cut = round(p * 65536) - 32768
    out = [v / (1 - p) if lane >= cut else 0.0 for v, lane in zip(x.flatten().tolist(), lanes)]
    return torch.tensor(out, dtype=x.dtype).view(x.shape)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.73])
@pytest.mark.parametrize("shape", [(7,), (3, 5, 11), (2, 4, 9, 9)])
def test_mask_equals_the_element_by_element_reference(p, shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    got = FastDropout(p)(x)
    torch.testing.assert_close(got, reference_dropout(x, p, 123), rtol=1e-6, atol=0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_rate_is_p_in_every_lane(p):
    # the four int16 lanes of a 64-bit word each keep with probability 1 - p (a draw that leaves the sign
    # bit at 0 keeps one lane in four always, a drop rate of 0.75 p)
    torch.manual_seed(0)
    n = 400_000
    keep = (fast_dropout(torch.ones(n), p) > 0).double().view(-1, 4)
    sigma = math.sqrt(p * (1 - p) / (n / 4))
    for lane in range(4):
        assert abs(keep[:, lane].mean().item() - (1 - p)) < 5 * sigma, lane
    assert abs(drop_threshold(p) + 32768 - p * 65536) <= 0.5


def test_scaling_keeps_the_mean_and_gradient_is_the_mask():
    torch.manual_seed(3)
    x = torch.randn(50_000, requires_grad=True)
    y = fast_dropout(x, 0.2)
    kept = y != 0
    torch.testing.assert_close(y[kept], x.detach()[kept] / 0.8)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.8)
    assert abs(kept.float().mean().item() - 0.8) < 0.01


def test_seeded_reproducible_and_fresh_masks_per_call():
    x = torch.ones(1000)
    torch.manual_seed(5)
    a, b = fast_dropout(x, 0.5), fast_dropout(x, 0.5)
    torch.manual_seed(5)
    assert torch.equal(fast_dropout(x, 0.5), a)
    assert not torch.equal(a, b)


def test_eval_mode_p0_and_p1():
    x = torch.randn(100)
    m = FastDropout(0.3).eval()
    assert torch.equal(m(x), x)
    assert torch.equal(fast_dropout(x, 0.0), x)
    assert torch.equal(fast_dropout(x, 1.0), torch.zeros(100))
    # p below 2^-17 rounds to no drops at all: torch's dropout is used instead of silently keeping everything
    torch.manual_seed(0)
    y = fast_dropout(torch.ones(2_000_000), 5e-6)
    assert 0 < int((y == 0).sum()) < 40


def test_is_an_nn_dropout_with_no_state():
    m = FastDropout(0.1)
    assert isinstance(m, nn.Dropout) and m.p == 0.1 and m.state_dict() == {}


def test_conformer_uses_it():
    enc = ConformerEncoder(8, 40.0, ConformerConfig(d_model=16, num_layers=1, num_heads=2, ff_dim=32, conv_kernel=3))
    drops = [m for m in enc.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 8 and all(isinstance(m, FastDropout) for m in drops)
