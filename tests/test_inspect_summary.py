"""The summary numbers of ``inspect-filters --json`` (share above 4 kHz, mean distance to the mel scale,
histogram of centres): what the self-supervised frontends study reports about the learned filters."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.frontends import build_frontend
from audiofront.inspect.filters import gather, summary_numbers


def test_mel_initialised_banks_sit_on_the_mel_scale_and_random_ones_do_not():
    mel = gather(build_frontend("mel", n_filters=40)).to_dict()["summary"]
    leaf = gather(build_frontend("leaf", n_filters=40)).to_dict()["summary"]
    torch.manual_seed(0)
    rand = gather(build_frontend("leaf", n_filters=40, init="random", min_hz=0.0, max_hz=8000.0)).to_dict()["summary"]
    assert mel["mean_mel_distance"] < 1.0 and leaf["mean_mel_distance"] < 5.0
    assert rand["mean_mel_distance"] > 100.0
    # mel puts about a fifth of 40 filters above 4 kHz; uniform centres over 0-8 kHz about half
    assert 0.1 < mel["share_above_4khz"] < 0.3
    assert 0.3 < rand["share_above_4khz"] < 0.7
    hist = rand["center_histogram"]
    assert hist["edges_hz"][0] == 0 and hist["edges_hz"][-1] == 8000 and len(hist["counts"]) == 16
    assert sum(hist["counts"]) == 40
    assert sum(mel["center_histogram"]["counts"][:8]) > sum(mel["center_histogram"]["counts"][8:])


def test_json_output_carries_the_summary():
    res = CliRunner().invoke(app, ["inspect-filters", "sincnet", "--conf", "init=random", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)["frontends"][0]["summary"]
    assert set(summary) == {"share_above_4khz", "mean_mel_distance", "median_bandwidth_ratio", "center_histogram"}


def test_bandwidth_ratio_follows_the_filters_it_pairs():
    leaf = build_frontend("leaf", n_filters=40)
    assert abs(gather(leaf).to_dict()["summary"]["median_bandwidth_ratio"] - 1.0) < 0.05
    report = gather(leaf)
    # every filter twice as wide, and the bank shuffled: pairing by sorted centre finds exactly 2 (a pairing
    # by position would compare unrelated filters, whose widths differ up to 20-fold)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    report.center_hz, report.bandwidth_hz = report.center_hz[perm], 2 * report.bandwidth_hz[perm]
    assert abs(summary_numbers(report)["median_bandwidth_ratio"] - 2.0) < 1e-3
