"""A small non-ASR task for the trainer tests: regress each clip's duration from its mean log-mel.

Not a test module (no ``test_`` prefix): imported by the tests in this folder. Cheap enough to train for
a few epochs in a test, and shows that the trainer is task-agnostic.
"""

from __future__ import annotations

import torch


class ToyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from audiofront.frontends import build_frontend

        self.frontend = build_frontend("mel", n_filters=8)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, audio, lens):
        feats, n = self.frontend(audio, lens)
        return self.head(feats.sum(1) / n[:, None].to(feats.dtype)).squeeze(-1)


def toy_task(cuts_path):
    """A non-ASR task: regress each clip's duration from its mean log-mel (the trainer is task-agnostic)."""
    from lhotse import CutSet

    from audiofront.data.dataset import AudioBatchDataset
    from audiofront.data.sampling import ResumableLoader, make_sampler
    from audiofront.tasks.base import Task

    class Toy(Task):
        name = "toy"

        def build_model(self):
            return ToyModel()

        def train_loader(self, world_size=1, rank=0):
            cuts = CutSet.from_file(cuts_path)
            return ResumableLoader(make_sampler(cuts, 3.0, seed=1, world_size=world_size, rank=rank), AudioBatchDataset())

        def loss(self, model, batch):
            pred = model(batch["audio"], batch["audio_lens"])
            loss = ((pred - batch["durations"].float()) ** 2).mean()
            return loss, {"mse": float(loss.detach())}

    return Toy({})
