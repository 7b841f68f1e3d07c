"""A check of the stored features themselves: multinomial logistic regression on each clip's mean and standard
deviation over frames, read from what stage 3 wrote (exp/features/FEATURE/float32), the whole clip, no padding,
no windows. It separates what the features hold from what the MLP recipe (stages 5-7) makes of them.

    python local/linear_probe.py --features "mfcc vae13 vae40"     # from egs/vae, after stage 3

Standardised with the training clips' statistics; L-BFGS on cross-entropy + 1e-3 ||W||^2; accuracy on the test
speaker's clips with a 95% Wilson interval. Not a toolkit command: a diagnostic of this recipe.
"""

from __future__ import annotations

import argparse
import glob
import math

import numpy as np
import torch
from lhotse import load_manifest


def clip_stats(path: str, label: str) -> tuple[np.ndarray, list[str]]:
    x, y = [], []
    for cut in load_manifest(path):
        m = cut.load_features()
        x.append(np.concatenate([m.mean(0), m.std(0)]))
        sup = cut.supervisions[0]
        y.append(str((sup.custom or {}).get(label, sup.text)))
    return np.asarray(x, dtype=np.float32), y


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", default="mfcc vae13 vae40")
    parser.add_argument("--exp", default="exp/features")
    parser.add_argument("--label", default="digit")
    args = parser.parse_args()
    torch.manual_seed(0)
    print("| feature | inputs | train acc | test acc | 95% CI |\n|---|---:|---:|---:|---|")
    for feat in args.features.split():
        split = {}
        for name in ("train", "test"):
            paths = glob.glob(f"{args.exp}/{feat}/float32/*_cuts_{name}_*.jsonl.gz")
            if len(paths) != 1:
                raise SystemExit(f"{args.exp}/{feat}/float32: expected one {name} manifest, found {len(paths)}")
            split[name] = clip_stats(paths[0], args.label)
        (xtr, ytr), (xte, yte) = split["train"], split["test"]
        classes = sorted(set(ytr))
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
        xtr, xte = torch.tensor((xtr - mu) / sd), torch.tensor((xte - mu) / sd)
        ttr = torch.tensor([classes.index(v) for v in ytr])
        tte = torch.tensor([classes.index(v) if v in classes else -1 for v in yte])
        lin = torch.nn.Linear(xtr.shape[1], len(classes))
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=500)

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(lin(xtr), ttr) + 1e-3 * lin.weight.square().sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            train_acc = float((lin(xtr).argmax(1) == ttr).float().mean())
            k = int((lin(xte).argmax(1) == tte).sum())
        lo, hi = wilson(k, len(yte))
        print(f"| {feat} | {xtr.shape[1]} | {100 * train_acc:.1f} | {100 * k / len(yte):.1f} | {100 * lo:.1f}-{100 * hi:.1f} |")


if __name__ == "__main__":
    main()
