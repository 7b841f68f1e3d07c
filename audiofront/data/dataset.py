"""A lhotse dataset of raw-audio batches: every frontend (fixed or learnable) runs inside the model.

``dataset[cuts]`` returns::

    {"audio": [B, T] float32 (zero padded), "audio_lens": [B] int64 samples,
     "texts": [str] (first supervision of each cut; "" if none), "tokens": [[int]] (if a tokenizer is set),
     "cut_ids": [str], "durations": [B] float seconds (after speed perturbation), "cuts": CutSet}

Speed perturbation (factors 0.9/1.0/1.1 by default) uses lhotse's ``cut.perturb_speed`` (resampling via
scipy; no torchaudio). Which factor a cut gets is drawn from a generator seeded by (seed, epoch, cut id),
so it does not depend on the DataLoader worker or on resuming mid-epoch.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from lhotse import CutSet
from torch.utils.data import Dataset

from ..augment.speed_perturb import perturb, speed_factor
from ..errors import UserError
from .labelled import at_rate


class AudioBatchDataset(Dataset):
    """Map a CutSet (one batch from a lhotse sampler) to padded raw audio plus transcripts."""

    def __init__(
        self,
        tokenizer: Any = None,
        speed_factors: Optional[Sequence[float]] = None,
        speed_prob: float = 1.0,
        seed: int = 0,
        sample_rate: int = 16000,
    ):
        """``speed_factors``: e.g. ``(0.9, 1.0, 1.1)``, one picked uniformly per cut with probability
        ``speed_prob`` (otherwise 1.0); ``None`` disables speed perturbation."""
        self.tokenizer = tokenizer
        self.speed_factors = tuple(speed_factors) if speed_factors else None
        self.speed_prob = speed_prob
        self.seed = seed
        self.sample_rate = sample_rate
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _speed(self, cut_id: str) -> float:
        return speed_factor(cut_id, self.epoch, self.seed, self.speed_factors, self.speed_prob)

    def __getitem__(self, cuts: CutSet) -> dict[str, Any]:
        cuts = cuts.sort_by_duration(ascending=False)
        audios, texts, ids, durations = [], [], [], []
        for cut in cuts:
            cut = at_rate(cut, self.sample_rate)
            factor = self._speed(cut.id)
            src = perturb(cut, factor)
            try:
                audio = src.load_audio()
            except Exception as e:  # noqa: BLE001 - name the cut whose audio failed, whatever the reason
                detail = " ".join(str(e).split())[:300] or type(e).__name__
                raise UserError(f"could not load audio of cut {cut.id}: {detail}") from None
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim == 2:
                if audio.shape[0] != 1:
                    # multi-channel recording: the frontends take mono audio
                    audio = audio.mean(axis=0, keepdims=True)
                audio = audio[0]
            audios.append(torch.from_numpy(np.ascontiguousarray(audio)))
            sups = cut.supervisions
            texts.append((sups[0].text or "") if sups else "")
            ids.append(cut.id)
            durations.append(audio.shape[0] / self.sample_rate)
        lens = torch.tensor([a.shape[0] for a in audios], dtype=torch.long)
        batch_audio = torch.zeros(len(audios), int(lens.max()) if len(audios) else 0)
        for i, a in enumerate(audios):
            batch_audio[i, : a.shape[0]] = a
        out: dict[str, Any] = {
            "audio": batch_audio,
            "audio_lens": lens,
            "texts": texts,
            "cut_ids": ids,
            "durations": torch.tensor(durations, dtype=torch.float64),
            "cuts": cuts,
        }
        if self.tokenizer is not None:
            out["tokens"] = [list(self.tokenizer.encode(t)) for t in texts]
        return out
