"""CTC model: frontend (any of the registry, on raw audio) -> Conformer encoder -> linear -> log-softmax.

    model = CtcModel(build_frontend("2dconv", channels=8), vocab_size=64, encoder=conformer_config("tiny"))
    log_probs, out_lens = model(audio, audio_lens)      # [B, T] raw audio -> [B, F, V], [B]

Order inside: (training only) STFT-domain SpecAugment on the waveform for learnable frontends ->
frontend -> per-utterance mean/variance normalisation of the features -> (training only) feature-domain
SpecAugment for fixed frontends -> encoder -> output layer. Which SpecAugment applies is decided from the
frontend (any learnable parameter -> STFT domain) unless ``specaug`` says otherwise.

Two options for leaving the CTC blank plateau sooner (both off by default: existing recipes and their
checkpoints are unchanged):

* ``specaug_after_steps=N``: SpecAugment only from the N-th training step on. The model counts the steps in
  a buffer (``train_steps``, saved with the weights, so ``--resume`` continues the count exactly); the
  task calls :meth:`CtcModel.count_step` once per training batch. Masking makes the first alignments
  harder to find; once the model emits tokens it is the regulariser we want.
* ``inter_ctc_layers=[k, ...]``: intermediate CTC (Lee & Watanabe, ICASSP 2021): log-probabilities also
  from the output of block k, through the final output layer (``inter_ctc_head="shared"``, as in that
  paper: the middle layer is pushed to speak the output's language) or a linear layer of its own
  (``"own"``). The task weighs the losses (``inter_ctc_weight``); decoding uses the final output only.
"""

from __future__ import annotations

from typing import Optional, Sequence

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
        specaug_after_steps: int = 0,
        inter_ctc_layers: Sequence[int] = (),
        inter_ctc_head: str = "shared",
    ):
        super().__init__()
        self.frontend = frontend
        self.vocab_size = vocab_size
        frame_ms = frontend.frame_shift / frontend.sample_rate * 1000.0
        self.encoder = ConformerEncoder(frontend.output_dim, frame_ms, encoder)
        self.output = nn.Linear(self.encoder.cfg.d_model, vocab_size)
        n_blocks = self.encoder.cfg.num_layers
        layers = [int(k) for k in inter_ctc_layers or ()]
        bad = [k for k in layers if not 1 <= k < n_blocks]
        if bad or len(set(layers)) != len(layers):
            raise ValueError(f"inter_ctc_layers must be distinct block numbers in 1..{n_blocks - 1} (the last block "
                             f"is the final output), got {list(inter_ctc_layers)}")
        if inter_ctc_head not in ("shared", "own"):
            raise ValueError(f"inter_ctc_head must be 'shared' or 'own', got {inter_ctc_head!r}")
        self.inter_ctc_layers = layers
        self.inter_ctc_head = inter_ctc_head
        self.inter_output: Optional[nn.ModuleList] = None
        if layers and inter_ctc_head == "own":
            self.inter_output = nn.ModuleList(nn.Linear(self.encoder.cfg.d_model, vocab_size) for _ in layers)
        if isinstance(specaug_after_steps, bool) or int(specaug_after_steps) != specaug_after_steps or specaug_after_steps < 0:
            raise ValueError(f"specaug_after_steps must be a whole number >= 0, got {specaug_after_steps!r}")
        self.specaug_after_steps = int(specaug_after_steps)
        if self.specaug_after_steps > 0:
            # only then: the state dicts of models without the option keep their keys
            self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))
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

    def augmenting(self) -> bool:
        """Whether a forward pass now applies SpecAugment (training mode, and past ``specaug_after_steps``)."""
        if not self.training:
            return False
        return self.specaug_after_steps == 0 or int(self.train_steps) >= self.specaug_after_steps

    @torch.no_grad()
    def count_step(self) -> None:
        """One training step done (called by the task once per training batch; a no-op without the option)."""
        if self.specaug_after_steps > 0:
            self.train_steps += 1

    def forward(self, audio: Tensor, audio_lens: Tensor, return_inter: bool = False):
        """``(log_probs, out_lens)``; with ``return_inter`` also the list of intermediate-CTC log-probs
        (one per ``inter_ctc_layers`` entry, same frames and lengths)."""
        augment = self.augmenting()
        if self.wave_aug is not None and augment:
            audio = self.wave_aug(audio, audio_lens)
        feats, feat_lens = self.frontend(audio, audio_lens)
        feat_lens = feat_lens.to(feats.device)
        if self.normalize:
            feats = utterance_normalize(feats, feat_lens)
        if self.feat_aug is not None and augment:
            feats = self.feat_aug(feats, feat_lens)
        layers = self.inter_ctc_layers if return_inter else ()
        enc, enc_lens, hidden = self.encoder.forward_layers(feats, feat_lens, layers)
        log_probs = F.log_softmax(self.output(enc).float(), dim=-1)
        if not return_inter:
            return log_probs, enc_lens
        heads = list(self.inter_output) if self.inter_output is not None else [self.output] * len(hidden)
        inter = [F.log_softmax(head(h).float(), dim=-1) for head, h in zip(heads, hidden)]
        return log_probs, enc_lens, inter


def ctc_loss(log_probs: Tensor, out_lens: Tensor, targets: list[list[int]], blank: int = 0) -> tuple[Tensor, int]:
    """Summed CTC loss of a batch and the number of target tokens (utterances that cannot be aligned --
    fewer frames than tokens need -- contribute 0 instead of inf)."""
    tgt_lens = torch.tensor([len(t) for t in targets], dtype=torch.long)
    flat = torch.tensor([i for t in targets for i in t], dtype=torch.long, device=log_probs.device)
    loss = F.ctc_loss(
        log_probs.transpose(0, 1), flat, out_lens.to(log_probs.device).long(), tgt_lens.to(log_probs.device), blank=blank, reduction="sum", zero_infinity=True
    )
    return loss, int(tgt_lens.sum())
