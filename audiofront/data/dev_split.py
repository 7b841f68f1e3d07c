"""A dev split carved out of a training manifest, so that budgets and settings are chosen without the test set.

``audiofront prepare dev-split --cuts data/X/X_cuts_train.jsonl.gz --out-dir data/X_dev ...`` writes
``{out_dir}/{corpus}_cuts_train.jsonl.gz`` (the rest) and ``{out_dir}/{corpus}_cuts_dev.jsonl.gz``. Two ways,
chosen to mirror how the task's test set differs from its training set:

- ``by="speaker"``: whole speakers (the supervision's ``speaker``) go to dev, for tasks whose test voices are
  never heard in training (FSDD digits on an unseen speaker, the demo accents). ``speakers`` names them, or
  ``round(fraction * n)`` of them are drawn with the seed; with ``stratify=LABEL`` the draw is made within each
  value of the label and keeps at least one speaker of every value in training (a dev accent never heard in
  training could not be predicted);
- ``by="cut"``: single cuts, for tasks whose test clips are other recordings of voices heard in training
  (speaker identity). With ``stratify=LABEL`` every value of the label gives ``round(fraction * n)`` of its cuts
  (at least one, and at least one left for training), so every class is in both splits.

The draw depends only on the seed and the sorted ids/speakers of a stratum, so the split is reproducible and
one stratum's split does not move when another changes.

    >>> train, dev = dev_split(cuts, by="cut", fraction=0.1, stratify="speaker", seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence

from ..errors import UserError

BY = ("speaker", "cut")


def _speaker(cut) -> Optional[str]:
    for sup in cut.supervisions:
        if sup.speaker:
            return str(sup.speaker)
    return None


def _label(cut, key: str) -> Optional[str]:
    for sup in cut.supervisions:
        if sup.custom and sup.custom.get(key) is not None:
            return str(sup.custom[key])
    return None


def _count(fraction: float, n: int) -> int:
    """Dev share of ``n`` items: ``round(fraction * n)`` clamped to 1 .. n - 1."""
    return min(n - 1, max(1, round(fraction * n)))


def _draw(cuts, key, what: str, fraction: float, stratify: Optional[str], seed: int) -> set[str]:
    """The dev keys (speakers or cut ids, ``key(cut)``): within each value of ``stratify`` (or all at once), a
    seeded shuffle of the sorted distinct keys, then the first ``_count(fraction, n)``."""
    groups: dict[str, set[str]] = defaultdict(set)
    for c in cuts:
        groups[_label(c, stratify) if stratify else ""].add(key(c))
    chosen: set[str] = set()
    for value, members in sorted(groups.items()):
        members = sorted(members)
        if len(members) < 2:
            where = f" with {stratify}={value}" if stratify else ""
            kind = "speaker " if what == "speaker" else ""
            raise UserError(f"only one {what}{where} ({members[0]}): a dev {kind}split needs two or more")
        random.Random(f"{seed}-{value}").shuffle(members)
        chosen.update(members[: _count(fraction, len(members))])
    return chosen


def dev_split(
    cuts,
    by: str,
    *,
    fraction: Optional[float] = None,
    speakers: Optional[Sequence[str]] = None,
    stratify: Optional[str] = None,
    seed: int = 0,
):
    """``(train CutSet, dev CutSet)`` from ``cuts``; see the module docstring for the rules.

    Raises:
        UserError: an unknown ``by``, a fraction outside (0, 1), named speakers absent from the cuts, a cut
            without a speaker (``by="speaker"``) or without the ``stratify`` label, or a split that would
            leave training or dev empty.
    """
    from lhotse import CutSet

    if by not in BY:
        raise UserError(f"--by must be one of {', '.join(BY)}, got {by!r}")
    if speakers and by != "speaker":
        raise UserError("--speakers names dev speakers: it needs --by speaker")
    if speakers and stratify:
        raise UserError("--speakers and --stratify exclude each other (named speakers are not drawn)")
    if not speakers:
        if fraction is None:
            raise UserError("give --fraction (the dev share) or, with --by speaker, --speakers")
        if not 0.0 < fraction < 1.0:
            raise UserError(f"--fraction must be between 0 and 1 (exclusive), got {fraction}")
    cuts = list(cuts)
    if stratify:
        unlabelled = [c.id for c in cuts if _label(c, stratify) is None]
        if unlabelled:
            raise UserError(f"cut(s) {', '.join(unlabelled[:3])} carry no {stratify!r} label to stratify by")

    if by == "speaker":
        missing = [c.id for c in cuts if _speaker(c) is None]
        if missing:
            raise UserError(f"cut(s) {', '.join(missing[:3])} have no speaker; --by speaker needs supervision speakers")
        all_speakers = sorted({_speaker(c) for c in cuts})
        if speakers:
            unknown = sorted(set(speakers) - set(all_speakers))
            if unknown:
                raise UserError(f"--speakers {', '.join(unknown)} not in the cuts (speakers: {', '.join(all_speakers[:10])}"
                                f"{', ...' if len(all_speakers) > 10 else ''})")
            chosen = set(speakers)
        else:
            chosen = _draw(cuts, _speaker, "speaker", fraction, stratify, seed)
        is_dev = {c.id: _speaker(c) in chosen for c in cuts}
    else:
        chosen = _draw(cuts, lambda c: c.id, "cut", fraction, stratify, seed)
        is_dev = {c.id: c.id in chosen for c in cuts}

    train = [c for c in cuts if not is_dev[c.id]]
    dev = [c for c in cuts if is_dev[c.id]]
    if not train:
        raise UserError("every cut would go to dev; name fewer --speakers")
    return CutSet.from_cuts(train), CutSet.from_cuts(dev)


def corpus_of(path: str | os.PathLike) -> str:
    """``data/x/fsdd_cuts_train.jsonl.gz`` -> ``fsdd`` (the prefix before ``_cuts_``)."""
    name = Path(path).name
    if "_cuts_" not in name:
        raise UserError(f"{path}: expected a manifest named CORPUS_cuts_SPLIT.jsonl.gz (as prepare writes); give --corpus")
    return name.split("_cuts_")[0]


def write_dev_split(train, dev, out_dir: str | os.PathLike, corpus: str, source: str | os.PathLike) -> list[Path]:
    """Write ``{corpus}_cuts_{train,dev}.jsonl.gz`` into ``out_dir`` atomically; refuse to overwrite ``source``."""
    from .manifests import manifest_path, write_manifest

    paths = [manifest_path(out_dir, corpus, "cuts", split) for split in ("train", "dev")]
    for path in paths:
        if path.resolve() == Path(source).resolve():
            raise UserError(f"--out-dir {out_dir} would overwrite the input {source}; choose another folder")
    for path, cuts in zip(paths, (train, dev)):
        write_manifest(cuts, path)
    return paths
