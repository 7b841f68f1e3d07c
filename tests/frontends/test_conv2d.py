"""``2dconv`` (arXiv 2509.10031): parameter counts, exact frame counts, the first layer against a direct
computation, length-aware normalisation, padding invariance, gammatone init and the filter measurements."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from audiofront.frontends import build_frontend, count_parameters
from audiofront.frontends.conv2d import normalize_waveforms
from audiofront.frontends.responses import filterbank_from_taps
from audiofront.frontends.gammatone import erb_centers

CONV2D = 320 + 18_496 + 3 * 36_928 + 18_464  # the six 3x3 Conv2d with biases: 148,064


@pytest.mark.parametrize("c, expected", [(8, 281_696), (80, 1_479_776), (128, 2_278_496)])
def test_parameter_counts(c, expected):
    # C * 256 (first layer) + 148,064 (Conv2d) + 32 * C * 512 + 512 (projection): the paper's 0.28M / 1.48M / 2.28M
    assert expected == c * 256 + CONV2D + 32 * c * 512 + 512
    assert count_parameters(build_frontend("2dconv", n_filters=c)) == expected


def test_stft_variants_have_no_first_layer_parameters():
    bins = 400 // 2 + 1
    assert count_parameters(build_frontend("2dconv", first_layer="stft_mag")) == CONV2D + 32 * bins * 512 + 512
    # two input channels: the first Conv2d has 9 * 32 more weights
    assert count_parameters(build_frontend("2dconv", first_layer="stft_complex")) == CONV2D + 288 + 32 * bins * 512 + 512


@pytest.mark.parametrize("first_layer", ["conv", "stft_mag", "stft_complex"])
def test_frame_counts_are_exact(first_layer):
    fe = build_frontend("2dconv", first_layer=first_layer, n_fft=64)
    assert fe.frame_shift == 640 and fe.output_dim == 512
    lengths = torch.tensor([0, 1, 9, 10, 639, 640, 641, 1279, 1280, 5000, 16000])
    expected = torch.where(lengths > 0, 1 + lengths // 640, torch.zeros_like(lengths))
    assert fe.num_frames(lengths).tolist() == expected.tolist()
    for total in (1, 639, 640, 1281, 3000):
        feats, n = fe(torch.randn(1, total))
        assert feats.shape == (1, 1 + total // 640, 512) and n.tolist() == [1 + total // 640]


def test_first_layer_frames_against_direct_dot_products():
    torch.manual_seed(0)
    fe = build_frontend("2dconv", n_filters=4)
    x = torch.randn(1, 777)
    out = fe.first_layer(x)[0, 0]  # [T0, C]
    assert out.shape == (1 + 777 // 10, 4)
    w = fe.filterbank.weight[:, 0]  # [C, 256]
    padded = F.pad(x[0], (128, 128))
    for t in (0, 1, 40, 77):  # frame t reads samples 10 t - 128 .. 10 t + 127
        ref = w @ padded[10 * t : 10 * t + 256]
        torch.testing.assert_close(out[t], ref, atol=1e-5, rtol=1e-5)


def test_normalisation_uses_valid_samples_only():
    x = torch.randn(2, 1000)
    x[1, 600:] = 0.0
    lengths = torch.tensor([1000, 600])
    y = normalize_waveforms(x * 3.0 + 0.5 * (torch.arange(1000) < lengths[:, None]), lengths)
    valid = y[1, :600]
    assert abs(float(valid.mean())) < 1e-5 and abs(float(valid.std(unbiased=False)) - 1) < 1e-3
    assert (y[1, 600:] == 0).all()
    # so the features do not depend on the gain or DC offset of the valid part
    fe = build_frontend("2dconv")
    a, _ = fe(x, lengths)
    b, _ = fe((x * 5.0 - 0.3) * (torch.arange(1000) < lengths[:, None]), lengths)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("first_layer", ["conv", "stft_complex"])
def test_padding_does_not_change_valid_frames(first_layer):
    torch.manual_seed(1)
    fe = build_frontend("2dconv", first_layer=first_layer, n_fft=32)
    lengths = torch.tensor([4000, 1700, 641, 300])
    x = torch.randn(4, 4000) * (torch.arange(4000) < lengths[:, None])
    feats, n = fe(x, lengths)
    for b in range(4):
        alone, m = fe(x[b : b + 1, : lengths[b]])
        assert int(m[0]) == int(n[b])
        torch.testing.assert_close(feats[b, : n[b]], alone[0], atol=1e-5, rtol=1e-4)
        assert (feats[b, n[b] :] == 0).all()


def test_gammatone_init_and_random_init():
    fe = build_frontend("2dconv", n_filters=16, init="gammatone", min_hz=100.0, max_hz=7600.0)
    fb = fe.filters()
    assert fb.impulse_responses.shape == (16, 256)
    # measured peaks follow the ERB-spaced design centres (to within ~1.5 FFT bins of the 4096-point grid
    # plus the small shift of a truncated gammatone's peak)
    design = erb_centers(16, 100.0, 7600.0).float()
    assert torch.all(torch.diff(fb.center_hz) > 0)
    assert torch.allclose(fb.center_hz, design, rtol=0.05, atol=10.0)
    # auditory bandwidths grow with frequency
    assert fb.bandwidth_hz[-1] > 4 * fb.bandwidth_hz[0]
    torch.manual_seed(0)
    rand = build_frontend("2dconv", n_filters=16).filters()
    assert not torch.allclose(rand.impulse_responses, fb.impulse_responses)
    assert build_frontend("2dconv", first_layer="stft_mag").filters() is None


def test_filter_measurement_on_a_gabor_filter_of_known_response():
    # cos(2 pi f0 n / sr) * Gaussian(sigma samples) has a Gaussian magnitude response at f0 with std
    # sr / (2 pi sigma) Hz, so FWHM (half amplitude) = 2 sqrt(2 ln 2) sr / (2 pi sigma)
    sr, f0, sigma = 16000, 1000.0, 40.0
    n = torch.arange(-300, 301, dtype=torch.float64)
    h = torch.exp(-0.5 * (n / sigma) ** 2) * torch.cos(2 * math.pi * f0 * n / sr)
    fb = filterbank_from_taps(h[None].float(), sr, n_fft=8192)
    fwhm = 2 * math.sqrt(2 * math.log(2)) * sr / (2 * math.pi * sigma)
    assert abs(float(fb.center_hz[0]) - f0) <= sr / 8192
    assert abs(float(fb.bandwidth_hz[0]) - fwhm) / fwhm < 0.01


def test_gradients_reach_every_parameter():
    fe = build_frontend("2dconv")
    feats, _ = fe(torch.randn(2, 2000), torch.tensor([2000, 1500]))
    feats.square().mean().backward()
    for name, p in fe.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="first_layer"):
        build_frontend("2dconv", first_layer="fft")
    with pytest.raises(ValueError, match="n_filters"):
        build_frontend("2dconv", n_filters=0)
    with pytest.raises(ValueError, match="channels"):
        build_frontend("2dconv", channels=())
