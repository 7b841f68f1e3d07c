"""Tiny untrained checkpoints whose outputs are fixed by hand, and audio files of several rates and layouts.

Not a conftest.py (one here would shadow tests/conftest.py for the modules that import it by name): the
test modules import these fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


def speech_like(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Bursts of harmonic sound with pauses between them, at ``sr``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((180, 360, 540, 1200), 1))
    gate = (np.sin(2 * np.pi * 0.7 * t) > -0.2).astype(float)
    return (0.2 * x * gate + 0.003 * rng.standard_normal(t.shape[0])).astype(np.float32)


def _save(path: Path, task, model) -> Path:
    torch.save({"task": task.checkpoint_entry(), "model": model.state_dict()}, path)
    return path


def make_asr_checkpoint(root: Path, kind: str, token: str) -> Path:
    """``root/exp/avg.pt``: fbank + tiny Conformer whose output layer always says ``token``, with its lang dir
    (``kind`` tokens) in ``root/data/lang``, recorded relative, as a recipe run from ``root`` records it."""
    from audiofront.lm.lang import prepare_lang
    from audiofront.tasks import build_task

    prepare_lang(["A CAT", "A DOG", "THE CAT", "I SAT"], root / "data" / "lang", tokenizer_kind=kind, lm_order=2,
                 vocab="train")
    task = build_task("asr", {"frontend": "fbank", "encoder": "tiny", "lang_dir": "data/lang", "specaug": "none"})
    task.config["lang_dir"] = str(root / "data" / "lang")  # to build it; the checkpoint records "data/lang"
    model = task.build_model()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.fill_(-10.0)
        model.output.bias[task.tokenizer.tokens.index(token)] = 10.0
    task.config["lang_dir"] = "data/lang"
    (root / "exp").mkdir()
    return _save(root / "exp" / "avg.pt", task, model)


@pytest.fixture(scope="module")
def asr_checkpoint(tmp_path_factory) -> Path:
    """An asr checkpoint (characters) whose output layer always says the token "A"."""
    return make_asr_checkpoint(tmp_path_factory.mktemp("asr"), "char", "A")


@pytest.fixture(scope="module")
def classify_checkpoint(tmp_path_factory) -> Path:
    """A two-head classifier (digit: single-label, tags: multi-label) biased towards digit 7 and tag "loud"."""
    from audiofront.tasks import build_task

    root = tmp_path_factory.mktemp("clf")
    task = build_task("classify", {
        "frontend": "mel", "window_seconds": 0.5, "sample_rate": 16000,
        "heads": [{"name": "digit", "label": "digit", "kind": "single", "classes": [str(d) for d in range(10)]},
                  {"name": "tags", "label": "tags", "kind": "multi", "classes": ["loud", "music", "quiet"]}],
    })
    model = task.build_model()
    with torch.no_grad():
        for head in model.heads.values():
            head.weight.zero_()
            head.bias.zero_()
        model.heads["digit"].bias[7] = 4.0
        model.heads["tags"].bias.copy_(torch.tensor([3.0, -3.0, 0.0]))
    return _save(root / "clf.pt", task, model)


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory) -> dict[str, Path]:
    """The same 2.5 s signal at 16 kHz mono, 44.1 kHz stereo and 8 kHz mono, a 7 s file, and two bad files."""
    d = tmp_path_factory.mktemp("audio")
    out = {}
    base = speech_like(2.5, 16000)
    sf.write(d / "mono16k.wav", base, 16000)
    out["mono16k"] = d / "mono16k.wav"
    from audiofront.data.synth import resample

    hi = resample(base, 16000, 44100)
    sf.write(d / "stereo44k.flac", np.stack([hi, 0.5 * hi], axis=1), 44100)
    out["stereo44k"] = d / "stereo44k.flac"
    sf.write(d / "mono8k.wav", resample(base, 16000, 8000), 8000)
    out["mono8k"] = d / "mono8k.wav"
    sf.write(d / "long.wav", speech_like(7.0, 16000, seed=1), 16000)
    out["long"] = d / "long.wav"
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    out["broken"] = d / "broken.wav"
    out["missing"] = d / "missing.wav"
    return out
