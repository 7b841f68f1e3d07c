"""Cuts at another sample rate than the model's are resampled by the datasets that training, ``decode`` and
``evaluate`` read (as ``extract`` and ``transcribe`` do), not refused."""

from __future__ import annotations

import logging

import numpy as np
import soundfile as sf
from lhotse import CutSet, Recording, SupervisionSegment

from audiofront.data import labelled
from audiofront.data.dataset import AudioBatchDataset
from audiofront.data.labelled import LabelledAudioDataset


def _cuts(tmp_path, rate: int) -> CutSet:
    t = np.arange(int(0.5 * rate)) / rate
    x = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    sf.write(tmp_path / f"tone{rate}.wav", x, rate)
    cut = Recording.from_file(tmp_path / f"tone{rate}.wav").to_cut()
    cut.supervisions = [SupervisionSegment(id=cut.id, recording_id=cut.recording_id, start=0.0, duration=cut.duration,
                                           text="A TONE", custom={"label": "a"})]
    return CutSet.from_cuts([cut])


def _assert_is_the_tone_at_16k(audio: np.ndarray) -> None:
    """The same tone at the new rate, away from the edges the resampling filter smears."""
    want = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(audio.shape[0]) / 16000)
    mid = slice(500, 7500)
    assert np.max(np.abs(audio[mid] - want[mid])) < 0.02


def test_an_8khz_cut_is_resampled_for_a_16khz_model(tmp_path, caplog):
    cuts = _cuts(tmp_path, 8000)
    labelled._rates_said.clear()
    with caplog.at_level(logging.WARNING, logger="audiofront.data.labelled"):
        batch = AudioBatchDataset(sample_rate=16000)[cuts]
        again = AudioBatchDataset(sample_rate=16000)[cuts]
    audio = batch["audio"][0].numpy()
    assert audio.shape == (8000,) and int(batch["audio_lens"][0]) == 8000  # 0.5 s at 16 kHz
    assert abs(float(batch["durations"][0]) - 0.5) < 1e-6
    _assert_is_the_tone_at_16k(audio)
    assert np.array_equal(again["audio"].numpy(), batch["audio"].numpy())
    said = [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()]
    assert len(said) == 1 and "8000 Hz" in said[0] and "16000 Hz" in said[0]  # once per rate


def test_the_classification_dataset_resamples_too(tmp_path):
    cuts = _cuts(tmp_path, 8000)
    batch = LabelledAudioDataset({"label": ("label", "single", ["a", "b"])}, sample_rate=16000)[cuts]
    audio = batch["audio"][0].numpy()
    assert audio.shape == (8000,) and batch["labels"]["label"].tolist() == [0]
    _assert_is_the_tone_at_16k(audio)


def test_a_cut_at_the_models_rate_is_read_as_it_is(tmp_path):
    cuts = _cuts(tmp_path, 16000)
    batch = AudioBatchDataset(sample_rate=16000)[cuts]
    expected, _ = sf.read(tmp_path / "tone16000.wav", dtype="float32")
    assert np.array_equal(batch["audio"][0].numpy(), expected)
