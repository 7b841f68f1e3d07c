"""Reading any rate/channel layout, chunking at pauses, file listing and ids."""

from __future__ import annotations

import numpy as np
import pytest

from audiofront.errors import UserError
from inference_fixtures import audio_files  # noqa: F401 (a fixture)

from audiofront.inference.audio import AudioNotes, chunks, list_audio_files, read_audio, unique_ids


def test_other_rates_and_channels_come_back_as_the_16k_mono_signal(audio_files):
    ref = read_audio(audio_files["mono16k"], 16000)
    notes = AudioNotes()
    for key, rate, channels in (("stereo44k", 44100, 2), ("mono8k", 8000, 1)):
        a = read_audio(audio_files[key], 16000)
        notes.add(a)
        assert (a.source_rate, a.source_channels, a.sample_rate) == (rate, channels, 16000)
        assert abs(a.samples.shape[0] - ref.samples.shape[0]) <= 2
        n = min(a.samples.shape[0], ref.samples.shape[0])
        if key == "stereo44k":  # (1 + 0.5) / 2 of the signal, band-limited twice
            err = np.abs(a.samples[:n] - 0.75 * ref.samples[:n])[200:-200].max()
            assert err < 0.02, err
        else:  # 8 kHz keeps only what is below 4 kHz: compare the spectra's low band
            lo = np.abs(np.fft.rfft(a.samples[:n]))[: n * 3500 // 16000]
            lo_ref = np.abs(np.fft.rfft(ref.samples[:n]))[: n * 3500 // 16000]
            assert np.corrcoef(lo, lo_ref)[0, 1] > 0.99
    assert notes.summary(16000) == [
        "resampled to the model's 16000 Hz: 1 file at 8000 Hz, 1 file at 44100 Hz",
        "mixed down to mono: 1 file with 2 channels",
    ]


def test_unreadable_files_are_one_clear_error(audio_files, tmp_path):
    with pytest.raises(UserError, match="broken.wav: not a readable audio file"):
        read_audio(audio_files["broken"], 16000)
    with pytest.raises(UserError, match="missing.wav: no such file"):
        read_audio(audio_files["missing"], 16000)
    import soundfile as sf

    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(UserError, match="empty.wav: the audio is empty"):
        read_audio(tmp_path / "empty.wav", 16000)


def test_chunks_cover_everything_once_and_cut_in_pauses():
    sr = 1000
    x = np.ones(10_500, dtype=np.float32)
    x[2_600:2_700] = 0.0  # a pause shortly before the 3 s limit
    pieces = list(chunks(x, sr, max_seconds=3.0, search_seconds=1.0))
    assert np.array_equal(np.concatenate([p for _, p in pieces]), x)
    assert [s for s, _ in pieces] == [0] + list(np.cumsum([len(p) for _, p in pieces])[:-1])
    assert 2_600 <= pieces[0][0] + len(pieces[0][1]) <= 2_700  # the first cut is in the pause
    assert all(len(p) <= 3_000 for _, p in pieces[:-1])
    # a remainder under a second joins the piece before it
    assert [len(p) for _, p in chunks(np.ones(6_500), sr, max_seconds=3.0, search_seconds=0)] == [3_000, 3_500]
    with pytest.raises(UserError, match="--chunk-seconds"):
        list(chunks(x, sr, max_seconds=0))


def test_listing_and_ids(tmp_path, audio_files):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "take 1.wav").write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_text("x")
    files = list_audio_files([tmp_path, audio_files["missing"]])
    assert files == [tmp_path / "a" / "take 1.wav", tmp_path / "b" / "take 1.wav", audio_files["missing"]]
    ids = unique_ids(files)
    assert ids[2] == "missing" and len(set(ids)) == 3 and all(len(i.split()) == 1 for i in ids)
    assert ids[0].endswith("a-take_1")
    (tmp_path / "c").mkdir()
    with pytest.raises(UserError, match="no audio files"):
        list_audio_files([tmp_path / "c"])


def test_ids_stay_distinct_when_stems_and_paths_clash(tmp_path):
    d = tmp_path / "d"
    (d / "a").mkdir(parents=True)
    (d / "c").mkdir()
    names = ["take.wav", "take.flac", "a-b.wav", "a/b.wav", "c/b.wav"]
    files = [d / n for n in names]
    for f in files:
        f.write_bytes(b"")
    ids = unique_ids([f.relative_to(d) for f in files])  # a-b.wav and a/b.wav: both "a-b.wav" as paths
    assert len(set(ids)) == len(ids) and all(len(i.split()) == 1 for i in ids), ids
    assert ids[:2] == ["take.wav", "take.flac"] and ids[4] == "c-b"
    # the same file named twice, or a folder and a file inside it, is listed once
    listed = list_audio_files([d / "take.wav", d, str(d / "a" / ".." / "take.wav")])
    assert sorted(map(str, listed)) == sorted(map(str, files)) and len(listed) == 5
