"""``audiofront inspect-filters SPEC``: a frontend's filters in the terminal, as a PNG or as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..utils.conf import parse_conf

# bad input (unknown spec, frontend without filters, bad option): the exit code of a usage error
EXIT_BAD_INPUT = 2


def main(
    spec: str = typer.Argument(..., help="A frontend name (built untrained) or a checkpoint path."),
    conf: Optional[List[str]] = typer.Option(
        None, "--conf", help="key=value options for SPEC (repeatable; a JSON object or a .yaml file also works)."
    ),
    compare: Optional[str] = typer.Option(
        None, "--compare", help="A second frontend name or checkpoint, overlaid on every panel."
    ),
    compare_conf: Optional[List[str]] = typer.Option(
        None, "--compare-conf", help="key=value options for the --compare frontend (repeatable)."
    ),
    filters: Optional[str] = typer.Option(
        None, "--filters", help="Filter indices whose frequency responses to draw, e.g. 0,10,20 (default: 5 spread out)."
    ),
    png: Optional[Path] = typer.Option(None, "--png", help="Write the figure to this PNG file (matplotlib)."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON instead of drawing."),
    width: Optional[int] = typer.Option(None, "--width", help="Terminal plot width in columns (default: the terminal's)."),
    height: Optional[int] = typer.Option(None, "--height", help="Terminal plot height in lines (default: 20 per row of panels)."),
) -> None:
    """Centre frequencies against the mel scale, bandwidths, chosen frequency responses and, for LEAF,
    pooling widths and PCEN parameters. With --png or --json the terminal plot is not drawn."""
    from ..inspect.filters import InspectError, inspect_specs, parse_filter_indices
    from ..inspect.plots import build_panels, figure_title, render_terminal, terminal_size, write_png

    try:
        options = _parse_conf("--conf", conf)
        other_options = _parse_conf("--compare-conf", compare_conf)
        if compare_conf and compare is None:
            raise InspectError("--compare-conf needs --compare")
        indices = parse_filter_indices(filters)
        reports = inspect_specs(spec, options, compare=compare, compare_conf=other_options, filters=indices)
        panels = build_panels(reports)
        if png is None and not as_json:
            try:
                terminal_size(len(panels), width, height)
            except ValueError as e:
                raise InspectError(str(e)) from None
    except InspectError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)

    if png is not None:
        try:
            write_png(panels, png, title=figure_title(reports))
        except OSError as e:
            # the reason only: the message of the failed call names the temporary file, not the user's
            typer.echo(f"error: could not write {png}: {e.strerror or e}", err=True)
            raise typer.Exit(1)
        typer.echo(f"wrote {png}", err=True)
    if as_json:
        typer.echo(json.dumps({"frontends": [r.to_dict() for r in reports]}))
    elif png is None:
        typer.echo(render_terminal(panels, width, height, color=sys.stdout.isatty()))


def _parse_conf(option: str, items: Optional[List[str]]) -> dict:
    from ..inspect.filters import InspectError

    try:
        return parse_conf(items)
    except ValueError as e:
        raise InspectError(f"{option}: {e}") from None
