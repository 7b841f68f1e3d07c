"""Fast, exact LEAF energies: FFT filtering in overlap-save blocks, fused activation and strided pooling.

Computes the function of :func:`.leaf.leaf_energies_direct` (the reference: full-rate ``conv1d`` of the
zero-extended signal with ``K``-tap complex filters, squared modulus, depthwise ``K``-tap pooling at stride
``s`` with frames centred on samples ``0, s, 2s, ...``), up to float rounding:

    E[b, c, k] = sum_j w_c[j] |y_c[b, k s + j - K//2]|^2,   y_c[b, n] = sum_t h_c[t] x[b, n + t],

with ``x`` zero outside ``[0, T)`` (the filter outputs around the ends are those of the zero-extended signal).
:func:`pooled_filterbank_fast` is the same machinery for real filters and other pointwise activations: it
serves ``tdfbanks`` (free complex filter pairs, squared modulus, fixed window) and ``sincnet+`` (sinc filters,
LeakyReLU or square, Gaussian windows); :func:`max_pooled_filterbank_fast` does the same with a max-pool
(``sincnet``).

How:

* The output frames are cut into blocks of ``F_b`` frames. A block needs ``x`` over ``(F_b - 1) s + 2K - 1``
  samples; that segment is transformed once (real FFT of size ``N``, shared by all filters), and the outputs of
  every real filter (for LEAF: the real and the imaginary part of each complex one) are inverse real FFTs of
  its products with the filters' spectra. The filters are ``K``-tap FIRs, so on the positions a block reads the
  circular correlation *is* the linear one: no approximation. ``N`` is chosen per call to waste the least work
  on partial blocks.
* The activation and the pooling are fused per block: the activations of a block are viewed as rows of ``s``
  samples and the pooling window (zero-padded to ``ceil(K / s) * s`` taps) as ``ceil(K / s)`` rows, so the
  strided pooling is one small matrix product and a shifted sum; full-rate activations of the whole signal
  are never materialised.
* A custom autograd function computes exact gradients: filter gradients are cross-correlations accumulated
  in the frequency domain over all blocks and the batch, then one inverse FFT; pooling-window gradients are
  small matrix products; the input gradient (only when asked for) is an overlap-add of blocks. The filter
  outputs of the forward pass are kept for the backward pass (as the inverse FFT returns them, no copy) when
  they take less than ``save_limit`` bytes (about ``8 B C T`` bytes for LEAF, less than the reference's own
  activations, ``12 B C T`` bytes plus their gradients); above it they are recomputed block by block, so
  memory stays bounded for any length.

Why not faster: an exact method has to produce every filter output at the full rate before the nonlinearity
(the filters are cut at ``K`` taps, so their responses are not band-limited and cannot be decimated), so the
forward pass costs one inverse FFT pass over ``2C`` rows and the backward pass one FFT pass; on CPU each pass
alone costs about twice a whole log-mel forward and backward (``benchmarks/fft_floor.py``). Measured against
EfficientLEAF's fast setting (issue 15; ``python benchmarks/fft_floor.py --threads 1 --peers``,
benchmarks/results/fft_floor_cpu.md: Intel Xeon, one thread, 40 filters, N = 6144): the two FFT passes take 21.7
ms (8 x 1 s) and 86.3 ms (8 x 4 s); the fused loops an exact method also needs around them (activation and
pooling, their backward, the spectra products of the filter and input gradients) 15.6 and 61.6 ms, in cache and
with nothing else. That floor, 214-216 s of audio per second forward+backward, is below EfficientLEAF's 279 s/s
at 8 x 4 s (114.7 ms; EfficientLEAF is an approximation: each group of filters convolved at a reduced rate) and
above its 172 s/s at 8 x 1 s (46.6 ms). This module runs at 87 and 315 ms there (92 and 102 s/s). Where the
rest goes (torch.profiler, 8 x 4 s, one forward+backward): inverse FFTs 92 ms (the same transforms take 41 ms
in cache: the kept filter outputs, 192 MB, are written to memory and read back; writing them into reused
buffers instead of fresh allocations measured no faster, so it is memory traffic, not page faults; recomputing
them in the backward pass instead, ``save_limit=0``, measured the same), forward FFTs 56 ms, the backward
kernels 83 ms (46 ms in cache), the forward kernel 28 ms (7 ms in cache), the spectra products 18 ms; block
groups of 1 to 8 blocks changed nothing beyond the noise. So an exact LEAF cannot reach EfficientLEAF's
forward+backward at 8 x 4 s on this machine at all, and at 8 x 1 s only with the overhead above its floor cut
from 50 ms to 9 ms. The approximation that does is :mod:`.leaf_decimated` (2.8-2.9x EfficientLEAF at 8 x 1 s
and 8 x 4 s, 4.2x at 256 x 1 s), tested against the same reference within its stated bounds.

Blocks are processed in groups of about ``_GROUP_ELEMENTS`` samples (all filters) to stay in cache. On CPU
the loops around the FFTs (activation + pooling forward; their gradients; the filter- and input-gradient
products of the spectra) run as fused C kernels (:mod:`.native`, compiled on first use; 1.1-1.5x faster
forward+backward); without a C compiler, or with ``AUDIOFRONT_NATIVE=0``, the same values come from PyTorch
operations. Both paths are tested against the reference.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

_GROUP_ELEMENTS = 1 << 19  # filter-output samples (2C x N per block) per group of blocks: 2 MiB in float32
# On a GPU the loop's cost is kernel launches, not cache misses: groups of up to 512 MiB of filter outputs.
_GPU_GROUP_ELEMENTS = 1 << 27
SAVE_LIMIT = 1 << 30  # bytes of filter outputs kept from forward to backward (else recomputed)
_FFT_SIZES = tuple(sorted({m << k for m in (1, 3) for k in range(9, 16)}))


def _frames_per_block(n_fft: int, kernel_size: int, stride: int) -> int:
    """Frames whose energies one block of ``n_fft`` samples computes exactly (may be < 1)."""
    n_seg = -(-kernel_size // stride)
    half = kernel_size // 2
    # the x segment of a block, and the pooled rows read from the y buffer, must fit in the FFT buffer
    return min((n_fft - 2 * kernel_size + 1) // stride + 1, (n_fft - half) // stride - n_seg + 1)


def choose_fft_size(frames: int, kernel_size: int, stride: int) -> int:
    """The FFT size (2^k or 3 * 2^k) that minimises ``blocks * N * log2(N)`` for ``frames`` output frames."""
    best, best_cost = None, math.inf
    for n_fft in _FFT_SIZES:
        fb = _frames_per_block(n_fft, kernel_size, stride)
        if fb < 1:
            continue
        cost = -(-frames // fb) * n_fft * (math.log2(n_fft) + 4.0)  # + elementwise work per sample
        if cost < best_cost:
            best, best_cost = n_fft, cost
    if best is None:
        raise ValueError(f"no FFT size fits {kernel_size}-tap filters at stride {stride}")
    return best


def _circular(taps: Tensor, n_fft: int) -> Tensor:
    """``[C, K]`` taps indexed ``t = -K//2 .. K//2`` placed at ``t mod n_fft`` in ``[C, n_fft]``."""
    half = taps.shape[-1] // 2
    out = taps.new_zeros(taps.shape[0], n_fft)
    out[:, : half + 1] = taps[:, half:]
    out[:, n_fft - half :] = taps[:, :half]
    return out


def _from_circular(buf: Tensor, kernel_size: int) -> Tensor:
    """Inverse of :func:`_circular` for ``[C, n_fft]``: lags ``-K//2 .. K//2`` as ``[C, K]``."""
    half = kernel_size // 2
    return torch.cat([buf[:, buf.shape[-1] - half :], buf[:, : half + 1]], dim=-1)


class _Geometry:
    """Block layout of one call (all sizes in samples unless said otherwise)."""

    def __init__(self, batch: int, length: int, channels: int, filters: int, kernel_size: int, stride: int,
                 n_fft: int | None, group_elements: int = _GROUP_ELEMENTS):
        self.batch, self.length, self.channels, self.filters = batch, length, channels, filters
        self.kernel_size, self.stride, self.half = kernel_size, stride, kernel_size // 2
        self.frames = 1 + length // stride
        self.n_fft = n_fft or choose_fft_size(self.frames, kernel_size, stride)
        self.frames_per_block = _frames_per_block(self.n_fft, kernel_size, stride)
        if self.frames_per_block < 1:
            raise ValueError(f"FFT size {self.n_fft} is too small for {kernel_size}-tap filters at stride {stride}")
        self.n_seg = -(-kernel_size // stride)  # pooling-window rows of `stride` taps
        self.n_blocks = -(-self.frames // self.frames_per_block)
        self.block_hop = self.frames_per_block * stride
        self.rows = self.frames_per_block + self.n_seg - 1  # rows of `stride` energies a block pools
        self.left = 2 * self.half  # x padding before sample 0 (block 0 starts at sample -2 * half)
        self.padded = (self.n_blocks - 1) * self.block_hop + self.n_fft
        self.segments = batch * self.n_blocks  # blocks of all sequences, processed in groups
        self.group = max(1, group_elements // max(1, filters * self.n_fft))
        # energies are read on buffer positions [start, stop): rows * stride samples
        self.start, self.stop = self.half, self.half + self.rows * stride
        self.width = self.rows * stride


def _blocks(x: Tensor, geo: _Geometry) -> Tensor:
    """``[B * n_blocks, n_fft]`` overlapping segments of the zero-padded signal (a strided view)."""
    right = geo.padded - geo.left - geo.length
    padded = torch.nn.functional.pad(x, (geo.left, right))
    return padded.unfold(-1, geo.n_fft, geo.block_hop).reshape(geo.segments, geo.n_fft)


def _filter_spectra(taps: Tensor, n_fft: int) -> Tensor:
    """``[R, n_fft // 2 + 1]`` spectra of the real filters (circular taps)."""
    return torch.fft.rfft(_circular(taps, n_fft), n=n_fft)


ACTIVATIONS = ("modulus2", "square", "leaky_relu")  # ids 0, 1, 2 in the native kernels


def _native(x: Tensor):
    """The fused C kernels for CPU float32/float64 work, or None (then the PyTorch operations below)."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return None
    from .native import kernels

    return kernels()


def _activate(y: Tensor, channels: int, activation: str, slope: float) -> Tensor:
    """``[G, R, L]`` filter outputs -> ``[G, C, L]`` pooled quantity.

    ``modulus2``: rows ``c`` and ``C + c`` are the real and imaginary parts of complex filter ``c``, the result
    is the squared modulus; ``square``: ``y^2``; ``leaky_relu``: ``max(y, 0) + slope * min(y, 0)``.
    """
    if activation == "modulus2":
        return torch.addcmul(y[:, channels:].square(), y[:, :channels], y[:, :channels])
    if activation == "square":
        return y.square()
    return torch.nn.functional.leaky_relu(y, slope)


def _activation_grad(y: Tensor, grad: Tensor, activation: str, slope: float, out: Tensor) -> None:
    """``out = d(activation)/dy * grad``, halved for the squares (their factor 2 is applied once at the end).

    ``grad`` is ``[G, 1, C, L]`` for ``modulus2`` (shared by the real and imaginary rows) and ``[G, C, L]``
    otherwise; ``y`` and ``out`` are ``[G, R, L]``.
    """
    if activation == "modulus2":
        n, rows, width = y.shape
        torch.mul(y.view(n, 2, rows // 2, width), grad, out=out.view(n, 2, rows // 2, width))
    elif activation == "square":
        torch.mul(y, grad, out=out)
    else:  # leaky_relu: slope where y <= 0 (torch's convention at 0)
        torch.mul(torch.where(y > 0, y.new_ones(()), y.new_full((), slope)), grad, out=out)  # in y's dtype


def _pool(energy: Tensor, w_rows: Tensor, geo: _Geometry) -> Tensor:
    """``[G, C, rows * s]`` energies -> ``[G, C, frames_per_block]`` pooled frames of the blocks.

    ``w_rows`` is ``[C, n_seg, s]``: the window cut in rows of ``s`` taps.
    """
    rows = energy.reshape(*energy.shape[:-1], geo.rows, geo.stride)  # [G, C, R, s]
    # partial[g, c, seg, m] = sum_r w[c, seg * s + r] * rows[g, c, m, r]  (this operand order is the fast one)
    partial = torch.matmul(w_rows, rows.transpose(-1, -2))  # [G, C, n_seg, R]
    out = partial[..., 0, 0 : geo.frames_per_block]
    for seg in range(1, geo.n_seg):
        out = out + partial[..., seg, seg : seg + geo.frames_per_block]
    return out


def _window_rows(windows: Tensor, geo: _Geometry) -> Tensor:
    """``[C, K]`` windows zero-padded to ``n_seg * s`` taps and cut into ``[C, n_seg, s]`` rows."""
    pad = geo.n_seg * geo.stride - geo.kernel_size
    return torch.nn.functional.pad(windows, (0, pad)).reshape(windows.shape[0], geo.n_seg, geo.stride)


def _overlap_add(grad_blocks: Tensor, geo: _Geometry) -> Tensor:
    """Sum ``[B, nb, N]`` block gradients at their offsets, drop the padding: ``[B, T]``."""
    batch = grad_blocks.shape[0]
    total = torch.nn.functional.fold(
        grad_blocks.transpose(1, 2),  # [B, N, nb]
        output_size=(1, geo.padded),
        kernel_size=(1, geo.n_fft),
        stride=(1, geo.block_hop),
    ).reshape(batch, geo.padded)
    return total[:, geo.left : geo.left + geo.length]


def _frames_to_output(out: Tensor, geo: _Geometry) -> Tensor:
    """``[S, C, Fb]`` frames of the blocks -> ``[B, C, frames]``."""
    out = out.reshape(geo.batch, geo.n_blocks, geo.channels, geo.frames_per_block).permute(0, 2, 1, 3)
    return out.reshape(geo.batch, geo.channels, -1)[..., : geo.frames]


def _frame_grads(grad_out: Tensor, geo: _Geometry) -> Tensor:
    """``[B, C, frames]`` -> the blocks' frame gradients as a ``[B, nb, C, Fb]`` view (zero past the end)."""
    fb = geo.frames_per_block
    g = grad_out.new_zeros(geo.batch, geo.channels, geo.n_blocks * fb)
    g[..., : geo.frames] = grad_out
    return g.reshape(geo.batch, geo.channels, geo.n_blocks, fb).permute(0, 2, 1, 3)


def _spectra_step(nat, spec_gy: Tensor, spec_x: Tensor, spec_h: Tensor, acc: Tensor | None,
                  gx_buf: Tensor | None) -> Tensor | None:
    """From the spectra ``[G, R, F]`` of a group's output gradients: accumulate the filter gradients' spectra
    into ``acc`` (if given) and return the spectra ``[G, F]`` of the blocks' input gradients (if ``gx_buf``)."""
    if nat is not None:
        # (without filter gradients the signal spectra are not read: any valid array stands in for them)
        nat.spectra_backward(spec_gy, spec_x if acc is not None else spec_h, spec_h, acc, gx_buf)
        return gx_buf
    if acc is not None:
        # r[t] = sum_p gy[p] x[p + t] <=> R = conj(GY) X; accumulate conj(R) = GY conj(X) over blocks
        xc = torch.conj_physical(spec_x)
        for j in range(spec_gy.shape[0]):
            acc.addcmul_(spec_gy[j], xc[j].unsqueeze(0))
    # x gradient of each block: gy convolved with the filters, summed over them
    return (spec_gy * spec_h).sum(1) if gx_buf is not None else None


def _filter_and_input_grads(acc: Tensor | None, grad_x_blocks: Tensor | None, geo: _Geometry,
                            scale: float) -> tuple[Tensor | None, Tensor | None]:
    """Taps ``[R, K]`` from the accumulated spectra and the waveform ``[B, T]`` from the blocks, times ``scale``."""
    grad_h = grad_x = None
    if acc is not None:
        grad_h = _from_circular(torch.fft.irfft(torch.conj_physical(acc), n=geo.n_fft), geo.kernel_size).mul_(scale)
    if grad_x_blocks is not None:
        grad_x = _overlap_add(grad_x_blocks.reshape(geo.batch, geo.n_blocks, geo.n_fft), geo).mul_(scale)
    return grad_x, grad_h


class _PooledFilterbank(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, taps: Tensor, windows: Tensor, stride: int, activation: str, slope: float, n_fft,
                save_limit: int):
        batch, length = x.shape
        n_filters, kernel_size = taps.shape
        channels = windows.shape[0]
        geo = _Geometry(batch, length, channels, n_filters, kernel_size, stride, n_fft,
                        _GROUP_ELEMENTS if x.device.type == "cpu" else _GPU_GROUP_ELEMENTS)
        corr = torch.conj_physical(_filter_spectra(taps, geo.n_fft))  # [R, F]
        w_rows = _window_rows(windows, geo)  # [C, n_seg, s]
        blocks = _blocks(x, geo)  # [S, N]
        out = x.new_empty(geo.segments, channels, geo.frames_per_block)
        need_grad = any(ctx.needs_input_grad[:3])
        saved_bytes = geo.segments * n_filters * geo.n_fft * x.element_size()
        # The filter outputs of each group are kept as the inverse FFT returns them (no copy) when they fit.
        kept = [] if need_grad and saved_bytes <= save_limit else None
        spectra = [] if need_grad else None  # the signal blocks' spectra: small (S x F), kept for backward
        nat = _native(x)
        act_id = ACTIVATIONS.index(activation)
        windows = windows.contiguous()
        work = corr.new_empty(min(geo.group, geo.segments), *corr.shape)  # products, reused by every group
        for s0 in range(0, geo.segments, geo.group):
            s1 = min(s0 + geo.group, geo.segments)
            spec_x = torch.fft.rfft(blocks[s0:s1], n=geo.n_fft)  # [G, F]
            product = torch.mul(spec_x.unsqueeze(1), corr, out=work[: s1 - s0])
            y = torch.fft.irfft(product, n=geo.n_fft)  # [G, R, N]
            if nat is not None:
                nat.pool_forward(y, windows, out[s0:s1], channels, geo.start, geo.width, stride, geo.frames_per_block,
                                 act_id, slope)
            else:
                out[s0:s1] = _pool(_activate(y[..., geo.start : geo.stop], channels, activation, slope), w_rows, geo)
            if kept is not None:
                kept.append(y)
            if spectra is not None:
                spectra.append(spec_x)
        ctx.save_for_backward(x, taps, windows)
        ctx.kept, ctx.spectra = kept, spectra  # intermediates, not inputs or outputs: held on ctx until backward
        ctx.geo, ctx.activation, ctx.slope = geo, activation, slope
        return _frames_to_output(out, geo)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, taps, windows = ctx.saved_tensors
        kept, spectra, ctx.kept, ctx.spectra = ctx.kept, ctx.spectra, None, None
        geo: _Geometry = ctx.geo
        activation, slope = ctx.activation, ctx.slope
        need_x, need_h, need_w = ctx.needs_input_grad[:3]
        batch, channels, fb, n_seg = geo.batch, geo.channels, geo.frames_per_block, geo.n_seg
        spec_h = _filter_spectra(taps, geo.n_fft)  # [R, F]
        corr = torch.conj_physical(spec_h)
        g = _frame_grads(grad_out, geo)  # [B, nb, C, Fb]
        nat = _native(x)
        if nat is not None:
            g = g.reshape(geo.segments, channels, fb).contiguous()
            windows = windows.contiguous()
            grad_w = torch.zeros_like(windows) if need_w else None
        else:
            w_rows = _window_rows(windows, geo)  # [C, n_seg, s]
            # shifted[S, c, m, seg] = grad of the frame whose window row `seg` lies on activation row m
            shifted = g.new_zeros(geo.segments, channels, geo.rows, n_seg)
            for seg in range(n_seg):
                shifted.view(batch, geo.n_blocks, channels, geo.rows, n_seg)[:, :, :, seg : seg + fb, seg] = g
            grad_w_rows = torch.zeros_like(w_rows)
            grad_w = None
        acc = torch.zeros(geo.filters, geo.n_fft // 2 + 1, dtype=spec_h.dtype, device=x.device) if need_h else None
        grad_x_blocks = x.new_empty(geo.segments, geo.n_fft) if need_x else None
        group = min(geo.group, geo.segments)
        # gradient w.r.t. the filter outputs (halved for the squares) in a buffer that stays zero outside the
        # pooled positions start..stop
        gy_buf = x.new_zeros(group, geo.filters, geo.n_fft)
        gx_spec = spec_h.new_empty(group, spec_h.shape[-1]) if need_x else None  # input-gradient spectra
        for i, s0 in enumerate(range(0, geo.segments, geo.group)):
            s1 = min(s0 + geo.group, geo.segments)
            n = s1 - s0
            spec_x = spectra[i]
            if kept is None:
                y = torch.fft.irfft(spec_x.unsqueeze(1) * corr, n=geo.n_fft)
            else:
                y, kept[i] = kept[i], None  # free each group once used
            if nat is not None:
                nat.pool_backward(y, windows, g[s0:s1], gy_buf[:n], grad_w, channels, geo.start, geo.width,
                                  geo.stride, fb, ACTIVATIONS.index(activation), slope)
            else:
                _pool_backward_torch(y[..., geo.start : geo.stop], shifted[s0:s1], w_rows, gy_buf[:n], grad_w_rows,
                                     geo, activation, slope, need_w, need_h or need_x)
            if not (need_h or need_x):
                continue
            spec_gy = torch.fft.rfft(gy_buf[:n], n=geo.n_fft)  # [G, R, F]
            gx = _spectra_step(nat, spec_gy, spec_x, spec_h, acc, gx_spec[:n] if gx_spec is not None else None)
            if need_x:
                grad_x_blocks[s0:s1] = torch.fft.irfft(gx, n=geo.n_fft)
        if need_w and nat is None:
            grad_w = grad_w_rows.reshape(channels, n_seg * geo.stride)[:, : geo.kernel_size]
        scale = 1.0 if activation == "leaky_relu" else 2.0  # d(y^2)/dy = 2y
        grad_x, grad_h = _filter_and_input_grads(acc, grad_x_blocks, geo, scale)
        return grad_x, grad_h, grad_w, None, None, None, None, None


def _pool_backward_torch(y: Tensor, shifted: Tensor, w_rows: Tensor, gy_buf: Tensor, grad_w_rows: Tensor,
                         geo: _Geometry, activation: str, slope: float, need_w: bool, need_gy: bool) -> None:
    """PyTorch twin of the ``pool_backward`` kernel for one group: window gradient (accumulated into
    ``grad_w_rows``) and output gradients written to ``gy_buf`` on ``start..stop``."""
    n, channels = y.shape[0], geo.channels
    if need_w:
        act = _activate(y, channels, activation, slope).reshape(n, channels, geo.rows, geo.stride)
        # d/dw[c, seg * s + r] = sum over segments and rows m of shifted[., c, m, seg] * act[., c, m, r]
        grad_w_rows += torch.matmul(shifted.transpose(-1, -2), act).sum(0)
    if need_gy:
        # d/d(activation) on the rows: [G, C, R, s] -> [G, C, R * s]
        grad_a = torch.matmul(shifted, w_rows).reshape(n, channels, geo.width)
        if activation == "modulus2":
            grad_a = grad_a.unsqueeze(1)
        _activation_grad(y, grad_a, activation, slope, gy_buf[..., geo.start : geo.stop])


def _check(waveforms: Tensor, taps: Tensor, windows: Tensor, name: str) -> None:
    if taps.dim() != 2 or taps.shape[-1] % 2 == 0:
        raise ValueError(f"{name} needs [filters, K] taps with K odd, got {tuple(taps.shape)}")
    if windows.dim() != 2 or windows.shape[-1] != taps.shape[-1]:
        raise ValueError(f"{name}: pooling windows {tuple(windows.shape)} must have the filters' {taps.shape[-1]} taps")
    if waveforms.dim() != 2:
        raise ValueError(f"{name} needs waveforms [B, T], got {tuple(waveforms.shape)}")


def pooled_filterbank_fast(
    waveforms: Tensor,
    taps: Tensor,
    windows: Tensor,
    stride: int,
    activation: str = "square",
    negative_slope: float = 0.01,
    n_fft: int | None = None,
    save_limit: int | None = None,
) -> Tensor:
    """Real FIR filterbank, pointwise activation, per-channel pooling: ``[B, T] -> [B, C, 1 + T // stride]``.

    ``E[b, c, k] = sum_j w_c[j] a_c[b, k s + j - K//2]`` with ``a_c = act(y_c)`` (``modulus2``: ``y_c^2 +
    y_{C+c}^2``), ``y_r[b, n] = sum_t taps_r[t] x[b, n + t]`` on the zero-extended signal, ``t = -K//2 .. K//2``.
    The same function as full-rate ``conv1d`` (a correlation, 'same' padding), the activation and a strided
    depthwise ``conv1d`` of the windows, computed blockwise by FFT (see the module docstring).

    Args:
        taps: ``[R, K]`` real filters (``R = 2C`` for ``modulus2``, else ``C``), ``K`` odd.
        windows: ``[C, K]`` pooling windows.
        activation: ``modulus2`` | ``square`` | ``leaky_relu`` (with ``negative_slope``).
        n_fft, save_limit: as in :func:`leaf_energies_fast`.
    """
    _check(waveforms, taps, windows, "pooled_filterbank_fast")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    expected = 2 * windows.shape[0] if activation == "modulus2" else windows.shape[0]
    if taps.shape[0] != expected:
        raise ValueError(f"{activation} needs {expected} filters for {windows.shape[0]} pooling windows, got {taps.shape[0]}")
    dtype = waveforms.dtype
    limit = SAVE_LIMIT if save_limit is None else int(save_limit)
    return _PooledFilterbank.apply(
        waveforms, taps.to(dtype), windows.to(dtype), stride, activation, float(negative_slope), n_fft, limit
    )


def leaf_energies_fast(
    waveforms: Tensor,
    impulse_responses: Tensor,
    windows: Tensor,
    stride: int,
    n_fft: int | None = None,
    save_limit: int | None = None,
) -> Tensor:
    """Same as :func:`.leaf.leaf_energies_direct`: ``[B, T]`` -> ``[B, C, 1 + T // stride]``.

    Args:
        waveforms: ``[B, T]`` real.
        impulse_responses: ``[C, K]`` complex taps (``K`` odd), centred on ``t = 0``.
        windows: ``[C, K]`` pooling windows.
        stride: hop between frames.
        n_fft: block FFT size (default: :func:`choose_fft_size`).
        save_limit: keep the filter outputs for the backward pass up to this many bytes (default
            :data:`SAVE_LIMIT`); 0 always recomputes them (least memory).
    """
    if impulse_responses.dim() != 2 or impulse_responses.shape[-1] % 2 == 0:
        raise ValueError(f"leaf_energies_fast needs [C, K] filters with K odd, got {tuple(impulse_responses.shape)}")
    if windows.shape != impulse_responses.shape:
        raise ValueError(f"pooling windows {tuple(windows.shape)} must match the filters {tuple(impulse_responses.shape)}")
    taps = torch.cat([impulse_responses.real, impulse_responses.imag])  # [2C, K]: real parts, then imaginary
    return pooled_filterbank_fast(waveforms, taps, windows, stride, "modulus2", n_fft=n_fft, save_limit=save_limit)


class _MaxPooledFilterbank(torch.autograd.Function):
    """Filters, LeakyReLU, max-pool (SincNet): the same blocks and FFTs as :class:`_PooledFilterbank`.

    LeakyReLU with a non-negative slope is non-decreasing, so the max of the activations is the activation of
    the max, at the same position: only the positions of the maxima (and whether they are positive) are kept
    for the backward pass, whose output gradient is zero everywhere else.
    """

    @staticmethod
    def forward(ctx, x: Tensor, taps: Tensor, stride: int, slope: float, n_fft):
        batch, length = x.shape
        channels, kernel_size = taps.shape
        geo = _Geometry(batch, length, channels, channels, kernel_size, stride, n_fft,
                        _GROUP_ELEMENTS if x.device.type == "cpu" else _GPU_GROUP_ELEMENTS)
        corr = torch.conj_physical(_filter_spectra(taps, geo.n_fft))  # [C, F]
        blocks = _blocks(x, geo)
        fb = geo.frames_per_block
        out = x.new_empty(geo.segments, channels, fb)
        where = torch.empty(geo.segments, channels, fb, dtype=torch.long, device=x.device)
        need_grad = any(ctx.needs_input_grad[:2])
        spectra = [] if need_grad else None
        work = corr.new_empty(min(geo.group, geo.segments), *corr.shape)
        for s0 in range(0, geo.segments, geo.group):
            s1 = min(s0 + geo.group, geo.segments)
            spec_x = torch.fft.rfft(blocks[s0:s1], n=geo.n_fft)
            y = torch.fft.irfft(torch.mul(spec_x.unsqueeze(1), corr, out=work[: s1 - s0]), n=geo.n_fft)
            frames = y[..., geo.start : geo.stop].unfold(-1, kernel_size, stride)[:, :, :fb]  # [G, C, Fb, K] view
            peak, index = frames.max(dim=-1)
            out[s0:s1] = torch.nn.functional.leaky_relu(peak, slope)
            where[s0:s1] = index + torch.arange(fb, device=x.device) * stride  # position in the pooled region
            if spectra is not None:
                spectra.append(spec_x)
        positive = out > 0
        ctx.save_for_backward(x, taps, where, positive)
        ctx.spectra, ctx.geo, ctx.slope = spectra, geo, slope
        return _frames_to_output(out, geo)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, taps, where, positive = ctx.saved_tensors
        spectra, ctx.spectra = ctx.spectra, None
        geo: _Geometry = ctx.geo
        need_x, need_h = ctx.needs_input_grad[:2]
        channels, fb = geo.channels, geo.frames_per_block
        spec_h = _filter_spectra(taps, geo.n_fft)
        g = _frame_grads(grad_out, geo).reshape(geo.segments, channels, fb)
        g = torch.where(positive, g, g * ctx.slope)  # through the LeakyReLU at each maximum
        nat = _native(x)
        acc = torch.zeros(channels, geo.n_fft // 2 + 1, dtype=spec_h.dtype, device=x.device) if need_h else None
        grad_x_blocks = x.new_empty(geo.segments, geo.n_fft) if need_x else None
        group = min(geo.group, geo.segments)
        gy_buf = x.new_zeros(group, channels, geo.n_fft)
        gx_spec = spec_h.new_empty(group, spec_h.shape[-1]) if need_x else None
        for i, s0 in enumerate(range(0, geo.segments, geo.group)):
            s1 = min(s0 + geo.group, geo.segments)
            n = s1 - s0
            region = gy_buf[:n, :, geo.start : geo.stop]
            region.zero_()
            region.scatter_add_(-1, where[s0:s1], g[s0:s1])  # overlapping windows may pick the same sample
            spec_gy = torch.fft.rfft(gy_buf[:n], n=geo.n_fft)
            gx = _spectra_step(nat, spec_gy, spectra[i], spec_h, acc, gx_spec[:n] if gx_spec is not None else None)
            if need_x:
                grad_x_blocks[s0:s1] = torch.fft.irfft(gx, n=geo.n_fft)
        grad_x, grad_h = _filter_and_input_grads(acc, grad_x_blocks, geo, 1.0)
        return grad_x, grad_h, None, None, None


def max_pooled_filterbank_fast(waveforms: Tensor, taps: Tensor, stride: int, negative_slope: float = 0.01,
                               n_fft: int | None = None) -> Tensor:
    """Real FIR filterbank, LeakyReLU, max-pool over ``K`` outputs: ``[B, T] -> [B, C, 1 + T // stride]``.

    Frame ``k`` is ``max_j leaky_relu(y_c[k s + j - K//2])``, ``j < K``, with ``y`` as in
    :func:`pooled_filterbank_fast` (the zero-extended signal's outputs): SincNet's pipeline, equal to
    ``conv1d``, ``leaky_relu`` and ``max_pool1d`` on those outputs. ``negative_slope`` must be >= 0.
    """
    _check(waveforms, taps, taps, "max_pooled_filterbank_fast")
    if negative_slope < 0:
        raise ValueError(f"max_pooled_filterbank_fast needs negative_slope >= 0 (a monotonic activation), got {negative_slope}")
    return _MaxPooledFilterbank.apply(waveforms, taps.to(waveforms.dtype), stride, float(negative_slope), n_fft)


