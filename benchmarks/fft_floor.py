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
were free. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import time

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


def frontend_time(name: str, x: torch.Tensor, reps: int) -> float:
    frontend = build_frontend(name)
    xg = x.clone().requires_grad_()

    def step():
        frontend.zero_grad(set_to_none=True)
        xg.grad = None
        feats, _ = frontend(xg)
        feats.sum().backward()

    return best_time(step, reps)


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; torch "
          f"{torch.__version__}, {args.threads} threads; times: best of {args.reps}\n")
    print("| shape | N | inverse FFT pass ms | forward FFT pass ms | mel fwd+bwd ms | leaf fwd+bwd ms | leaf / mel | bound |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in args.shapes.split(","):
        batch, seconds = shape.rstrip("s").split("x")
        x = (torch.rand(int(batch), int(float(seconds) * SAMPLE_RATE)) * 2 - 1) * 0.5
        inv, fwd, n_fft = fft_pass_times(x, 40, 401, 160, args.reps)
        mel = frontend_time("mel", x, args.reps)
        leaf = frontend_time("leaf", x, args.reps)
        print(f"| {shape} | {n_fft} | {inv * 1e3:.1f} | {fwd * 1e3:.1f} | {mel * 1e3:.1f} | {leaf * 1e3:.1f} | "
              f"{mel / leaf:.3f} | {mel / (inv + fwd):.3f} |")


if __name__ == "__main__":
    main()
