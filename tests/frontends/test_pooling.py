"""Gaussian lowpass pooling: frame positions, the window formula, constraints."""

import pytest
import torch

from audiofront.frontends.pooling import GaussianLowpass, gaussian_windows


def naive_pool(x, windows, stride):
    """The definition: frame k = sum_j w[j] x[k * stride + j - K // 2], zero outside the signal (float64)."""
    batch, channels, length = x.shape
    k_size = windows.shape[1]
    frames = 1 + length // stride
    out = torch.zeros(batch, channels, frames, dtype=torch.float64)
    for k in range(frames):
        for j in range(k_size):
            n = k * stride + j - k_size // 2
            if 0 <= n < length:
                out[:, :, k] += windows[:, j] * x[:, :, n]
    return out


@pytest.mark.parametrize("length", [1, 159, 160, 161, 400, 401, 1000])
def test_matches_definition(length):
    torch.manual_seed(0)
    pool = GaussianLowpass(3, kernel_size=41, stride=16).double()
    with torch.no_grad():
        pool.width.copy_(torch.tensor([0.05, 0.3, 0.5]))
    x = torch.rand(2, 3, length, dtype=torch.float64)
    got = pool(x)
    assert got.shape == (2, 3, 1 + length // 16)
    assert torch.allclose(got, naive_pool(x, pool.windows(), 16), rtol=1e-12, atol=1e-12)


def test_frames_are_centred_on_multiples_of_the_stride():
    pool = GaussianLowpass(1)
    x = torch.zeros(1, 1, 16000)
    x[0, 0, 3 * 160] = 1.0  # impulse on the centre of frame 3
    y = pool(x)[0, 0]
    assert y.shape == (101,)
    assert int(y.argmax()) == 3 and abs(float(y[3]) - 1.0) < 1e-6  # the window's peak is 1
    # the neighbouring frames see the impulse 160 samples off centre: w = exp(-0.5 (160 / (0.4 * 200))^2)
    assert torch.allclose(y[[2, 4]], torch.exp(torch.tensor(-0.5 * (160 / 80) ** 2)).repeat(2), rtol=1e-5)


def test_window_formula_and_parameters():
    w = gaussian_windows(torch.tensor([0.4]), 401)[0]
    assert w.shape == (401,) and float(w[200]) == 1.0
    assert torch.allclose(w[200 + 80], torch.exp(torch.tensor(-0.5)))  # std = 0.4 * 200 samples
    pool = GaussianLowpass(7)
    assert sum(p.numel() for p in pool.parameters()) == 7  # one width per channel, no bias
    assert sum(p.numel() for p in GaussianLowpass(7, learnable=False).parameters()) == 0
    with pytest.raises(ValueError, match="odd"):
        GaussianLowpass(2, kernel_size=400)


def test_widths_stay_in_range_after_pushing():
    pool = GaussianLowpass(4)
    opt = torch.optim.SGD(pool.parameters(), lr=1.0)
    for sign, steps in ((1.0, 3), (-1.0, 6)):  # out of range one way, then the other way
        for _ in range(steps):
            opt.zero_grad()
            (sign * pool.width * torch.tensor([1.0, -1.0, 1.0, -1.0])).sum().backward()
            opt.step()
        raw = pool.width.detach()
        assert (raw.min() < 2 / 401) and (raw.max() > 0.5)  # the raw values did leave the range
        assert torch.equal(raw[0] < 0, torch.tensor(sign > 0))
        widths = pool.widths
        assert ((widths >= 2 / 401 - 1e-9) & (widths <= 0.5 + 1e-9)).all()
        y = pool(torch.rand(1, 4, 2000))
        assert torch.isfinite(y).all()
