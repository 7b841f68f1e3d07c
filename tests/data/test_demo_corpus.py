"""The synthetic demo corpus: eSpeak NG binding, band-limited resampling, voice split, determinism."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet

from audiofront.data.demo import DemoConfig, _sentence, demo_vocabulary, number_words, prepare_demo, split_voices
from audiofront.data.synth import ENGLISH_ACCENTS, VARIANTS, SynthesisError, resample, synthesize


def test_synthesize_speech_and_bad_voice():
    audio = synthesize("turn on the kitchen lights", voice="en-us+m3", rate=175, sample_rate=16000)
    assert audio.dtype == np.float32 and 0.8 < audio.size / 16000 < 4.0
    assert 0.05 < np.abs(audio).max() <= 1.0
    spec = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / 16000)
    assert spec[(freqs > 100) & (freqs < 4000)].sum() > 0.8 * spec.sum(), "speech energy lies below 4 kHz"
    slow = synthesize("turn on the kitchen lights", voice="en-us+m3", rate=110, sample_rate=16000)
    assert slow.size > 1.3 * audio.size
    with pytest.raises(SynthesisError, match="no voice"):
        synthesize("hello", voice="xx-nowhere")
    with pytest.raises(SynthesisError, match="empty"):
        synthesize("  ")


def test_resample_is_band_limited():
    sr_in, t = 22050, np.arange(22050) / 22050
    inside = resample(np.sin(2 * np.pi * 3000 * t), sr_in, 16000)
    above = resample(np.sin(2 * np.pi * 10000 * t), sr_in, 16000)  # above the new Nyquist (8 kHz)
    assert inside.size == 16000
    assert np.sqrt(np.mean(inside[1000:-1000] ** 2)) == pytest.approx(np.sqrt(0.5), rel=0.01)
    # without a lowpass, 10 kHz would alias to 6 kHz at full power
    assert np.sqrt(np.mean(above[1000:-1000] ** 2)) < 0.01


def test_grammar_and_voices():
    assert number_words(73) == "SEVENTY THREE" and number_words(205) == "TWO HUNDRED FIVE"
    r = random.Random(1)
    vocab = set(demo_vocabulary())
    used = {w for _ in range(3000) for w in _sentence(r).split()}
    assert used == vocab and 50 <= len(vocab) <= 150
    voices = split_voices(0)
    names = {k: {v.name for v in vs} for k, vs in voices.items()}
    assert len(names["train"]) + len(names["dev"]) + len(names["test"]) == len(ENGLISH_ACCENTS) * len(VARIANTS)
    assert not names["train"] & names["test"] and not names["train"] & names["dev"] and not names["dev"] & names["test"]
    # every accent and every variant is still heard in training
    assert {v.accent for v in voices["train"]} == set(ENGLISH_ACCENTS)
    assert {v.variant for v in voices["train"]} == set(VARIANTS)
    assert split_voices(0) == voices and split_voices(1) != voices


def _digest(out_dir):
    return {
        p.name: hashlib.sha1(sf.read(p, dtype="int16")[0].tobytes()).hexdigest()
        for p in sorted((out_dir / "demo_audio").rglob("*.flac"))
    }


def test_small_corpus_is_deterministic_and_voices_are_held_out(tmp_path):
    cfg = DemoConfig(n_train=6, n_dev=2, n_test=3, seed=3)
    stats = prepare_demo(tmp_path / "a", cfg=cfg, num_jobs=2, shard_size=6)
    prepare_demo(tmp_path / "b", cfg=cfg, num_jobs=1, shard_size=6)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") and len(_digest(tmp_path / "a")) == 11
    cuts = {s: CutSet.from_file(tmp_path / "a" / f"demo_cuts_{s}.jsonl.gz").to_eager() for s in ("train", "dev", "test")}
    assert {s: len(c) for s, c in cuts.items()} == {"train": 6, "dev": 2, "test": 3}
    speakers = {s: {c.supervisions[0].speaker for c in cs} for s, cs in cuts.items()}
    assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["dev"]
    vocab = set(demo_vocabulary())
    for cut in cuts["test"]:
        sup = cut.supervisions[0]
        assert set(sup.text.split()) <= vocab
        assert sup.speaker == f"{sup.custom['accent']}+{sup.custom['variant']}"
        audio = cut.load_audio()
        assert cut.sampling_rate == 16000 and audio.shape[1] == cut.num_samples
        assert 0.8 < cut.duration < 6.0
        # realism: noise in the leading silence, but far below the speech
        lead = audio[0, :400]
        assert 0 < np.sqrt(np.mean(lead**2)) < 0.1 * np.sqrt(np.mean(audio**2))
    saved = json.loads((tmp_path / "a" / "demo_stats.json").read_text())
    assert saved["splits"]["test"]["utterances"] == 3 == stats.splits["test"]["utterances"]
    assert "no problems found" in (tmp_path / "a" / "demo_report.txt").read_text()
