"""Random initialisation of the learnable filterbanks (the self-supervised frontends paper's ``random``):
LEAF's Gabor centres over the whole analysis band and widths over their whole allowed range, sorted;
SincNet's cut-offs uniform; both seeded by torch's generator, and SincNet's fast and direct paths agree."""

from __future__ import annotations

import torch

from audiofront.frontends import build_frontend


def test_leaf_random_spreads_centres_and_widths_over_their_ranges():
    torch.manual_seed(0)
    fb = build_frontend("leaf", n_filters=200, init="random", min_hz=0.0, max_hz=8000.0).filters()
    centres, widths = fb.center_hz.double(), fb.bandwidth_hz.double()
    mel = build_frontend("leaf", n_filters=200).filters()
    assert (centres.diff() >= 0).all()
    # uniform over 0..8000 Hz: every eighth of the band holds filters, the top one included
    counts = torch.histc(centres, bins=8, min=0, max=8000)
    assert (counts >= 10).all(), counts
    # FWHM within the constraint's bounds (sample_rate / 401 .. sample_rate / 4), log-uniform: both ends
    # reached, far beyond the mel widths on the wide side (which is what a mel-like prior would not do)
    assert float(widths.min()) >= 16000 / 401 * 0.999 and float(widths.max()) <= 4000 * 1.001
    assert float(widths.max()) > 3000 and float(widths.min()) < 60
    assert float(widths.max()) > 3 * float(mel.bandwidth_hz.max())
    logw = widths.log()
    assert abs(float(logw.median()) - 0.5 * (torch.tensor(16000 / 401).log() + torch.tensor(4000.0).log())) < 0.5
    # the widths are not tied to the centres (a mel-like init makes them grow with frequency)
    assert abs(float(torch.corrcoef(torch.stack([centres, widths]))[0, 1])) < 0.3


def test_sincnet_random_cutoffs_are_uniform_seeded_and_sorted():
    torch.manual_seed(3)
    a = build_frontend("sincnet", n_filters=300, init="random")
    torch.manual_seed(3)
    b = build_frontend("sincnet", n_filters=300, init="random")
    with torch.no_grad():
        low, high = a.sinc.cutoffs()
        low_b, high_b = b.sinc.cutoffs()
        mel_low, _ = build_frontend("sincnet", n_filters=300).sinc.cutoffs()
    assert torch.equal(low, low_b) and torch.equal(high, high_b)
    assert not torch.allclose(low, mel_low, atol=50.0)
    assert (high > low).all() and (low >= 60 - 1e-3).all() and (high <= 7800 + 1e-2).all()
    assert ((low + high) / 2).diff().min() >= -1e-3  # sorted by band middle
    # the cut-offs (both of them) are uniform over 60..7800 Hz: means and quartiles of the pooled values
    cut = torch.cat([low, high]).double()
    assert abs(float(cut.mean()) - 3930) < 300
    q = torch.quantile(cut, torch.tensor([0.25, 0.75], dtype=torch.float64))
    assert abs(float(q[0]) - (60 + 0.25 * 7740)) < 400 and abs(float(q[1]) - (60 + 0.75 * 7740)) < 400
    # bands are wide (the difference of two uniforms), unlike mel's narrow adjacent bands
    assert float((high - low).median()) > 1000


def test_sincnet_random_fast_equals_direct():
    torch.manual_seed(1)
    for name in ("sincnet", "sincnet+"):
        fast = build_frontend(name, n_filters=8, init="random").double()
        direct = build_frontend(name, n_filters=8, init="random", impl="direct").double()
        direct.load_state_dict(fast.state_dict())
        x = 0.3 * torch.randn(2, 4000, dtype=torch.float64)
        out = []
        for fe in (fast, direct):
            feats, _ = fe(x)
            grads = torch.autograd.grad(feats.square().sum(), list(fe.parameters()))
            out.append((feats, *grads))
        for got, ref in zip(*out):
            assert float((got - ref).abs().max() / ref.abs().max().clamp(min=1e-3)) < 1e-8
