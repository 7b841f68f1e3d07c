import torch

from audiofront.models.classifier import AudioClassifier, FeatureMasking, clip_logits, split_windows


def test_split_windows_ends_the_last_window_at_the_clip_end():
    audio = torch.zeros(3, 25)
    audio[0, :25] = torch.arange(1, 26).float()
    audio[1, :7] = torch.arange(1, 8).float()
    audio[2, :20] = torch.arange(1, 21).float()
    wins, lens, owner = split_windows(audio, torch.tensor([25, 7, 20]), 10)
    assert wins.shape == (6, 10)
    assert owner.tolist() == [0, 0, 0, 1, 2, 2]
    assert lens.tolist() == [10, 10, 10, 7, 10, 10]
    assert wins[1].tolist() == list(range(11, 21))
    assert wins[2].tolist() == list(range(16, 26))  # all audio: overlaps the window before, no padding
    assert wins[3, :7].tolist() == list(range(1, 8)) and wins[3, 7:].abs().sum() == 0  # short clip: padded
    assert wins[5].tolist() == list(range(11, 21))  # an exact multiple: no overlap


def test_clip_logits_is_the_mean_of_window_logits():
    torch.manual_seed(0)
    model = AudioClassifier("mel", {"a": 3, "b": 2}, encoder="mlp").eval()
    audio = torch.randn(2, 40000) * 0.1
    lens = torch.tensor([40000, 12000])
    out = clip_logits(model, audio, lens, 16000)
    # by hand: clip 0 -> windows [0:16000], [16000:32000], [24000:40000]; clip 1 -> one padded window
    w = torch.zeros(4, 16000)
    w[0], w[1], w[2] = audio[0, :16000], audio[0, 16000:32000], audio[0, 24000:40000]
    w[3, :12000] = audio[1, :12000]
    with torch.no_grad():
        ref = model(w, torch.full((4,), 16000))
    assert torch.allclose(out["a"][0], ref["a"][:3].mean(0), atol=1e-5)
    assert torch.allclose(out["b"][1], ref["b"][3], atol=1e-5)


def test_clip_logits_masked_gives_each_window_its_valid_length():
    torch.manual_seed(0)
    model = AudioClassifier("mel", {"a": 3}, encoder="mlp").eval()
    audio = torch.randn(2, 40000) * 0.1
    lens = torch.tensor([40000, 12000])
    out = clip_logits(model, audio, lens, 16000, masked=True)
    w = torch.zeros(4, 16000)
    w[0], w[1], w[2] = audio[0, :16000], audio[0, 16000:32000], audio[0, 24000:40000]
    w[3, :12000] = audio[1, :12000]
    with torch.no_grad():
        ref = model(w, torch.tensor([16000, 16000, 16000, 12000]))
    assert torch.allclose(out["a"][0], ref["a"][:3].mean(0), atol=1e-5)
    assert torch.allclose(out["a"][1], ref["a"][3], atol=1e-5)
    # the padding is what changes: counted as signal, the short clip scores differently
    assert not torch.allclose(clip_logits(model, audio, lens, 16000)["a"][1], out["a"][1], atol=1e-3)


def test_masked_padding_makes_a_short_clip_independent_of_the_window():
    # a 0.3 s clip in 0.5 s or 1 s windows: the frames past its end are padding the mlp skips, so the same
    # logits; with the padding counted as signal they differ (the mean/std see more silence)
    torch.manual_seed(0)
    model = AudioClassifier("mel", {"a": 4}, encoder="mlp").eval()
    audio = torch.randn(1, 4800) * 0.1
    lens = torch.tensor([4800])
    short, long = (clip_logits(model, audio, lens, w, masked=True)["a"] for w in (8000, 16000))
    assert torch.allclose(short, long, atol=1e-5)
    short, long = (clip_logits(model, audio, lens, w)["a"] for w in (8000, 16000))
    assert not torch.allclose(short, long, atol=1e-3)


def test_mlp_input_norm_standardises_the_summary():
    from audiofront.models.mlp import MLP

    torch.manual_seed(0)
    seen = {}
    for norm in (True, False):
        mlp = MLP(input_dim=3, hidden=8, layers=1, input_norm=norm).train()
        mlp.body[0].register_forward_hook(lambda m, args, out, norm=norm: seen.__setitem__(norm, args[0].detach()))
        feats = 50.0 + 20.0 * torch.randn(16, 30, 3) * torch.rand(16, 1, 1)
        mlp(feats, torch.full((16,), 30))
    x = seen[True]
    assert torch.allclose(x.mean(0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(x.var(0, unbiased=False), torch.ones(6), atol=1e-2)
    assert seen[False].mean() > 10  # without it the summary keeps the features' scale


def test_segment_means_match_adaptive_pooling_of_each_clip():
    import pytest

    from audiofront.models.mlp import MLPConfig, masked_segment_means

    torch.manual_seed(0)
    feats = torch.randn(5, 23, 3)
    lengths = torch.tensor([23, 17, 4, 2, 1])  # shorter than the 4 segments too: frames repeat, no empty span
    padded = feats.clone()
    for b, n in enumerate(lengths.tolist()):
        padded[b, n:] = 1e6  # padding must not leak into any span
    got = masked_segment_means(padded, lengths, 4)
    assert got.shape == (5, 12)
    for b, n in enumerate(lengths.tolist()):
        ref = torch.nn.functional.adaptive_avg_pool1d(feats[b, :n].T[None], 4)[0].T  # [4, D], the plain reference
        assert torch.allclose(got[b].reshape(4, 3), ref, atol=1e-5), b
    with pytest.raises(ValueError, match="summary"):
        MLPConfig(summary="median")
    with pytest.raises(ValueError, match="segments"):
        MLPConfig(summary="segments", segments=0)


def test_mlp_segments_summary_keeps_the_order_of_the_frames():
    from audiofront.models.mlp import MLP

    torch.manual_seed(0)
    feats = torch.randn(2, 12, 3)
    backwards = feats.flip(1)
    lens = torch.full((2,), 12)
    ordered = MLP(input_dim=3, hidden=8, layers=1, dropout=0.0, summary="segments", segments=3).eval()
    assert ordered.body[0].in_features == 9
    assert not torch.allclose(ordered(feats, lens), ordered(backwards, lens), atol=1e-4)
    orderless = MLP(input_dim=3, hidden=8, layers=1, dropout=0.0).eval()  # mean and std: the order is lost
    assert torch.allclose(orderless(feats, lens), orderless(backwards, lens), atol=1e-5)


def test_feature_masking_masks_and_keeps_shape():
    torch.manual_seed(0)
    m = FeatureMasking(time_masks=2, time_width=5, freq_masks=2, freq_width=3)
    x = torch.ones(4, 50, 20)
    y = m(x, torch.tensor([50, 50, 30, 10]))
    assert y.shape == x.shape
    assert (y == 0).any() and (y == 1).any()


def test_every_encoder_builds_and_runs_behind_a_frontend():
    import pytest

    for enc in ("efficientnet-b0", "small-cnn", "mlp"):
        model = AudioClassifier("mel", {"x": 3, "y": 5}, encoder=enc).eval()
        out = model(torch.randn(2, 4000) * 0.1, torch.tensor([4000, 3000]))
        assert out["x"].shape == (2, 3) and out["y"].shape == (2, 5)
    with pytest.raises(ValueError, match="unknown encoder"):
        AudioClassifier("mel", {"x": 3}, encoder="resnet")
    with pytest.raises(ValueError, match="at least one head"):
        AudioClassifier("mel", {})
