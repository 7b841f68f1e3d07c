"""`extract --storage float32|float16|lilcom` with the vae frontend, and storage figures measured from files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lhotse import CutSet

from audiofront.data.extract import (
    FLOAT16_MAX_RELATIVE_ERROR,
    LILCOM_MAX_ERROR,
    extract_features,
    load_features,
    storage_report,
)
from audiofront.errors import UserError
from test_extract import _direct, cuts_path  # noqa: F401 - the four-cut fixture of the extract tests
from vae_fixtures import tiny_vae_checkpoint


@pytest.fixture
def extracted(cuts_path, tmp_path):  # noqa: F811
    conf = {"checkpoint": tiny_vae_checkpoint()}
    outs = {s: extract_features(cuts_path, tmp_path / s, frontend="vae", frontend_conf=conf, storage=s, batch_seconds=0.6)
            for s in ("float32", "float16", "lilcom")}
    return conf, outs


def test_extract_then_load_equals_on_the_fly(extracted):
    conf, outs = extracted
    worst = {}
    for storage, out in outs.items():
        cuts = CutSet.from_file(out.cuts_path)
        assert len(cuts) == 4
        for cut in cuts:
            stored, direct = load_features(cut), _direct("vae", cut, **conf)
            assert stored.dtype == np.float32 and stored.shape == direct.shape
            err = np.abs(stored - direct)
            if storage == "float32":
                bound = 1e-5  # batched vs single-cut convolutions: float rounding only
            elif storage == "float16":
                bound = FLOAT16_MAX_RELATIVE_ERROR * np.abs(direct) + 1e-5
            else:
                bound = LILCOM_MAX_ERROR + 1e-5
            assert (err <= bound).all(), f"{storage}: error {err.max():.3g} over its bound"
            worst[storage] = max(worst.get(storage, 0.0), float(err.max()))
    # the lossy storages do lose something (else the bounds above would test nothing)
    assert worst["float16"] > 0 and worst["lilcom"] > worst["float32"]


def _bytes_under(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum((Path(d) / f).stat().st_size for d, _, files in os.walk(path) for f in files)


def test_storage_report_sums_the_files_written(extracted, cuts_path):  # noqa: F811
    _, outs = extracted
    seconds = sum(c.duration for c in CutSet.from_file(cuts_path))
    reports = {s: storage_report(out.cuts_path) for s, out in outs.items()}
    for storage, out in outs.items():
        r = reports[storage]
        assert r.bytes == _bytes_under(out.storage_path) > 0
        assert r.num_files == (1 if storage == "lilcom" else 4) and r.num_cuts == 4 and r.dim == 5
        assert r.seconds == pytest.approx(seconds) and r.bytes_per_second == pytest.approx(r.bytes / seconds)
    assert reports["float16"].bytes < reports["float32"].bytes
    assert "float16" in reports["float16"].storage_type
    # a feature file that went missing is an error, not a smaller number
    victim = next(p for p in Path(outs["float16"].storage_path).rglob("*.npy"))
    victim.unlink()
    with pytest.raises(UserError, match="does not exist"):
        storage_report(outs["float16"].cuts_path)


def test_storage_report_command(extracted, tmp_path):
    _, outs = extracted
    table = tmp_path / "storage.md"
    run = subprocess.run([sys.executable, "-m", "audiofront.cli.main", "storage-report", str(outs["lilcom"].cuts_path),
                          str(outs["float32"].cuts_path), "--markdown", str(table)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = table.read_text().splitlines()
    assert len(rows) == 4 and "bytes / s" in rows[0]
    assert rows[2].split("|")[7].strip() == str(storage_report(outs["lilcom"].cuts_path).bytes)


def test_a_folder_is_one_report_over_its_manifests(cuts_path, tmp_path):  # noqa: F811
    import shutil

    other = tmp_path / "tiny_cuts_test.jsonl.gz"
    shutil.copy(cuts_path, other)  # a second split, as `extract` leaves train and test side by side
    conf = {"checkpoint": tiny_vae_checkpoint()}
    outs = [extract_features(p, tmp_path / "both", frontend="vae", frontend_conf=conf, storage="lilcom") for p in (cuts_path, other)]
    parts = [storage_report(o.cuts_path) for o in outs]
    whole = storage_report(tmp_path / "both")
    assert whole.num_cuts == 8 and whole.num_files == 2
    assert whole.bytes == sum(p.bytes for p in parts) and whole.seconds == pytest.approx(sum(p.seconds for p in parts))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="without feature manifests"):
        storage_report(empty)
