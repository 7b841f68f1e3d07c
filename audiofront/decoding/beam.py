"""Lexicon-constrained CTC beam search with a word n-gram LM, through flashlight-text's LexiconDecoder.

Only words of the lexicon can be produced; each hypothesis walks a token trie of the spellings, and a
completed word is scored by the LM (KenLM reading an ARPA file) times ``lm_weight`` plus ``word_score``.
Without an LM the search is still lexicon-constrained (flashlight's ZeroLM).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch
from flashlight.lib.text.decoder import (
    CriterionType,
    LexiconDecoder,
    LexiconDecoderOptions,
    SmearingMode,
    Trie,
    ZeroLM,
)
from flashlight.lib.text.dictionary import Dictionary

from ..lm.ngram import UNK as UNK_WORD  # the word the LM scores out-of-vocabulary words as
from ..text.lexicon import Lexicon
from . import DECODE_BEAM_SIZE


@dataclass
class BeamSearchOptions:
    beam_size: int = DECODE_BEAM_SIZE  # hypotheses kept per frame
    beam_size_token: int | None = None  # tokens tried per frame (None: all)
    beam_threshold: float = 25.0  # drop hypotheses this far below the best
    lm_weight: float = 1.0
    word_score: float = 0.0  # added per emitted word (insertion bonus or penalty)
    sil_score: float = 0.0
    unk_score: float = -math.inf  # -inf: never emit words outside the lexicon
    log_add: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _kenlm(path: str, words: Dictionary):
    try:
        from flashlight.lib.text.decoder.kenlm import KenLM
    except ImportError:  # older flashlight-text layout
        from flashlight.lib.text.decoder import KenLM
    return KenLM(path, words)


class LexiconBeamDecoder:
    """Decode CTC log-probabilities [F, V] into words of ``lexicon``.

    ``tokens`` are the model's output units by id (``tokens[blank_id]`` is the CTC blank). The "silence"
    the decoder may put between words is ``lexicon.sil_token`` when it is a token, otherwise the blank.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        lexicon: Lexicon,
        lm_path: str | os.PathLike | None = None,
        blank_id: int = 0,
        options: BeamSearchOptions | None = None,
    ):
        self.options = options or BeamSearchOptions()
        self.tokens = list(tokens)
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the token list has duplicates; token strings must be unique for the lexicon")
        lexicon.check_tokens(self.tokens)
        self.lexicon = lexicon
        token_index = {t: i for i, t in enumerate(self.tokens)}
        self.blank_id = blank_id
        self.sil_id = token_index[lexicon.sil_token] if lexicon.sil_token in token_index else blank_id

        self.word_dict = Dictionary()
        for w in sorted(lexicon.spellings):
            self.word_dict.add_entry(w)
        if UNK_WORD not in lexicon.spellings:
            self.word_dict.add_entry(UNK_WORD)
        self.word_dict.set_default_index(self.word_dict.get_index(UNK_WORD))
        self.unk_word_id = self.word_dict.get_index(UNK_WORD)

        if lm_path is not None:
            lm_path = Path(lm_path)
            if not lm_path.is_file():
                raise FileNotFoundError(f"language model {lm_path} does not exist")
            self.lm = _kenlm(str(lm_path), self.word_dict)
        else:
            self.lm = ZeroLM()

        # Token trie of the spellings; each word's unigram LM score is smeared up the trie so that
        # partial words are ranked by the best word they can still become.
        self.trie = Trie(len(self.tokens), self.sil_id)
        start = self.lm.start(False)
        for word, spellings in lexicon.spellings.items():
            wid = self.word_dict.get_index(word)
            _, score = self.lm.score(start, wid)
            for spelling in spellings:
                self.trie.insert([token_index[t] for t in spelling], wid, score)
        self.trie.smear(SmearingMode.MAX)

        self._build_decoder()

    def _build_decoder(self) -> None:
        o = self.options
        self._flashlight_options = LexiconDecoderOptions(
            beam_size=o.beam_size,
            beam_size_token=o.beam_size_token or len(self.tokens),
            beam_threshold=o.beam_threshold,
            lm_weight=o.lm_weight,
            word_score=o.word_score,
            unk_score=o.unk_score,
            sil_score=o.sil_score,
            log_add=o.log_add,
            criterion_type=CriterionType.CTC,
        )
        self.decoder = LexiconDecoder(
            self._flashlight_options, self.trie, self.lm, self.sil_id, self.blank_id, self.unk_word_id, [], False
        )

    def with_options(self, options: BeamSearchOptions) -> "LexiconBeamDecoder":
        """The same lexicon, trie and LM searched with other options (LM weight, word score, beams): the LM and
        the trie are shared, only the search is new (what tuning a grid of weights needs)."""
        import copy

        other = copy.copy(self)
        other.options = options
        other._build_decoder()
        return other

    def decode(self, log_probs: torch.Tensor) -> list[str]:
        """One utterance [F, V] of log-probabilities -> the best word sequence."""
        if log_probs.dim() != 2 or log_probs.shape[1] != len(self.tokens):
            raise ValueError(f"expected emissions [F, {len(self.tokens)}], got shape {tuple(log_probs.shape)}")
        if log_probs.shape[0] == 0:
            return []
        em = log_probs.detach().to(device="cpu", dtype=torch.float32).contiguous()
        results = self.decoder.decode(em.data_ptr(), em.shape[0], em.shape[1])
        if not results:
            return []
        return [self.word_dict.get_entry(i) for i in results[0].words if i >= 0]

    def decode_batch(self, log_probs: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[str]]:
        """[B, F, V] with valid frame counts [B] -> words per utterance."""
        if lengths is None:
            lengths = torch.full((log_probs.shape[0],), log_probs.shape[1], dtype=torch.long)
        return [self.decode(log_probs[i, : int(lengths[i])]) for i in range(log_probs.shape[0])]
