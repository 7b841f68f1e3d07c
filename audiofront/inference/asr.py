"""Words of one audio file from a CTC checkpoint: chunks -> log-probabilities -> greedy or lexicon + LM search.

    tr = Transcriber("exp/conformer/avg.pt", method="lm")
    tr.transcribe(read_audio("talk.flac", tr.sample_rate))   # "THE WORDS SAID"

The lang dir is the one the checkpoint records (``lang_dir`` of its task config), looked for as written
(relative to the working directory, as at training time), then beside the checkpoint's folders (a recipe
run from ``egs/<name>`` writes ``exp/X/avg.pt`` and ``data/lang`` there); ``lang_dir`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import UserError
from .audio import Audio, chunks
from .model import check_audio_rate, load_task_model, one_batch

METHODS = ("greedy", "lm", "lexicon")


def find_lang_dir(recorded: str | os.PathLike | None, checkpoint: str | os.PathLike) -> Path:
    """The recorded lang dir as given, else under one of the checkpoint's parent folders."""
    if recorded is None:
        raise UserError(f"--checkpoint {checkpoint} records no lang dir; give --lang-dir")
    rec = Path(recorded)
    candidates = [rec] if rec.is_absolute() else [rec] + [p / rec for p in Path(checkpoint).resolve().parents]
    for c in candidates:
        if (c / "tokenizer.json").is_file():
            return c
    raise UserError(
        f"the lang dir {recorded} recorded in --checkpoint {checkpoint} is not here (looked in the working "
        "directory and above the checkpoint); give --lang-dir"
    )


class Transcriber:
    """A CTC checkpoint with its tokenizer and, for ``lm``/``lexicon``, a flashlight lexicon decoder."""

    def __init__(
        self,
        checkpoint: str | os.PathLike,
        method: str = "greedy",
        lang_dir: Optional[str | os.PathLike] = None,
        lm_path: Optional[str | os.PathLike] = None,
        options=None,
        device: str = "cpu",
        chunk_seconds: float = 30.0,
    ):
        if method not in METHODS:
            raise UserError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        if not chunk_seconds > 0:
            raise UserError(f"--chunk-seconds must be a positive number of seconds, got {chunk_seconds}")
        task, model = load_task_model(
            checkpoint, device, "asr", "transcribe needs an asr (CTC) one (use `audiofront classify` for classifiers)"
        )
        self.lang_dir = Path(lang_dir) if lang_dir is not None else find_lang_dir(task.config.get("lang_dir"), checkpoint)
        task.config["lang_dir"] = str(self.lang_dir)
        self.tokenizer = task.tokenizer
        if self.tokenizer.vocab_size != task.vocab_size():
            raise UserError(
                f"the tokenizer in {self.lang_dir} has {self.tokenizer.vocab_size} tokens but the model in "
                f"{checkpoint} outputs {task.vocab_size()}; use the lang dir the model was trained with"
            )
        self.task, self.model, self.device = task, model, device
        self.method, self.chunk_seconds = method, float(chunk_seconds)
        self.sample_rate = task._sample_rate()
        self.decoder = None
        if method in ("lm", "lexicon"):
            from ..decoding.beam import BeamSearchOptions, LexiconBeamDecoder
            from ..lm.lang import read_lang_info
            from ..text.lexicon import Lexicon

            info = read_lang_info(self.lang_dir)
            lexicon = Lexicon.read(self.lang_dir / info.get("lexicon", "lexicon.txt"), sil_token=info.get("sil_token"))
            lm = None
            if method == "lm":
                lm = Path(lm_path) if lm_path else self.lang_dir / info["lm"]
            self.decoder = LexiconBeamDecoder(self.tokenizer.tokens, lexicon, lm, blank_id=self.tokenizer.blank_id,
                                              options=options or BeamSearchOptions())

    def log_probs(self, samples: np.ndarray) -> torch.Tensor:
        """[F, V] CTC log-probabilities of one chunk of mono samples at :attr:`sample_rate`."""
        x, lens = one_batch(samples, self.device)
        with torch.inference_mode():
            lp, out_lens = self.model(x, lens)
        return lp[0, : int(out_lens[0])].float().cpu()

    def words(self, log_probs: torch.Tensor) -> list[str]:
        from ..decoding.greedy import ctc_greedy

        if self.decoder is not None:
            return self.decoder.decode(log_probs)
        ids = ctc_greedy(log_probs[None], blank=self.tokenizer.blank_id)[0]
        return self.tokenizer.decode(ids).split()

    def transcribe(self, audio: Audio) -> str:
        """The words of a whole file, chunk after chunk (each at most ``chunk_seconds``, cut in a pause)."""
        check_audio_rate(audio, self.sample_rate)
        words: list[str] = []
        for _, piece in chunks(audio.samples, self.sample_rate, self.chunk_seconds):
            words += self.words(self.log_probs(piece))
        return " ".join(words)
