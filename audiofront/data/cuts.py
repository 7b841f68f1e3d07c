"""Reading a cut manifest given by the user, with one clear error for every way it can be wrong.

Every command that takes ``--cuts``/``--train-cuts``/... reads it through :func:`read_cuts`, so a missing,
empty, truncated or garbage file, a manifest of another kind (recordings, supervisions) or duplicate cut
ids all end in a :class:`~audiofront.errors.UserError` naming the file and the option, never a lhotse or
JSON traceback.

    >>> cuts = read_cuts("data/manifests/fsdd_cuts_train.jsonl.gz", "--train-cuts")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Optional

from ..errors import UserError


def read_cuts(path: Optional[str | os.PathLike], what: str = "--cuts", *, allow_duplicates: bool = False):
    """The lhotse ``CutSet`` in ``path``, read eagerly and checked.

    Args:
        path: a lhotse cuts manifest (``.jsonl``, ``.jsonl.gz``, ``.json``).
        what: how the user named it (an option such as ``--train-cuts``), for the messages.
        allow_duplicates: accept repeated cut ids (the default refuses them: a decoder or scorer keyed
            by id would silently keep one of them).

    Raises:
        UserError: the file is missing, empty, unreadable, not a cut manifest, holds no cuts, or repeats ids.
    """
    from lhotse import CutSet

    if path is None or str(path) == "":
        raise UserError(f"{what}: no cuts manifest given")
    p = Path(path)
    if not p.exists():
        raise UserError(f"{what}: {p} does not exist")
    if not p.is_file():
        raise UserError(f"{what}: {p} is not a file")
    if p.stat().st_size == 0:
        raise UserError(f"{what}: {p} is empty (expected a lhotse cuts manifest, e.g. *_cuts_train.jsonl.gz)")
    try:
        from lhotse import load_manifest

        manifest = load_manifest(p)
    except Exception as e:  # noqa: BLE001 - any parse failure is the same user error: not a readable manifest
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{what}: {p} is not a readable lhotse cuts manifest ({type(e).__name__}: {detail[:200]})") from None
    if not isinstance(manifest, CutSet):
        raise UserError(
            f"{what}: {p} is a {type(manifest).__name__} manifest; expected cuts (the *_cuts_*.jsonl.gz file that prepare writes)"
        )
    cuts = manifest.to_eager()
    if len(cuts) == 0:
        raise UserError(f"{what}: {p} holds no cuts")
    if not allow_duplicates:
        dup = [i for i, n in Counter(c.id for c in cuts).items() if n > 1]
        if dup:
            shown = ", ".join(repr(d) for d in dup[:5]) + (f" and {len(dup) - 5} more" if len(dup) > 5 else "")
            raise UserError(f"{what}: {p} repeats cut ids ({shown}); every cut id must be unique")
    return cuts
