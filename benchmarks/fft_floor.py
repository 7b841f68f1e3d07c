"""How fast can an exact LEAF be on this machine? The FFT work it cannot avoid, against `mel` and `leaf`.

An exact LEAF (same 401-tap filters, same pooling positions as the direct reference) must produce the real and
imaginary output of every Gabor filter at the full sample rate before the squared modulus: the filters are
truncated, so their responses are not band-limited and the outputs cannot be decimated first. With FFT
filtering that is, per block of ``N`` samples, one inverse real FFT over ``2C`` rows in the forward pass and
one forward real FFT over ``2C`` rows in the backward pass (the gradients of the filters are correlations of
the output gradients with the signal). This script times exactly those transforms, block by block at the
sizes `leaf` uses, and compares them with a whole `mel` forward+backward and a whole `leaf` forward+backward
measured the same way as ``benchmarks/frontends.py`` (best of several runs; backward to every parameter and
to the waveform).

    python benchmarks/fft_floor.py --threads 2

``bound`` is the fraction of `mel`'s throughput that LEAF would reach if everything but these two FFT passes
were free. ``kernels`` times the fused C loops around the FFTs that an exact LEAF also cannot skip (activation
and pooling forward, their backward, the products of the spectra for the filter and input gradients), on the
same blocks, in cache; ``exact floor`` is the throughput of FFTs plus kernels alone. ``--peers`` adds the
forward+backward of EfficientLEAF's fast setting (Gabor 8G-opt, from ``../shared/peers``) and of
``leaf[decimated]`` (the approximation, :mod:`audiofront.frontends.leaf_decimated`), measured the same way, so
the table says whether an exact LEAF can match that peer at all on this machine. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _bench import cpu_name  # benchmarks/ is on sys.path

import torch

from audiofront.frontends import build_frontend
from audiofront.frontends.leaf_fast import _Geometry

SAMPLE_RATE = 16000


def best_time(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def frontend_time(name: str, x: torch.Tensor, reps: int, **conf) -> float:
    frontend = build_frontend(name, **conf)
    xg = x.clone().requires_grad_()

    def step():
        frontend.zero_grad(set_to_none=True)
        xg.grad = None
        feats, _ = frontend(xg)
        feats.sum().backward()

    return best_time(step, reps)


def efficientleaf_time(x: torch.Tensor, reps: int, peers_dir: Path) -> float:
    """EfficientLEAF Gabor 8G-opt forward+backward (to its parameters and the waveform), or nan."""
    root = peers_dir / "EfficientLEAF"
    if not (root / "model" / "efficientleaf.py").exists():
        return float("nan")
    sys.path.insert(0, str(root))
    from model.efficientleaf import EfficientLeaf

    module = EfficientLeaf(n_filters=40, num_groups=8, conv_win_factor=6, stride_factor=16)
    xg = x.unsqueeze(1).clone().requires_grad_()

    def step():
        module.zero_grad(set_to_none=True)
        xg.grad = None
        module(xg).sum().backward()

    return best_time(step, reps)


def kernel_times(x: torch.Tensor, channels: int, kernel: int, stride: int, reps: int) -> float:
    """The fused loops an exact LEAF runs around its FFTs, on every block (in cache), or nan without them."""
    from audiofront.frontends.native import kernels

    nat = kernels()
    if nat is None:
        return float("nan")
    geo = _Geometry(x.shape[0], x.shape[1], channels, 2 * channels, kernel, stride, None)
    n, f, fb = geo.n_fft, geo.n_fft // 2 + 1, geo.frames_per_block
    y = torch.randn(1, 2 * channels, n)
    w = torch.rand(channels, kernel)
    out, gout = torch.empty(1, channels, fb), torch.randn(1, channels, fb)
    gy, gw = torch.zeros(1, 2 * channels, n), torch.zeros(channels, kernel)
    spec_gy = torch.randn(1, 2 * channels, f, dtype=torch.complex64)
    spec_x, spec_h = torch.randn(1, f, dtype=torch.complex64), torch.randn(2 * channels, f, dtype=torch.complex64)
    acc, gx = torch.zeros(2 * channels, f, dtype=torch.complex64), torch.empty(1, f, dtype=torch.complex64)

    def run():
        for _ in range(geo.segments):
            nat.pool_forward(y, w, out, channels, geo.start, geo.width, stride, fb, 0, 0.0)
            nat.pool_backward(y, w, gout, gy, gw, channels, geo.start, geo.width, stride, fb, 0, 0.0)
            nat.spectra_backward(spec_gy, spec_x, spec_h, acc, gx)

    return best_time(run, reps)


def fft_pass_times(x: torch.Tensor, channels: int, kernel: int, stride: int, reps: int) -> tuple[float, float, int]:
    """(inverse pass, forward pass, N): the transforms of every block, one call per block as `leaf` does."""
    geo = _Geometry(x.shape[0], x.shape[1], channels, 2 * channels, kernel, stride, None)
    spec = torch.randn(2 * channels, geo.n_fft // 2 + 1, dtype=torch.complex64)
    rows = torch.randn(2 * channels, geo.n_fft)

    def inverse():
        for _ in range(geo.segments):
            torch.fft.irfft(spec, n=geo.n_fft)

    def forward():
        for _ in range(geo.segments):
            torch.fft.rfft(rows, n=geo.n_fft)

    return best_time(inverse, reps), best_time(forward, reps), geo.n_fft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", default="8x1s,8x4s,1x60s")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--peers", action="store_true", help="also time EfficientLEAF and leaf[decimated]")
    parser.add_argument("--peers-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "peers"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpu = cpu_name()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; torch "
          f"{torch.__version__}, {args.threads} threads; times: best of {args.reps}\n")
    cols = ["shape", "N", "inverse FFT pass ms", "forward FFT pass ms", "kernels ms", "exact floor s/s",
            "mel fwd+bwd ms", "leaf fwd+bwd ms", "leaf / mel", "bound"]
    if args.peers:
        cols += ["EfficientLEAF fwd+bwd ms", "leaf[decimated] fwd+bwd ms"]
    print("| " + " | ".join(cols) + " |")
    print("| --- | " + " | ".join("---:" for _ in cols[1:]) + " |")
    for shape in args.shapes.split(","):
        batch, seconds = shape.rstrip("s").split("x")
        x = (torch.rand(int(batch), int(float(seconds) * SAMPLE_RATE)) * 2 - 1) * 0.5
        audio = x.numel() / SAMPLE_RATE
        inv, fwd, n_fft = fft_pass_times(x, 40, 401, 160, args.reps)
        kern = kernel_times(x, 40, 401, 160, args.reps)
        mel = frontend_time("mel", x, args.reps)
        leaf = frontend_time("leaf", x, args.reps)
        row = (f"| {shape} | {n_fft} | {inv * 1e3:.1f} | {fwd * 1e3:.1f} | {kern * 1e3:.1f} | "
               f"{audio / (inv + fwd + kern):,.0f} | {mel * 1e3:.1f} | {leaf * 1e3:.1f} | {mel / leaf:.3f} | "
               f"{mel / (inv + fwd):.3f} |")
        if args.peers:
            eleaf = efficientleaf_time(x, args.reps, Path(args.peers_dir))
            dec = frontend_time("leaf", x, args.reps, impl="decimated")
            row += f" {eleaf * 1e3:.1f} | {dec * 1e3:.1f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
