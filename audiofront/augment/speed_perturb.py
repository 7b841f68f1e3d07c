"""Speed perturbation (Ko et al., 2015): replay audio at 0.9/1.0/1.1 speed, pitch and tempo together.

lhotse's ``cut.perturb_speed(factor)`` resamples lazily when the audio is loaded (through scipy; no
torchaudio needed). The factor of a cut is drawn from a generator seeded by (seed, epoch, cut id): the
same cut in the same epoch always gets the same factor, whichever DataLoader worker loads it and whether
or not training was resumed in between.
"""

from __future__ import annotations

import hashlib
import random
from typing import Optional, Sequence

from lhotse.cut import Cut

DEFAULT_FACTORS = (0.9, 1.0, 1.1)


def speed_factor(cut_id: str, epoch: int, seed: int, factors: Optional[Sequence[float]], prob: float = 1.0) -> float:
    """The factor for ``cut_id`` in ``epoch``: uniform over ``factors`` with probability ``prob``, else 1."""
    if not factors:
        return 1.0
    digest = hashlib.sha1(f"{seed}/{epoch}/{cut_id}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "little"))
    if rng.random() >= prob:
        return 1.0
    return float(rng.choice(list(factors)))


def perturb(cut: Cut, factor: float) -> Cut:
    """``cut`` replayed at ``factor`` speed (the cut itself for 1.0)."""
    if factor <= 0:
        raise ValueError(f"speed factor must be positive, got {factor}")
    return cut if factor == 1.0 else cut.perturb_speed(factor)
