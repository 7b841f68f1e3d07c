"""ASR training step speed: the LibriSpeech recipe's model (fbank, tiny Conformer, CTC with intermediate CTC).

One optimiser step as `audiofront train` takes it with `recipes/librispeech_fbank_tiny.yaml`: forward of
:class:`audiofront.models.ctc.CtcModel` (log-mel frontend, SpecAugment, 4 x 144 Conformer at 40 ms, inter CTC
on block 2), the two CTC losses, backward, gradient clipping and the optimiser of
:func:`audiofront.training.optim.build_optimizer`. The batch is what the recipe's 30 s buckets hold: ``--batch``
utterances of ``--seconds`` of noise with random phone targets (about 12 phones a second), already in memory,
so the figure is the model's cost, not data loading. On a 2-core CPU the recipe's time budget (58 minutes)
holds as many epochs as this step time allows (egs/librispeech/RESULTS.md).

Times are the best of ``--repeats`` steps after ``--warmup`` steps, with ``torch.set_num_threads(--threads)``.
To compare two versions of the package, run this file with ``PYTHONPATH`` pointing at each checkout.

Usage::

    python benchmarks/asr_step.py --threads 2 --out benchmarks/results/asr_step_cpu.md
    python benchmarks/asr_step.py --dropout 0 --batch 3 --seconds 10

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _bench import best_step_seconds, cpu_name, report  # benchmarks/ is on sys.path


def measure(batch: int, seconds: float, dropout: float, threads: int, warmup: int, repeats: int) -> dict:
    import torch

    import audiofront
    from audiofront.frontends import build_frontend
    from audiofront.models.conformer import conformer_config
    from audiofront.models.ctc import CtcModel, ctc_loss
    from audiofront.training.optim import build_optimizer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    encoder = conformer_config("tiny", dropout=dropout, attn_dropout=dropout)
    model = CtcModel(build_frontend("fbank"), 80, encoder, specaug="auto", specaug_after_steps=0,
                     inter_ctc_layers=[2]).train()
    opt = build_optimizer(model, 1e-3)
    samples = int(seconds * 16000)
    audio = 0.1 * torch.randn(batch, samples)
    lens = torch.full((batch,), samples)
    targets = [torch.randint(1, 80, (int(12 * seconds),)).tolist() for _ in range(batch)]

    def step():
        log_probs, out_lens, inter = model(audio, lens, return_inter=True)
        total, n = ctc_loss(log_probs, out_lens, targets)
        loss = 0.7 * total / n + 0.3 * sum(ctc_loss(lp, out_lens, targets)[0] for lp in inter) / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    best = best_step_seconds(step, warmup, repeats, "cpu")
    fused = bool(opt.defaults.get("fused"))
    return {"step_s": best, "audio_s_per_s": batch * seconds / best, "fused": fused,
            "package": str(Path(audiofront.__file__).resolve().parent.parent)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=14.0, help="length of each utterance")
    parser.add_argument("--dropout", type=float, default=0.1, help="the encoder's dropout and attention dropout")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    r = measure(args.batch, args.seconds, args.dropout, args.threads, args.warmup, args.repeats)
    import torch

    text = (
        f"ASR training step (fbank, tiny Conformer, CTC + inter CTC), batch {args.batch} x {args.seconds:g} s, "
        f"dropout {args.dropout:g}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu_name()}, "
        f"{os.cpu_count()} cores; torch {torch.__version__}, {args.threads} threads; best of {args.repeats} steps "
        f"after {args.warmup}; package {r['package']}\n\n"
        "| step (s) | audio-s/s | fused AdamW |\n| ---: | ---: | --- |\n"
        f"| {r['step_s']:.4f} | {r['audio_s_per_s']:.1f} | {'yes' if r['fused'] else 'no'} |\n"
    )
    report(text, Path(args.out) if args.out else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
