"""Speed of the streaming frontends against the offline ones, not part of the tests.

    python benchmarks/streaming.py --seconds 10 --chunk-ms 10 100
    python benchmarks/streaming.py --table        # only the latency table (what the README shows)

For every registry frontend (those whose defaults cannot stream: their streamable variant), pushes
``--seconds`` of noise in chunks of ``--chunk-ms`` and reports how many times faster than real time the stream
runs, next to one offline pass over the whole signal, and the largest difference between the two outputs
relative to the output's scale.
"""

from __future__ import annotations

import argparse
import time

import torch

from audiofront.frontends import build_frontend, list_frontends
from audiofront.streaming import latency_table, stream

STREAMABLE = {"2dconv": {"normalize": False}, "wav2vec": {"norm": "layer"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--chunk-ms", type=float, nargs="+", default=[10.0, 100.0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (small pushes: 1 is fastest)")
    ap.add_argument("--table", action="store_true", help="print the latency table only")
    args = ap.parse_args()
    if args.table:
        print(latency_table())
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    chunks = " | ".join(f"stream {c:g} ms (x real time)" for c in args.chunk_ms)
    print(f"| frontend | offline (x real time) | {chunks} | max error / scale |")
    print("| --- | ---: |" + " ---: |" * len(args.chunk_ms) + " ---: |")
    for name in list_frontends(buildable_by_default=True):
        options = STREAMABLE.get(name, {})
        fe = build_frontend(name, **options).eval()
        x = 0.1 * torch.randn(1, int(args.seconds * fe.sample_rate))
        with torch.no_grad():
            fe(x)  # warm-up
            t0 = time.perf_counter()
            ref = fe(x)[0][0]
            offline = args.seconds / (time.perf_counter() - t0)
        speeds, err = [], 0.0
        for chunk_ms in args.chunk_ms:
            n = max(1, round(chunk_ms / 1000 * fe.sample_rate))
            s = stream(fe)
            t0 = time.perf_counter()
            out = torch.cat([s.push(x[0, i : i + n]) for i in range(0, x.shape[1], n)] + [s.flush()])
            speeds.append(args.seconds / (time.perf_counter() - t0))
            err = max(err, float((out - ref).abs().max()) / float(ref.abs().max()))
        label = name + "".join(f" ({k}={v})" for k, v in options.items())
        print(f"| {label} | {offline:.0f} | " + " | ".join(f"{v:.0f}" for v in speeds) + f" | {err:.1e} |")


if __name__ == "__main__":
    main()
