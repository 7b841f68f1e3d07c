"""egs/vae/local/band_limit.py: cuts band-limited like FSDD's 8 kHz recordings (run.sh --vae-train-rate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from lhotse import CutSet, Recording, load_manifest

SCRIPT = Path(__file__).resolve().parents[2] / "egs" / "vae" / "local" / "band_limit.py"


def _band_energy(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_band_limit_removes_what_is_above_half_the_rate(tmp_path):
    rate = 16000
    t = np.arange(rate) / rate
    sf.write(tmp_path / "a.wav", 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t), rate)
    cuts = CutSet.from_manifests(recordings=[Recording.from_file(tmp_path / "a.wav", recording_id="a")])
    cuts.to_file(tmp_path / "in.jsonl.gz")
    out = tmp_path / "out.jsonl.gz"
    res = subprocess.run([sys.executable, str(SCRIPT), "--rate", "8000", str(tmp_path / "in.jsonl.gz"), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    cut = next(iter(load_manifest(out)))
    assert cut.sampling_rate == rate and abs(cut.duration - 1.0) < 1e-6
    x, y = cuts[0].load_audio()[0], cut.load_audio()[0]
    # the 1 kHz tone passes (within 1 dB), the 6 kHz one is gone (more than 30 dB down)
    assert abs(10 * np.log10(_band_energy(y, rate, 900, 1100) / _band_energy(x, rate, 900, 1100))) < 1.0
    assert 10 * np.log10(_band_energy(x, rate, 5900, 6100) / _band_energy(y, rate, 5900, 6100)) > 30
    # a rate that would not band-limit anything is refused in one line
    bad = subprocess.run([sys.executable, str(SCRIPT), "--rate", "16000", str(tmp_path / "in.jsonl.gz"), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--rate 16000" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
