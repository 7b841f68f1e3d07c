"""COLA training throughput (issue 11): audio seconds per second of one optimiser step, per frontend, same encoder.

A COLA step runs the frontend twice per clip (anchor and positive crops of 0.96 s) and one backward through
both; the figure is the audio the model reads (2 x batch x 0.96 s) over the wall time of the whole step
(crops, noise, both forwards, the similarity, the loss, backward, AdamW), the way the trainer's
``audio-s/s`` counts it (:meth:`audiofront.tasks.cola.ColaTask.batch_seconds`). No data loading: the clips are
random noise already in memory, so the number is the model's cost, not the disk's.

Times are the best of ``--repeats`` steps after ``--warmup`` steps; each frontend runs in its own subprocess
with ``torch.set_num_threads(--threads)``.

Usage::

    python benchmarks/cola.py --threads 2 --out benchmarks/results/cola_cpu.md
    python benchmarks/cola.py --device cuda --encoder efficientnet-b0 --batch 256 --out benchmarks/results/cola_gpu.md
    python benchmarks/cola.py --frontends mel,leaf --batch 8 --repeats 2      # a quick look

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _bench import best_step_seconds, cpu_name, report  # benchmarks/ is on sys.path

DEFAULT_FRONTENDS = ("mel", "leaf", "sincnet")


def one_case(frontend: str, encoder: str, batch: int, device: str, threads: int, warmup: int, repeats: int) -> dict:
    import torch

    from audiofront.tasks import build_task
    from audiofront.training.optim import build_optimizer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    task = build_task("cola", {"frontend": frontend, "encoder": encoder, "train_cuts": "unused", "batch_size": batch})
    model = task.build_model().to(device).train()
    opt = build_optimizer(model, 1e-3)
    clip = int(2.5 * task.sample_rate)
    batch_data = {"audio": 0.1 * torch.randn(batch, clip), "audio_lens": torch.full((batch,), clip)}
    batch_data = task.to_device(batch_data, torch.device(device))
    def step():
        loss, _ = task.loss(model, batch_data)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    best = best_step_seconds(step, warmup, repeats, device)
    return {"frontend": frontend, "step_s": best, "audio_s_per_s": task.batch_seconds(batch_data) / best}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frontends", default=",".join(DEFAULT_FRONTENDS))
    ap.add_argument("--encoder", default="small-cnn")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)  # internal: run one frontend, print JSON
    args = ap.parse_args()
    if args.case:
        print(json.dumps(one_case(args.case, args.encoder, args.batch, args.device, args.threads, args.warmup, args.repeats)))
        return
    rows = []
    for fe in [f.strip() for f in args.frontends.split(",") if f.strip()]:
        cmd = [sys.executable, __file__, "--case", fe, "--encoder", args.encoder, "--batch", str(args.batch),
               "--device", args.device, "--threads", str(args.threads), "--warmup", str(args.warmup),
               "--repeats", str(args.repeats)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{fe}: the benchmark failed:\n{done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    mel = next((r for r in rows if r["frontend"] == "mel"), None)
    lines = [
        f"COLA training step, encoder {args.encoder}, batch {args.batch} x 2 crops of 0.96 s, device {args.device}, "
        f"{args.threads} thread(s), {cpu_name()}; best of {args.repeats}",
        "",
        "| frontend | step (s) | audio-s/s | relative to mel |",
        "|---|---|---|---|",
    ]
    for r in rows:
        rel = f"{r['audio_s_per_s'] / mel['audio_s_per_s']:.2f}" if mel else "-"
        lines.append(f"| {r['frontend']} | {r['step_s']:.3f} | {r['audio_s_per_s']:.1f} | {rel} |")
    text = "\n".join(lines) + "\n"
    report(text, args.out)


if __name__ == "__main__":
    main()
