"""Speed and memory of every registered frontend (issue 5): a Markdown table, each figure also relative to `mel`.

For each frontend (default config, plus the direct LEAF reference as ``leaf[direct]``) and each input shape
(``8x1s``, ``8x4s``, ``1x60s``; on GPU also the LEAF paper's training shape ``256x1s``):

* ``fwd``: forward throughput under ``torch.no_grad()``, seconds of audio per second of wall time;
* ``fwd+bwd``: forward, then backward of ``features.sum()`` to every learnable parameter *and* to the waveform
  (which requires grad): for the parameter-free frontends (mel, fbank, mfcc) the input gradient is the only
  backward there is, and it is what a "log-mel forward and backward" costs in the issue's reference numbers;
* ``peak``: peak memory of one forward+backward call above the memory held before it, in MiB. CPU: the
  resident-set high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs`` just before the call) of a
  fresh subprocess per case, because torch's CPU allocations are invisible to tracemalloc. GPU:
  ``torch.cuda.max_memory_allocated``.

Times are the best of several repetitions (after a warm-up call) -- on a shared machine the best run is the
least disturbed one. Each case runs in its own subprocess with ``torch.set_num_threads(--threads)`` and
OpenMP's default waiting (``--omp-passive`` sets ``OMP_WAIT_POLICY=PASSIVE``, for a machine shared with other
jobs, where spinning threads are very slow; it slows frontends made of many small operations on a quiet one).

``--peers`` adds other projects' frontends where they import (:func:`peer_frontend`): EfficientLEAF from
``../shared/peers`` (its paper's fast setting, Gabor 8G-opt), SpeechBrain's ``Leaf`` and torchaudio's mel
(both need torchaudio, whose wheels pin another torch: each is skipped with the reason printed when it does not
import). They run in the same child processes, timed the same way (forward; forward and backward to their
parameters and the waveform), and every figure is also given relative to torchaudio's mel when it ran.

Usage::

    python benchmarks/frontends.py --threads 2 --out benchmarks/results/cpu.md
    python benchmarks/frontends.py --device cuda --out benchmarks/results/gpu.md
    python benchmarks/frontends.py --frontends mel,leaf --shapes 8x4s     # a subset
    python benchmarks/frontends.py --frontends mel,leaf,leaf[decimated] --peers --shapes 8x1s,8x4s,256x1s

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _bench import cpu_name  # benchmarks/ is on sys.path

SAMPLE_RATE = 16000
CPU_SHAPES = ("8x1s", "8x4s", "1x60s")
GPU_SHAPES = ("8x1s", "8x4s", "1x60s", "256x1s")
EXTRA_VARIANTS = {"leaf[direct]": ("leaf", {"impl": "direct"}), "leaf[decimated]": ("leaf", {"impl": "decimated"})}
# --peers: other projects' frontends, timed in the same processes and the same way (see peer_frontend)
PEERS = ("efficientleaf", "speechbrain-leaf", "torchaudio-mel")
PEER_LABELS = {
    "efficientleaf": "EfficientLEAF Gabor 8G-opt (peer)",
    "speechbrain-leaf": "SpeechBrain Leaf (peer)",
    "torchaudio-mel": "torchaudio mel (peer)",
}
DEFAULT_PEERS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "peers"


def parse_shape(shape: str) -> tuple[int, int]:
    batch, seconds = shape.split("x")
    return int(batch), int(float(seconds.rstrip("s")) * SAMPLE_RATE)


# ---- one case, in a child process ----------------------------------------------------------------------
def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeerUnavailable(Exception):
    """A peer that cannot be imported here (the reason is printed, the case skipped)."""


def peer_frontend(peer: str, peers_dir: str):
    """A peer's frontend as a module and a ``(waveforms [B, T], lengths) -> features`` call, 40 filters, 16 kHz,
    25 ms windows (401 taps), 10 ms hop, as our `leaf` and `mel`.

    * ``efficientleaf``: EfficientLEAF (Schlueter & Gutenbrunner 2022, arXiv 2207.05508), the paper's fast
      setting "Gabor 8G-opt" (``num_groups=8, conv_win_factor=6, stride_factor=16``) with its default
      compression (log1p, median filter, temporal batch norm); imported from ``peers_dir/EfficientLEAF``;
      input ``[B, 1, T]``.
    * ``speechbrain-leaf``: ``speechbrain.lobes.features.Leaf`` (needs torchaudio).
    * ``torchaudio-mel``: ``torchaudio.transforms.MelSpectrogram`` with our `mel`'s settings, then ``log(x + 1e-5)``.
    """
    import torch

    if peer == "efficientleaf":
        root = Path(peers_dir) / "EfficientLEAF"
        if not (root / "model" / "efficientleaf.py").exists():
            raise PeerUnavailable(f"no EfficientLEAF checkout at {root}")
        sys.path.insert(0, str(root))
        try:
            from model.efficientleaf import EfficientLeaf
        except ImportError as exc:
            raise PeerUnavailable(f"EfficientLEAF does not import: {exc}") from exc
        module = EfficientLeaf(n_filters=40, num_groups=8, conv_win_factor=6, stride_factor=16)
        return module, lambda x, lengths: module(x.unsqueeze(1))
    if peer == "speechbrain-leaf":
        try:
            from speechbrain.lobes.features import Leaf
        except Exception as exc:  # ImportError, or torchaudio failing against this torch
            raise PeerUnavailable(f"speechbrain does not import ({type(exc).__name__}: {str(exc)[:120]})") from exc
        module = Leaf(out_channels=40, window_len=25.0, window_stride=10.0, sample_rate=SAMPLE_RATE, in_channels=1)
        return module, lambda x, lengths: module(x)
    if peer == "torchaudio-mel":
        try:
            import torchaudio
        except Exception as exc:
            raise PeerUnavailable(f"torchaudio does not import ({type(exc).__name__}: {str(exc)[:120]})") from exc
        module = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=512, win_length=401, hop_length=160, f_min=60.0, f_max=7800.0,
            n_mels=40, power=2.0)
        return module, lambda x, lengths: torch.log(module(x) + 1e-5)
    raise ValueError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")


def run_case(variant: str, shape: str, device: str, threads: int, min_time: float, max_reps: int, clock: str,
             peers_dir: str = str(DEFAULT_PEERS_DIR)) -> dict:
    import torch

    from audiofront.frontends import build_frontend

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if variant in PEERS:
        try:
            frontend, call = peer_frontend(variant, peers_dir)
        except PeerUnavailable as exc:
            return {"variant": variant, "shape": shape, "device": device, "unavailable": str(exc)}
        frontend = frontend.to(device)
    else:
        name, config = EXTRA_VARIANTS.get(variant, (variant, {}))
        frontend = build_frontend(name, **config).to(device)

        def call(x, lengths):
            return frontend(x, lengths)[0]
    batch, samples = parse_shape(shape)
    x = (torch.rand(batch, samples, device=device) * 2 - 1) * 0.5
    lengths = torch.full((batch,), samples, dtype=torch.long)
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def forward():
        with torch.no_grad():
            call(x, lengths)
        sync()

    xg = x.clone().requires_grad_()

    def forward_backward():
        frontend.zero_grad(set_to_none=True)
        xg.grad = None
        feats = call(xg, lengths)
        feats.sum().backward()
        sync()

    # wall: real time (what a user waits); cpu: process CPU time divided by the threads, a steadier figure on
    # a machine shared with other jobs (with 1 thread it is the work done; with more it also counts spinning)
    now = time.perf_counter if clock == "wall" or cuda else (lambda: time.process_time() / threads)

    def best_time(fn) -> tuple[float, int]:
        times = []
        start = time.perf_counter()
        while len(times) < max_reps and (len(times) < 2 or time.perf_counter() - start < min_time):
            t0 = now()
            fn()
            times.append(now() - t0)
        return min(times), len(times)

    result = {"variant": variant, "shape": shape, "device": device, "threads": threads, "clock": clock}
    # peak memory of the first forward+backward call, above what is held before it
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        forward_backward()
        result["peak_mib"] = (torch.cuda.max_memory_allocated() - before) / 2**20
        frontend.zero_grad(set_to_none=True)
        xg.grad = None
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        forward()
        result["peak_fwd_mib"] = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        before = _rss_mib()
        ok = _reset_hwm()
        forward_backward()
        result["peak_mib"] = _hwm_mib() - before if ok else float("nan")
        frontend.zero_grad(set_to_none=True)
        xg.grad = None
        before = _rss_mib()
        ok = _reset_hwm()
        forward()
        result["peak_fwd_mib"] = _hwm_mib() - before if ok else float("nan")
    forward()  # warm-up
    t_fwd, n_fwd = best_time(forward)
    forward_backward()
    t_fb, n_fb = best_time(forward_backward)
    audio = batch * samples / SAMPLE_RATE
    result.update(
        fwd=audio / t_fwd, fwd_bwd=audio / t_fb, fwd_reps=n_fwd, fwd_bwd_reps=n_fb,
        params=sum(p.numel() for p in frontend.parameters() if p.requires_grad),
    )
    return result


# ---- driver -------------------------------------------------------------------------------------------
def _child(args: argparse.Namespace, variant: str, shape: str, device: str) -> dict:
    cmd = [
        sys.executable, __file__, "--child", variant, "--shapes", shape, "--device", device,
        "--threads", str(args.threads), "--min-time", str(args.min_time), "--max-reps", str(args.max_reps),
        "--clock", args.clock, "--peers-dir", args.peers_dir,
    ]
    # OpenMP's default (spin a while before sleeping) is what users get and the fastest on a quiet machine:
    # passive waits cost every parallel region a wake-up, which taxes frontends made of many small operations
    # (LEAF's block loop: 1.7x slower measured). On a machine shared with other jobs, spinning threads that wait
    # for a descheduled sibling can be far slower: --omp-passive there.
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
    }
    if args.omp_passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.case_timeout)
    except subprocess.TimeoutExpired:
        return {"variant": variant, "shape": shape, "device": device, "error": f"timeout after {args.case_timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"variant": variant, "shape": shape, "device": device, "error": tail[0][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratio(ratio: float) -> str:
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def _fmt(value: float, ref: float | None, ref2: float | None = None) -> str:
    if value != value:  # nan
        return "n/a"
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    ratios = [_ratio(value / r) for r in (ref, ref2) if r]
    if ratios:
        text += f" ({' / '.join(ratios)})"
    return text


def markdown(results: list[dict], device: str, shapes: list[str], header: str) -> str:
    """The table of one device; ``results`` as returned by the child processes."""
    by = {(r["variant"], r["shape"]): r for r in results}
    variants = list(dict.fromkeys(r["variant"] for r in results))
    lines = [header, ""]
    ta = any(r["variant"] == "torchaudio-mel" and "fwd" in r for r in results)
    lines.append("Throughput in seconds of audio per second (in brackets: relative to `mel` in the same run"
                 + (", then to torchaudio's mel" if ta else "") + "); "
                 "peak: MiB above the memory held before one forward+backward call.")
    skipped = {r["variant"]: r["unavailable"] for r in results if "unavailable" in r}
    for variant, why in skipped.items():
        lines.append(f"Not measured: `{variant}`: {why}.")
    lines.append("")
    cols = []
    for shape in shapes:
        cols += [f"{shape} fwd", f"{shape} fwd+bwd", f"{shape} peak MiB"]
    lines.append("| frontend | params | " + " | ".join(cols) + " |")
    lines.append("| --- | ---: | " + " | ".join("---:" for _ in cols) + " |")
    for variant in [v for v in variants if v not in skipped]:
        row = [f"`{variant}`" + (f" ({PEER_LABELS[variant]})" if variant in PEER_LABELS else "")]
        params = next((by[(variant, s)].get("params") for s in shapes if (variant, s) in by and "params" in by[(variant, s)]), None)
        row.append(f"{params:,}" if params is not None else "?")
        for shape in shapes:
            r, mel, tam = by.get((variant, shape)), by.get(("mel", shape)), by.get(("torchaudio-mel", shape))
            if r is None:
                row += ["", "", ""]
            elif "error" in r:
                row += [f"error: {r['error']}", "", ""]
            else:
                ok = mel is not None and "fwd" in mel and variant != "mel"
                ok2 = tam is not None and "fwd" in tam and variant != "torchaudio-mel"
                for key in ("fwd", "fwd_bwd"):
                    row.append(_fmt(r[key], mel[key] if ok else None, tam[key] if ok2 else None))
                row.append(f"{r['peak_mib']:,.0f}" if r["peak_mib"] == r["peak_mib"] else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def machine_line(device: str, threads: int) -> str:
    import torch

    if device.startswith("cuda"):
        what = torch.cuda.get_device_name(0)
    else:
        what = cpu_name()
    load = os.getloadavg()
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {what}, {os.cpu_count()} cores; torch "
        f"{torch.__version__}, {threads} threads; load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or all (cuda only when available)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--frontends", default="", help="comma-separated subset (default: every registered one)")
    parser.add_argument("--shapes", default="", help="comma-separated BxSECONDSs shapes (default per device)")
    parser.add_argument("--omp-passive", action="store_true",
                        help="OMP_WAIT_POLICY=PASSIVE in the measuring processes (for a machine shared with other jobs)")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of repetitions per measurement")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time (default) or process CPU time / threads (steadier on a shared machine)")
    parser.add_argument("--max-reps", type=int, default=10)
    parser.add_argument("--case-timeout", type=float, default=900.0)
    parser.add_argument("--skip", default="", help="comma-separated NAME@SHAPE cases to leave out, e.g. leaf[direct]@1x60s")
    parser.add_argument("--peers", action="store_true",
                        help=f"also time the peers ({', '.join(PEERS)}) where they import, in the same way")
    parser.add_argument("--peers-dir", default=str(DEFAULT_PEERS_DIR),
                        help="where the peers' checkouts lie (default ../shared/peers beside the repository)")
    parser.add_argument("--out", default="", help="also write the Markdown table here (atomic write)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = run_case(args.child, args.shapes, args.device, args.threads, args.min_time, args.max_reps, args.clock,
                          args.peers_dir)
        print(json.dumps(result))
        return 0

    import torch

    from audiofront.frontends import list_frontends

    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    if not devices:
        print(f"device {args.device!r} is not available here", file=sys.stderr)
        return 2
    names = [n for n in args.frontends.split(",") if n] or list_frontends(buildable_by_default=True) + list(EXTRA_VARIANTS)
    if args.peers:
        names += [p for p in PEERS if p not in names]
    unknown = [n for n in names if n not in list_frontends() and n not in EXTRA_VARIANTS and n not in PEERS]
    if unknown:
        print(f"unknown frontend(s): {', '.join(unknown)}; registered: {', '.join(list_frontends())}", file=sys.stderr)
        return 2
    if "mel" not in names:
        names = ["mel"] + names  # every ratio needs `mel` from the same run
    names = ["mel"] + [n for n in names if n != "mel"]
    report = []
    for device in devices:
        shapes = [s for s in args.shapes.split(",") if s] or list(GPU_SHAPES if device.startswith("cuda") else CPU_SHAPES)
        clock = "wall-clock" if args.clock == "wall" or device.startswith("cuda") else "process CPU time / threads"
        header = f"### Frontends on {device}\n\n{machine_line(device, args.threads)}; times: {clock}, best of up to {args.max_reps}"
        if args.omp_passive:
            header += "; OMP_WAIT_POLICY=PASSIVE"
        results = []
        for shape in shapes:
            for name in names:
                if f"{name}@{shape}" in args.skip.split(","):
                    continue
                t0 = time.perf_counter()
                results.append(_child(args, name, shape, device))
                r = results[-1]
                if args.out:  # keep every finished case, in case a later one takes the driver down
                    with open(args.out + ".jsonl", "a") as f:
                        f.write(json.dumps(r) + "\n")
                status = r.get("error") or (f"not measured: {r['unavailable']}" if "unavailable" in r else
                                            f"fwd {r['fwd']:.1f} s/s, fwd+bwd {r['fwd_bwd']:.1f} s/s, peak {r['peak_mib']:.0f} MiB")
                print(f"[{device} {shape} {name}] {status} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        load = os.getloadavg()
        table = markdown(results, device, shapes, header) + f"\nLoad average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.\n"
        report.append(table)
    text = "\n".join(report)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
