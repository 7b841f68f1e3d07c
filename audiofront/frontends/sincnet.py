"""``sincnet`` (Ravanelli & Bengio 2018) and ``sincnet+`` (LEAF, Zeghidour et al. 2021), as in the LEAF paper.

Sinc filters: each of the ``n_filters`` band-pass filters is an ideal band between a learned low cut-off
``f1 = min_low_hz + |a|`` and high cut-off ``f2 = min(f1 + min_band_hz + |b|, sample_rate / 2)`` (two
parameters per filter, both at least 50 Hz), truncated to ``window_length`` (401) taps by a Hamming window::

    h[n] = (2 f2 sinc(2 f2 n) - 2 f1 sinc(2 f1 n)) * hamming[n],   n = -200 .. 200,  f in cycles per sample

(``sinc(x) = sin(pi x) / (pi x)``; the pass band has gain ~1). Initialised with the band edges equally spaced
on the mel scale from ``min_hz`` to ``max_hz`` (so filter ``i`` spans mel points ``i`` and ``i + 1``), or
(``init="random"``) with both cut-offs of each filter drawn uniformly over ``min_hz .. max_hz``.

``sincnet``, in the order of LEAF's SincNet baseline::

    sinc filters -> LeakyReLU(0.2) -> max-pool (401 taps, stride 160) -> max(., 1e-5) -> LayerNorm over channels

``sincnet+`` replaces the max-pool by LEAF's learnable Gaussian lowpass (one width per channel, init 0.4) and
LayerNorm by sPCEN (alpha, delta, r, s per channel)::

    sinc filters -> LeakyReLU(0.2) -> Gaussian lowpass (401, stride 160) -> max(., 1e-5) -> sPCEN

(the nonlinearity of LEAF's published SincNet+ code; ``activation="square"`` squares instead, giving
energies as in LEAF itself).

Frames are centred on samples 0, 160, 320, ... (``1 + L // 160``, the alignment of ``mel``). A frame pools the
filter outputs at the 401 positions around its centre, and each filter output reads the 401 samples around
its position, so frame ``j`` depends on samples ``160 j - 400 .. 160 j + 400`` of the signal extended by zeros
on both sides. Both stages are computed on that zero extension (the filter outputs near the edges are the
true responses of the zero-extended signal, not zeros), so the valid frames of a sequence are the same alone
and inside a longer zero-padded batch, without needing the lengths.

The cut-offs are learned in units of the sample rate (cycles per sample), not in Hz: the optimiser's step is of the
order of its learning rate in the parameter's units (Adam, AdamW), so a cut-off kept in Hz moves by about 1e-3 Hz a
step at lr 1e-3 and the filters never leave their initialisation (measured: under 0.11 Hz in 1,000 COLA steps),
whereas in units of the sample rate a step moves it by up to ~16 Hz at 16 kHz. SincNet's first code did the same
(its ``sinc_conv`` divides the band edges by the sample rate; the later ``SincConv_fast`` keeps Hz), and LEAF keeps
its centres in radians per sample.
Checkpoints written with the earlier Hz parameters (``low_hz``, ``band_hz``) load unchanged in function: they
are converted on load.

Learnable parameters: ``sincnet`` 2N (cut-offs) + 2N (LayerNorm) = 256 at N = 64; ``sincnet+`` 2N + N
(pooling widths) + 4N (sPCEN) = 448 at N = 64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FilterBank, FilterbankFrames, Frontend, FrontendConfig
from .compression import build_compression
from .leaf_fast import max_pooled_filterbank_fast, pooled_filterbank_fast
from .melscale import hz_to_mel, mel_to_hz
from .pooling import GaussianLowpass
from .registry import register_frontend
from .responses import filterbank_from_taps


class SincFilters(nn.Module):
    """``n_filters`` learnable Hamming-windowed sinc band-pass filters of ``window_length`` taps."""

    def __init__(
        self,
        n_filters: int,
        window_length: int,
        sample_rate: int,
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
        min_hz: float = 60.0,
        max_hz: float = 7800.0,
        learnable: bool = True,
        init: str = "mel",
    ):
        super().__init__()
        if n_filters < 1:
            raise ValueError(f"sinc filters need n_filters >= 1, got {n_filters}")
        if init not in ("mel", "random"):
            raise ValueError(f"sinc filters: unknown init {init!r}; choose 'mel' or 'random'")
        if window_length < 1 or window_length % 2 == 0:
            raise ValueError(f"sinc filters need an odd window_length (centred taps), got {window_length}")
        if min_low_hz < 0 or min_band_hz <= 0:
            raise ValueError(f"sinc filters need min_low_hz >= 0 and min_band_hz > 0, got {min_low_hz}, {min_band_hz}")
        nyquist = sample_rate / 2
        if not min_low_hz <= min_hz < max_hz <= nyquist:
            raise ValueError(
                f"sinc filters are initialised between min_hz and max_hz, which must satisfy "
                f"min_low_hz ({min_low_hz}) <= min_hz < max_hz <= Nyquist ({nyquist}); got {min_hz}, {max_hz}"
            )
        self.n_filters = n_filters
        self.window_length = window_length
        self.sample_rate = sample_rate
        self.min_low_hz = float(min_low_hz)
        self.min_band_hz = float(min_band_hz)
        if init == "mel":
            edges = mel_to_hz(torch.linspace(float(hz_to_mel(min_hz)), float(hz_to_mel(max_hz)), n_filters + 1, dtype=torch.float64))
            f1, f2 = edges[:-1], edges[1:]
        else:
            # two cut-offs per filter drawn uniformly over min_hz .. max_hz (torch's global generator),
            # the lower one is the low cut-off; filters sorted by the middle of their band for readability
            pairs = (min_hz + (max_hz - min_hz) * torch.rand(n_filters, 2, dtype=torch.float64)).sort(dim=1).values
            pairs[:, 1] = torch.maximum(pairs[:, 1], pairs[:, 0] + min_band_hz).clamp(max=nyquist)  # the band's floor
            pairs = pairs[pairs.mean(dim=1).argsort()]
            f1, f2 = pairs[:, 0], pairs[:, 1]
        # the free parts of the cut-offs, in units of the sample rate (see the module docstring for why)
        low = ((f1 - min_low_hz) / sample_rate).float()
        band = ((f2 - f1 - min_band_hz).clamp(min=0) / sample_rate).float()
        if learnable:
            self.low = nn.Parameter(low)
            self.band = nn.Parameter(band)
        else:
            self.register_buffer("low", low)
            self.register_buffer("band", band)
        half = window_length // 2
        self.register_buffer("taps", torch.arange(-half, half + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hamming_window(window_length, periodic=False), persistent=False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints from before the change of units hold the free parts in Hz under other names
        for old, new in (("low_hz", "low"), ("band_hz", "band")):
            if prefix + old in state_dict and prefix + new not in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old) / self.sample_rate
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def cutoffs(self) -> tuple[Tensor, Tensor]:
        """Effective low and high cut-offs in Hz ``([N], [N])``, differentiable."""
        low = self.min_low_hz + self.low.abs() * self.sample_rate
        high = torch.clamp(low + self.min_band_hz + self.band.abs() * self.sample_rate, max=self.sample_rate / 2)
        return low, high

    def impulse_responses(self) -> Tensor:
        """``[N, window_length]`` real, symmetric taps."""
        low, high = self.cutoffs()
        f1 = (low / self.sample_rate)[:, None]
        f2 = (high / self.sample_rate)[:, None]
        n = self.taps[None, :]
        return (2 * f2 * torch.sinc(2 * f2 * n) - 2 * f1 * torch.sinc(2 * f1 * n)) * self.window[None, :]

    def forward(self, x: Tensor) -> Tensor:
        """Valid convolution: ``[B, T]`` -> ``[B, N, T - window_length + 1]``."""
        h = self.impulse_responses().to(x.dtype)
        return F.conv1d(x.unsqueeze(1), h.unsqueeze(1))  # symmetric taps: correlation == convolution

    def filterbank(self) -> FilterBank:
        """Centres at the middle of the learned band, FWHM measured from the windowed responses."""
        with torch.no_grad():
            fb = filterbank_from_taps(self.impulse_responses(), self.sample_rate)
            low, high = self.cutoffs()
            fb.center_hz = ((low + high) / 2).float().cpu()
        return fb


@dataclass
class SincNetConfig(FrontendConfig):
    """Options of ``sincnet``.

    n_filters: number of sinc band-pass filters; window_length: their taps (401) and the pooling window;
    hop_length: frame hop (160); min_low_hz, min_band_hz: lowest low cut-off and narrowest band (50 Hz);
    min_hz, max_hz: the range of the initial band edges; init: "mel" (edges equally spaced on the mel scale)
    | "random" (each filter's two cut-offs uniform over min_hz .. max_hz, as in the self-supervised frontends
    paper's random initialisation); negative_slope: of the LeakyReLU (0.2);
    floor: pooled values are floored here before normalisation (1e-5, as in LEAF); freeze_filters: keep the
    cut-offs fixed.
    impl: "fast" (default: FFT blocks with the activation and pooling fused, custom backward, see
    :func:`.leaf_fast.max_pooled_filterbank_fast` and :func:`.leaf_fast.pooled_filterbank_fast`) | "direct"
    (full-rate ``conv1d``: the reference the fast path is tested against).
    """

    n_filters: int = 40
    window_length: int = 401
    hop_length: int = 160
    min_low_hz: float = 50.0
    min_band_hz: float = 50.0
    min_hz: float = 60.0
    max_hz: float = 7800.0
    negative_slope: float = 0.2
    floor: float = 1e-5
    freeze_filters: bool = False
    impl: Literal["fast", "direct"] = "fast"
    init: Literal["mel", "random"] = "mel"


class _SincFrontend(FilterbankFrames, Frontend):
    """What ``sincnet`` and ``sincnet+`` share: the sinc filters and the centred frames."""

    def __init__(self, config: SincNetConfig):
        super().__init__(config)
        c = config
        if c.hop_length < 1:
            raise ValueError(f"{self.name}: hop_length must be >= 1, got {c.hop_length}")
        if c.floor <= 0:
            raise ValueError(f"{self.name}: floor must be > 0, got {c.floor}")
        if c.impl not in ("fast", "direct"):
            raise ValueError(f"{self.name}: impl must be 'fast' or 'direct', got {c.impl!r}")
        self.sinc = SincFilters(
            c.n_filters, c.window_length, c.sample_rate, c.min_low_hz, c.min_band_hz, c.min_hz, c.max_hz,
            learnable=not c.freeze_filters, init=c.init,
        )

    def filter_outputs(self, waveforms: Tensor, first_position: int) -> Tensor:
        """Sinc filter outputs on the zero-extended signal at positions ``first_position .. 160 (F-1) + 200``.

        ``F = 1 + T // hop`` frames; the last position is the right edge of the last frame's pooling window.
        Returns ``[B, N, 160 (F - 1) + 201 - first_position]``.
        """
        c = self.config
        half = c.window_length // 2
        total = waveforms.shape[1]
        last_position = (total // c.hop_length) * c.hop_length + half
        left = half - first_position  # samples needed before sample 0
        right = last_position + half - (total - 1)  # samples needed after the last one
        return self.sinc(F.pad(waveforms, (left, right)))

    def filters(self) -> Optional[FilterBank]:
        return self.sinc.filterbank()


@register_frontend("sincnet")
class SincNet(_SincFrontend):
    """SincNet as LEAF's baseline (see the module docstring)."""

    Config = SincNetConfig

    def __init__(self, config: SincNetConfig):
        super().__init__(config)
        self.norm = nn.LayerNorm(config.n_filters)

    def compute(self, waveforms: Tensor) -> Tensor:
        c = self.config
        if c.impl == "fast":
            x = max_pooled_filterbank_fast(waveforms, self.sinc.impulse_responses(), c.hop_length, c.negative_slope)
        else:
            half = c.window_length // 2
            x = self.filter_outputs(waveforms, -half)  # positions -200 .. 160 (F-1) + 200
            x = F.leaky_relu(x, c.negative_slope)
            x = F.max_pool1d(x, c.window_length, c.hop_length)  # [B, N, F]: frame j covers 160 j +- 200
        x = x.clamp(min=c.floor)
        return self.norm(x.transpose(1, 2))


@dataclass
class SincNetPlusConfig(SincNetConfig):
    """Options of ``sincnet+``: those of ``sincnet`` and

    activation: "leaky_relu" (LEAF's SincNet+ code) | "square" (energies, as LEAF does with its Gabor filters).
    compression: "spcen" (default) | "pcen" | "log" (LEAF's Table 2 grid).
    init_pooling_width: initial Gaussian width (0.4, as a fraction of the half window).
    freeze_pooling, freeze_compression: keep those parameters fixed.
    """

    activation: Literal["leaky_relu", "square"] = "leaky_relu"
    compression: Literal["spcen", "pcen", "log"] = "spcen"
    init_pooling_width: float = 0.4
    freeze_pooling: bool = False
    freeze_compression: bool = False


@register_frontend("sincnet+")
class SincNetPlus(_SincFrontend):
    """SincNet+ of the LEAF paper (see the module docstring)."""

    Config = SincNetPlusConfig

    def __init__(self, config: SincNetPlusConfig):
        super().__init__(config)
        c = config
        if c.activation not in ("leaky_relu", "square"):
            raise ValueError(f"sincnet+: activation must be 'leaky_relu' or 'square', got {c.activation!r}")
        self.pooling = GaussianLowpass(
            c.n_filters,
            kernel_size=c.window_length,
            stride=c.hop_length,
            init_width=c.init_pooling_width,
            min_width=2.0 / c.window_length,
            learnable=not c.freeze_pooling,
        )
        kw = {} if c.compression == "log" else {"learnable": not c.freeze_compression}
        self.compression = build_compression(c.compression, c.n_filters, **kw)
        # GaussianLowpass zero-pads its input and centres its frames on input samples 0, hop, 2 hop...; starting
        # the filter outputs `lead` hops before sample 0 (lead * hop >= half window) puts every kept window
        # inside the computed outputs, and frame `lead` on sample 0.
        half = c.window_length // 2
        self.lead = -(-half // c.hop_length)

    def pooled(self, waveforms: Tensor) -> Tensor:
        """Pooled activations ``[B, N, 1 + T // hop]`` before flooring and compression."""
        c = self.config
        if c.impl == "fast":
            h = self.sinc.impulse_responses()
            return pooled_filterbank_fast(
                waveforms, h, self.pooling.windows(), c.hop_length, c.activation, negative_slope=c.negative_slope
            )
        frames = 1 + waveforms.shape[1] // c.hop_length
        x = self.filter_outputs(waveforms, -self.lead * c.hop_length)
        x = F.leaky_relu(x, c.negative_slope) if c.activation == "leaky_relu" else x * x
        return self.pooling(x)[..., self.lead : self.lead + frames]  # [B, N, F]

    def compute(self, waveforms: Tensor) -> Tensor:
        x = self.compression(self.pooled(waveforms).clamp(min=self.config.floor))
        return x.transpose(1, 2)

    def inspection(self) -> dict[str, Tensor]:
        out = {"pooling_width": self.pooling.widths.detach().clone()}
        out.update(self.compression.parameters_for_inspection())
        return out
