"""A frontend as a graph that exporters can trace: the reference path, no input checks, no shape branches.

``Frontend.forward`` checks its inputs with Python control flow on values (``int(lengths.max())``) and runs
fast paths that no tracer can follow (custom autograd functions around C kernels and FFT blocks). An
exported graph must instead compute everything from the traced ``waveforms`` and ``lengths``, so that one
file serves every batch size and length. :func:`traceable_frontend` therefore builds a copy of the frontend

* on its direct reference path (``impl="direct"``: the plain ``conv1d`` pipeline its fast path is tested
  against, the same function),
* with the three steps that a tracer cannot follow at other lengths replaced by equivalents: PCEN's chunked
  scan, whose depth depends on the length (:class:`ExportablePCEN`), SincNet's max-pool and LEAF's padding,
  whose shape rules make torch.export fix the length (:func:`_sincnet_compute`, :func:`_leaf_compute`),
* with the same weights,

wrapped in :class:`FrontendGraph`, whose forward is ``Frontend.forward`` without the checks. The export tests
(tests/export/) are what proves that the exported files compute the frontend's function.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..frontends.base import Frontend, LengthAwareFrontend, mask_frames
from ..frontends.compression import PCEN
from ..frontends.gabor import gabor_energy_direct
from ..frontends.leaf import Leaf
from ..frontends.registry import build_frontend
from ..frontends.sincnet import SincNet

# 2 ** 24 frames (46 hours at 10 ms) is the longest input the branch-free PCEN scan covers exactly
SCAN_LEVELS = 24


def reference_config(frontend: Frontend) -> dict:
    """The frontend's config as a dict, switched to its direct reference path where it has a choice."""
    conf = dataclasses.asdict(frontend.config)
    if "impl" in conf:
        conf["impl"] = "direct"
    return conf


def decay_scan_doubling(u: Tensor, decay: Tensor, init: Tensor, levels: int = SCAN_LEVELS) -> Tensor:
    """``out[..., t] = decay * out[..., t-1] + u[..., t]`` with ``out[..., -1] = init``, for ``u [B, C, T]``.

    The recursion of :func:`audiofront.frontends.compression._decay_scan` by recursive doubling (after level
    ``k`` every ``out[t]`` holds the sum over the last ``2 ** k`` inputs), with a fixed number of levels, so
    the graph has no branch or loop that depends on ``T``. A shift reads ``out[t - 2 ** k]`` by index
    (``index_select``, zero before the start) rather than by padding, so no level allocates more than ``u``.
    Only powers of ``decay`` in [0, 1] appear; exact for ``T <= 2 ** levels``.
    """
    steps = u.shape[-1]
    idx = torch.arange(steps, device=u.device)
    d = decay.to(u.dtype)[None, :, None]
    out = u
    for k in range(levels):
        shift = 1 << k
        source = (idx - shift).clamp(min=0)
        earlier = out.index_select(-1, source) * (idx >= shift).to(u.dtype)
        out = out + torch.pow(d, float(shift)) * earlier
    into = torch.pow(d, (idx + 1).to(u.dtype)[None, None, :])  # decay of the initial state at step t
    return out + init.unsqueeze(-1) * into


class ExportablePCEN(nn.Module):
    """:class:`PCEN` with its smoother computed by :func:`decay_scan_doubling` (same formula otherwise)."""

    def __init__(self, pcen: PCEN):
        super().__init__()
        self.pcen = pcen

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        p = self.pcen
        alpha = p.effective_alpha().to(x.dtype)[None, :, None]
        delta = p.effective_delta().to(x.dtype)[None, :, None]
        inv_root = (1.0 / p.effective_root()).to(x.dtype)[None, :, None]
        s = p.effective_smooth().to(x.dtype)
        # M[0] = x[0]: the recursion started from the state x[0] (as exponential_moving_average does)
        smoother = decay_scan_doubling(x * s[None, :, None], 1.0 - s, x[:, :, 0])
        normalised = x * torch.exp(-alpha * torch.log(smoother + p.floor))
        return (normalised + delta).pow(inv_root) - delta.pow(inv_root)

    def parameters_for_inspection(self) -> dict[str, Tensor]:
        return self.pcen.parameters_for_inspection()


def _replace_pcen(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, PCEN):
            setattr(module, name, ExportablePCEN(child))
        else:
            _replace_pcen(child)


def _sincnet_compute(fe: SincNet, waveforms: Tensor) -> Tensor:
    """``SincNet.compute`` on its direct path, its max-pool as ``unfold`` + ``amax`` (``F.max_pool1d``'s shape
    rule makes torch.export fix the input length)."""
    c = fe.config
    x = fe.filter_outputs(waveforms, -(c.window_length // 2))
    x = F.leaky_relu(x, c.negative_slope)
    x = x.unfold(-1, c.window_length, c.hop_length).amax(dim=-1)  # [B, N, F]
    return fe.norm(x.clamp(min=c.floor).transpose(1, 2))


def _leaf_compute(fe: Leaf, waveforms: Tensor) -> Tensor:
    """``Leaf.compute`` on its direct path (:func:`audiofront.frontends.leaf.leaf_energies_direct`), with the
    right padding written as one difference: where that is negative the pad crops, to the very length the
    reference slices to, and torch.export cannot prove ``max(0, .)`` away."""
    c = fe.config
    h = fe.gabor.impulse_responses()
    w = fe.pooling.windows()
    half = h.shape[-1] // 2
    length = waveforms.shape[-1]
    last = (length // c.hop_length) * c.hop_length  # centre of the last frame
    energy = gabor_energy_direct(F.pad(waveforms, (half, last + half + 1 - length)), h)  # [B, C, last + 2 half + 1]
    energies = F.conv1d(energy, w.to(energy.dtype).unsqueeze(1), stride=c.hop_length, groups=w.shape[0])
    return fe.compression(energies.clamp(min=c.energy_floor)).transpose(1, 2)


class FrontendGraph(nn.Module):
    """``(waveforms [B, T] float32, lengths [B] int64) -> (features [B, F, D] float32, frame_lengths [B] int64)``.

    ``Frontend.forward`` without its input checks, on a traceable copy (see the module docstring). The
    waveforms are zero-extended by ``pad_frames`` frame shifts and the features cut back by as many frames:
    zero padding never changes a sequence's valid frames (tested for every frontend), and it keeps every
    intermediate at two frames or more, which torch.export otherwise assumes about the dynamic length (its
    0/1 specialisation) and would refuse very short inputs for. ``T >= frontend.min_samples`` is required, as
    by the frontend itself.
    """

    def __init__(self, frontend: Frontend, pad_frames: int = 2):
        super().__init__()
        self.frontend = frontend
        self.pad_frames = pad_frames

    # what CtcModel and AudioClassifier read from their frontend
    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def frame_shift(self) -> int:
        return self.frontend.frame_shift

    @property
    def output_dim(self) -> int:
        return self.frontend.output_dim

    @property
    def min_samples(self) -> int:
        return self.frontend.min_samples

    def num_frames(self, lengths: Tensor) -> Tensor:
        return self.frontend.num_frames(lengths)

    def forward(self, waveforms: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        fe = self.frontend
        lengths = lengths.to(torch.int64)
        # every frontend's frame count grows by exactly one per frame_shift of extra samples (its strides
        # multiply to frame_shift), once the input holds at least min_samples
        extended = F.pad(waveforms, (0, self.pad_frames * fe.frame_shift))
        if isinstance(fe, LengthAwareFrontend):
            features = fe.compute_with_lengths(extended, lengths)
        elif isinstance(fe, SincNet):
            features = _sincnet_compute(fe, extended)
        elif isinstance(fe, Leaf):
            features = _leaf_compute(fe, extended)
        else:
            features = fe.compute(extended)
        frame_lengths = fe.num_frames(lengths)
        # masked before the cut, so that no operation but the cut sees the (possibly single) output frame
        features = mask_frames(features, frame_lengths, dim=1)
        return features[:, : features.shape[1] - self.pad_frames], frame_lengths


def traceable_frontend(frontend: Frontend) -> FrontendGraph:
    """A :class:`FrontendGraph` computing ``frontend``'s function on its reference path, in eval mode."""
    copy_ = build_frontend(frontend.name, **reference_config(frontend))
    missing, unexpected = copy_.load_state_dict(frontend.state_dict(), strict=False)
    if missing or unexpected:  # the reference path holds the same parameters and buffers
        raise RuntimeError(f"{frontend.name}: reference copy does not take the weights ({missing}, {unexpected})")
    _replace_pcen(copy_)
    return FrontendGraph(copy_.eval())
