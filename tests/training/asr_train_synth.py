"""A tiny synthetic ASR corpus for the trainer tests: each "word" is a tone burst of its own pitch.

Not a test module (no ``test_`` prefix): imported by the tests in this folder and by ``ddp_worker.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

WORDS = {"ONE": 400.0, "TWO": 700.0, "SIX": 1100.0, "GO": 1600.0}


def make_corpus(directory: Path, n: int = 16, seed: int = 0, sr: int = 16000) -> Path:
    """Write ``n`` wavs (0.5-1.3 s) and their cuts manifest; returns the manifest path."""
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    recs, sups = [], []
    for i in range(n):
        words = [str(w) for w in rng.choice(list(WORDS), size=int(rng.integers(1, 4)))]
        parts = [np.zeros(int(0.1 * sr))]
        for w in words:
            t = np.arange(int(0.2 * sr)) / sr
            parts += [0.3 * np.sin(2 * np.pi * WORDS[w] * t), np.zeros(int(0.08 * sr))]
        x = np.concatenate(parts)
        x = x + 0.01 * rng.standard_normal(x.shape[0])
        path = directory / f"utt{i:03d}.wav"
        sf.write(path, x.astype(np.float32), sr)
        rec = Recording.from_file(path, recording_id=f"utt{i:03d}")
        recs.append(rec)
        sups.append(SupervisionSegment(id=rec.id, recording_id=rec.id, start=0.0, duration=rec.duration, text=" ".join(words)))
    cuts = CutSet.from_manifests(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups))
    out = directory / "cuts.jsonl.gz"
    cuts.to_file(out)
    return out


def make_lang(directory: Path, cuts_path: Path) -> Path:
    from lhotse import CutSet

    from audiofront.text.tokenizer import Tokenizer

    texts = [c.supervisions[0].text for c in CutSet.from_file(cuts_path)]
    Tokenizer.train(texts, kind="char", out_dir=directory)
    return Path(directory)


def write_recipe(path: Path, cuts: Path, lang: Path, **training) -> Path:
    """A recipe YAML for a very small Conformer-CTC on the fbank frontend (fast on one CPU thread)."""
    recipe = {
        "task": "asr",
        "frontend": "fbank",
        "frontend_conf": {},
        "encoder": "tiny",
        "encoder_conf": {"num_layers": 1, "d_model": 32, "num_heads": 2, "ff_dim": 64, "conv_kernel": 7,
                         "subsampling_channels": 8},
        "train_cuts": str(cuts),
        "valid_cuts": str(cuts),
        "lang_dir": str(lang),
        "max_duration": 3.0,
        "num_buckets": 2,
        "speed_perturb": [0.9, 1.0, 1.1],
        "training": {"num_epochs": 3, "lr": 3e-3, "seed": 7, "num_threads": 1, "progress": False,
                     "tensorboard": False, "log_every": 1, **training},
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path
