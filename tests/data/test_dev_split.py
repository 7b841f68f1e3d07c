"""`audiofront prepare dev-split`: whole speakers or single cuts to dev, stratified by a label, seeded;
its refusals are one line each."""

from __future__ import annotations

from collections import Counter

import pytest
from lhotse import CutSet, MonoCut, Recording, SupervisionSegment
from lhotse.audio import AudioSource
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.data.dev_split import corpus_of, dev_split
from audiofront.errors import UserError


def _cuts(spec):
    """spec: [(speaker, label, n_cuts)] -> CutSet; the audio is never read here."""
    cuts = []
    for speaker, label, n in spec:
        for k in range(n):
            cid = f"{speaker}_{k}"
            rec = Recording(id=cid, sources=[AudioSource(type="file", channels=[0], source=f"/nonexistent/{cid}.wav")],
                            sampling_rate=16000, num_samples=16000, duration=1.0)
            sup = SupervisionSegment(id=cid, recording_id=cid, start=0.0, duration=1.0, speaker=speaker,
                                     custom={"accent": label, "speaker": speaker})
            cuts.append(MonoCut(id=cid, start=0.0, duration=1.0, channel=0, recording=rec, supervisions=[sup]))
    return CutSet.from_cuts(cuts)


def _speakers(cuts):
    return {c.supervisions[0].speaker for c in cuts}


def test_by_speaker_named_and_drawn():
    cuts = _cuts([("a", "x", 3), ("b", "x", 2), ("c", "y", 4), ("d", "y", 1)])
    train, dev = dev_split(cuts, "speaker", speakers=["b", "d"])
    assert _speakers(dev) == {"b", "d"} and _speakers(train) == {"a", "c"}
    assert len(train) + len(dev) == len(cuts) and not ({c.id for c in train} & {c.id for c in dev})
    # drawn: round(0.5 * 4) = 2 whole speakers; the same seed draws the same ones, disjoint voices
    train1, dev1 = dev_split(cuts, "speaker", fraction=0.5, seed=3)
    train2, dev2 = dev_split(cuts, "speaker", fraction=0.5, seed=3)
    assert len(_speakers(dev1)) == 2 and _speakers(dev1) == _speakers(dev2)
    assert not (_speakers(dev1) & _speakers(train1))
    draws = {frozenset(_speakers(dev_split(cuts, "speaker", fraction=0.5, seed=s)[1])) for s in range(20)}
    assert len(draws) > 1  # the seed matters


def test_by_speaker_stratified_keeps_every_label_in_training():
    # label x has 3 voices, y has 2: at fraction 0.9 each keeps one voice for training
    cuts = _cuts([("a", "x", 2), ("b", "x", 2), ("c", "x", 2), ("d", "y", 2), ("e", "y", 2)])
    for seed in range(10):
        train, dev = dev_split(cuts, "speaker", fraction=0.9, stratify="accent", seed=seed)
        labels_train = {c.supervisions[0].custom["accent"] for c in train}
        assert labels_train == {"x", "y"}
        assert Counter(c.supervisions[0].custom["accent"] for c in dev) == {"x": 4, "y": 2}


def test_by_cut_stratified_counts():
    cuts = _cuts([("a", "x", 10), ("b", "x", 3), ("c", "y", 1)])
    # stratified by speaker: round(0.2 * 10) = 2 of a, round(0.6) = 1 of b; c has one cut: refused
    with pytest.raises(UserError, match="only one cut with speaker=c"):
        dev_split(cuts, "cut", fraction=0.2, stratify="speaker")
    cuts = _cuts([("a", "x", 10), ("b", "x", 3), ("c", "y", 2)])
    train, dev = dev_split(cuts, "cut", fraction=0.2, stratify="speaker", seed=1)
    assert Counter(c.supervisions[0].speaker for c in dev) == {"a": 2, "b": 1, "c": 1}
    assert _speakers(train) == {"a", "b", "c"}
    # unstratified: round(0.2 * 15) = 3 cuts in all
    assert len(dev_split(cuts, "cut", fraction=0.2, seed=1)[1]) == 3


def test_refusals():
    cuts = _cuts([("a", "x", 2), ("b", "x", 2)])
    with pytest.raises(UserError, match="--by must be"):
        dev_split(cuts, "voice", fraction=0.5)
    with pytest.raises(UserError, match="between 0 and 1"):
        dev_split(cuts, "cut", fraction=1.0)
    with pytest.raises(UserError, match="give --fraction"):
        dev_split(cuts, "cut")
    with pytest.raises(UserError, match="needs --by speaker"):
        dev_split(cuts, "cut", speakers=["a"])
    with pytest.raises(UserError, match="every cut would go to dev"):
        dev_split(cuts, "speaker", speakers=["a", "b"])
    with pytest.raises(UserError, match="no 'dialect' label"):
        dev_split(cuts, "cut", fraction=0.5, stratify="dialect")
    with pytest.raises(UserError, match="only one speaker"):
        dev_split(_cuts([("a", "x", 3)]), "speaker", fraction=0.5)
    with pytest.raises(UserError, match="CORPUS_cuts_SPLIT"):
        corpus_of("data/whatever.jsonl.gz")
    assert corpus_of("data/x/fsdd_cuts_train.jsonl.gz") == "fsdd"


def _run(*args):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args])


def test_cli_writes_both_splits_and_refuses_overwriting_its_input(tmp_path):
    src = tmp_path / "in" / "toy_cuts_train.jsonl.gz"
    src.parent.mkdir()
    _cuts([("a", "x", 3), ("b", "x", 2), ("c", "y", 2)]).to_file(src)
    res = _run("prepare", "dev-split", "--cuts", src, "--out-dir", tmp_path / "out", "--by", "speaker", "--speakers", "b")
    assert res.exit_code == 0, res.output
    train = CutSet.from_file(tmp_path / "out" / "toy_cuts_train.jsonl.gz")
    dev = CutSet.from_file(tmp_path / "out" / "toy_cuts_dev.jsonl.gz")
    assert _speakers(dev) == {"b"} and _speakers(train) == {"a", "c"}
    res = _run("prepare", "dev-split", "--cuts", src, "--out-dir", src.parent, "--by", "cut", "--fraction", "0.3")
    assert res.exit_code == 2 and "would overwrite the input" in res.output
    assert len(CutSet.from_file(src)) == 7  # the input is intact
    res = _run("prepare", "dev-split", "--cuts", tmp_path / "missing.jsonl.gz", "--out-dir", tmp_path / "o", "--by", "cut",
               "--fraction", "0.3")
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output


def test_cli_windows_the_dev_cuts_like_windowed_test_items(tmp_path):
    src = tmp_path / "toy_cuts_train.jsonl.gz"
    _cuts([("a", "x", 4), ("b", "x", 4)]).to_file(src)  # 1 s cuts
    out = tmp_path / "out"
    res = _run("prepare", "dev-split", "--cuts", src, "--out-dir", out, "--by", "cut", "--fraction", "0.5",
               "--stratify", "speaker", "--window-seconds", "0.4")
    assert res.exit_code == 0, res.output
    dev = CutSet.from_file(out / "toy_cuts_dev.jsonl.gz")
    train = CutSet.from_file(out / "toy_cuts_train.jsonl.gz")
    assert len(train) == 4 and all(c.duration == 1.0 for c in train)  # training cuts stay whole
    assert len(dev) == 4 * 2 and all(abs(c.duration - 0.4) < 1e-9 for c in dev)  # two 0.4 s windows per 1 s cut
    assert {c.id.rsplit("_w", 1)[0] for c in dev}.isdisjoint({c.id for c in train})
    res = _run("prepare", "dev-split", "--cuts", src, "--out-dir", out, "--by", "cut", "--fraction", "0.5",
               "--window-seconds", "2")
    assert res.exit_code == 2 and "lower --window-seconds" in res.output
