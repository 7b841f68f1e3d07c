"""The beam a user gets from `decode`, `transcribe` and `tune-lm` (and their Python functions) without a beam size is
the one egs/librispeech decodes and tunes at, so that transcribing one's own files is as accurate as the recipe's
reported WER."""

import inspect
import re
from pathlib import Path

import pytest

from audiofront.cli import decode, transcribe, tune_lm
from audiofront.decoding import DECODE_BEAM_SIZE, TUNE_BEAM_SIZE

RUN_SH = Path(__file__).resolve().parents[2] / "egs" / "librispeech" / "run.sh"


def recipe_value(name: str) -> int:
    m = re.search(rf"^{name}=(\d+)", RUN_SH.read_text(encoding="utf-8"), flags=re.M)
    assert m, f"{name}= not found in {RUN_SH}"
    return int(m.group(1))


def cli_default(module) -> int:
    return inspect.signature(module.main).parameters["beam_size"].default.default


def test_the_constants_are_the_recipe_beams():
    assert (DECODE_BEAM_SIZE, TUNE_BEAM_SIZE) == (recipe_value("beam_size"), recipe_value("tune_beam_size"))


@pytest.mark.parametrize("module,want", [(decode, DECODE_BEAM_SIZE), (transcribe, DECODE_BEAM_SIZE),
                                         (tune_lm, TUNE_BEAM_SIZE)], ids=["decode", "transcribe", "tune-lm"])
def test_commands_default_to_the_recipe_beams(module, want):
    assert cli_default(module) == want


def test_the_python_functions_default_to_the_recipe_beams(monkeypatch):
    pytest.importorskip("flashlight.lib.text.decoder")
    from audiofront.decoding import beam, tune

    assert beam.BeamSearchOptions().beam_size == DECODE_BEAM_SIZE
    seen = []

    def stop(_tokenizer, _lang_dir, _lm_path, options):  # tune_lm's decoder, built from its base options
        seen.append(options.beam_size)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tune, "_load", lambda *a: (type("T", (), {"tokenizer": None})(), None, [], Path("."), "cpu"))
    monkeypatch.setattr(tune, "_emissions", lambda *a: iter(()))
    monkeypatch.setattr(tune, "_beam_decoder", stop)
    with pytest.raises(RuntimeError, match="stop here"):
        tune.tune_lm("ckpt", "cuts", "out", lm_weights=[1.0], word_scores=[0.0], lm_path="lm.arpa")
    assert seen == [TUNE_BEAM_SIZE]
