"""The learned-filter report of the studies: egs/utils/filter_table.py and filter_figure.py on hand-made
inspect-filters JSON (the averages checked by hand), and filters.sh's plumbing with a fake `audiofront` (which checkpoints it reads, where it writes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from fake_cli import TOUCH_PNG, fake_audiofront, print_on_json

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "egs" / "utils" / "filter_table.py"


def _report(distance: float, above: float, ratio: float, widths: list[float]) -> dict:
    return {"frontends": [{"summary": {"mean_mel_distance": distance, "share_above_4khz": above,
                                       "median_bandwidth_ratio": ratio},
                           "inspection": {"pooling_width": widths, "pcen_alpha": [0.5, 1.0]}}]}


def test_filter_table_averages_seeds_and_channels(tmp_path):
    system = tmp_path / "fsdd-digits" / "leaf"
    system.mkdir(parents=True)
    (system / "seed0.json").write_text(json.dumps(_report(10.0, 0.25, 1.0, [0.2, 0.4, 0.6])))
    (system / "seed1.json").write_text(json.dumps(_report(20.0, 0.50, 2.0, [0.1, 0.2, 0.3])))
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "leaf.json").write_text(json.dumps(_report(0.0, 0.25, 1.0, [0.4, 0.4])))
    res = subprocess.run([sys.executable, str(TABLE), str(tmp_path)], capture_output=True, text=True, check=True)
    rows = [ln for ln in res.stdout.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert rows[1].startswith("| untrained leaf | 1 | 0.0 | 25% | 1.00 | 0.4 [0.4, 0.4] | 0.75 [0.5, 1] |")
    # distance 15 ± std(10, 20) = 7.1; share (25+50)/2; ratio 1.5; widths: means 0.4 and 0.2 -> 0.3,
    # lowest channel (0.2 + 0.1)/2, highest (0.6 + 0.3)/2; alpha identical in both seeds
    assert rows[2] == "| fsdd-digits / leaf | 2 | 15.0 ± 7.1 | 38% | 1.50 | 0.3 [0.15, 0.45] | 0.75 [0.5, 1] |  |  |  |"


def test_filter_table_refuses_a_missing_folder(tmp_path):
    res = subprocess.run([sys.executable, str(TABLE), str(tmp_path / "nope")], capture_output=True, text=True)
    assert res.returncode != 0 and "usage" in res.stderr


def test_filters_sh_reads_every_trained_checkpoint_of_the_named_systems(tmp_path):
    egs = tmp_path / "egs"
    shutil.copytree(REPO / "egs" / "leaf_study", egs / "leaf_study")
    shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    study = egs / "leaf_study"
    for run in ("fsdd-digits/leaf/seed0", "fsdd-digits/leaf/seed1", "multitask/leaf/seed0", "fsdd-digits/mel/seed0",
                "fsdd-digits/gabor+log/seed2"):
        (study / "exp" / run).mkdir(parents=True)
        (study / "exp" / run / "avg.pt").write_bytes(b"")
    (study / "exp" / "fsdd-digits" / "leaf" / "seed3").mkdir()  # no checkpoint: skipped
    template = tmp_path / "report.json"
    template.write_text(json.dumps(_report(1.0, 0.2, 1.1, [0.4])))
    env, calls = fake_audiofront(tmp_path, print_on_json(template), TOUCH_PNG)
    res = subprocess.run(["bash", str(study / "filters.sh"), "--systems", "leaf gabor+log"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    out = study / "exp" / "filters"
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert written == ["fsdd-digits/gabor+log/seed2.json", "fsdd-digits/leaf/seed0.json", "fsdd-digits/leaf/seed1.json",
                       "init/leaf.json", "init/mel-pcen.json", "init/sincnet.json", "multitask/leaf/seed0.json"]
    assert (out / "fsdd-digits" / "leaf.png").exists() and not (out / "fsdd-digits" / "gabor+log.png").exists()
    table = (out / "filters.md").read_text()
    assert "| fsdd-digits / leaf | 2 |" in table and "| multitask / leaf | 1 |" in table and "fsdd-digits / mel |" not in table
    assert "inspect-filters exp/fsdd-digits/leaf/seed0/avg.pt --compare mel --png" in calls.read_text()


def test_filters_sh_says_when_nothing_was_trained(tmp_path):
    egs = tmp_path / "egs"
    shutil.copytree(REPO / "egs" / "leaf_study", egs / "leaf_study")
    shutil.copytree(REPO / "egs" / "utils", egs / "utils")
    env, _ = fake_audiofront(tmp_path, "echo '{}'")
    res = subprocess.run(["bash", str(egs / "leaf_study" / "filters.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "no exp/TASK/SYSTEM/seedN/avg.pt" in res.stderr


def test_filter_figure_averages_the_centre_histograms_over_seeds(tmp_path):
    sys.path.insert(0, str(REPO / "egs" / "utils"))
    try:
        from filter_figure import mean_histograms
    finally:
        sys.path.pop(0)

    def report(counts: list[int], frontend: str = "leaf") -> str:
        return json.dumps({"frontends": [{"frontend": frontend, "summary": {
            "center_histogram": {"edges_hz": [0.0, 500.0, 1000.0], "counts": counts}}}]})

    system = tmp_path / "cola" / "leaf_random"
    system.mkdir(parents=True)
    (system / "seed0.json").write_text(report([3, 1]))
    (system / "seed1.json").write_text(report([1, 3]))
    (system / "notes.txt").write_text("not a seed")
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "sincnet_mel.json").write_text(report([4, 0], "sincnet"))
    hists = mean_histograms(tmp_path)
    assert hists["cola / leaf_random"]["counts"] == [2.0, 2.0] and hists["cola / leaf_random"]["seeds"] == 2
    assert hists["untrained sincnet_mel"] == {"frontend": "sincnet", "edges_hz": [0.0, 500.0, 1000.0],
                                              "counts": [4.0, 0.0], "seeds": 1}
    png = tmp_path / "centres.png"
    res = subprocess.run([sys.executable, str(REPO / "egs" / "utils" / "filter_figure.py"), str(tmp_path), str(png)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert png.stat().st_size > 1000
