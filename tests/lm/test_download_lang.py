"""`--download-lm`: the official LM and, for phones, the official lexicon, fetched (here from a fake server)."""

from __future__ import annotations

import gzip
import io
import urllib.request

import pytest

from audiofront.errors import UserError
from audiofront.lm import ngram
from audiofront.lm.lang import prepare_lang
from audiofront.text.tokenizer import Tokenizer

ARPA = """\\data\\
ngram 1=6
ngram 2=1

\\1-grams:
-99\t<s>\t-0.3
-0.5\t</s>
-1.0\t<unk>
-0.7\tTHE
-0.9\tCAT
-1.2\tQWXPLORK

\\2-grams:
-0.2\t<s> THE

\\end\\
"""
LEXICON = "THE\tDH AH0\nCAT\tK AE1 T\nQWXPLORK\tK W IH1 K S P L AO2 R K\n"


@pytest.fixture
def fake_openslr(monkeypatch):
    asked = []

    def urlopen(url, timeout=None):
        asked.append(url)
        name = url.rsplit("/", 1)[1]
        if name == "4-gram.arpa.gz":
            return io.BytesIO(gzip.compress(ARPA.encode()))
        if name == "librispeech-lexicon.txt":
            return io.BytesIO(LEXICON.encode())
        raise OSError(f"404 {url}")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return asked


def test_phone_lang_dir_uses_the_official_lm_and_lexicon(tmp_path, fake_openslr):
    info = prepare_lang(["THE CAT"], tmp_path, tokenizer_kind="phone", vocab="train", download_lm="4-gram.arpa.gz")
    assert [u.rsplit("/", 1)[1] for u in fake_openslr] == ["4-gram.arpa.gz", "librispeech-lexicon.txt"]
    assert info["lm"] == "4-gram.arpa" and info["lm_source"] == "openslr-11/4-gram.arpa.gz"
    # QWXPLORK is in no dictionary but the official lexicon: its pronunciation comes from there, not eSpeak
    assert info["espeak_words"] == 0 and "openslr-11/librispeech-lexicon.txt" in info["pronunciations"]
    tok = Tokenizer.load(tmp_path)
    assert tok.pronunciations["QWXPLORK"] == [("K", "W", "IH", "K", "S", "P", "L", "AO", "R", "K")]
    assert "QWXPLORK\tK W IH K S P L AO R K_E" in (tmp_path / "lexicon.txt").read_text().splitlines()
    # a second run reuses the files
    prepare_lang(["THE CAT"], tmp_path, tokenizer_kind="phone", vocab="train", download_lm="4-gram.arpa.gz")
    assert len(fake_openslr) == 2


def test_offline_download_is_one_clear_error(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match="(?s)could not download 4-gram.arpa.gz.*unreachable"):
        ngram.download_librispeech_lm(tmp_path, "4-gram.arpa.gz")
    assert list(tmp_path.iterdir()) == []  # no half file left behind


def test_lexicon_words_the_downloaded_lm_lacks_are_counted_with_their_score(tmp_path, fake_openslr, caplog):
    """DOG is in the transcripts (so in the lexicon) but not in the official LM: KenLM scores it as the LM's <unk>,
    which lang.json and the log say."""
    with caplog.at_level("WARNING", logger="audiofront.lm.lang"):
        info = prepare_lang(["THE DOG"], tmp_path, tokenizer_kind="char", download_lm="4-gram.arpa.gz")
    assert info["lm_unknown_words"] == 1 and info["lm_unknown_words_examples"] == ["DOG"]
    assert info["lm_unk_log10"] == -1.0 and info["lm_has_unk"] is True
    assert "1 of the 2 lexicon words are not in 4-gram.arpa.gz (e.g. DOG)" in caplog.text and "log10 -1)" in caplog.text


def test_an_lm_without_unk_is_said_to_never_choose_them(tmp_path, monkeypatch, caplog):
    no_unk = ARPA.replace("ngram 1=6", "ngram 1=5").replace("-1.0\t<unk>\n", "")
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(gzip.compress(no_unk.encode())))
    with caplog.at_level("WARNING", logger="audiofront.lm.lang"):
        info = prepare_lang(["THE DOG"], tmp_path, tokenizer_kind="char", download_lm="4-gram.arpa.gz")
    assert info["lm_unknown_words"] == 1 and info["lm_unk_log10"] == -100.0 and info["lm_has_unk"] is False
    assert "log10 -100" in caplog.text and "will not choose them" in caplog.text


@pytest.mark.parametrize("opts,named", [
    (dict(lm_texts=["A DOG BARKS"]), "--lm-text"),
    (dict(prior="wordfreq"), "--prior"),
    (dict(prior_weight=0.2), "--prior-weight"),
])
def test_options_of_an_estimated_lm_are_refused_with_a_downloaded_one(tmp_path, fake_openslr, opts, named):
    """They would shape nothing: the official LM is used as it is. One clear error before anything is fetched."""
    with pytest.raises(UserError, match=f"^{named}: only for an LM estimated here; --download-lm 4-gram.arpa.gz uses the official LM as it is"):
        prepare_lang(["THE CAT"], tmp_path, tokenizer_kind="char", download_lm="4-gram.arpa.gz", **opts)
    assert fake_openslr == [] and list(tmp_path.iterdir()) == []
