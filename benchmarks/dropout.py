"""Dropout on the CPU: ``nn.Dropout`` against :class:`audiofront.models.dropout.FastDropout`.

Two measurements, each the best of ``--repeats`` after ``--warmup``, ``torch.set_num_threads(--threads)``:

* op: forward + backward of dropout (p = 0.1) alone on the tensors the tiny Conformer of
  ``recipes/librispeech_fbank_tiny.yaml`` drops out for a batch of 2 utterances of 15 s (380 frames of
  40 ms): the feed-forward's hidden [2, 380, 576], a block's output [2, 380, 144], the attention weights
  [2, 4, 380, 380];
* step: one optimiser step of that recipe's model (fbank -> tiny Conformer, intermediate CTC, Adam) on
  2 x 15 s of noise, with every dropout of the encoder a ``FastDropout`` (as built) or swapped for
  ``nn.Dropout`` of the same ``p``, and with no dropout at all (p = 0: the floor).

Usage::

    python benchmarks/dropout.py --threads 2 --out benchmarks/results/dropout_cpu.md

Not part of the test suite.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _bench import best_step_seconds, cpu_name, report  # benchmarks/ is on sys.path

SHAPES = {"feed-forward hidden": (2, 380, 576), "block output": (2, 380, 144), "attention weights": (2, 4, 380, 380)}


def op_times(threads: int, warmup: int, repeats: int) -> list[tuple[str, tuple, float, float]]:
    import torch
    import torch.nn.functional as F

    from audiofront.models.dropout import fast_dropout

    torch.set_num_threads(threads)
    rows = []
    for name, shape in SHAPES.items():
        x = torch.randn(*shape, requires_grad=True)
        g = torch.randn(*shape)
        t = {}
        for impl, fn in (("torch", lambda: F.dropout(x, 0.1, True)), ("fast", lambda: fast_dropout(x, 0.1))):
            t[impl] = best_step_seconds(lambda: fn().backward(g), warmup, repeats, "cpu")
        rows.append((name, shape, t["torch"], t["fast"]))
    return rows


def step_times(threads: int, warmup: int, repeats: int) -> dict[str, float]:
    import torch
    from torch import nn

    from audiofront.models.dropout import FastDropout
    from audiofront.tasks import build_task

    torch.set_num_threads(threads)
    # the recipe's model: fbank, tiny Conformer, intermediate CTC on block 2, SpecAugment on (as after step 2000)
    task = build_task("asr", {"frontend": "fbank", "encoder": "tiny", "specaug": "auto", "specaug_after_steps": 0,
                              "inter_ctc_layers": [2], "inter_ctc_weight": 0.3, "vocab_size": 80, "train_cuts": "unused"})
    n = 15 * 16000
    gen = torch.Generator().manual_seed(0)
    batch = {"audio": 0.1 * torch.randn(2, n, generator=gen), "audio_lens": torch.tensor([n, n]),
             "tokens": [torch.randint(1, 80, (150,), generator=gen).tolist() for _ in range(2)]}
    out = {}
    for impl in ("fast", "torch", "none"):
        torch.manual_seed(0)
        model = task.build_model().train()
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, FastDropout) and impl != "fast":
                    setattr(parent, name, nn.Dropout(child.p if impl == "torch" else 0.0))
        opt = torch.optim.Adam(model.parameters(), 1e-3)

        def step():
            loss, _ = task.loss(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        out[impl] = best_step_seconds(step, warmup, repeats, "cpu")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    lines = [f"Dropout p = 0.1 on the CPU, {args.threads} thread(s), {cpu_name()}; best of {args.repeats}", "",
             "| tensor | shape | nn.Dropout fwd+bwd (ms) | FastDropout fwd+bwd (ms) | speed-up |", "|---|---|---|---|---|"]
    for name, shape, t_torch, t_fast in op_times(args.threads, args.warmup, args.repeats):
        lines.append(f"| {name} | {list(shape)} | {1e3 * t_torch:.2f} | {1e3 * t_fast:.2f} | {t_torch / t_fast:.1f}x |")
    steps = step_times(args.threads, args.warmup, args.repeats)
    lines += ["", "Training step of the tiny Conformer-CTC recipe, 2 x 15 s (fbank, intermediate CTC, SpecAugment, Adam):", "",
              "| dropout | step (s) | relative to nn.Dropout |", "|---|---|---|"]
    for impl, label in (("torch", "nn.Dropout (torch)"), ("fast", "FastDropout (default)"), ("none", "none (p = 0)")):
        lines.append(f"| {label} | {steps[impl]:.3f} | {steps['torch'] / steps[impl]:.2f}x |")
    text = "\n".join(lines) + "\n"
    report(text, args.out)


if __name__ == "__main__":
    main()
