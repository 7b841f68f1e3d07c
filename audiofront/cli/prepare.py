"""``audiofront prepare demo | librispeech | yesno | folder``: lhotse manifests of a corpus (a thin layer over
:mod:`audiofront.data`). Other modules add commands to :data:`app` (``prepare lang``, classification
corpora)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ..errors import UserError

app = typer.Typer(
    name="prepare",
    help="Make lhotse manifests (recordings, supervisions, cuts) of a corpus; bad data is reported, not dropped silently.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_ON_WRONG_RATE = typer.Option(
    "resample", "--on-wrong-rate", help="a file at another sample rate: 'resample' (in the cuts) or 'refuse' (left out, reported)"
)


def _fail(corpus: str, e: Exception) -> None:
    """Bad input of a preparer: one line ``error: prepare CORPUS: ...`` and exit 2 (cli/main.py)."""
    raise UserError(f"prepare {corpus}: {e}") from None


def _workers(num_workers: int) -> Optional[int]:
    """``--num-workers``: 0 means every core this process may use."""
    if num_workers < 0:
        raise UserError(f"--num-workers must be >= 0 (0: every core), got {num_workers}")
    return num_workers or None


def _split_list(values: Optional[List[str]]) -> list[str]:
    """``--parts a,b --parts c`` -> ``[a, b, c]``."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command("demo", help="Synthesise the built-in demo corpus (eSpeak NG voices; test voices unseen in training).")
def demo(
    out_dir: Path = typer.Option(Path("data/manifests"), "--out-dir", help="where the manifests go"),
    audio_dir: Optional[Path] = typer.Option(None, "--audio-dir", help="where the FLAC files go (default: OUT_DIR/demo_audio)"),
    n_train: int = typer.Option(2000, "--n-train", help="training utterances"),
    n_dev: int = typer.Option(100, "--n-dev", help="dev utterances (voices in neither train nor test)"),
    n_test: int = typer.Option(200, "--n-test", help="test utterances (voices never in train)"),
    seed: int = typer.Option(0, "--seed", help="the corpus is a function of the seed and the sizes"),
    num_jobs: int = typer.Option(2, "--num-jobs", "-j", help="synthesis processes"),
) -> None:
    from ..data.demo import DemoConfig, prepare_demo

    try:
        stats = prepare_demo(out_dir, audio_dir, DemoConfig(n_train=n_train, n_dev=n_dev, n_test=n_test, seed=seed), num_jobs=num_jobs)
    except (ValueError, RuntimeError) as e:
        _fail("demo", e)
    Console().print(stats.to_text())


@app.command("librispeech", help="LibriSpeech / Mini LibriSpeech from a local folder, or downloaded with --download.")
def librispeech(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="the LibriSpeech folder (or its parent); the download target with --download"),
    out_dir: Path = typer.Option(Path("data/manifests"), "--out-dir", help="where the manifests go"),
    parts: Optional[List[str]] = typer.Option(None, "--parts", help="parts, comma-separated (default: all found; with --download: Mini LibriSpeech)"),
    test_speakers: Optional[str] = typer.Option(None, "--test-speakers", help="e.g. 1970,2136: train/test splits by speaker instead of one split per part"),
    dev_speakers: Optional[str] = typer.Option(None, "--dev-speakers", help="with --test-speakers: training speakers held out as a 'dev' split, e.g. 5789,8629"),
    dev_per_speaker: int = typer.Option(0, "--dev-per-speaker", help="with --test-speakers: N utterances of every (other) training speaker go to the 'dev' split"),
    download: bool = typer.Option(False, "--download", help="download the parts from OpenSLR (through lhotse) first"),
    sample_rate: int = typer.Option(16000, "--sample-rate", help="the rate of the cuts"),
    on_wrong_rate: str = _ON_WRONG_RATE,
    num_workers: int = typer.Option(0, "--num-workers", help="threads decoding the audio to check it (0: every core)"),
) -> None:
    from ..data.librispeech import prepare_librispeech

    try:
        counts = prepare_librispeech(
            corpus_dir, out_dir, parts=_split_list(parts) or None, test_speakers=_split_list([test_speakers] if test_speakers else None),
            download_first=download, sample_rate=sample_rate, on_wrong_rate=on_wrong_rate, num_workers=_workers(num_workers),
            dev_speakers=_split_list([dev_speakers] if dev_speakers else None), dev_per_speaker=dev_per_speaker,
        )
    except ValueError as e:
        _fail("librispeech", e)
    Console().print("librispeech: " + ", ".join(f"{k}: {v} cuts" for k, v in counts.items()))


@app.command("yesno", help="The yes/no corpus (8 kHz; cuts resampled to --sample-rate, 0 keeps 8 kHz).")
def yesno(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="the waves_yesno folder (or its parent)"),
    out_dir: Path = typer.Option(Path("data/manifests"), "--out-dir", help="where the manifests go"),
    sample_rate: int = typer.Option(16000, "--sample-rate", help="the rate of the cuts; 0 keeps the corpus' 8 kHz"),
    on_wrong_rate: str = _ON_WRONG_RATE,
) -> None:
    from ..data.yesno import prepare_yesno

    try:
        counts = prepare_yesno(corpus_dir, out_dir, sample_rate=sample_rate or None, on_wrong_rate=on_wrong_rate)
    except ValueError as e:
        _fail("yesno", e)
    Console().print("yesno: " + ", ".join(f"{k}: {v} cuts" for k, v in counts.items()))


@app.command("folder", help="Unlabelled audio: cuts from every audio file below a folder (any rate or channel count).")
def folder(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="the folder; every audio file below it (sub-folders too)"),
    out_dir: Path = typer.Option(Path("data/folder"), "--out-dir", help="where the manifests go"),
    sample_rate: int = typer.Option(16000, "--sample-rate", help="the rate of the cuts (other rates are resampled)"),
    name: str = typer.Option("folder", "--name", help="manifest prefix: NAME_cuts_all.jsonl.gz, NAME_report.txt"),
    num_workers: int = typer.Option(0, "--num-workers", help="threads decoding the audio to check it (0: every core)"),
) -> None:
    from ..data.folder import prepare_folder

    try:
        n, report = prepare_folder(corpus_dir, out_dir, sample_rate=sample_rate, name=name, num_workers=_workers(num_workers))
    except ValueError as e:
        _fail("folder", e)
    Console().print(f"{name}: {n} cuts in {out_dir}/{name}_cuts_all.jsonl.gz ({report.num_excluded} file(s) left out)")
