"""The convolutional VAE (audiofront/models/vae.py) and its task's loss (audiofront/tasks/vae.py)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from audiofront.errors import UserError
from audiofront.frontends.base import centered_num_frames
from audiofront.models.vae import ConvVae, VaeConfig, active_dimensions, kl_to_standard_normal


def test_kl_matches_closed_form_for_known_mean_and_variance():
    # N(0, 1): nothing to pay; N(mu, 1): mu^2 / 2 per dimension; N(0, e): (e - 1 - 1) / 2
    assert float(kl_to_standard_normal(torch.zeros(1, 4), torch.zeros(1, 4))) == 0.0
    assert float(kl_to_standard_normal(torch.tensor([[1.0, 2.0]]), torch.zeros(1, 2))) == pytest.approx(0.5 * (1 + 4))
    assert float(kl_to_standard_normal(torch.zeros(1, 1), torch.ones(1, 1))) == pytest.approx(0.5 * (math.e - 2))
    # any mean and variance: torch.distributions' own KL of two diagonal Gaussians, summed over dimensions
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(6, 13, generator=g) * 2, torch.randn(6, 13, generator=g)
    ref = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(torch.zeros(13), torch.ones(13))).sum(-1)
    assert torch.allclose(kl_to_standard_normal(mean, logvar), ref, atol=1e-5)


def test_active_dimensions_counts_the_latents_that_vary():
    g = torch.Generator().manual_seed(1)
    mean = torch.zeros(64, 13)
    mean[:, [0, 4, 7]] = torch.randn(64, 3, generator=g)
    mean[:, 1] = 0.001 * torch.randn(64, generator=g)  # varies, but below the 0.01 variance threshold
    assert active_dimensions(mean) == 3


@pytest.mark.parametrize("frames,latent,pooling,bins,scale", [(8, 13, "global", 128, "linear"), (96, 40, "global", 128, "linear"),
                                                              (8, 13, "time", 128, "linear"), (8, 13, "global", 32, "mel"),
                                                              (8, 13, "time", 32, "mel")])
def test_shapes(frames, latent, pooling, bins, scale):
    torch.manual_seed(0)
    model = ConvVae(VaeConfig(fragment_frames=frames, latent_dim=latent, channels=4, pooling=pooling, n_bins=bins,
                              frequency_scale=scale))
    x = 0.1 * torch.randn(2, 7000)
    frags = model.analysis.frames(x, 160)
    assert frags.shape == (2, int(centered_num_frames(torch.tensor(7000), 160)), bins, frames)
    out = model(frags[0, :5])
    assert out["recon"].shape == (5, bins, frames)
    assert out["mean"].shape == out["logvar"].shape == out["z"].shape == (5, latent)
    assert model.encode_frames(x, 160).shape == (2, frags.shape[1], latent)
    # sample=False decodes the mean: deterministic
    assert torch.equal(model(frags[0, :3], sample=False)["recon"], model(frags[0, :3], sample=False)["recon"])


def test_fragments_at_random_centres_equal_the_frontend_frames():
    """The training path (fragments at any sample) and the feature path (every hop) cut the same fragments."""
    model = ConvVae(VaeConfig(channels=4))
    x = 0.1 * torch.randn(2, 5000)
    frames = model.analysis.frames(x, 160)
    item, centre = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 160 * 3, 160 * 31, 160 * 17])
    at = model.analysis.fragments_at(x, item, centre)
    for i in range(4):
        assert torch.allclose(at[i], frames[int(item[i]), int(centre[i]) // 160], atol=1e-5)
    # a fragment is the log power of its sub-frames: one made of a pure 1 kHz tone peaks at bin 1000 / 62.5 = 16
    t = torch.arange(8000) / 16000
    tone = model.analysis.log_power(torch.sin(2 * math.pi * 1000 * t)[:606])
    assert tone.shape == (128, 8) and set(tone.argmax(0).tolist()) == {16}


def test_level_free_fragments_ignore_the_gain_and_keep_the_shape():
    """level: fragment subtracts each fragment's mean ln power: a louder copy of a signal gives the same fragments
    (the log floor aside, so the signal is far above it), while level: keep shifts every bin by ln(gain^2)."""
    g = torch.Generator().manual_seed(5)
    x = 0.1 * torch.randn(1, 4000, generator=g)
    # a per-band normalisation that is not the identity, so that removing the level after it (in z-scores, where a
    # gain is no longer a constant shift) would not pass
    mean = [float(v) for v in torch.linspace(-3.0, 1.0, 32)]
    std = [float(v) for v in torch.linspace(0.5, 3.0, 32)]
    kw = dict(n_bins=32, frequency_scale="mel", channels=4, norm_mean=mean, norm_std=std)
    free = ConvVae(VaeConfig(level="fragment", **kw)).analysis
    keep = ConvVae(VaeConfig(**kw)).analysis
    quiet, loud = free.frames(x, 160), free.frames(4.0 * x, 160)
    inner = slice(3, -3)  # fragments that lie inside the signal (the edges read zero padding, at the floor)
    assert torch.allclose(quiet[:, inner], loud[:, inner], atol=1e-3)
    shift = keep.denormalise(keep.frames(4.0 * x, 160)[:, inner]) - keep.denormalise(keep.frames(x, 160)[:, inner])
    assert torch.allclose(shift, torch.full_like(shift, math.log(16.0)), atol=1e-3)
    # a level-free fragment: the ln power less its own mean, then normalised per band
    ln = keep.denormalise(keep.frames(x, 160)[:, inner])
    by_hand = (ln - ln.mean(dim=(-2, -1), keepdim=True) - torch.tensor(mean)[:, None]) / torch.tensor(std)[:, None]
    assert torch.allclose(quiet[:, inner], by_hand, atol=1e-4)
    with pytest.raises(UserError, match="level must be keep or fragment"):
        VaeConfig(level="utterance").check()
    # checkpoints written before the option have no level key: they keep the level
    old = {k: v for k, v in VaeConfig().to_dict().items() if k != "level"}
    assert VaeConfig.from_dict(old).level == "keep"


def test_bad_model_options_are_refused():
    for bad, words in (({"fragment_frames": 6}, "multiples of 4"), ({"pooling": "max"}, "pooling"),
                       ({"latent_dim": 0}, "latent_dim"), ({"window_length": 400}, "window_length"),
                       ({"norm_std": [1.0] * 3}, "norm_std")):
        with pytest.raises(UserError, match=words):
            VaeConfig(**bad).check()


def _htk_mel(hz):
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def test_mel_fragments_are_the_log_power_of_triangular_mel_bands():
    """frequency_scale mel against a plain loop: window each sub-frame, |DFT|^2 of every bin, weight by the
    triangle between mel-spaced edges, sum, ln(. + floor)."""
    cfg = VaeConfig(n_bins=32, frequency_scale="mel", mel_min_hz=50.0, mel_max_hz=7600.0).check()
    analysis = ConvVae(cfg).analysis
    g = torch.Generator().manual_seed(3)
    chunk = 0.2 * torch.randn(cfg.fragment_span, generator=g, dtype=torch.float64)
    got = analysis.log_power(chunk.float())
    assert got.shape == (32, 8)
    lo, hi = _htk_mel(50.0), _htk_mel(7600.0)
    edges = [700.0 * (10 ** ((lo + (hi - lo) * i / 33) / 2595.0) - 1.0) for i in range(34)]
    window = analysis.window.double()
    n = torch.arange(cfg.n_fft, dtype=torch.float64)
    for k in range(8):
        frame = chunk[k * cfg.stft_hop : k * cfg.stft_hop + cfg.n_fft] * window
        for band in (0, 7, 31):
            a, c, b = edges[band], edges[band + 1], edges[band + 2]
            energy = 0.0
            for j in range(cfg.n_fft // 2 + 1):
                f = j * cfg.sample_rate / cfg.n_fft
                w = max(0.0, min((f - a) / (c - a), (b - f) / (b - c)))
                if w:
                    re = float((frame * torch.cos(2 * math.pi * j * n / cfg.n_fft)).sum())
                    im = float((frame * torch.sin(2 * math.pi * j * n / cfg.n_fft)).sum())
                    energy += w * (re * re + im * im)
            assert float(got[band, k]) == pytest.approx(math.log(energy + cfg.log_floor), rel=1e-4, abs=1e-4)
    # a 1 kHz tone lands in the band whose centre is nearest to 1 kHz
    t = torch.arange(cfg.fragment_span) / cfg.sample_rate
    tone = analysis.log_power(torch.sin(2 * math.pi * 1000 * t))
    nearest = min(range(32), key=lambda i: abs(edges[i + 1] - 1000.0))
    assert set(tone.argmax(0).tolist()) == {nearest}


def test_mel_options_are_checked():
    with pytest.raises(UserError, match="frequency_scale"):
        VaeConfig(frequency_scale="bark").check()
    # 128 mel bands from 0 Hz: the lowest are narrower than the 62.5 Hz between FFT bins
    with pytest.raises(UserError, match="fall between two of the 129 FFT bins"):
        VaeConfig(frequency_scale="mel").check()
    with pytest.raises(UserError, match="mel_min_hz < mel_max_hz"):
        VaeConfig(n_bins=32, frequency_scale="mel", mel_min_hz=4000.0, mel_max_hz=3000.0).check()
    with pytest.raises(UserError, match="mel_min_hz < mel_max_hz"):
        VaeConfig(n_bins=32, frequency_scale="mel", mel_max_hz=9000.0).check()
    with pytest.raises(UserError, match="mel_min_hz must be a frequency in Hz, got '20'"):
        VaeConfig(n_bins=32, frequency_scale="mel", mel_min_hz="20").check()
    # a linear VAE's config (no mel keys: every checkpoint written before the option) still reads as linear
    old = {k: v for k, v in VaeConfig().to_dict().items() if not k.startswith(("mel_", "frequency"))}
    assert VaeConfig.from_dict(old).frequency_scale == "linear"


@pytest.mark.parametrize("name", ["vae_librispeech_25ms", "vae_librispeech_25ms_time", "vae_librispeech_25ms_mel",
                                  "vae_librispeech_25ms_mel4k",
                                  "vae_librispeech_300ms"])
def test_the_recipes_build_the_model_they_describe(name):
    import pathlib

    import yaml

    path = pathlib.Path(__file__).resolve().parents[2] / "recipes" / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text())
    cfg = VaeConfig.from_dict(raw)
    assert cfg.pooling == raw.get("pooling", "global") and cfg.latent_dim == raw["latent_dim"]
    model = ConvVae(cfg)
    frags = model.analysis.frames(0.1 * torch.randn(1, 4000), 160)
    assert model(frags[0, :2])["recon"].shape == (2, cfg.n_bins, cfg.fragment_frames)
    if name.endswith("_mel"):
        assert cfg.frequency_scale == "mel" and cfg.n_bins == 32 and model.analysis.mel.shape == (129, 32)
    if name.endswith("_mel4k"):
        assert cfg.mel_top_hz == 4000.0 and cfg.level == "fragment" and model.analysis.mel.shape == (129, 32)
        # no mel band reaches above 4 kHz: FFT bins past 4000 Hz carry no weight
        assert float(model.analysis.mel[4000 * cfg.n_fft // cfg.sample_rate + 1 :].abs().sum()) == 0.0
