"""Interpolated modified Kneser-Ney n-gram estimation (Chen & Goodman 1998), written as ARPA.

Conventions (the same as KenLM's ``lmplz``, which the decoder's KenLM reader expects):

* Each sentence is padded as ``<s> w1 ... wk </s>``; ``<s>`` is a context only, never predicted
  (its ARPA probability is -99), ``<unk>`` is always in the vocabulary.
* Adjusted counts ``a(g)``: the raw count for the highest order and for n-grams that start with
  ``<s>`` (they can have no left extension); otherwise the continuation count, the number of distinct
  words ``v`` with ``c(v g) > 0``.
* Discounts per order from the count-of-counts ``n_k`` of the adjusted counts of that order:
  ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``, ``D3+ = 3 - 4Y n4/n3``.
* ``p(w|h) = (a(hw) - D(a(hw))) / S(h) + gamma(h) p(w|h')`` with ``S(h) = sum_w a(hw)`` and
  ``gamma(h) = (D1 N1(h) + D2 N2(h) + D3+ N3+(h)) / S(h)``; the unigrams interpolate with the uniform
  distribution over the vocabulary without ``<s>``. In ARPA form the backoff weight of ``h`` is ``gamma(h)``
  exactly, since an unseen ``hw`` has ``a(hw) = 0``.

Unigram prior (ours, for a decoding vocabulary much larger than the training text): given word weights
``prior`` (e.g. frequencies, or 1 for every lexicon word), the vocabulary is the text's words and the
prior's, and the base distribution of the recursion is ``q(w) = weight(w) / sum`` instead of uniform; a
word the prior does not weigh (``</s>``, ``<unk>``, a text word missing from it) gets the smallest weight
it gives. So a lexicon word never seen in the text has ``p(w) = gamma() q(w)``: Kneser-Ney's own estimate
of the mass of novel words, shared out by the prior. ``prior_weight`` λ mixes in more of it,
``p1(w) = (1 - λ) p_KN(w) + λ q(w)``; every unigram sum stays 1, so the higher orders are unchanged.
A prior of equal weights and λ = 0 is the plain estimate.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import shutil
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..utils.io import atomic_path

log = logging.getLogger(__name__)

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
ARPA_ZERO = -99.0  # log10 probability KenLM and SRILM write for "never" (the <s> unigram)
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # what KenLM's --discount_fallback uses

Ngram = tuple[str, ...]


@dataclass(frozen=True)
class Discounts:
    """Modified Kneser-Ney discounts of one order: for adjusted counts 1, 2 and 3 or more."""

    d1: float
    d2: float
    d3: float
    fallback: bool = False  # True when the count-of-counts could not give valid discounts

    def __call__(self, count: int) -> float:
        if count <= 0:
            return 0.0
        return self.d1 if count == 1 else self.d2 if count == 2 else self.d3

    @classmethod
    def from_count_of_counts(cls, n: Sequence[int]) -> "Discounts":
        """``n = (n1, n2, n3, n4)``; raises ``ValueError`` when they cannot give discounts in (0, k)."""
        n1, n2, n3, n4 = (int(x) for x in n)
        if min(n1, n2, n3, n4) <= 0:
            raise ValueError(f"count-of-counts n1..n4 = {n1, n2, n3, n4}: all must be positive")
        y = n1 / (n1 + 2 * n2)
        d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        for k, dk in enumerate(d, start=1):
            if not 0 < dk < k:
                raise ValueError(f"count-of-counts n1..n4 = {n1, n2, n3, n4} give D{k} = {dk:.4f}, outside (0, {k})")
        return cls(*d)


@dataclass
class NgramModel:
    """An estimated back-off model: ``prob[n-1][g]`` and ``backoff[n-1][g]`` are natural probabilities."""

    order: int
    vocab: list[str]
    prob: list[dict[Ngram, float]]
    backoff: list[dict[Ngram, float]]
    discounts: list[Discounts] = field(default_factory=list)

    def logprob10(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 p(word | context) by the ARPA back-off rule (the context is truncated to order-1 words)."""
        return ArpaModel.from_model(self).logprob10(word, context)


# --------------------------------------------------------------------------------------------- counting


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> list[Counter]:
    """Raw counts of all 1..order-grams of the padded sentences; ``counts[n-1]`` holds the n-grams."""
    if order < 1:
        raise ValueError(f"n-gram order must be >= 1, got {order}")
    counts = [Counter() for _ in range(order)]
    for words in sentences:
        for w in words:
            if w in (BOS, EOS):
                raise ValueError(f"sentence {' '.join(words)!r} contains the reserved token {w!r}")
        seq = (BOS, *words, EOS)
        for i in range(len(seq)):
            for n in range(1, order + 1):
                if i + n > len(seq):
                    break
                counts[n - 1][seq[i : i + n]] += 1
    return counts


def adjusted_counts(raw: list[Counter]) -> list[dict[Ngram, int]]:
    """Kneser-Ney adjusted counts (see the module docstring); the ``<s>`` unigram is left out."""
    order = len(raw)
    adj: list[dict[Ngram, int]] = [dict() for _ in range(order)]
    adj[order - 1] = dict(raw[order - 1])
    for n in range(order - 1, 0, -1):  # n-grams of length n, from their (n+1)-gram extensions
        left_ext: Counter = Counter()
        for g in raw[n]:
            left_ext[g[1:]] += 1
        for g, c in raw[n - 1].items():
            adj[n - 1][g] = c if g[0] == BOS else left_ext[g]
    adj[0].pop((BOS,), None)
    return adj


def count_of_counts(adj: dict[Ngram, int]) -> tuple[int, int, int, int]:
    cc = Counter(v for v in adj.values() if 1 <= v <= 4)
    return cc[1], cc[2], cc[3], cc[4]


# ------------------------------------------------------------------------------------------- estimation


def estimate(
    sentences: Iterable[Sequence[str]] | Iterable[str],
    order: int = 3,
    discount_fallback: bool = True,
    discounts: Sequence[Discounts] | None = None,
    prior: Mapping[str, float] | None = None,
    prior_weight: float = 0.0,
) -> NgramModel:
    """Estimate an interpolated modified Kneser-Ney model of ``order`` from word sequences (or strings).

    ``discounts`` (one per order, lowest first) overrides the Chen & Goodman estimates. When a order's
    count-of-counts cannot give valid discounts (tiny or synthetic text), ``discount_fallback`` uses
    0.5/1.0/1.5 with a warning, like KenLM's ``--discount_fallback``; otherwise that is an error.
    ``prior`` and ``prior_weight``: the unigram prior of the module docstring.
    """
    if not 0.0 <= prior_weight < 1.0:
        raise ValueError(f"the unigram prior weight must be in [0, 1), got {prior_weight}")
    sents = [s.split() if isinstance(s, str) else list(s) for s in sentences]
    sents = [s for s in sents if s]
    if not sents:
        raise ValueError("no non-empty sentences to estimate a language model from")
    raw = count_ngrams(sents, order)
    adj = adjusted_counts(raw)

    if discounts is not None:
        if len(discounts) != order:
            raise ValueError(f"need {order} discounts (one per order), got {len(discounts)}")
        disc = list(discounts)
    else:
        disc = []
        for n in range(1, order + 1):
            cc = count_of_counts(adj[n - 1])
            try:
                disc.append(Discounts.from_count_of_counts(cc))
            except ValueError as e:
                if not discount_fallback:
                    raise ValueError(f"order {n}: {e}; too little text for modified Kneser-Ney") from None
                log.warning("order %d: %s; using fallback discounts %s", n, e, FALLBACK_DISCOUNTS)
                disc.append(Discounts(*FALLBACK_DISCOUNTS, fallback=True))

    vocab = sorted({g[0] for g in adj[0]} | {EOS, UNK} | ({w for w in prior if w != BOS} if prior else set()))
    base = unigram_prior(vocab, prior)
    prob: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    backoff: list[dict[Ngram, float]] = [dict() for _ in range(order)]

    for n in range(1, order + 1):
        d = disc[n - 1]
        # Totals and count-of-counts per context.
        total: dict[Ngram, int] = defaultdict(int)
        nk: dict[Ngram, list[int]] = defaultdict(lambda: [0, 0, 0])
        for g, a in adj[n - 1].items():
            h = g[:-1]
            total[h] += a
            if a > 0:
                nk[h][min(a, 3) - 1] += 1
        gamma = {h: (d.d1 * k[0] + d.d2 * k[1] + d.d3 * k[2]) / total[h] for h, k in nk.items()}
        if n == 1:
            lower = base
            grams = {(w,): adj[0].get((w,), 0) for w in vocab}
        else:
            lower = prob[n - 2]
            grams = adj[n - 1]
        for g, a in grams.items():
            h = g[:-1]
            p_low = lower[g[1:]] if n > 1 else lower[g]
            prob[n - 1][g] = (a - d(a)) / total[h] + gamma[h] * p_low
            if n == 1 and prior_weight:
                prob[0][g] = (1.0 - prior_weight) * prob[0][g] + prior_weight * p_low
        if n > 1:
            for h, gm in gamma.items():
                backoff[n - 2][h] = gm
    prob[0][(BOS,)] = 0.0
    return NgramModel(order=order, vocab=vocab, prob=prob, backoff=backoff, discounts=disc)


def unigram_prior(vocab: Sequence[str], weights: Mapping[str, float] | None = None) -> dict[Ngram, float]:
    """``q(w)`` over ``vocab`` from word weights (the module docstring); uniform when ``weights`` is None."""
    if not weights:
        return {(w,): 1.0 / len(vocab) for w in vocab}
    bad = [(w, x) for w, x in weights.items() if not (x >= 0 and math.isfinite(x))]
    if bad:
        raise ValueError(f"unigram prior weights must be finite and >= 0, got {bad[0][0]!r}: {bad[0][1]}")
    positive = [x for x in weights.values() if x > 0]
    if not positive:
        raise ValueError("the unigram prior gives no word a positive weight")
    floor = min(positive)
    w = {v: (weights.get(v) or floor) for v in vocab}
    total = sum(w.values())
    return {(v,): x / total for v, x in w.items()}


def write_arpa(model: NgramModel, path: str | os.PathLike) -> Path:
    """Write ``model`` as an ARPA file, atomically (a crash leaves no truncated file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\\data\\\n")
            for n in range(1, model.order + 1):
                f.write(f"ngram {n}={len(model.prob[n - 1])}\n")
            for n in range(1, model.order + 1):
                f.write(f"\n\\{n}-grams:\n")
                bo = model.backoff[n - 1]
                for g in sorted(model.prob[n - 1]):
                    p = model.prob[n - 1][g]
                    lp = math.log10(p) if p > 0 else ARPA_ZERO
                    line = f"{lp:.7f}\t{' '.join(g)}"
                    if n < model.order and g in bo:
                        line += f"\t{math.log10(bo[g]):.7f}"
                    f.write(line + "\n")
            f.write("\n\\end\\\n")
    return path


def estimate_arpa(
    sentences: Iterable[Sequence[str]] | Iterable[str],
    path: str | os.PathLike,
    order: int = 3,
    discount_fallback: bool = True,
    prior: Mapping[str, float] | None = None,
    prior_weight: float = 0.0,
) -> NgramModel:
    """Estimate a modified Kneser-Ney model from ``sentences`` and write it to ``path`` (ARPA)."""
    model = estimate(sentences, order=order, discount_fallback=discount_fallback, prior=prior, prior_weight=prior_weight)
    write_arpa(model, path)
    return model


# ----------------------------------------------------------------------------------------------- reading


@dataclass
class ArpaModel:
    """A back-off model read from ARPA (log10 values), for scoring and checks; not for huge models."""

    order: int
    logprob: list[dict[Ngram, float]]
    logbackoff: list[dict[Ngram, float]]

    @classmethod
    def from_model(cls, m: NgramModel) -> "ArpaModel":
        lp = [{g: (math.log10(p) if p > 0 else ARPA_ZERO) for g, p in d.items()} for d in m.prob]
        lb = [{g: math.log10(b) for g, b in d.items()} for d in m.backoff]
        return cls(m.order, lp, lb)

    @property
    def vocab(self) -> list[str]:
        return sorted(g[0] for g in self.logprob[0])

    def logprob10(self, word: str, context: Sequence[str] = ()) -> float:
        ctx = tuple(context)[-(self.order - 1) :] if self.order > 1 else ()
        if (word,) not in self.logprob[0]:
            word = UNK
        bo = 0.0
        while True:
            g = (*ctx, word)
            lp = self.logprob[len(g) - 1].get(g)
            if lp is not None:
                return lp + bo
            bo += self.logbackoff[len(ctx) - 1].get(ctx, 0.0)
            ctx = ctx[1:]

    def sentence_logprob10(self, words: Sequence[str]) -> float:
        ctx: list[str] = [BOS]
        total = 0.0
        for w in (*words, EOS):
            total += self.logprob10(w, ctx)
            ctx.append(w)
        return total


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_arpa(path: str | os.PathLike) -> ArpaModel:
    """Read an ARPA file (plain or .gz); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ARPA file {path} does not exist")
    declared: dict[int, int] = {}
    logprob: list[dict[Ngram, float]] = []
    logbackoff: list[dict[Ngram, float]] = []
    section = None
    with _open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            if line == "\\data\\":
                section = 0
                continue
            if line == "\\end\\":
                break
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
                while len(logprob) < section:
                    logprob.append({})
                    logbackoff.append({})
                continue
            if section == 0 and line.startswith("ngram "):
                n, _, c = line[6:].partition("=")
                declared[int(n)] = int(c)
                continue
            if not section:
                raise ValueError(f"{path}:{lineno}: unexpected line outside a section: {line[:60]!r}")
            parts = line.split()
            if len(parts) not in (section + 1, section + 2):
                raise ValueError(f"{path}:{lineno}: expected {section} words with a log-probability, got {line[:80]!r}")
            g = tuple(parts[1 : section + 1])
            logprob[section - 1][g] = float(parts[0])
            if len(parts) == section + 2:
                logbackoff[section - 1][g] = float(parts[-1])
    if not logprob:
        raise ValueError(f"{path} holds no n-gram sections; is it an ARPA file?")
    for n, c in declared.items():
        if n <= len(logprob) and len(logprob[n - 1]) != c:
            raise ValueError(f"{path}: header declares {c} {n}-grams but the file lists {len(logprob[n - 1])}")
    return ArpaModel(len(logprob), logprob, logbackoff)


def arpa_unigram_log10(path: str | os.PathLike) -> dict[str, float]:
    """The unigram section of an ARPA file, word -> log10 probability, read without loading the higher orders."""
    path = Path(path)
    probs: dict[str, float] = {}
    inside = False
    with _open_text(path) as f:
        for line in f:
            s = line.strip()
            if s == "\\1-grams:":
                inside = True
                continue
            if inside:
                if s.startswith("\\"):
                    break
                parts = s.split()
                if len(parts) >= 2:
                    try:
                        probs[parts[1]] = float(parts[0])
                    except ValueError:
                        raise ValueError(f"{path}: unigram line {s[:80]!r} does not start with a log10 probability") from None
    if not probs:
        raise ValueError(f"{path}: no unigram section found; is it an ARPA file?")
    return probs


# ---------------------------------------------------------------------------------------------- download

LIBRISPEECH_LM_URLS = (
    "https://www.openslr.org/resources/11/{name}",
    "https://us.openslr.org/resources/11/{name}",
    "https://openslr.elda.org/resources/11/{name}",
)
LIBRISPEECH_LMS = ("4-gram.arpa.gz", "3-gram.arpa.gz", "3-gram.pruned.1e-7.arpa.gz", "3-gram.pruned.3e-7.arpa.gz")
LIBRISPEECH_LEXICON = "librispeech-lexicon.txt"  # ~200k words, ARPAbet with stress (CMUdict + G2P)


def _fetch(name: str, dest: Path) -> None:
    """Download openslr 11's ``name`` to ``dest`` through a temporary file (no half file is ever left)."""
    errors = []
    for url in (u.format(name=name) for u in LIBRISPEECH_LM_URLS):
        try:
            log.info("downloading %s", url)
            with urllib.request.urlopen(url, timeout=60) as resp, atomic_path(dest) as tmp:
                with open(tmp, "wb") as f:
                    shutil.copyfileobj(resp, f, length=1 << 20)
            return
        except OSError as e:  # URLError and socket errors are OSErrors
            errors.append(f"{url}: {e}")
    raise RuntimeError(f"could not download {name} (openslr resource 11):\n  " + "\n  ".join(errors))


def download_librispeech_lexicon(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """The official LibriSpeech pronunciation lexicon (openslr 11) in ``out_dir``; an existing copy is reused."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LIBRISPEECH_LEXICON
    if force or not path.is_file():
        _fetch(LIBRISPEECH_LEXICON, path)
    return path


def download_librispeech_lm(out_dir: str | os.PathLike, name: str = "4-gram.arpa.gz", force: bool = False) -> Path:
    """Download an official LibriSpeech LM (openslr resource 11) and unpack it to ``out_dir/<name without .gz>``.

    The download goes to a temporary file renamed only when complete, so an interrupted run starts again
    cleanly; an existing unpacked file is reused unless ``force``. Words are upper case like our transcripts.
    """
    if name not in LIBRISPEECH_LMS:
        raise ValueError(f"unknown LibriSpeech LM {name!r}; choose one of {', '.join(LIBRISPEECH_LMS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gz_path = out_dir / name
    arpa_path = out_dir / name[: -len(".gz")]
    if arpa_path.is_file() and not force:
        return arpa_path
    if not gz_path.is_file() or force:
        _fetch(name, gz_path)
    with gzip.open(gz_path, "rb") as src, atomic_path(arpa_path) as tmp:
        with open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
    return arpa_path
