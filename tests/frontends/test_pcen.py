"""PCEN / sPCEN / log compression: exactness of the smoother, constraints, stability on long inputs."""

import math

import pytest
import torch

from audiofront.frontends.compression import (
    DELTA_MIN,
    PCEN,
    LogCompression,
    build_compression,
    exponential_moving_average,
)


def naive_ema(x, s):
    """The recursion written out frame by frame (float64)."""
    out = torch.empty_like(x)
    state = x[:, :, 0]
    for t in range(x.shape[-1]):
        state = (1 - s)[None] * state + s[None] * x[:, :, t]
        out[:, :, t] = state
    return out


def naive_pcen(x, alpha, delta, r, s, floor=1e-12):
    m = naive_ema(x, s)
    a, d, rr = alpha[None, :, None], delta[None, :, None], r[None, :, None]
    return (x / (floor + m) ** a + d) ** rr - d**rr


@pytest.mark.parametrize("frames", [1, 5, 64, 65, 300])
def test_chunked_ema_equals_recursion(frames):
    torch.manual_seed(0)
    x = torch.rand(2, 4, frames, dtype=torch.float64) * torch.logspace(-5, 2, 4, dtype=torch.float64)[None, :, None]
    s = torch.tensor([1e-3, 0.04, 0.5, 1.0], dtype=torch.float64)
    got = exponential_moving_average(x, s)
    assert torch.allclose(got, naive_ema(x, s), rtol=1e-10, atol=1e-300)


def test_pcen_matches_formula_and_is_causal():
    torch.manual_seed(1)
    pcen = PCEN(3).double()
    with torch.no_grad():
        pcen.alpha.copy_(torch.tensor([0.5, 0.96, 1.0]))
        pcen.delta.copy_(torch.tensor([0.01, 2.0, 10.0]))
        pcen.root.copy_(torch.tensor([1.0, 2.0, 7.0]))
        pcen.smooth.copy_(torch.tensor([0.001, 0.04, 1.0]))
    x = torch.rand(2, 3, 150, dtype=torch.float64) * 10
    ref = naive_pcen(x, pcen.alpha, pcen.delta, 1 / pcen.root, pcen.smooth)
    got = pcen(x)
    assert torch.allclose(got, ref, rtol=1e-10, atol=1e-12)
    # causal: frames appended at the end (batch padding) do not change earlier frames
    longer = torch.cat([x, torch.zeros(2, 3, 40, dtype=torch.float64)], dim=-1)
    assert torch.allclose(pcen(longer)[..., :150], got, rtol=0, atol=1e-12)


def test_parameter_counts_of_the_grid():
    assert sum(p.numel() for p in build_compression("spcen", 64).parameters()) == 256
    assert sum(p.numel() for p in build_compression("pcen", 64).parameters()) == 192
    assert sum(p.numel() for p in build_compression("log", 64).parameters()) == 0
    assert sum(p.numel() for p in build_compression("spcen", 8, learnable=False).parameters()) == 0
    with pytest.raises(ValueError, match="unknown compression 'cubic'"):
        build_compression("cubic", 8)
    with pytest.raises(ValueError, match="delta"):
        PCEN(4, delta=-1.0)


def test_inspection_values_at_init():
    values = build_compression("spcen", 5).parameters_for_inspection()
    assert set(values) == {"alpha", "delta", "r", "s"}
    expected = {"alpha": 0.96, "delta": 2.0, "r": 0.5, "s": 0.04}
    for key, value in expected.items():
        assert values[key].shape == (5,)
        assert torch.allclose(values[key], torch.full((5,), value))
    # pcen: s is fixed, so not a parameter, but still inspected
    pcen = build_compression("pcen", 5)
    assert not any(p is pcen.smooth for p in pcen.parameters())
    assert torch.allclose(pcen.parameters_for_inspection()["s"], torch.full((5,), 0.04))


def long_inputs(seconds=60, hop=160, sr=16000, channels=4):
    """Energies of 60 s of silence, of loud noise and of something with huge jumps ([3, C, F])."""
    frames = 1 + seconds * sr // hop
    torch.manual_seed(2)
    silence = torch.zeros(channels, frames)
    noise = torch.rand(channels, frames) * 100.0
    jumps = torch.where(torch.rand(channels, frames) < 0.5, torch.full((channels, frames), 1e-5), torch.full((channels, frames), 1e3))
    return torch.stack([silence, noise, jumps])


def test_constraints_hold_after_pushing_and_60s_is_finite():
    pcen = PCEN(4)
    opt = torch.optim.SGD(pcen.parameters(), lr=10.0)
    # drive every raw parameter far out of its range, as a bad training run would
    for _ in range(5):
        opt.zero_grad()
        loss = pcen.delta.sum() + pcen.root.sum() - pcen.alpha.sum() + pcen.smooth.sum()
        loss.backward()
        opt.step()
    assert (pcen.delta < 0).all() and (pcen.root < 1).all() and (pcen.alpha > 1).all() and (pcen.smooth < 0).all()
    eff = pcen.parameters_for_inspection()
    assert (eff["delta"] >= DELTA_MIN).all()
    assert ((eff["alpha"] >= 0) & (eff["alpha"] <= 1)).all()
    assert ((eff["r"] > 0) & (eff["r"] <= 1)).all()
    assert ((eff["s"] > 0) & (eff["s"] <= 1)).all()
    x = long_inputs().requires_grad_()
    y = pcen(x)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    # the other side of every range
    with torch.no_grad():
        pcen.alpha.fill_(-3.0)
        pcen.smooth.fill_(5.0)
        pcen.root.fill_(1e4)
        pcen.delta.fill_(1e4)
    assert torch.isfinite(pcen(long_inputs())).all()


def test_long_input_matches_float64_recursion():
    """60 s (6001 frames) at the slowest smoother: the chunked scan stays exact in float32."""
    pcen = PCEN(4, smooth=1e-3)
    x = long_inputs()[1:]
    ref = naive_pcen(x.double(), *(torch.tensor(v, dtype=torch.float64) for v in ([0.96] * 4, [2.0] * 4, [0.5] * 4, [1e-3] * 4)))
    got = pcen(x)
    scale = ref.abs().max()
    assert float((got.double() - ref).abs().max() / scale) < 1e-5


def test_log_compression():
    x = torch.tensor([[[0.0, 1.0, math.e - 1e-5]]])
    assert torch.allclose(LogCompression(1e-5)(x), torch.log(x + 1e-5))
    with pytest.raises(ValueError, match="eps"):
        LogCompression(0.0)
