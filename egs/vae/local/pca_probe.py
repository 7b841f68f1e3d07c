"""Is it the VAE or its input? 13 principal components of the VAE's input fragments, classified like the VAE's
latents (the MLP replica of local/mlp_replica.py, one training speaker held out as dev; the test speaker unused).

For each analysis (``linear:128``: the paper's 128 FFT bins; ``mel:N``: N mel bands, ``frequency_scale: mel``),
fragments of 8 sub-frames every 10 ms (audiofront.models.vae.FragmentAnalysis, per-bin normalisation measured
on the LibriSpeech cuts), PCA fitted on the fragments of ``--pca-cuts`` LibriSpeech training cuts (what a VAE
learns from), the 13 leading components of every FSDD frame as its feature.

    cd egs/vae && python local/pca_probe.py --scales "linear:128 mel:32 mel:40"

Not a toolkit command: a diagnostic of this recipe (egs/vae/RESULTS.md, "The VAE's input").
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch
from lhotse import load_manifest

from audiofront.models.vae import FragmentAnalysis, VaeConfig
from mlp_replica import run


def fragments(analysis: FragmentAnalysis, cut) -> torch.Tensor:
    audio = torch.from_numpy(np.ascontiguousarray(cut.load_audio()[:1], dtype=np.float32))
    with torch.no_grad():
        return analysis.frames(audio, 160)[0]  # [F, bins, 8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="linear:128 mel:32 mel:40")
    parser.add_argument("--components", type=int, default=13)
    parser.add_argument("--pca-cuts", type=int, default=40)
    parser.add_argument("--librispeech", default="data/librispeech/librispeech_cuts_train.jsonl.gz")
    parser.add_argument("--fsdd", default="data/fsdd/fsdd_cuts_train.jsonl.gz")
    parser.add_argument("--dev-speaker", default="yweweler")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ls = load_manifest(args.librispeech).shuffle(rng=random.Random(0)).subset(first=args.pca_cuts)
    fsdd = load_manifest(args.fsdd)
    print(f"| {args.components} principal components of | variance kept | dev accuracy on {args.dev_speaker}, "
          "summary standardised | the recipe as it was |")
    print("|---|---:|---:|---:|")
    for item in args.scales.split():
        scale, bins = item.split(":")
        raw = FragmentAnalysis(VaeConfig(frequency_scale=scale, n_bins=int(bins)).check())
        logp = torch.cat([fragments(raw, c) for c in ls])  # un-normalised ln power, [N, bins, 8]
        mean, std = logp.mean(dim=(0, 2)), logp.std(dim=(0, 2)).clamp(min=1e-4)
        analysis = FragmentAnalysis(VaeConfig(frequency_scale=scale, n_bins=int(bins), norm_mean=mean.tolist(),
                                              norm_std=std.tolist()).check())
        x = analysis.normalise(logp).flatten(1)
        centre = x.mean(0)
        torch.manual_seed(0)  # pca_lowrank sketches with random vectors: the same basis on every run
        _, s, v = torch.pca_lowrank(x - centre, q=args.components + 10, center=False)
        kept = float(s[: args.components].square().sum() / (x - centre).square().sum())
        basis = v[:, : args.components]
        clips = [((fragments(analysis, c).flatten(1) - centre) @ basis, str(c.supervisions[0].custom["digit"]),
                  c.supervisions[0].speaker) for c in fsdd]
        train = [c for c in clips if c[2] != args.dev_speaker]
        dev = [c for c in clips if c[2] == args.dev_speaker]
        classes = sorted({y for _, y, _ in train})
        acc = run(train, dev, classes, input_norm=True)
        acc_plain = run(train, dev, classes)
        print(f"| {item} fragments | {100 * kept:.1f}% | {acc:.1f} | {acc_plain:.1f} |")


if __name__ == "__main__":
    main()
