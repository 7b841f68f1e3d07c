"""Speech Commands v2 with the LEAF paper's 35-class protocol.

Download (``download=True``) goes through lhotse (``lhotse.recipes.download_speechcommands``), which fetches
and unpacks ``speech_commands_v0.02`` (and the separate 12-class test archive, which we do **not** use).
The manifests are ours, built from the main archive's own lists:

- test  = the files in ``testing_list.txt``;
- valid = the files in ``validation_list.txt``;
- train = every other ``{word}/{file}.wav``;
- ``_background_noise_/`` is left out of every split (it is noise, not one of the 35 words).

Labels: ``supervision.custom = {"keyword": word}`` (35 classes), ``speaker`` = the file's speaker hash.
The files are 16 kHz; any other rate is resampled in the cuts and reported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import UserError
from .checks import DataReport, check_format, check_id, check_rate, probe_many
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

CORPUS = "speechcommands"
BACKGROUND = "_background_noise_"
PART = "speech_commands_v0.02"
# {speaker hash}_nohash_{repetition}.wav inside a {word}/ folder (the hash is 8 hex digits in the release)
_FILE = re.compile(r"[0-9A-Za-z]+_nohash_\d+")
_WORD = re.compile(r"[A-Za-z0-9]+")


def find_part_dir(corpus_dir: str | Path) -> Path:
    """The folder holding ``testing_list.txt`` (the corpus dir itself, or its v0.02 part, or lhotse's layout)."""
    corpus_dir = Path(corpus_dir).resolve()  # absolute paths in the manifests
    for cand in (corpus_dir, corpus_dir / PART, corpus_dir / "SpeechCommands2" / PART):
        if (cand / "testing_list.txt").is_file():
            return cand
    raise UserError(
        f"{corpus_dir}: no testing_list.txt found (looked in {corpus_dir}, {corpus_dir / PART} and "
        f"{corpus_dir / 'SpeechCommands2' / PART}); pass the unpacked speech_commands_v0.02 folder or use --download"
    )


def download(target_dir: str | Path) -> Path:
    """Download and unpack Speech Commands v0.02 through lhotse; returns the part folder."""
    from lhotse.recipes import download_speechcommands

    root = download_speechcommands(speechcommands_version="2", target_dir=target_dir)
    return (Path(root) / PART).resolve()


def _read_list(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


@holds_prepare_lock(CORPUS)
def prepare_speechcommands(
    corpus_dir: str | Path,
    out_dir: str | Path,
    download_corpus: bool = False,
    sample_rate: int = 16000,
    num_workers: Optional[int] = None,
    limit_per_split: Optional[int] = None,
) -> tuple[dict, DataReport]:
    """Write ``{out_dir}/speechcommands_{recordings,supervisions,cuts}_{train,valid,test}.jsonl.gz``."""
    check_rate(sample_rate)
    if limit_per_split is not None and limit_per_split < 0:
        raise UserError(f"limit_per_split must be >= 0, got {limit_per_split}")
    part = download(corpus_dir) if download_corpus else find_part_dir(corpus_dir)
    report = DataReport(CORPUS)
    test_list = _read_list(part / "testing_list.txt")
    valid_list = _read_list(part / "validation_list.txt") if (part / "validation_list.txt").is_file() else set()
    words = sorted(d.name for d in part.iterdir() if d.is_dir() and d.name != BACKGROUND and not d.name.startswith("."))
    if not words:
        raise UserError(f"{part} has no word folders")
    report.note(f"{len(words)} keyword classes; {BACKGROUND} left out of every split; test = testing_list.txt")
    entries = []  # (relative path, word, split)
    for word in words:
        if not check_id(word, _WORD, part / word, report, "a keyword folder name of letters and digits"):
            continue
        for wav in sorted((part / word).glob("*.wav")):
            if not check_id(wav.stem, _FILE, wav, report, "{speaker}_nohash_{n}.wav"):
                continue
            rel = f"{word}/{wav.name}"
            split = "test" if rel in test_list else "valid" if rel in valid_list else "train"
            entries.append((rel, word, split))
    listed = {e[0] for e in entries}
    for rel in sorted((test_list | valid_list) - listed):
        report.add("missing_audio", part / rel, "listed in testing_list.txt/validation_list.txt but not found")
    if limit_per_split:
        kept, count = [], {}
        for e in entries:
            if count.get(e[2], 0) < limit_per_split:
                kept.append(e)
                count[e[2]] = count.get(e[2], 0) + 1
        entries = kept
    utts = []
    for (rel, word, split), (info, issue) in zip(entries, probe_many([part / e[0] for e in entries], num_workers)):
        if issue is not None:
            report.issues.append(issue)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate="resample"):
            continue
        name = Path(rel).stem
        speaker = name.split("_nohash_")[0]
        utts.append(Utterance(id=f"{word}_{name}", audio=info, text=word.upper(), split=split, speaker=speaker,
                              custom={"keyword": word}))
    if not utts:
        raise UserError(f"no usable Speech Commands recordings under {part} (the problems: {report.write(out_dir)})")
    manifests = build_manifests(utts, sample_rate=sample_rate)
    write_manifests(manifests, out_dir, CORPUS)
    report.write(out_dir)
    return manifests, report
