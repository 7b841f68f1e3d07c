"""CTC model: frontend (any of the registry, on raw audio) -> Conformer encoder -> linear -> log-softmax.

    model = CtcModel(build_frontend("2dconv", channels=8), vocab_size=64, encoder=conformer_config("tiny"))
    log_probs, out_lens = model(audio, audio_lens)      # [B, T] raw audio -> [B, F, V], [B]

Order inside: (training only) STFT-domain SpecAugment on the waveform for learnable frontends ->
frontend -> per-utterance mean/variance normalisation of the features -> (training only) feature-domain
SpecAugment for fixed frontends -> encoder -> output layer. Which SpecAugment applies is decided from the
frontend (any learnable parameter -> STFT domain) unless ``specaug`` says otherwise.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..augment.specaugment import SpecAugment, SpecAugmentConfig
from ..augment.stft_specaugment import StftSpecAugment, StftSpecAugmentConfig
from ..frontends.base import Frontend, count_parameters
from .conformer import ConformerConfig, ConformerEncoder, lengths_to_mask


def utterance_normalize(x: Tensor, lengths: Tensor, eps: float = 1e-5) -> Tensor:
    """Zero mean, unit variance per utterance and feature dim over the valid frames (padding stays 0)."""
    mask = lengths_to_mask(lengths.to(x.device), x.shape[1]).unsqueeze(-1).to(x.dtype)
    n = mask.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (x * mask).sum(dim=1, keepdim=True) / n
    var = (((x - mean) * mask) ** 2).sum(dim=1, keepdim=True) / n
    return (x - mean) / torch.sqrt(var + eps) * mask


def choose_specaug(frontend: Frontend, setting: str) -> str:
    if setting not in ("auto", "feature", "stft", "none"):
        raise ValueError(f"specaug must be auto, feature, stft or none, got {setting!r}")
    if setting != "auto":
        return setting
    return "stft" if count_parameters(frontend) > 0 else "feature"


class CtcModel(nn.Module):
    def __init__(
        self,
        frontend: Frontend,
        vocab_size: int,
        encoder: Optional[ConformerConfig] = None,
        specaug: str = "auto",
        specaug_conf: Optional[dict] = None,
        normalize: bool = True,
    ):
        super().__init__()
        self.frontend = frontend
        self.vocab_size = vocab_size
        frame_ms = frontend.frame_shift / frontend.sample_rate * 1000.0
        self.encoder = ConformerEncoder(frontend.output_dim, frame_ms, encoder)
        self.output = nn.Linear(self.encoder.cfg.d_model, vocab_size)
        self.normalize = normalize
        self.specaug_kind = choose_specaug(frontend, specaug)
        conf = dict(specaug_conf or {})
        self.wave_aug: Optional[StftSpecAugment] = None
        self.feat_aug: Optional[SpecAugment] = None
        if self.specaug_kind == "stft":
            self.wave_aug = StftSpecAugment(StftSpecAugmentConfig(**conf))
        elif self.specaug_kind == "feature":
            self.feat_aug = SpecAugment(SpecAugmentConfig(**conf))

    @property
    def frame_shift_ms(self) -> float:
        """Duration of one output frame (for alignments and decoding)."""
        return self.encoder.output_frame_ms

    def out_lengths(self, audio_lens: Tensor) -> Tensor:
        return self.encoder.out_lengths(self.frontend.num_frames(audio_lens.cpu()))

    def forward(self, audio: Tensor, audio_lens: Tensor) -> tuple[Tensor, Tensor]:
        if self.wave_aug is not None and self.training:
            audio = self.wave_aug(audio, audio_lens)
        feats, feat_lens = self.frontend(audio, audio_lens)
        feat_lens = feat_lens.to(feats.device)
        if self.normalize:
            feats = utterance_normalize(feats, feat_lens)
        if self.feat_aug is not None and self.training:
            feats = self.feat_aug(feats, feat_lens)
        enc, enc_lens = self.encoder(feats, feat_lens)
        logits = self.output(enc)
        return F.log_softmax(logits.float(), dim=-1), enc_lens


def ctc_loss(log_probs: Tensor, out_lens: Tensor, targets: list[list[int]], blank: int = 0) -> tuple[Tensor, int]:
    """Summed CTC loss of a batch and the number of target tokens (utterances that cannot be aligned --
    fewer frames than tokens need -- contribute 0 instead of inf)."""
    tgt_lens = torch.tensor([len(t) for t in targets], dtype=torch.long)
    flat = torch.tensor([i for t in targets for i in t], dtype=torch.long, device=log_probs.device)
    loss = F.ctc_loss(
        log_probs.transpose(0, 1), flat, out_lens.to(log_probs.device).long(), tgt_lens.to(log_probs.device), blank=blank, reduction="sum", zero_infinity=True
    )
    return loss, int(tgt_lens.sum())
