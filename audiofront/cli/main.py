"""``audiofront``: the command-line interface, a thin layer over the library.

Each subcommand lives in its own module of this package and is registered below.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="audiofront",
    help="Learnable audio frontends: prepare data, train, decode, score and inspect learned filters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Learnable audio frontends: prepare data, train, decode, score and inspect learned filters."""


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
    app.command("score", help="WER (sclite-style table, alignments, RESULTS.md row) or --task classify scores.")(score.main)
    from . import prepare_classify; prepare_classify.register(prepare.app)  # CLASSIFY: fsdd, speechcommands, ...
    from . import evaluate; app.command("evaluate", help="Clip-level predictions of a classifier checkpoint, optionally in Gaussian noise (--snr sweep).")(evaluate.main)  # CLASSIFY


_register()

if __name__ == "__main__":
    app()
