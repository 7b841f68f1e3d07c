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


_register()

if __name__ == "__main__":
    app()
