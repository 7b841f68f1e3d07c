"""Band-limit a cut manifest the way FSDD's recordings are: every recording resampled to --rate and back to its
own rate, so that nothing is left above rate/2 (lhotse does both resamplings lazily, when the audio is loaded).

    python local/band_limit.py --rate 8000 data/librispeech/librispeech_cuts_train.jsonl.gz OUT.jsonl.gz

Used by run.sh --vae-train-rate: FSDD digits are 8 kHz recordings played at 16 kHz, so their band above 4 kHz is
empty, while the LibriSpeech the VAEs learn from is full there; white noise then fills a band the VAE never saw
empty. A VAE trained on band-limited LibriSpeech tells how much of its noise result that mismatch explains.
"""

from __future__ import annotations

import argparse
import sys

from lhotse import load_manifest

from audiofront.data.manifests import write_manifest


def band_limit(cuts, rate: int):
    """``cuts`` whose audio went through ``rate`` Hz and back to each recording's own rate."""
    return cuts.map(lambda c: c.resample(rate).resample(c.sampling_rate))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, required=True, help="the intermediate rate; the band kept is rate/2")
    parser.add_argument("cuts")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    cuts = load_manifest(args.cuts)
    rates = sorted({c.sampling_rate for c in cuts})
    if args.rate <= 0 or args.rate >= rates[0]:
        print(f"band_limit.py: --rate {args.rate} must be above 0 and below the cuts' rate ({rates[0]} Hz)",
              file=sys.stderr)
        return 2
    write_manifest(band_limit(cuts, args.rate).to_eager(), args.out)
    print(f"{len(cuts)} cuts band-limited to {args.rate // 2} Hz -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
