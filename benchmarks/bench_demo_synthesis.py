"""Speed of the demo corpus synthesis (eSpeak NG + resampling + noise + FLAC), not part of the tests.

    python benchmarks/bench_demo_synthesis.py --n 300 --jobs 1 2
    taskset -c 0,1 python benchmarks/bench_demo_synthesis.py --n 2300 --jobs 2   # a 2-core machine

Prints a Markdown table: utterances, audio seconds, wall seconds, real-time factor, per job count.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from audiofront.data.demo import SHARD_SIZE, DemoConfig, plan_corpus, synthesize_corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="training utterances to synthesise")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shard-size", type=int, default=SHARD_SIZE)
    args = ap.parse_args()
    print("| jobs | utterances | audio (s) | wall (s) | x real time |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory() as tmp:
            plans = plan_corpus(DemoConfig(n_train=args.n, n_dev=0, n_test=0), tmp)
            t0 = time.perf_counter()
            synthesize_corpus(plans, num_jobs=jobs, shard_size=args.shard_size)
            wall = time.perf_counter() - t0
            import soundfile as sf

            audio = sum(sf.info(p.path).duration for p in plans)
        print(f"| {jobs} | {len(plans)} | {audio:.0f} | {wall:.1f} | {audio / wall:.0f} |")


if __name__ == "__main__":
    main()
