"""`prepare lang`: tokenizer, lexicon and LM agree with each other."""

from __future__ import annotations

import json

import pytest

from audiofront.lm.lang import prepare_lang, read_lang_info
from audiofront.lm.ngram import read_arpa
from audiofront.text.lexicon import Lexicon
from audiofront.text.tokenizer import Tokenizer

TEXTS = [
    "TURN ON THE LIGHTS",
    "TURN OFF THE RADIO",
    "SET AN ALARM FOR SEVEN THIRTY",
    "CALL MOM",
    "PLAY THE NEXT SONG",
    "WHAT'S THE WEATHER TODAY",
] * 3


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_lexicon_spellings_rebuild_the_sentence_encoding(tmp_path, kind):
    info = prepare_lang(TEXTS, tmp_path, tokenizer_kind=kind, vocab_size=40, lm_order=3)
    assert info == read_lang_info(tmp_path)
    tok = Tokenizer.load(tmp_path)
    lex = Lexicon.read(tmp_path / "lexicon.txt", sil_token=info["sil_token"])
    words = (tmp_path / "words.txt").read_text().split()
    assert sorted(lex.spellings) == words and "WHAT'S" in words and len(words) == info["num_words"] == 20
    for text in set(TEXTS):
        pieces: list[str] = []
        for i, w in enumerate(text.split()):
            if i and kind == "char":
                pieces.append("|")  # the decoder's "silence" between words
            pieces += lex.spellings[w][0]
        assert pieces == tok.encode_as_tokens(text), text
    assert info["sil_token"] == ("|" if kind == "char" else None)
    arpa = read_arpa(tmp_path / info["lm"])
    assert arpa.order == 3 and set(words) <= set(arpa.vocab)


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        prepare_lang(TEXTS, tmp_path, lm_order=1)
    with pytest.raises(ValueError, match="no transcripts"):
        prepare_lang(["", "  "], tmp_path)
    with pytest.raises(ValueError, match="unknown LibriSpeech LM"):
        prepare_lang(TEXTS, tmp_path, tokenizer_kind="char", download_lm="5-gram.arpa.gz")
    with pytest.raises(FileNotFoundError, match="lang.json is missing"):
        read_lang_info(tmp_path / "nowhere")
    assert not (tmp_path / "lang.json").exists() or json.loads((tmp_path / "lang.json").read_text())
