"""Top-k labels of one audio file for every head of a classifier checkpoint.

A clip is scored as in evaluation (:func:`audiofront.models.classifier.clip_logits`): the mean logits of
its training-length windows; a ``single`` head gives softmax probabilities (they sum to 1 over its
classes), a ``multi`` head one sigmoid probability per class (each label on its own).
"""

from __future__ import annotations

import os

import torch

from ..errors import UserError
from .audio import Audio
from .model import check_audio_rate, load_task_model, one_batch


class Classifier:
    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu", top_k: int = 5):
        if top_k < 1:
            raise UserError(f"--top-k must be at least 1, got {top_k}")
        task, model = load_task_model(
            checkpoint, device, "classify", "classify needs a classifier (use `audiofront transcribe` for asr)"
        )
        self.task, self.model, self.device, self.top_k = task, model, device, int(top_k)
        self.sample_rate = int(task.sample_rate)

    def classify(self, audio: Audio) -> dict[str, list[tuple[str, float]]]:
        """``{head: [(label, probability), ...]}``, the ``top_k`` most probable labels, best first."""
        from ..models.classifier import clip_logits

        check_audio_rate(audio, self.sample_rate)
        x, lens = one_batch(audio.samples, self.device)
        heads = self.task.heads
        with torch.inference_mode():
            logits = clip_logits(self.model, x, lens, self.task.window, heads=[h["name"] for h in heads],
                                     masked=self.task.masked_padding)
        out: dict[str, list[tuple[str, float]]] = {}
        for h in heads:
            z = logits[h["name"]][0].float().cpu()
            probs = z.softmax(-1) if h["kind"] == "single" else z.sigmoid()
            k = min(self.top_k, probs.shape[0])
            top = torch.topk(probs, k)
            out[h["name"]] = [(str(h["classes"][i]), float(p)) for p, i in zip(top.values, top.indices)]
        return out
