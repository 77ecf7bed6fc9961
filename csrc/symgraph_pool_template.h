/* symgraph_pool_template.h: the pooling kernels of symgraph_pool.h, written once for the
 * element type SG_T.
 *
 * Not a header to include by itself: symgraph_pool.h includes it once per element type
 * with SG_T (float, double) and SG_SFX (f32, f64; functions are named through SG_FN,
 * symgraph_paste.h: SG_FN(sg_pool_max) is sg_pool_max_f32 or _f64) defined, after
 * everything this file uses. No include guard: it is meant to be read more than once.
 */
#if !defined(SG_T) || !defined(SG_SFX)
#error "symgraph_pool_template.h is included by symgraph_pool.h with SG_T and SG_SFX defined"
#endif

/* The flat input offset of each window's maximum (first maximum in row-major window order; the first NaN
 * if there is one, as numpy's argmax), or -1 for a window with no in-bounds pixel. Taps outside, channels
 * inside: the channel loop is contiguous and branch-free (it vectorises). Output pixels (rows) r0..r1-1,
 * arg and best (scratch) holding (r1 - r0)*c entries. */
static inline void SG_FN(sg_max_pool_argmax)(const sg_conv_geom *g, const SG_T *restrict x, int64_t r0, int64_t r1,
                                             int64_t *restrict arg, SG_T *restrict best)
{
    const int64_t c = g->c;
    #pragma omp parallel for schedule(static) if ((r1 - r0) * c * g->kh * g->kw >= SG_PARALLEL_MIN)
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;
        int64_t *restrict a = arg + (r - r0) * c;
        SG_T *restrict m = best + (r - r0) * c;
        int first = 1;
        for (int64_t i = 0; i < g->kh; i++) {
            const int64_t iy = oy * g->sh - g->pt + i;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++) {
                const int64_t ix = ox * g->sw - g->pl + j;
                if (ix < 0 || ix >= g->w) continue;
                const int64_t at = ((b * g->h + iy) * g->w + ix) * c;
                const SG_T *restrict xs = x + at;
                if (first) {
                    for (int64_t ch = 0; ch < c; ch++) {
                        m[ch] = xs[ch];
                        a[ch] = at + ch;
                    }
                    first = 0;
                    continue;
                }
                for (int64_t ch = 0; ch < c; ch++) {
                    const SG_T v = xs[ch];
                    const int take = (m[ch] == m[ch]) & ((v > m[ch]) | (v != v));
                    m[ch] = take ? v : m[ch];
                    a[ch] = take ? at + ch : a[ch];
                }
            }
        }
        if (first)
            for (int64_t ch = 0; ch < c; ch++) a[ch] = -1;
    }
}

/* Output pixels per argmax block: the scratch stays near 2^16 entries however large the batch. */
static inline int64_t SG_FN(sg_pool_block_rows)(const sg_conv_geom *g)
{
    const int64_t rows = g->n * g->oh * g->ow;
    return sg_max_i64(1, sg_min_i64(rows, ((int64_t)1 << 16) / sg_max_i64(1, g->c)));
}

/* max_pool2d_grad when windows never overlap (strides >= pool): each input pixel lies in at most one
 * window, so dx is written once, gy at the window's first maximum (as the argmax above) and 0 at its other
 * pixels; no scratch, no second pass. Batch items on the threads; channels in chunks that stay in registers. */
static inline void SG_FN(sg_max_pool_grad_disjoint)(const sg_conv_geom *g, const SG_T *restrict x,
                                                    const SG_T *restrict gy, SG_T *restrict dx)
{
    enum { CHUNK = 64 };
    const int64_t c = g->c, item = g->h * g->w * c;
    const int covered = g->pt == 0 && g->pl == 0 && g->sh == g->kh && g->sw == g->kw &&
                        g->oh * g->sh == g->h && g->ow * g->sw == g->w;
    #pragma omp parallel for schedule(dynamic, 1) if (g->n * item >= SG_PARALLEL_MIN)
    for (int64_t b = 0; b < g->n; b++) {
        const SG_T *restrict xb = x + b * item;
        SG_T *restrict dxb = dx + b * item;
        if (!covered) memset(dxb, 0, sizeof(SG_T) * (size_t)item);
        for (int64_t oy = 0; oy < g->oh; oy++) {
            const int64_t y0 = oy * g->sh - g->pt;
            const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);
            for (int64_t ox = 0; ox < g->ow; ox++) {
                const int64_t x0 = ox * g->sw - g->pl;
                const int64_t j0 = sg_max_i64(0, -x0), j1 = sg_min_i64(g->kw, g->w - x0);
                if (i0 >= i1 || j0 >= j1) continue;
                const SG_T *restrict gr = gy + ((b * g->oh + oy) * g->ow + ox) * c;
                for (int64_t c0 = 0; c0 < c; c0 += CHUNK) {
                    const int64_t cn = sg_min_i64(CHUNK, c - c0);
                    SG_T best[CHUNK];
                    int32_t arg[CHUNK];
                    const SG_T *restrict first = xb + ((y0 + i0) * g->w + x0 + j0) * c + c0;
                    for (int64_t ch = 0; ch < cn; ch++) {
                        best[ch] = first[ch];
                        arg[ch] = 0;
                    }
                    int32_t tap = 0;
                    for (int64_t i = i0; i < i1; i++)
                        for (int64_t j = j0; j < j1; j++, tap++) {
                            if (tap == 0) continue;
                            const SG_T *restrict xs = xb + ((y0 + i) * g->w + x0 + j) * c + c0;
                            for (int64_t ch = 0; ch < cn; ch++) {
                                const SG_T v = xs[ch];
                                const int take = (best[ch] == best[ch]) & ((v > best[ch]) | (v != v));
                                best[ch] = take ? v : best[ch];
                                arg[ch] = take ? tap : arg[ch];
                            }
                        }
                    tap = 0;
                    for (int64_t i = i0; i < i1; i++)
                        for (int64_t j = j0; j < j1; j++, tap++) {
                            SG_T *restrict d = dxb + ((y0 + i) * g->w + x0 + j) * c + c0;
                            for (int64_t ch = 0; ch < cn; ch++) d[ch] = arg[ch] == tap ? gr[c0 + ch] : (SG_T)0;
                        }
                }
            }
        }
    }
}

/* gather == 0: dx[argmax of window k] += gy[k] (dx of x's shape); gather == 1: y[k] = v[argmax of window k]
 * (the adjoint). Blocks of output pixels in order, so the scatter's additions never race. */
static inline int SG_FN(sg_max_pool_route)(const sg_conv_geom *g, const SG_T *x, const SG_T *in, SG_T *out, int gather,
                                           SG_ERR_PARAMS)
{
    const int64_t rows = g->n * g->oh * g->ow, c = g->c;
    if (!gather && g->sh >= g->kh && g->sw >= g->kw) {
        SG_FN(sg_max_pool_grad_disjoint)(g, x, in, out);
        return SG_OK;
    }
    if (!gather) memset(out, 0, sizeof(SG_T) * (size_t)(g->n * g->h * g->w * c));
    if (rows * c == 0) return SG_OK;
    const int64_t block = SG_FN(sg_pool_block_rows)(g);
    const size_t bytes = (sizeof(int64_t) + sizeof(SG_T)) * (size_t)(block * c);
    int64_t *arg = (int64_t *)malloc(bytes);
    if (arg == NULL) SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of pooling scratch", (long long)bytes);
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
        const int64_t r1 = sg_min_i64(rows, r0 + block), k0 = r0 * c, count = (r1 - r0) * c;
        SG_FN(sg_max_pool_argmax)(g, x, r0, r1, arg, (SG_T *)(arg + block * c));
        if (gather)
            for (int64_t k = 0; k < count; k++) out[k0 + k] = arg[k] >= 0 ? in[arg[k]] : 0;
        else
            for (int64_t k = 0; k < count; k++)
                if (arg[k] >= 0) out[arg[k]] += in[k0 + k];
    }
    free(arg);
    return SG_OK;
}

/* y[b, oy, ox, ch] = max over the window's in-bounds pixels; NaN propagates (a NaN, once the maximum, stays:
 * nothing compares greater than it and it is not replaced by a number); -inf for an empty window. */
static inline void SG_FN(sg_pool_max)(const sg_conv_geom *g, const SG_T *restrict x, SG_T *restrict y)
{
    const int64_t c = g->c, ow = g->ow, rows = g->n * g->oh;
    #pragma omp parallel for schedule(static) if (rows * ow * c * g->kh * g->kw >= SG_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / g->oh, y0 = (r % g->oh) * g->sh - g->pt;
        const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);
        SG_T *restrict yr = y + r * ow * c;
        for (int64_t k = 0; k < ow * c; k++) yr[k] = (SG_T)(-INFINITY);
        for (int64_t i = i0; i < i1; i++) {
            const SG_T *restrict xrow = x + (b * g->h + y0 + i) * g->w * c;
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t ox0, ox1;
                sg_pool_cols(g, j, &ox0, &ox1);
                for (int64_t ox = ox0; ox < ox1; ox++) {
                    const SG_T *restrict xs = xrow + (ox * g->sw - g->pl + j) * c;
                    SG_T *restrict ys = yr + ox * c;
                    #pragma omp simd
                    for (int64_t ch = 0; ch < c; ch++) {
                        const SG_T v = xs[ch], m = ys[ch];
                        ys[ch] = (v > m) | (v != v) ? v : m;
                    }
                }
            }
        }
    }
}

/* max_pool2d_grad when windows never overlap (strides >= pool): each input pixel lies in at most one window,
 * so dx is written once: gy at the window's first maximum (row-major window order; the first NaN if there is
 * one) and 0 at its other pixels; input pixels in no window are zeroed first. Output rows on the threads;
 * inside a row, chunks of output pixels whose maxima and winning taps stay in L1 (all channels of a pixel
 * together: one size for the channel loops and the scratch's stride, which the compiler vectorises well).
 * More channels than a chunk holds: SG_FN(sg_max_pool_grad_disjoint) above (channels in register-sized
 * pieces). */
static inline void SG_FN(sg_pool_max_grad_disjoint)(const sg_conv_geom *g, const SG_T *restrict x,
                                                    const SG_T *restrict gy, SG_T *restrict dx)
{
    const int64_t c = g->c, ow = g->ow, rows = g->n * g->oh, total = g->n * g->h * g->w * c;
    if (c > SG_POOL_CHUNK) {
        SG_FN(sg_max_pool_grad_disjoint)(g, x, gy, dx);
        return;
    }
    const int covered = g->pt == 0 && g->pl == 0 && g->sh == g->kh && g->sw == g->kw &&
                        g->oh * g->sh == g->h && g->ow * g->sw == g->w;
    if (!covered) {
        #pragma omp parallel for schedule(static) if (total >= SG_PARALLEL_MIN)
        for (int64_t k = 0; k < total; k++) dx[k] = 0;
    }
    if (c == 0) return;
    const int64_t pixels = SG_POOL_CHUNK / c;
    #pragma omp parallel for schedule(static) if (rows * ow * c * g->kh * g->kw >= SG_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / g->oh, y0 = (r % g->oh) * g->sh - g->pt;
        const int64_t i0 = sg_max_i64(0, -y0), i1 = sg_min_i64(g->kh, g->h - y0);
        /* no window row inside the input: nothing to write (and, measured with gcc 12, the row's loops
         * below run ~30% faster with this test than without) */
        if (i0 >= i1) continue;
        SG_T best[SG_POOL_CHUNK];
        int32_t arg[SG_POOL_CHUNK];
        const SG_T *restrict gr = gy + r * ow * c;
        for (int64_t q0 = 0; q0 < ow; q0 += pixels) {
            const int64_t q1 = sg_min_i64(ow, q0 + pixels);
            for (int64_t k = 0; k < (q1 - q0) * c; k++) {
                best[k] = (SG_T)(-INFINITY);
                arg[k] = -1;
            }
            for (int64_t i = i0; i < i1; i++) {
                const SG_T *restrict xrow = x + (b * g->h + y0 + i) * g->w * c;
                for (int64_t j = 0; j < g->kw; j++) {
                    int64_t ox0, ox1;
                    sg_pool_cols(g, j, &ox0, &ox1);
                    ox0 = sg_max_i64(ox0, q0), ox1 = sg_min_i64(ox1, q1);
                    const int32_t tap = (int32_t)(i * g->kw + j);
                    for (int64_t ox = ox0; ox < ox1; ox++) {
                        const SG_T *restrict xs = xrow + (ox * g->sw - g->pl + j) * c;
                        SG_T *restrict m = best + (ox - q0) * c;
                        int32_t *restrict a = arg + (ox - q0) * c;
                        /* the window's first in-bounds tap always wins (a < 0); a later one when it is
                         * greater, or the first NaN (then nothing replaces it: m != m) */
                        #pragma omp simd
                        for (int64_t ch = 0; ch < c; ch++) {
                            const SG_T v = xs[ch];
                            const int take = (a[ch] < 0) | ((m[ch] == m[ch]) & ((v > m[ch]) | (v != v)));
                            m[ch] = take ? v : m[ch];
                            a[ch] = take ? tap : a[ch];
                        }
                    }
                }
            }
            for (int64_t i = i0; i < i1; i++) {
                SG_T *restrict drow = dx + (b * g->h + y0 + i) * g->w * c;
                for (int64_t j = 0; j < g->kw; j++) {
                    int64_t ox0, ox1;
                    sg_pool_cols(g, j, &ox0, &ox1);
                    ox0 = sg_max_i64(ox0, q0), ox1 = sg_min_i64(ox1, q1);
                    const int32_t tap = (int32_t)(i * g->kw + j);
                    for (int64_t ox = ox0; ox < ox1; ox++) {
                        SG_T *restrict d = drow + (ox * g->sw - g->pl + j) * c;
                        const SG_T *restrict gs = gr + ox * c;
                        const int32_t *restrict a = arg + (ox - q0) * c;
                        #pragma omp simd
                        for (int64_t ch = 0; ch < c; ch++) d[ch] = a[ch] == tap ? gs[ch] : (SG_T)0;
                    }
                }
            }
        }
    }
}

/* The number of in-bounds pixels of window (oy, ox). */
static inline int64_t SG_FN(sg_pool_count)(const sg_conv_geom *g, int64_t oy, int64_t ox)
{
    const int64_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
    const int64_t ny = sg_min_i64(y0 + g->kh, g->h) - sg_max_i64(y0, 0);
    const int64_t nx = sg_min_i64(x0 + g->kw, g->w) - sg_max_i64(x0, 0);
    return sg_max_i64(ny, 0) * sg_max_i64(nx, 0);
}

static inline void SG_FN(sg_avg_pool)(const sg_conv_geom *g, const SG_T *restrict x, SG_T *restrict y)
{
    const int64_t rows = g->n * g->oh * g->ow;
    #pragma omp parallel for schedule(static) if (rows * g->c * g->kh * g->kw >= SG_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;
        SG_T *restrict yr = y + r * g->c;
        for (int64_t ch = 0; ch < g->c; ch++) yr[ch] = 0;
        for (int64_t i = 0; i < g->kh; i++) {
            const int64_t iy = oy * g->sh - g->pt + i;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++) {
                const int64_t ix = ox * g->sw - g->pl + j;
                if (ix < 0 || ix >= g->w) continue;
                const SG_T *restrict xs = x + ((b * g->h + iy) * g->w + ix) * g->c;
                for (int64_t ch = 0; ch < g->c; ch++) yr[ch] += xs[ch];
            }
        }
        const int64_t count = SG_FN(sg_pool_count)(g, oy, ox);
        const SG_T scale = count > 0 ? (SG_T)1 / (SG_T)count : (SG_T)0;
        for (int64_t ch = 0; ch < g->c; ch++) yr[ch] *= scale;
    }
}

static inline void SG_FN(sg_avg_pool_grad)(const sg_conv_geom *g, const SG_T *restrict gy, SG_T *restrict dx)
{
    memset(dx, 0, sizeof(SG_T) * (size_t)(g->n * g->h * g->w * g->c));
    #pragma omp parallel for schedule(static) if (g->n * g->oh * g->ow * g->c * g->kh * g->kw >= SG_PARALLEL_MIN)
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++) {
                const int64_t count = SG_FN(sg_pool_count)(g, oy, ox);
                const SG_T scale = count > 0 ? (SG_T)1 / (SG_T)count : (SG_T)0;
                const SG_T *restrict gr = gy + ((b * g->oh + oy) * g->ow + ox) * g->c;
                for (int64_t i = 0; i < g->kh; i++) {
                    const int64_t iy = oy * g->sh - g->pt + i;
                    if (iy < 0 || iy >= g->h) continue;
                    for (int64_t j = 0; j < g->kw; j++) {
                        const int64_t ix = ox * g->sw - g->pl + j;
                        if (ix < 0 || ix >= g->w) continue;
                        SG_T *restrict d = dx + ((b * g->h + iy) * g->w + ix) * g->c;
                        for (int64_t ch = 0; ch < g->c; ch++) d[ch] += gr[ch] * scale;
                    }
                }
            }
}
