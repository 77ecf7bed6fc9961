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
 * Threads: the batch is cut into blocks of items (col about SG_CONV_COL_ELEMS elements,
 * 512 KiB of float, at least SG_CONV_BLOCKS_PER_THREAD blocks per thread) that OpenMP's
 * threads take in turn, each unrolling into its own col and calling a single-threaded
 * gemm; the filter gradient sums partials of fixed ranges (sg_conv_slots: the same bits
 * on every call). OpenBLAS runs on one thread (sg_blas_one_thread, symgraph_blas.h); a
 * 1x1 filter's one product is shared among the threads by sg_gemm_f32/f64. Why not
 * OpenBLAS' own threads with one-thread im2col, the
 * previous design: an OpenBLAS worker spins ~0.1 s after each product (THREAD_TIMEOUT
 * 2^28 cycles) and its gemm waits for a worker that another process may hold. Measured
 * on 2 pinned cores of a quiet 16-core Xeon, W5 training step (batch 64), min of 200:
 * previous 17.3-20.5 ms; these kernels with OpenBLAS' workers spinning beside them
 * 28-30 ms, with BLAS on one thread 11.1-13.3 ms; with a third process busy on one of
 * the two cores: previous 976 ms (sic), these 20-22 ms. Each conv kernel alone on 2
 * threads, quiet: within 10% of the previous design (1.7-2.0 ms for the 64-channel
 * layer's forward, either gradient).
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

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef SG_CONV_COL_ELEMS
#define SG_CONV_COL_ELEMS ((int64_t)1 << 17)
#endif
#ifndef SG_CONV_BLOCKS_PER_THREAD
#define SG_CONV_BLOCKS_PER_THREAD 2
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

/* Batch items per im2col block: the block's col holds about SG_CONV_COL_ELEMS elements, and there are at
 * least SG_CONV_BLOCKS_PER_THREAD blocks per thread, so that a thread slowed by another process leaves
 * its share to the others (dynamic schedule). */
static inline int64_t sg_conv_block(const sg_conv_geom *g)
{
    const int64_t per_item = sg_max_i64(1, g->oh * g->ow * g->kh * g->kw * (g->c / g->groups));
    int64_t nb = SG_CONV_COL_ELEMS / per_item;
    const int64_t threads = sg_omp_threads();
    if (threads > 1) nb = sg_min_i64(nb, g->n / (threads * SG_CONV_BLOCKS_PER_THREAD));
    if (nb < 1) nb = 1;
    if (nb > g->n) nb = g->n;
    if ((nb * g->oh * g->ow) > INT32_MAX) nb = sg_max_i64(1, INT32_MAX / sg_max_i64(1, g->oh * g->ow));
    return nb;
}

/* Filter gradients sum over the whole batch. Their work (batch blocks or output rows, count of them) is
 * cut into slots of contiguous ranges that the threads take in turn (dynamic: a thread slowed by another
 * process leaves its share to the others); a slot sums its range in order into its own partial and the
 * partials are added in slot order after: the same bits on every call, whichever thread took a slot. */
static inline int64_t sg_conv_slots(int64_t count)
{
    const int64_t threads = sg_omp_threads();
    return sg_max_i64(1, sg_min_i64(count, threads > 1 ? 4 * threads : 1));
}

/* A fused convolution's epilogue (symgraph/ops/fused.py, FusedConv2D): run(e, r0, r1) finishes output pixels
 * [r0, r1), rows of oc channels of the output seen as (n*oh*ow, oc), right after the product wrote them and on
 * the thread that wrote them, so it reads them from cache (bias add, activation: no second pass over memory).
 * ptrs are the arrays it reads and writes, in the order its generated code unpacks them. */
typedef struct sg_conv_epilogue {
    void (*run)(const struct sg_conv_epilogue *e, int64_t r0, int64_t r1);
    void *const *ptrs;
    int64_t oc;
} sg_conv_epilogue;

static inline int sg_conv_is_pointwise(const sg_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
           g->ow == g->w;
}

/* Direct one-channel kernels: output channels per vector chunk (a multiple of 64 bytes' lanes), pixels per block. */
#ifndef SG_CONV_OCB
#define SG_CONV_OCB 32
#endif
#ifndef SG_CONV_PX
#define SG_CONV_PX 4
#endif

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
    /* dw += each partial in slot order (partials[s - 1] holds slot s's sums; slot 0's are dw). */                 \
    static inline void sg_conv_add_partials_##SFX(T *restrict dw, const T *restrict partials, int64_t slots, int64_t dw_size) \
    {                                                                                                              \
        for (int64_t s = 1; s < slots; s++) {                                                                      \
            const T *restrict part = partials + (s - 1) * dw_size;                                                 \
            for (int64_t e = 0; e < dw_size; e++) dw[e] += part[e];                                                \
        }                                                                                                          \
    }                                                                                                              \
    /* One input channel (the first layer of an image network: grayscale, groups 1): K = kh*kw is so small         \
     * that gemm spends its time packing; direct loops instead, SG_CONV_OCB output channels at a time held in      \
     * 64-byte vectors (GCC's vector extension), forward over SG_CONV_PX output pixels at once so that each        \
     * filter tap is loaded once for them. Output rows (b, oy) on the threads. */                                  \
    static inline void sg_conv2d_forward_c1_##SFX(const sg_conv_geom *g, const T *restrict x, const T *restrict w, T *restrict y, \
                                                  const sg_conv_epilogue *epi)                                   \
    {                                                                                                              \
        typedef T vec __attribute__((vector_size(64)));                                                            \
        enum { LANES = 64 / sizeof(T), NV = SG_CONV_OCB / (64 / sizeof(T)) };                                      \
        const int64_t oc = g->oc, taps = g->kh * g->kw, rows = g->n * g->oh;                                       \
        _Pragma("omp parallel for schedule(dynamic, 8) if (rows * g->ow * oc * taps >= SG_PARALLEL_MIN)")          \
        for (int64_t row = 0; row < rows; row++) {                                                                 \
            const int64_t b = row / g->oh, oy = row % g->oh;                                                       \
            const T *restrict xb = x + b * g->h * g->w;                                                            \
            for (int64_t ox0 = 0; ox0 < g->ow; ox0 += SG_CONV_PX) {                                                \
                const int64_t px_n = sg_min_i64(SG_CONV_PX, g->ow - ox0);                                          \
                for (int64_t o0 = 0; o0 < oc; o0 += SG_CONV_OCB) {                                                 \
                    const int64_t cn = sg_min_i64(SG_CONV_OCB, oc - o0);                                           \
                    T *restrict y0 = y + (row * g->ow + ox0) * oc + o0;                                            \
                    if (cn == SG_CONV_OCB) {                                                                       \
                        vec acc[SG_CONV_PX][NV];                                                                   \
                        for (int px = 0; px < SG_CONV_PX; px++)                                                    \
                            for (int u = 0; u < NV; u++) acc[px][u] = (vec){0};                                    \
                        for (int64_t i = 0; i < g->kh; i++) {                                                      \
                            const int64_t iy = oy * g->sh - g->pt + i * g->dh;                                     \
                            if (iy < 0 || iy >= g->h) continue;                                                    \
                            for (int64_t j = 0; j < g->kw; j++) {                                                  \
                                const T *restrict wt = w + (i * g->kw + j) * oc + o0;                              \
                                vec wv[NV];                                                                        \
                                for (int u = 0; u < NV; u++) memcpy(&wv[u], wt + u * LANES, sizeof(vec));          \
                                for (int px = 0; px < SG_CONV_PX; px++) {                                          \
                                    const int64_t ix = (ox0 + px) * g->sw - g->pl + j * g->dw;                     \
                                    const T v = px < px_n && ix >= 0 && ix < g->w ? xb[iy * g->w + ix] : (T)0;     \
                                    for (int u = 0; u < NV; u++) acc[px][u] += v * wv[u];                          \
                                }                                                                                  \
                            }                                                                                      \
                        }                                                                                          \
                        for (int64_t px = 0; px < px_n; px++)                                                      \
                            for (int u = 0; u < NV; u++) memcpy(y0 + px * oc + u * LANES, &acc[px][u], sizeof(vec)); \
                        continue;                                                                                  \
                    }                                                                                              \
                    for (int64_t px = 0; px < px_n; px++) {                                                        \
                        T *restrict yp = y0 + px * oc;                                                             \
                        for (int64_t k = 0; k < cn; k++) yp[k] = 0;                                                \
                        for (int64_t i = 0; i < g->kh; i++) {                                                      \
                            const int64_t iy = oy * g->sh - g->pt + i * g->dh;                                     \
                            if (iy < 0 || iy >= g->h) continue;                                                    \
                            for (int64_t j = 0; j < g->kw; j++) {                                                  \
                                const int64_t ix = (ox0 + px) * g->sw - g->pl + j * g->dw;                         \
                                if (ix < 0 || ix >= g->w) continue;                                                \
                                const T v = xb[iy * g->w + ix], *restrict wt = w + (i * g->kw + j) * oc + o0;      \
                                for (int64_t k = 0; k < cn; k++) yp[k] += v * wt[k];                               \
                            }                                                                                      \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
            if (epi != NULL) epi->run(epi, row * g->ow, (row + 1) * g->ow);                                       \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    /* dw for one input channel: dw[t, o] = sum over output pixels p of x at p's tap t * gy[p, o]. The output      \
     * rows are cut into slots (sg_conv_slots); per row, tap and chunk of SG_CONV_OCB output channels,             \
     * SG_CONV_PX pixels' sums are kept in vectors. */                                                             \
    static inline int sg_conv2d_grad_filter_c1_##SFX(const sg_conv_geom *g, const T *restrict x, const T *restrict gy, T *restrict dw, SG_ERR_PARAMS) \
    {                                                                                                              \
        typedef T vec __attribute__((vector_size(64)));                                                            \
        enum { LANES = 64 / sizeof(T), NV = SG_CONV_OCB / (64 / sizeof(T)) };                                      \
        const int64_t oc = g->oc, taps = g->kh * g->kw, rows = g->n * g->oh, dw_size = taps * oc;                  \
        const int64_t slots = rows * g->ow * dw_size >= SG_PARALLEL_MIN ? sg_conv_slots(rows) : 1;                 \
        T *partials = NULL;                                                                                        \
        if (slots > 1) {                                                                                           \
            partials = (T *)malloc(sizeof(T) * (size_t)((slots - 1) * dw_size));                                   \
            if (partials == NULL)                                                                                  \
                SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * (slots - 1) * dw_size)); \
        }                                                                                                          \
        _Pragma("omp parallel for schedule(dynamic, 1) if (slots > 1)")                                            \
        for (int64_t s = 0; s < slots; s++) {                                                                      \
            T *restrict acc_all = s == 0 ? dw : partials + (s - 1) * dw_size;                                      \
            memset(acc_all, 0, sizeof(T) * (size_t)dw_size);                                                       \
            for (int64_t row = s * rows / slots; row < (s + 1) * rows / slots; row++) {                            \
                const int64_t b = row / g->oh, oy = row % g->oh;                                                   \
                const T *restrict gr = gy + row * g->ow * oc;                                                      \
                for (int64_t i = 0; i < g->kh; i++) {                                                              \
                    const int64_t iy = oy * g->sh - g->pt + i * g->dh;                                             \
                    if (iy < 0 || iy >= g->h) continue;                                                            \
                    const T *restrict xr = x + (b * g->h + iy) * g->w;                                             \
                    for (int64_t j = 0; j < g->kw; j++) {                                                          \
                        /* the output columns q whose input column q*sw + off lies inside the row */               \
                        const int64_t off = j * g->dw - g->pl;                                                     \
                        int64_t q0 = 0, q1 = g->ow;                                                                \
                        while (q0 < q1 && q0 * g->sw + off < 0) q0++;                                              \
                        while (q1 > q0 && (q1 - 1) * g->sw + off >= g->w) q1--;                                    \
                        T *restrict acc_t = acc_all + (i * g->kw + j) * oc;                                        \
                        for (int64_t o0 = 0; o0 < oc; o0 += SG_CONV_OCB) {                                         \
                            const int64_t cn = sg_min_i64(SG_CONV_OCB, oc - o0);                                   \
                            if (cn < SG_CONV_OCB) {                                                                \
                                for (int64_t q = q0; q < q1; q++) {                                                \
                                    const T v = xr[q * g->sw + off], *restrict gq = gr + q * oc + o0;              \
                                    for (int64_t k = 0; k < cn; k++) acc_t[o0 + k] += v * gq[k];                   \
                                }                                                                                  \
                                continue;                                                                          \
                            }                                                                                      \
                            vec a[SG_CONV_PX][NV];                                                                 \
                            for (int px = 0; px < SG_CONV_PX; px++)                                                \
                                for (int u = 0; u < NV; u++) a[px][u] = (vec){0};                                  \
                            int64_t q = q0;                                                                        \
                            for (; q + SG_CONV_PX <= q1; q += SG_CONV_PX)                                          \
                                for (int px = 0; px < SG_CONV_PX; px++) {                                          \
                                    const T v = xr[(q + px) * g->sw + off], *restrict gq = gr + (q + px) * oc + o0; \
                                    for (int u = 0; u < NV; u++) {                                                 \
                                        vec gv;                                                                    \
                                        memcpy(&gv, gq + u * LANES, sizeof(vec));                                  \
                                        a[px][u] += v * gv;                                                        \
                                    }                                                                              \
                                }                                                                                  \
                            for (; q < q1; q++) {                                                                  \
                                const T v = xr[q * g->sw + off], *restrict gq = gr + q * oc + o0;                  \
                                for (int u = 0; u < NV; u++) {                                                     \
                                    vec gv;                                                                        \
                                    memcpy(&gv, gq + u * LANES, sizeof(vec));                                      \
                                    a[0][u] += v * gv;                                                             \
                                }                                                                                  \
                            }                                                                                      \
                            for (int u = 0; u < NV; u++) {                                                         \
                                vec sum, old;                                                                      \
                                sum = a[0][u];                                                                     \
                                for (int px = 1; px < SG_CONV_PX; px++) sum += a[px][u];                           \
                                memcpy(&old, acc_t + o0 + u * LANES, sizeof(vec));                                 \
                                old += sum;                                                                        \
                                memcpy(acc_t + o0 + u * LANES, &old, sizeof(vec));                                 \
                            }                                                                                      \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        sg_conv_add_partials_##SFX(dw, partials, slots, dw_size);                                                  \
        free(partials);                                                                                            \
        return SG_OK;                                                                                              \
    }                                                                                                              \
    /* y = conv2d(x, w), then epi (NULL: none) on each block of output pixels: blocks of batch items spread over \
     * the threads, each unrolled into the thread's own col (a pointwise filter with an epilogue reads x itself) \
     * and multiplied by one single-threaded gemm per group. */                                                  \
    static inline int sg_conv2d_forward_##SFX(const sg_conv_geom *g, const T *x, const T *w, T *y,              \
                                              const sg_conv_epilogue *epi, SG_ERR_PARAMS)                      \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow;                                                                           \
        if (g->n * P * g->oc == 0) return SG_OK;                                                                   \
        if (K == 0 || ocg == 0) {                                                                                  \
            memset(y, 0, sizeof(T) * (size_t)(g->n * P * g->oc));                                                 \
            if (epi != NULL) epi->run(epi, 0, g->n * P);                                                           \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        const int pointwise = sg_conv_is_pointwise(g);                                                             \
        if (pointwise && epi == NULL && g->n * P <= INT32_MAX) {                                                   \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                sg_gemm_##SFX(0, 0, g->n * P, ocg, K, x + gi * cg, g->c, w + gi * ocg, g->oc, y + gi * ocg, g->oc, 1); \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (g->c == 1 && g->groups == 1) {                                                                         \
            sg_conv2d_forward_c1_##SFX(g, x, w, y, epi);                                                           \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb;                                       \
        const int parallel = blocks > 1 && sg_omp_threads() > 1;                                                 \
        sg_blas_one_thread();                                                                                      \
        int failed = 0;                                                                                            \
        _Pragma("omp parallel if (parallel)")                                                                      \
        {                                                                                                          \
            T *col = pointwise ? NULL : (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                            \
            _Pragma("omp for schedule(dynamic, 1)")                                                                \
            for (int64_t blk = 0; blk < blocks; blk++) {                                                           \
                const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);                                        \
                if (col == NULL && !pointwise) {                                                                   \
                    failed = 1;                                                                                    \
                    continue;                                                                                      \
                }                                                                                                  \
                for (int64_t gi = 0; gi < g->groups; gi++) {                                                       \
                    if (!pointwise) sg_im2col_##SFX(g, x, n0, m, gi, col);                                         \
                    const T *a = pointwise ? x + n0 * P * g->c + gi * cg : col;                                    \
                    SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(m * P), (blasint)ocg,      \
                                   (blasint)K, 1, a, (blasint)(pointwise ? g->c : K), w + gi * ocg,                \
                                   (blasint)g->oc, 0, y + n0 * P * g->oc + gi * ocg, (blasint)g->oc);              \
                }                                                                                                  \
                if (epi != NULL) epi->run(epi, n0 * P, (n0 + m) * P);                                              \
            }                                                                                                      \
            free(col);                                                                                             \
        }                                                                                                          \
        if (failed)                                                                                                \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    /* dx = conv2d_grad_input(gy, w): per block of batch items (on the threads, as the forward pass) its dx is    \
     * zeroed, dcol = gy_g @ w_g^T computed into the thread's col and added back by col2im. */                    \
    static inline int sg_conv2d_grad_input_##SFX(const sg_conv_geom *g, const T *gy, const T *w, T *dx, SG_ERR_PARAMS) \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow, item = g->h * g->w * g->c;                                                \
        if (g->n * item == 0) return SG_OK;                                                                        \
        if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX && ocg > 0) {                                         \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                sg_gemm_##SFX(0, 1, g->n * P, K, ocg, gy + gi * ocg, g->oc, w + gi * ocg, g->oc, dx + gi * cg, g->c, 1); \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (P == 0 || K == 0 || ocg == 0) {                                                                        \
            memset(dx, 0, sizeof(T) * (size_t)(g->n * item));                                                      \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb;                                       \
        const int parallel = blocks > 1 && sg_omp_threads() > 1;                                                 \
        sg_blas_one_thread();                                                                                      \
        int failed = 0;                                                                                            \
        _Pragma("omp parallel if (parallel)")                                                                      \
        {                                                                                                          \
            T *col = (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                                                \
            _Pragma("omp for schedule(dynamic, 1)")                                                                \
            for (int64_t blk = 0; blk < blocks; blk++) {                                                           \
                const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);                                        \
                memset(dx + n0 * item, 0, sizeof(T) * (size_t)(m * item));                                         \
                if (col == NULL) {                                                                                 \
                    failed = 1;                                                                                    \
                    continue;                                                                                      \
                }                                                                                                  \
                for (int64_t gi = 0; gi < g->groups; gi++) {                                                       \
                    SG_CBLAS(GEMM)(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)(m * P), (blasint)K,          \
                                   (blasint)ocg, 1, gy + n0 * P * g->oc + gi * ocg, (blasint)g->oc, w + gi * ocg,  \
                                   (blasint)g->oc, 0, col, (blasint)K);                                            \
                    sg_col2im_##SFX(g, col, n0, m, gi, dx);                                                        \
                }                                                                                                  \
            }                                                                                                      \
            free(col);                                                                                             \
        }                                                                                                          \
        if (failed)                                                                                                \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        return SG_OK;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    /* dw = conv2d_grad_filter(x, gy): the blocks are cut into slots (sg_conv_slots), each summing                 \
     * col^T @ gy_g over its blocks in order into its own partial with the thread's col. */                        \
    static inline int sg_conv2d_grad_filter_##SFX(const sg_conv_geom *g, const T *x, const T *gy, T *dw, SG_ERR_PARAMS) \
    {                                                                                                              \
        SG_TRY(sg_conv_check(g, SG_ERR_ARGS));                                                                     \
        const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;                      \
        const int64_t P = g->oh * g->ow, dw_size = K * g->oc;                                                      \
        if (dw_size == 0) return SG_OK;                                                                            \
        if (g->n * P == 0 || ocg == 0) {                                                                           \
            memset(dw, 0, sizeof(T) * (size_t)dw_size);                                                            \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX) {                                                    \
            for (int64_t gi = 0; gi < g->groups; gi++)                                                             \
                sg_gemm_##SFX(1, 0, K, ocg, g->n * P, x + gi * cg, g->c, gy + gi * ocg, g->oc, dw + gi * ocg, g->oc, 1); \
            return SG_OK;                                                                                          \
        }                                                                                                          \
        if (g->c == 1 && g->groups == 1) return sg_conv2d_grad_filter_c1_##SFX(g, x, gy, dw, SG_ERR_ARGS);         \
        const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb, slots = sg_conv_slots(blocks);         \
        T *partials = NULL;                                                                                        \
        if (slots > 1) {                                                                                           \
            partials = (T *)malloc(sizeof(T) * (size_t)((slots - 1) * dw_size));                                   \
            if (partials == NULL)                                                                                  \
                SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch",                              \
                        (long long)(sizeof(T) * (slots - 1) * dw_size));                                           \
        }                                                                                                          \
        sg_blas_one_thread();                                                                                      \
        int failed = 0;                                                                                            \
        _Pragma("omp parallel if (slots > 1)")                                                                     \
        {                                                                                                          \
            T *col = (T *)malloc(sizeof(T) * (size_t)(nb * P * K));                                                \
            _Pragma("omp for schedule(dynamic, 1)")                                                                \
            for (int64_t s = 0; s < slots; s++) {                                                                  \
                T *acc = s == 0 ? dw : partials + (s - 1) * dw_size;                                               \
                memset(acc, 0, sizeof(T) * (size_t)dw_size);                                                       \
                if (col == NULL) {                                                                                 \
                    failed = 1;                                                                                    \
                    continue;                                                                                      \
                }                                                                                                  \
                for (int64_t blk = s * blocks / slots; blk < (s + 1) * blocks / slots; blk++) {                    \
                    const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);                                    \
                    for (int64_t gi = 0; gi < g->groups; gi++) {                                                   \
                        sg_im2col_##SFX(g, x, n0, m, gi, col);                                                     \
                        SG_CBLAS(GEMM)(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)K, (blasint)ocg,          \
                                       (blasint)(m * P), 1, col, (blasint)K, gy + n0 * P * g->oc + gi * ocg,       \
                                       (blasint)g->oc, 1, acc + gi * ocg, (blasint)g->oc);                         \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
            free(col);                                                                                             \
        }                                                                                                          \
        sg_conv_add_partials_##SFX(dw, partials, slots, dw_size);                                                  \
        free(partials);                                                                                            \
        if (failed)                                                                                                \
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(T) * nb * P * K)); \
        return SG_OK;                                                                                              \
    }                                                                                                              \
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
    /* Output pixels per argmax block: the scratch stays near 2^16 entries however large the batch. */          \
    static inline int64_t sg_pool_block_rows_##SFX(const sg_conv_geom *g)                                          \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow;                                                                 \
        return sg_max_i64(1, sg_min_i64(rows, ((int64_t)1 << 16) / sg_max_i64(1, g->c)));                         \
    }                                                                                                              \
                                                                                                                   \
    /* max_pool2d_grad when windows never overlap (strides >= pool): each input pixel lies in at most one      \
     * window, so dx is written once, gy at the window's first maximum (as the argmax above) and 0 at its other \
     * pixels; no scratch, no second pass. Batch items on the threads; channels in chunks that stay in registers. */ \
    static inline void sg_max_pool_grad_disjoint_##SFX(const sg_conv_geom *g, const T *restrict x, const T *restrict gy, \
                                                       T *restrict dx)                                             \
    {                                                                                                              \
        enum { CHUNK = 64 };                                                                                       \
        const int64_t c = g->c, item = g->h * g->w * c;                                                            \
        const int covered = g->pt == 0 && g->pl == 0 && g->sh == g->kh && g->sw == g->kw &&                        \
                            g->oh * g->sh == g->h && g->ow * g->sw == g->w;                                        \
        _Pragma("omp parallel for schedule(dynamic, 1) if (g->n * item >= SG_PARALLEL_MIN)")                           \
        for (int64_t b = 0; b < g->n; b++) {                                                                       \
            const T *restrict xb = x + b * item;                                                                   \
            T *restrict dxb = dx + b * item;                                                                       \
            if (!covered) memset(dxb, 0, sizeof(T) * (size_t)item);                                                \
            for (int64_t oy = 0; oy < g->oh; oy++) {                                                               \
                const int64_t y0 = oy * g->sh - g->pt;                                                             \
                const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);                          \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                           \
                    const int64_t x0 = ox * g->sw - g->pl;                                                         \
                    const int64_t j0 = sg_max_i64(0, -x0), j1 = sg_min_i64(g->kw, g->w - x0);                      \
                    if (i0 >= i1 || j0 >= j1) continue;                                                            \
                    const T *restrict gr = gy + ((b * g->oh + oy) * g->ow + ox) * c;                               \
                    for (int64_t c0 = 0; c0 < c; c0 += CHUNK) {                                                    \
                        const int64_t cn = sg_min_i64(CHUNK, c - c0);                                              \
                        T best[CHUNK];                                                                             \
                        int32_t arg[CHUNK];                                                                        \
                        const T *restrict first = xb + ((y0 + i0) * g->w + x0 + j0) * c + c0;                      \
                        for (int64_t ch = 0; ch < cn; ch++) {                                                      \
                            best[ch] = first[ch];                                                                  \
                            arg[ch] = 0;                                                                           \
                        }                                                                                          \
                        int32_t tap = 0;                                                                           \
                        for (int64_t i = i0; i < i1; i++)                                                          \
                            for (int64_t j = j0; j < j1; j++, tap++) {                                             \
                                if (tap == 0) continue;                                                            \
                                const T *restrict xs = xb + ((y0 + i) * g->w + x0 + j) * c + c0;                   \
                                for (int64_t ch = 0; ch < cn; ch++) {                                              \
                                    const T v = xs[ch];                                                            \
                                    const int take = (best[ch] == best[ch]) & ((v > best[ch]) | (v != v));         \
                                    best[ch] = take ? v : best[ch];                                                \
                                    arg[ch] = take ? tap : arg[ch];                                                \
                                }                                                                                  \
                            }                                                                                      \
                        tap = 0;                                                                                   \
                        for (int64_t i = i0; i < i1; i++)                                                          \
                            for (int64_t j = j0; j < j1; j++, tap++) {                                             \
                                T *restrict d = dxb + ((y0 + i) * g->w + x0 + j) * c + c0;                         \
                                for (int64_t ch = 0; ch < cn; ch++) d[ch] = arg[ch] == tap ? gr[c0 + ch] : (T)0;   \
                            }                                                                                      \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    /* gather == 0: dx[argmax of window k] += gy[k] (dx of x's shape); gather == 1: y[k] = v[argmax of window k]   \
     * (the adjoint). Blocks of output pixels in order, so the scatter's additions never race. */                  \
    static inline int sg_max_pool_route_##SFX(const sg_conv_geom *g, const T *x, const T *in, T *out, int gather,  \
                                              SG_ERR_PARAMS)                                                       \
    {                                                                                                              \
        const int64_t rows = g->n * g->oh * g->ow, c = g->c;                                                       \
        if (!gather && g->sh >= g->kh && g->sw >= g->kw) {                                                         \
            sg_max_pool_grad_disjoint_##SFX(g, x, in, out);                                                        \
            return SG_OK;                                                                                          \
        }                                                                                                          \
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
