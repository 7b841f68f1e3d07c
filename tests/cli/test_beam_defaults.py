"""The beam a user gets from `decode`, `transcribe` and `tune-lm` without --beam-size is the one egs/librispeech
decodes (and tunes) at, so that transcribing one's own files is as accurate as the recipe's reported WER."""

import inspect
import re
from pathlib import Path

import pytest

from audiofront.cli import decode, transcribe, tune_lm

RUN_SH = Path(__file__).resolve().parents[2] / "egs" / "librispeech" / "run.sh"


def recipe_value(name: str) -> int:
    m = re.search(rf"^{name}=(\d+)", RUN_SH.read_text(encoding="utf-8"), flags=re.M)
    assert m, f"{name}= not found in {RUN_SH}"
    return int(m.group(1))


def cli_default(module) -> int:
    return inspect.signature(module.main).parameters["beam_size"].default.default


@pytest.mark.parametrize("module", [decode, transcribe], ids=["decode", "transcribe"])
def test_decoding_commands_default_to_the_recipe_beam(module):
    assert cli_default(module) == recipe_value("beam_size")


def test_tune_lm_defaults_to_the_recipe_tuning_beam():
    assert cli_default(tune_lm) == recipe_value("tune_beam_size")


def test_the_python_api_decodes_at_the_recipe_beam():
    pytest.importorskip("flashlight.lib.text.decoder")
    from audiofront.decoding.beam import BeamSearchOptions

    assert BeamSearchOptions().beam_size == recipe_value("beam_size")
