"""How far is ``leaf`` with ``impl="decimated"`` from the exact LEAF? Relative errors of features and gradients.

For each case (initialisation ``mel`` or ``random``, parameters as initialised or perturbed as after training,
several seeds and input lengths), the decimated frontend and the direct reference (``impl="direct"``, the
definition of the function) run in float64 on the same uniform noise, with the same parameters, and the same
random cotangent of the features is pulled back to the waveform and to every parameter. Each figure is
``max |approx - exact| / max |exact|`` over the tensor (as tests/frontends/test_leaf_fast.py measures the exact
fast path), the worst over the seeds; ``energies`` are the pooled energies before flooring and compression.

Perturbed: centres times ``exp(0.3 z)``, Gabor sigmas and pooling widths times ``exp(0.5 z)`` (``z`` standard
normal per filter), then the frontend's own clamping: filters wider and narrower than at initialisation, moved
centres, pooling widths from about 0.15 to 0.5 (the clamp), as training moves them.

    python benchmarks/leaf_decimated_error.py --threads 1
    python benchmarks/leaf_decimated_error.py --checkpoint exp/leaf/avg.pt   # + the parameters of a trained model

``--checkpoint`` (repeatable) adds rows for the LEAF frontend of trained models (any task whose model has a
``frontend`` of type ``leaf``), read with ``weights_only=True``.

The stated bounds (audiofront/frontends/leaf_decimated.py) and the tests (tests/frontends/test_leaf_decimated.py)
come from this table. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import time

import torch

from audiofront.frontends import build_frontend

NAMES = ("energies", "features", "d/dx", "d/dmu", "d/dsigma", "d/dwidth", "d/dpcen")


def perturb(frontend, generator: torch.Generator) -> None:
    c = frontend.gabor.center.shape[0]
    with torch.no_grad():
        frontend.gabor.center.mul_(torch.exp(0.3 * torch.randn(c, generator=generator, dtype=torch.float64)))
        frontend.gabor.inv_bandwidth.mul_(torch.exp(0.5 * torch.randn(c, generator=generator, dtype=torch.float64)))
        frontend.pooling.width.mul_(torch.exp(0.5 * torch.randn(c, generator=generator, dtype=torch.float64)))


def outputs(frontend, impl: str, x: torch.Tensor, cotangent_seed: int) -> list[torch.Tensor]:
    frontend.config.impl = impl
    xg = x.clone().requires_grad_()
    energies = frontend.energies(xg.detach())
    feats, _ = frontend(xg)
    cot = torch.randn(feats.shape, generator=torch.Generator().manual_seed(cotangent_seed), dtype=feats.dtype)
    pcen = [p for n, p in frontend.compression.named_parameters()]
    wrt = [xg, frontend.gabor.center, frontend.gabor.inv_bandwidth, frontend.pooling.width] + pcen
    grads = torch.autograd.grad((feats * cot).sum(), wrt)
    return [energies.detach(), feats.detach(), *grads[:4], torch.cat([g.flatten() for g in grads[4:]])]


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def trained_frontend(path: str):
    """The LEAF frontend of a trained model's checkpoint, in float64."""
    from audiofront.tasks import load_model

    _, model = load_model(path)
    frontend = getattr(model, "frontend", None)
    if frontend is None or frontend.name != "leaf":
        raise SystemExit(f"{path}: its model has no leaf frontend")
    return frontend.double()


def measure(init: str, perturbed: bool, seconds: float, seeds: int, n_filters: int,
            checkpoint: str | None = None) -> dict[str, float]:
    worst = dict.fromkeys(NAMES, 0.0)
    for seed in range(seeds):
        torch.manual_seed(seed)
        if checkpoint:
            frontend = trained_frontend(checkpoint)
        else:
            frontend = build_frontend("leaf", n_filters=n_filters, init=init).double()
        if perturbed:
            perturb(frontend, torch.Generator().manual_seed(100 + seed))
        x = (torch.rand(2, int(seconds * 16000), dtype=torch.float64) * 2 - 1) * 0.5
        exact = outputs(frontend, "direct", x, seed)
        approx = outputs(frontend, "decimated", x, seed)
        for name, a, b in zip(NAMES, approx, exact):
            worst[name] = max(worst[name], relative(a, b))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seconds", default="1,4")
    parser.add_argument("--n-filters", type=int, default=40)
    parser.add_argument("--checkpoint", action="append", default=[], help="a trained model with a leaf frontend")
    parser.add_argument("--no-init", action="store_true", help="only the --checkpoint rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}; float64; "
          f"{args.n_filters} filters; 2 x T uniform noise; worst of {args.seeds} seeds\n")
    print("| init | parameters | T | " + " | ".join(NAMES) + " |")
    print("| --- | --- | --- | " + " | ".join("---:" for _ in NAMES) + " |")
    for path in args.checkpoint:
        for seconds in (float(s) for s in args.seconds.split(",")):
            worst = measure("", False, seconds, args.seeds, args.n_filters, checkpoint=path)
            print(f"| trained | {path} | {seconds:g} s | " + " | ".join(f"{worst[n]:.1e}" for n in NAMES) + " |",
                  flush=True)
    for init in (() if args.no_init else ("mel", "random")):
        for perturbed in (False, True):
            for seconds in (float(s) for s in args.seconds.split(",")):
                worst = measure(init, perturbed, seconds, args.seeds, args.n_filters)
                print(f"| {init} | {'perturbed' if perturbed else 'initial'} | {seconds:g} s | "
                      + " | ".join(f"{worst[n]:.1e}" for n in NAMES) + " |", flush=True)


if __name__ == "__main__":
    main()
