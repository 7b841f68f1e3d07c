"""``decode``, ``evaluate``, ``score``, ``inspect-filters`` and ``frontends`` with bad input (issue 9 items 6,
10, 12): one ``error:`` line naming the file or value, a non-zero exit, no traceback; decode never drops cuts."""

from __future__ import annotations

import json

import pytest
import torch
from lhotse import CutSet

from cli_helpers import asr, assert_one_line_error, run, tones, write_tones  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def models(tones, asr, tmp_path_factory):
    """A one-step classify checkpoint and a one-step asr checkpoint."""
    root = tmp_path_factory.mktemp("models")
    common = ["--no-progress", "--max-steps", "1", "--set", "training.tensorboard=false"]
    res = run(["train", "--task", "classify", "--frontend", "mel", "--set", "label=tone", "--set", "encoder=mlp",
               "--set", "batch_size=4", "--train-cuts", tones, "--exp-dir", root / "cls"] + common)
    assert res.exit_code == 0, res.output
    cuts, lang = asr
    res = run(["train", "--task", "asr", "--frontend", "fbank", "--lang-dir", lang, "--train-cuts", cuts,
               "--set", "encoder_conf.num_layers=1", "--set", "encoder_conf.d_model=32", "--exp-dir", root / "asr"] + common)
    assert res.exit_code == 0, res.output
    return root / "cls" / "last.pt", root / "asr" / "last.pt"


# ---- decode ---------------------------------------------------------------------------------------
def test_decode_decodes_every_cut(models, asr, tmp_path):
    cuts, _ = asr
    res = run(["decode", "--checkpoint", models[1], "--cuts", cuts, "--out-dir", tmp_path / "d"])
    assert res.exit_code == 0, res.output
    n = len(CutSet.from_file(cuts))
    assert f"decoded {n} utterances" in res.output
    assert len((tmp_path / "d" / "hyp").read_text().splitlines()) == n


def test_greedy_decode_writes_the_token_sequences_and_score_gives_the_token_error_rate(models, asr, tmp_path):
    from audiofront.data.dataset import AudioBatchDataset
    from audiofront.tasks import load_model

    cuts, _ = asr
    res = run(["decode", "--checkpoint", models[1], "--cuts", cuts, "--out-dir", tmp_path / "d"])
    assert res.exit_code == 0, res.output
    task, model = load_model(models[1], device=torch.device("cpu"))
    model.eval()
    cutset = CutSet.from_file(cuts)
    refs = dict(line.split(" ", 1) for line in (tmp_path / "d" / "ref_tokens").read_text().splitlines())
    assert refs == {c.id: " ".join(task.tokenizer.encode_as_tokens(c.supervisions[0].text)) for c in cutset}
    res = run(["score", "--ref", tmp_path / "d" / "ref_tokens", "--hyp", tmp_path / "d" / "hyp_tokens",
               "--out-dir", tmp_path / "s"])
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "s" / "wer.json").read_text())["summary"]
    # the same rate as the trainer's validation token error, computed by the task itself
    with torch.no_grad():
        errors, tokens = task.valid_stats(model, AudioBatchDataset(tokenizer=task.tokenizer)[cutset])["ter"]
    assert got["Wrd"] == tokens
    assert got["Err"] == pytest.approx(100 * errors / tokens, abs=0.006)


def test_decode_refuses_repeated_cut_ids(models, asr, tmp_path):
    cuts, _ = asr
    one = next(iter(CutSet.from_file(cuts)))
    CutSet.from_cuts([one, one, one]).to_file(tmp_path / "dup.jsonl.gz")
    res = run(["decode", "--checkpoint", models[1], "--cuts", tmp_path / "dup.jsonl.gz", "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, "--cuts", "dup.jsonl.gz", "repeats cut ids", one.id)
    assert not (tmp_path / "d" / "hyp").exists()


def test_decode_names_the_cut_with_nan_samples(models, asr, tmp_path):
    import numpy as np
    import soundfile as sf
    from lhotse import MonoCut, Recording
    from lhotse.utils import fastcopy

    cuts = list(CutSet.from_file(asr[0]))
    x, sr = sf.read(cuts[1].recording.sources[0].source, dtype="float32")
    x[50] = np.nan
    sf.write(tmp_path / "bad.wav", x, sr, subtype="FLOAT")
    rec = Recording.from_file(tmp_path / "bad.wav", recording_id="bad-utt")
    sup = fastcopy(cuts[1].supervisions[0], id="bad-utt", recording_id="bad-utt")
    bad = MonoCut("bad-utt", 0.0, rec.duration, 0, recording=rec, supervisions=[sup])
    CutSet.from_cuts(cuts[:1] + [bad]).to_file(tmp_path / "nan.jsonl.gz")
    res = run(["decode", "--checkpoint", models[1], "--cuts", tmp_path / "nan.jsonl.gz", "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, "cut bad-utt", "NaN", "nan.jsonl.gz")


@pytest.mark.parametrize("command", ["decode", "evaluate"])
def test_a_cut_whose_audio_is_gone_is_one_line(command, models, asr, tones, tmp_path):
    import shutil

    from lhotse import Recording
    from lhotse.utils import fastcopy

    cuts = list(CutSet.from_file(asr[0] if command == "decode" else tones))
    src = cuts[1].recording.sources[0].source
    shutil.copy(src, tmp_path / "gone.wav")
    rec = fastcopy(Recording.from_file(tmp_path / "gone.wav", recording_id=cuts[1].recording.id), id=cuts[1].recording.id)
    gone = fastcopy(cuts[1], recording=rec)
    CutSet.from_cuts([cuts[0], gone] + cuts[2:]).to_file(tmp_path / "gone.jsonl.gz")
    (tmp_path / "gone.wav").unlink()
    ckpt = models[1] if command == "decode" else models[0]
    res = run([command, "--checkpoint", ckpt, "--cuts", tmp_path / "gone.jsonl.gz", "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, f"cut {gone.id}", "could not load audio")


def test_decode_with_a_classification_checkpoint(models, asr, tmp_path):
    res = run(["decode", "--checkpoint", models[0], "--cuts", asr[0], "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, "--checkpoint", str(models[0]), "'classify'", "asr")


@pytest.mark.parametrize(
    "options, words",
    [
        (["--device", "cuda"], ["--device cuda", "no CUDA GPU"]),
        (["--device", "gpu7"], ["--device", "gpu7"]),
        (["--method", "viterbi"], ["--method", "viterbi"]),
        (["--max-duration", "0"], ["--max-duration", "0"]),
    ],
)
def test_decode_bad_options(models, asr, tmp_path, options, words):
    if "cuda" in options and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    res = run(["decode", "--checkpoint", models[1], "--cuts", asr[0], "--out-dir", tmp_path / "d"] + options)
    assert_one_line_error(res, *words)


def test_decode_bad_files(models, asr, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    res = run(["decode", "--checkpoint", tmp_path / "junk.pt", "--cuts", asr[0], "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, "junk.pt", code=None)
    res = run(["decode", "--checkpoint", models[1], "--cuts", tmp_path / "none.jsonl.gz", "--out-dir", tmp_path / "d"])
    assert_one_line_error(res, "--cuts", "none.jsonl.gz", "does not exist")


# ---- evaluate ------------------------------------------------------------------------------------
def test_evaluate_bad_input(models, tones, asr, tmp_path):
    res = run(["evaluate", "--checkpoint", models[1], "--cuts", tones, "--out-dir", tmp_path / "e"])
    assert_one_line_error(res, "--checkpoint", "'asr'", "classify")
    res = run(["evaluate", "--checkpoint", models[0], "--cuts", tones, "--out-dir", tmp_path / "e", "--snr", "loud"])
    assert_one_line_error(res, "--snr", "loud")
    res = run(["evaluate", "--checkpoint", models[0], "--cuts", tones, "--out-dir", tmp_path / "e", "--batch-size", "0"])
    assert_one_line_error(res, "--batch-size", "0")
    res = run(["evaluate", "--checkpoint", models[0], "--cuts", tones, "--out-dir", tmp_path / "e", "--num-threads", "-1"])
    assert_one_line_error(res, "--num-threads", "-1")
    res = run(["evaluate", "--checkpoint", models[0], "--cuts", tmp_path / "none.jsonl.gz", "--out-dir", tmp_path / "e"])
    assert_one_line_error(res, "--cuts", "none.jsonl.gz")
    if not torch.cuda.is_available():
        res = run(["evaluate", "--checkpoint", models[0], "--cuts", tones, "--out-dir", tmp_path / "e", "--device", "cuda"])
        assert_one_line_error(res, "--device cuda")


def test_evaluate_names_the_clip_with_nan_samples(models, tmp_path):
    write_tones(tmp_path, nan_clip=4).to_file(tmp_path / "nan.jsonl.gz")
    res = run(["evaluate", "--checkpoint", models[0], "--cuts", tmp_path / "nan.jsonl.gz", "--out-dir", tmp_path / "e"])
    assert_one_line_error(res, "cut mid_1", "NaN")
    assert not (tmp_path / "e" / "clean" / "predictions.jsonl").exists()


# ---- score ---------------------------------------------------------------------------------------
def test_score_non_utf8_hypothesis_names_the_file(tmp_path):
    (tmp_path / "ref").write_text("u1 CAFE\n")
    (tmp_path / "hyp").write_bytes("u1 CAF\xc9\n".encode("latin-1"))
    res = run(["score", "--hyp", tmp_path / "hyp", "--ref", tmp_path / "ref", "--out-dir", tmp_path / "s"])
    assert_one_line_error(res, "--hyp", str(tmp_path / "hyp"), "not UTF-8", "0xc9")


def test_score_bad_input(tmp_path):
    (tmp_path / "ref").write_text("u1 A\n")
    (tmp_path / "hyp").write_text("u1 A\nu1 B\n")
    out = ["--out-dir", tmp_path / "s"]
    assert_one_line_error(run(["score", "--hyp", tmp_path / "hyp", "--ref", tmp_path / "ref"] + out), "hyp:2", "twice")
    assert_one_line_error(run(["score", "--hyp", tmp_path / "nope", "--ref", tmp_path / "ref"] + out), "--hyp", "nope")
    assert_one_line_error(run(["score", "--hyp", tmp_path / "ref"] + out), "--ref")
    assert_one_line_error(run(["score", "--hyp", tmp_path / "ref", "--task", "tts"] + out), "--task", "tts")
    assert_one_line_error(run(["score", "--hyp", tmp_path / "ref", "--ref", tmp_path / "ref", "--compare",
                               tmp_path / "nope"] + out), "--compare", "nope")
    (tmp_path / "pred.jsonl").write_text("{not json\n")
    assert_one_line_error(run(["score", "--task", "classify", "--hyp", tmp_path / "pred.jsonl"] + out), "pred.jsonl:1")


# ---- inspect-filters, frontends -----------------------------------------------------------------
def test_inspect_filters_and_frontends_bad_input(tmp_path):
    assert_one_line_error(run(["inspect-filters", "no-such-frontend", "--json"]), "no-such-frontend")
    assert_one_line_error(run(["inspect-filters", "mel", "--json", "--conf", "n_filters=abc"]), "n_filters", "abc")
    assert_one_line_error(run(["frontends", "--conf", "nonsense"]), "--conf", "nonsense")
    assert_one_line_error(run(["frontends", "--conf", "n_filters=abc"]), "n_filters", "abc")
