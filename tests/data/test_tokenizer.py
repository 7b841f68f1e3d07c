"""Tokenizer: BPE and characters round-trip, blank 0, sizes, determinism, save/load."""

from __future__ import annotations

import pytest

from audiofront.text.tokenizer import BLANK, Tokenizer

TEXTS = [
    "TURN ON THE KITCHEN LIGHTS",
    "SET THE VOLUME TO SEVENTY THREE PERCENT",
    "WHAT'S THE WEATHER IN PARIS TOMORROW",
    "CALL MOM AT FIVE FIVE ONE TWO",
    "MOVE FORWARD TWELVE STEPS AND THEN STOP",
    "PLAY SOME JAZZ MUSIC IN THE LIVING ROOM",
] * 5


@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_round_trip_and_blank(kind, tmp_path):
    tok = Tokenizer.train(TEXTS, kind=kind, vocab_size=48, out_dir=tmp_path)
    assert tok.blank_id == 0 and tok.tokens[0] == BLANK
    assert tok.vocab_size == len(tok.tokens)
    if kind == "bpe":
        assert tok.vocab_size == 48
    for text in TEXTS[:6] + ["STOP THE MUSIC NOW", "SEVENTY"]:
        ids = tok.encode(text)
        assert ids and 0 not in ids, "encode must never produce the blank"
        assert all(0 < i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == text
        # blanks between tokens (as a CTC output has them) change nothing
        assert tok.decode([0] + [x for i in ids for x in (i, 0)]) == text
    loaded = Tokenizer.load(tmp_path)
    assert loaded.tokens == tok.tokens and loaded.kind == kind
    assert loaded.encode(TEXTS[2]) == tok.encode(TEXTS[2])
    assert (tmp_path / "tokens.txt").read_text().splitlines()[0] == f"{BLANK} 0"


def test_char_inventory_and_word_boundary():
    tok = Tokenizer.train(["AB A'B", "BA C"], kind="char")
    assert tok.tokens == [BLANK, "<unk>", "|", "'", "A", "B", "C"]
    assert tok.encode_as_tokens("AB C") == ["A", "B", "|", "C"]
    assert tok.encode("AZ") == [4, tok.unk_id], "unseen characters map to <unk>"
    assert tok.word_boundary == "|"


def test_bpe_is_deterministic(tmp_path):
    a = Tokenizer.train(TEXTS, kind="bpe", vocab_size=40, out_dir=tmp_path / "a")
    b = Tokenizer.train(TEXTS, kind="bpe", vocab_size=40, out_dir=tmp_path / "b")
    assert (tmp_path / "a" / "bpe.model").read_bytes() == (tmp_path / "b" / "bpe.model").read_bytes()
    assert a.tokens == b.tokens


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="too large"):
        Tokenizer.train(TEXTS[:6], kind="bpe", vocab_size=5000)
    with pytest.raises(ValueError, match="kind"):
        Tokenizer.train(TEXTS, kind="word")
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        Tokenizer.load(tmp_path)
    tok = Tokenizer.train(TEXTS, kind="char")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([tok.vocab_size])
