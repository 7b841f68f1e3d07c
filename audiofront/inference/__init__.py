"""Running a trained checkpoint on a user's own audio files: ``audiofront transcribe`` and ``audiofront classify``.

:mod:`.audio` reads any file at any rate and channel count and cuts long ones into chunks; :mod:`.asr` and
:mod:`.classify` turn them into words and into top-k labels.
"""

from .audio import Audio, AudioNotes, chunks, list_audio_files, read_audio, unique_ids

__all__ = ["Audio", "AudioNotes", "chunks", "list_audio_files", "read_audio", "unique_ids"]
