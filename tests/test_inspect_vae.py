"""`audiofront inspect-vae`: the spectrogram it shows is the STFT of the audio, the distance is in dB."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from audiofront.inspect.vae import load_vae, reconstruct
from conftest import speech_like
from vae_fixtures import tiny_vae_checkpoint


def test_original_is_the_stft_of_the_audio_at_the_stated_centres():
    model = load_vae(tiny_vae_checkpoint())
    x = 0.3 * speech_like(0.2, seed=4)
    r = reconstruct(model, x)
    cfg = model.cfg
    window = np.zeros(cfg.n_fft)
    window[1:256] = np.hanning(255)  # 255 symmetric Hann taps, middle tap on n_fft // 2
    padded = np.concatenate([np.zeros(cfg.n_fft), x.double().numpy(), np.zeros(cfg.n_fft)])
    for n in (0, 5, r.original_db.shape[1] - 1):
        c = r.first_centre + n * cfg.stft_hop
        frame = padded[c + 128 : c + 128 + cfg.n_fft] * window  # samples c - 128 .. c + 127 of the signal
        power = np.abs(np.fft.rfft(frame)[: cfg.n_bins]) ** 2
        assert np.allclose(r.original_db[:, n], 10 * np.log10(power + cfg.log_floor), atol=2e-3)
    assert r.first_centre >= 0 and r.first_centre + (r.original_db.shape[1] - 1) * cfg.stft_hop < x.shape[0]


def test_log_spectral_distance_in_db(monkeypatch):
    model = load_vae(tiny_vae_checkpoint())
    x = 0.3 * speech_like(0.3, seed=5)
    delta = 0.25  # a decoder that returns its input shifted by delta (normalised units)
    monkeypatch.setattr(model, "forward", lambda frags, sample=True: {"recon": frags + delta})
    r = reconstruct(model, x)
    std = model.analysis.std.double()
    expected = 10 / math.log(10) * delta * float(std.square().mean().sqrt())
    assert r.lsd_db == pytest.approx(expected, rel=1e-4)
    monkeypatch.setattr(model, "forward", lambda frags, sample=True: {"recon": frags})
    assert reconstruct(model, x).lsd_db == pytest.approx(0.0, abs=1e-4)


def test_command_png_terminal_and_bad_checkpoint(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, (0.3 * speech_like(0.5)).numpy(), 22050)  # another rate: resampled
    ckpt = tiny_vae_checkpoint()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "audiofront.cli.main", "inspect-vae", *args],
                              capture_output=True, text=True, timeout=120)

    png = tmp_path / "out.png"
    done = run(ckpt, str(wav), "--png", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "log-spectral distance" in done.stdout
    term = run(ckpt, str(wav), "--width", "50")
    assert term.returncode == 0 and term.stdout.count("|") >= 4 * 16 and "dB" in term.stdout
    bad = run(str(wav), str(wav))
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and bad.stderr.strip().count("\n") == 0


def test_a_mel_vae_is_shown_in_mel_bands():
    from audiofront.inspect.vae import render_terminal
    from audiofront.models.vae import ConvVae, VaeConfig

    torch.manual_seed(0)
    model = ConvVae(VaeConfig(n_bins=32, frequency_scale="mel", mel_max_hz=7000.0, channels=4)).eval()
    r = reconstruct(model, 0.3 * speech_like(0.3, seed=6))
    assert r.original_db.shape[0] == 32 and r.mel_range_hz == (0.0, 7000.0)
    assert r.frequency_axis == (0.0, 32.0, "mel band (0-7 kHz)")
    assert "32 mel band (0-7 kHz) (bottom to top)" in render_terminal(r)
    # FFT bins keep their frequency axis: 128 bins of 62.5 Hz
    assert reconstruct(load_vae(tiny_vae_checkpoint()), 0.3 * speech_like(0.3, seed=6)).frequency_axis == (0.0, 8.0, "kHz")


def test_a_level_free_vae_is_shown_at_the_fragments_own_level():
    """level: fragment: the VAE never sees loudness, but the figure does: the original is the plain log power of
    the audio (as for a VAE that keeps the level), and the distance does not depend on the level added back."""
    from audiofront.models.vae import ConvVae, VaeConfig

    torch.manual_seed(0)
    # a per-band normalisation that is not the identity: the level must be added back in ln power, not in z-scores
    std = torch.linspace(0.5, 3.0, 32)
    kw = dict(n_bins=32, frequency_scale="mel", channels=4, norm_mean=[float(v) for v in torch.linspace(-3.0, 1.0, 32)],
              norm_std=[float(v) for v in std])
    free, keep = ConvVae(VaeConfig(level="fragment", **kw)).eval(), ConvVae(VaeConfig(**kw)).eval()
    x = 0.3 * speech_like(0.3, seed=7)
    a, b = reconstruct(free, x), reconstruct(keep, x)
    assert np.allclose(a.original_db, b.original_db, atol=1e-3)
    # the reconstruction error is that of the level-free fragments
    frags = free.analysis.frames(x[None].float(), free.cfg.fragment_frames * free.cfg.stft_hop)[0]
    with torch.no_grad():
        err = ((free(frags, sample=False)["recon"] - frags) * std[:, None]).permute(1, 0, 2).reshape(32, -1)
    centres = torch.arange(err.shape[1]) * free.cfg.stft_hop - free.cfg.fragment_reach
    inside = (centres >= 0) & (centres < x.shape[0])  # the sub-frames centred inside the audio, as shown
    lsd = (10 / math.log(10) * err[:, inside]).square().mean(0).sqrt()
    assert np.allclose(a.lsd_per_frame_db, lsd.numpy(), atol=1e-3)
