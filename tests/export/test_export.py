"""Every registry frontend, and trained ASR and classification models, exported to ONNX and TorchScript and
run outside PyTorch's eager mode: the outputs must equal the PyTorch model's within 1e-4 of the output scale
and the lengths exactly, at batch sizes and lengths other than the traced one, from ONE file per case
(so frame counts and masks come from the traced inputs, not constants of the trace)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from audiofront.export import export_frontend, load_runner, relative_error, sidecar_path
from audiofront.frontends import build_frontend, list_frontends
from vae_fixtures import tiny_vae_checkpoint

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-4

# name -> (frontend, config): default configs for the frontends users deploy (mel, fbank, leaf), small ones
# elsewhere to keep the suite fast, and every variant with its own code path (STFT first layers, 40 ms)
CASES = {
    "mel": ("mel", {}),
    "fbank": ("fbank", {}),
    "leaf": ("leaf", {}),
    "mfcc": ("mfcc", {"n_filters": 20, "n_ceps": 8}),
    "mel-pcen": ("mel-pcen", {"n_filters": 8}),
    "tdfbanks": ("tdfbanks", {"n_filters": 4}),
    "sincnet": ("sincnet", {"n_filters": 4}),
    "sincnet+": ("sincnet+", {"n_filters": 4}),
    "2dconv": ("2dconv", {"n_filters": 4, "channels": [4] * 6, "output_size": 16}),
    "2dconv[stft_mag]": ("2dconv", {"first_layer": "stft_mag", "n_fft": 64, "channels": [2] * 6, "output_size": 8}),
    "2dconv[stft_complex]": ("2dconv", {"first_layer": "stft_complex", "n_fft": 64, "channels": [2] * 6, "output_size": 8}),
    "scf": ("scf", {"n_filters": 8, "n_envelope_filters": 2}),
    "wav2vec": ("wav2vec", {"channels": 8}),
    "wav2vec[40ms]": ("wav2vec", {"channels": 8, "variant": "40ms"}),
    # a trained model's frontend (tests/vae_fixtures.py: a tiny random VAE checkpoint)
    "vae": ("vae", {"checkpoint": tiny_vae_checkpoint()}),
    "vae[mel]": ("vae", {"checkpoint": tiny_vae_checkpoint(mel=True)}),
}
FORMATS = ("onnx", "torchscript")


def _need(fmt: str) -> None:
    if fmt == "onnx":
        for module in ("onnx", "onnxscript", "onnxruntime"):
            pytest.importorskip(module, reason=f"ONNX export tests need {module} (pip install -e '.[export]')")


def _perturbed(name: str, conf: dict) -> torch.nn.Module:
    """The frontend with every parameter moved off its initial value (so a copy that dropped the weights
    would differ), in eval mode."""
    torch.manual_seed(0)
    fe = build_frontend(name, **conf)
    with torch.no_grad():
        for p in fe.parameters():
            p.mul_(1 + 0.05 * torch.randn_like(p))
    return fe.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``exported(case, fmt) -> (frontend, path, sidecar)``, each case exported once per module."""
    root = tmp_path_factory.mktemp("export")
    files: dict = {}

    def get(case: str, fmt: str):
        key = (case, fmt)
        if key not in files:
            fe = _perturbed(*CASES[case])
            path = root / f"{case.replace('[', '_').replace(']', '')}.{'onnx' if fmt == 'onnx' else 'pt'}"
            meta = export_frontend(fe, fmt, path)
            files[key] = (fe, path, meta)
        return files[key]

    return get


def _shapes(min_samples: int) -> list[tuple[int, int]]:
    """The shortest input alone, very short and odd lengths, and a batch of four around 1 s."""
    short = max(min_samples, 1)
    return [(1, short), (2, short + 3), (3, max(short, 161) | 1), (1, max(short, 801)), (4, 16000 + 37)]


def _compare(fe, run, waveforms: torch.Tensor, lengths: torch.Tensor) -> float:
    with torch.no_grad():
        ref, ref_lengths = fe(waveforms, lengths)
    out, out_lengths = run(waveforms.numpy(), lengths.numpy())
    assert out.shape == tuple(ref.shape), (out.shape, tuple(ref.shape))
    assert out_lengths.dtype == np.int64 and out_lengths.tolist() == ref_lengths.tolist()
    assert np.abs(ref.numpy()).max() > 0  # a comparison of zeros would prove nothing
    # frames past each sequence's length are exactly zero, as in PyTorch
    for b, n in enumerate(ref_lengths.tolist()):
        assert not out[b, n:].any()
    return relative_error(out, ref.numpy())


def test_every_registry_frontend_has_a_case():
    assert {name for name, _ in CASES.values()} == set(list_frontends())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(CASES))
def test_exported_frontend_equals_pytorch(case, fmt, exported):
    _need(fmt)
    fe, path, meta = exported(case, fmt)
    run = load_runner(path, fmt)
    gen = torch.Generator().manual_seed(1)
    for batch, samples in _shapes(fe.min_samples):
        waveforms = 0.1 * torch.randn(batch, samples, generator=gen)
        lengths = torch.randint(max(1, fe.min_samples), samples + 1, (batch,), generator=gen)
        lengths[0] = samples
        err = _compare(fe, run, waveforms, lengths)
        assert err <= TOL, f"{case} {fmt} at {batch}x{samples}: relative error {err:.2e}"


def _real_audio() -> tuple[torch.Tensor, torch.Tensor]:
    import soundfile as sf

    root = REPO.parent / "shared" / "data" / "LibriSpeech"
    files = sorted(root.rglob("*.flac"))[:2] if root.is_dir() else []
    if len(files) < 2:
        pytest.skip(f"no LibriSpeech audio under {root} for the real-audio check")
    clips = [torch.from_numpy(sf.read(f, dtype="float32")[0][: 16000 * 2 - 7 * i]) for i, f in enumerate(files)]
    lengths = torch.tensor([c.shape[0] for c in clips])
    batch = torch.zeros(len(clips), int(lengths.max()))
    for i, c in enumerate(clips):
        batch[i, : c.shape[0]] = c
    return batch, lengths


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", ["mel", "fbank", "leaf", "mel-pcen", "sincnet", "2dconv", "wav2vec"])
def test_exported_frontend_equals_pytorch_on_real_speech(case, fmt, exported):
    _need(fmt)
    waveforms, lengths = _real_audio()
    fe, path, _ = exported(case, fmt)
    err = _compare(fe, load_runner(path, fmt), waveforms, lengths)
    assert err <= TOL, f"{case} {fmt} on speech: relative error {err:.2e}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_pcen_holds_over_a_minute(fmt, exported):
    """6000 frames: the export's branch-free PCEN scan against the chunked one of training, in float32."""
    _need(fmt)
    fe, path, _ = exported("mel-pcen", fmt)
    gen = torch.Generator().manual_seed(4)
    waveforms = 0.1 * torch.randn(2, 60 * 16000, generator=gen) * torch.linspace(0, 3, 60 * 16000).cos()
    err = _compare(fe, load_runner(path, fmt), waveforms, torch.tensor([60 * 16000, 45 * 16000 + 1]))
    assert err <= TOL, f"mel-pcen {fmt} at 60 s: relative error {err:.2e}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_sidecar_describes_the_file(fmt, exported):
    _need(fmt)
    fe, path, meta = exported("leaf", fmt)
    side = json.loads(sidecar_path(path).read_text())
    assert side == meta
    assert side["format"] == fmt and side["file"] == path.name
    assert (side["sample_rate"], side["frame_shift"], side["output_dim"]) == (16000, 160, 40)
    assert side["frontend"]["name"] == "leaf" and side["frontend"]["config"]["n_filters"] == 40
    # the config rebuilds the same frontend (the fast path it was trained with, not the export's reference path)
    assert build_frontend("leaf", **side["frontend"]["config"]).config == fe.config
    assert [i["name"] for i in side["inputs"]] == ["waveforms", "lengths"]
    assert [(o["name"], o["dtype"]) for o in side["outputs"]] == [("features", "float32"), ("frame_lengths", "int64")]
    assert side["dynamic_axes"]["waveforms"] == {"0": "batch", "1": "samples"}
    assert side["dynamic_axes"]["features"] == {"0": "batch", "1": "frames"}
    if fmt == "onnx":
        import onnx

        model = onnx.load(str(path))
        assert side["opset"] == next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        assert [i.name for i in model.graph.input] == ["waveforms", "lengths"]
        assert [o.name for o in model.graph.output] == ["features", "frame_lengths"]
        # batch and length are symbolic axes, not the sizes of the traced example, named as in the sidecar
        assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == ["batch", "samples"]
        frames = model.graph.output[0].type.tensor_type.shape.dim[1].dim_param
        assert "samples" in frames and "//160" in frames, frames
        assert side["outputs"][0]["onnx_shape"] == ["batch", frames, 40]
    else:
        assert side["opset"] is None


def test_reference_scan_equals_pcen_smoother():
    """The branch-free PCEN scan of the export equals the chunked one of training, across chunk boundaries."""
    from audiofront.export.traceable import decay_scan_doubling
    from audiofront.frontends.compression import _decay_scan

    torch.manual_seed(0)
    for steps in (1, 2, 63, 64, 65, 4097 + 64 * 3):
        u = torch.rand(2, 3, steps, dtype=torch.float64)
        decay = torch.tensor([0.0, 0.5, 0.999], dtype=torch.float64)
        init = torch.rand(2, 3, dtype=torch.float64)
        torch.testing.assert_close(decay_scan_doubling(u, decay, init), _decay_scan(u, decay, init, 64))


# ---- trained models ----------------------------------------------------------------------------------------

def _cli(*args: str):
    from typer.testing import CliRunner

    from audiofront.cli.main import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def asr_checkpoint(tmp_path_factory):
    """A few steps of `audiofront train` (LEAF frontend with sPCEN, 1-layer Conformer) on synthetic words."""
    sys.path.insert(0, str(REPO / "tests" / "training"))
    from asr_train_synth import make_corpus, make_lang, write_recipe

    root = tmp_path_factory.mktemp("asr")
    cuts = make_corpus(root / "corpus", n=6)
    lang = make_lang(root / "lang", cuts)
    recipe = write_recipe(root / "recipe.yaml", cuts, lang, num_epochs=1)
    res = _cli("train", "--config", str(recipe), "--exp-dir", str(root / "exp"), "--max-steps", "3",
               "--frontend", "leaf", "--frontend-conf", "n_filters=8", "--set", "speed_perturb=null", "--no-progress")
    assert res.exit_code == 0, res.output
    return root / "exp" / "avg.pt"


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_exports_a_trained_asr_model(fmt, asr_checkpoint, tmp_path):
    _need(fmt)
    from audiofront.tasks import load_model

    out = tmp_path / ("asr.onnx" if fmt == "onnx" else "asr.pt")
    res = _cli("export", "--checkpoint", str(asr_checkpoint), "--format", fmt, "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "output log_probs" in res.output and "max relative error" in res.output
    side = json.loads(sidecar_path(out).read_text())
    task, model = load_model(asr_checkpoint)
    assert side["kind"] == "asr" and side["vocab_size"] == model.vocab_size and side["blank_id"] == 0
    assert side["tokens"] == task.tokenizer.tokens and side["frontend"]["name"] == "leaf"
    assert [o["name"] for o in side["outputs"]] == ["log_probs", "out_lengths"]

    run = load_runner(out, fmt)
    gen = torch.Generator().manual_seed(2)
    for batch, samples in [(1, side["min_samples"]), (3, 4801), (2, 16000 + 321)]:
        audio = 0.1 * torch.randn(batch, samples, generator=gen)
        lengths = torch.randint(side["min_samples"], samples + 1, (batch,), generator=gen)
        lengths[0] = samples
        with torch.no_grad():
            ref, ref_lengths = model(audio, lengths)
        got, got_lengths = run(audio.numpy(), lengths.numpy())
        assert got_lengths.tolist() == ref_lengths.tolist()
        # log-probabilities are compared on the valid frames (the encoder's padding frames are not masked)
        for b, n in enumerate(ref_lengths.tolist()):
            err = relative_error(got[b, :n], ref[b, :n].numpy())
            assert err <= TOL, f"{fmt} {batch}x{samples}: relative error {err:.2e}"


@pytest.fixture(scope="module")
def classifier_checkpoint(tmp_path_factory):
    """Two epochs of the classification task (mel-pcen + small CNN, two heads) on synthetic tones."""
    sys.path.insert(0, str(REPO / "tests" / "tasks"))
    from test_classify_task import make_corpus

    from audiofront.tasks import build_task
    from audiofront.training.trainer import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("classify")
    train = make_corpus(root, 4, 0, "train")
    heads = [{"name": "tone", "label": "tone"}, {"name": "tags", "label": "tags", "kind": "multi"}]
    task = build_task("classify", dict(frontend="mel-pcen", frontend_conf={"n_filters": 16}, encoder="small-cnn",
                                       encoder_conf={"channels": [4, 8]}, train_cuts=str(train), heads=heads,
                                       window_seconds=0.25, batch_size=6))
    cfg = TrainConfig(exp_dir=str(root / "exp"), num_epochs=2, lr=1e-2, progress=False, tensorboard=False,
                      average_last=1, seed=3, log_every=1000)
    return Trainer(task, cfg).fit()


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_classifier_equals_pytorch(fmt, classifier_checkpoint, tmp_path):
    _need(fmt)
    from audiofront.export import export_model
    from audiofront.tasks import load_model

    task, model = load_model(classifier_checkpoint)
    out = tmp_path / ("cls.onnx" if fmt == "onnx" else "cls.pt")
    side = export_model(task, model, fmt, out)
    assert [o["name"] for o in side["outputs"]] == ["logits_tone", "logits_tags"]
    assert side["heads"][0]["classes"] == ["high", "low", "mid"] and side["heads"][1]["kind"] == "multi"
    run = load_runner(out, fmt)
    gen = torch.Generator().manual_seed(3)
    for batch, samples in [(1, 401), (3, 4001), (2, 16000 + 5)]:
        audio = 0.1 * torch.randn(batch, samples, generator=gen)
        lengths = torch.randint(1, samples + 1, (batch,), generator=gen)
        lengths[0] = samples
        with torch.no_grad():
            ref = model(audio, lengths)
        got = run(audio.numpy(), lengths.numpy())
        for name, value in zip(("tone", "tags"), got):
            err = relative_error(value, ref[name].numpy())
            assert err <= TOL, f"{fmt} head {name} at {batch}x{samples}: relative error {err:.2e}"


def test_cli_export_of_a_frontend_and_its_errors(tmp_path, asr_checkpoint):
    out = tmp_path / "fe.pt"
    res = _cli("export", "--frontend", "mfcc", "--frontend-conf", "n_ceps=5", "--format", "torchscript", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(sidecar_path(out).read_text())["output_dim"] == 5
    # the trained frontend of a checkpoint alone
    res = _cli("export", "--checkpoint", str(asr_checkpoint), "--frontend-only", "--format", "torchscript",
               "--out", str(tmp_path / "trained_fe.pt"))
    assert res.exit_code == 0, res.output
    assert json.loads(sidecar_path(tmp_path / "trained_fe.pt").read_text())["frontend"]["config"]["n_filters"] == 8

    bad = {
        "exactly one of --checkpoint": ["--out", str(tmp_path / "x.pt")],
        "already exists; pass --overwrite": ["--frontend", "mel", "--format", "torchscript", "--out", str(out)],
        "unknown frontend 'nope'": ["--frontend", "nope", "--out", str(tmp_path / "y.pt")],
        "--format must be one of onnx, torchscript": ["--frontend", "mel", "--format", "tflite", "--out", str(tmp_path / "z")],
        "--opset applies to --format onnx": ["--frontend", "mel", "--format", "onnx", "--opset", "9", "--out", str(tmp_path / "o.onnx")],
        "has no option(s) n_filterz": ["--frontend", "mel", "--frontend-conf", "n_filterz=3", "--out", str(tmp_path / "w.pt")],
    }
    for message, args in bad.items():
        res = _cli("export", *args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "y.pt").exists() and not (tmp_path / "o.onnx").exists()
    res = _cli("export", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "m.pt"))
    assert res.exit_code != 0 and "missing.pt" in res.output and "Traceback" not in res.output
