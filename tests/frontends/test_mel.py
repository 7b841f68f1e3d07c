"""`mel`, `mfcc` and MelEnergies against an independent numpy reference and known signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from audiofront.frontends import build_frontend, count_parameters
from audiofront.frontends.mel import MelEnergies
from audiofront.frontends.melscale import mel_centers_and_fwhm
from conftest import speech_like

SR = 16000


def numpy_log_mel(x: np.ndarray, n_filters=40, min_hz=60.0, max_hz=7800.0, win=401, hop=160, n_fft=512, floor=1e-5):
    """The LEAF log-mel written out in float64 numpy: centred frames, Hann, |rfft|^2, HTK triangles."""
    half = win // 2
    padded = np.concatenate([np.zeros(half), x.astype(np.float64), np.zeros(half + hop)])
    n_frames = 1 + len(x) // hop
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / (win - 1))  # symmetric, peak on the middle tap
    frames = np.stack([padded[i * hop : i * hop + win] for i in range(n_frames)])  # frame i centred on i*hop
    power = np.abs(np.fft.rfft(frames * hann, n=n_fft)) ** 2  # where the zeros go only changes the phase
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(mel(min_hz), mel(max_hz), n_filters + 2) / 2595) - 1)
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    tri = np.zeros((len(freqs), n_filters))
    for c in range(n_filters):
        lo, mid, hi = edges[c : c + 3]
        tri[:, c] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return np.log(power @ tri + floor)


@pytest.mark.parametrize("n", [1, 159, 160, 16000, 16037])
@pytest.mark.parametrize("n_filters", [40, 64])
def test_mel_matches_numpy_reference(n, n_filters):
    x = speech_like(1.01, seed=1)[:n]
    ref = numpy_log_mel(x.numpy(), n_filters=n_filters)
    got, frames = build_frontend("mel", n_filters=n_filters)(x[None])
    assert got.shape == (1, 1 + n // 160, n_filters) == (1,) + ref.shape
    # float32 STFT vs float64: measured median 3e-7 nats, max 1.2e-4 in the quietest bands (float32 rounding
    # is relative to the whole frame); a frame off by one sample or a wrong filter edge is > 1e-2.
    np.testing.assert_allclose(got[0].numpy(), ref, atol=5e-4, rtol=0)
    assert np.median(np.abs(got[0].numpy() - ref)) < 2e-6


def test_frames_are_centred_on_multiples_of_the_hop():
    # A unit impulse on sample 1600 is seen by frame 10 through the middle of the Hann window (weight 1):
    # its power spectrum is exactly 1 in every bin, so each mel energy is the sum of that filter's weights.
    energies = MelEnergies()
    x = torch.zeros(1, 4000, dtype=torch.float64)
    x[0, 1600] = 1.0
    e = energies.double()(x)[0]  # [C, F]
    torch.testing.assert_close(e[:, 10], energies.mel_matrix.double().sum(0), rtol=1e-12, atol=1e-12)
    # Frames 9 and 11 see it 160 samples off-centre, with the same (symmetric) window weight.
    torch.testing.assert_close(e[:, 9], e[:, 11], rtol=1e-12, atol=1e-12)
    w = 0.5 - 0.5 * math.cos(2 * math.pi * 40 / 400)  # Hann tap 40 of 401
    # (the window buffer is float32, hence 1e-6)
    torch.testing.assert_close(e[:, 9], w**2 * energies.mel_matrix.double().sum(0), rtol=1e-6, atol=1e-12)
    assert e[:, 8].abs().max() == 0 and e[:, 12].abs().max() == 0  # beyond +-200 samples


def test_a_tone_lights_up_its_mel_filter():
    centres, _ = mel_centers_and_fwhm(40, 60.0, 7800.0)
    fe = build_frontend("mel")
    t = torch.arange(SR) / SR
    for k in (3, 17, 30, 38):
        tone = 0.3 * torch.sin(2 * math.pi * float(centres[k]) * t)
        feats, _ = fe(tone[None])
        assert int(feats[0, 20:80].mean(0).argmax()) == k


def test_mfcc_is_the_orthonormal_dct_of_log_mel():
    x = speech_like(0.5, seed=2)[None]
    log_mel, _ = build_frontend("mel", n_filters=40)(x)
    mfcc, n = build_frontend("mfcc", n_filters=40, n_ceps=13)(x)
    ref = scipy.fft.dct(log_mel.double().numpy(), type=2, norm="ortho", axis=-1)[..., :13]
    np.testing.assert_allclose(mfcc.numpy(), ref, atol=2e-4 * np.abs(ref).max(), rtol=0)
    full, _ = build_frontend("mfcc", n_filters=40, n_ceps=40)(x)
    # orthonormal: energy preserved, and the inverse DCT gives back the log mel
    back = scipy.fft.idct(full.double().numpy(), type=2, norm="ortho", axis=-1)
    np.testing.assert_allclose(back, log_mel.double().numpy(), atol=1e-4, rtol=0)


def test_mel_energies_are_the_linear_power():
    x = speech_like(0.5, seed=3)[None]
    fe = build_frontend("mel", n_filters=64)
    e = MelEnergies(n_filters=64)(x)
    assert e.shape == (1, 64, 1 + x.shape[1] // 160) and (e >= 0).all()
    torch.testing.assert_close(torch.log(e + 1e-5).transpose(1, 2), fe(x)[0])
    assert count_parameters(MelEnergies()) == 0 and len(list(MelEnergies().parameters())) == 0


def test_gradient_wrt_input_is_exact():
    fe = build_frontend("mel", n_filters=8).double()
    x = speech_like(0.05, seed=4)[None, :600].double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: fe(w)[0], (x,), eps=1e-6, atol=1e-5, fast_mode=True)
    fe = build_frontend("mfcc", n_filters=8, n_ceps=4).double()
    assert torch.autograd.gradcheck(lambda w: fe(w)[0], (x,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_filters_describe_the_mel_triangles():
    fe = build_frontend("mel", n_filters=40)
    bank = fe.filters()
    centres, fwhm = mel_centers_and_fwhm(40, 60.0, 7800.0)
    torch.testing.assert_close(bank.center_hz, centres)
    torch.testing.assert_close(bank.bandwidth_hz, fwhm)
    freqs, resp = bank.frequency_response()
    assert resp.shape == (40, 257) and freqs.shape == (257,)
    peaks = freqs[resp.argmax(-1)]
    assert ((peaks - centres).abs() <= 16000 / 512).all()  # within one FFT bin of the nominal centre


@pytest.mark.parametrize(
    "name,config,words",
    [
        ("mel", {"max_hz": 9000.0}, ["max_hz", "Nyquist"]),
        ("mel", {"min_hz": 500.0, "max_hz": 400.0}, ["min_hz"]),
        ("mel", {"window_length": 600}, ["window_length", "n_fft"]),
        ("mel", {"n_filters": 0}, ["n_filters"]),
        ("mel", {"log_floor": 0.0}, ["log_floor"]),
        ("mfcc", {"n_ceps": 41}, ["n_ceps", "40"]),
    ],
)
def test_bad_configs(name, config, words):
    with pytest.raises(ValueError) as info:
        build_frontend(name, **config)
    for word in words:
        assert word in str(info.value)
