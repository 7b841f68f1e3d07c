"""``audiofront transcribe``: the words of your own audio files, from a CTC checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..decoding import DECODE_BEAM_SIZE
from ..errors import UserError

FORMATS = ("kaldi", "jsonl")


def tuned_pair(checkpoint: Path) -> tuple[Optional[float], Optional[float]]:
    """The LM weight and word score ``audiofront tune-lm`` chose together on a dev set for this model, with its lang
    dir and LM (``tune_lm/tune.json`` in the checkpoint's folder; said once on stderr), else ``(None, None)``."""
    tune = checkpoint.parent / "tune_lm" / "tune.json"
    if not tune.is_file():
        return None, None
    try:
        best = json.loads(tune.read_text(encoding="utf-8"))["best"]
        weight, score = float(best["lm_weight"]), float(best["word_score"])
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{tune} is not a tune.json of `audiofront tune-lm` ({e}); give --lm-weight and --word-score") from None
    typer.echo(f"note: LM weight {weight:g}, word score {score:g}, tune-lm's choice for this model ({tune})", err=True)
    return weight, score


def main(
    inputs: List[Path] = typer.Argument(..., help="audio files, or directories searched for them"),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="an asr checkpoint (avg.pt, last.pt, ...)"),
    method: str = typer.Option("greedy", "--method", help="greedy | lm (lexicon + n-gram LM) | lexicon (no LM)"),
    lm: bool = typer.Option(False, "--lm", help="the same as --method lm"),
    lang_dir: Optional[Path] = typer.Option(None, "--lang-dir", help="tokenizer/lexicon/LM (default: the one the checkpoint records)"),
    lm_path: Optional[Path] = typer.Option(None, "--lm-path", help="ARPA LM (default: the one in the lang dir)"),
    beam_size: int = typer.Option(DECODE_BEAM_SIZE, "--beam-size", help="hypotheses kept per frame (egs/librispeech's decoding beam)"),
    lm_weight: Optional[float] = typer.Option(None, "--lm-weight", help="default: with neither this nor --word-score, "
                                              "--lang-dir or --lm-path given, tune-lm's pair for this experiment (tune_lm/tune.json "
                                              "beside the checkpoint, as egs/librispeech leaves it); else 1"),
    word_score: Optional[float] = typer.Option(None, "--word-score", help="default: as --lm-weight; else 0"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write here instead of stdout"),
    fmt: Optional[str] = typer.Option(None, "--format", help="kaldi (`id WORDS`) | jsonl (default: by --output's extension)"),
    chunk_seconds: float = typer.Option(30.0, "--chunk-seconds", help="longer files are decoded in pieces of at most this"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="a progress bar on stderr for many files"),
) -> None:
    """Transcribe audio files of any sample rate and channel count (resampled and mixed down to mono)."""
    from ..decoding.beam import BeamSearchOptions
    from ..inference.asr import Transcriber
    from ..inference.audio import list_audio_files, unique_ids
    from ..inference.files import for_each_file
    from ..utils.io import atomic_write_text

    if lm:
        method = "lm"
    if fmt is None:
        fmt = "jsonl" if output is not None and output.suffix in (".jsonl", ".json") else "kaldi"
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    files = list_audio_files(inputs)
    if method == "lm" and lm_weight is None and word_score is None and lang_dir is None and lm_path is None:
        lm_weight, word_score = tuned_pair(checkpoint)
    opts = BeamSearchOptions(beam_size=beam_size, lm_weight=1.0 if lm_weight is None else lm_weight,
                             word_score=0.0 if word_score is None else word_score)
    try:
        tr = Transcriber(checkpoint, method=method, lang_dir=lang_dir, lm_path=lm_path, options=opts, device=device,
                         chunk_seconds=chunk_seconds)
    except UserError:
        raise
    except ValueError as e:  # the tokenizer and lexicon readers report bad files as ValueError
        raise UserError(str(e)) from None

    def say(_path: Path, msg: str) -> None:
        typer.echo(f"error: {msg}", err=True)

    def run(audio):
        return {"text": tr.transcribe(audio), "seconds": round(audio.seconds, 3)}

    results, failures, notes = for_each_file(files, tr.sample_rate, run, say, progress=progress)
    for line in notes.summary(tr.sample_rate):
        typer.echo(f"note: {line}", err=True)

    ids = dict(zip(files, unique_ids(files)))
    done = [p for p in files if p in results]
    if fmt == "kaldi":
        lines = [f"{ids[p]} {results[p]['text']}".rstrip() for p in done]
    else:
        lines = [json.dumps({"id": ids[p], "path": str(p), "text": results[p]["text"], "seconds": results[p]["seconds"]})
                 for p in done]
    if output is not None:
        if done:
            atomic_write_text(output, "".join(line + "\n" for line in lines))
            typer.echo(f"{len(done)} file(s) transcribed -> {output}", err=True)
    elif fmt == "kaldi" and len(files) == 1:
        for p in done:  # one file: just its words
            typer.echo(results[p]["text"])
    else:
        for line in lines:
            typer.echo(line)
    if failures:
        raise UserError(f"{len(failures)} of {len(files)} file(s) could not be transcribed (listed above)")
