"""Fixed features of a frontend for every cut of a manifest, stored with lhotse.

    out = extract_features("data/manifests/librispeech_cuts_train.jsonl.gz", "data/fbank", frontend="fbank")
    # -> data/fbank/librispeech_cuts_train_fbank.jsonl.gz (cuts with .features) and
    #    data/fbank/librispeech_cuts_train_fbank.lca (the arrays, LilcomChunkyWriter)

The frontend runs on padded batches of cuts; the interface guarantees that padding never changes a
sequence's valid frames, and only those ``num_frames(length)`` frames are stored. ``Features.type`` is
the frontend's name, ``Features.frame_shift`` its hop in seconds; the frontend's name and config are
also written beside the manifest (``*_frontend.json``).

Frame counts: every frame the frontend computes is stored (``cut.features.num_frames``). lhotse's
``cut.load_features()`` trims or repeats one frame so that the count matches ``duration / frame_shift``
rounded; :func:`load_features` returns the frames exactly as computed.

Storage (``storage``):

* ``lilcom``: one ``.lca`` file (lhotse's ``LilcomChunkyWriter``, ``tick_power`` -5): values are rounded to
  multiples of 1/32, an absolute error of at most 1/64 (``LILCOM_MAX_ERROR``), whatever their scale;
* ``float32`` (alias ``numpy``): one ``.npy`` file per cut (``NumpyFilesWriter``), exact;
* ``float16``: the same files in half precision: a relative error of at most 2^-11 (``FLOAT16_MAX_RELATIVE_ERROR``)
  for values of magnitude 6e-5 .. 65504, which VAE latents and log energies are.

:func:`storage_report` measures what a feature manifest takes on disk from the files it points to.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import UserError

STORAGES = ("lilcom", "float32", "float16", "numpy")
LILCOM_MAX_ERROR = 2.0**-6  # half of lilcom's step 2 ** tick_power at lhotse's default tick_power of -5
FLOAT16_MAX_RELATIVE_ERROR = 2.0**-11  # round to nearest with 10 stored mantissa bits


@dataclass
class ExtractResult:
    cuts_path: Path
    storage_path: Path
    num_cuts: int
    num_frames: int
    dim: int
    skipped: list  # ids of cuts too short for a single frame (listed in ``*_skipped.txt``)
    resampled: dict = field(default_factory=dict)  # {source rate: cuts} resampled to the frontend's rate
    reused: bool = False  # the same features of the same manifest were already there: nothing was computed


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl", ".json.gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _storage_path(storage: str, out_dir: Path, name: str) -> Path:
    """Where the arrays go: ``NAME.lca`` (lilcom) or the folder ``NAME/`` of ``.npy`` files. Built from the
    whole name, not ``with_suffix``: a dotted manifest name (``my.set_cuts_all``) must not lose its tail and
    share one file with every other frontend's features."""
    return out_dir / (f"{name}.lca" if storage == "lilcom" else name)


def _writer(storage: str, path: Path):
    """A lhotse writer into ``path`` (a name ending in ``.lca``, which lhotse keeps, or a folder)."""
    from lhotse import LilcomChunkyWriter, NumpyFilesWriter

    if storage == "lilcom":
        return LilcomChunkyWriter(path, mode="w")
    if storage in ("numpy", "float32", "float16"):
        # HDF5 would need h5py; one .npy file per cut needs nothing, and keeps the array's dtype
        return NumpyFilesWriter(path)
    raise UserError(f"--storage must be one of {', '.join(STORAGES)}, got {storage!r}")


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_sha256(fe) -> str:
    """A fingerprint of the frontend's parameters and buffers: a VAE retrained into the same checkpoint path has
    the same config but not the same features."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, t in sorted(fe.state_dict().items()):
        h.update(name.encode())
        t = t.detach().cpu()
        h.update(t.to(torch.float64 if t.is_floating_point() else torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def _replace(new: Path, final: Path) -> None:
    """Move the finished arrays ``new`` to ``final``, replacing what an earlier run left there (a file or a
    folder) only now that the new ones are complete."""
    import shutil

    if final.is_dir() and not final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        new.rename(final)
        shutil.rmtree(old)
    else:
        os.replace(new, final)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def _earlier_run(meta_path: Path, meta: dict) -> Optional[str]:
    """``None`` when the output manifest holds features of exactly this request (same input manifest, frontend,
    config and storage), else what differs (or that the earlier run's record is missing)."""
    try:
        old = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return f"there is no readable record of how they were made ({meta_path.name})"
    for key, what in (("input_sha256", "the input manifest"), ("frontend", "the frontend"), ("config", "the frontend's config"),
                      ("weights_sha256", "the frontend's weights"), ("storage", "the storage")):
        if key not in old:
            return f"{meta_path.name} has no record of {what} (an older audiofront wrote it)"
        if old[key] != meta[key]:
            return f"{what} differs"
    return None


def _check_storage_keys(cuts, storage_dir: Path) -> None:
    """``numpy`` storage (lhotse's NumpyFilesWriter) writes ``{storage_dir}/{key[:3]}/{key}`` with
    ``key = id + ".npy"``: a cut id is a file name there, and one such as ``../../x`` or ``/abs/x`` must be
    refused before anything is written."""
    from ..utils.paths import check_name, path_in_dir

    for cut in cuts:
        check_name(cut.id, "cut id")  # before slicing: key[:3] of "../x" is a folder name too
        path_in_dir(storage_dir / f"{cut.id}.npy"[:3], cut.id, ".npy", what="cut id")


def _load(cut) -> np.ndarray:
    """A cut's audio; a file that went missing or broke since ``prepare`` is named, not a lhotse traceback."""
    try:
        return cut.load_audio()
    except Exception as e:  # noqa: BLE001 - lhotse/soundfile raise many types for one cause: a bad file
        source = cut.recording.sources[0].source if cut.has_recording and cut.recording.sources else "?"
        detail = " ".join(str(e).split())[:200] or type(e).__name__
        raise UserError(f"cut {cut.id!r}: cannot load its audio {source} ({detail})") from None


def extract_features(
    cuts_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    frontend: str = "fbank",
    frontend_conf: Optional[dict[str, Any]] = None,
    storage: str = "lilcom",
    batch_seconds: float = 60.0,
    device: str = "cpu",
    overwrite: bool = False,
) -> ExtractResult:
    """Compute and store the features of every cut in ``cuts_path``; returns where they went.

    Multi-channel cuts are mixed down to mono (the mean of the channels, as the training datasets do), and
    cuts at another rate than the frontend's are resampled (counted in ``resampled``).

    Run again on the same manifest into the same ``out_dir``: when the frontend, its config, the storage and the
    input manifest's bytes are those of the earlier run, nothing is computed (``reused``; a stage that was
    stopped part-way re-runs cheaply); when anything differs the run is refused unless ``overwrite``. New arrays
    are written under a temporary name and replace the old ones only once complete, so a run that fails leaves
    the earlier features and their manifest as they were."""
    import torch
    from lhotse import CutSet
    from lhotse.features.base import Features

    from ..frontends import build_frontend
    from ..utils.io import atomic_path
    from .cuts import read_cuts
    from .manifests import write_manifest

    cuts_path, out_dir = Path(cuts_path), Path(out_dir)
    if storage not in STORAGES:
        raise UserError(f"--storage must be one of {', '.join(STORAGES)}, got {storage!r}")
    if not batch_seconds > 0:
        raise UserError(f"--batch-seconds must be > 0, got {batch_seconds}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out-dir {out_dir} exists and is not a folder")
    try:
        torch_device = torch.device(device)
    except RuntimeError:
        raise UserError(f"--device {device!r} is not a torch device (expected e.g. cpu, cuda, cuda:1)") from None
    cuts = read_cuts(cuts_path, "--cuts")
    name = f"{_stem(cuts_path)}_{frontend}"
    out_cuts_path = out_dir / f"{name}.jsonl.gz"
    if out_cuts_path.resolve() == cuts_path.resolve():
        raise UserError(f"the output {out_cuts_path} would overwrite the input manifest {cuts_path}; use another --out-dir")
    if storage != "lilcom":
        _check_storage_keys(cuts, out_dir / name)
    fe = build_frontend(frontend, **(frontend_conf or {}))
    meta = {"frontend": frontend, "config": fe.config.to_dict(), "frame_shift": fe.frame_shift, "output_dim": fe.output_dim,
            "storage": storage, "input": str(cuts_path), "input_sha256": _sha256(cuts_path),
            "weights_sha256": _weights_sha256(fe)}
    meta = json.loads(json.dumps(meta, default=str))  # as it reads back from the file (tuples become lists)
    meta_path = out_dir / f"{name}_frontend.json"
    final_storage = _storage_path(storage, out_dir, name)
    if out_cuts_path.exists() and not overwrite:
        differs = _earlier_run(meta_path, meta)
        if differs is not None:
            raise UserError(f"{out_cuts_path} already holds {frontend} features of {cuts_path.name} and {differs}; "
                            f"use another --out-dir, or --overwrite to replace them")
        kept = read_cuts(out_cuts_path, "the earlier features")
        frames = sum(c.features.num_frames for c in kept)
        dim = kept[0].features.num_features if len(kept) else fe.output_dim
        skipped_file = out_dir / f"{name}_skipped.txt"
        skipped = [line.split("\t")[0] for line in skipped_file.read_text().splitlines()] if skipped_file.exists() else []
        return ExtractResult(out_cuts_path, final_storage, len(kept), frames, dim, skipped, reused=True)
    try:
        fe = fe.to(torch_device).eval()
    except (RuntimeError, AssertionError) as e:  # e.g. --device cuda on a machine without one
        raise UserError(f"--device {device!r} cannot be used here ({str(e).splitlines()[0][:200]})") from None
    sr = fe.sample_rate
    out_dir.mkdir(parents=True, exist_ok=True)

    done, skipped, total_frames, resampled = [], [], 0, {}

    def flush(writer, batch):
        nonlocal total_frames
        # mono, as the models see it in training: the mean of the channels
        audio = [a.mean(axis=0) if a.ndim == 2 else a for a in (_load(c) for c in batch)]
        lengths = torch.tensor([a.shape[0] for a in audio])
        padded = torch.zeros(len(audio), int(lengths.max()))
        for i, a in enumerate(audio):
            padded[i, : a.shape[0]] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        feats, n_frames = fe(padded.to(device), lengths, sample_rate=sr)
        feats = feats.float().cpu().numpy()
        if storage == "float16":
            feats = feats.astype(np.float16)
        for i, cut in enumerate(batch):
            n = int(n_frames[i])
            if n == 0:
                skipped.append(cut.id)
                continue
            key = writer.write(cut.id, feats[i, :n])
            cut.features = Features(
                type=frontend,
                num_frames=n,
                num_features=int(feats.shape[-1]),
                frame_shift=fe.frame_shift / sr,
                sampling_rate=sr,
                start=cut.start,
                duration=cut.duration,
                storage_type=writer.name,
                storage_path=str(final_storage),  # where the arrays will be once complete
                storage_key=key,
                recording_id=cut.recording_id if cut.has_recording else None,
                channels=cut.channel,
            )
            done.append(cut)
            total_frames += n

    # the arrays go to a temporary name first: an earlier run's stay usable until the new ones are complete
    partial = final_storage.with_name(f".{final_storage.name}.partial-{os.getpid()}" + (".lca" if storage == "lilcom" else ""))
    try:
        with _writer(storage, partial) as writer, torch.inference_mode():
            if Path(writer.storage_path) != partial:
                raise AssertionError(f"lhotse writes {writer.storage_path}, expected {partial}")  # a bug, not bad input
            batch, seconds = [], 0.0
            for cut in cuts:
                if cut.sampling_rate != sr:
                    resampled[cut.sampling_rate] = resampled.get(cut.sampling_rate, 0) + 1
                    cut = cut.resample(sr)
                if cut.num_samples < fe.min_samples:  # no frame at all: listed, not fatal
                    skipped.append(cut.id)
                    continue
                batch.append(cut)
                seconds += cut.duration
                if seconds >= batch_seconds:
                    flush(writer, batch)
                    batch, seconds = [], 0.0
            if batch:
                flush(writer, batch)
    except BaseException:
        _remove(partial)  # our own unfinished temporary; an earlier run's files are untouched
        raise

    # An earlier manifest is moved aside before its arrays are replaced: a crash in between leaves no manifest
    # (the next run computes again), never one that points into the wrong arrays.
    aside = None
    if out_cuts_path.exists():
        aside = out_cuts_path.with_name(f".{out_cuts_path.name}.replaced-{os.getpid()}")
        out_cuts_path.rename(aside)
    _replace(partial, final_storage)
    skipped_path = out_dir / f"{name}_skipped.txt"
    if skipped or skipped_path.exists():  # an earlier run's list must not outlive its features
        with atomic_path(skipped_path) as tmp:
            tmp.write_text("".join(f"{i}\ttoo short for one {frontend} frame\n" for i in skipped))
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    # the manifest last: it only exists once every feature it points to is written
    write_manifest(CutSet.from_cuts(done), out_cuts_path)
    if aside is not None:
        aside.unlink()
    dim = done[0].features.num_features if done else fe.output_dim
    return ExtractResult(out_cuts_path, final_storage, len(done), total_frames, dim, skipped, resampled)


def load_features(cut) -> np.ndarray:
    """``[frames, dim]`` float32, exactly the frames the frontend computed (no trimming to
    ``duration / frame_shift``); ``float16`` storage is widened back to float32."""
    if cut.features is None:
        raise ValueError(f"cut {cut.id} has no features (run `audiofront extract` first)")
    return np.asarray(cut.features.load(), dtype=np.float32)


@dataclass
class StorageReport:
    """What a feature manifest takes on disk: bytes of every file its features live in, per second of audio."""

    cuts_path: Path
    num_cuts: int
    seconds: float
    num_files: int
    bytes: int
    frames: int
    dim: int
    feature_type: str
    storage_type: str

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else float("nan")

    @property
    def megabytes(self) -> float:
        return self.bytes / 1e6


def storage_report(cuts_path: str | os.PathLike) -> StorageReport:
    """Sum the sizes of the files the features of ``cuts_path`` are stored in (each file once: a lilcom
    archive holds every cut, ``.npy`` storage one file per cut). Sizes come from the file system, so headers,
    chunk indices and padding are counted; a missing file is an error, not a zero.

    ``cuts_path`` is a feature manifest, or a folder of them (e.g. the train and test manifests ``extract``
    wrote there): then the whole folder is one report, the corpus."""
    from .cuts import read_cuts

    cuts_path = Path(cuts_path)
    if cuts_path.is_dir():
        manifests = sorted(cuts_path.glob("*.jsonl.gz"))
        if not manifests:
            raise UserError(f"{cuts_path}: a folder without feature manifests (*.jsonl.gz written by `audiofront extract`)")
    else:
        manifests = [cuts_path]
    files: set[Path] = set()
    seconds, frames, n, dims, kinds, storages = 0.0, 0, 0, set(), set(), set()
    for cut in (c for m in manifests for c in read_cuts(m, "cuts")):
        f = cut.features
        if f is None:
            raise UserError(f"{cuts_path}: cut {cut.id!r} has no features (a manifest written by `audiofront extract`)")
        root = Path(f.storage_path)
        files.add(root / f.storage_key if root.is_dir() else root)
        seconds += float(cut.duration)
        frames += int(f.num_frames)
        n += 1
        dims.add(int(f.num_features))
        kinds.add(str(f.type))
        storages.add(str(f.storage_type) + (f" {_npy_dtype(root / f.storage_key)}" if root.is_dir() else ""))
    total = 0
    for path in sorted(files):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            raise UserError(f"{cuts_path}: its features file {path} does not exist (moved or deleted?)") from None
    return StorageReport(cuts_path, n, seconds, len(files), total, frames, max(dims, default=0),
                         ",".join(sorted(kinds)), ",".join(sorted(storages)))


def _npy_dtype(path: Path) -> str:
    """The dtype of a ``.npy`` file (read from its header), or ``?`` if it cannot be read."""
    try:
        return str(np.load(path, mmap_mode="r", allow_pickle=False).dtype)
    except (OSError, ValueError):
        return "?"


def storage_table(reports: list[StorageReport]) -> str:
    """A Markdown table of :class:`StorageReport` rows (bytes per second of audio, and MB for the corpus)."""
    rows = ["| features | storage | dim | cuts | audio (s) | files | bytes | bytes / s | MB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        rows.append(f"| {r.cuts_path} | {r.storage_type} | {r.dim} | {r.num_cuts} | {r.seconds:.1f} | "
                    f"{r.num_files} | {r.bytes} | {r.bytes_per_second:.1f} | {r.megabytes:.3f} |")
    return "\n".join(rows)
