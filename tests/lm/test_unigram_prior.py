"""The unigram prior of the n-gram LM: hand-computed values, normalisation, and the lang dir's use of it."""

from __future__ import annotations

import json
import math

import pytest

from audiofront.lm.lang import prepare_lang, read_text_lines
from audiofront.lm.ngram import Discounts, estimate, read_arpa, unigram_prior

D = [Discounts(0.5, 1.0, 1.5)]


def test_unigram_prior_values_by_hand():
    # "A A B": counts A 2, B 1, </s> 1 (S = 4); gamma = (0.5 * 2 + 1.0 * 1) / 4 = 0.5.
    # weights A 1, B 1, C 2; </s> and <unk> get the smallest weight, 1: q = 1/6 each, C 2/6.
    m = estimate(["A A B"], order=1, discounts=D, prior={"A": 1, "B": 1, "C": 2})
    p = {g[0]: v for g, v in m.prob[0].items()}
    assert p["A"] == pytest.approx((2 - 1.0) / 4 + 0.5 / 6)
    assert p["B"] == pytest.approx((1 - 0.5) / 4 + 0.5 / 6) == pytest.approx(p["</s>"])
    assert p["C"] == pytest.approx(0.5 * 2 / 6)  # never in the text: gamma times its prior share
    assert p["<unk>"] == pytest.approx(0.5 / 6)
    # prior_weight 0.2 mixes in more of q: C = 0.8 * 1/6 + 0.2 * 1/3 = 0.2
    m2 = estimate(["A A B"], order=1, discounts=D, prior={"A": 1, "B": 1, "C": 2}, prior_weight=0.2)
    assert m2.prob[0][("C",)] == pytest.approx(0.2)
    assert m2.prob[0][("A",)] == pytest.approx(0.8 * (0.25 + 0.5 / 6) + 0.2 / 6)


def test_equal_weights_are_the_plain_estimate():
    text = ["THE CAT SAT", "THE DOG SAT", "A CAT RAN"]
    plain = estimate(text, order=3, discounts=D * 3)
    vocab = {w for t in text for w in t.split()}
    same = estimate(text, order=3, discounts=D * 3, prior={w: 5.0 for w in vocab})
    assert same.prob == plain.prob and same.backoff == plain.backoff


@pytest.mark.parametrize("weight", [0.0, 0.3])
def test_every_context_stays_normalised(weight):
    text = ["THE CAT SAT", "THE DOG SAT", "A CAT RAN", "THE CAT RAN"]
    prior = {"THE": 100.0, "CAT": 3.0, "ELEPHANT": 2.0, "ZEBRA": 0.5, "SAT": 1.0}
    m = estimate(text, order=3, discounts=D * 3, prior=prior, prior_weight=weight)
    words = [w for w in m.vocab if w != "<s>"]
    assert "ELEPHANT" in words and "ZEBRA" in words
    for ctx in [(), ("THE",), ("<s>", "THE"), ("CAT", "SAT"), ("ZEBRA",)]:
        total = sum(10 ** m.logprob10(w, ctx) for w in words)
        assert total == pytest.approx(1.0, abs=1e-6), ctx
    # an unseen word with the larger prior weight is the more likely one
    assert m.logprob10("ELEPHANT", ("THE",)) > m.logprob10("ZEBRA", ("THE",))


def test_bad_prior_is_refused():
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        estimate(["A"], order=1, prior={"A": 1}, prior_weight=1.0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        unigram_prior(["A"], {"A": -1.0})


def test_lang_dir_with_cmudict_vocabulary_and_lm_text(tmp_path):
    extra = tmp_path / "more.txt"
    extra.write_text("The zebra ran, quickly!\n\nA zebra sat.\n")
    texts = ["THE CAT SAT", "THE DOG SAT", "A CAT RAN", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"] * 2
    info = prepare_lang(texts, tmp_path / "lang", tokenizer_kind="char", lm_order=2, vocab="cmudict",
                        lm_texts=read_text_lines([extra]))
    assert info["vocab"] == "cmudict" and info["num_lm_text_sentences"] == 2 and info["num_words"] > 20_000
    lang = tmp_path / "lang"
    words = set((lang / "words.txt").read_text().split())
    assert {"ELEPHANT", "ZEBRA", "QUICKLY", "CAT"} <= words
    # a character tokenizer trained on these texts cannot spell an apostrophe: such dictionary words are
    # left out (CMUdict has thousands, e.g. DON'T)
    assert not any("'" in w for w in words)
    arpa = read_arpa(lang / info["lm"])
    assert set(arpa.vocab) >= words
    # ELEPHANT is in no text, but the LM gives it a probability, and ZEBRA (in --lm-text) more
    lp_elephant = arpa.logprob10("ELEPHANT", ["THE"])
    assert -9 < lp_elephant < arpa.logprob10("ZEBRA", ["THE"]) < arpa.logprob10("CAT", ["THE"])
    assert json.loads((lang / "lang.json").read_text())["lm_prior"] == "uniform"
    assert math.isfinite(lp_elephant)


def test_phone_lang_dir_counts_espeak_words(tmp_path):
    info = prepare_lang(["ZYXQUARK SAT DOWN", "THE CAT SAT"], tmp_path, tokenizer_kind="phone", lm_order=2, vocab="train")
    assert info["espeak_words"] == 1 and info["espeak_words_examples"] == ["ZYXQUARK"]
    assert info["vocab_size"] == 80 and info["phone_marking"] == "final"


def test_lm_text_errors_name_the_file(tmp_path):
    from audiofront.errors import UserError

    with pytest.raises(UserError, match="nothing.txt does not exist"):
        read_text_lines([tmp_path / "nothing.txt"])
    (tmp_path / "empty.txt").write_text("...\n")
    with pytest.raises(UserError, match="empty.txt holds no words"):
        read_text_lines([tmp_path / "empty.txt"])
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(UserError, match="bin.txt is not UTF-8"):
        read_text_lines([tmp_path / "bin.txt"])


def test_wordfreq_prior_asks_the_package_and_says_when_it_is_missing(monkeypatch):
    """The optional `wordfreq` source: frequencies of the lower-cased words in English, from the package (a stand-in
    module here: wordfreq is not a dependency); without the package, one clear error."""
    import sys
    import types

    from audiofront.errors import UserError
    from audiofront.lm.lang import word_prior

    asked = []

    def word_frequency(word, lang):
        asked.append((word, lang))
        return {"the": 0.05, "cat": 1e-5}.get(word, 0.0)

    monkeypatch.setitem(sys.modules, "wordfreq", types.SimpleNamespace(word_frequency=word_frequency))
    assert word_prior(["THE", "CAT", "ZYXT"], "wordfreq") == {"THE": 0.05, "CAT": 1e-5, "ZYXT": 0.0}
    assert asked == [("the", "en"), ("cat", "en"), ("zyxt", "en")]
    monkeypatch.setitem(sys.modules, "wordfreq", None)  # an import of it now fails, as when it is not installed
    with pytest.raises(UserError, match="--prior wordfreq needs the wordfreq package"):
        word_prior(["THE"], "wordfreq")
