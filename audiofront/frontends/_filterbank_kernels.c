/* Fused loops around the FFTs of audiofront/frontends/leaf_fast.py and leaf_decimated.py (compiled on first use
 * by native.py).
 *
 * The pure-PyTorch path does each of these steps as several whole-tensor operations, each a pass over memory;
 * here one pass per step. Same arithmetic as the PyTorch path and the conv1d reference: tested against both.
 *
 * Layout (one group of G blocks): filter outputs y[G][R][N] (R real filter rows, N the FFT size), of which
 * positions [start, start + width) are pooled; width = rows * stride. Channel c pools activation a_c:
 *   act 0 (modulus2): a_c = y[c]^2 + y[C + c]^2   (R = 2C)
 *   act 1 (square):   a_c = y[c]^2                (R = C)
 *   act 2 (leaky):    a_c = y[c] > 0 ? y[c] : slope * y[c]
 * Frame k of a block pools a_c[start + k * stride + j] * w[c][j], j < K (K taps, zero beyond).
 * Complex arrays are interleaved (re, im), as torch stores them.
 */
#include <stdlib.h>
#include <string.h>

#define DEFINE_KERNELS(T, SUF)                                                                                  \
                                                                                                                \
static void activation_##SUF(const T *y, long C, long N, long start, long width, long c, int act, T slope,      \
                             T *a) {                                                                            \
    const T *y0 = y + c * N + start;                                                                            \
    if (act == 0) {                                                                                             \
        const T *y1 = y + (C + c) * N + start;                                                                  \
        for (long p = 0; p < width; p++) a[p] = y0[p] * y0[p] + y1[p] * y1[p];                                  \
    } else if (act == 1) {                                                                                      \
        for (long p = 0; p < width; p++) a[p] = y0[p] * y0[p];                                                  \
    } else {                                                                                                    \
        for (long p = 0; p < width; p++) a[p] = y0[p] > 0 ? y0[p] : slope * y0[p];                              \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
/* out[g][c][k] = sum_j w[c][j] a_c[k * stride + j] for the G blocks of a group. */                           \
void pool_forward_##SUF(const T *y, const T *w, T *out, long G, long C, long R, long N, long start, long width, \
                        long stride, long K, long fb, int act, T slope) {                                       \
    _Pragma("omp parallel")                                                                                     \
    {                                                                                                           \
        T *a = (T *)malloc(sizeof(T) * (size_t)width);                                                          \
        _Pragma("omp for schedule(static)")                                                                     \
        for (long gc = 0; gc < G * C; gc++) {                                                                   \
            long g = gc / C, c = gc % C;                                                                        \
            activation_##SUF(y + g * R * N, C, N, start, width, c, act, slope, a);                              \
            const T *wc = w + c * K;                                                                            \
            T *o = out + (g * C + c) * fb;                                                                      \
            for (long k = 0; k < fb; k++) {                                                                     \
                const T *ak = a + k * stride;                                                                   \
                long n = K < width - k * stride ? K : width - k * stride;                                       \
                T acc = 0;                                                                                      \
                _Pragma("omp simd reduction(+ : acc)")                                                          \
                for (long j = 0; j < n; j++) acc += wc[j] * ak[j];                                              \
                o[k] = acc;                                                                                     \
            }                                                                                                   \
        }                                                                                                       \
        free(a);                                                                                                \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
/* Backward through the activation and the pooling, for the G blocks of a group:                            \
 *   u_c[p] = sum_k gout[g][c][k] w[c][p - k stride]                 (gradient of a_c)                          \
 *   gy[g][r][start + p] = d a_c / d y_r * u_c[p]   (halved for the squares: the factor 2 comes at the end)    \
 *   gw[c][j] += sum_k gout[g][c][k] a_c[k stride + j]               (gradient of the window, if gw != NULL)    \
 * gy is written on [start, start + width) only. Parallel over channels, so gw needs no reduction. */         \
void pool_backward_##SUF(const T *y, const T *w, const T *gout, T *gy, T *gw, long G, long C, long R, long N,  \
                         long start, long width, long stride, long K, long fb, int act, T slope) {              \
    _Pragma("omp parallel")                                                                                     \
    {                                                                                                           \
        T *a = (T *)malloc(sizeof(T) * (size_t)width);                                                          \
        T *u = (T *)malloc(sizeof(T) * (size_t)width);                                                          \
        _Pragma("omp for schedule(static)")                                                                     \
        for (long c = 0; c < C; c++) {                                                                          \
            const T *wc = w + c * K;                                                                            \
            for (long g = 0; g < G; g++) {                                                                      \
                const T *go = gout + (g * C + c) * fb;                                                          \
                const T *yg = y + g * R * N;                                                                    \
                memset(u, 0, sizeof(T) * (size_t)width);                                                        \
                for (long k = 0; k < fb; k++) {                                                                 \
                    T gk = go[k];                                                                               \
                    T *uk = u + k * stride;                                                                     \
                    long n = K < width - k * stride ? K : width - k * stride;                                   \
                    _Pragma("omp simd")                                                                         \
                    for (long j = 0; j < n; j++) uk[j] += gk * wc[j];                                           \
                }                                                                                               \
                if (gw) {                                                                                       \
                    activation_##SUF(yg, C, N, start, width, c, act, slope, a);                                 \
                    T *gwc = gw + c * K;                                                                        \
                    for (long k = 0; k < fb; k++) {                                                             \
                        T gk = go[k];                                                                           \
                        const T *ak = a + k * stride;                                                           \
                        long n = K < width - k * stride ? K : width - k * stride;                               \
                        _Pragma("omp simd")                                                                     \
                        for (long j = 0; j < n; j++) gwc[j] += gk * ak[j];                                      \
                    }                                                                                           \
                }                                                                                               \
                const T *y0 = yg + c * N + start;                                                               \
                T *g0 = gy + (g * R + c) * N + start;                                                           \
                if (act == 2) {                                                                                 \
                    for (long p = 0; p < width; p++) g0[p] = y0[p] > 0 ? u[p] : slope * u[p];                   \
                } else {                                                                                        \
                    for (long p = 0; p < width; p++) g0[p] = y0[p] * u[p];                                      \
                }                                                                                               \
                if (act == 0) {                                                                                 \
                    const T *y1 = yg + (C + c) * N + start;                                                     \
                    T *g1 = gy + (g * R + C + c) * N + start;                                                   \
                    for (long p = 0; p < width; p++) g1[p] = y1[p] * u[p];                                      \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        free(a);                                                                                                \
        free(u);                                                                                                \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
/* One pass over the spectra of the output gradients GY[G][R][F] (complex):                                   \
 *   acc[r][f] += sum_g GY[g][r][f] conj(X[g][f])      (filter gradients, summed over blocks), if acc != NULL  \
 *   gx[g][f]   = sum_r GY[g][r][f] H[r][f]            (input gradient of each block), if gx != NULL          \
 * Parallel over frequencies: no two threads write the same element. */                                        \
void spectra_backward_##SUF(const T *GY, const T *X, const T *H, T *acc, T *gx, long G, long R, long F) {       \
    _Pragma("omp parallel for schedule(static)")                                                                \
    for (long f0 = 0; f0 < F; f0 += 64) {                                                                       \
        long f1 = f0 + 64 < F ? f0 + 64 : F;                                                                    \
        for (long g = 0; g < G; g++) {                                                                          \
            const T *xg = X + 2 * g * F;                                                                        \
            T *gxg = gx ? gx + 2 * g * F : NULL;                                                                \
            if (gxg) memset(gxg + 2 * f0, 0, sizeof(T) * 2 * (size_t)(f1 - f0));                                \
            for (long r = 0; r < R; r++) {                                                                      \
                const T *q = GY + 2 * (g * R + r) * F;                                                          \
                if (acc) {                                                                                      \
                    T *ar = acc + 2 * r * F;                                                                    \
                    _Pragma("omp simd")                                                                         \
                    for (long f = f0; f < f1; f++) {                                                            \
                        T qr = q[2 * f], qi = q[2 * f + 1], xr = xg[2 * f], xi = xg[2 * f + 1];                 \
                        ar[2 * f] += qr * xr + qi * xi;                                                         \
                        ar[2 * f + 1] += qi * xr - qr * xi;                                                     \
                    }                                                                                           \
                }                                                                                               \
                if (gxg) {                                                                                      \
                    const T *hr = H + 2 * r * F;                                                                \
                    _Pragma("omp simd")                                                                         \
                    for (long f = f0; f < f1; f++) {                                                            \
                        T qr = q[2 * f], qi = q[2 * f + 1], a = hr[2 * f], b = hr[2 * f + 1];                   \
                        gxg[2 * f] += qr * a - qi * b;                                                          \
                        gxg[2 * f + 1] += qr * b + qi * a;                                                      \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
}


/* Kernels of audiofront/frontends/leaf_decimated.py: one rate's filters, each on its own band of M bins.
 * Complex arrays interleaved (re, im). X[S][NX]: the blocks' spectra (circularly extended so that every band
 * is contiguous); starts[c]: first bin of filter c's band in X; H[C][M]: the filters' spectra on their bands.
 * Y[S][C][M]: the inverse FFTs of the bands (the filter outputs on every r-th sample); the frames pool
 * a[p] = |Y[s][c][first + p]|^2, p < span = (fb - 1) * step + nt, with taps[C][nt] at stride step. */
#define DEFINE_BAND_KERNELS(T, SUF)                                                                             \
                                                                                                                \
/* band[s][c][j] = X[s][starts[c] + j] * H[c][j]: the gather and the product in one pass. */                   \
void band_forward_##SUF(const T *X, const T *H, const long *starts, T *band, long S, long NX, long C, long M) { \
    _Pragma("omp parallel for schedule(static)")                                                                \
    for (long sc = 0; sc < S * C; sc++) {                                                                       \
        long s = sc / C, c = sc % C;                                                                            \
        const T *x = X + 2 * (s * NX + starts[c]);                                                              \
        const T *h = H + 2 * c * M;                                                                             \
        T *b = band + 2 * sc * M;                                                                               \
        _Pragma("omp simd")                                                                                     \
        for (long j = 0; j < M; j++) {                                                                          \
            T xr = x[2 * j], xi = x[2 * j + 1], hr = h[2 * j], hi = h[2 * j + 1];                               \
            b[2 * j] = xr * hr - xi * hi;                                                                       \
            b[2 * j + 1] = xr * hi + xi * hr;                                                                   \
        }                                                                                                       \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
/* From GZ[S][C][M], the gradient of the bands' products:                                                     \
 *   GH[c][j] += sum_s GZ[s][c][j] conj(X[s][starts[c] + j])     (if GH != NULL; parallel over filters)        \
 *   GX[s][starts[c] + j] += GZ[s][c][j] conj(H[c][j])            (if GX != NULL; parallel over blocks, as     \
 *                                                                  bands of different filters may overlap)   */\
void band_backward_##SUF(const T *GZ, const T *X, const T *H, const long *starts, T *GH, T *GX, long S,        \
                         long NX, long C, long M) {                                                             \
    if (GH) {                                                                                                   \
        _Pragma("omp parallel for schedule(static)")                                                            \
        for (long c = 0; c < C; c++) {                                                                          \
            T *gh = GH + 2 * c * M;                                                                             \
            for (long s = 0; s < S; s++) {                                                                      \
                const T *q = GZ + 2 * (s * C + c) * M;                                                          \
                const T *x = X + 2 * (s * NX + starts[c]);                                                      \
                _Pragma("omp simd")                                                                             \
                for (long j = 0; j < M; j++) {                                                                  \
                    T qr = q[2 * j], qi = q[2 * j + 1], xr = x[2 * j], xi = x[2 * j + 1];                       \
                    gh[2 * j] += qr * xr + qi * xi;                                                             \
                    gh[2 * j + 1] += qi * xr - qr * xi;                                                         \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
    if (GX) {                                                                                                   \
        _Pragma("omp parallel for schedule(static)")                                                            \
        for (long s = 0; s < S; s++) {                                                                          \
            for (long c = 0; c < C; c++) {                                                                      \
                const T *q = GZ + 2 * (s * C + c) * M;                                                          \
                const T *h = H + 2 * c * M;                                                                     \
                T *gx = GX + 2 * (s * NX + starts[c]);                                                          \
                _Pragma("omp simd")                                                                             \
                for (long j = 0; j < M; j++) {                                                                  \
                    T qr = q[2 * j], qi = q[2 * j + 1], hr = h[2 * j], hi = h[2 * j + 1];                       \
                    gx[2 * j] += qr * hr + qi * hi;                                                             \
                    gx[2 * j + 1] += qi * hr - qr * hi;                                                         \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
static void cmodulus_##SUF(const T *y, long span, T *a) {                                                      \
    _Pragma("omp simd")                                                                                         \
    for (long p = 0; p < span; p++) a[p] = y[2 * p] * y[2 * p] + y[2 * p + 1] * y[2 * p + 1];                  \
}                                                                                                               \
                                                                                                                \
/* out[s][c][k] = sum_j taps[c][j] a[k * step + j]. */                                                        \
void cpool_forward_##SUF(const T *Y, const T *taps, T *out, long S, long C, long M, long first, long step,      \
                         long nt, long fb) {                                                                    \
    long span = (fb - 1) * step + nt;                                                                           \
    _Pragma("omp parallel")                                                                                     \
    {                                                                                                           \
        T *a = (T *)malloc(sizeof(T) * (size_t)span);                                                           \
        _Pragma("omp for schedule(static)")                                                                     \
        for (long sc = 0; sc < S * C; sc++) {                                                                   \
            long c = sc % C;                                                                                    \
            cmodulus_##SUF(Y + 2 * (sc * M + first), span, a);                                                 \
            const T *w = taps + c * nt;                                                                         \
            T *o = out + sc * fb;                                                                               \
            for (long k = 0; k < fb; k++) {                                                                     \
                const T *ak = a + k * step;                                                                     \
                T acc = 0;                                                                                      \
                _Pragma("omp simd reduction(+ : acc)")                                                          \
                for (long j = 0; j < nt; j++) acc += w[j] * ak[j];                                              \
                o[k] = acc;                                                                                     \
            }                                                                                                   \
        }                                                                                                       \
        free(a);                                                                                                \
    }                                                                                                           \
}                                                                                                               \
                                                                                                                \
/* Backward of cpool_forward: u[p] = sum_k gout[s][c][k] taps[c][p - k step];                                 \
 *   GY[s][c][first + p] = 2 u[p] Y[s][c][first + p] (torch's gradient of |y|^2 for a real loss), GY zero     \
 *   elsewhere on the row (all M bins written);                                                               \
 *   gtaps[c][j] += sum_{s, k} gout[s][c][k] a[k step + j] (if gtaps != NULL). Parallel over filters. */      \
void cpool_backward_##SUF(const T *Y, const T *taps, const T *gout, T *GY, T *gtaps, long S, long C, long M,    \
                          long first, long step, long nt, long fb) {                                            \
    long span = (fb - 1) * step + nt;                                                                           \
    _Pragma("omp parallel")                                                                                     \
    {                                                                                                           \
        T *a = (T *)malloc(sizeof(T) * (size_t)span);                                                           \
        T *u = (T *)malloc(sizeof(T) * (size_t)span);                                                           \
        _Pragma("omp for schedule(static)")                                                                     \
        for (long c = 0; c < C; c++) {                                                                          \
            const T *w = taps + c * nt;                                                                         \
            for (long s = 0; s < S; s++) {                                                                      \
                long sc = s * C + c;                                                                            \
                const T *go = gout + sc * fb;                                                                   \
                const T *y = Y + 2 * (sc * M + first);                                                          \
                memset(u, 0, sizeof(T) * (size_t)span);                                                         \
                for (long k = 0; k < fb; k++) {                                                                 \
                    T gk = go[k];                                                                               \
                    T *uk = u + k * step;                                                                       \
                    _Pragma("omp simd")                                                                         \
                    for (long j = 0; j < nt; j++) uk[j] += gk * w[j];                                           \
                }                                                                                               \
                if (gtaps) {                                                                                    \
                    cmodulus_##SUF(y, span, a);                                                                 \
                    T *gw = gtaps + c * nt;                                                                     \
                    for (long k = 0; k < fb; k++) {                                                             \
                        T gk = go[k];                                                                           \
                        const T *ak = a + k * step;                                                             \
                        _Pragma("omp simd")                                                                     \
                        for (long j = 0; j < nt; j++) gw[j] += gk * ak[j];                                      \
                    }                                                                                           \
                }                                                                                               \
                T *row = GY + 2 * sc * M;                                                                       \
                memset(row, 0, sizeof(T) * 2 * (size_t)first);                                                  \
                T *g = row + 2 * first;                                                                         \
                _Pragma("omp simd")                                                                             \
                for (long p = 0; p < span; p++) {                                                               \
                    g[2 * p] = 2 * u[p] * y[2 * p];                                                             \
                    g[2 * p + 1] = 2 * u[p] * y[2 * p + 1];                                                     \
                }                                                                                               \
                memset(g + 2 * span, 0, sizeof(T) * 2 * (size_t)(M - first - span));                           \
            }                                                                                                   \
        }                                                                                                       \
        free(a);                                                                                                \
        free(u);                                                                                                \
    }                                                                                                           \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
DEFINE_BAND_KERNELS(float, f32)
DEFINE_BAND_KERNELS(double, f64)
