"""The ``lang`` directory a recipe decodes with: tokenizer, word list, lexicon and n-gram LM.

Files written to ``out_dir``::

    tokenizer.json, tokens.txt[, bpe.model | pronunciations.txt]   the tokenizer (audiofront.text.tokenizer)
    words.txt                                 the decoding vocabulary, one word per line
    lexicon.txt                               word -> token spelling (flashlight format)
    lm_<N>gram.arpa                           modified Kneser-Ney LM of the training transcripts (and
                                              ``lm_texts``), or the official LibriSpeech LM when downloaded
    lang.json                                 what is where (read by ``audiofront decode``)

The vocabulary (``vocab``) is the training words (``train``) or those and all of CMUdict (``cmudict``,
the default for phones): words of a test speaker that the training text never has cap the WER otherwise
(11% of the running words of LibriSpeech speakers 1970 and 2136 against the other 17 speakers of
train-clean-5; 1.4% with CMUdict). The estimated LM then covers the whole vocabulary through a unigram
prior (:func:`audiofront.lm.ngram.unigram_prior`): ``uniform`` over the words, or ``wordfreq`` (word
frequencies of the optional ``wordfreq`` package, whose data is CC BY-SA 4.0; not a dependency).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UserError
from ..text.lexicon import Lexicon, SPECIAL_WORDS
from ..utils.io import atomic_write_text
from .ngram import UNK, arpa_unigram_log10, download_librispeech_lexicon, download_librispeech_lm, estimate_arpa

log = logging.getLogger(__name__)


def read_cut_texts(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Transcripts (first supervision of each cut) of lhotse cut manifests; cuts without text are skipped.

    Raises:
        UserError: a manifest is missing or not a cuts manifest (:func:`audiofront.data.cuts.read_cuts`),
            or none holds a transcript.
    """
    from ..data.cuts import read_cuts

    texts: list[str] = []
    for p in paths:
        for cut in read_cuts(p, "--cuts"):
            for sup in cut.supervisions:
                if sup.text and sup.text.strip():
                    texts.append(" ".join(sup.text.split()))
    if not texts:
        raise UserError(f"--cuts: no transcripts in {', '.join(map(str, paths))} (expected cuts whose supervisions have text)")
    return texts


VOCABS = ("train", "cmudict")
PRIORS = ("uniform", "wordfreq")


def word_prior(words: Sequence[str], source: str = "uniform") -> dict[str, float]:
    """Unigram prior weights of the vocabulary: 1 each (``uniform``) or ``wordfreq`` English frequencies.

    wordfreq's data is CC BY-SA 4.0 (and partly other sources' terms), so it is an optional extra that
    a user installs knowingly, never a dependency; an LM made with it derives from that data.
    """
    if source == "uniform":
        return {w: 1.0 for w in words}
    if source == "wordfreq":
        try:
            from wordfreq import word_frequency
        except ImportError:
            raise UserError("--prior wordfreq needs the wordfreq package (pip install wordfreq; its data is "
                            "CC BY-SA 4.0), or use --prior uniform") from None
        return {w: float(word_frequency(w.lower(), "en")) for w in words}
    raise UserError(f"--prior must be one of {', '.join(PRIORS)}, got {source!r}")


def _cmudict_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"(cmudict {version('cmudict')})"
    except PackageNotFoundError:
        return "(cmudict package)"


def read_text_lines(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Sentences of plain-text files (one per line), normalised like transcripts (``--lm-text``)."""
    from ..text.normalize import normalize_text

    lines: list[str] = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise UserError(f"--lm-text {path} does not exist (expected a text file, one sentence per line)")
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise UserError(f"--lm-text {path} is not UTF-8 text (byte {e.start})") from None
        got = [normalize_text(line) for line in raw.splitlines()]
        got = [t for t in got if t]
        if not got:
            raise UserError(f"--lm-text {path} holds no words")
        lines.extend(got)
    return lines


KENLM_MISSING_UNK_LOG10 = -100.0  # what KenLM gives a word when the ARPA file has no <unk>


def _report_lm_unknown_words(words: list[str], unigrams: dict[str, float], download_lm: str) -> list[str]:
    """The lexicon words a downloaded LM does not know (CMUdict's, the transcripts'), said in one log line: KenLM
    scores each as the LM's ``<unk>``, which the official LibriSpeech LMs may not have (then -100: never chosen)."""
    unknown = [w for w in words if w not in unigrams]
    if unknown:
        how = (f"its <unk> probability (log10 {unigrams[UNK]:g})" if UNK in unigrams else
               f"log10 {KENLM_MISSING_UNK_LOG10:g}, as KenLM scores words of an LM without <unk>: decoding will not choose them")
        log.warning("%d of the %d lexicon words are not in %s (e.g. %s): the LM gives them %s", len(unknown), len(words),
                    download_lm, ", ".join(unknown[:5]), how)
    return unknown


def read_lang_info(lang_dir: str | os.PathLike) -> dict:
    path = Path(lang_dir) / "lang.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `audiofront prepare lang --out-dir {lang_dir}` first")
    return json.loads(path.read_text())


def prepare_lang(
    texts: Iterable[str],
    out_dir: str | os.PathLike,
    tokenizer_kind: str = "bpe",
    vocab_size: int = 256,
    lm_order: int = 3,
    download_lm: str | None = None,
    lm_dir: str | os.PathLike | None = None,
    extra_words: Iterable[str] = (),
    phone_marking: str = "final",
    vocab: str | None = None,
    lm_texts: Iterable[str] = (),
    prior: str = "uniform",
    prior_weight: float = 0.0,
) -> dict:
    """Train the tokenizer on ``texts``, then write the word list, lexicon and LM. Returns lang.json's content.

    ``download_lm`` (e.g. ``"4-gram.arpa.gz"``) fetches the official LibriSpeech LM into ``lm_dir``
    (default ``out_dir``) instead of estimating one, and uses it as it is: its unigram vocabulary joins the
    lexicon, and the lexicon words it lacks are counted (``lm_unknown_words``: KenLM scores them as its ``<unk>``).
    ``lm_texts`` (normalised sentences) join the LM's counts and the vocabulary, not the tokenizer's
    training; they, ``prior`` and ``prior_weight`` shape the estimated LM only, and are refused beside
    ``download_lm``. ``vocab``: ``train`` or ``cmudict`` (None: ``cmudict`` for phones, else ``train``).
    """
    from ..text.tokenizer import KINDS, PHONE_MARKINGS, Tokenizer

    if lm_order < 2:
        raise UserError(f"--lm-order must be at least 2 (KenLM reads bigram models and up), got {lm_order}")
    if tokenizer_kind not in KINDS:
        raise UserError(f"--tokenizer must be one of {', '.join(KINDS)}, got {tokenizer_kind!r}")
    if tokenizer_kind == "bpe" and vocab_size < 2:
        raise UserError(f"--vocab-size must be at least 2 (the blank and one token), got {vocab_size}")
    if phone_marking not in PHONE_MARKINGS:
        raise UserError(f"--phone-marking must be one of {', '.join(PHONE_MARKINGS)}, got {phone_marking!r}")
    vocab = vocab or ("cmudict" if tokenizer_kind == "phone" else "train")
    if vocab not in VOCABS:
        raise UserError(f"--vocab must be one of {', '.join(VOCABS)}, got {vocab!r}")
    if prior not in PRIORS:
        raise UserError(f"--prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    if not 0.0 <= prior_weight < 1.0:
        raise UserError(f"--prior-weight must be in [0, 1), got {prior_weight}")
    lm_texts = [" ".join(t.split()) for t in lm_texts if t and t.strip()]
    if download_lm:
        # these shape an LM estimated here; the downloaded one is used as it is (--lm-text's words would only join
        # the lexicon, scored as the LM's <unk>)
        refused = [opt for opt, given in (("--lm-text", bool(lm_texts)), ("--prior", prior != "uniform"),
                                          ("--prior-weight", prior_weight > 0)) if given]
        if refused:
            raise UserError(f"{', '.join(refused)}: only for an LM estimated here; --download-lm {download_lm} uses "
                            "the official LM as it is: drop one or the other")
    texts = [" ".join(t.split()) for t in texts if t and t.strip()]
    if not texts:
        raise UserError("no transcripts to build the lang directory from")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    words = {w for t in texts + lm_texts for w in t.split()} | set(extra_words)
    seen_words = set(words)
    if vocab == "cmudict":
        from ..text.normalize import normalize_text
        from ..text.phones import load_cmudict

        # only entries a normalised transcript can contain ('BOUT, A.M. and the like never occur)
        words |= {w for w in load_cmudict() if normalize_text(w) == w}
    lm_path = official_lexicon = None
    lm_unigrams: dict[str, float] = {}
    unknown: list[str] = []
    if download_lm:
        lm_path = download_librispeech_lm(lm_dir or out_dir, download_lm)
        lm_unigrams = arpa_unigram_log10(lm_path)
        words |= {w for w in lm_unigrams if w not in SPECIAL_WORDS}
        if tokenizer_kind == "phone":  # pronunciations of the LM's words that CMUdict lacks
            try:
                official_lexicon = download_librispeech_lexicon(lm_dir or out_dir)
            except RuntimeError as e:
                log.warning("%s; eSpeak NG pronounces the words CMUdict lacks", " ".join(str(e).split()))
    words = sorted(w for w in words if w not in SPECIAL_WORDS)

    pronouncer = None
    if tokenizer_kind == "phone":
        from ..text.phones import Pronouncer, load_cmudict

        pronouncer = Pronouncer(extra=load_cmudict(official_lexicon) if official_lexicon else None)
    tok = Tokenizer.train(texts, kind=tokenizer_kind, vocab_size=vocab_size, out_dir=out_dir,
                          phone_marking=phone_marking, words=words, pronouncer=pronouncer)
    # phones: a word eSpeak NG cannot say (none known) is dropped, whichever text it comes from
    droppable = set(words) if tokenizer_kind == "phone" else set(words) - seen_words
    lexicon = Lexicon.from_tokenizer(tok, words, droppable=droppable)
    if lexicon.dropped:
        log.warning("%d words cannot be spelled with these tokens and are left out of the lexicon (e.g. %s)",
                    len(lexicon.dropped), ", ".join(lexicon.dropped[:5]))
        words = sorted(lexicon.spellings)
    if download_lm:
        lm_order_used = None  # --lm-order: the downloaded file's
        unknown = _report_lm_unknown_words(words, lm_unigrams, download_lm)
    else:
        weights = None
        if vocab != "train" or prior != "uniform":
            # the LM covers the lexicon; a dictionary word unseen in the text gets its share of the prior
            weights = word_prior(words, prior)
        lm_path = out_dir / f"lm_{lm_order}gram.arpa"
        model = estimate_arpa(texts + lm_texts, lm_path, order=lm_order, prior=weights, prior_weight=prior_weight)
        lm_order_used = model.order
    atomic_write_text(out_dir / "words.txt", "\n".join(words) + "\n")
    lexicon.write(out_dir / "lexicon.txt")

    info = {
        "tokenizer": tok.kind,
        "vocab_size": tok.vocab_size,
        "num_words": len(words),
        "lexicon": "lexicon.txt",
        "sil_token": lexicon.sil_token,
        "lm": os.path.relpath(lm_path, out_dir),
        "lm_order": lm_order_used,
        "lm_source": f"openslr-11/{download_lm}" if download_lm else "estimated (modified Kneser-Ney)",
        "num_transcripts": len(texts),
        "num_lm_text_sentences": len(lm_texts),
        "vocab": vocab,
        "lm_prior": None if download_lm else prior,
        "lm_prior_weight": None if download_lm else prior_weight,
    }
    if download_lm:
        info["lm_unknown_words"] = len(unknown)  # in the lexicon, not in the downloaded LM: scored as its <unk>
        info["lm_unknown_words_examples"] = unknown[:20]
        info["lm_unk_log10"] = lm_unigrams.get(UNK, KENLM_MISSING_UNK_LOG10)
        info["lm_has_unk"] = UNK in lm_unigrams
    if tokenizer_kind == "phone":
        spoken = sorted(pronouncer.espeak_words)
        info["phone_marking"] = phone_marking
        info["espeak_words"] = len(spoken)  # words missing from CMUdict, pronounced by eSpeak NG
        info["espeak_words_examples"] = spoken[:20]
        info["pronunciations"] = ["CMUdict " + _cmudict_version()] + (
            [f"openslr-11/{official_lexicon.name}"] if official_lexicon else []) + ["eSpeak NG"]
    atomic_write_text(out_dir / "lang.json", json.dumps(info, indent=2) + "\n")
    return info
