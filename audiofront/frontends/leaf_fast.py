"""Fast, exact LEAF energies: FFT filtering in overlap-save blocks, fused squared modulus and strided pooling.

Computes the function of :func:`.leaf.leaf_energies_direct` (the reference: full-rate ``conv1d`` of the
zero-extended signal with ``K``-tap complex filters, squared modulus, depthwise ``K``-tap pooling at stride
``s`` with frames centred on samples ``0, s, 2s, ...``), up to float rounding:

    E[b, c, k] = sum_j w_c[j] |y_c[b, k s + j - K//2]|^2,   y_c[b, n] = sum_t h_c[t] x[b, n + t],

with ``x`` zero outside ``[0, T)`` (the filter outputs around the ends are those of the zero-extended signal).

How:

* The output frames are cut into blocks of ``F_b`` frames. A block needs ``x`` over ``(F_b - 1) s + 2K - 1``
  samples; that segment is transformed once (real FFT of size ``N``, shared by all channels), and the real and
  imaginary filter outputs of every channel are inverse real FFTs of its products with the filters' spectra.
  The filters are ``K``-tap FIRs, so on the positions a block reads the circular correlation *is* the linear
  one: no approximation. ``N`` is chosen per call to waste the least work on partial blocks.
* The squared modulus and the pooling are fused per block: the energies of a block are viewed as rows of ``s``
  samples and the pooling window (zero-padded to ``ceil(K / s) * s`` taps) as ``ceil(K / s)`` rows, so the
  strided pooling is one small matrix product and a shifted sum; full-rate energies of the whole signal are
  never materialised.
* A custom autograd function computes exact gradients: filter gradients are cross-correlations accumulated
  in the frequency domain over all blocks and the batch, then one inverse FFT; pooling-window gradients are
  small matrix products; the input gradient (only when asked for) is an overlap-add of blocks. The filter
  outputs of the forward pass are kept for the backward pass when they take less than ``save_limit`` bytes
  (they take about ``8 B C T`` bytes, less than the reference's own activations, ``12 B C T`` bytes plus their
  gradients); above it they are recomputed block by block, so memory stays bounded for any length.

Blocks are processed in groups of about ``_GROUP_ELEMENTS`` samples (all channels) to stay in cache.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

_GROUP_ELEMENTS = 1 << 19  # filter-output samples (2C x N per block) per group of blocks: 2 MiB in float32
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

    def __init__(self, batch: int, length: int, channels: int, kernel_size: int, stride: int, n_fft: int | None):
        self.batch, self.length, self.channels = batch, length, channels
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
        self.group = max(1, _GROUP_ELEMENTS // max(1, 2 * channels * self.n_fft))
        # energies are read on buffer positions [start, stop): rows * stride samples
        self.start, self.stop = self.half, self.half + self.rows * stride
        self.width = self.rows * stride


def _blocks(x: Tensor, geo: _Geometry) -> Tensor:
    """``[B * n_blocks, n_fft]`` overlapping segments of the zero-padded signal (a strided view)."""
    right = geo.padded - geo.left - geo.length
    padded = torch.nn.functional.pad(x, (geo.left, right))
    return padded.unfold(-1, geo.n_fft, geo.block_hop).reshape(geo.segments, geo.n_fft)


def _filter_spectra(h_re: Tensor, h_im: Tensor, n_fft: int) -> Tensor:
    """``[2C, n_fft // 2 + 1]`` spectra of the real then imaginary parts of the filters (circular taps)."""
    return torch.fft.rfft(_circular(torch.cat([h_re, h_im]), n_fft), n=n_fft)


def _energy(y: Tensor, channels: int) -> Tensor:
    """``[G, 2C, L]`` real/imaginary outputs -> ``[G, C, L]`` squared modulus."""
    return torch.addcmul(y[:, channels:].square(), y[:, :channels], y[:, :channels])


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


class _LeafEnergies(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, h_re: Tensor, h_im: Tensor, windows: Tensor, stride: int, n_fft, save_limit: int):
        batch, length = x.shape
        channels, kernel_size = h_re.shape
        geo = _Geometry(batch, length, channels, kernel_size, stride, n_fft)
        corr = torch.conj_physical(_filter_spectra(h_re, h_im, geo.n_fft))  # [2C, F]
        w_rows = _window_rows(windows, geo)  # [C, n_seg, s]
        blocks = _blocks(x, geo)  # [S, N]
        out = x.new_empty(geo.segments, channels, geo.frames_per_block)
        need_grad = any(ctx.needs_input_grad[:4])
        saved_bytes = geo.segments * 2 * channels * geo.n_fft * x.element_size()
        # The filter outputs of each group are kept as the inverse FFT returns them (no copy) when they fit.
        kept = [] if need_grad and saved_bytes <= save_limit else None
        for s0 in range(0, geo.segments, geo.group):
            s1 = min(s0 + geo.group, geo.segments)
            spec_x = torch.fft.rfft(blocks[s0:s1], n=geo.n_fft)  # [G, F]
            y = torch.fft.irfft(spec_x.unsqueeze(1) * corr, n=geo.n_fft)  # [G, 2C, N]
            out[s0:s1] = _pool(_energy(y[..., geo.start : geo.stop], channels), w_rows, geo)
            if kept is not None:
                kept.append(y)
        ctx.save_for_backward(x, h_re, h_im, windows)
        ctx.kept = kept  # intermediates, not inputs or outputs: held on ctx until backward
        ctx.geo = geo
        # [B, nb, C, Fb] -> [B, C, nb * Fb] -> the first `frames`
        out = out.reshape(batch, geo.n_blocks, channels, geo.frames_per_block).permute(0, 2, 1, 3)
        return out.reshape(batch, channels, -1)[..., : geo.frames]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, h_re, h_im, windows = ctx.saved_tensors
        kept, ctx.kept = ctx.kept, None
        geo: _Geometry = ctx.geo
        need_x, need_h_re, need_h_im, need_w = ctx.needs_input_grad[:4]
        need_h = need_h_re or need_h_im
        batch, channels, fb, n_seg = geo.batch, geo.channels, geo.frames_per_block, geo.n_seg
        spec_h = _filter_spectra(h_re, h_im, geo.n_fft)  # [2C, F]
        corr = torch.conj_physical(spec_h)
        w_rows = _window_rows(windows, geo)  # [C, n_seg, s]
        blocks = _blocks(x, geo)
        # grad of the pooled frames per segment: [S, C, Fb] (zero for frames past the end)
        g = grad_out.new_zeros(batch, channels, geo.n_blocks * fb)
        g[..., : geo.frames] = grad_out
        g = g.reshape(batch, channels, geo.n_blocks, fb).permute(0, 2, 1, 3)
        # shifted[S, c, m, seg] = grad of the frame whose window row `seg` lies on energy row m, for all blocks
        shifted = g.new_zeros(geo.segments, channels, geo.rows, n_seg)
        for seg in range(n_seg):
            shifted.view(batch, geo.n_blocks, channels, geo.rows, n_seg)[:, :, :, seg : seg + fb, seg] = g
        acc = torch.zeros(2 * channels, geo.n_fft // 2 + 1, dtype=spec_h.dtype, device=x.device)
        grad_w_rows = torch.zeros_like(w_rows)
        grad_x_blocks = x.new_empty(geo.segments, geo.n_fft) if need_x else None
        # gradient w.r.t. the filter outputs (halved: the factor 2 of d|y|^2/dy is applied once at the end),
        # in an N-sample buffer that stays zero outside start..stop
        gy_buf = x.new_zeros(min(geo.group, geo.segments), 2 * channels, geo.n_fft)
        for i, s0 in enumerate(range(0, geo.segments, geo.group)):
            s1 = min(s0 + geo.group, geo.segments)
            n = s1 - s0
            spec_x = torch.fft.rfft(blocks[s0:s1], n=geo.n_fft) if (need_h or kept is None) else None
            if kept is None:
                y = torch.fft.irfft(spec_x.unsqueeze(1) * corr, n=geo.n_fft)
            else:
                y, kept[i] = kept[i], None  # free each group once used
            y = y[..., geo.start : geo.stop]
            sh = shifted[s0:s1]
            if need_w:
                energy = _energy(y, channels).reshape(n, channels, geo.rows, geo.stride)
                # d/dw[c, seg * s + r] = sum over segments and rows m of shifted[., c, m, seg] * energy[., c, m, r]
                grad_w_rows += torch.matmul(sh.transpose(-1, -2), energy).sum(0)
            if not (need_h or need_x):
                continue
            # d/d(energy) on the rows: [G, C, R, s] -> [G, C, R * s]
            grad_e = torch.matmul(sh, w_rows).reshape(n, 1, channels, geo.width)
            gy = gy_buf[:n, :, geo.start : geo.stop]
            torch.mul(y.view(n, 2, channels, geo.width), grad_e, out=gy.view(n, 2, channels, geo.width))
            spec_gy = torch.fft.rfft(gy_buf[:n], n=geo.n_fft)  # [G, 2C, F]
            if need_h:
                # r[t] = sum_p gy[p] x[p + t]  <=>  R = conj(GY) X;  accumulate conj(R) = GY conj(X) over blocks
                xc = torch.conj_physical(spec_x)
                for j in range(n):
                    acc.addcmul_(spec_gy[j], xc[j].unsqueeze(0))
            if need_x:
                # x gradient of each block: gy convolved with the filters, summed over channels
                grad_x_blocks[s0:s1] = torch.fft.irfft((spec_gy * spec_h).sum(1), n=geo.n_fft)
        grad_x = grad_h_re = grad_h_im = grad_w = None
        if need_h:
            grad_h = _from_circular(torch.fft.irfft(torch.conj_physical(acc), n=geo.n_fft), geo.kernel_size)
            grad_h = grad_h.mul_(2.0)
            grad_h_re, grad_h_im = grad_h[:channels], grad_h[channels:]
        if need_w:
            grad_w = grad_w_rows.reshape(channels, n_seg * geo.stride)[:, : geo.kernel_size]
        if need_x:
            grad_x = _overlap_add(grad_x_blocks.reshape(batch, geo.n_blocks, geo.n_fft), geo).mul_(2.0)
        return grad_x, grad_h_re, grad_h_im, grad_w, None, None, None


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
    if waveforms.dim() != 2:
        raise ValueError(f"leaf_energies_fast needs waveforms [B, T], got {tuple(waveforms.shape)}")
    real_dtype = waveforms.dtype
    h_re = impulse_responses.real.to(real_dtype)
    h_im = impulse_responses.imag.to(real_dtype)
    limit = SAVE_LIMIT if save_limit is None else int(save_limit)
    return _LeafEnergies.apply(waveforms, h_re, h_im, windows.to(real_dtype), stride, n_fft, limit)
