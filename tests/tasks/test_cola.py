"""COLA: the loss against a hand computation, the two crops, the cosine option, one training step."""

from __future__ import annotations

import math

import pytest
import torch

from audiofront.errors import UserError
from audiofront.models.cola import ColaModel, Similarity, cola_loss
from audiofront.tasks import build_task
from audiofront.tasks.cola import cola_crops, l2_normalise


def _by_hand_loss(a, p, w):
    """Mean over anchors of -log softmax(a_i W p_j)_i, with Python floats and loops only."""
    n = len(a)
    total, correct = 0.0, 0
    for i in range(n):
        row = []
        for j in range(n):
            row.append(sum(a[i][k] * w[k][l] * p[j][l] for k in range(len(w)) for l in range(len(w))))
        log_z = math.log(sum(math.exp(v) for v in row))
        total += log_z - row[i]
        correct += int(max(range(n), key=lambda j: row[j]) == i)
    return total / n, correct / n


def test_bilinear_loss_equals_hand_computation():
    a = [[0.5, -0.2], [0.1, 0.9], [-0.7, 0.3]]
    p = [[0.4, 0.1], [-0.3, 0.8], [0.6, 0.6]]  # the third pair is the wrong way round on purpose
    w = [[1.5, -0.5], [0.25, 2.0]]
    sim = Similarity(2, "bilinear")
    with torch.no_grad():
        sim.weight.copy_(torch.tensor(w))
    loss, acc = cola_loss(sim(torch.tensor(a), torch.tensor(p)))
    want_loss, want_acc = _by_hand_loss(a, p, w)
    assert float(loss.detach()) == pytest.approx(want_loss, rel=1e-6)
    assert float(acc) == pytest.approx(want_acc)
    assert 0 < want_acc < 1  # the example has both right and wrong rows, so accuracy is tested


def test_cosine_similarity_with_temperature():
    a = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, -2.0]])
    p = torch.tensor([[6.0, 8.0], [0.0, 1.0], [1.0, 1.0]])
    for t in (0.2, 1.0):
        logits = Similarity(2, "cosine", temperature=t)(a, p)
        for i in range(3):
            for j in range(3):
                want = float(a[i] @ p[j]) / (float(a[i].norm()) * float(p[j].norm())) / t
                assert float(logits[i, j]) == pytest.approx(want, rel=1e-6)
    assert Similarity(2, "cosine").weight is None
    with pytest.raises(ValueError, match="temperature"):
        Similarity(2, "cosine", temperature=0.0)


def test_two_crops_come_from_the_same_clip_and_differ():
    torch.manual_seed(0)
    seg = 50
    lengths = torch.tensor([400, 300, 60])  # the last is shorter than two segments: zero-padded to 100
    audio = torch.zeros(3, 400)
    for i, n in enumerate(lengths.tolist()):
        audio[i, :n] = 1000 * (i + 1) + torch.arange(1, n + 1, dtype=torch.float32)  # every sample unique
    a, p = cola_crops(audio, lengths, seg)
    assert a.shape == p.shape == (3, seg)
    for i, n in enumerate(lengths.tolist()):
        padded = torch.cat([audio[i, :n], torch.zeros(max(0, 2 * seg - n))])
        for view in (a[i], p[i]):
            # a contiguous slice of this clip (zero padding included), at some offset
            starts = [s for s in range(padded.shape[0] - seg + 1) if torch.equal(padded[s : s + seg], view)]
            assert len(starts) == 1, f"clip {i}: a crop is not a slice of its own clip"
        assert not torch.equal(a[i], p[i]), f"clip {i}: the two crops are identical"
    # the crops are drawn independently: over many draws the offsets of the two views are not tied
    diffs = set()
    for _ in range(20):
        a, p = cola_crops(audio[:1], lengths[:1], seg)
        diffs.add(int(a[0, 0] - p[0, 0]))
    assert len(diffs) > 5


def test_l2_normalise_and_views():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    y = l2_normalise(x)
    assert torch.allclose(y[0], torch.tensor([0.6, 0.8])) and torch.equal(y[1], torch.zeros(2))
    task = build_task("cola", {"frontend": "mel", "train_cuts": "unused", "segment_seconds": 0.1, "noise_std": 0.001})
    torch.manual_seed(1)
    batch = {"audio": torch.randn(2, 8000), "audio_lens": torch.tensor([8000, 8000])}
    anchors, positives = task.views(batch)
    assert anchors.shape == (2, 1600)
    assert torch.allclose(anchors.norm(dim=1), torch.ones(2))
    # noise of std 0.001 on the positive only: its norm is 1 up to that noise
    assert not torch.allclose(positives.norm(dim=1), torch.ones(2), atol=1e-7)
    assert torch.allclose(positives.norm(dim=1), torch.ones(2), atol=0.05)


def test_specaugment_only_on_the_positive():
    torch.manual_seed(0)
    model = ColaModel("mel", {"n_filters": 16}, encoder="small-cnn", encoder_conf={"channels": [4, 4]},
                      specaugment={"time_masks": 2, "time_width": 10, "freq_masks": 2, "freq_width": 10},
                      projection_dim=8)
    model.train()
    x = torch.randn(3, 4000)
    seen = {}
    model.encoder.register_forward_pre_hook(lambda m, inp: seen.setdefault(len(seen), inp[0].detach().clone()))
    model(x, x)
    anchors_in, positives_in = seen[0], seen[1]
    assert not torch.equal(anchors_in, positives_in)  # same audio, masks on one side only
    assert (positives_in == 0).sum() > (anchors_in == 0).sum()


def test_cola_trains_a_step_and_refuses_bad_options():
    task = build_task("cola", {"frontend": "mel", "frontend_conf": {"n_filters": 16}, "encoder": "small-cnn",
                               "encoder_conf": {"channels": [4, 8]}, "train_cuts": "unused", "batch_size": 4})
    model = task.build_model()
    torch.manual_seed(0)
    batch = {"audio": 0.1 * torch.randn(4, 20000), "audio_lens": torch.tensor([20000, 16000, 9000, 4000])}
    loss, stats = task.loss(model, batch)
    loss.backward()
    assert math.isfinite(float(loss)) and 0.0 <= stats["acc"] <= 1.0
    assert model.similarity.weight.grad is not None and model.similarity.weight.grad.abs().sum() > 0
    assert model.projection[0].bias is None and model.projection[0].out_features == 512
    with pytest.raises(UserError, match="similarity"):
        build_task("cola", {"frontend": "mel", "similarity": "dot"})
    with pytest.raises(UserError, match="batch_size"):
        build_task("cola", {"frontend": "mel", "batch_size": 1})._batch_size()


def test_cola_trains_from_a_shar_folder(tmp_path):
    """Sharded data (lhotse Shar: cuts and audio in sequential shards) streams into COLA unchanged."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
    from asr_train_synth import make_corpus
    from lhotse import CutSet

    from audiofront.training.trainer import TrainConfig, Trainer

    cuts = CutSet.from_file(make_corpus(tmp_path / "corpus", n=8))
    (tmp_path / "shar").mkdir()
    cuts.to_shar(tmp_path / "shar", fields={"recording": "flac"}, shard_size=3)
    task = build_task("cola", {"frontend": "mel", "frontend_conf": {"n_filters": 16}, "encoder_conf": {"channels": [4]},
                               "train_cuts": str(tmp_path / "shar"), "batch_size": 4, "segment_seconds": 0.2,
                               "projection_dim": 8})
    training = {"exp_dir": str(tmp_path / "exp"), "max_steps": 3, "num_epochs": 0, "progress": False,
                "tensorboard": False, "device": "cpu", "log_every": 1}
    Trainer(task, TrainConfig.from_dict(training)).fit()
    assert torch.load(tmp_path / "exp" / "last.pt", weights_only=True)["step"] == 3
    with pytest.raises(UserError, match="not a lhotse Shar folder"):
        build_task("cola", {"frontend": "mel", "train_cuts": str(tmp_path / "corpus"), "batch_size": 2}).train_loader()


def test_a_validation_set_smaller_than_one_batch_is_refused(tmp_path):
    # validation drops incomplete batches (the negatives are the batch): too few clips would validate nothing
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
    from asr_train_synth import make_corpus

    small = make_corpus(tmp_path / "small", n=3)
    task = build_task("cola", {"frontend": "mel", "valid_cuts": str(small), "batch_size": 4})
    with pytest.raises(UserError, match=r"--valid-cuts: the 3 clips .* make no batch of 4"):
        task.valid_loader()
    assert build_task("cola", {"frontend": "mel", "valid_cuts": str(small), "batch_size": 3}).valid_loader() is not None
