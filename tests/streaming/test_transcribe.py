"""The streaming transcription example: file blocks through the streaming frontend, encoder on windows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiofront.errors import UserError
from audiofront.streaming import stream
from audiofront.streaming.transcribe import WindowedCtc, read_blocks, transcribe_stream
from audiofront.tasks.asr import AsrTask, greedy_tokens
from audiofront.text.tokenizer import Tokenizer

from stream_fixtures import one_thread  # noqa: F401  (autouse: one torch thread)

ROOT = Path(__file__).resolve().parents[2]
SR = 16000



def tiny_asr(tmp_path: Path, frontend: str = "mel", frontend_conf: dict | None = None):
    lang = tmp_path / "lang"
    tok = Tokenizer.train(["HELLO WORLD"], kind="char", out_dir=lang)
    torch.manual_seed(0)
    task = AsrTask({"frontend": frontend, "frontend_conf": frontend_conf or {}, "encoder": "tiny",
                    "encoder_conf": {"num_layers": 1}, "vocab_size": tok.vocab_size, "lang_dir": str(lang)})
    model = task.build_model().eval()
    return task, model, tok


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "long.wav"
    g = np.random.default_rng(0)
    t = np.arange(int(2.3 * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 2 * t) > 0) + 0.02 * g.standard_normal(t.size)
    sf.write(path, x.astype(np.float32), SR, subtype="FLOAT")
    return path


def test_chunked_features_equal_the_whole_file(tmp_path, wav):
    _, model, _ = tiny_asr(tmp_path)
    s = stream(model.frontend)
    frames = torch.cat([s.push(block) for block in read_blocks(wav, 1601, SR)] + [s.flush()])
    audio = torch.from_numpy(sf.read(wav, dtype="float32")[0])[None]
    with torch.no_grad():
        whole = model.frontend(audio)[0][0]
    assert frames.shape == whole.shape
    assert float((frames - whole).abs().max()) <= 1e-5 * float(whole.abs().max())


def test_one_window_over_the_whole_file_is_the_offline_greedy_decode(tmp_path, wav):
    _, model, _ = tiny_asr(tmp_path)
    audio = torch.from_numpy(sf.read(wav, dtype="float32")[0])[None]
    with torch.no_grad():
        log_probs, lens = model(audio, torch.tensor([audio.shape[1]]))
    expected = greedy_tokens(log_probs, lens)[0]
    tokens = transcribe_stream(model, stream(model.frontend), read_blocks(wav, 800, SR), window_frames=10_000)
    assert tokens == expected and len(expected) > 0


def test_windows_cover_every_frame(tmp_path):
    _, model, _ = tiny_asr(tmp_path)
    ctc = WindowedCtc(model, window_frames=30)
    assert ctc.window_frames % model.encoder.factor == 0
    for n in (7, 50, 1, 33):
        ctc.push(torch.randn(n, model.frontend.output_dim))
    ctc.flush()
    assert ctc.windows_run == -(-91 // ctc.window_frames)


def _script():
    spec = importlib.util.spec_from_file_location("stream_transcribe", ROOT / "egs/demo/local/stream_transcribe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkpoint(tmp_path: Path, task, model) -> Path:
    path = tmp_path / "tiny.pt"
    torch.save({"task": {"name": "asr", "config": task.model_config()}, "model": model.state_dict()}, path)
    return path


def test_script_prints_the_text(tmp_path, wav, capsys):
    task, model, tok = tiny_asr(tmp_path)
    ckpt = _checkpoint(tmp_path, task, model)
    assert _script().main([str(ckpt), str(wav), "--window-s", "1", "--chunk-ms", "37"]) == 0
    out, err = capsys.readouterr()
    text = out.strip()
    assert set(text.replace(" ", "")) <= set(tok.tokens) and "look-ahead 199 samples" in err


def test_script_refuses_with_one_line(tmp_path, wav, capsys):
    task, model, _ = tiny_asr(tmp_path, "2dconv", {"channels": [4, 4]})  # normalize=true: cannot stream
    ckpt = _checkpoint(tmp_path, task, model)
    assert _script().main([str(ckpt), str(wav)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 2dconv with normalize=true cannot stream") and err.count("\n") == 1
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((1600, 2), dtype=np.float32), SR)
    task, model, _ = tiny_asr(tmp_path)
    assert _script().main([str(_checkpoint(tmp_path, task, model)), str(stereo)]) == 2
    assert "2 channels" in capsys.readouterr().err


def test_read_blocks_refuses_other_rates_and_missing_files(tmp_path):
    other = tmp_path / "8k.wav"
    sf.write(other, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(UserError, match="8000 Hz but the model's frontend expects 16000 Hz"):
        next(read_blocks(other, 160, SR))
    with pytest.raises(UserError, match="does not exist"):
        next(read_blocks(tmp_path / "none.wav", 160, SR))
