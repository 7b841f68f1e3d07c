"""Inference throughput of the exported frontends and of a demo ASR model: onnxruntime (CPU) and TorchScript
next to PyTorch, in seconds of audio per second of wall time (issue 14).

For each frontend of the registry (default config) and for the demo model (``recipes/demo_2dconv_tiny.yaml``:
2dconv C=8 + tiny Conformer-CTC; the weights of ``--checkpoint`` when given, else random ones, which cost the
same), at each shape (``8x4s`` by default):

* ``pytorch``: the model's own forward under ``torch.inference_mode()`` (the fast paths: FFT blocks and C kernels);
* ``torchscript``: the file ``audiofront export --format torchscript`` writes, through ``torch.jit.load``;
* ``onnxruntime``: the file ``audiofront export --format onnx`` writes, in an onnxruntime CPU session;

all with ``--threads`` threads (torch's intra-op threads; onnxruntime's intra-op threads, one inter-op). The
exported graphs compute the frontends' reference paths (see audiofront/export/traceable.py), so a frontend
whose PyTorch forward has a fast path can be slower exported. Times are the best of up to ``--max-reps``
repetitions after a warm-up call.

Usage::

    python benchmarks/export.py --threads 2 --out benchmarks/results/export_cpu.md
    python benchmarks/export.py --frontends mel,leaf --shapes 1x4s --min-time 0.5   # a quick subset
    python benchmarks/export.py --checkpoint exp/demo/avg.pt --frontends none       # the trained demo model only

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE_RATE = 16000
DEMO_RECIPE = REPO / "recipes" / "demo_2dconv_tiny.yaml"


def parse_shape(shape: str) -> tuple[int, int]:
    batch, seconds = shape.split("x")
    return int(batch), int(float(seconds.rstrip("s")) * SAMPLE_RATE)


def best_time(fn, min_time: float, max_reps: int) -> float:
    fn()  # warm-up (first-call allocations, onnxruntime's lazy initialisation)
    best, spent, reps = float("inf"), 0.0, 0
    while reps < max_reps and (spent < min_time or reps < 2):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, spent, reps = min(best, elapsed), spent + elapsed, reps + 1
    return best


def demo_model(checkpoint: str | None, vocab_size: int):
    """(task, model) of the demo recipe: from ``checkpoint``, or built with random weights."""
    import yaml

    from audiofront.tasks import build_task, load_model

    if checkpoint:
        return load_model(checkpoint)
    recipe = yaml.safe_load(DEMO_RECIPE.read_text())
    keys = ("frontend", "frontend_conf", "encoder", "encoder_conf", "specaug")
    task = build_task("asr", {**{k: recipe[k] for k in keys if k in recipe}, "vocab_size": vocab_size})
    torch.manual_seed(0)
    return task, task.build_model().eval()


def measure(name: str, params: int, module, spec_fn, shapes, args, workdir: Path) -> list[dict]:
    from audiofront.export import export_graph
    from audiofront.export.runtime import load_runner

    files = {}
    for fmt in ("torchscript", "onnx"):
        path = workdir / f"{name.replace('+', 'plus')}.{'pt' if fmt == 'torchscript' else 'onnx'}"
        export_graph(spec_fn(), fmt, path)
        files[fmt] = load_runner(path, fmt, threads=args.threads)
    rows = []
    for shape in shapes:
        batch, samples = parse_shape(shape)
        gen = torch.Generator().manual_seed(0)
        x = 0.1 * torch.randn(batch, samples, generator=gen)
        lengths = torch.full((batch,), samples, dtype=torch.int64)
        xn, ln = x.numpy(), lengths.numpy()

        def pytorch():
            with torch.inference_mode():
                module(x, lengths)

        audio = batch * samples / SAMPLE_RATE
        row = {"name": name, "params": params, "shape": shape}
        row["pytorch"] = audio / best_time(pytorch, args.min_time, args.max_reps)
        for fmt, run in files.items():
            row[fmt] = audio / best_time(lambda: run(xn, ln), args.min_time, args.max_reps)
        print(f"{name:10} {shape:6} pytorch {row['pytorch']:9.1f}  torchscript {row['torchscript']:9.1f}  "
              f"onnxruntime {row['onnx']:9.1f} s/s", flush=True)
        rows.append(row)
    return rows


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def markdown(rows: list[dict], header: str) -> str:
    lines = [header, "", "| model | params | shape | PyTorch s/s | TorchScript s/s | onnxruntime s/s | onnxruntime / PyTorch |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| `{r['name']}` | {r['params']:,} | {r['shape']} | {_fmt(r['pytorch'])} | {_fmt(r['torchscript'])} | "
                     f"{_fmt(r['onnx'])} | {r['onnx'] / r['pytorch']:.2g} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of torch and onnxruntime (default 2)")
    parser.add_argument("--frontends", default="", help="comma-separated subset; 'none' for the demo model only")
    parser.add_argument("--shapes", default="8x4s", help="comma-separated BxSECONDSs shapes (default 8x4s)")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo ASR model")
    parser.add_argument("--checkpoint", default="", help="the trained demo model (egs/demo's avg.pt); default random weights")
    parser.add_argument("--vocab-size", type=int, default=32, help="output tokens of the untrained demo model")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of repetitions per measurement")
    parser.add_argument("--max-reps", type=int, default=10)
    parser.add_argument("--out", default="", help="also write the Markdown table here (atomic write)")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    from audiofront.export import frontend_spec, model_spec
    from audiofront.frontends import build_frontend, count_parameters, list_frontends

    names = list_frontends(buildable_by_default=True) if not args.frontends else [n for n in args.frontends.split(",") if n and n != "none"]
    shapes = [s for s in args.shapes.split(",") if s]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            fe = build_frontend(name).eval()
            rows += measure(name, count_parameters(fe), fe, lambda fe=fe: frontend_spec(fe), shapes, args, Path(tmp))
        if not args.no_demo:
            task, model = demo_model(args.checkpoint or None, args.vocab_size)
            label = "demo ASR" + ("" if args.checkpoint else " (random weights)")
            rows += measure(label, count_parameters(model), model, lambda: model_spec(task, model), shapes, args, Path(tmp))
    import onnxruntime

    header = (f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
              f"onnxruntime {onnxruntime.__version__}, {args.threads} threads, best of up to {args.max_reps}; "
              f"`python benchmarks/export.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    table = markdown(rows, header)
    print(table)
    if args.out:
        from audiofront.utils.io import atomic_write_text

        atomic_write_text(args.out, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
