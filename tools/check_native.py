#!/usr/bin/env python
"""Do the optional C kernels (LEAF's fused pooling and filter gradients) build and load on this machine?

    python tools/check_native.py        # exit 0: they load; 1: the pure-PyTorch path will be used, and why
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings


def main() -> int:
    from audiofront.frontends import native

    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    print(f"compiler: {compiler or 'none on PATH (set CC, or install gcc)'}")
    print(f"cache: {native._cache_dir()}")
    if os.environ.get("AUDIOFRONT_NATIVE", "").strip() == "0":
        print("AUDIOFRONT_NATIVE=0: the C kernels are switched off")
        return 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        k = native.kernels()
    if k is None:
        why = "; ".join(str(w.message) for w in caught) or "unknown reason"
        print(f"C kernels: not available ({why}); the pure-PyTorch path computes the same values, slower")
        return 1
    print("C kernels: built and loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
