#!/usr/bin/env python
"""Are CMUdict and eSpeak NG usable for `--tokenizer phone`? Prints the phones of the words given.

    python tools/check_phones.py READ ZYXQUARK
"""

from __future__ import annotations

import sys


def main(words: list[str]) -> int:
    from audiofront.errors import UserError
    from audiofront.text.phones import PHONES, Pronouncer, load_cmudict

    try:
        cmu = load_cmudict()
        print(f"CMUdict: {len(cmu)} words, {len(PHONES)} phones")
        p = Pronouncer(cmu)
        for w in words or ["READ", "ZYXQUARK"]:
            prons = p(w)
            source = "eSpeak NG" if w.upper() in p.espeak_words else "CMUdict"
            print(f"{w.upper()}\t{source}\t" + " | ".join(" ".join(x) for x in prons))
    except (UserError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
