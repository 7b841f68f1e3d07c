"""COLA resumes exactly after SIGKILL: the existing kill/resume check (``test_resume.check_sigkill_resume``)
on a COLA recipe. Random crops, the noise on the positive and the feature masks all draw from the saved
random streams, so a resumed run must end bit-identical to an uninterrupted one."""

from __future__ import annotations

import yaml

from asr_train_synth import make_corpus
from test_resume import check_sigkill_resume


def test_cola_sigkill_then_resume_matches_uninterrupted(tmp_path):
    cuts = make_corpus(tmp_path / "corpus", n=16)
    recipe = {
        "task": "cola",
        "frontend": "leaf",
        "frontend_conf": {"n_filters": 8},
        "encoder": "small-cnn",
        "encoder_conf": {"channels": [4, 8]},
        "train_cuts": str(cuts),
        "batch_size": 4,
        "segment_seconds": 0.3,
        "projection_dim": 16,
        "training": {"num_epochs": 3, "lr": 3e-3, "seed": 7, "num_threads": 1, "progress": False,
                     "tensorboard": False, "log_every": 1, "save_every_steps": 2, "keep_last_steps": 0,
                     "schedule": "cosine", "warmup_steps": 3},
    }
    path = tmp_path / "cola.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    check_sigkill_resume(path, tmp_path)
