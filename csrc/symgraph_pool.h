/* symgraph_pool.h: max pooling kernels (NHWC), float and double, on OpenMP threads.
 *
 * Output rows (one batch item, one output row oy) are shared out between the threads;
 * inside a row the taps run outside and the channels inside, so every inner loop is a
 * contiguous, branch-free run over channels (it vectorises) and the row's running
 * maximum stays in cache. Uses sg_conv_geom (symgraph_conv.h): g->oc == g->c,
 * g->dh == g->dw == 1.
 */
#ifndef SYMGRAPH_POOL_H
#define SYMGRAPH_POOL_H

/* The gradient's scratch, in elements (output pixels x channels of one row handled
 * together): their running maxima and winning taps stay in L1 however wide the row. */
#ifndef SG_POOL_CHUNK
#define SG_POOL_CHUNK 2048
#endif

/* The output columns [*ox0, *ox1) whose window column j falls inside [0, w). */
static inline void sg_pool_cols(const sg_conv_geom *g, int64_t j, int64_t *ox0, int64_t *ox1)
{
    /* ox*sw - pl + j >= 0  <=>  ox >= ceil((pl - j) / sw);  ox*sw - pl + j < w  <=>  ox <= (w - 1 + pl - j) / sw */
    const int64_t lo = g->pl - j, hi = g->w - 1 + g->pl - j;
    *ox0 = lo <= 0 ? 0 : (lo + g->sw - 1) / g->sw;
    *ox1 = hi < 0 ? 0 : sg_min_i64(g->ow, hi / g->sw + 1);
    if (*ox1 < *ox0) *ox1 = *ox0;
}

#define SG_POOL_DEFINE(T, SFX)                                                                                     \
    /* y[b, oy, ox, ch] = max over the window's in-bounds pixels; NaN propagates (a NaN, once the maximum, stays:  \
     * nothing compares greater than it and it is not replaced by a number); -inf for an empty window. */          \
    static inline void sg_pool_max_##SFX(const sg_conv_geom *g, const T *restrict x, T *restrict y)                \
    {                                                                                                              \
        const int64_t c = g->c, ow = g->ow, rows = g->n * g->oh;                                                   \
        _Pragma("omp parallel for schedule(static) if (rows * ow * c * g->kh * g->kw >= SG_PARALLEL_MIN)")         \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            const int64_t b = r / g->oh, y0 = (r % g->oh) * g->sh - g->pt;                                         \
            const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);                              \
            T *restrict yr = y + r * ow * c;                                                                       \
            for (int64_t k = 0; k < ow * c; k++) yr[k] = (T)(-INFINITY);                                           \
            for (int64_t i = i0; i < i1; i++) {                                                                    \
                const T *restrict xrow = x + (b * g->h + y0 + i) * g->w * c;                                       \
                for (int64_t j = 0; j < g->kw; j++) {                                                              \
                    int64_t ox0, ox1;                                                                              \
                    sg_pool_cols(g, j, &ox0, &ox1);                                                                \
                    for (int64_t ox = ox0; ox < ox1; ox++) {                                                       \
                        const T *restrict xs = xrow + (ox * g->sw - g->pl + j) * c;                                \
                        T *restrict ys = yr + ox * c;                                                              \
                        _Pragma("omp simd")                                                                        \
                        for (int64_t ch = 0; ch < c; ch++) {                                                       \
                            const T v = xs[ch], m = ys[ch];                                                        \
                            ys[ch] = (v > m) | (v != v) ? v : m;                                                   \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
                                                                                                                   \
    /* max_pool2d_grad when windows never overlap (strides >= pool): each input pixel lies in at most one window,  \
     * so dx is written once: gy at the window's first maximum (row-major window order; the first NaN if there is  \
     * one) and 0 at its other pixels; input pixels in no window are zeroed first. Output rows on the threads;     \
     * inside a row, chunks of output pixels whose maxima and winning taps stay in L1 (all channels of a pixel     \
     * together: one size for the channel loops and the scratch's stride, which the compiler vectorises well).     \
     * More channels than a chunk holds: symgraph_conv.h's kernel (channels in register-sized pieces). */          \
    static inline void sg_pool_max_grad_disjoint_##SFX(const sg_conv_geom *g, const T *restrict x,                 \
                                                        const T *restrict gy, T *restrict dx)                      \
    {                                                                                                              \
        const int64_t c = g->c, ow = g->ow, rows = g->n * g->oh, total = g->n * g->h * g->w * c;                   \
        if (c > SG_POOL_CHUNK) {                                                                                   \
            sg_max_pool_grad_disjoint_##SFX(g, x, gy, dx);                                                         \
            return;                                                                                                \
        }                                                                                                          \
        const int covered = g->pt == 0 && g->pl == 0 && g->sh == g->kh && g->sw == g->kw &&                        \
                            g->oh * g->sh == g->h && g->ow * g->sw == g->w;                                        \
        if (!covered) {                                                                                            \
            _Pragma("omp parallel for schedule(static) if (total >= SG_PARALLEL_MIN)")                             \
            for (int64_t k = 0; k < total; k++) dx[k] = 0;                                                         \
        }                                                                                                          \
        if (c == 0) return;                                                                                        \
        const int64_t pixels = SG_POOL_CHUNK / c;                                                                  \
        _Pragma("omp parallel for schedule(static) if (rows * ow * c * g->kh * g->kw >= SG_PARALLEL_MIN)")         \
        for (int64_t r = 0; r < rows; r++) {                                                                       \
            const int64_t b = r / g->oh, y0 = (r % g->oh) * g->sh - g->pt;                                         \
            const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);                              \
            /* no window row inside the input: nothing to write (and, measured with gcc 12, the row's loops        \
             * below run ~30% faster with this test than without) */                                               \
            if (i0 >= i1) continue;                                                                                \
            T best[SG_POOL_CHUNK];                                                                                 \
            int32_t arg[SG_POOL_CHUNK];                                                                            \
            const T *restrict gr = gy + r * ow * c;                                                                \
            for (int64_t q0 = 0; q0 < ow; q0 += pixels) {                                                          \
                const int64_t q1 = sg_min_i64(ow, q0 + pixels);                                                    \
                for (int64_t k = 0; k < (q1 - q0) * c; k++) {                                                      \
                    best[k] = (T)(-INFINITY);                                                                      \
                    arg[k] = -1;                                                                                   \
                }                                                                                                  \
                for (int64_t i = i0; i < i1; i++) {                                                                \
                    const T *restrict xrow = x + (b * g->h + y0 + i) * g->w * c;                                   \
                    for (int64_t j = 0; j < g->kw; j++) {                                                          \
                        int64_t ox0, ox1;                                                                          \
                        sg_pool_cols(g, j, &ox0, &ox1);                                                            \
                        ox0 = sg_max_i64(ox0, q0), ox1 = sg_min_i64(ox1, q1);                                      \
                        const int32_t tap = (int32_t)(i * g->kw + j);                                              \
                        for (int64_t ox = ox0; ox < ox1; ox++) {                                                   \
                            const T *restrict xs = xrow + (ox * g->sw - g->pl + j) * c;                            \
                            T *restrict m = best + (ox - q0) * c;                                                  \
                            int32_t *restrict a = arg + (ox - q0) * c;                                             \
                            /* the window's first in-bounds tap always wins (a < 0); a later one when it is        \
                             * greater, or the first NaN (then nothing replaces it: m != m) */                     \
                            _Pragma("omp simd")                                                                    \
                            for (int64_t ch = 0; ch < c; ch++) {                                                   \
                                const T v = xs[ch];                                                                \
                                const int take = (a[ch] < 0) | ((m[ch] == m[ch]) & ((v > m[ch]) | (v != v)));      \
                                m[ch] = take ? v : m[ch];                                                          \
                                a[ch] = take ? tap : a[ch];                                                        \
                            }                                                                                      \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
                for (int64_t i = i0; i < i1; i++) {                                                                \
                    T *restrict drow = dx + (b * g->h + y0 + i) * g->w * c;                                        \
                    for (int64_t j = 0; j < g->kw; j++) {                                                          \
                        int64_t ox0, ox1;                                                                          \
                        sg_pool_cols(g, j, &ox0, &ox1);                                                            \
                        ox0 = sg_max_i64(ox0, q0), ox1 = sg_min_i64(ox1, q1);                                      \
                        const int32_t tap = (int32_t)(i * g->kw + j);                                              \
                        for (int64_t ox = ox0; ox < ox1; ox++) {                                                   \
                            T *restrict d = drow + (ox * g->sw - g->pl + j) * c;                                   \
                            const T *restrict gs = gr + ox * c;                                                    \
                            const int32_t *restrict a = arg + (ox - q0) * c;                                       \
                            _Pragma("omp simd")                                                                    \
                            for (int64_t ch = 0; ch < c; ch++) d[ch] = a[ch] == tap ? gs[ch] : (T)0;               \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

SG_POOL_DEFINE(float, f32)
SG_POOL_DEFINE(double, f64)

#endif /* SYMGRAPH_POOL_H */
