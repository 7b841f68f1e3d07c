"""``audiofront``: the command-line interface, a thin layer over the library.

Each subcommand lives in its own module of this package and is registered below. Every command is
wrapped by :func:`_report_user_errors`: a :class:`audiofront.errors.UserError` (bad input) prints one
line and exits 2, an operating-system error (missing file, permission, full disk) one line and exits 1;
anything else is a bug and keeps its traceback. ``audiofront --debug CMD`` (or ``AUDIOFRONT_DEBUG=1``)
shows the traceback of every error.
"""

from __future__ import annotations

import functools
import os
import sys

import typer

from ..errors import UserError, describe_os_error

EXIT_USER_ERROR = 2  # bad input: the exit code of a usage error
EXIT_OS_ERROR = 1

app = typer.Typer(
    name="audiofront",
    help="Learnable audio frontends: prepare data, train, decode, score and inspect learned filters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show the full traceback of every error (also AUDIOFRONT_DEBUG=1)"),
) -> None:
    """Learnable audio frontends: prepare data, train, decode, score and inspect learned filters."""
    if debug:
        os.environ["AUDIOFRONT_DEBUG"] = "1"


def _debug() -> bool:
    return os.environ.get("AUDIOFRONT_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _user_message(e: UserError) -> str:
    """The message of a UserError; one raised in a DataLoader worker comes back wrapped in the worker's
    traceback (``Caught UserError in DataLoader worker ... Original Traceback ...``): its last line is the message."""
    text = str(e)
    if "Original Traceback" not in text:
        return text
    last = text.rstrip().splitlines()[-1]
    return last.split(": ", 1)[1] if ": " in last else last


def _report_user_errors(fn):
    """Run a command; bad input and OS errors end in one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            if _debug():
                raise
            typer.echo(f"error: {_user_message(e)}", err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except OSError as e:
            if _debug():
                raise
            typer.echo(f"error: {describe_os_error(e)}", err=True)
            raise typer.Exit(EXIT_OS_ERROR) from None

    return wrapped


def _wrap_commands(t: typer.Typer) -> None:
    for info in t.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_audiofront_wrapped", False):
            info.callback = _report_user_errors(info.callback)
            info.callback._audiofront_wrapped = True  # type: ignore[attr-defined]
    for group in t.registered_groups:
        if group.typer_instance is not None:
            _wrap_commands(group.typer_instance)


def _register() -> None:
    from . import frontends_cmd

    app.command("frontends", help="List the registered frontends with their output dim, frame shift and parameters.")(
        frontends_cmd.main
    )
    from . import extract, prepare; app.add_typer(prepare.app, name="prepare"); app.command("extract", help="Fixed features of a frontend for a cut set, stored with lhotse (lilcom).")(extract.main)  # ASR-DATA

    from . import inspect_filters

    app.command(
        "inspect-filters",
        help="Plot a frontend's or checkpoint's filters (centres vs mel, bandwidths, responses, LEAF pooling/PCEN); --png, --json.",
    )(inspect_filters.main)

    from . import train as train_cmd

    app.command("train", help="Train a model (--task asr|classify) from a recipe YAML; --resume, DDP via torchrun.")(train_cmd.main)

    from . import decode, prepare_lang, score  # ASR-DECODE
    prepare.app.command("lang", help="Tokenizer + lexicon + n-gram LM (modified Kneser-Ney, or --download-lm) from training cuts.")(prepare_lang.main)
    app.command("decode", help="CTC greedy or lexicon + n-gram LM beam search over a cut set; writes Kaldi text.")(decode.main)
    from . import tune_lm; app.command("tune-lm", help="LM weight x word score grid of the beam search on a dev cut set; the best to tune.json.")(tune_lm.main)
    app.command("score", help="WER (sclite-style table, alignments, RESULTS.md row) or --task classify scores.")(score.main)
    app.command("score-table", help="Error rates of several `score` folders as one table: a row per tag, a column per set.")(score.table)
    from . import prepare_classify; prepare_classify.register(prepare.app)  # CLASSIFY: fsdd, speechcommands, ...
    from . import evaluate; app.command("evaluate", help="Clip-level predictions of a classifier checkpoint, optionally in Gaussian noise (--snr sweep).")(evaluate.main)  # CLASSIFY
    from . import transcribe; app.command("transcribe", help="Words of your own audio files (any rate, any channels) from an asr checkpoint; greedy or --lm.")(transcribe.main)  # PHONES
    from . import classify as classify_cmd; app.command("classify", help="Top-k labels with probabilities of your own audio files, for every head of a classifier checkpoint.")(classify_cmd.main)  # PHONES
    from . import export; app.command("export", help="A trained model (--checkpoint) or a frontend (--frontend) as ONNX or TorchScript, with a JSON description.")(export.main)  # EXPORT
    from . import plot; app.add_typer(plot.app, name="plot")  # STUDY: plot curves | snr | bars | study
    from . import extract as extract_cmd; app.command("storage-report", help="Bytes per second of audio (and MB) that extracted features take on disk, from their files.")(extract_cmd.report_main)  # VAE
    from . import inspect_vae; app.command("inspect-vae", help="A VAE checkpoint on an audio file: original vs reconstructed spectrogram, log-spectral distance (dB); terminal or --png.")(inspect_vae.main)  # VAE


_register()
_wrap_commands(app)

if __name__ == "__main__":
    app()
