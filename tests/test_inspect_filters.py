"""`audiofront inspect-filters`: the numbers it prints, the figures it draws, the errors it gives.

Besides `mel`, the tests use two tiny frontends defined here (registered only while these tests run), so
that they depend on no other learnable frontend: a Gabor-like bank whose centres are parameters, with a
per-channel tensor in ``inspection()``, and a frontend without filters.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.frontends import FilterBank, Frontend, FrontendConfig, build_frontend, register_frontend
from audiofront.frontends import registry as _registry
from audiofront.frontends.base import centered_num_frames
from audiofront.frontends.checkpoint import frontend_checkpoint_entry
from audiofront.frontends.melscale import fwhm_to_sigma_time, mel_centers_and_fwhm
from audiofront.inspect import InspectError, default_filter_indices, gather, inspect_specs, parse_filter_indices
from audiofront.inspect.plots import build_panels, render_terminal, write_png

TINY = "test-inspect-tiny"
NOFILTERS = "test-inspect-nofilters"
runner = CliRunner()


@dataclass
class TinyConfig(FrontendConfig):
    n_filters: int = 6
    min_hz: float = 200.0
    max_hz: float = 4000.0
    taps: int = 257


class TinyGabor(Frontend):
    """Complex Gabor filters whose centres and FWHM (Hz) are the parameters; features are not the point."""

    Config = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__(config)
        centres, fwhm = mel_centers_and_fwhm(config.n_filters, config.min_hz, config.max_hz)
        self.center_hz = nn.Parameter(centres.clone())
        self.fwhm_hz = nn.Parameter(fwhm.clone())
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, config.n_filters))

    @property
    def frame_shift(self) -> int:
        return 160

    @property
    def output_dim(self) -> int:
        return self.config.n_filters

    def num_frames(self, lengths):
        return centered_num_frames(lengths, 160)

    def compute(self, waveforms):
        frames = int(self.num_frames(torch.tensor([waveforms.shape[1]]))[0])
        return waveforms.new_zeros(waveforms.shape[0], frames, self.output_dim) + self.gain

    def filters(self):
        sr = self.sample_rate
        t = torch.arange(self.config.taps, dtype=torch.float32) - self.config.taps // 2
        sigma = fwhm_to_sigma_time(self.fwhm_hz.detach(), sr).float()[:, None]
        omega = 2 * math.pi * self.center_hz.detach()[:, None] / sr
        h = torch.exp(-(t**2) / (2 * sigma**2)) * torch.exp(1j * omega * t) / (math.sqrt(2 * math.pi) * sigma)
        return FilterBank(self.center_hz.detach().clone(), self.fwhm_hz.detach().clone(), sr, impulse_responses=h)

    def inspection(self):
        return {"gain": self.gain.detach(), "scalar_thing": torch.tensor(1.5)}


class NoFilters(TinyGabor):
    def filters(self):
        return None


@pytest.fixture(autouse=True, scope="module")
def tiny_frontends():
    register_frontend(TINY)(TinyGabor)
    register_frontend(NOFILTERS)(NoFilters)
    yield
    # the registry has no public removal: take them out so no other test ever sees them
    _registry._REGISTRY.pop(TINY, None)
    _registry._REGISTRY.pop(NOFILTERS, None)


def invoke(*args: str):
    return runner.invoke(app, ["inspect-filters", *args])


def run_json(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---- numbers ---------------------------------------------------------------------------------------
def test_json_numbers_equal_python_for_mel():
    data = run_json("mel", "--conf", "n_filters=24", "--conf", "max_hz=7000")
    (fe_json,) = data["frontends"]
    bank = build_frontend("mel", n_filters=24, max_hz=7000).filters()
    assert fe_json["frontend"] == "mel" and fe_json["n_filters"] == 24
    assert fe_json["center_hz"] == bank.center_hz.tolist()
    assert fe_json["bandwidth_hz"] == bank.bandwidth_hz.tolist()
    mel_c, mel_bw = mel_centers_and_fwhm(24, 60.0, 7000.0)
    assert fe_json["mel_reference"]["min_hz"] == 60.0 and fe_json["mel_reference"]["max_hz"] == 7000.0
    assert fe_json["mel_reference"]["center_hz"] == mel_c.tolist()
    assert fe_json["mel_reference"]["bandwidth_hz"] == mel_bw.tolist()
    responses = fe_json["responses"]
    assert responses["filters"] == default_filter_indices(24) == [0, 6, 12, 17, 23]
    freqs, mags = bank.frequency_response()
    assert responses["frequencies_hz"] == pytest.approx(freqs.tolist())
    expected_db = (20 * torch.log10(mags[responses["filters"]] / mags.max())).clamp(min=-120)
    assert torch.allclose(torch.tensor(responses["db"], dtype=torch.float64), expected_db.double(), atol=1e-4)


def test_json_of_a_learnable_bank_with_inspection_tensors():
    data = run_json(TINY, "--conf", "n_filters=8", "--filters", "1,6")
    (fe_json,) = data["frontends"]
    fe = build_frontend(TINY, n_filters=8)
    assert fe_json["center_hz"] == fe.center_hz.detach().tolist()
    assert fe_json["inspection"]["gain"] == fe.gain.detach().tolist()
    assert fe_json["inspection"]["scalar_thing"] == 1.5
    assert fe_json["responses"]["filters"] == [1, 6]
    # each response peaks at its filter's centre (the Gabor's spectrum is a Gaussian around it)
    freqs = torch.tensor(fe_json["responses"]["frequencies_hz"])
    for k, index in enumerate([1, 6]):
        peak_hz = float(freqs[torch.tensor(fe_json["responses"]["db"][k]).argmax()])
        assert abs(peak_hz - fe_json["center_hz"][index]) <= float(freqs[1] - freqs[0])
    # the untrained tiny bank starts on its own mel reference
    assert fe_json["mel_reference"]["center_hz"] == pytest.approx(fe_json["center_hz"], rel=1e-6)


def test_checkpoint_round_trip_shows_the_trained_centres(tmp_path):
    fe = build_frontend(TINY, n_filters=6)
    with torch.no_grad():
        fe.center_hz.mul_(torch.linspace(0.7, 1.3, 6))
        fe.fwhm_hz.add_(25.0)
    ckpt = {
        "frontend": frontend_checkpoint_entry(fe),
        "model": {**{f"frontend.{k}": v for k, v in fe.state_dict().items()}, "encoder.weight": torch.ones(3)},
        "epoch": 3,
    }
    path = tmp_path / "ckpt.pt"
    torch.save(ckpt, path)
    (fe_json,) = run_json(str(path))["frontends"]
    assert fe_json["label"] == f"ckpt.pt ({TINY})"
    assert fe_json["center_hz"] == fe.center_hz.detach().tolist()
    assert fe_json["bandwidth_hz"] == fe.fwhm_hz.detach().tolist()
    untrained = build_frontend(TINY, n_filters=6).center_hz.detach().tolist()
    assert fe_json["center_hz"] != pytest.approx(untrained)
    # the mel reference stays the untrained mel spacing: the distance from it is what training did
    assert fe_json["mel_reference"]["center_hz"] == pytest.approx(untrained, rel=1e-6)


def test_compare_gives_both_frontends_on_every_panel():
    data = run_json(TINY, "--compare", "mel", "--compare-conf", "n_filters=10")
    main, other = data["frontends"]
    assert (main["label"], other["label"]) == (TINY, "mel")
    assert other["n_filters"] == 10 and other["center_hz"] == build_frontend("mel", n_filters=10).filters().center_hz.tolist()
    # the default spread of the main bank (6 filters) exists in the 10-filter bank too
    assert other["responses"]["filters"] == main["responses"]["filters"] == default_filter_indices(6)

    reports = inspect_specs(TINY, compare="mel")
    panels = build_panels(reports)
    assert [p.title.split()[0] for p in panels] == ["Centre", "Bandwidth", "Responses", "Gain"]
    for panel in panels[:3]:
        assert {s.role for s in panel.series} >= {"main", "compare"}, panel.title
    assert {s.role for s in panels[0].series} == {"main", "compare", "reference"}
    # a mel reference per bank (6 filters at 200-4000 Hz, 40 at 60-7800 Hz), one when they agree
    assert sum(s.role == "reference" for s in panels[0].series) == 2
    same = build_panels(inspect_specs("mel", compare="mel"))
    assert sum(s.role == "reference" for s in same[0].series) == 1
    assert panels[1].xscale == panels[1].yscale == "log" and panels[2].xscale == "log"


def test_same_spec_twice_gets_distinct_labels():
    main, other = run_json("mel", "--compare", "mel", "--compare-conf", "n_filters=20")["frontends"]
    assert main["label"] != other["label"] and other["n_filters"] == 20


def test_a_filter_at_zero_hz_keeps_the_log_axes(tmp_path):
    fe = build_frontend(TINY)
    with torch.no_grad():
        fe.center_hz[0] = 0.0
    report = gather(fe)
    panels = build_panels([report])
    assert panels[0].yscale == "log" and panels[1].xscale == "log"
    main = [s for s in panels[0].series if s.role == "main"][0]
    assert main.y[0] == 10.0 and main.y[1:] == report.center_hz[1:].tolist()
    assert panels[0].title.endswith("[1 under 10 Hz]") and panels[1].title.endswith("[1 under 10 Hz]")
    assert report.center_hz[0] == 0.0  # the numbers themselves are untouched
    write_png(panels[:2], tmp_path / "zero.png")  # matplotlib must not choke either
    assert (tmp_path / "zero.png").stat().st_size > 10_000


# ---- figures ---------------------------------------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_is_written_atomically(tmp_path):
    out = tmp_path / "figs" / "tiny_vs_mel.png"
    result = invoke(TINY, "--compare", "mel", "--png", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stderr and result.stdout == ""
    data = out.read_bytes()
    width, height = _png_size(data)
    assert width > 800 and height > 800 and len(data) > 30_000
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny_vs_mel.png"]  # no temporary left behind


def test_png_write_failure_is_reported_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    result = invoke("mel", "--png", str(blocker / "out.png"))
    assert result.exit_code == 1
    assert "could not write" in result.stderr and str(blocker / "out.png") in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_dir"]


def test_terminal_plot_fits_the_asked_size():
    result = invoke(TINY, "--compare", "mel", "--width", "100", "--height", "44")
    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").split("\n")
    assert max(len(line) for line in lines) <= 100
    text = result.stdout
    for title in ("Centre frequency", "Bandwidth", "Responses (dB) of filters", "Gain per channel"):
        assert title in text
    legend = "\n".join(lines[next(i for i, line in enumerate(lines) if line.startswith("legend: ")):])
    assert TINY in legend and "mel scale" in legend and "\u259a mel" in legend
    assert "\x1b[" not in text  # no colour codes when not writing to a terminal


def test_terminal_one_column_when_narrow():
    panels = build_panels(inspect_specs(TINY))
    text = render_terminal(panels, width=80, height=4 * 12)
    lines = text.rstrip("\n").split("\n")
    assert max(len(line) for line in lines) <= 80
    # four panels stacked: every title on its own line
    titles = [i for i, line in enumerate(lines) if "Centre frequency" in line or "Gain per channel" in line]
    assert len(titles) == 2 and titles[1] - titles[0] > 24


def test_terminal_colours_do_not_count_towards_the_width():
    text = render_terminal(build_panels(inspect_specs(TINY, compare="mel")), width=90, height=50, color=True)
    assert "\x1b[" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert max(len(line) for line in plain.split("\n")) <= 90
    assert "responses: #0" in plain  # in colour, each response filter's colour is named


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        ([NOFILTERS], "has no filters to inspect"),
        (["no-such-frontend"], "'no-such-frontend' is neither a frontend name"),
        (["mel", "--filters", "3,99"], "no filter 99"),
        (["mel", "--filters", "a,b"], "'a' is not a non-negative integer"),
        (["mel", "--conf", "bogus=1"], "no option(s) bogus"),
        (["mel", "--compare-conf", "n_filters=3"], "--compare-conf needs --compare"),
        (["mel", "--compare", NOFILTERS], "has no filters to inspect"),
        (["mel", "--height", "12"], "--height 12 is too short"),
        (["mel", "--width", "20"], "--width 20 is too narrow"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_not_a_checkpoint_exits_2(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = invoke(str(text))
    assert result.exit_code == 2 and "could not read checkpoint" in result.stderr and str(text) in result.stderr
    other = tmp_path / "other.pt"
    torch.save({"model": {}}, other)
    result = invoke(str(other))
    assert result.exit_code == 2 and "not an audiofront checkpoint" in result.stderr


def test_checkpoint_with_mismatched_conf_exits_2(tmp_path):
    fe = build_frontend(TINY, n_filters=6)
    path = tmp_path / "c.pt"
    torch.save({"frontend": frontend_checkpoint_entry(fe), "model": {f"frontend.{k}": v for k, v in fe.state_dict().items()}}, path)
    result = invoke(str(path), "--conf", "n_filters=9")
    assert result.exit_code == 2 and "could not load the frontend weights" in result.stderr


def test_filter_index_helpers():
    assert parse_filter_indices(None) is None and parse_filter_indices(" ") is None
    assert parse_filter_indices("0, 10,20,10") == [0, 10, 20]
    with pytest.raises(InspectError, match="-1"):
        parse_filter_indices("-1")
    assert default_filter_indices(1) == [0]
    assert default_filter_indices(3) == [0, 1, 2]
    assert default_filter_indices(40) == [0, 10, 20, 29, 39]
    assert default_filter_indices(64, count=3) == [0, 32, 63]
