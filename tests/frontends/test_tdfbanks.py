"""`tdfbanks`: Gabor initialisation, the FFT path against the direct reference, closeness to `mel`."""

from __future__ import annotations

import math

import pytest
import torch

from audiofront.frontends import build_frontend, count_parameters
from audiofront.frontends.melscale import fwhm_to_sigma_time, mel_centers_and_fwhm
from audiofront.frontends.responses import measure_center_and_fwhm
from conftest import speech_like

SR = 16000


def test_parameters_are_the_filter_taps():
    for n in (40, 64):
        fe = build_frontend("tdfbanks", n_filters=n)
        assert count_parameters(fe) == 2 * n * 401
        assert [name for name, _ in fe.named_parameters()] == ["weight"]


def test_mel_gabor_initialisation():
    fe = build_frontend("tdfbanks", n_filters=40)
    centres, fwhm = mel_centers_and_fwhm(40, 60.0, 7800.0)
    t = torch.arange(401, dtype=torch.float64) - 200
    for k in (0, 13, 39):
        sigma = float(fwhm_to_sigma_time(fwhm[k].double(), SR))
        omega = 2 * math.pi * float(centres[k]) / SR
        env = torch.exp(-(t**2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
        torch.testing.assert_close(fe.weight[2 * k, 0].double(), env * torch.cos(omega * t), rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(fe.weight[2 * k + 1, 0].double(), env * torch.sin(omega * t), rtol=1e-5, atol=1e-7)
    h = fe.impulse_responses()
    assert h.is_complex() and h.shape == (40, 401)
    torch.testing.assert_close(h.real, fe.weight[0::2, 0].detach())
    torch.testing.assert_close(h.imag, fe.weight[1::2, 0].detach())


def test_filters_are_measured_from_the_responses():
    fe = build_frontend("tdfbanks", n_filters=40)
    bank = fe.filters()
    centres, fwhm = mel_centers_and_fwhm(40, 60.0, 7800.0)
    # 8192-point grid: ~2 Hz spacing
    assert (bank.center_hz - centres).abs().max() < 2.0
    # 401 taps truncate the Gaussian envelope of the narrow low filters, which widens their response
    # (measured: +23% for the first); once the envelope's std is below a third of the half-length,
    # the measured FWHM is the mel one within 3%.
    sigma = fwhm_to_sigma_time(fwhm.double(), SR)
    untruncated = sigma < 200 / 3
    assert untruncated.sum() >= 25
    assert ((bank.bandwidth_hz / fwhm - 1)[untruncated].abs() < 0.03).all()
    assert (bank.bandwidth_hz >= fwhm * 0.99).all()
    # the measurement follows training: move one filter and its measured centre moves with it
    with torch.no_grad():
        t = torch.arange(401) - 200
        fe.weight[0, 0] *= torch.cos(2 * math.pi * 1000.0 / SR * t) * 2
        fe.weight[1, 0] *= torch.cos(2 * math.pi * 1000.0 / SR * t) * 2
    moved = fe.filters().center_hz[0]
    assert abs(float(moved) - (1000.0 + float(centres[0]))) < 30.0


def test_measure_center_and_fwhm_on_a_known_shape():
    freqs = torch.linspace(0, 8000, 8001)
    mag = torch.exp(-0.5 * ((freqs - 3000) / 100.0) ** 2)[None]  # Gaussian: FWHM = 2 sqrt(2 ln 2) * 100
    c, w = measure_center_and_fwhm(freqs, mag)
    assert float(c[0]) == 3000.0
    assert abs(float(w[0]) - 2 * math.sqrt(2 * math.log(2)) * 100) < 0.01


@pytest.mark.parametrize("init", ["mel", "random"])
def test_fft_path_equals_direct_reference(init):
    torch.manual_seed(0)
    fast = build_frontend("tdfbanks", n_filters=12, init=init).double()
    direct = build_frontend("tdfbanks", n_filters=12, init=init, impl="direct").double()
    direct.load_state_dict(fast.state_dict())
    lengths = torch.tensor([5000, 3210])
    x = torch.zeros(2, 5000, dtype=torch.float64)
    x[0] = speech_like(5000 / SR, SR, seed=1).double()
    x[1, :3210] = speech_like(3210 / SR, SR, seed=2).double()
    outs = []
    for fe in (fast, direct):
        xi = x.clone().requires_grad_(True)
        feats, frames = fe(xi, lengths)
        feats.pow(2).sum().backward()
        outs.append((feats.detach(), xi.grad, fe.weight.grad))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9 * float(b.abs().max()))


def test_float32_fft_path_is_close_to_float64():
    x = speech_like(2.0, SR, seed=3)[None]
    fe = build_frontend("tdfbanks")
    ref = build_frontend("tdfbanks", impl="direct").double()(x.double())[0]
    got = fe(x)[0]
    # FFT rounding is relative to each block's loudest part, so it shows most in quiet frames at the log
    # floor (measured max 2e-4 nats over 2 s of speech-like audio); a wrong tap alignment or block overlap
    # is > 1e-1.
    torch.testing.assert_close(got.double(), ref, rtol=0, atol=1e-3)


def test_tracks_mel_at_mel_init():
    x = speech_like(2.0, SR, seed=4)[None]
    mel = build_frontend("mel")(x)[0][0]
    td = build_frontend("tdfbanks")(x)[0][0].detach()
    rand = build_frontend("tdfbanks", init="random")(x)[0][0].detach()

    def corr(a, b):
        return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])

    # Gabor filters with squared-Hann pooling approximate triangle-weighted STFT power, not equal it:
    # measured correlation of the log energies 0.967 (0.47 at random init). 0.95 says "a mel filterbank
    # up to smoothing" -- a wrong centre order, frame offset or scale would drop it well below.
    assert corr(td, mel) > 0.95
    assert corr(rand, mel) < 0.8
    # same frames, same bands: per-channel time courses agree too, in the loud bands that carry speech
    per_channel = [corr(td[:, c], mel[:, c]) for c in range(40)]
    assert sorted(per_channel)[len(per_channel) // 2] > 0.9


def test_compression_option():
    x = speech_like(0.5, SR, seed=5)[None]
    logged = build_frontend("tdfbanks", n_filters=8)(x)[0]
    linear = build_frontend("tdfbanks", n_filters=8, compression="none")(x)[0]
    assert (linear >= 0).all()
    torch.testing.assert_close(torch.log(linear + 1e-5), logged)


@pytest.mark.parametrize(
    "config,word",
    [({"window_length": 400}, "window_length"), ({"n_filters": 0}, "n_filters"), ({"max_hz": 8001.0}, "max_hz"),
     ({"init": "gammatone"}, "init"), ({"log_floor": 0.0}, "log_floor")],
)
def test_bad_configs(config, word):
    with pytest.raises(ValueError, match=word):
        build_frontend("tdfbanks", **config)
