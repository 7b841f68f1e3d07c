"""Transcript normalisation shared by every corpus: upper-case words, apostrophes kept, no other punctuation."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# anything that is neither a letter, a digit, an apostrophe nor whitespace becomes a word break
_NOT_WORD = re.compile(r"[^\w'\s]|_")


def normalize_text(text: str) -> str:
    """``"Turn on the lights, please!"`` -> ``"TURN ON THE LIGHTS PLEASE"``.

    Hyphens and other punctuation separate words; apostrophes inside words stay (``DON'T``), quote
    marks around words go.
    """
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).upper()
    text = _NOT_WORD.sub(" ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)
