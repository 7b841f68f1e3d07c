"""``audiofront plot``: train.log parsing, the PNG and terminal figures, and one-line errors for bad input."""

import json
import struct

import pytest
from typer.testing import CliRunner

from audiofront.cli.main import app
from audiofront.errors import UserError
from audiofront.plots.trainlog import parse_train_log

LOG = """\
2026-12-01 10:00:00,000 INFO task classify, 531 parameters (64 in the frontend), device cpu, world size 1, 6 steps planned
2026-12-01 10:00:01,000 INFO epoch 0 step 2 loss 2.5000 lr 0.001 grad-norm 3.1 audio-s/s 40.0 digit_loss 2.5 digit_acc 0.25
2026-12-01 10:00:02,000 INFO epoch 0 step 4 loss 2.0000 lr 0.003 grad-norm 2.9 audio-s/s 41.0 digit_loss 2 digit_acc 0.5
2026-12-01 10:00:02,500 WARNING step 4: non-finite loss (nan) or gradient norm (inf), update skipped
2026-12-01 10:00:03,000 INFO epoch 1 validation: loss 1.8 digit_loss 1.8 digit_acc 0.6
2026-12-01 10:00:03,100 INFO epoch 1 done in 3.0 s (step 4)
2026-12-01 10:00:04,000 INFO resumed from exp/last.pt at epoch 1, step 4
2026-12-01 10:00:05,000 INFO epoch 1 step 4 loss 1.9000 lr 0.003 grad-norm 2.0 audio-s/s 40.0 digit_loss 1.9 digit_acc 0.55
2026-12-01 10:00:06,000 INFO epoch 1 step 6 loss nan lr 0.0001 grad-norm 1.0 audio-s/s 39.0 digit_loss 1.5 digit_acc 0.75
2026-12-01 10:00:07,000 INFO epoch 2 validation: loss 1.2 digit_loss 1.2 digit_acc 0.8
2026-12-01 10:00:07,100 INFO epoch 2 done in 2.0 s (step 6)
2026-12-01 10:00:07,200 INFO averaged epoch-2.pt -> exp/avg.pt
"""
ASR_LOG = """\
2026-12-01 20:02:15,726 INFO task asr, 23460 parameters (0 in the frontend), device cpu, world size 1, 2 steps planned
2026-12-01 20:02:15,757 INFO epoch 0 step 1 loss 4.3689 lr 0.00012 grad-norm 7.59 audio-s/s 84.0 ctc_per_utt 21.84 frames 11.5
2026-12-01 20:02:15,790 INFO epoch 0 step 2 loss 3.7754 lr 0.003 grad-norm 7.24 audio-s/s 176.9 ctc_per_utt 26.43 frames 15.33
2026-12-01 20:02:16,000 INFO epoch 1 validation: loss 3.5 ter 0.9 wer_greedy 1.0
2026-12-01 20:02:16,100 INFO epoch 1 done in 0.4 s (step 2)
"""


def _exp(tmp_path, name, text):
    d = tmp_path / name
    d.mkdir(parents=True)
    (d / "train.log").write_text(text)
    return d


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _run(*args):
    result = CliRunner().invoke(app, list(map(str, args)))
    return result.exit_code, result.stdout, result.stderr


def test_parse_train_log_numbers(tmp_path):
    log = parse_train_log(_exp(tmp_path, "exp", LOG))
    # step 4 was logged twice (the run resumed from it): the later line wins; the NaN loss of step 6 is dropped
    assert log.series("train", "loss") == ([2, 4], [2.5, 1.9])
    assert log.series("train", "digit_acc") == ([2, 4, 6], [0.25, 0.55, 0.75])
    assert log.series("train", "lr") == ([2, 4, 6], [0.001, 0.003, 0.0001])
    # a validation line is placed at the step its epoch ended
    assert log.series("valid", "digit_acc") == ([4, 6], [0.6, 0.8])
    assert log.epochs == {1: 4, 2: 6}


def test_parse_asr_train_log(tmp_path):
    log = parse_train_log(_exp(tmp_path, "asr", ASR_LOG) / "train.log")
    assert log.series("train", "loss") == ([1, 2], [4.3689, 3.7754])
    assert log.series("valid", "wer_greedy") == ([2], [1.0])


def test_rates_panel_holds_rates_not_losses_and_each_series_its_colour(tmp_path):
    from audiofront.plots.figures import curve_panels

    text = ASR_LOG.replace("frames 15.33", "frames 15.33 ctc_final 3.1 ctc_inter 3.3")
    panels = {p.title: p for p in curve_panels([parse_train_log(_exp(tmp_path, "asr", text))], ["asr"])}
    rates = panels["Accuracy / error rate (%)"].series
    # ctc_inter is a loss whose name ends in "ter": not an error rate
    assert sorted(s.label for s in rates) == ["asr valid ter", "asr valid wer_greedy"]
    assert len({s.color for s in rates}) == 2


def test_curves_png_has_the_expected_size(tmp_path):
    a, b = _exp(tmp_path, "mel", LOG), _exp(tmp_path, "asr", ASR_LOG)
    png = tmp_path / "out" / "curves.png"
    code, _, err = _run("plot", "curves", a, b, "--png", png)
    assert code == 0, err
    # loss, rates and lr: 3 panels in a 2 x 2 grid of 6.4 x 4.0 inch cells at 110 dpi
    assert _png_size(png) == (int(2 * 6.4 * 110), int(2 * 4.0 * 110))


def test_curves_terminal_names_every_series(tmp_path):
    a, b = _exp(tmp_path, "mel", LOG), _exp(tmp_path, "asr", ASR_LOG)
    code, out, err = _run("plot", "curves", a, b, "--width", 120, "--height", 40)
    assert code == 0, err
    for name in ("mel train", "mel valid", "asr train", "asr valid", "Loss", "Learning rate"):
        assert name in out


@pytest.mark.parametrize("case", ["missing", "no_steps", "binary"])
def test_curves_bad_input_is_one_line(tmp_path, case):
    d = tmp_path / "exp"
    d.mkdir()
    if case == "no_steps":
        (d / "train.log").write_text(LOG.splitlines()[0] + "\n")
    elif case == "binary":
        (d / "train.log").write_bytes(b"\xff\xfe\x00garbage")
    code, out, err = _run("plot", "curves", d)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "train.log" in lines[0]
    assert "Traceback" not in err
    with pytest.raises(UserError):
        parse_train_log(d)


def _predictions(path, outcomes, head="digit"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"c{i}", "task": head, "kind": "single", "classes": ["0", "1"], "target": "0",
             "scores": [0.8, 0.2] if ok else [0.2, 0.8]} for i, ok in enumerate(outcomes)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _snr_runs(tmp_path):
    runs = []
    for system, accs in (("mel", {"clean": 4, "snr10dB": 3, "snr0dB": 1}), ("leaf", {"clean": 4, "snr10dB": 4, "snr0dB": 2})):
        for seed in (0, 1):
            run = tmp_path / "exp" / "t" / system / f"seed{seed}"
            for cond, n in accs.items():
                _predictions(run / "eval" / cond / "predictions.jsonl", [1] * n + [0] * (4 - n))
            runs.append(run)
    return runs


def test_snr_curves_average_seeds(tmp_path):
    from audiofront.cli.plot import _run_labels, snr_curves

    runs = _snr_runs(tmp_path)
    curves = snr_curves(runs, _run_labels(runs))
    assert curves["digit"]["mel"] == {"snr": [None, 10.0, 0.0], "mean": [1.0, 0.75, 0.25]}
    assert curves["digit"]["leaf"]["mean"] == [1.0, 1.0, 0.5]


def test_snr_png_and_terminal(tmp_path):
    runs = _snr_runs(tmp_path)
    png = tmp_path / "snr.png"
    code, _, err = _run("plot", "snr", *runs, "--png", png)
    assert code == 0, err
    assert _png_size(png) == (int(6.4 * 110), int(4.0 * 110))  # one panel
    code, out, err = _run("plot", "snr", *runs, "--width", 80, "--height", 20)
    assert code == 0, err
    assert "mel" in out and "leaf" in out and "accuracy vs SNR" in out
    code, _, err = _run("plot", "snr", tmp_path / "nowhere")
    assert code == 2 and err.count("\n") == 1 and "nowhere" in err


def test_study_bars_png_terminal_and_errors(tmp_path):
    _snr_runs(tmp_path)
    out_dir = tmp_path / "study"
    code, out, err = _run("plot", "study", tmp_path / "exp", "--out-dir", out_dir, "--n-boot", 100)
    assert code == 0, err
    assert "| t/digit | leaf | 2 | 4 | 100.0 ± 0.0 |" in out
    summary = json.loads((out_dir / "study.json").read_text())
    assert summary["comparisons"]["leaf"]["observed"] == pytest.approx(0.0)
    png = tmp_path / "bars.png"
    code, _, err = _run("plot", "bars", out_dir / "study.json", "--png", png)
    assert code == 0, err
    assert _png_size(png) == (int(4.8 * 110), int(3.6 * 110))  # one task: one panel
    code, out, err = _run("plot", "bars", out_dir / "study.json", "--width", 100)
    assert code == 0, err
    assert "mel 100.0%" in out and "leaf 100.0%" in out
    code, _, err = _run("plot", "snr", out_dir / "study.json", "--png", tmp_path / "s.png")
    assert code == 0, err
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = _run("plot", "bars", tmp_path / "bad.json")
    assert code == 2 and err.count("\n") == 1 and "bad.json" in err
    code, _, err = _run("plot", "bars", out_dir / "study.json", "--task", "nope")
    assert code == 2 and "t/digit" in err
