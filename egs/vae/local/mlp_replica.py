"""The MLP recipe of stages 5-7 replayed on the stored features (exp/features/FEATURE/float32), to choose its
settings cheaply and without the test speaker: one training speaker is held out as dev, the others are trained
on. Frames of a random window (``--window`` frames; a shorter clip whole, its padding masked) -> the recipe's
frame-level feature norm -> the MLP on the [mean, std] summary; Adam with one-cycle as the trainer's recipe. Each
variant is one seed of a few seconds, against the recipe's minutes (its frontend runs on every window);
``--seeds N`` runs each cell N times (mean ± std).

    cd egs/vae && python local/mlp_replica.py --features "mfcc vae13 vae40" --dev-speaker yweweler

Not a toolkit command: a diagnostic of this recipe (egs/vae/RESULTS.md, "What changed since the first run").
"""

from __future__ import annotations

import argparse
import glob

import torch
from lhotse import load_manifest

from audiofront.models.classifier import FeatureNorm
from audiofront.models.mlp import MLP

VARIANTS = {
    "the recipe as it was (20 epochs)": {},
    "whole clips instead of 0.5 s windows": {"window": 0},
    "no frame-level feature norm": {"norm": "none"},
    "summary standardised": {"input_norm": True},
    "60 epochs": {"epochs": 60},
    # the MLP's summary=segments (audiofront/models/mlp.py), with the summary standardised as the recipe does
    **{f"{n} segments (standardised)": {"input_norm": True, "summary": "segments", "segments": n} for n in (3, 4, 6, 8, 10)},
}


def load(feat: str, exp: str, label: str):
    paths = glob.glob(f"{exp}/{feat}/float32/*_cuts_train_*.jsonl.gz")
    if len(paths) != 1:
        raise SystemExit(f"{exp}/{feat}/float32: expected one train manifest, found {len(paths)}")
    out = []
    for cut in load_manifest(paths[0]):
        sup = cut.supervisions[0]
        out.append((torch.tensor(cut.load_features()), str((sup.custom or {}).get(label, sup.text)), sup.speaker))
    return out


def batch(xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    out = torch.zeros(len(xs), max(x.shape[0] for x in xs), xs[0].shape[1])
    for i, x in enumerate(xs):
        out[i, : x.shape[0]] = x
    return out, torch.tensor([x.shape[0] for x in xs])


def run(train, dev, classes, norm="batch", input_norm=False, lr=3e-3, epochs=20, window=50, seed=0,
        summary="mean_std", segments=4) -> float:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    dim = train[0][0].shape[1]
    fnorm = FeatureNorm(norm, dim)
    mlp = MLP(input_dim=dim, hidden=100, layers=2, dropout=0.2, input_norm=input_norm, summary=summary,
              segments=segments)
    head = torch.nn.Linear(100, len(classes))
    opt = torch.optim.AdamW(list(mlp.parameters()) + list(head.parameters()), lr=lr, weight_decay=1e-2)
    per_epoch = len(train) // 32
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * per_epoch)
    y_train = torch.tensor([classes.index(y) for _, y, _ in train])

    def logits(xs):
        feats, lens = batch(xs)
        return head(mlp(fnorm(feats, lens), lens))

    for _ in range(epochs):
        fnorm.train(), mlp.train()
        order = torch.randperm(len(train), generator=gen)
        for i in range(per_epoch):
            idx = order[i * 32 : (i + 1) * 32]
            xs = []
            for j in idx.tolist():
                x = train[j][0]
                if window and x.shape[0] > window:
                    start = int(torch.randint(0, x.shape[0] - window + 1, (1,), generator=gen))
                    x = x[start : start + window]
                xs.append(x)
            loss = torch.nn.functional.cross_entropy(logits(xs), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    fnorm.eval(), mlp.eval()
    with torch.no_grad():
        pred = logits([x for x, _, _ in dev]).argmax(1)
    return 100.0 * float(sum(classes[int(p)] == y for p, (_, y, _) in zip(pred, dev))) / len(dev)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", default="mfcc vae13 vae40")
    parser.add_argument("--dev-speaker", default="yweweler", help="a training speaker, held out as dev")
    parser.add_argument("--exp", default="exp/features")
    parser.add_argument("--label", default="digit")
    parser.add_argument("--seeds", type=int, default=1, help="runs per cell (seeds 0..N-1): their mean ± std")
    parser.add_argument("--variants", default="", help="only these rows (comma-separated names); default all")
    args = parser.parse_args()
    torch.set_num_threads(1)
    feats = args.features.split()
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; known: {list(VARIANTS)}")
    table = {name: [] for name in (wanted or VARIANTS)}
    for feat in feats:
        clips = load(feat, args.exp, args.label)
        train = [c for c in clips if c[2] != args.dev_speaker]
        dev = [c for c in clips if c[2] == args.dev_speaker]
        if not dev:
            raise SystemExit(f"no training clip of speaker {args.dev_speaker!r}")
        classes = sorted({y for _, y, _ in train})
        for name in table:
            accs = torch.tensor([run(train, dev, classes, seed=seed, **VARIANTS[name]) for seed in range(args.seeds)])
            table[name].append((float(accs.mean()), float(accs.std()) if args.seeds > 1 else 0.0))
    print(f"| dev accuracy on {args.dev_speaker} | " + " | ".join(feats) + " |")
    print("|---|" + "---:|" * len(feats))
    for name, accs in table.items():
        print(f"| {name} | " + " | ".join(f"{m:.1f} ± {sd:.1f}" if args.seeds > 1 else f"{m:.1f}" for m, sd in accs) + " |")


if __name__ == "__main__":
    main()
