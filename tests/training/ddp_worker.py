"""Run by ``torchrun`` in test_ddp.py: train the asr task on 2 CPU processes (gloo) and record, per rank,
which cuts each step trained on and the final weights. Not a test module."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import yaml

from audiofront.tasks.asr import AsrTask
from audiofront.training.trainer import TrainConfig, Trainer


class RecordingAsrTask(AsrTask):
    """The asr task, remembering its model and the cut ids of every training batch."""

    def __init__(self, config):
        super().__init__(config)
        self.seen: list[list[str]] = []
        self.model = None

    def build_model(self):
        self.model = super().build_model()
        return self.model

    def loss(self, model, batch):
        if model.training:
            self.seen.append(list(batch["cut_ids"]))
        return super().loss(model, batch)


def main() -> None:
    recipe, exp_dir, out_dir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    cfg = yaml.safe_load(recipe.read_text())
    cfg.pop("task")
    training = {**cfg.pop("training"), "exp_dir": exp_dir, "device": "cpu"}
    task = RecordingAsrTask(cfg)
    Trainer(task, TrainConfig.from_dict(training)).fit()
    rank = int(os.environ["RANK"])
    torch.save({"seen": task.seen, "model": task.model.state_dict(), "world": int(os.environ["WORLD_SIZE"])},
               out_dir / f"rank{rank}.pt")


if __name__ == "__main__":
    main()
