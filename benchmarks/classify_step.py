"""Classifier training step speed per frontend (issue 15): LEAF's EfficientNet-B0 classifier, CPU or GPU.

One optimiser step of :class:`audiofront.models.classifier.AudioClassifier` (frontend, batch feature
normalisation, EfficientNet-B0 encoder, one linear head of 35 classes): forward on a batch of windows,
cross-entropy, backward, AdamW. The waveform does not require grad (as in training). No data loading: the
windows are noise already in memory, so the figure is the model's cost. ``relative to mel`` is the step speed
(steps per second) over that of the ``mel`` model measured in the same run: the issue's target is >= 0.8 for a
LEAF model at 16 x 1 s windows on CPU.

Times are the best of ``--repeats`` steps after ``--warmup`` steps; each frontend runs in its own subprocess
with ``torch.set_num_threads(--threads)``. Frontends are registry names, optionally with options in brackets:
``leaf[impl=decimated]``, ``leaf[impl=direct]``.

Usage::

    python benchmarks/classify_step.py --threads 2 --batch 16 --seconds 1
    python benchmarks/classify_step.py --frontends mel,leaf,leaf[impl=decimated],sincnet+,mel-pcen --threads 1

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _bench import best_step_seconds, cpu_name  # benchmarks/ is on sys.path

DEFAULT_FRONTENDS = ("mel", "leaf", "leaf[impl=decimated]", "sincnet+", "mel-pcen")


def parse_frontend(spec: str) -> tuple[str, dict]:
    """``name[key=value,...]`` -> (name, options); values are parsed as int, float or kept as text."""
    if "[" not in spec:
        return spec, {}
    name, rest = spec.split("[", 1)
    conf = {}
    for item in rest.rstrip("]").split(","):
        key, value = item.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        conf[key] = value
    return name, conf


def one_case(spec: str, encoder: str, batch: int, seconds: float, device: str, threads: int, warmup: int,
             repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    from audiofront.models.classifier import AudioClassifier

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    name, conf = parse_frontend(spec)
    model = AudioClassifier(frontend=name, frontend_conf=conf, heads={"label": 35}, encoder=encoder).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    samples = int(seconds * 16000)
    audio = 0.1 * torch.randn(batch, samples, device=device)
    lens = torch.full((batch,), samples, device=device)
    labels = torch.randint(0, 35, (batch,), device=device)
    def step():
        loss = F.cross_entropy(model(audio, lens)["label"], labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    best = best_step_seconds(step, warmup, repeats, device)
    return {"frontend": spec, "step_s": best, "audio_s_per_s": batch * seconds / best}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frontends", default=",".join(DEFAULT_FRONTENDS))
    parser.add_argument("--encoder", default="efficientnet-b0")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_case(args.child, args.encoder, args.batch, args.seconds, args.device, args.threads,
                                  args.warmup, args.repeats)))
        return 0
    # split on commas outside brackets
    specs, depth, cur = [], 0, ""
    for ch in args.frontends:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            specs.append(cur)
            cur = ""
        else:
            cur += ch
    specs += [cur] if cur else []
    if "mel" not in specs:
        specs = ["mel"] + specs
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    results = []
    for spec in specs:
        cmd = [sys.executable, __file__, "--child", spec, "--encoder", args.encoder, "--batch", str(args.batch),
               "--seconds", str(args.seconds), "--device", args.device, "--threads", str(args.threads),
               "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            results.append({"frontend": spec, "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"[{spec}] " + (r.get("error") or f"step {r['step_s']:.3f} s"), file=sys.stderr, flush=True)
    import torch

    cpu = cpu_name()
    mel = next((r for r in results if r["frontend"] == "mel" and "step_s" in r), None)
    lines = [
        f"Classifier training step, encoder {args.encoder}, batch {args.batch} x {args.seconds:g} s, device "
        f"{args.device}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; "
        f"torch {torch.__version__}, {args.threads} threads; best of {args.repeats} steps after {args.warmup}",
        "",
        "| frontend | step (s) | audio-s/s | step speed relative to mel |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| `{r['frontend']}` | error: {r['error']} | | |")
            continue
        rel = f"{mel['step_s'] / r['step_s']:.2f}" if mel else "n/a"
        lines.append(f"| `{r['frontend']}` | {r['step_s']:.3f} | {r['audio_s_per_s']:.1f} | {rel} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
