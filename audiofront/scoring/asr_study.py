"""A comparison of ASR runs on one test set: what each run is, what it cost, and its error rates with 95%
intervals and the paired bootstrap against a baseline run (the frontend x tokenizer table of egs/librispeech).

Layout read, per run (written by ``egs/librispeech/run.sh``)::

    EXP/config.yaml              frontend, encoder, lang_dir (its lang.json names the tokenizer)
    EXP/last.pt                  epochs, steps and seconds of training (read with weights_only)
    EXP/tune_lm/tune.json        the LM weight and word score chosen on dev, and the dev WER (optional)
    EXP/decode_lm/{ref,hyp}      lexicon + LM decoding of the test set (decode_SET_lm with several test sets)
    EXP/decode_greedy/{ref,hyp}  greedy decoding (optional)

Statistics: each run's WER and CER (characters of the LM output, ``|`` between words, as ``score --unit
char``) with the 95% percentile interval of an utterance bootstrap; each run against the baseline with the
paired bootstrap of :func:`audiofront.scoring.asr.wer_bootstrap` (the same resampled utterances for both).
The runs must have decoded the same references, or the comparison is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from ..errors import UserError
from ..utils.io import atomic_write_text
from .asr import WerBootstrap, WerResult, chars_of, read_kaldi_text, score_texts, wer_bootstrap


@dataclass
class AsrRun:
    name: str
    exp_dir: Path
    frontend: str
    encoder: str
    tokenizer: str
    epochs: Optional[int]
    steps: Optional[int]
    train_minutes: Optional[float]
    dev_wer: Optional[float]
    lm_weight: Optional[float]
    word_score: Optional[float]
    wer: WerResult  # lexicon + LM, words
    cer: WerResult  # lexicon + LM, characters
    greedy: Optional[WerResult]


def _decode_dir(exp: Path, method: str, test_set: Optional[str]) -> Path:
    return exp / (f"decode_{test_set}_{method}" if test_set else f"decode_{method}")


def _read_lang_tokenizer(cfg: dict[str, Any], exp: Path) -> str:
    """The tokenizer named by the lang dir the run recorded (relative to here, or to the run), else ``?``."""
    lang = cfg.get("lang_dir")
    for p in ([Path(str(lang), "lang.json"), exp / str(lang) / "lang.json"] if lang else []):
        if p.is_file():
            return str(json.loads(p.read_text()).get("tokenizer", "?"))
    return "?"


def read_asr_run(exp_dir: str | Path, name: Optional[str] = None, test_set: Optional[str] = None) -> AsrRun:
    """One run's facts and scores (see the module docstring for the files read)."""
    from ..training.checkpoint import read_checkpoint

    exp = Path(exp_dir)
    if not exp.is_dir():
        raise UserError(f"{exp}: not an experiment folder")
    cfg_path = exp / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else {}
    cfg = cfg if isinstance(cfg, dict) else {}
    epochs = steps = None
    minutes = None
    last = exp / "last.pt"
    if last.is_file():
        ckpt = read_checkpoint(last)  # weights_only: a bad file is one clear error, never unpickled
        epochs, steps = int(ckpt.get("epoch", 0)), int(ckpt.get("step", 0))
        minutes = float(ckpt.get("train_seconds", 0.0)) / 60.0
    dev_wer = lm_weight = word_score = None
    tune = exp / "tune_lm" / "tune.json"
    if tune.is_file():
        best = json.loads(tune.read_text()).get("best", {})
        dev_wer, lm_weight, word_score = best.get("wer"), best.get("lm_weight"), best.get("word_score")

    def scored(method: str, required: bool) -> Optional[tuple[dict[str, str], dict[str, str]]]:
        d = _decode_dir(exp, method, test_set)
        if not (d / "ref").is_file() or not (d / "hyp").is_file():
            if required:
                raise UserError(f"{d}: no ref and hyp (decode the run first; --test-set names one of several)")
            return None
        return read_kaldi_text(d / "ref", "ref"), read_kaldi_text(d / "hyp", "hyp")

    refs, hyps = scored("lm", required=True)
    greedy = scored("greedy", required=False)
    return AsrRun(
        name=name or exp.name, exp_dir=exp, frontend=str(cfg.get("frontend", "?")), encoder=str(cfg.get("encoder", "?")),
        tokenizer=_read_lang_tokenizer(cfg, exp), epochs=epochs, steps=steps, train_minutes=minutes, dev_wer=dev_wer,
        lm_weight=lm_weight, word_score=word_score, wer=score_texts(refs, hyps), cer=score_texts(chars_of(refs), chars_of(hyps)),
        greedy=score_texts(*greedy) if greedy is not None else None,
    )


@dataclass
class AsrStudyRow:
    run: AsrRun
    wer_ci: tuple[float, float]
    cer_ci: tuple[float, float]
    vs_wer: Optional[WerBootstrap]  # this run - the baseline; None for the baseline itself
    vs_cer: Optional[WerBootstrap]


def compare_asr_runs(runs: Sequence[AsrRun], baseline: Optional[str] = None, n_boot: int = 10000,
                     seed: int = 0) -> list[AsrStudyRow]:
    """Every run with its intervals and, except the baseline (default: the first run), its paired bootstrap
    against the baseline."""
    if not runs:
        raise UserError("no runs to compare")
    names = [r.name for r in runs]
    base_name = baseline if baseline is not None else names[0]
    if base_name not in names:
        raise UserError(f"--baseline {base_name!r} is not one of the runs ({', '.join(names)})")
    base = runs[names.index(base_name)]
    rows = []
    for r in runs:
        try:
            w = wer_bootstrap(r.wer, base.wer, n_boot=n_boot, seed=seed)
            c = wer_bootstrap(r.cer, base.cer, n_boot=n_boot, seed=seed)
        except ValueError as e:
            raise UserError(f"{r.exp_dir} against {base.exp_dir}: {e}") from None
        is_base = r is base
        rows.append(AsrStudyRow(r, w.ci95_a, c.ci95_a, None if is_base else w, None if is_base else c))
    return rows


def _num(x: Optional[float], fmt: str = "{:.1f}") -> str:
    return "" if x is None else fmt.format(x)


def format_asr_study(rows: Sequence[AsrStudyRow]) -> str:
    base = next(r.run.name for r in rows if r.vs_wer is None)
    lines = [
        f"Test WER and CER of the lexicon + LM output (%), 95% utterance-bootstrap intervals; the last columns are each "
        f"run minus `{base}` (paired bootstrap, 95% interval). {rows[0].run.wer.n_sent} utterances, "
        f"{rows[0].run.wer.n_words} words.",
        "",
        "| run | frontend | encoder | tokens | epochs | training (min) | dev WER | test WER [95% CI] | test CER [95% CI] "
        "| greedy WER | WER - base | CER - base |",
        "|---|---|---|---|---:|---:|---:|---|---|---:|---|---|",
    ]
    for row in rows:
        r = row.run
        vs = lambda b: "" if b is None else f"{b.observed:+.2f} [{b.ci95[0]:+.2f}, {b.ci95[1]:+.2f}]"  # noqa: E731
        lines.append(
            f"| {r.name} | {r.frontend} | {r.encoder} | {r.tokenizer} | {_num(r.epochs, '{}')} | {_num(r.train_minutes)} "
            f"| {_num(r.dev_wer, '{:.2f}')} | {r.wer.wer:.2f} [{row.wer_ci[0]:.2f}, {row.wer_ci[1]:.2f}] "
            f"| {r.cer.wer:.2f} [{row.cer_ci[0]:.2f}, {row.cer_ci[1]:.2f}] "
            f"| {_num(r.greedy.wer if r.greedy else None, '{:.2f}')} | {vs(row.vs_wer)} | {vs(row.vs_cer)} |"
        )
    return "\n".join(lines) + "\n"


def asr_study_json(rows: Sequence[AsrStudyRow]) -> dict[str, Any]:
    out = []
    for row in rows:
        r = row.run
        out.append({
            "name": r.name, "exp_dir": str(r.exp_dir), "frontend": r.frontend, "encoder": r.encoder,
            "tokenizer": r.tokenizer, "epochs": r.epochs, "steps": r.steps, "train_minutes": r.train_minutes,
            "dev_wer": r.dev_wer, "lm_weight": r.lm_weight, "word_score": r.word_score,
            "wer": r.wer.wer, "wer_ci95": list(row.wer_ci), "cer": r.cer.wer, "cer_ci95": list(row.cer_ci),
            "greedy_wer": r.greedy.wer if r.greedy else None,
            "vs_baseline_wer": row.vs_wer.to_dict() if row.vs_wer else None,
            "vs_baseline_cer": row.vs_cer.to_dict() if row.vs_cer else None,
        })
    return {"runs": out}


def write_asr_study(rows: Sequence[AsrStudyRow], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "asr_study.md", out / "asr_study.json"
    atomic_write_text(md, format_asr_study(rows))
    atomic_write_text(js, json.dumps(asr_study_json(rows), indent=2) + "\n")
    return [md, js]
