"""The interface every frontend honours.

A frontend maps a padded batch of mono waveforms to a padded batch of feature frames::

    features, frame_lengths = frontend(waveforms, lengths)
    # waveforms [B, T] float, lengths [B] int  ->  features [B, F, D], frame_lengths [B]

Frames past ``frame_lengths[b]`` are zero. Padding a batch with extra zero samples never changes the
valid frames of a sequence: frontends only ever pad with zeros, exactly as the batch padding does.

Any floating dtype is accepted and cast to the frontend's own (its parameters' dtype: float32, or float64
after ``.double()``), so float64 audio gives the float32 features. NaN/Inf samples raise
:class:`FrontendInputError` naming the batch item. Both checks are skipped while the frontend is traced,
scripted, exported or compiled, so that they do not enter the graph.

Each frontend states its ``sample_rate``, ``frame_shift`` (in samples) and ``output_dim`` and is built
from a typed dataclass config (``Frontend.Config``). Frontends with filters describe them with
:class:`FilterBank` for ``audiofront inspect-filters``.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import torch
from torch import Tensor, nn

from ..errors import UserError


class FrontendInputError(UserError):
    """Raised for inputs a frontend cannot process; the message says what was expected. ``item`` is the index
    of the offending batch item when one item is to blame (NaN samples), else ``None``."""

    item: Optional[int] = None


@dataclass
class FrontendConfig:
    """Fields shared by every frontend config."""

    sample_rate: int = 16000

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class FilterBank:
    """A description of a frontend's filters, for inspection and plots.

    Attributes:
        center_hz: [N] center frequency of each filter, in Hz.
        bandwidth_hz: [N] bandwidth of each filter in Hz (full width at half maximum of the magnitude
            frequency response, unless ``bandwidth_kind`` says otherwise).
        sample_rate: sample rate the filters run at.
        impulse_responses: [N, K] real or complex taps, or ``None`` for filters defined in frequency.
        frequency_responses: [N, F] magnitude responses on ``frequencies_hz`` for filters defined in
            frequency (mel); ``None`` when they follow from ``impulse_responses``.
        frequencies_hz: [F] frequency grid of ``frequency_responses``.
        bandwidth_kind: how ``bandwidth_hz`` is measured.
    """

    center_hz: Tensor
    bandwidth_hz: Tensor
    sample_rate: int
    impulse_responses: Optional[Tensor] = None
    frequency_responses: Optional[Tensor] = None
    frequencies_hz: Optional[Tensor] = None
    bandwidth_kind: str = "fwhm"

    @property
    def n_filters(self) -> int:
        return int(self.center_hz.numel())

    def frequency_response(self, n_fft: int = 1024) -> tuple[Tensor, Tensor]:
        """Magnitude responses ``([F] Hz, [N, F])`` over 0..sample_rate/2."""
        if self.impulse_responses is None:
            if self.frequency_responses is None or self.frequencies_hz is None:
                raise ValueError("FilterBank has neither impulse nor frequency responses")
            return self.frequencies_hz, self.frequency_responses
        h = self.impulse_responses.detach()
        n_fft = max(n_fft, 2 ** math.ceil(math.log2(h.shape[-1])))
        if torch.is_complex(h):
            # complex (analytic) filters: the positive-frequency half of the full spectrum
            spec = torch.fft.fft(h, n=n_fft)[..., : n_fft // 2 + 1]
        else:
            spec = torch.fft.rfft(h, n=n_fft)
        freqs = torch.linspace(0, self.sample_rate / 2, n_fft // 2 + 1)
        return freqs, spec.abs()


class Frontend(nn.Module, abc.ABC):
    """Abstract base of all frontends. Subclasses implement :meth:`compute` and :meth:`num_frames`."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[FrontendConfig]] = FrontendConfig
    # True for frontends built from a trained file (vae: checkpoint=PATH): they have no default to build
    needs_checkpoint: ClassVar[bool] = False

    def __init__(self, config: FrontendConfig):
        super().__init__()
        self.config = config

    def saved_conf(self, conf: dict) -> dict:
        """The options a task stores in its checkpoints to rebuild this frontend, given those it was built
        with. The weights travel in the model's state dict; a frontend built from a file (``vae``) adds what
        it read from the file, so that a checkpoint does not depend on that file still being where it was."""
        return conf

    # ---- what a frontend states about itself -------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    @abc.abstractmethod
    def frame_shift(self) -> int:
        """Hop between output frames, in input samples."""

    @property
    @abc.abstractmethod
    def output_dim(self) -> int:
        """Feature dimension D of the output."""

    @property
    def min_samples(self) -> int:
        """Shortest input (in samples) that yields at least one frame."""
        return 1

    @abc.abstractmethod
    def num_frames(self, lengths: Tensor) -> Tensor:
        """Number of valid output frames for inputs of ``lengths`` samples ([B] int64)."""

    @abc.abstractmethod
    def compute(self, waveforms: Tensor) -> Tensor:
        """Features ``[B, F, D]`` of a zero-padded batch ``[B, T]`` (checked by :meth:`forward`).

        ``F`` must equal ``num_frames(T)``.
        """

    # ---- inspection ------------------------------------------------------------------------------
    def filters(self) -> Optional[FilterBank]:
        """The filters of the first (filterbank) layer, or ``None`` for frontends without any."""
        return None

    def inspection(self) -> dict[str, Tensor]:
        """Other learnable quantities worth plotting (pooling widths, PCEN parameters), per channel."""
        return {}

    # ---- the call ------------------------------------------------------------------------------
    def forward(
        self, waveforms: Tensor, lengths: Optional[Tensor] = None, sample_rate: Optional[int] = None
    ) -> tuple[Tensor, Tensor]:
        waveforms, lengths = self.check_inputs(waveforms, lengths, sample_rate)
        features = self.compute(waveforms)
        frame_lengths = self.num_frames(lengths)
        if features.shape[1] != int(self.num_frames(torch.tensor([waveforms.shape[1]]))[0]):
            raise RuntimeError(
                f"{type(self).__name__}.compute returned {features.shape[1]} frames for "
                f"{waveforms.shape[1]} samples; num_frames says otherwise (a bug in the frontend)"
            )
        mask = torch.arange(features.shape[1], device=features.device)[None, :] < frame_lengths[:, None].to(
            features.device
        )
        features = features * mask.unsqueeze(-1).to(features.dtype)
        return features, frame_lengths

    def check_inputs(
        self, waveforms: Tensor, lengths: Optional[Tensor], sample_rate: Optional[int]
    ) -> tuple[Tensor, Tensor]:
        name = self.name or type(self).__name__
        if not isinstance(waveforms, Tensor):
            raise FrontendInputError(f"{name}: waveforms must be a torch.Tensor [batch, samples], got {type(waveforms).__name__}")
        if sample_rate is not None and int(sample_rate) != self.sample_rate:
            raise FrontendInputError(
                f"{name}: input sample rate is {sample_rate} Hz but this frontend is configured for "
                f"{self.sample_rate} Hz; resample the audio or build the frontend with sample_rate={sample_rate}"
            )
        if waveforms.dim() != 2:
            hint = " (use waveforms.unsqueeze(0) for a single signal)" if waveforms.dim() == 1 else ""
            hint = " (squeeze the channel axis: mono audio only)" if waveforms.dim() == 3 else hint
            raise FrontendInputError(
                f"{name}: waveforms must have shape [batch, samples], got {tuple(waveforms.shape)}{hint}"
            )
        if not waveforms.is_floating_point():
            raise FrontendInputError(
                f"{name}: waveforms must be floating point (float32) samples in [-1, 1], got {waveforms.dtype}"
                + (" (divide int16 audio by 32768)" if waveforms.dtype == torch.int16 else "")
            )
        if not _tracing():
            # traced/exported graphs take the input as it comes: a data-dependent check or cast would be
            # baked into (or break) the graph
            _check_finite(name, waveforms)
            waveforms = waveforms.to(self.compute_dtype())
        batch, total = waveforms.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long)
        else:
            if not isinstance(lengths, Tensor):
                lengths = torch.as_tensor(lengths)
            if lengths.dim() != 1 or lengths.shape[0] != batch:
                raise FrontendInputError(
                    f"{name}: lengths must have shape [{batch}] (one per waveform), got {tuple(lengths.shape)}"
                )
            if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
                raise FrontendInputError(f"{name}: lengths must be integer sample counts, got {lengths.dtype}")
            lengths = lengths.long().cpu()
            if batch and (int(lengths.min()) < 0 or int(lengths.max()) > total):
                raise FrontendInputError(
                    f"{name}: lengths must lie in [0, {total}] (the padded length), got "
                    f"min {int(lengths.min())}, max {int(lengths.max())}"
                )
        if total < self.min_samples:
            raise FrontendInputError(
                f"{name}: input of {total} samples is shorter than the {self.min_samples} samples "
                f"({self.min_samples / self.sample_rate * 1000:.1f} ms) needed for one frame"
            )
        return waveforms, lengths

    def compute_dtype(self) -> torch.dtype:
        """The floating dtype the frontend computes in: that of its parameters and buffers (float32 unless
        the user called ``.double()``); inputs are cast to it, so float64 audio gives the same features as
        float32 audio instead of a mixed-dtype error deep in a convolution."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.is_floating_point():
                return t.dtype
        return torch.float32

    # ---- helpers ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return f"name={self.name!r}, sample_rate={self.sample_rate}, frame_shift={self.frame_shift}, output_dim={self.output_dim}"


@dataclass
class FilterbankConfig(FrontendConfig):
    """Fields of the filterbank frontends compared in the LEAF paper (mel, mel-pcen, leaf, tdfbanks): 40 filters
    between 60 and 7800 Hz, 401-sample windows or filters (about 25 ms at 16 kHz), a 10 ms hop."""

    n_filters: int = 40
    min_hz: float = 60.0
    max_hz: float = 7800.0
    window_length: int = 401
    hop_length: int = 160


class FilterbankFrames:
    """Mixin for filterbank frontends whose config has ``n_filters`` and ``hop_length``: one feature per filter,
    frames centred every ``hop_length`` samples (:func:`centered_num_frames`). Put it before :class:`Frontend`."""

    config: Any

    @property
    def frame_shift(self) -> int:
        return self.config.hop_length

    @property
    def output_dim(self) -> int:
        return self.config.n_filters

    def num_frames(self, lengths: Tensor) -> Tensor:
        return centered_num_frames(lengths, self.config.hop_length)


def _tracing() -> bool:
    """True while torch.jit traces or scripts, torch.onnx or torch.export exports, or torch.compile compiles."""
    exporting = getattr(torch.compiler, "is_exporting", lambda: False)
    return bool(
        torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()
        or torch.compiler.is_compiling() or exporting()
    )


def _check_finite(name: str, waveforms: Tensor) -> None:
    """Refuse NaN/Inf samples, naming the first batch item that holds one: they would turn every feature
    of that item (and, through batch statistics, of the batch) into NaN."""
    # a sum is finite exactly when every sample is (audio is far from float overflow): one cheap reduction
    # for the common case, the element-wise test only when something is wrong
    if bool(torch.isfinite(waveforms.sum())):
        return
    finite = torch.isfinite(waveforms)
    if bool(finite.all()):
        return  # the sum overflowed, no sample is bad
    bad_rows = (~finite).any(dim=1).nonzero().flatten().tolist()
    b = bad_rows[0]
    row = waveforms[b].detach()
    n_nan, n_inf = int(torch.isnan(row).sum()), int(torch.isinf(row).sum())
    first = int((~torch.isfinite(row)).nonzero()[0])
    others = f" (and {len(bad_rows) - 1} more batch item(s))" if len(bad_rows) > 1 else ""
    err = FrontendInputError(
        f"{name}: waveforms[{b}] holds {n_nan} NaN and {n_inf} infinite sample(s), the first at sample {first}"
        f"{others}; audio must be finite samples in [-1, 1]"
    )
    err.item = b  # callers that know the batch's cut ids name the cut
    raise err


def centered_num_frames(lengths: Tensor, hop: int) -> Tensor:
    """Frames centred on samples 0, hop, 2*hop, ... that lie inside the signal: ``1 + L // hop``.

    This is the convention of ``torch.stft(center=True)`` with zero padding, used by every
    frontend here that pools at a stride (mel, LEAF, SincNet, TD-filterbanks) so that they align.
    """
    lengths = torch.as_tensor(lengths)
    return torch.where(lengths > 0, 1 + torch.div(lengths, hop, rounding_mode="floor"), torch.zeros_like(lengths))


def conv_num_frames(lengths: Tensor, kernel: int, stride: int, padding: int = 0) -> Tensor:
    """Output length of a convolution (``floor((L + 2p - k) / s) + 1``, at least 0)."""
    lengths = torch.as_tensor(lengths)
    out = torch.div(lengths + 2 * padding - kernel, stride, rounding_mode="floor") + 1
    return out.clamp(min=0)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


class LengthAwareFrontend(Frontend):
    """A frontend whose computation depends on the valid lengths (normalisation statistics, per-layer masks).

    Subclasses implement :meth:`compute_with_lengths`; :meth:`compute` is the whole-batch-valid special case.
    """

    def compute(self, waveforms: Tensor) -> Tensor:
        lengths = torch.full((waveforms.shape[0],), waveforms.shape[1], dtype=torch.long)
        return self.compute_with_lengths(waveforms, lengths)

    def compute_with_lengths(self, waveforms: Tensor, lengths: Tensor) -> Tensor:
        """Features ``[B, F, D]`` of the zero-padded batch ``[B, T]`` whose sequence ``b`` has ``lengths[b]`` samples."""
        raise NotImplementedError

    def forward(
        self, waveforms: Tensor, lengths: Optional[Tensor] = None, sample_rate: Optional[int] = None
    ) -> tuple[Tensor, Tensor]:
        waveforms, lengths = self.check_inputs(waveforms, lengths, sample_rate)
        features = self.compute_with_lengths(waveforms, lengths)
        frame_lengths = self.num_frames(lengths)
        expected = int(self.num_frames(torch.tensor([waveforms.shape[1]]))[0])
        if features.shape[1] != expected:
            raise RuntimeError(
                f"{type(self).__name__}.compute_with_lengths returned {features.shape[1]} frames for "
                f"{waveforms.shape[1]} samples; num_frames says {expected} (a bug in the frontend)"
            )
        return mask_frames(features, frame_lengths, dim=1), frame_lengths


def mask_frames(x: Tensor, valid: Tensor, dim: int) -> Tensor:
    """Zero the entries of ``x`` whose index along ``dim`` is ``>= valid[b]`` (``x`` has the batch first)."""
    steps = x.shape[dim]
    keep = torch.arange(steps, device=x.device)[None, :] < valid.to(x.device)[:, None]  # [B, steps]
    shape = [x.shape[0]] + [1] * (x.dim() - 1)
    shape[dim] = steps
    return x * keep.reshape(shape).to(x.dtype)
