/* symgraph_conv.h: 2-D convolution and pooling kernels (NHWC), float and double.
 *
 * Layouts are Keras': x (n, h, w, c), filters (kh, kw, c/groups, oc), y (n, oh, ow, oc).
 * Output pixel (oy, ox) reads input rows oy*sh - pt + i*dh for filter row i (columns
 * likewise); rows outside [0, h) are zero padding (for max pooling: skipped).
 *
 * Convolutions are im2col + GEMM: a block of batch items is unrolled into a scratch
 * matrix col (rows = output pixels, columns = (i, j, ci) in the filter's own order, so a
 * group's filter slice is a plain (kh*kw*cg, ocg) matrix of leading dimension oc), and
 *   forward          y_g  = col @ w_g
 *   gradient input   dcol = gy_g @ w_g^T, then added back into dx (col2im)
 *   gradient filter  dw_g += col^T @ gy_g
 * A 1x1 filter at stride 1 without padding needs no col: x itself is the matrix.
 * The block holds about SG_CONV_COL_ELEMS elements (2 MiB of float): enough rows for
 * BLAS to run at full speed, little enough memory (2^17..2^21 measured within noise).
 * The scratch is malloc'd per call and freed before return. im2col and col2im run on
 * one thread: between two multi-threaded BLAS calls, an OpenMP region's spinning
 * workers took the cores OpenBLAS' threads needed (measured on the 2-core machine under
 * load: forward 44-56 ms with both against 2.6 ms on one thread and 18-28 ms with
 * OpenBLAS' threads alone, for x (64,28,28,1) * w (5,5,1,32)).
 * A direct loop (register-blocked over 32 output channels) was measured against this
 * and lost on both tutorial CNN layers: see symgraph/ops/conv.py.
 *
 * Every function returns SG_OK or a failing status with its message written (SG_ERR_PARAMS).
 * symgraph.h includes this header after its size helpers (sg_max_i64, sg_min_i64,
 * SG_PARALLEL_MIN), which it uses. Everything is static inline: a unit without
 * convolutions compiles none of it.
 */
#ifndef SYMGRAPH_CONV_H
#define SYMGRAPH_CONV_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symgraph_blas.h"
#include "symgraph_runtime.h"

#ifndef SG_CONV_COL_ELEMS
#define SG_CONV_COL_ELEMS ((int64_t)1 << 19)
#endif

/* The geometry of one convolution or pooling: every size already resolved. */
typedef struct sg_conv_geom {
    int64_t n, h, w, c;     /* input */
    int64_t kh, kw, oc;     /* filter (kh, kw, c / groups, oc); pooling: oc == c */
    int64_t oh, ow;         /* output */
    int64_t sh, sw, dh, dw; /* strides and dilations */
    int64_t pt, pl;         /* padding before the first row and column */
    int64_t groups;
} sg_conv_geom;

/* Checks shared by the convolution kernels: sizes that must agree and fit BLAS. */
static inline int sg_conv_check(const sg_conv_geom *g, SG_ERR_PARAMS)
{
    if (g->groups <= 0 || g->c % g->groups != 0 || g->oc % g->groups != 0)
        SG_FAIL(SG_ERR_SHAPE, "%lld input and %lld output channels do not split into %lld groups", (long long)g->c,
                (long long)g->oc, (long long)g->groups);
    const int64_t K = g->kh * g->kw * (g->c / g->groups);
    if (g->oh * g->ow > INT32_MAX || K > INT32_MAX || g->oc > INT32_MAX || g->c > INT32_MAX)
        SG_FAIL(SG_ERR_VALUE, "conv2d sizes exceed the 32-bit integers of BLAS: %lld output pixels, %lld taps",
                (long long)(g->oh * g->ow), (long long)K);
    return SG_OK;
}

/* Batch items per im2col block. */
static inline int64_t sg_conv_block(const sg_conv_geom *g)
{
    const int64_t per_item = sg_max_i64(1, g->oh * g->ow * g->kh * g->kw * (g->c / g->groups));
    int64_t nb = SG_CONV_COL_ELEMS / per_item;
    if (nb < 1) nb = 1;
    if (nb > g->n) nb = g->n;
    if ((nb * g->oh * g->ow) > INT32_MAX) nb = sg_max_i64(1, INT32_MAX / sg_max_i64(1, g->oh * g->ow));
    return nb;
}

static inline int sg_conv_is_pointwise(const sg_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
           g->ow == g->w;
}

#define SG_CONV_DEFINE(T, SFX, GEMM)                                                                                 \
    /* col[(b, oy, ox), (i, j, ci)] = x[n0 + b, oy*sh - pt + i*dh, ox*sw - pl + j*dw, gi*cg + ci] (0 outside) */   \
    static inline void sg_im2col_##SFX(const sg_conv_geom *g, const T *restrict x, int64_t n0, int64_t nb, int64_t gi,     \
                                T *restrict col)                                                                   \
    {                                                                                                              \
        const int64_t cg = g->c / g->groups, K = g->kh * g->kw * cg, rows = nb * g->oh * g->ow;                    \
        const int contiguous = g->dw == 1 && cg == g->c;                                                           \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;                       \
            T *restrict dst = col + r * K;                                                                         \
            const T *xb = x + (n0 + b) * g->h * g->w * g->c + gi * cg;                                             \
            const int64_t ix0 = ox * g->sw - g->pl;                                                                \
            for (int64_t i = 0; i < g->kh; i++) {                                                                  \
                const int64_t iy = oy * g->sh - g->pt + i * g->dh;                                                 \
                T *restrict drow = dst + i * g->kw * cg;                                                           \
                if (iy < 0 || iy >= g->h) {                                                                        \
                    memset(drow, 0, sizeof(T) * (size_t)(g->kw * cg));                                             \
                    continue;                                                                                      \
                }                                                                                                  \
                if (contiguous && ix0 >= 0 && ix0 + g->kw <= g->w) { /* the filter row is one stretch of x */      \
                    memcpy(drow, xb + (iy * g->w + ix0) * g->c, sizeof(T) * (size_t)(g->kw * cg));                 \
                    continue;                                                                                      \
                }                                                                                                  \
                for (int64_t j = 0; j < g->kw; j++) {                                                              \
                    const int64_t ix = ix0 + j * g->dw;                                                            \
                    T *restrict d = drow + j * cg;                                                                 \
                    if (ix < 0 || ix >= g->w) {                                                                    \
                        if (cg == 1) /* one element: no call to memset or memcpy per tap */                        \
                            d[0] = 0;                                                                              \
                        else                                                                                       \
                            memset(d, 0, sizeof(T) * (size_t)cg);                                                  \
                    } else {                                                                                       \
                        const T *restrict s = xb + (iy * g->w + ix) * g->c;                                        \
                        if (cg == 1)                                                                               \
                            d[0] = s[0];                                                                           \
                        else                                                                                       \
                            memcpy(d, s, sizeof(T) * (size_t)cg);                                                  \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    /* dx[...] += col[...]: the adjoint of im2col (dx of the block's items must start zeroed) */                   \
    static inline void sg_col2im_##SFX(const sg_conv_geom *g, const T *restrict col, int64_t n0, int64_t nb, int64_t gi,   \
                                T *restrict dx)                                                                    \
    {                                                                                                              \
        const int64_t cg = g->c / g->groups, K = g->kh * g->kw * cg;                                               \
        const int contiguous = g->dw == 1 && cg == g->c;                                                           \
        for (int64_t b = 0; b < nb; b++) {                                                                         \
            T *dxb = dx + (n0 + b) * g->h * g->w * g->c + gi * cg;                                                 \
            for (int64_t oy = 0; oy < g->oh; oy++)                                                                 \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                           \
                    const T *restrict src = col + ((b * g->oh + oy) * g->ow + ox) * K;                             \
                    const int64_t ix0 = ox * g->sw - g->pl;                                                        \
                    for (int64_t i = 0; i < g->kh; i++) {                                                          \
                        const int64_t iy = oy * g->sh - g->pt + i * g->dh;                                         \
                        if (iy < 0 || iy >= g->h) continue;                                                        \
                        if (contiguous && ix0 >= 0 && ix0 + g->kw <= g->w) {                                       \
                            T *restrict d = dxb + (iy * g->w + ix0) * g->c;                                        \
                            const T *restrict s = src + i * g->kw * cg;                                            \
                            for (int64_t e = 0; e < g->kw * cg; e++) d[e] += s[e];                                 \
                            continue;                                                                              \
                        }                                                                                          \
                        for (int64_t j = 0; j < g->kw; j++) {                                                      \
                            const int64_t ix = ix0 + j * g->dw;                                                    \
                            if (ix < 0 || ix >= g->w) continue;                                                    \
                            T *restrict d = dxb + (iy * g->w + ix) * g->c;                                         \
                            const T *restrict s = src + (i * g->kw + j) * cg;                                      \
                            for (int64_t ci = 0; ci < cg; ci++) d[ci] += s[ci];                                    \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    static inline int sg_conv2d_forward_##SFX(const sg_conv_geom *g, const T *x, const T *w, T *y, SG_ERR_PARAMS)         \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow;                                                                           \
        if (g->n * P * g->oc == 0) return SG_OK;                                                                   \
        if (K == 0 || ocg == 0) {                                                                                  \
            memset(y, 0, sizeof(T) * (size_t)(g->n * P * g->oc));                                                 \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX) {                                                    \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(g->n * P), (blasint)ocg,       \
                               (blasint)K, 1, x + gi * cg, (blasint)g->c, w + gi * ocg, (blasint)g->oc, 0,         \
                               y + gi * ocg, (blasint)g->oc);                                                      \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        const int64_t nb = sg_conv_block(g);                                                                       \
        T *col = (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                                                    \
        if (col == NULL)                                                                                           \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        for (int64_t n0 = 0; n0 < g->n; n0 += nb) {                                                                \
            const int64_t m = (n0 + nb <= g->n ? nb : g->n - n0);                                                  \
            for (int64_t gi = 0; gi < g->groups; gi++) {                                                           \
                sg_im2col_##SFX(g, x, n0, m, gi, col);                                                             \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(m * P), (blasint)ocg,          \
                               (blasint)K, 1, col, (blasint)K, w + gi * ocg, (blasint)g->oc, 0,                    \
                               y + n0 * P * g->oc + gi * ocg, (blasint)g->oc);                                     \
            }                                                                                                      \
        }                                                                                                          \
        free(col);                                                                                                 \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    static inline int sg_conv2d_grad_input_##SFX(const sg_conv_geom *g, const T *gy, const T *w, T *dx, SG_ERR_PARAMS)    \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow;                                                                           \
        if (g->n * g->h * g->w * g->c == 0) return SG_OK;                                                          \
        if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX && ocg > 0) {                                         \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)(g->n * P), (blasint)K,           \
                               (blasint)ocg, 1, gy + gi * ocg, (blasint)g->oc, w + gi * ocg, (blasint)g->oc, 0,    \
                               dx + gi * cg, (blasint)g->c);                                                       \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        memset(dx, 0, sizeof(T) * (size_t)(g->n * g->h * g->w * g->c));                                            \
        if (P == 0 || K == 0 || ocg == 0) return SG_OK;                                                            \
        const int64_t nb = sg_conv_block(g);                                                                       \
        T *col = (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                                                    \
        if (col == NULL)                                                                                           \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        for (int64_t n0 = 0; n0 < g->n; n0 += nb) {                                                                \
            const int64_t m = (n0 + nb <= g->n ? nb : g->n - n0);                                                  \
            for (int64_t gi = 0; gi < g->groups; gi++) {                                                           \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)(m * P), (blasint)K,              \
                               (blasint)ocg, 1, gy + n0 * P * g->oc + gi * ocg, (blasint)g->oc, w + gi * ocg,      \
                               (blasint)g->oc, 0, col, (blasint)K);                                                \
                sg_col2im_##SFX(g, col, n0, m, gi, dx);                                                            \
            }                                                                                                      \
        }                                                                                                          \
        free(col);                                                                                                 \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    static inline int sg_conv2d_grad_filter_##SFX(const sg_conv_geom *g, const T *x, const T *gy, T *dw, SG_ERR_PARAMS)   \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow;                                                                           \
        if (K * g->oc == 0) return SG_OK;                                                                          \
        if (g->n * P == 0 || ocg == 0) {                                                                           \
            memset(dw, 0, sizeof(T) * (size_t)(K * g->oc));                                                        \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX) {                                                    \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)K, (blasint)ocg,                  \
                               (blasint)(g->n * P), 1, x + gi * cg, (blasint)g->c, gy + gi * ocg, (blasint)g->oc,  \
                               0, dw + gi * ocg, (blasint)g->oc);                                                  \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        const int64_t nb = sg_conv_block(g);                                                                       \
        T *col = (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                                                    \
        if (col == NULL)                                                                                           \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        for (int64_t n0 = 0; n0 < g->n; n0 += nb) {                                                                \
            const int64_t m = (n0 + nb <= g->n ? nb : g->n - n0);                                                  \
            for (int64_t gi = 0; gi < g->groups; gi++) {                                                           \
                sg_im2col_##SFX(g, x, n0, m, gi, col);                                                             \
                SG_CBLAS(GEMM)(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)K, (blasint)ocg, (blasint)(m * P), \
                               1, col, (blasint)K, gy + n0 * P * g->oc + gi * ocg, (blasint)g->oc, n0 == 0 ? 0 : 1, \
                               dw + gi * ocg, (blasint)g->oc);                                                     \
            }                                                                                                      \
        }                                                                                                          \
        free(col);                                                                                                 \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    /* Pooling: kh x kw windows; g->oc == g->c, g->dh == g->dw == 1. The max ignores padding; the average   \
     * divides by the in-bounds count when count_padding is 0, by kh*kw otherwise. */                               \
    /* The flat input offset of each window's maximum (first maximum in row-major window order; the first NaN \
     * if there is one, as numpy's argmax), or -1 for a window with no in-bounds pixel. Taps outside, channels \
     * inside: the channel loop is contiguous and branch-free (it vectorises). Output pixels (rows) r0..r1-1, \
     * arg and best (scratch) holding (r1 - r0)*c entries. */                                                      \
    static inline void sg_max_pool_argmax_##SFX(const sg_conv_geom *g, const T *restrict x, int64_t r0, int64_t r1, \
                                                int64_t *restrict arg, T *restrict best)                           \
    {                                                                                                              \
        const int64_t c = g->c;                                                                                    \
        _Pragma("omp parallel for schedule(static) if ((r1 - r0) * c * g->kh * g->kw >= SG_PARALLEL_MIN)")         \
        for (int64_t r = r0; r < r1; r++) {                                                                        \
            const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;                       \
            int64_t *restrict a = arg + (r - r0) * c;                                                              \
            T *restrict m = best + (r - r0) * c;                                                                   \
            int first = 1;                                                                                         \
            for (int64_t i = 0; i < g->kh; i++) {                                                                  \
                const int64_t iy = oy * g->sh - g->pt + i;                                                         \
                if (iy < 0 || iy >= g->h) continue;                                                                \
                for (int64_t j = 0; j < g->kw; j++) {                                                              \
                    const int64_t ix = ox * g->sw - g->pl + j;                                                     \
                    if (ix < 0 || ix >= g->w) continue;                                                            \
                    const int64_t at = ((b * g->h + iy) * g->w + ix) * c;                                          \
                    const T *restrict xs = x + at;                                                                 \
                    if (first) {                                                                                   \
                        for (int64_t ch = 0; ch < c; ch++) {                                                       \
                            m[ch] = xs[ch];                                                                        \
                            a[ch] = at + ch;                                                                       \
                        }                                                                                          \
                        first = 0;                                                                                 \
                        continue;                                                                                  \
                    }                                                                                              \
                    for (int64_t ch = 0; ch < c; ch++) {                                                           \
                        const T v = xs[ch];                                                                        \
                        const int take = (m[ch] == m[ch]) & ((v > m[ch]) | (v != v));                              \
                        m[ch] = take ? v : m[ch];                                                                  \
                        a[ch] = take ? at + ch : a[ch];                                                            \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
            if (first)                                                                                             \
                for (int64_t ch = 0; ch < c; ch++) a[ch] = -1;                                                     \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    static inline void sg_max_pool_##SFX(const sg_conv_geom *g, const T *restrict x, T *restrict y)                       \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow;                                                                 \
        _Pragma("omp parallel for schedule(static) if (rows * g->c * g->kh * g->kw >= SG_PARALLEL_MIN)")           \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;                       \
            T *restrict yr = y + r * g->c;                                                                         \
            for (int64_t ch = 0; ch < g->c; ch++) yr[ch] = -INFINITY;                                              \
            for (int64_t i = 0; i < g->kh; i++) {                                                                  \
                const int64_t iy = oy * g->sh - g->pt + i;                                                         \
                if (iy < 0 || iy >= g->h) continue;                                                                \
                for (int64_t j = 0; j < g->kw; j++) {                                                              \
                    const int64_t ix = ox * g->sw - g->pl + j;                                                     \
                    if (ix < 0 || ix >= g->w) continue;                                                            \
                    const T *restrict xs = x + ((b * g->h + iy) * g->w + ix) * g->c;                               \
                    /* NaN propagates: once yr is NaN no comparison replaces it */                                 \
                    for (int64_t ch = 0; ch < g->c; ch++) {                                                        \
                        const T v = xs[ch];                                                                        \
                        yr[ch] = (v > yr[ch] || v != v) && yr[ch] == yr[ch] ? v : yr[ch];                          \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    /* Output pixels per argmax block: the scratch stays near 2^16 entries however large the batch. */          \
    static inline int64_t sg_pool_block_rows_##SFX(const sg_conv_geom *g)                                          \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow;                                                                 \
        return sg_max_i64(1, sg_min_i64(rows, ((int64_t)1 << 16) / sg_max_i64(1, g->c)));                         \
    }                                                                                                              \
                                                                                                                   \
    /* gather == 0: dx[argmax of window k] += gy[k] (dx of x's shape); gather == 1: y[k] = v[argmax of window k]   \
     * (the adjoint). Blocks of output pixels in order, so the scatter's additions never race. */                  \
    static inline int sg_max_pool_route_##SFX(const sg_conv_geom *g, const T *x, const T *in, T *out, int gather,  \
                                              SG_ERR_PARAMS)                                                       \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow, c = g->c;                                                       \
        if (!gather) memset(out, 0, sizeof(T) * (size_t)(g->n * g->h * g->w * c));                                 \
        if (rows * c == 0) return SG_OK;                                                                           \
        const int64_t block = sg_pool_block_rows_##SFX(g);                                                         \
        const size_t bytes = (sizeof(int64_t) + sizeof(T)) * (size_t)(block * c);                                 \
        int64_t *arg = (int64_t *)malloc(bytes);                                                                   \
        if (arg == NULL) SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of pooling scratch", (long long)bytes); \
        for (int64_t r0 = 0; r0 < rows; r0 += block) {                                                             \
            const int64_t r1 = sg_min_i64(rows, r0 + block), k0 = r0 * c, count = (r1 - r0) * c;                   \
            sg_max_pool_argmax_##SFX(g, x, r0, r1, arg, (T *)(arg + block * c));                                   \
            if (gather)                                                                                            \
                for (int64_t k = 0; k < count; k++) out[k0 + k] = arg[k] >= 0 ? in[arg[k]] : 0;                    \
            else                                                                                                   \
                for (int64_t k = 0; k < count; k++)                                                                \
                    if (arg[k] >= 0) out[arg[k]] += in[k0 + k];                                                    \
        }                                                                                                          \
        free(arg);                                                                                                 \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    /* The number of in-bounds pixels of window (oy, ox). */                                                       \
    static inline int64_t sg_pool_count_##SFX(const sg_conv_geom *g, int64_t oy, int64_t ox)                       \
    {                                                                                                              \
        const int64_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;                                            \
        const int64_t ny = sg_min_i64(y0 + g->kh, g->h) - sg_max_i64(y0, 0);                                       \
        const int64_t nx = sg_min_i64(x0 + g->kw, g->w) - sg_max_i64(x0, 0);                                       \
        return sg_max_i64(ny, 0) * sg_max_i64(nx, 0);                                                              \
    }                                                                                                              \
                                                                                                                   \
    static inline void sg_avg_pool_##SFX(const sg_conv_geom *g, const T *restrict x, T *restrict y)                       \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow;                                                                 \
        _Pragma("omp parallel for schedule(static) if (rows * g->c * g->kh * g->kw >= SG_PARALLEL_MIN)")           \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;                       \
            T *restrict yr = y + r * g->c;                                                                         \
            for (int64_t ch = 0; ch < g->c; ch++) yr[ch] = 0;                                                      \
            for (int64_t i = 0; i < g->kh; i++) {                                                                  \
                const int64_t iy = oy * g->sh - g->pt + i;                                                         \
                if (iy < 0 || iy >= g->h) continue;                                                                \
                for (int64_t j = 0; j < g->kw; j++) {                                                              \
                    const int64_t ix = ox * g->sw - g->pl + j;                                                     \
                    if (ix < 0 || ix >= g->w) continue;                                                            \
                    const T *restrict xs = x + ((b * g->h + iy) * g->w + ix) * g->c;                               \
                    for (int64_t ch = 0; ch < g->c; ch++) yr[ch] += xs[ch];                                        \
                }                                                                                                  \
            }                                                                                                      \
            const int64_t count = sg_pool_count_##SFX(g, oy, ox);                                                  \
            const T scale = count > 0 ? (T)1 / (T)count : (T)0;                                                    \
            for (int64_t ch = 0; ch < g->c; ch++) yr[ch] *= scale;                                                 \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    static inline void sg_avg_pool_grad_##SFX(const sg_conv_geom *g, const T *restrict gy, T *restrict dx)                \
    {                                                                                                              \
        memset(dx, 0, sizeof(T) * (size_t)(g->n * g->h * g->w * g->c));                                            \
        _Pragma("omp parallel for schedule(static) if (g->n * g->oh * g->ow * g->c * g->kh * g->kw >= SG_PARALLEL_MIN)") \
        for (int64_t b = 0; b < g->n; b++)                                                                         \
            for (int64_t oy = 0; oy < g->oh; oy++)                                                                 \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                           \
                    const int64_t count = sg_pool_count_##SFX(g, oy, ox);                                          \
                    const T scale = count > 0 ? (T)1 / (T)count : (T)0;                                            \
                    const T *restrict gr = gy + ((b * g->oh + oy) * g->ow + ox) * g->c;                            \
                    for (int64_t i = 0; i < g->kh; i++) {                                                          \
                        const int64_t iy = oy * g->sh - g->pt + i;                                                 \
                        if (iy < 0 || iy >= g->h) continue;                                                        \
                        for (int64_t j = 0; j < g->kw; j++) {                                                      \
                            const int64_t ix = ox * g->sw - g->pl + j;                                             \
                            if (ix < 0 || ix >= g->w) continue;                                                    \
                            T *restrict d = dx + ((b * g->h + iy) * g->w + ix) * g->c;                             \
                            for (int64_t ch = 0; ch < g->c; ch++) d[ch] += gr[ch] * scale;                         \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
    }

SG_CONV_DEFINE(float, f32, sgemm)
SG_CONV_DEFINE(double, f64, dgemm)

#endif /* SYMGRAPH_CONV_H */
