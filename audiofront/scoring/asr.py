"""ASR scoring: word error rate with jiwer, an sclite-style summary, per-utterance alignments and a
row appended to a recipe's RESULTS.md.

Inputs are Kaldi ``text`` files (``utt_id WORD WORD ...``). An utterance of the reference missing from the
hypotheses counts as an empty hypothesis (all deletions) and is listed; a hypothesis without a reference
cannot be scored and is listed too.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jiwer
import numpy as np

from ..errors import UserError
from ..utils.io import atomic_write_text
from .files import read_text

SUMMARY_COLUMNS = ("dataset", "Snt", "Wrd", "Corr", "Sub", "Del", "Ins", "Err", "S.Err")
RESULTS_COLUMNS = ("tag", *SUMMARY_COLUMNS, "date")
UNIT_NAMES = {"word": "WER", "token": "TER", "char": "CER", "phone": "PER"}  # score_files' units, as error rates


def read_kaldi_text(path: str | os.PathLike, what: str = "transcript file") -> dict[str, str]:
    """``utt_id word word ...`` per line -> {utt_id: "word word ..."}; empty transcripts allowed."""
    path = Path(path)
    out: dict[str, str] = {}
    for lineno, line in enumerate(read_text(path, what).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        utt, words = parts[0], " ".join(parts[1:])
        if utt in out:
            raise UserError(f"{what}: {path}:{lineno}: utterance {utt!r} appears twice")
        out[utt] = words
    return out


def write_kaldi_text(path: str | os.PathLike, texts: dict[str, str]) -> Path:
    lines = [f"{utt} {text}".rstrip() for utt, text in sorted(texts.items())]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return Path(path)


@dataclass
class UttScore:
    utt: str
    ref: list[str]
    hyp: list[str]
    ops: list[tuple[str, str | None, str | None]]  # (C|S|D|I, ref word, hyp word)
    corr: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins


@dataclass
class WerResult:
    dataset: str
    utts: list[UttScore]
    missing_hyp: list[str] = field(default_factory=list)
    extra_hyp: list[str] = field(default_factory=list)
    comparison: "WerBootstrap | None" = None  # score_files(..., compare=...)

    @property
    def n_sent(self) -> int:
        return len(self.utts)

    @property
    def n_words(self) -> int:
        return sum(len(u.ref) for u in self.utts)

    def total(self, attr: str) -> int:
        return sum(getattr(u, attr) for u in self.utts)

    @property
    def sent_errors(self) -> int:
        return sum(u.errors > 0 for u in self.utts)

    @property
    def wer(self) -> float:
        """Errors / reference words, in percent (sclite's Err)."""
        return 100.0 * (self.total("sub") + self.total("dele") + self.total("ins")) / max(self.n_words, 1)

    def summary_row(self) -> dict[str, object]:
        w = max(self.n_words, 1)
        pct = lambda n: round(100.0 * n / w, 2)  # noqa: E731
        return {
            "dataset": self.dataset,
            "Snt": self.n_sent,
            "Wrd": self.n_words,
            "Corr": pct(self.total("corr")),
            "Sub": pct(self.total("sub")),
            "Del": pct(self.total("dele")),
            "Ins": pct(self.total("ins")),
            "Err": round(self.wer, 2),
            "S.Err": round(100.0 * self.sent_errors / max(self.n_sent, 1), 2),
        }

    def counts(self) -> dict[str, int]:
        return {
            "sentences": self.n_sent,
            "words": self.n_words,
            "correct": self.total("corr"),
            "substitutions": self.total("sub"),
            "deletions": self.total("dele"),
            "insertions": self.total("ins"),
            "sentence_errors": self.sent_errors,
        }


def score_texts(refs: dict[str, str], hyps: dict[str, str], dataset: str = "test") -> WerResult:
    """Align every reference utterance with its hypothesis (jiwer's Levenshtein alignment)."""
    if not refs:
        raise ValueError("the reference holds no utterances")
    utt_ids = sorted(refs)
    missing = [u for u in utt_ids if u not in hyps]
    extra = sorted(u for u in hyps if u not in refs)
    out = jiwer.process_words([refs[u] for u in utt_ids], [hyps.get(u, "") for u in utt_ids])
    utts = []
    for utt, ref, hyp, chunks in zip(utt_ids, out.references, out.hypotheses, out.alignments):
        s = UttScore(utt, list(ref), list(hyp), [])
        for c in chunks:
            r = ref[c.ref_start_idx : c.ref_end_idx]
            h = hyp[c.hyp_start_idx : c.hyp_end_idx]
            if c.type == "equal":
                s.ops += [("C", a, b) for a, b in zip(r, h)]
                s.corr += len(r)
            elif c.type == "substitute":
                s.ops += [("S", a, b) for a, b in zip(r, h)]
                s.sub += len(r)
            elif c.type == "delete":
                s.ops += [("D", a, None) for a in r]
                s.dele += len(r)
            elif c.type == "insert":
                s.ops += [("I", None, b) for b in h]
                s.ins += len(h)
            else:  # pragma: no cover - jiwer has only these four
                raise ValueError(f"unknown alignment chunk {c.type!r}")
        utts.append(s)
    return WerResult(dataset, utts, missing, extra)


def format_alignment(result: WerResult) -> str:
    """Kaldi-style per-utterance alignment: ref / hyp / op rows with columns lined up, then #csid."""
    blocks = []
    for u in result.utts:
        refs = [r if r is not None else "***" for _, r, _ in u.ops]
        hyps = [h if h is not None else "***" for _, _, h in u.ops]
        ops = [op for op, _, _ in u.ops]
        widths = [max(len(a), len(b), 1) for a, b in zip(refs, hyps)]
        row = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        blocks.append(
            f"{u.utt} ref  {row(refs)}\n{u.utt} hyp  {row(hyps)}\n{u.utt} op   {row(ops)}\n"
            f"{u.utt} #csid {u.corr} {u.sub} {u.dele} {u.ins}\n"
        )
    return "\n".join(blocks)


def format_summary_table(rows: list[dict[str, object]]) -> str:
    """Markdown table with the sclite columns (Corr..S.Err in percent of words / sentences)."""
    head = "| " + " | ".join(SUMMARY_COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in SUMMARY_COLUMNS) + "|"
    body = ["| " + " | ".join(str(r[c]) for c in SUMMARY_COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body]) + "\n"


def print_summary(rows: list[dict[str, object]], title: str = "WER") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in SUMMARY_COLUMNS:
        table.add_column(c, justify="left" if c == "dataset" else "right")
    for r in rows:
        table.add_row(*(str(r[c]) for c in SUMMARY_COLUMNS))
    Console().print(table)


def write_score_files(result: WerResult, out_dir: str | os.PathLike, tag: str | None = None,
                      unit: str = "word") -> dict[str, Path]:
    """``wer_summary.md`` (sclite-style table), ``per_utt.txt`` (alignments), ``wer.json`` (counts; with the
    row's ``tag`` and the ``unit`` scored, which :mod:`.set_table` reads)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    row = result.summary_row()
    summary = format_summary_table([row])
    if result.missing_hyp:
        summary += f"\n{len(result.missing_hyp)} reference utterances had no hypothesis (scored as empty): "
        summary += " ".join(result.missing_hyp[:20]) + (" ..." if len(result.missing_hyp) > 20 else "") + "\n"
    if result.extra_hyp:
        summary += f"\n{len(result.extra_hyp)} hypotheses had no reference (not scored): "
        summary += " ".join(result.extra_hyp[:20]) + (" ..." if len(result.extra_hyp) > 20 else "") + "\n"
    paths = {
        "summary": out_dir / "wer_summary.md",
        "alignment": out_dir / "per_utt.txt",
        "json": out_dir / "wer.json",
    }
    atomic_write_text(paths["summary"], summary)
    atomic_write_text(paths["alignment"], format_alignment(result))
    payload = {
        "tag": tag or out_dir.name,
        "unit": unit,
        "summary": row,
        "counts": result.counts(),
        "missing_hyp": result.missing_hyp,
        "extra_hyp": result.extra_hyp,
        "per_utt": [{"utt": u.utt, **{k: v for k, v in asdict(u).items() if k in ("corr", "sub", "dele", "ins")}}
                    for u in result.utts],
    }
    atomic_write_text(paths["json"], json.dumps(payload, indent=1))
    return paths


def append_results_row(results_md: str | os.PathLike, tag: str, row: dict[str, object], date: str | None = None) -> Path:
    """Add a row to the results table of ``results_md`` (created if needed), atomically.

    The row goes right after the last row of the first table whose header has our columns; a file without
    such a table gets one at its end. Other content of the file is kept as it is.
    """
    path = Path(results_md)
    date = date or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = "| " + " | ".join(RESULTS_COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in RESULTS_COLUMNS) + "|"
    values = {"tag": tag, **row, "date": date}
    line = "| " + " | ".join(str(values[c]).replace("|", "/") for c in RESULTS_COLUMNS) + " |"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else ["# Results", ""]
    if header in lines:
        i = lines.index(header) + 1
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        lines.insert(i, line)
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [header, sep, line]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def chars_of(texts: dict[str, str]) -> dict[str, str]:
    """``{"u": "AB CD"}`` -> ``{"u": "A B | C D"}``: texts as space-separated characters, ``|`` between words."""
    return {u: " ".join("|".join(t.split())) for u, t in texts.items()}


def phones_of(texts: dict[str, str]) -> dict[str, str]:
    """Phone token texts (``decode``'s ``hyp_tokens``/``ref_tokens`` of a phone model) with the word-position
    marks removed: word-final variants lose their suffix (``"HH AY_E Y UW_E"`` -> ``"HH AY Y UW"``) and
    word-boundary tokens go (``"HH AY | Y UW"`` -> the same), so that the error rate counts the 39 phones, as
    TIMIT's phone error rate does (a phone right but its word end wrong is then no error). Any other token
    (``<unk>``) is kept and counted."""
    from ..text.tokenizer import FINAL_SUFFIX, WORD_BOUNDARY

    def plain(token: str) -> str:
        return token[: -len(FINAL_SUFFIX)] if token.endswith(FINAL_SUFFIX) else token

    return {u: " ".join(plain(t) for t in text.split() if t != WORD_BOUNDARY) for u, text in texts.items()}


def score_files(
    ref: str | os.PathLike,
    hyp: str | os.PathLike,
    out_dir: str | os.PathLike,
    dataset: str = "test",
    results_md: str | os.PathLike | None = None,
    tag: str | None = None,
    unit: str = "word",
    compare: str | os.PathLike | None = None,
) -> WerResult:
    """Score Kaldi ``text`` files and write the summary, alignments and (optionally) a RESULTS.md row.

    ``unit="char"``: the character error rate instead, every character one unit and each space between words
    one unit ``|`` (so a split or merged word counts), the columns then counting characters. ``unit="phone"``:
    files of phone tokens scored without their word-position marks (:func:`phones_of`), the columns counting
    phones.
    ``compare``: a second system's hypotheses of the same references; the paired bootstrap of the two
    (:func:`wer_bootstrap`, this ``hyp`` as A) goes to ``out_dir/compare.json`` and ``result.comparison``."""
    refs, hyps = read_kaldi_text(ref, "--ref"), read_kaldi_text(hyp, "--hyp")
    other = read_kaldi_text(compare, "--compare") if compare is not None else None
    if unit == "char":
        refs, hyps = chars_of(refs), chars_of(hyps)
        other = chars_of(other) if other is not None else None
    elif unit == "phone":
        refs, hyps = phones_of(refs), phones_of(hyps)
        other = phones_of(other) if other is not None else None
    elif unit not in ("word", "token"):  # token: the model's own units (decode's *_tokens files), scored like words
        raise ValueError(f"--unit must be word, token, char or phone, got {unit!r}")
    result = score_texts(refs, hyps, dataset=dataset)
    write_score_files(result, out_dir, tag=tag, unit=unit)
    if other is not None:
        boot = wer_bootstrap(result, score_texts(refs, other, dataset=dataset))
        result.comparison = boot
        out = {"a": str(hyp), "b": str(compare), "ref": str(ref), "unit": unit, **boot.to_dict()}
        atomic_write_text(Path(out_dir) / "compare.json", json.dumps(out, indent=2) + "\n")
    if results_md is not None:
        append_results_row(results_md, tag or Path(out_dir).name, result.summary_row())
    return result


# ---------------------------------------------------------------------------------------------------
# comparing two systems on the same test set
# ---------------------------------------------------------------------------------------------------
@dataclass
class WerBootstrap:
    """The utterance-level bootstrap of two systems' error rates (Bisani & Ney, ICASSP 2004), in percent."""

    wer_a: float
    wer_b: float
    observed: float  # WER(A) - WER(B): negative when A makes fewer errors
    ci95: tuple[float, float]  # 2.5 and 97.5 percentiles of the resampled differences
    ci95_a: tuple[float, float]  # of WER(A) alone
    ci95_b: tuple[float, float]
    p_a_not_better: float  # share of resamples where A is not better (WER(A) - WER(B) >= 0)
    n_boot: int
    n_utts: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _paired_counts(a: WerResult, b: WerResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Errors of A, errors of B and reference lengths per utterance, in A's order; both of one reference."""
    ref_a = {u.utt: u for u in a.utts}
    ref_b = {u.utt: u for u in b.utts}
    if set(ref_a) != set(ref_b):
        raise ValueError(f"the two systems were scored on different utterances ({len(ref_a)} and {len(ref_b)})")
    for utt, u in ref_a.items():
        if u.ref != ref_b[utt].ref:
            raise ValueError(f"utterance {utt}: the two systems were scored against different references")
    order = [u.utt for u in a.utts]
    err_a = np.array([ref_a[k].errors for k in order], dtype=np.float64)
    err_b = np.array([ref_b[k].errors for k in order], dtype=np.float64)
    words = np.array([len(ref_a[k].ref) for k in order], dtype=np.float64)
    return err_a, err_b, words


def wer_bootstrap(a: WerResult, b: WerResult, n_boot: int = 10000, seed: int = 0) -> WerBootstrap:
    """Resample the utterances with replacement (the same draw for both systems) and recompute each WER as
    errors over reference words of the resample: the WER of a set is a ratio, so utterances are the unit
    drawn and long ones weigh more, as in the corpus figure."""
    err_a, err_b, words = _paired_counts(a, b)
    if len(words) == 0 or words.sum() == 0:
        raise ValueError("the bootstrap needs reference words")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(words), size=(n_boot, len(words)))
    w = np.maximum(words[idx].sum(axis=1), 1.0)
    wa = 100.0 * err_a[idx].sum(axis=1) / w
    wb = 100.0 * err_b[idx].sum(axis=1) / w
    d = wa - wb
    pct = lambda x: (float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5)))  # noqa: E731
    return WerBootstrap(wer_a=a.wer, wer_b=b.wer, observed=a.wer - b.wer, ci95=pct(d),
                        ci95_a=pct(wa), ci95_b=pct(wb), p_a_not_better=float((d >= 0).mean()), n_boot=n_boot,
                        n_utts=len(words))


def format_bootstrap(r: WerBootstrap, what: str = "WER") -> str:
    return (f"{what} A {r.wer_a:.2f}% [{r.ci95_a[0]:.2f}, {r.ci95_a[1]:.2f}], B {r.wer_b:.2f}% "
            f"[{r.ci95_b[0]:.2f}, {r.ci95_b[1]:.2f}]; A - B {r.observed:+.2f} [{r.ci95[0]:+.2f}, {r.ci95[1]:+.2f}] "
            f"(95% CI, paired bootstrap over {r.n_utts} utterances, {r.n_boot} resamples); "
            f"P(A not better) = {r.p_a_not_better:.4f}")
