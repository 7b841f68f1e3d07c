"""``audiofront export``: a trained model (``--checkpoint``) or a frontend alone (``--frontend``) as an ONNX or
TorchScript file with dynamic batch and length axes, and a JSON beside it that describes its inputs and outputs
(thin layer over :mod:`audiofront.export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import UserError

MIN_OPSET = 18  # the oldest opset torch's ONNX exporter writes


def main(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="a training checkpoint (avg.pt, last.pt) to export: frontend + encoder + heads"),
    frontend: Optional[str] = typer.Option(None, "--frontend", help="export this registered frontend alone (untrained)"),
    frontend_conf: Optional[List[str]] = typer.Option(None, "--frontend-conf", help="key=value options of --frontend (repeatable), JSON or a .yaml file"),
    frontend_only: bool = typer.Option(False, "--frontend-only", help="with --checkpoint: export only the trained frontend"),
    fmt: str = typer.Option("onnx", "--format", help="onnx | torchscript"),
    out: Path = typer.Option(..., "--out", help="the file to write (its description goes to OUT.json)"),
    opset: Optional[int] = typer.Option(None, "--opset", help=f"ONNX opset (>= {MIN_OPSET}; default: torch's)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT (and OUT.json) if they exist"),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="run the exported file against PyTorch at three shapes"),
) -> None:
    from ..export import FORMATS, export_frontend, export_model, sidecar_path
    from ..export.verify import reference_fn, verify_export
    from ..utils.conf import parse_conf

    if (checkpoint is None) == (frontend is None):
        raise UserError("export: give exactly one of --checkpoint (a trained model) and --frontend (a frontend alone)")
    if frontend_conf and frontend is None:
        raise UserError("export: --frontend-conf goes with --frontend (a checkpoint holds its frontend's config)")
    if frontend_only and checkpoint is None:
        raise UserError("export: --frontend-only goes with --checkpoint")
    if fmt not in FORMATS:
        raise UserError(f"export: --format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if opset is not None and (fmt != "onnx" or opset < MIN_OPSET):
        raise UserError(f"export: --opset applies to --format onnx and must be >= {MIN_OPSET}, got {opset}")
    for path in (out, sidecar_path(out)):
        if path.exists() and not overwrite:
            raise UserError(f"export: {path} already exists; pass --overwrite to replace it")
        if path.is_dir():
            raise UserError(f"export: {path} is a directory; --out must name a file")

    heads = None
    try:
        if checkpoint is not None:
            from ..tasks import load_model

            task, model = load_model(checkpoint)
            if frontend_only:
                module = model.frontend.eval()
                meta = export_frontend(module, fmt, out, opset)
            else:
                module = model
                heads = [h["name"] for h in task.heads] if task.name == "classify" else None
                meta = export_model(task, model, fmt, out, opset)
        else:
            from ..frontends import build_frontend

            module = build_frontend(frontend, **parse_conf(frontend_conf)).eval()
            meta = export_frontend(module, fmt, out, opset)
    except ValueError as e:  # UserError, unknown frontends, bad options, unreadable checkpoints: one line
        raise UserError(f"export: {e}") from None

    opset_text = f", opset {meta['opset']}" if meta["opset"] is not None else ""
    typer.echo(f"export: {meta['kind']} -> {out} ({fmt}{opset_text}); description in {sidecar_path(out)}")
    typer.echo(f"  sample rate {meta['sample_rate']} Hz, frame shift {meta['frame_shift']} samples "
                  f"({meta['frame_shift_ms']:g} ms), output dim {meta['output_dim']}, shortest input {meta['min_samples']} samples")
    for role in ("inputs", "outputs"):
        for item in meta[role]:
            typer.echo(f"  {role[:-1]:6} {item['name']:14} {item['dtype']:8} {json.dumps(item['shape'])}")
    if not verify:
        return
    try:
        report = verify_export(out, fmt, reference_fn(module, heads), meta["min_samples"], meta["sample_rate"])
    except UserError as e:  # no onnxruntime: the file is written, only the check is skipped
        typer.echo(f"  not verified: {e}")
        return
    worst = max(r["rel_error"] for r in report)
    same = all(r["lengths_equal"] for r in report)
    shapes = ", ".join(f"{r['batch']}x{r['samples']}" for r in report)
    typer.echo(f"  verified against PyTorch at {shapes}: max relative error {worst:.1e}, lengths "
                  + ("equal" if same else "DIFFER"))
    if worst > 1e-4 or not same:
        raise UserError(f"export: {out} does not reproduce the PyTorch model (relative error {worst:.1e}); "
                        "please report this as a bug, with the command")
