"""Modified Kneser-Ney estimation checked against values worked out by hand on a tiny text."""

from __future__ import annotations

import math
import random

import pytest

from audiofront.lm.ngram import (
    BOS,
    EOS,
    UNK,
    ArpaModel,
    Discounts,
    adjusted_counts,
    count_ngrams,
    count_of_counts,
    estimate,
    estimate_arpa,
    read_arpa,
)

# Padded:  <s> a c d </s> | <s> c b </s> | <s> c </s> | <s> a </s> | <s> b </s> | <s> b b </s> | <s> b </s>
TEXT = ["a c d", "c b", "c", "a", "b", "b b", "b"]


def test_discounts_from_count_of_counts_by_hand():
    # Bigram raw counts: <s> a:2, <s> c:2, <s> b:3, b </s>:4 and seven bigrams seen once
    # (a c, c d, d </s>, c b, c </s>, a </s>, b b)  ->  n1..n4 = 7, 2, 1, 1.
    raw = count_ngrams([s.split() for s in TEXT], 2)
    assert raw[1][(BOS, "b")] == 3 and raw[1][("b", EOS)] == 4
    adj = adjusted_counts(raw)
    assert count_of_counts(adj[1]) == (7, 2, 1, 1)
    # Y = 7 / (7 + 2*2) = 7/11; D1 = 1 - 2Y*2/7 = 7/11; D2 = 2 - 3Y*1/2 = 23/22; D3+ = 3 - 4Y*1/1 = 5/11.
    d = Discounts.from_count_of_counts((7, 2, 1, 1))
    assert d.d1 == pytest.approx(7 / 11) and d.d2 == pytest.approx(23 / 22) and d.d3 == pytest.approx(5 / 11)

    # Unigram continuation counts (distinct left neighbours): a {<s>}=1, c {<s>,a}=2, d {c}=1,
    # b {<s>,c,b}=3, </s> {d,b,c,a}=4; the <s> unigram is not an event.
    assert adj[0] == {("a",): 1, ("c",): 2, ("d",): 1, ("b",): 3, (EOS,): 4}
    assert count_of_counts(adj[0]) == (2, 1, 1, 1)
    # Y = 2/4 = 1/2; D1 = 1 - 2Y*1/2 = 1/2; D2 = 2 - 3Y*1/1 = 1/2; D3+ = 3 - 4Y*1/1 = 1.
    d = Discounts.from_count_of_counts((2, 1, 1, 1))
    assert (d.d1, d.d2, d.d3) == pytest.approx((0.5, 0.5, 1.0))


def test_invalid_count_of_counts_are_refused_or_fall_back():
    with pytest.raises(ValueError, match="n1..n4"):
        Discounts.from_count_of_counts((3, 0, 1, 1))
    with pytest.raises(ValueError, match="too little text"):
        estimate(["a b", "a b"], order=2, discount_fallback=False)
    m = estimate(["a b", "a b"], order=2, discount_fallback=True)
    assert m.discounts[1].fallback and (m.discounts[1].d1, m.discounts[1].d3) == (0.5, 1.5)


def test_bigram_probabilities_by_hand(tmp_path):
    path = tmp_path / "lm.arpa"
    model = estimate_arpa(TEXT, path, order=2, discount_fallback=False)
    arpa = read_arpa(path)
    p = lambda w, *ctx: 10 ** arpa.logprob10(w, ctx)  # noqa: E731

    # Unigrams: S = 1+2+1+3+4 = 11, vocabulary without <s> = {a, b, c, d, </s>, <unk>} (6 words),
    # gamma() = (D1*N1 + D2*N2 + D3*N3+)/S = (0.5*2 + 0.5*1 + 1*2)/11 = 7/22, uniform share 7/22/6 = 7/132.
    assert p("a") == pytest.approx((1 - 0.5) / 11 + 7 / 132)  # 13/132
    assert p("d") == pytest.approx(13 / 132)
    assert p("c") == pytest.approx((2 - 0.5) / 11 + 7 / 132)  # 25/132
    assert p("b") == pytest.approx((3 - 1) / 11 + 7 / 132)  # 31/132
    assert p(EOS) == pytest.approx((4 - 1) / 11 + 7 / 132)  # 43/132
    assert p(UNK) == pytest.approx(7 / 132)
    assert p("never-seen") == pytest.approx(7 / 132)  # maps to <unk>
    assert arpa.logprob[0][(BOS,)] == -99.0

    d1, d2, d3 = 7 / 11, 23 / 22, 5 / 11
    # Context <s>: a:2, c:2, b:3 -> S=7, N2=2, N3+=1; gamma(<s>) = (2*D2 + D3)/7 = 4/11.
    g_bos = (2 * d2 + d3) / 7
    assert g_bos == pytest.approx(4 / 11)
    assert p("a", BOS) == pytest.approx((2 - d2) / 7 + g_bos * 13 / 132)
    assert p("b", BOS) == pytest.approx((3 - d3) / 7 + g_bos * 31 / 132)
    assert p("d", BOS) == pytest.approx(g_bos * 13 / 132)  # unseen: back-off weight times the unigram
    assert arpa.logbackoff[0][(BOS,)] == pytest.approx(math.log10(4 / 11), abs=1e-6)
    # Context b: </s>:4, b:1 -> S=5, N1=1, N3+=1; gamma(b) = (D1 + D3)/5 = 12/55.
    g_b = (d1 + d3) / 5
    assert p(EOS, "b") == pytest.approx((4 - d3) / 5 + g_b * 43 / 132)
    assert p("b", "b") == pytest.approx((1 - d1) / 5 + g_b * 31 / 132)
    assert p("a", "b") == pytest.approx(g_b * 13 / 132)
    # Context c: d, b, </s> once each -> S=3, gamma(c) = 3*D1/3 = 7/11.
    assert p("d", "c") == pytest.approx((1 - d1) / 3 + d1 * 13 / 132)
    # Context a: c, </s> once each -> gamma(a) = 7/11.
    assert p("c", "a") == pytest.approx((1 - d1) / 2 + d1 * 25 / 132)
    # The file and the in-memory model agree.
    assert ArpaModel.from_model(model).logprob10("d", ("c",)) == pytest.approx(arpa.logprob10("d", ("c",)), abs=1e-6)
    # Sentence score: p(a|<s>) p(c|a) p(d|c) p(</s>|d); context d: </s> once -> gamma(d) = 7/11.
    want = ((2 - d2) / 7 + g_bos * 13 / 132) * ((1 - d1) / 2 + d1 * 25 / 132) * ((1 - d1) / 3 + d1 * 13 / 132)
    want *= (1 - d1) / 1 + d1 * 43 / 132
    assert 10 ** arpa.sentence_logprob10("a c d".split()) == pytest.approx(want, rel=1e-5)


def test_trigram_adjusted_counts_by_hand():
    adj = adjusted_counts(count_ngrams([s.split() for s in TEXT], 3))
    # Middle order uses continuation counts unless the n-gram starts with <s>:
    # "b </s>" follows c (c b </s>), <s> (twice, counted once) and b (b b </s>) -> 3; raw count is 4.
    assert adj[1][("b", EOS)] == 3
    assert adj[1][(BOS, "b")] == 3  # raw count: starts with <s>
    assert adj[1][("c", "d")] == 1
    # Highest order keeps raw counts.
    assert adj[2][(BOS, "b", EOS)] == 2


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_sums_to_one(order, tmp_path):
    rng = random.Random(order)
    words = "one two three four five go stop left right up".split()
    text = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 7))) for _ in range(400)]
    path = tmp_path / "lm.arpa"
    estimate_arpa(text, path, order=order)
    arpa = read_arpa(path)
    vocab = [w for w in arpa.vocab if w != BOS]
    assert UNK in vocab and EOS in vocab
    for ctx in [(), (BOS,), ("one",), ("go", "stop"), (BOS, "left"), ("up", "up", "up"), ("unseen", "two")]:
        assert sum(10 ** arpa.logprob10(w, ctx) for w in vocab) == pytest.approx(1.0, abs=1e-6), ctx


def test_flashlight_kenlm_reads_our_arpa(tmp_path):
    """An independent ARPA reader (KenLM inside flashlight-text) gives our probabilities."""
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    path = tmp_path / "lm.arpa"
    estimate_arpa(TEXT, path, order=2, discount_fallback=False)
    words = Dictionary()
    for w in ["a", "b", "c", "d", UNK]:
        words.add_entry(w)
    lm = KenLM(str(path), words)
    state = lm.start(False)
    state, score_a = lm.score(state, words.get_index("a"))
    _, score_c = lm.score(state, words.get_index("c"))
    arpa = read_arpa(path)
    assert score_a == pytest.approx(arpa.logprob10("a", (BOS,)), abs=1e-4)
    assert score_c == pytest.approx(arpa.logprob10("c", ("a",)), abs=1e-4)


def test_bad_arpa_is_reported(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n\\end\\\n")
    with pytest.raises(ValueError, match="declares 2 1-grams"):
        read_arpa(bad)
    with pytest.raises(ValueError, match="reserved token"):
        estimate(["a </s> b"], order=2)
