#!/usr/bin/env python
"""How much of held-out speakers' speech a lexicon can cover, and what phone tokens cost per word.

Reads the LibriSpeech transcripts below CORPUS_DIR, splits them by speaker (TEST speakers against the rest, as
`prepare librispeech --test-speakers` does), and prints: the share of the test speakers' running words missing
from the training vocabulary and from CMUdict, how many training word types eSpeak NG has to pronounce, and the
phone tokens per training word with word-final variants (`--phone-marking final`) and with a boundary token
(`boundary`: one `|` per word boundary).

    python tools/lexicon_coverage.py ../shared/data/LibriSpeech --test-speakers 1970,2136
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> int:
    from audiofront.text.normalize import normalize_text
    from audiofront.text.phones import Pronouncer, load_cmudict

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("--test-speakers", default="1970,2136")
    args = ap.parse_args()
    test = {s.strip() for s in args.test_speakers.split(",") if s.strip()}
    train, held_out = Counter(), Counter()
    for trans in sorted(args.corpus_dir.rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            utt, _, text = line.partition(" ")
            words = normalize_text(text).split()
            (held_out if utt.split("-")[0] in test else train).update(words)
    cmu = load_cmudict()
    running = sum(held_out.values())
    miss_train = sum(n for w, n in held_out.items() if w not in train)
    miss_cmu = sum(n for w, n in held_out.items() if w not in cmu)
    pron = Pronouncer(cmu)
    phones = {w: len(pron(w)[0]) for w in train}  # the first pronunciation of each word
    n_words = sum(train.values())
    per_word = sum(phones[w] * n for w, n in train.items()) / n_words
    print(f"training words: {n_words} running, {len(train)} types; test speakers {sorted(test)}: {running} running words")
    print(f"test running words missing from the training vocabulary: {100 * miss_train / running:.1f}%")
    print(f"test running words missing from CMUdict: {100 * miss_cmu / running:.1f}%")
    print(f"training word types pronounced by eSpeak NG: {len(pron.espeak_words)}")
    print(f"phone tokens per training word: final variants {per_word:.2f}, boundary token {per_word + 1:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
