/* Fused loops around the FFTs of audiofront/frontends/leaf_fast.py (compiled on first use by native.py).
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

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
