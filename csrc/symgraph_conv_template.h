/* symgraph_conv_template.h: the convolution kernels of symgraph_conv.h, written once for
 * the element type SG_T.
 *
 * Not a header to include by itself: symgraph_conv.h includes it once per element type
 * with SG_T (float, double), SG_SFX (f32, f64; functions are named through SG_FN,
 * symgraph_paste.h: SG_FN(sg_conv2d_forward) is sg_conv2d_forward_f32 or _f64) and
 * SG_GEMM (the CBLAS routine: SG_CBLAS(sgemm), SG_CBLAS(dgemm)) defined, after
 * everything this file uses. No include guard: it is meant to be read more than once.
 */
#if !defined(SG_T) || !defined(SG_SFX) || !defined(SG_GEMM)
#error "symgraph_conv_template.h is included by symgraph_conv.h with SG_T, SG_SFX and SG_GEMM defined"
#endif

/* col[(b, oy, ox), (i, j, ci)] = x[n0 + b, oy*sh - pt + i*dh, ox*sw - pl + j*dw, gi*cg + ci] (0 outside) */
static inline void SG_FN(sg_im2col)(const sg_conv_geom *g, const SG_T *restrict x, int64_t n0, int64_t nb, int64_t gi,
                                    SG_T *restrict col)
{
    const int64_t cg = g->c / g->groups, K = g->kh * g->kw * cg, rows = nb * g->oh * g->ow;
    const int contiguous = g->dw == 1 && cg == g->c;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / (g->oh * g->ow), oy = (r / g->ow) % g->oh, ox = r % g->ow;
        SG_T *restrict dst = col + r * K;
        const SG_T *xb = x + (n0 + b) * g->h * g->w * g->c + gi * cg;
        const int64_t ix0 = ox * g->sw - g->pl;
        for (int64_t i = 0; i < g->kh; i++) {
            const int64_t iy = oy * g->sh - g->pt + i * g->dh;
            SG_T *restrict drow = dst + i * g->kw * cg;
            if (iy < 0 || iy >= g->h) {
                memset(drow, 0, sizeof(SG_T) * (size_t)(g->kw * cg));
                continue;
            }
            if (contiguous && ix0 >= 0 && ix0 + g->kw <= g->w) { /* the filter row is one stretch of x */
                memcpy(drow, xb + (iy * g->w + ix0) * g->c, sizeof(SG_T) * (size_t)(g->kw * cg));
                continue;
            }
            for (int64_t j = 0; j < g->kw; j++) {
                const int64_t ix = ix0 + j * g->dw;
                SG_T *restrict d = drow + j * cg;
                if (ix < 0 || ix >= g->w) {
                    if (cg == 1) /* one element: no call to memset or memcpy per tap */
                        d[0] = 0;
                    else
                        memset(d, 0, sizeof(SG_T) * (size_t)cg);
                } else {
                    const SG_T *restrict s = xb + (iy * g->w + ix) * g->c;
                    if (cg == 1)
                        d[0] = s[0];
                    else
                        memcpy(d, s, sizeof(SG_T) * (size_t)cg);
                }
            }
        }
    }
}

/* dx[...] += col[...]: the adjoint of im2col (dx of the block's items must start zeroed) */
static inline void SG_FN(sg_col2im)(const sg_conv_geom *g, const SG_T *restrict col, int64_t n0, int64_t nb, int64_t gi,
                                    SG_T *restrict dx)
{
    const int64_t cg = g->c / g->groups, K = g->kh * g->kw * cg;
    const int contiguous = g->dw == 1 && cg == g->c;
    for (int64_t b = 0; b < nb; b++) {
        SG_T *dxb = dx + (n0 + b) * g->h * g->w * g->c + gi * cg;
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++) {
                const SG_T *restrict src = col + ((b * g->oh + oy) * g->ow + ox) * K;
                const int64_t ix0 = ox * g->sw - g->pl;
                for (int64_t i = 0; i < g->kh; i++) {
                    const int64_t iy = oy * g->sh - g->pt + i * g->dh;
                    if (iy < 0 || iy >= g->h) continue;
                    if (contiguous && ix0 >= 0 && ix0 + g->kw <= g->w) {
                        SG_T *restrict d = dxb + (iy * g->w + ix0) * g->c;
                        const SG_T *restrict s = src + i * g->kw * cg;
                        for (int64_t e = 0; e < g->kw * cg; e++) d[e] += s[e];
                        continue;
                    }
                    for (int64_t j = 0; j < g->kw; j++) {
                        const int64_t ix = ix0 + j * g->dw;
                        if (ix < 0 || ix >= g->w) continue;
                        SG_T *restrict d = dxb + (iy * g->w + ix) * g->c;
                        const SG_T *restrict s = src + (i * g->kw + j) * cg;
                        for (int64_t ci = 0; ci < cg; ci++) d[ci] += s[ci];
                    }
                }
            }
    }
}

/* dw += each partial in slot order (partials[s - 1] holds slot s's sums; slot 0's are dw). */
static inline void SG_FN(sg_conv_add_partials)(SG_T *restrict dw, const SG_T *restrict partials, int64_t slots,
                                               int64_t dw_size)
{
    for (int64_t s = 1; s < slots; s++) {
        const SG_T *restrict part = partials + (s - 1) * dw_size;
        for (int64_t e = 0; e < dw_size; e++) dw[e] += part[e];
    }
}

/* One input channel (the first layer of an image network: grayscale, groups 1): K = kh*kw is so small
 * that gemm spends its time packing; direct loops instead, OCB output channels at a time held in
 * SG_CONV_NV of the target's vectors (GCC's vector extension, SG_VEC_BYTES: symgraph_target.h), forward
 * over SG_CONV_PX output pixels at once so that each filter tap is loaded once for them. Output rows
 * (b, oy) on the threads. */
static inline void SG_FN(sg_conv2d_forward_c1)(const sg_conv_geom *g, const SG_T *restrict x, const SG_T *restrict w,
                                               SG_T *restrict y, const sg_conv_epilogue *epi)
{
    typedef SG_T vec __attribute__((vector_size(SG_VEC_BYTES)));
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T), NV = SG_CONV_NV, OCB = SG_CONV_NV * LANES };
    const int64_t oc = g->oc, taps = g->kh * g->kw, rows = g->n * g->oh;
    #pragma omp parallel for schedule(dynamic, 8) if (rows * g->ow * oc * taps >= SG_PARALLEL_MIN)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t b = row / g->oh, oy = row % g->oh;
        const SG_T *restrict xb = x + b * g->h * g->w;
        for (int64_t ox0 = 0; ox0 < g->ow; ox0 += SG_CONV_PX) {
            const int64_t px_n = sg_min_i64(SG_CONV_PX, g->ow - ox0);
            for (int64_t o0 = 0; o0 < oc; o0 += OCB) {
                const int64_t cn = sg_min_i64(OCB, oc - o0);
                SG_T *restrict y0 = y + (row * g->ow + ox0) * oc + o0;
                if (cn == OCB) {
                    vec acc[SG_CONV_PX][NV];
                    for (int px = 0; px < SG_CONV_PX; px++)
                        for (int u = 0; u < NV; u++) acc[px][u] = (vec){0};
                    for (int64_t i = 0; i < g->kh; i++) {
                        const int64_t iy = oy * g->sh - g->pt + i * g->dh;
                        if (iy < 0 || iy >= g->h) continue;
                        for (int64_t j = 0; j < g->kw; j++) {
                            const SG_T *restrict wt = w + (i * g->kw + j) * oc + o0;
                            vec wv[NV];
                            for (int u = 0; u < NV; u++) memcpy(&wv[u], wt + u * LANES, sizeof(vec));
                            for (int px = 0; px < SG_CONV_PX; px++) {
                                const int64_t ix = (ox0 + px) * g->sw - g->pl + j * g->dw;
                                const SG_T v = px < px_n && ix >= 0 && ix < g->w ? xb[iy * g->w + ix] : (SG_T)0;
                                for (int u = 0; u < NV; u++) acc[px][u] += v * wv[u];
                            }
                        }
                    }
                    for (int64_t px = 0; px < px_n; px++)
                        for (int u = 0; u < NV; u++) memcpy(y0 + px * oc + u * LANES, &acc[px][u], sizeof(vec));
                    continue;
                }
                for (int64_t px = 0; px < px_n; px++) {
                    SG_T *restrict yp = y0 + px * oc;
                    for (int64_t k = 0; k < cn; k++) yp[k] = 0;
                    for (int64_t i = 0; i < g->kh; i++) {
                        const int64_t iy = oy * g->sh - g->pt + i * g->dh;
                        if (iy < 0 || iy >= g->h) continue;
                        for (int64_t j = 0; j < g->kw; j++) {
                            const int64_t ix = (ox0 + px) * g->sw - g->pl + j * g->dw;
                            if (ix < 0 || ix >= g->w) continue;
                            const SG_T v = xb[iy * g->w + ix], *restrict wt = w + (i * g->kw + j) * oc + o0;
                            for (int64_t k = 0; k < cn; k++) yp[k] += v * wt[k];
                        }
                    }
                }
            }
        }
        if (epi != NULL) epi->run(epi, row * g->ow, (row + 1) * g->ow);
    }
}

/* dw for one input channel: dw[t, o] = sum over output pixels p of x at p's tap t * gy[p, o]. The output
 * rows are cut into slots (sg_conv_slots); per row, tap and chunk of OCB output channels (SG_CONV_NV vectors),
 * SG_CONV_PX pixels' sums are kept in vectors. */
static inline int SG_FN(sg_conv2d_grad_filter_c1)(const sg_conv_geom *g, const SG_T *restrict x,
                                                  const SG_T *restrict gy, SG_T *restrict dw, SG_ERR_PARAMS)
{
    typedef SG_T vec __attribute__((vector_size(SG_VEC_BYTES)));
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T), NV = SG_CONV_NV, OCB = SG_CONV_NV * LANES };
    const int64_t oc = g->oc, taps = g->kh * g->kw, rows = g->n * g->oh, dw_size = taps * oc;
    const int64_t slots = rows * g->ow * dw_size >= SG_PARALLEL_MIN ? sg_conv_slots(rows) : 1;
    SG_T *partials = NULL;
    if (slots > 1) {
        partials = (SG_T *)malloc(sizeof(SG_T) * (size_t)((slots - 1) * dw_size));
        if (partials == NULL)
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch",
                    (long long)(sizeof(SG_T) * (slots - 1) * dw_size));
    }
    #pragma omp parallel for schedule(dynamic, 1) if (slots > 1)
    for (int64_t s = 0; s < slots; s++) {
        SG_T *restrict acc_all = s == 0 ? dw : partials + (s - 1) * dw_size;
        memset(acc_all, 0, sizeof(SG_T) * (size_t)dw_size);
        for (int64_t row = s * rows / slots; row < (s + 1) * rows / slots; row++) {
            const int64_t b = row / g->oh, oy = row % g->oh;
            const SG_T *restrict gr = gy + row * g->ow * oc;
            for (int64_t i = 0; i < g->kh; i++) {
                const int64_t iy = oy * g->sh - g->pt + i * g->dh;
                if (iy < 0 || iy >= g->h) continue;
                const SG_T *restrict xr = x + (b * g->h + iy) * g->w;
                for (int64_t j = 0; j < g->kw; j++) {
                    /* the output columns q whose input column q*sw + off lies inside the row */
                    const int64_t off = j * g->dw - g->pl;
                    int64_t q0 = 0, q1 = g->ow;
                    while (q0 < q1 && q0 * g->sw + off < 0) q0++;
                    while (q1 > q0 && (q1 - 1) * g->sw + off >= g->w) q1--;
                    SG_T *restrict acc_t = acc_all + (i * g->kw + j) * oc;
                    for (int64_t o0 = 0; o0 < oc; o0 += OCB) {
                        const int64_t cn = sg_min_i64(OCB, oc - o0);
                        if (cn < OCB) {
                            for (int64_t q = q0; q < q1; q++) {
                                const SG_T v = xr[q * g->sw + off], *restrict gq = gr + q * oc + o0;
                                for (int64_t k = 0; k < cn; k++) acc_t[o0 + k] += v * gq[k];
                            }
                            continue;
                        }
                        vec a[SG_CONV_PX][NV];
                        for (int px = 0; px < SG_CONV_PX; px++)
                            for (int u = 0; u < NV; u++) a[px][u] = (vec){0};
                        int64_t q = q0;
                        for (; q + SG_CONV_PX <= q1; q += SG_CONV_PX)
                            for (int px = 0; px < SG_CONV_PX; px++) {
                                const SG_T v = xr[(q + px) * g->sw + off], *restrict gq = gr + (q + px) * oc + o0;
                                for (int u = 0; u < NV; u++) {
                                    vec gv;
                                    memcpy(&gv, gq + u * LANES, sizeof(vec));
                                    a[px][u] += v * gv;
                                }
                            }
                        for (; q < q1; q++) {
                            const SG_T v = xr[q * g->sw + off], *restrict gq = gr + q * oc + o0;
                            for (int u = 0; u < NV; u++) {
                                vec gv;
                                memcpy(&gv, gq + u * LANES, sizeof(vec));
                                a[0][u] += v * gv;
                            }
                        }
                        for (int u = 0; u < NV; u++) {
                            vec sum, old;
                            sum = a[0][u];
                            for (int px = 1; px < SG_CONV_PX; px++) sum += a[px][u];
                            memcpy(&old, acc_t + o0 + u * LANES, sizeof(vec));
                            old += sum;
                            memcpy(acc_t + o0 + u * LANES, &old, sizeof(vec));
                        }
                    }
                }
            }
        }
    }
    SG_FN(sg_conv_add_partials)(dw, partials, slots, dw_size);
    free(partials);
    return SG_OK;
}

/* y = conv2d(x, w), then epi (NULL: none) on each block of output pixels: blocks of batch items spread over
 * the threads, each unrolled into the thread's own col (a pointwise filter with an epilogue reads x itself)
 * and multiplied by one single-threaded gemm per group. */
static inline int SG_FN(sg_conv2d_forward)(const sg_conv_geom *g, const SG_T *x, const SG_T *w, SG_T *y,
                                           const sg_conv_epilogue *epi, SG_ERR_PARAMS)
{
    SG_TRY(sg_conv_check(g, SG_ERR_ARGS));
    const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;
    const int64_t P = g->oh * g->ow;
    if (g->n * P * g->oc == 0) return SG_OK;
    if (K == 0 || ocg == 0) {
        memset(y, 0, sizeof(SG_T) * (size_t)(g->n * P * g->oc));
        if (epi != NULL) epi->run(epi, 0, g->n * P);
        return SG_OK;
    }
    const int pointwise = sg_conv_is_pointwise(g);
    if (pointwise && epi == NULL && g->n * P <= INT32_MAX) {
        for (int64_t gi = 0; gi < g->groups; gi++)
            SG_FN(sg_gemm)(0, 0, g->n * P, ocg, K, x + gi * cg, g->c, w + gi * ocg, g->oc, y + gi * ocg, g->oc, 1);
        return SG_OK;
    }
    if (g->c == 1 && g->groups == 1) {
        SG_FN(sg_conv2d_forward_c1)(g, x, w, y, epi);
        return SG_OK;
    }
    const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb;
    const int parallel = blocks > 1 && sg_omp_threads() > 1;
    sg_blas_one_thread();
    int failed = 0;
    #pragma omp parallel if (parallel)
    {
        SG_T *col = pointwise ? NULL : (SG_T *)malloc(sizeof(SG_T) * (size_t)(nb * P * K));
        #pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);
            if (col == NULL && !pointwise) {
                failed = 1;
                continue;
            }
            for (int64_t gi = 0; gi < g->groups; gi++) {
                if (!pointwise) SG_FN(sg_im2col)(g, x, n0, m, gi, col);
                const SG_T *a = pointwise ? x + n0 * P * g->c + gi * cg : col;
                SG_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(m * P), (blasint)ocg,
                        (blasint)K, 1, a, (blasint)(pointwise ? g->c : K), w + gi * ocg,
                        (blasint)g->oc, 0, y + n0 * P * g->oc + gi * ocg, (blasint)g->oc);
            }
            if (epi != NULL) epi->run(epi, n0 * P, (n0 + m) * P);
        }
        free(col);
    }
    if (failed)
        SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(SG_T) * nb * P * K));
    return SG_OK;
}

/* dx = conv2d_grad_input(gy, w): per block of batch items (on the threads, as the forward pass) its dx is
 * zeroed, dcol = gy_g @ w_g^T computed into the thread's col and added back by col2im. */
static inline int SG_FN(sg_conv2d_grad_input)(const sg_conv_geom *g, const SG_T *gy, const SG_T *w, SG_T *dx,
                                              SG_ERR_PARAMS)
{
    SG_TRY(sg_conv_check(g, SG_ERR_ARGS));
    const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;
    const int64_t P = g->oh * g->ow, item = g->h * g->w * g->c;
    if (g->n * item == 0) return SG_OK;
    if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX && ocg > 0) {
        for (int64_t gi = 0; gi < g->groups; gi++)
            SG_FN(sg_gemm)(0, 1, g->n * P, K, ocg, gy + gi * ocg, g->oc, w + gi * ocg, g->oc, dx + gi * cg, g->c, 1);
        return SG_OK;
    }
    if (P == 0 || K == 0 || ocg == 0) {
        memset(dx, 0, sizeof(SG_T) * (size_t)(g->n * item));
        return SG_OK;
    }
    const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb;
    const int parallel = blocks > 1 && sg_omp_threads() > 1;
    sg_blas_one_thread();
    int failed = 0;
    #pragma omp parallel if (parallel)
    {
        SG_T *col = (SG_T *)malloc(sizeof(SG_T) * (size_t)(nb * P * K));
        #pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);
            memset(dx + n0 * item, 0, sizeof(SG_T) * (size_t)(m * item));
            if (col == NULL) {
                failed = 1;
                continue;
            }
            for (int64_t gi = 0; gi < g->groups; gi++) {
                SG_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)(m * P), (blasint)K,
                        (blasint)ocg, 1, gy + n0 * P * g->oc + gi * ocg, (blasint)g->oc, w + gi * ocg,
                        (blasint)g->oc, 0, col, (blasint)K);
                SG_FN(sg_col2im)(g, col, n0, m, gi, dx);
            }
        }
        free(col);
    }
    if (failed)
        SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(SG_T) * nb * P * K));
    return SG_OK;
}

/* dw = conv2d_grad_filter(x, gy): the blocks are cut into slots (sg_conv_slots), each summing
 * col^T @ gy_g over its blocks in order into its own partial with the thread's col. */
static inline int SG_FN(sg_conv2d_grad_filter)(const sg_conv_geom *g, const SG_T *x, const SG_T *gy, SG_T *dw,
                                               SG_ERR_PARAMS)
{
    SG_TRY(sg_conv_check(g, SG_ERR_ARGS));
    const int64_t cg = g->c / g->groups, ocg = g->oc / g->groups, K = g->kh * g->kw * cg;
    const int64_t P = g->oh * g->ow, dw_size = K * g->oc;
    if (dw_size == 0) return SG_OK;
    if (g->n * P == 0 || ocg == 0) {
        memset(dw, 0, sizeof(SG_T) * (size_t)dw_size);
        return SG_OK;
    }
    if (sg_conv_is_pointwise(g) && g->n * P <= INT32_MAX) {
        for (int64_t gi = 0; gi < g->groups; gi++)
            SG_FN(sg_gemm)(1, 0, K, ocg, g->n * P, x + gi * cg, g->c, gy + gi * ocg, g->oc, dw + gi * ocg, g->oc, 1);
        return SG_OK;
    }
    if (g->c == 1 && g->groups == 1) return SG_FN(sg_conv2d_grad_filter_c1)(g, x, gy, dw, SG_ERR_ARGS);
    const int64_t nb = sg_conv_block(g), blocks = (g->n + nb - 1) / nb, slots = sg_conv_slots(blocks);
    SG_T *partials = NULL;
    if (slots > 1) {
        partials = (SG_T *)malloc(sizeof(SG_T) * (size_t)((slots - 1) * dw_size));
        if (partials == NULL)
            SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch",
                    (long long)(sizeof(SG_T) * (slots - 1) * dw_size));
    }
    sg_blas_one_thread();
    int failed = 0;
    #pragma omp parallel if (slots > 1)
    {
        SG_T *col = (SG_T *)malloc(sizeof(SG_T) * (size_t)(nb * P * K));
        #pragma omp for schedule(dynamic, 1)
        for (int64_t s = 0; s < slots; s++) {
            SG_T *acc = s == 0 ? dw : partials + (s - 1) * dw_size;
            memset(acc, 0, sizeof(SG_T) * (size_t)dw_size);
            if (col == NULL) {
                failed = 1;
                continue;
            }
            for (int64_t blk = s * blocks / slots; blk < (s + 1) * blocks / slots; blk++) {
                const int64_t n0 = blk * nb, m = sg_min_i64(nb, g->n - n0);
                for (int64_t gi = 0; gi < g->groups; gi++) {
                    SG_FN(sg_im2col)(g, x, n0, m, gi, col);
                    SG_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)K, (blasint)ocg,
                            (blasint)(m * P), 1, col, (blasint)K, gy + n0 * P * g->oc + gi * ocg,
                            (blasint)g->oc, 1, acc + gi * ocg, (blasint)g->oc);
                }
            }
        }
        free(col);
    }
    SG_FN(sg_conv_add_partials)(dw, partials, slots, dw_size);
    free(partials);
    if (failed)
        SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes of conv2d scratch", (long long)(sizeof(SG_T) * nb * P * K));
    return SG_OK;
}
