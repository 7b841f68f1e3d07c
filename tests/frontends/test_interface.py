"""The contract every registered frontend honours (see audiofront/frontends/base.py).

Parametrised over ``list_frontends()`` at collection time, so a frontend added to the registry is tested
here without editing this file.
"""

from __future__ import annotations

import functools

import pytest
import torch

from audiofront.frontends import FrontendInputError, build_frontend, count_parameters, list_frontends
from audiofront.frontends.base import centered_num_frames, conv_num_frames
from conftest import speech_like
from vae_fixtures import tiny_vae_checkpoint

NAMES = list_frontends()
SR = 16000

# Frontends that cannot be built without a file: the options every test here builds them with.
# vae: a tiny random VAE checkpoint in the layout `audiofront train --task vae` writes (4 channels, 5 latents)
NEEDS = {"vae": {"checkpoint": tiny_vae_checkpoint()}}

# The frontends of the papers (issue 1); a missing one fails test_all_required_frontends_registered.
REQUIRED = ["2dconv", "fbank", "leaf", "mel", "mel-pcen", "mfcc", "scf", "sincnet", "sincnet+", "tdfbanks", "wav2vec"]

# Learnable parameters: {name: [(config, expected, relative tolerance)]}, the counts the papers give.
PARAM_COUNTS = {
    "mel": [({}, 0, 0.0)],
    "fbank": [({}, 0, 0.0)],
    "mfcc": [({}, 0, 0.0)],
    # alpha, delta, r, s per channel
    "mel-pcen": [({"n_filters": 64}, 4 * 64, 0.0)],
    # 2N real filters of 401 taps
    "tdfbanks": [({"n_filters": 64}, 2 * 64 * 401, 0.0)],
    # low cut and band per filter + LayerNorm scale and shift
    "sincnet": [({"n_filters": 64}, 256, 0.0)],
    # 2 sinc + 1 pooling width + 4 sPCEN per filter
    "sincnet+": [({"n_filters": 64}, 448, 0.0)],
    # 2 Gabor + 1 pooling width + 4 sPCEN per filter
    "leaf": [({"n_filters": 40}, 280, 0.0), ({"n_filters": 64}, 448, 0.0)],
    # arXiv 2509.10031: ~0.28M, 1.48M and 2.28M parameters for C = 8, 80, 128
    "2dconv": [({"n_filters": 8}, 0.28e6, 0.01), ({"n_filters": 80}, 1.48e6, 0.01), ({"n_filters": 128}, 2.28e6, 0.01)],
    "scf": [({}, 40e3, 0.05)],
    "wav2vec": [({}, 4.2e6, 0.02)],
    # frozen by default; fine-tuned: two 8x8 convolutions (1 -> 4 -> 4 channels) and two 4 -> 5 linear heads
    "vae": [({}, 0, 0.0), ({"fine_tune": True}, (4 * 64 + 4) + (4 * 4 * 64 + 4) + 2 * (4 * 5 + 5), 0.0)],
}

# Exact frame counts where the paper fixes them; every frontend also gets the generic checks below.
EXPECTED_FRAMES = {
    **{name: lambda n: centered_num_frames(n, 160) for name in ("mel", "mfcc", "mel-pcen", "tdfbanks", "leaf", "sincnet", "sincnet+", "vae")},
    "fbank": lambda n: conv_num_frames(n, 400, 160),
    # wav2vec 2.0 feature encoder, no padding: kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2
    "wav2vec": lambda n: functools.reduce(
        lambda m, ks: conv_num_frames(m, *ks), [(10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)], n
    ),
}


def _build(name: str, seed: int = 0, **config):
    torch.manual_seed(seed)
    return build_frontend(name, **{**NEEDS.get(name, {}), **config})


@functools.lru_cache(maxsize=None)
def _default(name: str):
    """A frontend with its default config, built once per session (tests that mutate build their own)."""
    return _build(name)


@functools.lru_cache(maxsize=None)
def _signal(seconds: float, seed: int = 0) -> torch.Tensor:
    return speech_like(seconds, SR, seed=seed)


def _lengths_for(fe) -> list[int]:
    """Short to 1 s, including lengths that are not multiples of the frame shift."""
    ms, hop = fe.min_samples, fe.frame_shift
    return sorted({ms, ms + 1, ms + 3 * hop + 7, max(ms, 4000) + hop // 2 + 1, 16000, 16037})


def test_all_required_frontends_registered():
    missing = sorted(set(REQUIRED) - set(NAMES))
    assert not missing, f"frontends not registered: {missing} (registered: {NAMES})"


def test_every_frontend_has_a_parameter_count():
    assert sorted(set(NAMES) - set(PARAM_COUNTS)) == [], "add the paper's parameter count to PARAM_COUNTS"


@pytest.mark.parametrize(
    "name,config,expected,rel",
    [pytest.param(n, c, e, r, id=f"{n}-{c}") for n in PARAM_COUNTS if n in NAMES for c, e, r in PARAM_COUNTS[n]],
)
def test_parameter_count(name, config, expected, rel):
    count = count_parameters(build_frontend(name, **{**NEEDS.get(name, {}), **config}))
    if rel == 0.0:
        assert count == expected
    else:
        assert abs(count - expected) <= rel * expected, f"{name} {config}: {count:,} parameters, paper {expected:,.0f}"


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_frame_counts(name):
    fe = _default(name)
    lengths = _lengths_for(fe)
    total = max(lengths) + 123
    x = torch.zeros(len(lengths), total)
    for b, n in enumerate(lengths):
        x[b, :n] = _signal(1.01, seed=b)[:n]
    lens = torch.tensor(lengths)
    with torch.no_grad():
        feats, frame_lengths = fe(x, lens)
    n_total = int(fe.num_frames(torch.tensor([total]))[0])
    assert tuple(feats.shape) == (len(lengths), n_total, fe.output_dim)
    assert frame_lengths.tolist() == fe.num_frames(lens).tolist()
    assert torch.isfinite(feats).all()
    for b, n in enumerate(frame_lengths.tolist()):
        assert n >= 1, f"{name}: no frame for {lengths[b]} samples (min_samples={fe.min_samples})"
        if n < n_total:
            assert feats[b, n:].abs().max() == 0, f"{name}: frames past frame_lengths are not zero"
        assert feats[b, :n].abs().sum() > 0
    if name in EXPECTED_FRAMES:
        assert frame_lengths.tolist() == EXPECTED_FRAMES[name](lens).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_num_frames_is_consistent(name):
    fe = _default(name)
    n = torch.arange(0, 20000)
    frames = fe.num_frames(n)
    assert (frames[1:] >= frames[:-1]).all(), "num_frames must not decrease with the length"
    assert int(frames[fe.min_samples]) >= 1
    assert int(frames[fe.min_samples - 1]) == 0 or fe.min_samples == 1, "min_samples is not the shortest input"
    # about one frame per frame_shift, give or take the analysis window
    slack = fe.min_samples / fe.frame_shift + 2
    assert ((frames.double() - n.double() / fe.frame_shift).abs() <= slack).all()
    if name in EXPECTED_FRAMES:
        assert torch.equal(frames, EXPECTED_FRAMES[name](n))


@pytest.mark.parametrize("name", NAMES)
def test_padding_does_not_change_valid_frames(name):
    fe = _default(name)
    n = 16037  # not a multiple of any frame shift here
    x = _signal(1.01, seed=3)[:n]
    with torch.no_grad():
        alone, n_alone = fe(x[None])
        batch = torch.zeros(2, n + 2345)
        batch[0, :n] = x
        batch[1] = _signal(1.2, seed=4)[: n + 2345]
        padded, n_padded = fe(batch, torch.tensor([n, n + 2345]))
    frames = int(n_alone[0])
    assert int(n_padded[0]) == frames
    scale = float(alone.abs().max())
    # Same arithmetic on the same numbers up to summation order (batched BLAS/FFT); float32 rounding only.
    torch.testing.assert_close(padded[0, :frames], alone[0], rtol=1e-4, atol=1e-4 * scale)
    assert padded[0, frames:].abs().max() == 0


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    fe = _build(name, seed=1)
    x = (_signal(0.5, seed=5)[None].repeat(2, 1) + 0.01 * torch.randn(2, 8000)).requires_grad_(True)
    feats, frame_lengths = fe(x, torch.tensor([8000, 6000]))
    weights = torch.randn(feats.shape, generator=torch.Generator().manual_seed(0))
    (feats * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    for pname, p in fe.named_parameters():
        if not p.requires_grad:
            continue
        assert p.grad is not None, f"{name}: no gradient reaches {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
        assert p.grad.abs().max() > 0, f"{name}: zero gradient for {pname}"


@functools.lru_cache(maxsize=1)
def _hard_minute() -> torch.Tensor:
    """[1, 60 s]: 20 s of digital silence, 20 s of full-scale white noise, 20 s of hard-clipped speech.

    One batch-1 forward per frontend covers the three cases and a 60 s sequence (the long-input failure
    mode of PCEN-like recursions) at a third of the cost of three separate minutes.
    """
    g = torch.Generator().manual_seed(7)
    silence = torch.zeros(20 * SR)
    noise = torch.rand(20 * SR, generator=g) * 2 - 1
    clipped = (20.0 * _signal(1.0, seed=8)).clamp(-1.0, 1.0).repeat(20)
    return torch.cat([silence, noise, clipped])[None]


@pytest.mark.parametrize("name", NAMES)
def test_finite_on_silence_noise_and_clipping(name):
    fe = _default(name)
    x = _hard_minute()
    with torch.no_grad():
        feats, frame_lengths = fe(x)
    assert int(frame_lengths[0]) == feats.shape[1] > 0
    bad = (~torch.isfinite(feats)).nonzero()
    assert bad.numel() == 0, f"{name}: {bad.shape[0]} non-finite values, first at frame {bad[0, 1].item()}"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(name):
    a, b = _build(name, seed=1234), _build(name, seed=1234)
    x = _signal(0.5, seed=9)[None]
    with torch.no_grad():
        fa, _ = a(x)
        fb, _ = b(x)
    assert torch.equal(fa, fb)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _bad_inputs(fe):
    """(description, call, words the message must contain)."""
    ms = fe.min_samples
    n = max(ms, 2000)
    x = _signal(0.5, seed=10)[:n]
    xb = x[None].repeat(2, 1)
    return [
        ("1-D waveform", lambda: fe(x), ["shape", "[batch, samples]"]),
        ("channel axis", lambda: fe(x[None, None]), ["shape", "mono"]),
        ("int16 samples", lambda: fe((xb * 32767).to(torch.int16)), ["float"]),
        ("int32 samples", lambda: fe((xb * 32767).to(torch.int32)), ["float"]),
        ("wrong sample rate", lambda: fe(xb, sample_rate=8000), ["8000", str(fe.sample_rate)]),
        ("lengths past the end", lambda: fe(xb, torch.tensor([n, n + 1])), ["lengths", str(n + 1)]),
        ("negative lengths", lambda: fe(xb, torch.tensor([n, -1])), ["lengths", "-1"]),
        ("float lengths", lambda: fe(xb, torch.tensor([n * 1.0, n * 1.0])), ["lengths", "integer"]),
        ("lengths of wrong shape", lambda: fe(xb, torch.tensor([n])), ["lengths", "[2]"]),
        ("empty input", lambda: fe(torch.zeros(1, 0)), ["shorter", "0 samples"]),
        ("too short", lambda: fe(torch.zeros(1, ms - 1)), ["shorter", f"{ms - 1} samples"]),
    ]


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise_clear_errors(name):
    fe = _default(name)
    for what, call, words in _bad_inputs(fe):
        with pytest.raises(FrontendInputError) as info:
            call()
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        for word in words:
            assert word in message, f"{name}, {what}: {word!r} not in the error message {message!r}"


# Frontends without a filterbank layer to describe (inspect-filters refuses them with a clear message).
FILTERLESS = {"fbank", "vae"}


@pytest.mark.parametrize("name", NAMES)
def test_filters_description_is_consistent(name):
    bank = _default(name).filters()
    assert (bank is None) == (name in FILTERLESS), f"{name}: filters() is {'None' if bank is None else 'set'}"
    if bank is None:
        return
    n = bank.n_filters
    assert n >= 1 and bank.center_hz.shape == bank.bandwidth_hz.shape == (n,)
    assert torch.isfinite(bank.center_hz).all() and torch.isfinite(bank.bandwidth_hz).all()
    assert (bank.center_hz >= 0).all() and (bank.center_hz <= bank.sample_rate / 2).all()
    assert (bank.bandwidth_hz > 0).all()
    freqs, resp = bank.frequency_response()
    assert resp.shape[0] == n and resp.shape[-1] == freqs.shape[0] and torch.isfinite(resp).all()
