#!/usr/bin/env python
"""Fetch the official LibriSpeech LM and pronunciation lexicon (openslr resource 11) for offline use.

    python tools/download_librispeech_lm.py --out-dir data/lm --lm 4-gram.arpa.gz
    audiofront prepare lang --cuts ... --download-lm 4-gram.arpa.gz --lm-dir data/lm   # then reuses them

Downloads go to temporary files renamed when complete; files already there are kept.
"""

from __future__ import annotations

import argparse
import sys

from audiofront.lm.ngram import LIBRISPEECH_LMS, download_librispeech_lexicon, download_librispeech_lm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="data/lm")
    ap.add_argument("--lm", default="4-gram.arpa.gz", choices=LIBRISPEECH_LMS)
    ap.add_argument("--no-lexicon", action="store_true", help="only the LM")
    args = ap.parse_args(argv)
    try:
        print(download_librispeech_lm(args.out_dir, args.lm))
        if not args.no_lexicon:
            print(download_librispeech_lexicon(args.out_dir))
    except (RuntimeError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
