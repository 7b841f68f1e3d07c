"""LibriSpeech (and Mini LibriSpeech) manifests from a local corpus folder, downloaded through lhotse if asked.

Layout read: ``{corpus_dir}/{part}/{speaker}/{chapter}/{speaker}-{chapter}-{utt}.flac`` with one
``{speaker}-{chapter}.trans.txt`` per chapter (``UTT_ID TEXT`` per line). ``corpus_dir`` is the
``LibriSpeech`` folder or a folder that contains it.

We scan the folder ourselves rather than call ``lhotse.recipes.prepare_librispeech`` because that one
skips missing audio without a word; here every transcript without audio, audio without transcript,
unreadable or empty file is listed in the report (:mod:`audiofront.data.checks`).

Splits: one per part (``train-clean-5`` ...), or, with ``test_speakers``, ``train`` and ``test`` made from
the utterances of all the given parts by speaker. A ``dev`` split for choosing settings without looking at
the test speakers is carved from the training speakers, with ``test_speakers``: ``dev_speakers`` (whole
speakers held out: a speaker-independent dev) and/or ``dev_per_speaker`` (N utterances of every remaining
training speaker, evenly spaced over the speaker's sorted utterance ids so that they span chapters).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Sequence

from ..errors import UserError
from .checks import DataReport, check_format, check_format_option, check_id, check_rate, drop_duplicate_ids, probe_many
from .lock import holds_prepare_lock
from .manifests import Utterance, build_manifests, write_manifests

LIBRISPEECH_PARTS = (
    "dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360", "train-other-500",
)
MINI_LIBRISPEECH_PARTS = ("dev-clean-2", "train-clean-5")
_UTT_ID = re.compile(r"^\d+-\d+-\d+$")


def download(target_dir: str | os.PathLike, parts: Sequence[str]) -> Path:
    """Download and unpack ``parts`` from OpenSLR (resource 12, or 31 for Mini LibriSpeech) with lhotse.

    Returns the ``LibriSpeech`` folder. Parts already unpacked are not downloaded again.
    """
    from lhotse.recipes import download_librispeech

    unknown = [p for p in parts if p not in LIBRISPEECH_PARTS + MINI_LIBRISPEECH_PARTS]
    if unknown:
        raise UserError(
            f"unknown LibriSpeech part(s) {', '.join(unknown)}; choose from "
            f"{', '.join(LIBRISPEECH_PARTS + MINI_LIBRISPEECH_PARTS)}"
        )
    return Path(download_librispeech(target_dir=target_dir, dataset_parts=list(parts)))


def find_corpus_root(corpus_dir: str | os.PathLike) -> Path:
    """The folder that holds the parts: ``corpus_dir`` itself or its ``LibriSpeech`` subfolder."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise UserError(f"LibriSpeech folder {corpus_dir} does not exist (use --download to fetch it)")
    if not _find_parts(corpus_dir) and (corpus_dir / "LibriSpeech").is_dir():
        return corpus_dir / "LibriSpeech"
    return corpus_dir


def _find_parts(root: Path) -> list[str]:
    """Sub-folders laid out like a LibriSpeech part (``speaker/chapter/*.trans.txt`` or ``*.flac``)."""
    parts = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if next(d.glob("*/*/*.trans.txt"), None) is not None or next(d.glob("*/*/*.flac"), None) is not None:
            parts.append(d.name)
    return parts


def _read_speakers(root: Path) -> dict[str, str]:
    """speaker id -> gender ("m"/"f") from SPEAKERS.TXT, when the corpus has it."""
    path = root / "SPEAKERS.TXT"
    genders = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith(";"):
                continue
            fields = [f.strip() for f in line.split("|")]
            if len(fields) >= 2 and fields[1].upper() in ("M", "F"):
                genders[fields[0]] = fields[1].lower()
    return genders


def scan_part(root: Path, part: str, report: DataReport) -> list[tuple[str, Path, str, str]]:
    """``(utt_id, flac path, text, "transcript:line")`` of every transcribed utterance of ``part``; orphans
    go to ``report``.

    An id is data, not a path: one that is not ``{speaker}-{chapter}-{utterance}`` of its own chapter
    (e.g. ``../../victim/target``) is reported as "bad_id" and no file is looked up for it.
    """
    from ..text.normalize import normalize_text

    part_dir = root / part
    entries: list[tuple[str, Path, str, str]] = []
    transcribed: set[Path] = set()
    for trans in sorted(part_dir.glob("*/*/*.trans.txt")):
        for n, line in enumerate(trans.read_text(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            utt_id, _, text = line.strip().partition(" ")
            chapter_prefix = f"{trans.parent.parent.name}-{trans.parent.name}-"
            if not check_id(utt_id, _UTT_ID, f"{trans}:{n}", report, "{speaker}-{chapter}-{utterance}, digits only"):
                continue
            if not utt_id.startswith(chapter_prefix):
                report.add("bad_id", f"{trans}:{n}", f"id {utt_id!r} is not of this chapter (expected {chapter_prefix}...)")
                continue
            audio = trans.parent / f"{utt_id}.flac"
            transcribed.add(audio)
            text = normalize_text(text)
            if not text:
                report.add("empty_transcript", audio, f"{trans.name}:{n}")
                continue
            entries.append((utt_id, audio, text, f"{trans}:{n}"))
    for audio in sorted(part_dir.glob("*/*/*.flac")):
        if audio not in transcribed:
            report.add("no_transcript", audio, "no line in the chapter's .trans.txt")
    return entries


def scan_parts(root: Path, parts: Sequence[str], report: DataReport) -> list[tuple[str, str, Path, str, str]]:
    """``(part, *scan_part entry)`` of every part, repeated utterance ids (across all parts) left out."""
    entries = [(part, *e) for part in parts for e in scan_part(root, part, report)]
    return drop_duplicate_ids(entries, lambda e: e[1], lambda e: e[4], report)


def select_parts(root: Path, parts: Optional[Sequence[str]]) -> list[str]:
    """The parts to read under ``root``: ``parts`` (each must exist) or, if none are given, every part found."""
    found = _find_parts(root)
    chosen = list(parts) if parts else found
    if not chosen:
        raise UserError(f"no LibriSpeech part (speaker/chapter/*.flac) under {root}")
    missing = [p for p in chosen if p not in found]
    if missing:
        raise UserError(f"LibriSpeech part(s) {', '.join(missing)} not found in {root} (found: {', '.join(found) or 'none'})")
    return chosen


def _pick_dev(entries: Sequence[tuple], test_speakers: set[str], dev_speakers: set[str], per_speaker: int) -> set[str]:
    """Utterance ids of the dev split: every utterance of ``dev_speakers``, and ``per_speaker`` of each other
    training speaker, evenly spaced over its sorted ids (deterministic; spans the speaker's chapters)."""
    by_speaker: dict[str, list[str]] = {}
    for e in entries:
        utt_id = e[1]
        by_speaker.setdefault(utt_id.split("-")[0], []).append(utt_id)
    chosen: set[str] = set()
    for speaker, ids in by_speaker.items():
        if speaker in test_speakers:
            continue
        if speaker in dev_speakers:
            chosen.update(ids)
        elif per_speaker > 0:
            ids = sorted(ids, key=lambda u: tuple(int(x) for x in u.split("-")))
            if per_speaker >= len(ids):
                raise UserError(f"--dev-per-speaker {per_speaker} would leave speaker {speaker} ({len(ids)} "
                                "utterances) nothing to train on")
            step = len(ids) / per_speaker
            chosen.update(ids[int(step * (i + 0.5))] for i in range(per_speaker))
    return chosen


@holds_prepare_lock("librispeech")
def prepare_librispeech(
    corpus_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    parts: Optional[Sequence[str]] = None,
    test_speakers: Optional[Sequence[str]] = None,
    download_first: bool = False,
    dev_speakers: Optional[Sequence[str]] = None,
    dev_per_speaker: int = 0,
    sample_rate: int = 16000,
    on_wrong_rate: str = "resample",
    num_workers: Optional[int] = None,
    console=None,
) -> dict:
    """Write ``{out_dir}/librispeech_{recordings,supervisions,cuts}_{split}.jsonl.gz`` and the report.

    Returns ``{split: number of cuts}``. ``parts``: default every part found in the folder (with
    ``download_first``: Mini LibriSpeech). ``test_speakers``: make ``train``/``test`` splits by speaker;
    ``dev_speakers``/``dev_per_speaker`` (only with ``test_speakers``): a ``dev`` split taken out of ``train``.
    Repeated utterance ids (across all parts) are left out, every copy, and listed in the report.
    """
    check_rate(sample_rate)
    check_format_option(on_wrong_rate)
    if download_first:
        root = download(corpus_dir, parts or MINI_LIBRISPEECH_PARTS)
    else:
        root = find_corpus_root(corpus_dir)
    parts = select_parts(root, parts)

    report = DataReport("librispeech")
    entries = scan_parts(root, parts, report)

    speakers_found = {e[1].split("-")[0] for e in entries}
    test_speakers = [str(s).strip() for s in (test_speakers or []) if str(s).strip()]
    unknown = sorted(set(test_speakers) - speakers_found)
    if unknown:
        raise UserError(
            f"test speaker(s) {', '.join(unknown)} have no utterance in {', '.join(parts)} "
            f"(speakers there: {', '.join(sorted(speakers_found, key=int))})"
        )

    dev_speakers = [str(s).strip() for s in (dev_speakers or []) if str(s).strip()]
    if isinstance(dev_per_speaker, bool) or not isinstance(dev_per_speaker, int) or dev_per_speaker < 0:
        raise UserError(f"--dev-per-speaker must be a whole number >= 0, got {dev_per_speaker!r}")
    if (dev_speakers or dev_per_speaker) and not test_speakers:
        raise UserError("--dev-speakers/--dev-per-speaker carve the dev split out of the training speakers: "
                        "give --test-speakers too")
    unknown = sorted(set(dev_speakers) - speakers_found)
    if unknown:
        raise UserError(f"dev speaker(s) {', '.join(unknown)} have no utterance in {', '.join(parts)}")
    both = sorted(set(dev_speakers) & set(test_speakers))
    if both:
        raise UserError(f"speaker(s) {', '.join(both)} are in both --dev-speakers and --test-speakers")
    dev_ids = _pick_dev(entries, set(test_speakers), set(dev_speakers), dev_per_speaker)

    genders = _read_speakers(root)
    utts = []
    for (part, utt_id, audio, text, _), (info, issue) in zip(entries, probe_many([e[2] for e in entries], num_workers, console=console)):
        if issue is not None:
            report.add(issue.kind, issue.path, issue.detail)
            continue
        if not check_format(info, report, sample_rate, on_wrong_rate):
            continue
        speaker = utt_id.split("-")[0]
        if test_speakers:
            split = "test" if speaker in test_speakers else "dev" if utt_id in dev_ids else "train"
        else:
            split = part
        utts.append(Utterance(utt_id, info, text, split, speaker, genders.get(speaker), "English", {"part": part}))

    out_dir = Path(out_dir)
    if test_speakers:
        report.note(f"test speakers {', '.join(test_speakers)}; train: the other {len(speakers_found - set(test_speakers))}")
    if dev_ids:
        report.note(f"dev: {len(dev_ids)} utterances (speakers held out: {', '.join(dev_speakers) or 'none'}; "
                    f"{dev_per_speaker} per other training speaker)")
    if not utts:
        report.print(console)
        raise UserError(f"no usable utterance in {', '.join(parts)} under {root} (the problems: {report.write(out_dir)})")
    manifests = build_manifests(utts, sample_rate)
    write_manifests(manifests, out_dir, "librispeech")
    report.write(out_dir)
    report.print(console)
    return {split: len(sets[2]) for split, sets in manifests.items()}
