"""CTC greedy and lexicon + LM beam search on hand-made emission matrices."""

from __future__ import annotations

import torch
import pytest

from audiofront.decoding import ctc_greedy, ctc_greedy_reference
from audiofront.decoding.beam import BeamSearchOptions, LexiconBeamDecoder
from audiofront.text.lexicon import Lexicon

CHARS = ["<blk>", "|", "A", "C", "T", "P", "X", "D", "O", "G"]


class CharTokenizer:
    """Just enough of a character tokenizer for the lexicon: letters, '|' between words."""

    kind = "char"
    blank_id = 0
    tokens = CHARS

    def encode(self, text: str) -> list[int]:
        return [CHARS.index(c) for c in "|".join(text.split())]


class PieceTokenizer:
    """A BPE-like tokenizer with word-initial '▁' pieces and no stand-alone boundary."""

    kind = "bpe"
    blank_id = 0
    tokens = ["<blk>", "▁DO", "G", "▁CA", "T", "P"]
    pieces = {"DOG": [1, 2], "CAT": [3, 4], "CAP": [3, 5]}

    def encode(self, text: str) -> list[int]:
        return [i for w in text.split() for i in self.pieces[w]]


def emissions(frames: list[dict[str, float]], tokens: list[str]) -> torch.Tensor:
    """Frames given as {token: probability}; the rest of the mass is spread over the other tokens."""
    out = torch.empty(len(frames), len(tokens))
    for t, frame in enumerate(frames):
        rest = (1.0 - sum(frame.values())) / (len(tokens) - len(frame))
        for i, tok in enumerate(tokens):
            out[t, i] = frame.get(tok, rest)
    return out.log()


def test_greedy_collapses_repeats_then_removes_blanks():
    best = ["C", "C", "<blk>", "A", "A", "T", "<blk>", "T", "|", "D", "O", "O", "G", "G"]
    em = emissions([{b: 0.9} for b in best], CHARS)
    ids = ctc_greedy(em)[0]
    assert [CHARS[i] for i in ids] == ["C", "A", "T", "T", "|", "D", "O", "G"]
    # Frames past the valid length are ignored; the batch shape is [B, F, V].
    batch = torch.stack([em, em])
    out = ctc_greedy(batch, torch.tensor([14, 5]))
    assert [CHARS[i] for i in out[1]] == ["C", "A"]


def test_greedy_matches_the_frame_by_frame_reference():
    g = torch.Generator().manual_seed(0)
    lp = torch.randn(4, 50, 6, generator=g).log_softmax(-1)
    lp[:, ::3, 0] += 2.0  # plenty of blanks
    lengths = torch.tensor([50, 31, 1, 17])
    fast = ctc_greedy(lp, lengths)
    for i in range(4):
        assert fast[i] == ctc_greedy_reference(lp[i], int(lengths[i]))
    with pytest.raises(ValueError, match="blank id"):
        ctc_greedy(lp, lengths, blank=6)


def _unigram_arpa(path, probs: dict[str, float]) -> str:
    """A unigram LM written by hand; KenLM wants at least a bigram section, so one harmless bigram
    (``<s> </s>`` with the unigram's probability) is added."""
    import math

    lines = ["\\data\\", f"ngram 1={len(probs) + 2}", "ngram 2=1", "", "\\1-grams:", "-99\t<s>\t0"]
    lines += [f"{math.log10(p):.6f}\t{w}\t0" for w, p in probs.items()]
    lines += [f"{math.log10(0.001):.6f}\t<unk>\t0", "", "\\2-grams:", f"{math.log10(probs['</s>']):.6f}\t<s> </s>"]
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines))
    return str(path)


# C A then T or P equally likely, but X (in no lexicon word) most likely of all.
AMBIGUOUS = [{"C": 0.9}, {"<blk>": 0.9}, {"A": 0.9}, {"X": 0.4, "T": 0.28, "P": 0.28}, {"<blk>": 0.9}]


@pytest.mark.parametrize("preferred", ["CAT", "CAP"])
def test_lexicon_beam_picks_the_word_the_lm_prefers(tmp_path, preferred):
    other = {"CAT": "CAP", "CAP": "CAT"}[preferred]
    lexicon = Lexicon.from_tokenizer(CharTokenizer(), ["CAT", "CAP", "DOG"])
    assert lexicon.spellings["CAT"] == [["C", "A", "T"]] and lexicon.sil_token == "|"
    em = emissions(AMBIGUOUS, CHARS)
    assert [CHARS[i] for i in ctc_greedy(em)[0]] == ["C", "A", "X"]  # greedy: not a word
    lm = _unigram_arpa(tmp_path / "lm.arpa", {preferred: 0.6, other: 0.1, "DOG": 0.2, "</s>": 0.099})
    dec = LexiconBeamDecoder(CHARS, lexicon, lm, options=BeamSearchOptions(beam_size=10, lm_weight=1.0))
    assert dec.decode(em) == [preferred]


def test_lm_weight_zero_follows_the_acoustics(tmp_path):
    lexicon = Lexicon.from_tokenizer(CharTokenizer(), ["CAT", "CAP"])
    frames = [{"C": 0.9}, {"A": 0.9}, {"T": 0.5, "P": 0.4}]
    lm = _unigram_arpa(tmp_path / "lm.arpa", {"CAP": 0.8, "CAT": 0.1, "</s>": 0.099})
    em = emissions(frames, CHARS)
    assert LexiconBeamDecoder(CHARS, lexicon, lm, options=BeamSearchOptions(lm_weight=0.0)).decode(em) == ["CAT"]
    assert LexiconBeamDecoder(CHARS, lexicon, lm, options=BeamSearchOptions(lm_weight=2.0)).decode(em) == ["CAP"]
    # Without any LM the search is still constrained to lexicon words.
    assert LexiconBeamDecoder(CHARS, lexicon, None).decode(emissions(AMBIGUOUS, CHARS)) in (["CAT"], ["CAP"])


def test_two_words_across_the_boundary_token(tmp_path):
    lexicon = Lexicon.from_tokenizer(CharTokenizer(), ["CAT", "DOG"])
    seq = ["D", "O", "<blk>", "G", "|", "|", "C", "A", "T", "T"]
    em = emissions([{s: 0.9} for s in seq], CHARS)
    dec = LexiconBeamDecoder(CHARS, lexicon, _unigram_arpa(tmp_path / "lm.arpa", {"CAT": 0.5, "DOG": 0.4, "</s>": 0.099}))
    assert dec.decode_batch(em[None], torch.tensor([10])) == [["DOG", "CAT"]]


def test_bpe_pieces_with_blank_as_silence(tmp_path):
    tok = PieceTokenizer()
    lexicon = Lexicon.from_tokenizer(tok, ["DOG", "CAT", "CAP"])
    assert lexicon.spellings["DOG"] == [["▁DO", "G"]] and lexicon.sil_token is None
    path = lexicon.write(tmp_path / "lexicon.txt")
    assert path.read_text().splitlines()[0] == "CAP\t▁CA P"
    # flashlight's own reader parses our file the same way.
    from flashlight.lib.text.dictionary import load_words

    assert {w: s for w, s in load_words(str(path)).items() if w != "<unk>"} == Lexicon.read(path).spellings
    seq = ["▁DO", "G", "<blk>", "▁CA", "<blk>", "P"]
    em = emissions([{s: 0.9} for s in seq], tok.tokens)
    lm = _unigram_arpa(tmp_path / "lm.arpa", {"CAT": 0.3, "CAP": 0.3, "DOG": 0.3, "</s>": 0.099})
    assert LexiconBeamDecoder(tok.tokens, Lexicon.read(path), lm).decode(em) == ["DOG", "CAP"]


def test_lexicon_tokens_must_exist():
    lexicon = Lexicon({"CAT": [["C", "A", "Z"]]})
    with pytest.raises(ValueError, match="'Z'"):
        LexiconBeamDecoder(CHARS, lexicon, None)


@pytest.mark.parametrize("ref, best_weight", [("CAT", 0.0), ("CAP", 2.0)])
def test_tune_grid_picks_the_lm_weight_of_the_lowest_wer(tmp_path, ref, best_weight):
    from audiofront.decoding.tune import format_grid, grid_search

    # the acoustics lean to CAT, the LM to CAP: which weight is best depends only on the reference
    lexicon = Lexicon.from_tokenizer(CharTokenizer(), ["CAT", "CAP"])
    lm = _unigram_arpa(tmp_path / "lm.arpa", {"CAP": 0.8, "CAT": 0.1, "</s>": 0.099})
    em = emissions([{"C": 0.9}, {"A": 0.9}, {"T": 0.5, "P": 0.4}], CHARS)
    batches = [(["u1"], [ref], 1.0, em[None], torch.tensor([3]))]
    grid = grid_search(batches, {"u1": ref}, lambda o: LexiconBeamDecoder(CHARS, lexicon, lm, options=o),
                       BeamSearchOptions(), [0.0, 2.0], [0.0])
    assert [g["wer"] for g in grid] == ([0.0, 100.0] if ref == "CAT" else [100.0, 0.0])
    best = min(grid, key=lambda g: g["wer"])
    assert best["lm_weight"] == best_weight
    table = format_grid(grid, [0.0, 2.0], [0.0])
    assert "**0.00**" in table and "100.00" in table


def test_tune_says_when_the_best_pair_is_on_the_edge_of_the_grid():
    from audiofront.decoding.tune import grid_edges

    weights, scores = [0.5, 1, 1.5], [-1, 0, 1]
    assert grid_edges({"lm_weight": 1.0, "word_score": 0.0}, weights, scores) == []  # inside: nothing to say
    assert grid_edges({"lm_weight": 1.0, "word_score": 1.0}, weights, scores) == ["--word-score 1 is the largest tried"]
    assert grid_edges({"lm_weight": 0.5, "word_score": -1.0}, weights, scores) == [
        "--lm-weight 0.5 is the smallest tried", "--word-score -1 is the smallest tried"]
    # a single value given is a choice, not a border
    assert grid_edges({"lm_weight": 2.0, "word_score": 0.0}, [2.0], [0]) == []


def test_tune_lm_option_lists_are_checked():
    from audiofront.cli.tune_lm import parse_floats
    from audiofront.errors import UserError

    assert parse_floats("0.5,1, 2", "--lm-weights") == [0.5, 1.0, 2.0]
    with pytest.raises(UserError, match="--word-scores: expected comma-separated numbers, got 'x'"):
        parse_floats("0,x", "--word-scores")


def test_with_options_searches_the_shared_lm_like_a_new_decoder(tmp_path):
    lexicon = Lexicon.from_tokenizer(CharTokenizer(), ["CAT", "CAP"])
    lm = _unigram_arpa(tmp_path / "lm.arpa", {"CAP": 0.8, "CAT": 0.1, "</s>": 0.099})
    em = emissions([{"C": 0.9}, {"A": 0.9}, {"T": 0.5, "P": 0.4}], CHARS)
    base = LexiconBeamDecoder(CHARS, lexicon, lm, options=BeamSearchOptions(lm_weight=0.0))
    heavy = base.with_options(BeamSearchOptions(lm_weight=2.0))
    assert heavy.lm is base.lm and heavy.trie is base.trie
    assert heavy.decode(em) == ["CAP"] and base.decode(em) == ["CAT"]  # the original keeps its own options
