"""Speech synthesis with eSpeak NG, called through ctypes.

The shared library and its voice data come from the ``espeakng_loader`` wheel, so nothing has to be
installed system-wide and no network is needed beyond the package registry. eSpeak NG keeps its state
in process globals, so there is one engine per process (:func:`engine`); parallel synthesis uses a pool
of processes, each with its own engine.

    >>> from audiofront.data.synth import synthesize
    >>> audio = synthesize("turn on the lights", voice="en-us+m3", rate=170, sample_rate=16000)

eSpeak speaks at 22050 Hz; :func:`resample` converts with a polyphase filter (``resample_poly``: a
Kaiser-windowed lowpass at the lower Nyquist frequency), so nothing above 8 kHz aliases into 16 kHz audio.
"""

from __future__ import annotations

import ctypes
import math
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

# espeak_AUDIO_OUTPUT: samples come back to our callback, espeak_Synth returns when they all have.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
# espeak_PARAMETER
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7
_ERRORS = {-1: "EE_INTERNAL_ERROR", 1: "EE_BUFFER_FULL", 2: "EE_NOT_FOUND"}

# English voices (accents) of eSpeak NG, by the name espeak_SetVoiceByName takes.
ENGLISH_ACCENTS = (
    "en-us",  # General American
    "en-us-nyc",  # New York City
    "en",  # British (default English)
    "en-gb-x-rp",  # Received Pronunciation
    "en-gb-scotland",  # Scottish
    "en-gb-x-gbclan",  # Lancastrian
    "en-gb-x-gbcwmd",  # West Midlands
    "en-029",  # Caribbean
)
# Voice variants (files in espeak-ng-data/voices/!v) that change formants, pitch and voice quality, with
# their gender (None: not stated). Left out on purpose: the variants with a "breath" setting (f2, f3, f5),
# whose breath noise differs from run to run, so a corpus made with them could not be reproduced.
VARIANT_GENDER = {
    "m1": "m", "m2": "m", "m3": "m", "m4": "m", "m5": "m", "m6": "m", "m7": "m",
    "f1": "f", "f4": "f", "steph": "f", "linda": "f", "anika": "f",
    "klatt": None, "klatt2": None, "klatt3": None,
}
VARIANTS = tuple(VARIANT_GENDER)


class SynthesisError(RuntimeError):
    """eSpeak NG could not be loaded or refused a voice or a text."""


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class ESpeakEngine:
    """The eSpeak NG library of this process. Build it through :func:`engine`, not directly."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - it is a dependency of the package
            raise SynthesisError("the demo corpus needs the `espeakng-loader` package: pip install espeakng-loader") from e
        lib_path, data_path = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise SynthesisError(f"could not load the eSpeak NG library {lib_path}: {e}") from e
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
        if sample_rate <= 0:
            raise SynthesisError(f"espeak_Initialize failed (data path {data_path})")
        self.sample_rate = int(sample_rate)
        self._lib = lib
        self._chunks: list[np.ndarray] = []
        self._lock = threading.Lock()

        def collect(wav, n, _events):  # called by eSpeak from inside espeak_Synth
            if wav and n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0  # 0 = go on synthesising

        self._callback = _CALLBACK(collect)  # keep a reference: eSpeak holds only the raw pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _check(self, code: int, what: str) -> None:
        if code != 0:
            raise SynthesisError(f"eSpeak NG {what} failed: {_ERRORS.get(code, code)}")

    def synthesize(
        self,
        text: str,
        voice: str = "en-us",
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        word_gap: int = 0,
    ) -> np.ndarray:
        """int16 samples at :attr:`sample_rate` of ``text`` spoken by ``voice`` ("accent+variant").

        ``rate`` in words per minute (80..450), ``pitch`` and ``pitch_range`` in 0..100, ``word_gap`` in
        units of 10 ms of extra pause between words.
        """
        if not text.strip():
            raise SynthesisError("cannot synthesise an empty text")
        with self._lock:
            code = self._lib.espeak_SetVoiceByName(voice.encode())
            if code != 0:
                raise SynthesisError(
                    f"eSpeak NG has no voice {voice!r} ({_ERRORS.get(code, code)}); "
                    f"use an accent such as {ENGLISH_ACCENTS[0]!r} with an optional '+variant' (e.g. '+m3')"
                )
            # parameters are reset by SetVoiceByName, so set them after it
            for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range),
                                 (_PARAM_WORDGAP, word_gap), (_PARAM_VOLUME, 100)):
                self._check(self._lib.espeak_SetParameter(param, int(value), 0), f"SetParameter({param}={value})")
            self._chunks = []
            data = text.encode("utf-8")
            self._check(
                self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None), "Synth"
            )
            self._check(self._lib.espeak_Synchronize(), "Synchronize")
            chunks, self._chunks = self._chunks, []
        if not chunks:
            raise SynthesisError(f"eSpeak NG produced no audio for {text!r} with voice {voice!r}")
        return np.concatenate(chunks)


_ENGINE: Optional[ESpeakEngine] = None


def engine() -> ESpeakEngine:
    """The eSpeak NG engine of this process (created on first use)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = ESpeakEngine()
    return _ENGINE


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (polyphase FIR lowpass at the lower Nyquist frequency)."""
    if orig_sr == target_sr:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(orig_sr, target_sr)
    return resample_poly(audio.astype(np.float64), target_sr // g, orig_sr // g).astype(np.float32)


@dataclass
class VoiceSettings:
    """How one utterance is spoken."""

    voice: str = "en-us"  # accent[+variant]
    rate: int = 175  # words per minute
    pitch: int = 50  # 0..100
    pitch_range: int = 50  # 0..100
    word_gap: int = 0  # extra pause between words, 10 ms units


def synthesize(text: str, settings: Optional[VoiceSettings] = None, sample_rate: int = 16000, **kw) -> np.ndarray:
    """float32 audio in [-1, 1] of ``text`` at ``sample_rate`` (``kw``: fields of :class:`VoiceSettings`)."""
    settings = settings or VoiceSettings(**kw)
    eng = engine()
    raw = eng.synthesize(text, settings.voice, settings.rate, settings.pitch, settings.pitch_range, settings.word_gap)
    return resample(raw.astype(np.float32) / 32768.0, eng.sample_rate, sample_rate)
