"""``audiofront prepare fsdd | speechcommands | cremad | nsynth | voxceleb1 | librispeech-speakers | demo-accents``:
classification corpora.

Registered onto the ``prepare`` sub-app (cli/prepare.py) by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console

from ..errors import UserError
from .prepare import _fail, _split_list, _workers


def _prepare(corpus: str, make: Callable[[], tuple], out_dir: Path) -> None:
    """Run a preparer; a missing folder or bad layout is one line ``error: prepare CORPUS: ...`` and exit 2
    (cli/main.py), not a traceback."""
    try:
        manifests, report = make()
    except ValueError as e:  # UserError and the ValueErrors of lhotse/our checks: bad input
        _fail(corpus, e)
    report.print()
    sizes = ", ".join(f"{split}: {len(sets[2])} clips" for split, sets in manifests.items())
    Console().print(f"{corpus}: {sizes} -> {out_dir}/{corpus}_{{recordings,supervisions,cuts}}_{{split}}.jsonl.gz")


def fsdd(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="FSDD folder (holding recordings/*.wav)"),
    out_dir: Path = typer.Option(Path("data/fsdd"), "--out-dir"),
    test_speakers: Optional[str] = typer.Option(None, "--test-speakers", help="comma-separated test speakers (split by speaker), e.g. theo"),
    split: Optional[str] = typer.Option(None, "--split", help="speaker | index (recordings 0-4 = test); default: speaker if --test-speakers else index"),
    sample_rate: int = typer.Option(16000, "--sample-rate", help="cuts are resampled to this rate (files are 8 kHz)"),
) -> None:
    """Free Spoken Digit Dataset: labels digit and speaker; 8 kHz files resampled to 16 kHz in the cuts."""
    from ..data.fsdd import prepare_fsdd

    speakers = [s.strip() for s in test_speakers.split(",") if s.strip()] if test_speakers else None
    mode = split or ("speaker" if speakers else "index")
    _prepare("fsdd", lambda: prepare_fsdd(corpus_dir, out_dir, split=mode, test_speakers=speakers, sample_rate=sample_rate), out_dir)


def speechcommands(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="unpacked speech_commands_v0.02 (or where --download puts it)"),
    out_dir: Path = typer.Option(Path("data/speechcommands"), "--out-dir"),
    download: bool = typer.Option(False, "--download", help="download through lhotse into --corpus-dir first"),
) -> None:
    """Speech Commands v2, 35 classes; test = testing_list.txt; background noise left out."""
    from ..data.speechcommands import prepare_speechcommands

    _prepare("speechcommands", lambda: prepare_speechcommands(corpus_dir, out_dir, download_corpus=download), out_dir)


def cremad(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="CREMA-D folder (holding AudioWAV/)"),
    out_dir: Path = typer.Option(Path("data/cremad"), "--out-dir"),
) -> None:
    """CREMA-D emotion (6 classes), split by actor."""
    from ..data.leaf_datasets import prepare_cremad

    _prepare("cremad", lambda: prepare_cremad(corpus_dir, out_dir), out_dir)


def nsynth(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="folder holding nsynth-{train,valid,test}/"),
    out_dir: Path = typer.Option(Path("data/nsynth"), "--out-dir"),
) -> None:
    """NSynth pitch and instrument family, the dataset's own splits."""
    from ..data.leaf_datasets import prepare_nsynth

    _prepare("nsynth", lambda: prepare_nsynth(corpus_dir, out_dir), out_dir)


def voxceleb1(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="VoxCeleb1 folder (wav/, vox1_meta.csv, iden_split.txt)"),
    out_dir: Path = typer.Option(Path("data/voxceleb1"), "--out-dir"),
    num_jobs: int = typer.Option(2, "--num-jobs"),
) -> None:
    """VoxCeleb1 speaker identification through lhotse, with the official identification split."""
    from ..data.leaf_datasets import prepare_voxceleb1_identification

    try:
        out = prepare_voxceleb1_identification(corpus_dir, out_dir, num_jobs=num_jobs)
    except ValueError as e:
        _fail("voxceleb1", e)
    Console().print("voxceleb1: " + ", ".join(f"{k}: {len(v)} clips" for k, v in out.items()))


def librispeech_speakers(
    corpus_dir: Path = typer.Option(..., "--corpus-dir", help="the LibriSpeech folder (or its parent), with SPEAKERS.TXT"),
    out_dir: Path = typer.Option(Path("data/librispeech_speakers"), "--out-dir"),
    parts: Optional[str] = typer.Option(None, "--parts", help="comma-separated parts (default: every part found)"),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="share of each speaker's utterances in the test split"),
    seed: int = typer.Option(0, "--seed", help="the per-speaker shuffle"),
    window_seconds: float = typer.Option(1.0, "--window-seconds", help="test utterances cut into windows this long (0: whole utterances)"),
    num_workers: int = typer.Option(0, "--num-workers", help="threads decoding the audio to check it (0: every core)"),
) -> None:
    """LibriSpeech speaker identity (label speaker) and speaker sex (label sex, from SPEAKERS.TXT)."""
    from ..data.librispeech_speakers import prepare_librispeech_speakers

    workers = _workers(num_workers)
    names = _split_list([parts] if parts else None) or None
    _prepare("librispeech_speakers", lambda: prepare_librispeech_speakers(
        corpus_dir, out_dir, parts=names, test_fraction=test_fraction, seed=seed,
        window_seconds=window_seconds or None, num_workers=workers), out_dir)


def demo_accents(
    manifest_dir: Path = typer.Option(..., "--manifest-dir", help="where `audiofront prepare demo` wrote demo_cuts_*.jsonl.gz"),
    out_dir: Path = typer.Option(Path("data/demo_accents"), "--out-dir"),
) -> None:
    """Accent identity on the demo corpus (label accent); checks that no test voice speaks in training."""
    from ..data.demo_accents import prepare_demo_accents

    _prepare("demo_accents", lambda: prepare_demo_accents(manifest_dir, out_dir), out_dir)


def dev_split(
    cuts: Path = typer.Option(..., "--cuts", help="the training cuts to split, e.g. data/fsdd/fsdd_cuts_train.jsonl.gz"),
    out_dir: Path = typer.Option(..., "--out-dir", help="where CORPUS_cuts_{train,dev}.jsonl.gz go"),
    by: str = typer.Option(..., "--by", help="speaker (whole voices to dev: for tests on unseen voices) | cut"),
    fraction: Optional[float] = typer.Option(None, "--fraction", help="dev share of the speakers (--by speaker) or cuts"),
    speakers: Optional[str] = typer.Option(None, "--speakers", help="comma-separated dev speakers (--by speaker), instead of --fraction"),
    stratify: Optional[str] = typer.Option(None, "--stratify", help="label (supervision custom key) drawn within, e.g. speaker"),
    seed: int = typer.Option(0, "--seed", help="the draw"),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="file prefix (default: the input's, CORPUS_cuts_...)"),
    window_seconds: float = typer.Option(0.0, "--window-seconds", help="dev cuts cut into consecutive windows this long, as test items that are windows (0: whole cuts)"),
) -> None:
    """A dev split out of training cuts (whole speakers or single cuts), for choosing budgets without the test set."""
    from ..data.cuts import read_cuts
    from ..data.dev_split import corpus_of, dev_split as split_cuts, write_dev_split
    from ..data.librispeech_speakers import window_cuts

    if not window_seconds >= 0:
        _fail("dev-split", UserError(f"--window-seconds must be >= 0 (0: whole cuts), got {window_seconds}"))

    names = _split_list([speakers] if speakers else None) or None
    try:
        source = read_cuts(cuts, "--cuts")
        name = corpus or corpus_of(cuts)
        train, dev = split_cuts(source, by, fraction=fraction, speakers=names, stratify=stratify, seed=seed)
        if window_seconds:
            # a dev of whole utterances is far easier than test items of 1 s windows (it saturates first)
            dev = window_cuts(dev, window_seconds)[0]
            if len(dev) == 0:
                raise UserError(f"no dev cut is {window_seconds} s long: lower --window-seconds")
        paths = write_dev_split(train, dev, out_dir, name, cuts)
    except ValueError as e:
        _fail("dev-split", e)
    Console().print(f"dev-split: train: {len(train)} cuts, dev: {len(dev)} cuts -> {paths[0]}, {paths[1]}")


def register(prepare_app: typer.Typer) -> None:
    """Add the classification corpora to the ``prepare`` sub-app."""
    prepare_app.command("fsdd", help="Free Spoken Digit Dataset (digit + speaker labels; 8 kHz -> 16 kHz).")(fsdd)
    prepare_app.command("speechcommands", help="Speech Commands v2, 35-class protocol (lhotse download with --download).")(speechcommands)
    prepare_app.command("cremad", help="CREMA-D emotion from a local folder.")(cremad)
    prepare_app.command("nsynth", help="NSynth pitch/instrument from a local folder.")(nsynth)
    prepare_app.command("voxceleb1", help="VoxCeleb1 speaker identification (through lhotse).")(voxceleb1)
    prepare_app.command("librispeech-speakers", help="LibriSpeech speaker identity + sex (utterances split per speaker; 1 s test windows).")(librispeech_speakers)
    prepare_app.command("demo-accents", help="Accent identity on the demo corpus (test voices never in training).")(demo_accents)
    prepare_app.command("dev-split", help="A dev split out of training cuts (whole speakers or single cuts), to tune without the test set.")(dev_split)
