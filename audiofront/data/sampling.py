"""Batches of cuts by total duration, and a data loader whose position can be saved and restored.

Why our own position bookkeeping instead of only the sampler's ``state_dict``: a DataLoader with workers
pulls batches from the sampler ahead of the training loop, so the sampler's own count is ahead of what
was trained on. :class:`ResumableLoader` counts the batches the training loop has *received*; on resume
it replays the sampler of that epoch (same seed and epoch, hence the same batches) and skips that many
batch descriptions (cut lists only; no audio is read for them).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterator, Optional

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler, SimpleCutSampler
from lhotse.dataset.sampling.base import CutSampler
from torch.utils.data import DataLoader, Dataset


def make_sampler(
    cuts: CutSet,
    max_duration: float,
    shuffle: bool = True,
    num_buckets: int = 10,
    seed: int = 0,
    world_size: int = 1,
    rank: int = 0,
    drop_last: bool = False,
    bucketing: bool = True,
) -> CutSampler:
    """A lhotse sampler yielding CutSets of at most ``max_duration`` seconds of audio in total.

    ``bucketing`` groups cuts of similar duration (less padding); ``world_size``/``rank`` give each DDP
    process its own share of the batches.
    """
    if max_duration <= 0:
        raise ValueError(f"max_duration must be a positive number of seconds per batch, got {max_duration}")
    longest = max((c.duration for c in cuts), default=0.0)
    if longest > max_duration:
        raise ValueError(
            f"max_duration={max_duration} s is shorter than the longest cut ({longest:.2f} s): that cut could "
            "never be put in a batch; raise --max-duration or filter long cuts out"
        )
    if bucketing:
        # lhotse warns that an eager CutSet gains nothing from dynamic bucketing's streaming; we use it
        # for its duration buckets and resumable state, on eager and lazy manifests alike
        warnings.filterwarnings("ignore", message="You are using DynamicBucketingSampler with an eagerly read CutSet")
        n_cuts = len(cuts) if cuts.is_lazy is False else None
        buckets = num_buckets if n_cuts is None else max(1, min(num_buckets, n_cuts // 2 or 1))
        return DynamicBucketingSampler(
            cuts,
            max_duration=max_duration,
            shuffle=shuffle,
            num_buckets=buckets,
            drop_last=drop_last,
            seed=seed,
            world_size=world_size,
            rank=rank,
            buffer_size=max(2000, 4 * buckets * 50),
        )
    return SimpleCutSampler(
        cuts, max_duration=max_duration, shuffle=shuffle, drop_last=drop_last, seed=seed, world_size=world_size, rank=rank
    )


class _SkippingSampler(torch.utils.data.Sampler):
    """Iterate ``sampler`` for one epoch, dropping its first ``skip`` batches."""

    def __init__(self, sampler: CutSampler, epoch: int, skip: int):
        self.sampler, self.epoch, self.skip = sampler, epoch, skip

    def __iter__(self) -> Iterator[CutSet]:
        self.sampler.set_epoch(self.epoch)
        for i, batch in enumerate(self.sampler):
            if i >= self.skip:
                yield batch


class ResumableLoader:
    """Batches of ``dataset[cuts]`` for the cuts that ``sampler`` yields, one epoch per iteration.

    ``state_dict()`` is ``{"epoch", "batches_done"}``: the epoch being iterated and how many batches of
    it the consumer has received. After ``load_state_dict`` the next iteration continues that epoch
    right after the last received batch. Exhausting an epoch moves the loader on to the next one.
    """

    def __init__(self, sampler: CutSampler, dataset: Dataset, num_workers: int = 0):
        self.sampler = sampler
        self.dataset = dataset
        self.num_workers = num_workers
        self.epoch = 0
        self.batches_done = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches_done = 0

    def __iter__(self) -> Iterator[Any]:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        loader = DataLoader(
            self.dataset,
            sampler=_SkippingSampler(self.sampler, self.epoch, self.batches_done),
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=False,
            # its own generator: creating the iterator must not draw from torch's global RNG, whose
            # state is saved in checkpoints (a resumed run creates it at a different point)
            generator=torch.Generator().manual_seed(self.epoch),
        )
        for batch in loader:
            self.batches_done += 1
            yield batch
        # the epoch is finished: the next iteration (and a checkpoint taken now) starts the next one
        self.epoch += 1
        self.batches_done = 0

    def count_batches(self, epoch: Optional[int] = None) -> int:
        """Batches in one epoch (iterates the sampler only: no audio is read)."""
        self.sampler.set_epoch(self.epoch if epoch is None else epoch)
        return sum(1 for _ in self.sampler)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches_done": self.batches_done}

    def load_state_dict(self, sd: dict[str, int]) -> None:
        self.epoch = int(sd["epoch"])
        self.batches_done = int(sd["batches_done"])
