"""``audiofront frontends``: the registry as a table."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..utils.conf import parse_conf


def main(
    conf: Optional[List[str]] = typer.Option(None, "--conf", help="key=value options applied to every frontend that has them"),
) -> None:
    from ..frontends import build_frontend, count_parameters, frontend_config_class, get_frontend_class, list_frontends

    import dataclasses

    try:
        options = parse_conf(conf)
    except ValueError as e:
        raise UserError(f"--conf: {e}") from None
    table = Table(title="audiofront frontends")
    for col in ("name", "sample rate", "frame shift (ms)", "output dim", "learnable params", "filters"):
        table.add_column(col, justify="right" if col != "name" else "left")
    for name in list_frontends():
        if get_frontend_class(name).needs_checkpoint and not options.get("checkpoint"):
            # a trained model's frontend (vae): its shape is the checkpoint's (--conf checkpoint=PATH shows it)
            table.add_row(name, "-", "checkpoint's", "checkpoint's", "-", "-")
            continue
        fields = {f.name for f in dataclasses.fields(frontend_config_class(name))}
        try:
            fe = build_frontend(name, **{k: v for k, v in options.items() if k in fields})
        except (ValueError, TypeError) as e:  # an option value this frontend cannot take
            raise UserError(f"--conf: {e}") from None
        table.add_row(
            name,
            str(fe.sample_rate),
            f"{fe.frame_shift / fe.sample_rate * 1000:g}",
            str(fe.output_dim),
            f"{count_parameters(fe):,}",
            "yes" if fe.filters() is not None else "-",
        )
    Console().print(table)
