"""Classification task end to end on tiny synthetic data: single-label, multi-label and multi-task heads,
training with the shared Trainer, evaluation on whole clips (windows averaged) and scoring."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from lhotse import CutSet, MonoCut, Recording, SupervisionSegment

from audiofront.scoring.classify import score_classification
from audiofront.tasks import build_task, load_model
from audiofront.tasks.classify import ZipLoader, random_windows
from audiofront.tasks.classify_eval import evaluate_checkpoint
from audiofront.training.trainer import TrainConfig, Trainer

SR = 16000
TONES = {"low": 300.0, "mid": 1200.0, "high": 4000.0}


def make_corpus(root, n_per_class, seed, name):
    """Clips of 0.15-0.4 s: a tone whose pitch is the class, loud or soft; multi-label tags."""
    rng = np.random.default_rng(seed)
    cuts = []
    for tone, hz in TONES.items():
        for i in range(n_per_class):
            loud = "loud" if i % 2 else "soft"
            n = int(rng.integers(int(0.15 * SR), int(0.4 * SR)))
            t = np.arange(n) / SR
            amp = 0.5 if loud == "loud" else 0.05
            x = amp * np.sin(2 * np.pi * hz * (1 + 0.02 * rng.standard_normal()) * t) + 0.003 * rng.standard_normal(n)
            path = root / f"{name}_{tone}_{i}.wav"
            sf.write(path, x.astype(np.float32), SR)
            rec = Recording.from_file(path)
            tags = [tone, loud] if tone != "mid" else [loud]
            sup = SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, custom={"tone": tone, "loud": loud, "tags": tags})
            cuts.append(MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    path = root / f"{name}_cuts.jsonl.gz"
    CutSet.from_cuts(cuts).to_file(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    return make_corpus(root, 8, 0, "train"), make_corpus(root, 4, 1, "test"), root


def base_cfg(train, heads, **kw):
    cfg = dict(frontend="mel", encoder="mlp", train_cuts=str(train), heads=heads, window_seconds=0.25, batch_size=8)
    cfg.update(kw)
    return cfg


def test_random_windows_crop_and_pad():
    torch.manual_seed(0)
    audio = torch.zeros(2, 30)
    audio[0] = torch.arange(1, 31).float()
    audio[1, :4] = torch.tensor([1.0, 2, 3, 4])
    out, lens = random_windows(audio, torch.tensor([30, 4]), 10)
    assert out.shape == (2, 10) and lens.tolist() == [10, 10]
    start = int(out[0, 0]) - 1
    assert out[0].tolist() == list(range(start + 1, start + 11))  # a contiguous crop
    nz = out[1][out[1] != 0].tolist()
    assert nz == [1.0, 2, 3, 4]  # the short clip whole, somewhere in zeros


def test_multi_task_trains_evaluates_and_scores(corpus, tmp_path):
    train, test, _ = corpus
    heads = [{"name": "tone", "label": "tone"}, {"name": "loud", "label": "loud"},
             {"name": "tags", "label": "tags", "kind": "multi"}]
    task = build_task("classify", base_cfg(train, heads, mixup_alpha=0.2, train_snr_db=30))
    assert task.heads[0]["classes"] == ["high", "low", "mid"]
    assert task.heads[2]["classes"] == ["high", "loud", "low", "soft"]
    cfg = TrainConfig(exp_dir=str(tmp_path / "exp"), num_epochs=12, lr=1e-2, progress=False, tensorboard=False,
                      average_last=1, seed=3, log_every=1000)
    ckpt = Trainer(task, cfg).fit()
    hist = torch.load(tmp_path / "exp" / "last.pt", weights_only=True)
    assert hist["task"]["classes"]["tone"] == ["high", "low", "mid"]
    _, model = load_model(ckpt)
    assert set(model.heads) == {"tone", "loud", "tags"}
    out = evaluate_checkpoint(ckpt, test, tmp_path / "eval", snrs=[None, 0.0])
    rows = [json.loads(l) for l in out["clean"].read_text().splitlines()]
    assert len(rows) == 3 * 12  # 12 test clips x 3 heads
    res = score_classification(out["clean"], tmp_path / "score")
    # pitch is an easy cue: the shared model must have learnt it (chance = 1/3)
    assert res["tone"]["accuracy"] >= 0.75, res["tone"]["accuracy"]
    assert res["loud"]["n"] == 12
    assert 0.0 <= res["tags"]["mAP"] <= 1.0 and res["tags"]["mAP"] > 0.5
    # evaluation noise is seeded by clip id: two runs give the same noisy predictions
    again = evaluate_checkpoint(ckpt, test, tmp_path / "eval2", snrs=[0.0])
    assert again["snr0dB"].read_text() == out["snr0dB"].read_text()


def test_zip_loader_samples_every_task_and_resumes(corpus, tmp_path):
    train, test, root = corpus
    # two heads on two different cut sets: one batch of each per step
    heads = [{"name": "tone", "label": "tone"}, {"name": "loud", "label": "loud", "train_cuts": str(test)}]
    task = build_task("classify", base_cfg(train, heads, batch_size=4))
    loader = task.train_loader()
    assert isinstance(loader, ZipLoader) and len(loader.loaders) == 2
    loader.set_epoch(0)
    it = iter(loader)
    first = [next(it) for _ in range(3)]
    assert all(len(step) == 2 for step in first)
    assert set(first[0][0]["labels"]) == {"tone"} and set(first[0][1]["labels"]) == {"loud"}
    state = loader.state_dict()
    rest = [[b["cut_ids"] for b in step] for step in it]
    # a fresh loader restored from the state continues with the same batches
    loader2 = build_task("classify", base_cfg(train, heads, batch_size=4)).train_loader()
    loader2.load_state_dict(state)
    rest2 = [[b["cut_ids"] for b in step] for step in loader2]
    assert rest2 == rest and len(rest) == 6 - 3  # 24 clips / 4 per batch = 6 steps per epoch
    # loss sums the two tasks' losses
    model = task.build_model()
    loss, stats = task.loss(model, first[0])
    assert torch.isclose(loss, torch.tensor(stats["tone_loss"] + stats["loud_loss"]), atol=1e-5)


def test_random_windows_masked_keeps_a_short_clip_at_the_start_with_its_length():
    torch.manual_seed(0)
    audio = torch.zeros(2, 30)
    audio[0] = torch.arange(1, 31).float()
    audio[1, :4] = torch.tensor([1.0, 2, 3, 4])
    out, lens = random_windows(audio, torch.tensor([30, 4]), 10, masked=True)
    assert out.shape == (2, 10) and lens.tolist() == [10, 4]
    assert out[1].tolist() == [1.0, 2, 3, 4] + [0.0] * 6


def test_window_padding_is_masked_for_the_mlp_unless_told(corpus):
    train, _, _ = corpus
    heads = [{"name": "tone"}]
    assert build_task("classify", base_cfg(train, heads)).masked_padding  # mlp, auto
    assert not build_task("classify", base_cfg(train, heads, encoder="small-cnn")).masked_padding
    assert not build_task("classify", base_cfg(train, heads, window_padding="zeros")).masked_padding
    assert build_task("classify", base_cfg(train, heads, encoder="small-cnn", window_padding="masked")).masked_padding
    with pytest.raises(ValueError, match="window_padding must be one of"):
        build_task("classify", base_cfg(train, heads, window_padding="edge"))


def test_bad_configs_are_refused(corpus):
    train, _, _ = corpus
    with pytest.raises(ValueError, match="frontend"):
        build_task("classify", {"train_cuts": str(train), "label": "tone"})
    with pytest.raises(ValueError, match="kind"):
        build_task("classify", base_cfg(train, [{"name": "tone", "kind": "ordinal"}]))
    with pytest.raises(ValueError, match="no cut carries the label"):
        build_task("classify", base_cfg(train, [{"name": "colour"}]))


def test_frontend_impl_evaluates_a_decimated_leaf_model_exactly(corpus, tmp_path):
    """--frontend-impl: the same weights computed by another LEAF implementation; direct and fast agree (the
    exact function), decimated (the approximation it was trained with) is close to them; other frontends are
    refused with one clear error."""
    from audiofront.errors import UserError

    train, test, _ = corpus
    heads = [{"name": "tone", "label": "tone"}]
    task = build_task("classify", base_cfg(train, heads, frontend="leaf",
                                           frontend_conf={"n_filters": 8, "impl": "decimated"}))
    cfg = TrainConfig(exp_dir=str(tmp_path / "exp"), num_epochs=2, lr=1e-2, progress=False, tensorboard=False,
                      average_last=1, seed=3, log_every=1000)
    ckpt = Trainer(task, cfg).fit()

    def probs(impl):
        out = evaluate_checkpoint(ckpt, test, tmp_path / f"eval_{impl}", frontend_impl=impl)
        rows = [json.loads(line) for line in out["clean"].read_text().splitlines()]
        return {(r["id"], r["task"]): np.array(r["scores"], dtype=float) for r in rows}

    direct, fast, dec = probs("direct"), probs("fast"), probs("decimated")
    assert direct.keys() == fast.keys() == dec.keys()
    gap_exact = max(np.abs(direct[k] - fast[k]).max() for k in direct)
    gap_approx = max(np.abs(dec[k] - fast[k]).max() for k in direct)
    assert gap_exact < 1e-4, gap_exact
    assert 0 < gap_approx < 5e-2, gap_approx  # really another computation, and a close one
    with pytest.raises(UserError, match="one of"):
        evaluate_checkpoint(ckpt, test, tmp_path / "bad", frontend_impl="exact")
    mel = Trainer(build_task("classify", base_cfg(train, heads)), TrainConfig(
        exp_dir=str(tmp_path / "mel"), num_epochs=1, progress=False, tensorboard=False, log_every=1000)).fit()
    with pytest.raises(UserError, match="only leaf"):
        evaluate_checkpoint(mel, test, tmp_path / "bad2", frontend_impl="fast")


class _Recorder(torch.nn.Module):
    """A stand-in model: logits of every head are a fixed function of each row's audio; records its calls."""

    def __init__(self, n_classes: dict):
        super().__init__()
        self.n_classes, self.calls = n_classes, []

    def forward(self, audio, lens, heads):
        self.calls.append((audio.shape[0], list(heads)))
        feats = torch.stack([audio.abs().mean(-1), audio.std(-1), audio.max(-1).values], -1)
        return {h: feats[:, : self.n_classes[h]] * (1 + i) for i, h in enumerate(heads)}


def test_multi_task_step_runs_one_forward_over_every_group(corpus):
    """One forward on the concatenated groups (batch norm then trains on the corpora mixture its running
    statistics hold at test time); each head is scored on its own group's rows."""
    train, test, _ = corpus
    heads = [{"name": "tone", "label": "tone"}, {"name": "loud", "label": "loud", "train_cuts": str(test)}]
    task = build_task("classify", base_cfg(train, heads, batch_size=4))
    loader = task.train_loader()
    loader.set_epoch(0)
    step = next(iter(loader))
    model = _Recorder({"tone": 3, "loud": 2})
    torch.manual_seed(5)
    loss, stats = task.loss(model, step)
    assert model.calls == [(8, ["tone", "loud"])]
    # the same windows (same seed), each group's rows scored by hand
    torch.manual_seed(5)
    expected = 0.0
    for b, name, n in ((step[0], "tone", 3), (step[1], "loud", 2)):
        audio, lens = random_windows(b["audio"], b["audio_lens"], task.window, task.masked_padding)
        logits = _Recorder({"tone": 3, "loud": 2})(audio, lens, ["tone", "loud"])[name]
        part = torch.nn.functional.cross_entropy(logits, b["labels"][name])
        assert stats[f"{name}_loss"] == pytest.approx(float(part), rel=1e-5)
        expected += float(part)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


class _EpochTagged:
    """A dataset whose batches say which epoch they were drawn in."""

    def __init__(self):
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __getitem__(self, cuts):
        return {"epoch": self.epoch, "ids": [c.id for c in cuts]}


def test_zip_loader_runs_a_shorter_group_through_consecutive_epochs():
    from lhotse.dataset import SimpleCutSampler
    from lhotse.testing.dummies import dummy_cut

    from audiofront.data.sampling import ResumableLoader

    def loader(n_cuts, offset):
        cuts = CutSet.from_cuts([dummy_cut(offset + i, duration=1.0) for i in range(n_cuts)])
        return ResumableLoader(SimpleCutSampler(cuts, max_cuts=1, shuffle=True, seed=0), _EpochTagged())

    zipped = ZipLoader([loader(5, 0), loader(2, 100)])
    zipped.set_epoch(0)
    second = [step[1] for step in zipped]
    # the two-batch group wraps twice within the five steps: its epochs 0, 1 and 2, none skipped
    assert [b["epoch"] for b in second] == [0, 0, 1, 1, 2]
    assert sorted(i for b in second[:2] for i in b["ids"]) == sorted(i for b in second[2:4] for i in b["ids"])
