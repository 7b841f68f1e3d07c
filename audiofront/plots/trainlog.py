"""The numbers of a ``train.log`` (written by :mod:`audiofront.training.trainer`), for learning curves.

The trainer writes, for every task (ASR and classification alike)::

    2026-12-01 20:02:15,757 INFO epoch 0 step 10 loss 4.3689 lr 0.00012 grad-norm 7.59 audio-s/s 84.0 digit_acc 0.5
    2026-12-01 20:02:16,001 INFO epoch 1 validation: loss 0.51 digit_loss 0.51 digit_acc 0.9
    2026-12-01 20:02:16,002 INFO epoch 1 done in 12.0 s (step 125)

A step line holds the means over the steps since the previous one; a validation line has no step, so it is
placed at the step of the ``epoch N done`` line that follows it (the step the validated model reached).
A resumed run appends to the same log and may repeat steps (resumed from an older checkpoint): the value
written last for a step is kept, the run that continued.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

_STEP = re.compile(r"\bINFO epoch (\d+) step (\d+) (.*)$")
_VALID = re.compile(r"\bINFO epoch (\d+) validation: (.*)$")
_DONE = re.compile(r"\bINFO epoch (\d+) done in [0-9.]+ s \(step (\d+)\)")


@dataclass
class TrainLog:
    """``train[key][step]`` and ``valid[key][step]`` values; ``epochs[epoch] = step`` at each epoch's end."""

    path: Path
    train: dict[str, dict[int, float]] = field(default_factory=dict)
    valid: dict[str, dict[int, float]] = field(default_factory=dict)
    epochs: dict[int, int] = field(default_factory=dict)

    def series(self, which: str, key: str) -> tuple[list[int], list[float]]:
        """``(steps, values)`` of one quantity, by step."""
        points = sorted((self.train if which == "train" else self.valid).get(key, {}).items())
        return [p[0] for p in points], [p[1] for p in points]


def _pairs(text: str) -> dict[str, float]:
    """``"loss 4.3 lr 0.001 digit_acc 0.5"`` -> ``{"loss": 4.3, ...}`` (tokens alternate name, number)."""
    tokens = text.split()
    out = {}
    for name, value in zip(tokens[0::2], tokens[1::2]):
        try:
            v = float(value)
        except ValueError:
            continue  # a word where a number was expected: not one of our key/value pairs
        if math.isfinite(v):  # a skipped step's NaN loss has no place on a curve (the log keeps it)
            out[name] = v
    return out


def parse_train_log(path: str | Path) -> TrainLog:
    """Read ``path`` (a ``train.log``, or an experiment folder holding one).

    Raises:
        UserError: the file is missing, not text, or holds no step line (nothing to draw).
    """
    from ..scoring.files import read_text

    path = Path(path)
    if path.is_dir():
        path = path / "train.log"
    text = read_text(path, "train log")
    log = TrainLog(path)
    pending: list[dict[str, float]] = []  # validation lines waiting for their epoch's step
    for line in text.splitlines():
        m = _STEP.search(line)
        if m:
            step = int(m.group(2))
            for k, v in _pairs(m.group(3)).items():
                log.train.setdefault(k, {})[step] = v
            continue
        m = _VALID.search(line)
        if m:
            pending.append(_pairs(m.group(2)))
            continue
        m = _DONE.search(line)
        if m:
            step = int(m.group(2))
            log.epochs[int(m.group(1))] = step
            for stats in pending:
                for k, v in stats.items():
                    log.valid.setdefault(k, {})[step] = v
            pending = []
    if not log.train:
        raise UserError(f"{path} holds no training step line ('epoch E step S loss ...'): nothing to draw "
                        "(did the run log a step? the trainer writes one every training.log_every steps)")
    return log
