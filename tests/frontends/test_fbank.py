"""`fbank` against kaldi_native_fbank (a C++ port of Kaldi's compute-fbank-feats)."""

from __future__ import annotations

import math

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch

from audiofront.frontends import FrontendInputError, build_frontend
from conftest import speech_like

SR = 16000


def kaldi_fbank(samples_int16_scale: np.ndarray, n_filters=80, high_freq=0.0, window="povey", use_energy=False,
                raw_energy=True, energy_floor=0.0) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SR
    opts.frame_opts.dither = 0.0  # knf's default is 3e-5
    opts.frame_opts.window_type = window
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = n_filters
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = high_freq
    opts.use_energy = use_energy
    opts.raw_energy = raw_energy
    opts.energy_floor = energy_floor
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(SR, samples_int16_scale.tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])


def int16_audio(n: int, seed: int) -> torch.Tensor:
    """Speech-like audio on the int16 grid (what Kaldi reads), as float in [-1, 1]."""
    x = speech_like(n / SR + 0.01, SR, seed=seed, peak=0.7)[:n]
    return torch.round(x * 32768).clamp(-32768, 32767) / 32768


def assert_kaldi_close(ours: np.ndarray, ref: np.ndarray) -> None:
    """Equal up to float32 rounding, with tolerances measured on these signals (ours vs knf, both float32).

    A float32 FFT makes errors relative to the whole frame, not to each band: measured, |energy error| is
    at most 1.2e-5 of the frame's strongest band energy, so the log error is tiny in strong bands (<= 1.3e-4
    nats in bands above 1e-4 of the peak) but reaches ~3e-3 nats in bands 1e-7 below it (20-100 Hz after DC
    removal and pre-emphasis). Our float64 result differs from knf by the same amounts: it is knf's float32
    rounding as much as ours. The bounds below leave 4x margin; any real deviation (window, pre-emphasis,
    mel scale, triangles in Hz instead of mel, the Nyquist bin, frame positions) is > 1e-2 nats in many bands.
    """
    assert ours.shape == ref.shape
    ours, ref = ours.astype(np.float64), ref.astype(np.float64)
    energy, ref_energy = np.exp(ours), np.exp(ref)
    peak = ref_energy.max(axis=1, keepdims=True)
    assert (np.abs(energy - ref_energy) / peak).max() < 5e-5
    strong = ref_energy > 1e-4 * peak
    assert np.abs(ours - ref)[strong].max() < 5e-4
    assert np.median(np.abs(ours - ref)) < 5e-5


@pytest.mark.parametrize("n", [400, 401, 559, 560, 16037, 48000])
def test_matches_kaldi(n):
    x = int16_audio(n, seed=n)
    ours, frames = build_frontend("fbank")(x[None])
    ref = kaldi_fbank((x * 32768).numpy())
    assert int(frames[0]) == ref.shape[0] == 1 + (n - 400) // 160
    assert_kaldi_close(ours[0].numpy(), ref)


@pytest.mark.parametrize(
    "config,kaldi",
    [
        ({"n_filters": 23}, {"n_filters": 23}),
        ({"window_type": "hamming", "high_freq": -400.0}, {"window": "hamming", "high_freq": -400.0}),
        ({"window_type": "hanning", "high_freq": 7000.0}, {"window": "hanning", "high_freq": 7000.0}),
        ({"use_energy": True}, {"use_energy": True}),
        (
            {"use_energy": True, "raw_energy": False, "energy_floor": 1.0},
            {"use_energy": True, "raw_energy": False, "energy_floor": 1.0},
        ),
    ],
)
def test_matches_kaldi_options(config, kaldi):
    x = int16_audio(8123, seed=5)
    x[3000:5000] = 0  # digital silence: energy floors and the log(eps) floor are exercised
    ours, _ = build_frontend("fbank", **config)(x[None])
    ref = kaldi_fbank((x * 32768).numpy(), **kaldi)
    assert_kaldi_close(ours[0].numpy(), ref)
    if config.get("energy_floor"):
        assert ours[0, :, 0].min() >= math.log(1.0) - 1e-6


def test_padded_batch_matches_kaldi_per_utterance():
    lengths = [16037, 400, 9001]
    x = torch.zeros(3, max(lengths))
    for b, n in enumerate(lengths):
        x[b, :n] = int16_audio(n, seed=10 + b)
    feats, frames = build_frontend("fbank")(x, torch.tensor(lengths))
    for b, n in enumerate(lengths):
        ref = kaldi_fbank((x[b, :n] * 32768).numpy())
        assert int(frames[b]) == ref.shape[0]
        assert_kaldi_close(feats[b, : ref.shape[0]].numpy(), ref)
        assert (feats[b, ref.shape[0] :] == 0).all()


def test_input_scale_option():
    x = int16_audio(4000, seed=3)[None]
    scaled, _ = build_frontend("fbank")(x)
    raw, _ = build_frontend("fbank", scale_to_int16=False)(x)
    # power scales by 32768^2, the log by 2 ln 32768, except where the unscaled energy hits the eps floor
    above = scaled > math.log(torch.finfo(torch.float32).eps) + 2 * math.log(32768.0) + 1.0
    assert above.float().mean() > 0.9
    torch.testing.assert_close((raw + 2 * math.log(32768.0))[above], scaled[above], rtol=0, atol=1e-4)


def test_dither():
    x = int16_audio(4000, seed=4)[None]
    fe = build_frontend("fbank", dither=1.0)
    a, b = fe(x)[0], fe(x)[0]
    assert not torch.equal(a, b) and (a - b).abs().median() < 0.05  # dither 1 is 1 int16 step of noise
    torch.manual_seed(0)
    c = fe(x)[0]
    torch.manual_seed(0)
    assert torch.equal(c, fe(x)[0])
    plain = build_frontend("fbank")
    assert torch.equal(plain(x)[0], plain(x)[0])


def test_differentiable_wrt_input():
    fe = build_frontend("fbank", n_filters=10).double()
    x = int16_audio(600, seed=6)[None].double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: fe(w)[0], (x,), eps=1e-7, atol=1e-4, rtol=1e-3, fast_mode=True)


def test_frames_and_short_input():
    fe = build_frontend("fbank")
    assert fe.min_samples == 400 and fe.frame_shift == 160 and fe.output_dim == 80
    assert build_frontend("fbank", use_energy=True).output_dim == 81
    assert fe.num_frames(torch.tensor([0, 399, 400, 559, 560, 16000])).tolist() == [0, 0, 1, 1, 2, 98]
    with pytest.raises(FrontendInputError, match="399 samples is shorter than the 400 samples"):
        fe(torch.zeros(1, 399))


@pytest.mark.parametrize(
    "config,word",
    [({"low_freq": 9000.0}, "low_freq"), ({"high_freq": 9000.0}, "high_freq"), ({"window_type": "kaiser"}, "window_type"),
     ({"n_filters": 0}, "n_filters"), ({"frame_length_ms": 0.05}, "frame_length_ms")],
)
def test_bad_configs(config, word):
    with pytest.raises(ValueError, match=word):
        build_frontend("fbank", **config)
