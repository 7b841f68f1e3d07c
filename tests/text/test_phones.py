"""Phones: CMUdict without stress, eSpeak NG mapped onto the same 39 phones, and the phone tokenizer."""

from __future__ import annotations

import pytest

from audiofront.tasks.asr import edit_distance
from audiofront.text.lexicon import Lexicon
from audiofront.text.phones import PHONES, Pronouncer, ipa_to_arpabet, load_cmudict, strip_stress
from audiofront.text.tokenizer import Tokenizer, phone_tokens

# ordinary English words (the first paragraph of a LibriSpeech-like story), all in CMUdict
COMMON = """THE OLD MAN WALKED SLOWLY DOWN THE ROAD TOWARDS THE VILLAGE WHERE HIS DAUGHTER HAD LIVED FOR MANY
YEARS SHE WAS WAITING AT THE DOOR WITH A LETTER IN HER HAND AND SHE TOLD HIM THAT THEIR BROTHER WOULD COME
HOME BEFORE THE WINTER BECAUSE THE WAR WAS OVER NOTHING COULD HAVE MADE HIM HAPPIER THAN THIS NEWS AND
TOGETHER THEY WENT INSIDE TO SIT BY THE FIRE UNTIL EVENING""".split()


def test_cmudict_has_the_39_phones_without_stress_and_every_pronunciation():
    d = load_cmudict()
    assert len(d) > 100_000
    assert {p for prons in d.values() for pron in prons for p in pron} == set(PHONES) and len(PHONES) == 39
    assert d["READ"] == [("R", "EH", "D"), ("R", "IY", "D")]
    assert strip_stress(["HH", "AH0", "L", "OW1"]) == ("HH", "AH", "L", "OW")
    # pronunciations that differ only in stress are one
    assert all(len(set(prons)) == len(prons) for prons in d.values())


def test_ipa_table_maps_espeak_symbols():
    assert ipa_to_arpabet("h_ə_l_ˈoʊ") == ("HH", "AH", "L", "OW")
    assert ipa_to_arpabet("tʃ_ˈɜː_tʃ") == ("CH", "ER", "CH")
    assert ipa_to_arpabet("k_ˈɑːɹ") == ("K", "AA", "R")
    assert ipa_to_arpabet("b_ˈʌ_ʔ_n̩") == ("B", "AH", "T", "AH", "N")
    assert set(ipa_to_arpabet("ð_ˈɛɹ θ_ˈɪ_ŋ dʒ_ˈʌ_dʒ m_ˈɛ_ʒ_ɚ")) <= set(PHONES)
    with pytest.raises(ValueError, match="'ʘ'.*CLICK"):
        ipa_to_arpabet("ʘ_ɑː", "CLICK")


def test_espeak_pronounces_missing_words_close_to_cmudict():
    cmu = load_cmudict()
    espeak_only = Pronouncer(cmudict={})  # every word through eSpeak NG
    errors = total = 0
    for w in set(COMMON):
        got = espeak_only(w)[0]
        assert set(got) <= set(PHONES), (w, got)
        ref = min(cmu[w], key=lambda r: edit_distance(list(r), list(got)))
        errors += edit_distance(list(ref), list(got))
        total += len(ref)
    assert espeak_only.espeak_words == set(COMMON)
    # measured 2.8% over LibriSpeech's 2000 most frequent words; a broken table is far worse
    assert errors / total < 0.10, errors / total

    both = Pronouncer()
    assert both("READ") == cmu["READ"] and not both.espeak_words
    assert both("ZYXQUARK")[0][:2] == ("Z", "IH") and both.espeak_words == {"ZYXQUARK"}


@pytest.mark.parametrize("marking", ["final", "boundary"])
def test_phone_tokenizer_round_trip(tmp_path, marking):
    texts = ["THE RED BOOK", "I READ THE BOOK", "READ IT"] * 2
    tok = Tokenizer.train(texts, kind="phone", phone_marking=marking, out_dir=tmp_path, words=["ZYXQUARK"])
    assert tok.tokens == phone_tokens(marking) and tok.vocab_size == (80 if marking == "final" else 42)
    assert tok.espeak_words == ["ZYXQUARK"]
    loaded = Tokenizer.load(tmp_path)
    assert loaded.tokens == tok.tokens and loaded.pronunciations == tok.pronunciations
    want = {"final": ["AY_E", "R", "EH", "D_E", "B", "UH", "K_E"], "boundary": ["AY", "|", "R", "EH", "D", "|", "B", "UH", "K"]}
    assert loaded.encode_as_tokens("I RED BOOK") == want[marking]
    # RED and READ (R EH D) sound the same: the more frequent training word (READ, 4 against 2) comes back
    assert loaded.decode(loaded.encode("I RED BOOK")) == "I READ BOOK"
    assert loaded.decode(loaded.encode("THE BOOK ZYXQUARK")) == "THE BOOK ZYXQUARK"
    # a phone sequence no word has is written as its phones
    ids = [loaded.tokens.index(t) for t in (["K", "AE_E"] if marking == "final" else ["K", "AE"])]
    assert loaded.decode(ids) == "K-AE"
    lex = Lexicon.from_tokenizer(loaded, ["READ", "BOOK"])
    end = "_E" if marking == "final" else ""
    assert lex.spellings["READ"] == [["R", "EH", "D" + end], ["R", "IY", "D" + end]]
    assert lex.sil_token == ("|" if marking == "boundary" else None)


def test_phone_tokenizer_refuses_a_foreign_inventory(tmp_path):
    Tokenizer.train(["HELLO"], kind="phone", out_dir=tmp_path)
    (tmp_path / "tokens.txt").write_text("<blk> 0\n<unk> 1\nAA 2\n")
    with pytest.raises(ValueError, match="phone inventory"):
        Tokenizer.load(tmp_path)
