"""Approximate LEAF energies at a reduced rate per filter: only the bins of each Gabor filter's band.

LEAF (Zeghidour et al., ICLR 2021) filters the waveform with complex Gabor filters at the full rate, takes the
squared modulus and pools it with a Gaussian lowpass window at stride ``s``. A Gabor filter is a Gaussian in
frequency, centred on ``mu_c`` with standard deviation ``1 / sigma_c`` rad/sample; cut at ``K`` taps it also has
sidelobes (the spectrum of the truncation), but nearly all its energy lies in a band of a few standard
deviations around ``mu_c``. This module computes, per filter, only that band, at a rate that just holds it
(the idea EfficientLEAF, Schlueter & Gutenbrunner 2022, applies in the time domain with grouped strided
convolutions; here it is done in the frequency domain, per filter). ``[B, T] -> [B, C, 1 + T // s]``:

* The output frames are cut into blocks of ``N`` samples of the zero-extended waveform (``N`` from the filter
  length and hop only, :func:`default_fft_size`: 6144 for LEAF); each block is transformed once (a real FFT,
  shared by all filters; the bins of the bands, negative frequencies included, come from its symmetry); frame
  centres fall on buffer positions that are multiples of every rate used.
* Filter ``c`` keeps ``M_c = N / r_c`` consecutive bins around its centre bin ``mu_c N / (2 pi)`` of the
  product of the block's spectrum with the filter's (a decimation by ``r_c`` in the frequency domain, the
  "demodulation" being the choice of bins), and one inverse FFT of ``M_c`` points gives the filter output on
  every ``r_c``-th sample, up to a phase that the modulus removes. ``r_c`` is a power of two dividing ``s``
  and ``N`` (up to 32 for LEAF's hop of 160).
* The squared modulus is pooled at the reduced rate: frame ``k`` is ``r_c sum_j w_c[K//2 + r_c j]
  a_c[k s + r_c j]``, a Riemann sum of the full-rate pooling (the two end taps, cut by the window's support,
  hold what the interior misses of the window's sum, :func:`pooling_taps`). By Poisson's formula it is exact
  when the spectrum of ``w_c a_c`` lies within ``M_c`` bins of zero: ``a_c = |y_c|^2`` spans twice the band's
  half width, the window adds its own bandwidth ``1 / sigma_w`` (``sigma_w = width_c (K - 1) / 2`` samples).
* So ``r_c`` is the largest allowed factor with ``N / r_c >= 2 * half_band_c + Z_POOL * N / (2 pi sigma_w)``,
  where ``half_band_c = max(Z_BAND * N / (2 pi sigma_c), lobes_c * N / K)`` bins: the Gaussian's standard
  deviations, or the truncation's main lobe and sidelobes, whichever is wider, with ``lobes_c = LOBES *
  max(1, e_c / EDGE_REF)`` growing with the envelope's value ``e_c = exp(-(K//2)^2 / (2 sigma_c^2))`` where the
  filter is cut (the sidelobes' level; 0.41 at the widest sigma). Filters with the same ``r_c`` are batched
  (one inverse FFT call per rate). At LEAF's mel initialisation (40 filters) 27 filters run at ``r = 16`` and
  13 at ``r = 8``: 3.7 complex bins per output sample, against 80 real rows per sample for the exact FFT path. A
  filter as wide as ``sample_rate / 4`` or a pooling window of a few samples falls back to the full rate,
  where all bins are kept and the function is the exact one (``max_decimation=1`` forces that: tested equal
  to the reference to float64 rounding).

The rates and bands are chosen from the parameters' current values (no gradient flows through that choice,
which is piecewise constant); the function so defined is differentiated exactly, for the filters' ``mu`` and
``sigma`` (through their spectra), the pooling widths (through the reduced taps) and the waveform, by a
written-out backward (:class:`_BandEnergies`: one FFT of ``M_c`` points per filter and block, and products),
whose loops run as fused C kernels on CPU (:mod:`.native`; a PyTorch twin elsewhere, both tested).

What is left out: the filter's spectrum outside its band (the truncation sidelobes beyond ``lobes_c`` lobes and
the Gaussian beyond ``Z_BAND`` deviations), the aliases of the pooled product beyond ``Z_POOL`` deviations of the
window's spectrum, and the wrap-around of the band-limited filter within a block. The deviation from the exact
LEAF (:func:`.leaf.leaf_energies_direct`) is measured, not bounded analytically
(``benchmarks/leaf_decimated_error.py``, ``benchmarks/results/leaf_decimated_error_cpu.md``; max abs error over
max abs exact value per tensor, float64, worst of 8 seeds, 1 s and 4 s of noise, mel and random initialisation,
as initialised and perturbed as after training):

    energies 6.1e-4, features (sPCEN) 6.5e-3; gradients: waveform 2.3e-3, centres 2.6e-3, bandwidths 2.9e-3,
    pooling widths 3.4e-3, sPCEN parameters 3.5e-3. At mel initialisation: features 3.4e-3, gradients <= 2.9e-3.

:data:`STATED_BOUNDS` (about 3x these) is what tests/frontends/test_leaf_decimated.py checks against the direct
reference. The worst cases are filters at the widest sigma (their truncation sidelobes) with narrow pooling
windows, and frames where a narrow band's envelope dips (the relative error of one frame's energy there can
reach a few percent; the features' errors above are relative to the features' scale).

Speed (benchmarks/results/peers_cpu_1thread.md, one thread, same run): forward+backward 2.9x EfficientLEAF's Gabor
8G-opt at 8 x 1 s, 2.8x at 8 x 4 s, 4.2x at 256 x 1 s; 5.4x to 7.6x the exact ``impl="fast"``; forward alone
1.3x, 2.1x and 2.2x EfficientLEAF. In a classifier training step (EfficientNet-B0, 16 x 1 s,
benchmarks/classify_step.py) the model steps at 0.91 of the `mel` model's speed (exact LEAF: 0.68). The
parameters are the same as the exact paths', so a model trained with ``impl="decimated"`` loads into
``impl="fast"`` / ``"direct"`` and is evaluated exactly.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

# Band kept around each filter's centre: Z_BAND standard deviations of its Gaussian response, and at least
# LOBES main-lobe half widths (N / K bins) of the truncation's sinc, more (LOBES * e / EDGE_REF) for a filter cut
# where its envelope is still above EDGE_REF of its peak. Chosen by measurement (errors and speed): LOBES 3 left
# 2-3x the errors, EDGE_REF divided the worst features' error by 3 at no cost at the mel initialisation.
Z_BAND = 4.0
LOBES = 6.0
EDGE_REF = 0.1
# Margin for the pooled product's spectrum: Z_POOL standard deviations of the pooling window's spectrum.
Z_POOL = 3.0
MAX_DECIMATION = 32
# The stated deviation from the exact LEAF: max |approx - exact| / max |exact| per tensor, in float64, for the
# frontend (40 filters, sPCEN) at mel and random initialisation and at parameters perturbed as after training,
# on 1 s and 4 s of noise. Measured worst (benchmarks/leaf_decimated_error.py, 8 seeds per case, see the module
# docstring): energies 6.1e-4, features 6.5e-3, gradients 2.3e-3 (x), 2.6e-3 (mu), 2.9e-3 (sigma), 3.4e-3 (pooling
# width), 3.5e-3 (sPCEN); these bounds leave a factor of about 3; tests/frontends/test_leaf_decimated.py checks them.
STATED_BOUNDS = {
    "energies": 2e-3,
    "features": 2e-2,
    "d/dx": 1e-2,
    "d/dmu": 1e-2,
    "d/dsigma": 1e-2,
    "d/dwidth": 1e-2,
    "d/dpcen": 1e-2,
}
_FFT_SIZES = tuple(sorted({m << k for m in (1, 3) for k in range(9, 20)}))


def allowed_decimations(stride: int, n_fft: int, limit: int = MAX_DECIMATION) -> list[int]:
    """Powers of two ``r <= limit`` that divide both the hop and the FFT size (the frame centres and the
    reduced-rate samples must fall on a common grid)."""
    out, r = [], 1
    while r <= limit and stride % r == 0 and n_fft % r == 0:
        out.append(r)
        r *= 2
    return out


class _Geometry:
    """Block layout: block ``b`` holds samples ``b * hop - lead .. b * hop - lead + N - 1``; its frame ``k`` is
    centred on buffer position ``lead + k * s`` (a multiple of the largest decimation).

    ``N`` depends on the filters' length and the hop only, never on the input's length: a sequence's blocks
    then hold the same samples whatever the batch is padded to, so zero padding after it changes none of its
    frames (as for the exact paths; the approximation is a function of the zero-extended signal)."""

    def __init__(self, batch: int, length: int, kernel_size: int, stride: int, n_fft: int | None,
                 max_decimation: int = MAX_DECIMATION):
        self.batch, self.length, self.kernel_size, self.stride = batch, length, kernel_size, stride
        self.half = kernel_size // 2
        self.frames = 1 + length // stride
        self.n_fft = n_fft or default_fft_size(kernel_size, stride)
        self.rates = allowed_decimations(stride, self.n_fft, max_decimation)
        self.lead = _lead(self.n_fft, kernel_size, stride)
        self.frames_per_block = _frames_per_block(self.n_fft, kernel_size, stride)
        if self.frames_per_block < 1:
            raise ValueError(f"FFT size {self.n_fft} is too small for {kernel_size}-tap filters at stride {stride}")
        self.n_blocks = -(-self.frames // self.frames_per_block)
        self.block_hop = self.frames_per_block * stride
        self.segments = batch * self.n_blocks
        self.padded = (self.n_blocks - 1) * self.block_hop + self.n_fft


def _lead(n_fft: int, kernel_size: int, stride: int) -> int:
    """Buffer position of a block's first frame centre: >= 2 (K // 2), so that the outputs it pools and the
    samples they read are in the block, and on the grid of the largest decimation."""
    grid = allowed_decimations(stride, n_fft, n_fft)[-1]
    return -(-2 * (kernel_size // 2) // grid) * grid


def _frames_per_block(n_fft: int, kernel_size: int, stride: int) -> int:
    # the last frame's outputs reach lead + (fb - 1) s + K//2, and read x up to another K//2 further
    return (n_fft - 1 - 2 * (kernel_size // 2) - _lead(n_fft, kernel_size, stride)) // stride + 1


def default_fft_size(kernel_size: int, stride: int, efficiency: float = 0.85) -> int:
    """The smallest block size (2^k or 3 * 2^k) whose frames use at least ``efficiency`` of its samples
    (6144 for LEAF's 401 taps at hop 160: 34 frames of 160 samples per block)."""
    for n_fft in _FFT_SIZES:
        fb = _frames_per_block(n_fft, kernel_size, stride)
        if fb >= 1 and fb * stride >= efficiency * n_fft:
            return n_fft
    raise ValueError(f"no FFT size fits {kernel_size}-tap filters at stride {stride}")


def decimation_plan(mu: Tensor, sigma: Tensor, widths: Tensor, geo: _Geometry) -> tuple[list[int], list[int]]:
    """Per filter: the decimation ``r_c`` and the first bin of its ``N / r_c`` bins (see the module docstring)."""
    n, k = geo.n_fft, geo.kernel_size
    mu, sigma, widths = (t.detach().double().cpu() for t in (mu, sigma, widths))
    # the truncation's sidelobes scale with the envelope where it is cut (0.41 of its peak at the widest sigma):
    # more lobes for the filters cut high on their envelope
    edge = torch.exp(-0.5 * ((k // 2) / sigma) ** 2)
    lobes = LOBES * torch.clamp(edge / EDGE_REF, min=1.0)
    half_band = torch.maximum(Z_BAND * n / (2 * math.pi * sigma), lobes * n / k)
    sigma_w = widths * (k - 1) / 2
    need = 2 * half_band + Z_POOL * n / (2 * math.pi * sigma_w)
    rates, starts = [], []
    for c in range(mu.shape[0]):
        r = next((r for r in reversed(geo.rates) if n // r >= need[c]), 1)
        m = n // r
        centre = float(mu[c]) * n / (2 * math.pi)
        rates.append(r)
        starts.append(int(round(centre - m / 2)))
    return rates, starts


@functools.lru_cache(maxsize=64)
def _quadrature(kernel_size: int, r: int) -> Tensor:
    half = kernel_size // 2
    reach = (half + r // 2) // r if r > 1 else half
    quad = torch.zeros(kernel_size, 2 * reach + 1, dtype=torch.float64)
    for j in range(-reach, reach + 1):
        col = j + reach
        if abs(j) < reach or r == 1:
            quad[half + r * j, col] = float(r)
            continue
        lo, hi = r * abs(j) - r / 2, r * abs(j) + r / 2  # the cell, on the positive side
        for t in range(math.ceil(lo), min(half, math.floor(hi)) + 1):
            weight = 0.5 if t == lo or t == hi else 1.0
            quad[half + (t if j > 0 else -t), col] = weight
    return quad


def reduced_window_weights(kernel_size: int, r: int, dtype=torch.float64, device=None) -> Tensor:
    """``[K, 2J + 1]``: the reduced-rate pooling taps are ``w @ Q`` for a ``[C, K]`` window ``w``.

    Grid point ``j`` stands for the samples of its cell ``[r j - r/2, r j + r/2]`` (a shared end sample counts
    half in each). Inside the window its weight is ``r w[K//2 + r j]`` (the Riemann sum: exact for a
    band-limited product, see the module docstring); the outermost cells, which the window's support
    ``[-K//2, K//2]`` cuts, get the sum of the window over the samples of the cell that lie in it, so that the
    truncated window's ends are weighted as at the full rate (with ``r w`` there, d/dwidth was 4% off).
    """
    return _quadrature(kernel_size, r).to(device=device, dtype=dtype)


def pooling_taps(windows: Tensor, r: int) -> Tensor:
    """``[C, K]`` symmetric pooling windows -> ``[C, 2J + 1]`` taps at ``r`` samples apart (differentiable).

    The interior taps are ``r w[K//2 + r j]`` (:func:`reduced_window_weights`); the two end cells, cut by the
    window's support, take what the interior misses of the window's sum, half each (the windows are
    symmetric), so that a constant is pooled exactly (the sums of :func:`reduced_window_weights`' end cells
    leave the interior Riemann sum's own edge error, O(r^2 w'), 1e-5 of the sum at rate 4; the measured
    deviations from the reference changed little).
    """
    taps = windows @ reduced_window_weights(windows.shape[-1], r, dtype=windows.dtype, device=windows.device)
    if r == 1:
        return taps
    missing = (windows.sum(-1) - taps[:, 1:-1].sum(-1)) / 2
    return torch.cat([missing[:, None], taps[:, 1:-1], missing[:, None]], dim=-1)


def _circular_complex(taps: Tensor, n_fft: int) -> Tensor:
    """``[C, K]`` complex taps indexed ``t = -K//2 .. K//2`` placed at ``t mod n_fft``."""
    half = taps.shape[-1] // 2
    return torch.cat([taps[:, half:], taps.new_zeros(taps.shape[0], n_fft - taps.shape[-1]), taps[:, :half]], dim=-1)


class _BlockSpectra(torch.autograd.Function):
    """``[B, T]`` -> ``[S, N // 2 + 1]`` real-input spectra of the overlapping blocks of the zero-extended signal;
    the backward pass overlap-adds the blocks' gradients (``fold``), faster than autograd's ``unfold`` backward."""

    @staticmethod
    def forward(ctx, x: Tensor, geo: _Geometry) -> Tensor:
        right = geo.padded - geo.lead - geo.length
        blocks = F.pad(x, (geo.lead, right)).unfold(-1, geo.n_fft, geo.block_hop).reshape(geo.segments, geo.n_fft)
        ctx.geo = geo
        return torch.fft.rfft(blocks, dim=-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        geo: _Geometry = ctx.geo
        # adjoint of the unnormalised real DFT: x_n gets Re sum_k g_k e^{2 pi i k n / N} over k = 0 .. N/2, which
        # is the inverse real DFT of g with the bins other than 0 and N/2 halved (irfft counts them twice)
        g = grad.clone()
        g[:, 1 : (geo.n_fft + 1) // 2] *= 0.5
        blocks = torch.fft.irfft(g, n=geo.n_fft, dim=-1, norm="forward").reshape(geo.batch, geo.n_blocks, geo.n_fft)
        total = F.fold(blocks.transpose(1, 2), output_size=(1, geo.padded), kernel_size=(1, geo.n_fft),
                       stride=(1, geo.block_hop)).reshape(geo.batch, geo.padded)
        return total[:, geo.lead : geo.lead + geo.length], None


def _band_range(spec_r: Tensor, lo: int, hi: int, n: int) -> Tensor:
    """Bins ``lo .. hi - 1`` (``-n < lo <= 0 < hi <= 2 n``) of the full DFT of real blocks, from their real
    DFT ``spec_r [S, n // 2 + 1]``: ``X[-k] = X[n - k] = conj(X[k])``. Only the bins the filters' bands read."""
    half = n // 2
    parts = []
    k = lo
    while k < hi:
        m = k % n
        if m <= half:  # a run of bins read directly
            stop = min(hi, k + (half + 1 - m))
            parts.append(spec_r[:, m : m + stop - k])
        else:  # a run of mirrored bins: X[m] = conj(X[n - m]), m = half + 1 .. n - 1
            stop = min(hi, k + (n - m))
            first, last = n - m, n - (m + stop - k - 1)  # descending source bins
            parts.append(torch.conj_physical(spec_r[:, last : first + 1].flip(-1)))
        k = stop
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _native(x: Tensor):
    """The fused C kernels (:mod:`.native`) for CPU complex64/complex128 work, or None (then PyTorch operations)."""
    if x.device.type != "cpu" or x.dtype not in (torch.complex64, torch.complex128):
        return None
    from .native import kernels

    return kernels()


_CHUNK_ELEMENTS = 1 << 18  # complex band samples (blocks x filters x M) per chunk: 2 MiB in complex64, in cache
_GPU_CHUNK_ELEMENTS = 1 << 27  # on a GPU the cost is launches, not cache misses


class _BandEnergies(torch.autograd.Function):
    """One rate ``r``: the filters' bands, inverse FFTs of ``M`` points, squared modulus, reduced-rate pooling.

    ``spec [S, NX]`` block spectra (circularly extended so that every band is contiguous), ``filt [Cg, M]`` the
    filters' spectra on their bands (conjugated, with the 1/N of the inverse transform), ``taps [Cg, 2J + 1]``
    the reduced pooling taps, ``starts [Cg]`` (int64) the first bin of each band in ``spec``. Returns
    ``[S, Cg, fb]``. The backward pass is written out (autograd's took 3x the forward's time in elementwise
    passes): d/dy = 2 y (d/da) on the pooled samples, one FFT, then the products with the band and the filter.
    Blocks are processed in chunks of about ``_CHUNK_ELEMENTS`` band samples, so that each chunk's products,
    transforms and pooling stay in cache (at 256 x 1 s, unchunked, forward+backward ran at 0.65x the speed per
    second of audio of 8 x 1 s). On CPU the loops around the FFTs are the fused C kernels of :mod:`.native`;
    elsewhere (or with ``AUDIOFRONT_NATIVE=0``) PyTorch operations compute the same values (both tested against
    the reference).
    """

    @staticmethod
    def forward(ctx, spec: Tensor, filt: Tensor, taps: Tensor, starts: Tensor, first: int, step: int, fb: int):
        segments = spec.shape[0]
        channels, m = filt.shape
        nat = _native(spec)
        spec, filt, taps = spec.contiguous(), filt.contiguous(), taps.contiguous()
        limit = _CHUNK_ELEMENTS if spec.device.type == "cpu" else _GPU_CHUNK_ELEMENTS
        chunk = max(1, limit // (channels * m))
        need_grad = any(ctx.needs_input_grad[:3])
        out = taps.new_empty(segments, channels, fb)
        kept = [] if need_grad else None  # the filter outputs of each chunk, for the backward pass
        band = spec.new_empty(min(chunk, segments), channels, m)
        span = (fb - 1) * step + taps.shape[-1]
        for s0 in range(0, segments, chunk):
            s1 = min(s0 + chunk, segments)
            b = band[: s1 - s0]
            if nat is not None:
                nat.band_forward(spec[s0:s1], filt, starts, b)
            else:
                for i, st in enumerate(starts.tolist()):
                    torch.mul(spec[s0:s1, st : st + m], filt[i], out=b[:, i])  # gather and product in one pass
            y = torch.fft.ifft(b, dim=-1, norm="forward")  # every r-th output sample of the block (times a phase)
            if nat is not None:
                nat.cpool_forward(y, taps, out[s0:s1], first, step)
            else:
                yr, yi = y.real[..., first : first + span], y.imag[..., first : first + span]
                energy = torch.addcmul(yr * yr, yi, yi)  # [G, Cg, span]: |y|^2 where the frames read it
                out[s0:s1] = F.conv1d(energy, taps.unsqueeze(1), stride=step, groups=channels)
            if kept is not None:
                kept.append(y)
        ctx.save_for_backward(spec, filt, taps, starts)
        ctx.kept = kept  # intermediates, not inputs or outputs: held on ctx until backward
        ctx.first, ctx.step, ctx.chunk = first, step, chunk
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        spec, filt, taps, starts = ctx.saved_tensors
        kept, ctx.kept = ctx.kept, None
        first, step, chunk = ctx.first, ctx.step, ctx.chunk
        need_x, need_f, need_t = ctx.needs_input_grad[:3]
        channels, m = filt.shape
        segments = spec.shape[0]
        grad_out = grad_out.contiguous()
        nat = _native(spec)
        grad_taps = torch.zeros_like(taps) if need_t else None
        grad_f = torch.zeros_like(filt) if need_f else None
        grad_x = torch.zeros_like(spec) if need_x else None
        span = (grad_out.shape[-1] - 1) * step + taps.shape[-1]
        gy_buf = None
        for i, s0 in enumerate(range(0, segments, chunk)):
            s1 = min(s0 + chunk, segments)
            y, kept[i] = kept[i], None  # free each chunk once used
            g = grad_out[s0:s1]
            if nat is not None:
                if gy_buf is None:
                    gy_buf = torch.empty_like(y)
                gy = gy_buf[: s1 - s0]
                nat.cpool_backward(y, taps, g, gy, grad_taps, first, step)
            else:
                yr, yi = y.real[..., first : first + span], y.imag[..., first : first + span]
                energy = torch.addcmul(yr * yr, yi, yi)
                grad_e, gt = torch.ops.aten.convolution_backward(
                    g, energy, taps.unsqueeze(1), None, [step], [0], [1], False, [0], channels,
                    [need_x or need_f, need_t, False])[:2]
                if need_t:
                    grad_taps += gt.squeeze(1)
                gy = torch.zeros_like(y)
                if need_x or need_f:
                    # d|y|^2 / dy (torch's convention for a real loss: 2 y dL/da)
                    torch.mul(y[..., first : first + span], grad_e.mul_(2.0), out=gy[..., first : first + span])
            del y
            if not (need_x or need_f):
                continue
            gz = torch.fft.fft(gy, dim=-1)  # adjoint of the unnormalised inverse transform
            if nat is not None:
                nat.band_backward(gz, spec[s0:s1], filt, starts, grad_f, grad_x[s0:s1] if need_x else None)
            else:
                for j, st in enumerate(starts.tolist()):
                    q = gz[:, j]
                    if need_f:  # d/dfilt = sum over blocks of gz conj(x band)
                        grad_f[j] += (q * spec[s0:s1, st : st + m].conj()).sum(0)
                    if need_x:  # d/dx band += gz conj(filt)
                        grad_x[s0:s1, st : st + m].addcmul_(q, filt[j].conj())
        return grad_x, grad_f, grad_taps, None, None, None, None


def leaf_energies_decimated(
    waveforms: Tensor,
    mu: Tensor,
    sigma: Tensor,
    widths: Tensor,
    impulse_responses: Tensor,
    windows: Tensor,
    stride: int,
    n_fft: int | None = None,
    max_decimation: int = MAX_DECIMATION,
) -> Tensor:
    """Approximately :func:`.leaf.leaf_energies_direct`: ``[B, T]`` -> ``[B, C, 1 + T // stride]``.

    Args:
        waveforms: ``[B, T]`` real.
        mu, sigma: ``[C]`` effective Gabor centres (rad/sample) and envelope deviations (samples), which choose
            the bands; ``impulse_responses`` ``[C, K]`` (complex, ``K`` odd) are the filters they define.
        widths: ``[C]`` effective pooling widths (fractions of the half window), which choose the rates;
            ``windows`` ``[C, K]`` are the pooling windows they define.
        stride: hop between frames.
        n_fft: block FFT size (default: :func:`default_fft_size`).
        max_decimation: largest rate reduction allowed (1: every filter on all bins, the exact function).
    """
    if waveforms.dim() != 2:
        raise ValueError(f"leaf_energies_decimated needs waveforms [B, T], got {tuple(waveforms.shape)}")
    if impulse_responses.dim() != 2 or impulse_responses.shape[-1] % 2 == 0:
        raise ValueError(
            f"leaf_energies_decimated needs [C, K] filters with K odd, got {tuple(impulse_responses.shape)}")
    if windows.shape != impulse_responses.shape:
        raise ValueError(
            f"pooling windows {tuple(windows.shape)} must match the filters {tuple(impulse_responses.shape)}")
    batch, length = waveforms.shape
    channels, kernel_size = impulse_responses.shape
    geo = _Geometry(batch, length, kernel_size, stride, n_fft, max_decimation)
    n, fb = geo.n_fft, geo.frames_per_block
    rates, starts = decimation_plan(mu, sigma, widths, geo)
    spec_r = _BlockSpectra.apply(waveforms, geo)  # [S, N/2 + 1]: the blocks' spectra, real input
    # y'_c[n] = sum_t conj(h_c[t]) x[n + t] = conj(y_c[n]) for real x: the same modulus, with its band at +mu_c;
    # its spectrum is X conj(H_c). The 1/N of the inverse transform is folded into the filter spectra.
    spec_h = torch.conj_physical(torch.fft.fft(_circular_complex(impulse_responses.to(spec_r.dtype), n), dim=-1)) / n
    windows = windows.to(waveforms.dtype)
    # one contiguous run of full-DFT bins holding every band (they may start below bin 0: negative frequencies),
    # built from the real DFT by its symmetry; only the bins the bands read
    lo = min(0, min(starts))
    ext = _band_range(spec_r, lo, max(st + n // r for st, r in zip(starts, rates)), n)
    order, pieces = [], []
    for r in sorted(set(rates)):
        chans = [c for c in range(channels) if rates[c] == r]
        m = n // r
        group_starts = torch.tensor([starts[c] for c in chans])
        index = (group_starts[:, None] + torch.arange(m)[None, :]) % n  # [Cg, M]
        chan_index = torch.tensor(chans, device=ext.device)
        filt = spec_h.index_select(0, chan_index).gather(-1, index.to(ext.device))  # [Cg, M]
        taps = pooling_taps(windows.index_select(0, chan_index), r)  # [Cg, 2J+1]
        reach = taps.shape[1] // 2
        pieces.append(_BandEnergies.apply(ext, filt, taps, (group_starts - lo).to(ext.device),
                                          geo.lead // r - reach, stride // r, fb))
        order += chans
    out = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)
    if order != list(range(channels)):
        out = out.index_select(1, torch.argsort(torch.tensor(order, device=out.device)))
    out = out.reshape(batch, geo.n_blocks, channels, fb).permute(0, 2, 1, 3).reshape(batch, channels, -1)
    return out[..., : geo.frames]
