"""Lexicon-constrained flashlight beam search over phone tokens, with the lang dir `prepare lang` writes."""

from __future__ import annotations

import pytest
import torch

from audiofront.decoding.beam import BeamSearchOptions, LexiconBeamDecoder
from audiofront.lm.lang import prepare_lang
from audiofront.text.lexicon import Lexicon
from audiofront.text.tokenizer import Tokenizer

TEXTS = ["THE RED BOOK", "I READ THE BOOK", "I READ A BOOK", "THE RED DOOR", "I READ"] * 4


def emissions(tokens_per_frame: list[str], tokens: list[str], p: float = 0.9) -> torch.Tensor:
    """One frame per token (a blank after each, so repeats stay apart), ``p`` on the given token."""
    frames = []
    for t in tokens_per_frame:
        frames += [t, "<blk>"]
    out = torch.full((len(frames), len(tokens)), (1 - p) / (len(tokens) - 1))
    for f, t in enumerate(frames):
        out[f, tokens.index(t)] = p
    return out.log()


@pytest.mark.parametrize("marking", ["final", "boundary"])
def test_phone_lexicon_and_lm_pick_the_homophone_the_context_wants(tmp_path, marking):
    info = prepare_lang(TEXTS, tmp_path, tokenizer_kind="phone", phone_marking=marking, lm_order=3, vocab="train")
    tok = Tokenizer.load(tmp_path)
    lex = Lexicon.read(tmp_path / info["lexicon"], sil_token=info["sil_token"])
    assert len(lex.spellings["READ"]) == 2  # R EH D and R IY D: every pronunciation is kept
    dec = LexiconBeamDecoder(tok.tokens, lex, tmp_path / info["lm"], options=BeamSearchOptions(beam_size=20))
    # RED and READ (past tense) both sound R EH D: only the LM can tell them apart
    for text, said in (("THE RED BOOK", "THE RED BOOK"), ("I READ THE BOOK", "I RED THE BOOK")):
        em = emissions(tok.encode_as_tokens(said), tok.tokens)
        assert dec.decode(em) == text.split()
    # the other pronunciation of READ is a path of the lexicon too
    em = emissions(tok.encode_as_tokens("I") + (["|"] if marking == "boundary" else []) +
                   ["R", "IY", "D_E" if marking == "final" else "D"], tok.tokens)
    assert dec.decode(em) == ["I", "READ"]


def test_phone_lexicon_without_lm_stays_in_the_lexicon(tmp_path):
    info = prepare_lang(TEXTS, tmp_path, tokenizer_kind="phone", lm_order=2, vocab="train")
    tok = Tokenizer.load(tmp_path)
    lex = Lexicon.read(tmp_path / info["lexicon"], sil_token=info["sil_token"])
    # B UH K (BOOK) with its last phone blurred towards T: greedy gives a non-word, the lexicon BOOK
    em = emissions(["B", "UH", "K_E"], tok.tokens)
    em[4] = torch.full((tok.vocab_size,), 0.02).log()
    em[4, tok.tokens.index("T_E")] = torch.tensor(0.45).log()
    em[4, tok.tokens.index("K_E")] = torch.tensor(0.35).log()
    assert tok.decode(em.argmax(-1).unique_consecutive().tolist()) == "B-UH-T"
    assert LexiconBeamDecoder(tok.tokens, lex, None).decode(em) == ["BOOK"]
