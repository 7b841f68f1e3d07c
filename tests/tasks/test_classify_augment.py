import math

import torch

from audiofront.augment.mixup import mix, mixup_pairs
from audiofront.augment.noise import add_noise_snr, add_noise_snr_seeded


def test_noise_reaches_the_requested_snr_on_valid_samples_only():
    torch.manual_seed(0)
    t = torch.arange(48000) / 16000
    audio = torch.zeros(2, 48000)
    audio[0] = 0.5 * torch.sin(2 * math.pi * 440 * t)
    audio[1, :16000] = 0.1 * torch.sin(2 * math.pi * 300 * t[:16000])
    lens = torch.tensor([48000, 16000])
    for snr in (20.0, 0.0, -5.0):
        noisy = add_noise_snr(audio, lens, snr)
        noise = noisy - audio
        for b in range(2):
            n = int(lens[b])
            p_sig = audio[b, :n].pow(2).mean()
            p_noise = noise[b, :n].pow(2).mean()
            measured = 10 * torch.log10(p_sig / p_noise)
            assert abs(float(measured) - snr) < 0.1  # 16k+ samples: the noise power is within ~2%
        assert noise[1, 16000:].abs().max() == 0  # padding stays silent


def test_seeded_noise_depends_on_the_clip_id_not_the_batch():
    audio = torch.randn(3, 1000)
    lens = torch.tensor([1000, 1000, 1000])
    a = add_noise_snr_seeded(audio, lens, 5.0, ["x", "y", "z"], seed=1)
    b = add_noise_snr_seeded(audio[[2, 0]], lens[:2], 5.0, ["z", "x"], seed=1)
    assert torch.equal(a[2], b[0]) and torch.equal(a[0], b[1])
    c = add_noise_snr_seeded(audio, lens, 5.0, ["x", "y", "z"], seed=2)
    assert not torch.equal(a, c)


def test_mixup_weights_and_permutation():
    torch.manual_seed(0)
    perm, lam = mixup_pairs(8, 0.4)
    assert sorted(perm.tolist()) == list(range(8))
    assert 0.5 <= lam <= 1.0
    x = torch.arange(8.0)[:, None]
    assert torch.allclose(mix(x, perm, lam), lam * x + (1 - lam) * x[perm])
