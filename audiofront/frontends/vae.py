"""VAE latents as features: ``build_frontend("vae", checkpoint="exp/vae13/avg.pt")``.

The frontend of a VAE trained by ``audiofront train --task vae`` (:mod:`audiofront.tasks.vae`): frame ``k`` is
the posterior mean of the spectrogram fragment centred on sample ``k * hop`` (signal zero-extended on both
sides), ``1 + L // hop`` frames for ``L`` samples, ``latent_dim`` values each.

* Alignment: with the 25 ms model and its default hop of 160 samples, frame ``k`` is centred on the same
  sample as frame ``k`` of ``mfcc``, ``mel``, ``leaf`` and ``sincnet`` and there are as many frames. ``fbank``
  (Kaldi's snip_edges frames, ``1 + (L - 400) // 160``) starts its frame ``k`` at sample ``160 k``: its centre
  is 200 samples later than ours.
* The 300 ms model (``fragment_frames: 96``) is trained with ``feature_hop: 1600``: one 40-value vector every
  100 ms, fragments overlapping by two thirds. (The paper's storage ratio, 668 MB of MFCC against 204 MB,
  matches 40 values every 100 ms against 13 every 10 ms.) ``hop_length`` overrides the model's hop.
* Frozen by default (no parameter needs a gradient); ``fine_tune=true`` trains the encoder with the task.

Frame ``k`` reads only the samples ``k * hop - 303 .. k * hop + 302`` (25 ms model): it streams
(:meth:`streaming_plan`) and exports like the other frontends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import UserError
from .base import Frontend, FrontendConfig, centered_num_frames
from .registry import register_frontend


def read_vae_checkpoint(path: str | Path) -> dict:
    """The model config and weights of a ``vae`` training checkpoint; one :class:`UserError` for anything else."""
    from ..training.checkpoint import read_checkpoint

    path = Path(path)
    if not path.is_file():
        raise UserError(f"vae frontend: checkpoint {path} does not exist (train one with `audiofront train --task vae`)")
    ckpt = read_checkpoint(path)  # weights_only: plain data and tensors, never unpickled code
    entry = ckpt.get("task") if isinstance(ckpt, dict) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    if name != "vae" or not isinstance(entry.get("config"), dict) or not isinstance(ckpt.get("model"), dict):
        what = f"a checkpoint of task {name!r}" if isinstance(name, str) else "not a training checkpoint"
        raise UserError(f"vae frontend: {path} is not a VAE checkpoint ({what}); expected one written by "
                        "`audiofront train --task vae`")
    return ckpt


def load_vae_checkpoint(path: str | Path):
    """The :class:`~audiofront.models.vae.ConvVae` of a ``vae`` training checkpoint, its weights loaded."""
    from ..models.vae import ConvVae, VaeConfig  # here: models/vae.py imports the frontends package

    ckpt = read_vae_checkpoint(path)
    vae = ConvVae(VaeConfig.from_dict(ckpt["task"]["config"]))
    try:
        vae.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise UserError(f"vae frontend: {path}: the weights do not fit the model its config "
                        f"describes ({str(e).splitlines()[0][:160]})") from None
    return vae


def vae_from_config(config: dict, source: str = ""):
    """An untrained :class:`~audiofront.models.vae.ConvVae` of a stored model config (``vae=`` of a saved
    frontend config); its weights are loaded with the model that holds it."""
    from ..models.vae import ConvVae, VaeConfig

    try:
        return ConvVae(VaeConfig.from_dict(config))
    except (TypeError, ValueError) as e:
        raise UserError(f"vae frontend: the stored VAE config (of {source or 'the checkpoint'}) is not valid: {e}") from None


@register_frontend("vae")
class VaeFrontend(Frontend):
    """Latent means of a trained convolutional VAE, one vector per ``hop_length`` samples."""

    needs_checkpoint = True

    @dataclass
    class Config(FrontendConfig):
        checkpoint: str = ""  # a `audiofront train --task vae` checkpoint (avg.pt, last.pt, ...)
        hop_length: int = 0  # samples between frames; 0: the model's feature_hop
        fine_tune: bool = False  # False: frozen features
        # the VAE's model config, written by the toolkit into the checkpoints of models that use this frontend
        # (see saved_conf): given it, the frontend is built without reading `checkpoint`, and its weights
        # come from the enclosing model's checkpoint
        vae: dict = field(default_factory=dict)

    def __init__(self, config: "VaeFrontend.Config"):
        super().__init__(config)
        if config.vae:
            vae = vae_from_config(config.vae, config.checkpoint)
        elif not config.checkpoint:
            raise UserError("the vae frontend needs checkpoint=PATH, a VAE trained with `audiofront train --task vae` "
                            "(e.g. --frontend-conf checkpoint=exp/vae13/avg.pt)")
        else:
            vae = load_vae_checkpoint(config.checkpoint)
        if vae.cfg.sample_rate != config.sample_rate:
            raise UserError(f"vae frontend: {config.checkpoint} was trained at {vae.cfg.sample_rate} Hz; "
                            f"build the frontend with sample_rate={vae.cfg.sample_rate}")
        if config.hop_length < 0:
            raise UserError(f"vae frontend: hop_length must be >= 1 (0: the model's), got {config.hop_length}")
        self.vae_config = vae.cfg
        self.hop = config.hop_length or vae.cfg.feature_hop
        self.analysis = vae.analysis
        self.encoder = vae.encoder  # the decoder is not part of the features
        if not config.fine_tune:
            self.requires_grad_(False)

    def saved_conf(self, conf: dict) -> dict:
        return {**conf, "vae": self.vae_config.to_dict()}

    @property
    def frame_shift(self) -> int:
        return self.hop

    @property
    def output_dim(self) -> int:
        return self.vae_config.latent_dim

    def num_frames(self, lengths: Tensor) -> Tensor:
        return centered_num_frames(lengths, self.hop)

    def compute(self, waveforms: Tensor) -> Tensor:
        return self.encoder.frame_means(self.analysis.frames(waveforms, self.hop))

    def reach(self) -> tuple[int, int]:
        """(samples before, samples after) frame ``k``'s centre ``k * hop`` that it reads (nonzero window taps)."""
        c = self.vae_config
        nz = torch.nonzero(self.analysis.window).reshape(-1)
        first, last = int(nz[0]), int(nz[-1])
        left = c.fragment_reach + c.n_fft // 2  # chunk index 0 is sample centre - left
        return left - first, (c.fragment_frames - 1) * c.stft_hop + last - left

    def streaming_plan(self):
        from ..streaming.plans import StreamPlan

        past, ahead = self.reach()
        return StreamPlan(self.hop, past, ahead, "centre", self.compute,
                          lambda n: int(self.num_frames(torch.tensor([n]))[0]))
