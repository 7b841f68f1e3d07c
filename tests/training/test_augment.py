"""SpecAugment (feature and STFT domain) and speed perturbation."""

from __future__ import annotations

from collections import Counter

import torch

from audiofront.augment.specaugment import SpecAugment, SpecAugmentConfig
from audiofront.augment.speed_perturb import speed_factor
from audiofront.augment.stft_specaugment import StftSpecAugment, StftSpecAugmentConfig


def test_feature_masks_stay_inside_valid_frames_and_bounds():
    torch.manual_seed(0)
    aug = SpecAugment(SpecAugmentConfig(num_freq_masks=2, freq_mask_frac=0.25, num_time_masks=2, time_mask_max=10)).train()
    x = torch.ones(8, 100, 40)
    lens = torch.tensor([100, 90, 80, 70, 60, 50, 40, 30])
    y = aug(x, lens)
    for b, n in enumerate(lens.tolist()):
        assert torch.all(y[b, n:] == 1)  # padding untouched
        dropped_bins = (y[b, :n] == 0).all(dim=0).sum()
        assert dropped_bins <= 2 * 10  # two masks of at most 0.25 * 40 bins
        dropped_frames = (y[b, :n] == 0).all(dim=1).sum()
        assert dropped_frames <= 2 * min(10, int(0.2 * n))
    assert (y == 0).any()
    assert torch.equal(aug.eval()(x, lens), x)  # nothing in eval mode


def test_stft_augment_without_masks_reconstructs_the_waveform():
    cfg = StftSpecAugmentConfig(num_freq_masks=0, num_time_masks=0)
    aug = StftSpecAugment(cfg).train()
    x = torch.randn(3, 8000)
    lens = torch.tensor([8000, 5000, 1234])
    x = x * (torch.arange(8000)[None, :] < lens[:, None])
    y = aug(x, lens)
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_stft_frequency_mask_removes_that_band():
    aug = StftSpecAugment()
    t = torch.arange(16000) / 16000
    # tones every 500 Hz: a frequency mask removes those inside it and keeps the others
    freqs = list(range(250, 8000, 500))
    x = sum(torch.sin(2 * torch.pi * f * t) for f in freqs).unsqueeze(0) * 0.05
    bin_hz = 16000 / 512
    drop = torch.zeros(1, 257, 1, dtype=torch.bool)
    drop[0, int(2000 / bin_hz): int(3500 / bin_hz), 0] = True  # 2.0-3.5 kHz
    y = aug.apply_masks(x, torch.tensor([16000]), drop)
    spec_x = aug.stft(x)[0].abs().mean(-1)
    spec_y = aug.stft(y)[0].abs().mean(-1)
    for f in freqs:
        k = round(f / bin_hz)
        if 2100 < f < 3400:
            assert spec_y[k] < 0.02 * spec_x[k], f  # removed
        elif f < 1900 or f > 3600:
            assert abs(spec_y[k] - spec_x[k]) < 0.02 * spec_x[k], f  # kept


def test_stft_random_masks_respect_bounds():
    torch.manual_seed(0)
    cfg = StftSpecAugmentConfig(num_freq_masks=2, freq_mask_frac=0.1, num_time_masks=2, time_mask_max=20)
    aug = StftSpecAugment(cfg)
    drop = aug.masks(200, 257, torch.tensor([200, 50]))
    freq_only = drop[:, :, :50].all(dim=2).sum(1)  # bins masked over all (valid) frames
    assert (freq_only <= 2 * int(0.1 * 257)).all()
    time_only = drop.all(dim=1).sum(1)
    assert time_only[0] <= 40 and time_only[1] <= 2 * int(0.2 * 50)
    assert not drop[1, :, 50:].any()  # nothing past the utterance
    x = torch.randn(2, 32000) * 0.1
    x[1, 50 * 100:] = 0
    y = aug.train()(x, torch.tensor([32000, 5000]))
    assert torch.all(y[1, 5000:] == 0) and not torch.allclose(y, x)


def test_speed_factor_is_deterministic_and_covers_all_factors():
    f = [speed_factor(f"cut{i}", epoch=1, seed=0, factors=(0.9, 1.0, 1.1)) for i in range(300)]
    assert f == [speed_factor(f"cut{i}", epoch=1, seed=0, factors=(0.9, 1.0, 1.1)) for i in range(300)]
    counts = Counter(f)
    assert set(counts) == {0.9, 1.0, 1.1} and min(counts.values()) > 60
    g = [speed_factor(f"cut{i}", epoch=2, seed=0, factors=(0.9, 1.0, 1.1)) for i in range(300)]
    assert f != g  # a new draw each epoch
    assert speed_factor("x", 0, 0, None) == 1.0
