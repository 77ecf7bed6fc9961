/* symgraph_gemm_template.h: sg_gemm_f32 / sg_gemm_f64, written once for the element type SG_T.
 *
 * Not a header to include by itself: symgraph_blas.h includes it once per element type
 * with SG_T (float, double), SG_SFX (f32, f64; functions are named through SG_FN,
 * symgraph_paste.h), SG_GEMM and SG_GEMV (the CBLAS routines: SG_CBLAS(sgemm),
 * SG_CBLAS(sgemv), ...) defined, after everything this file uses. No include guard: it
 * is meant to be read more than once.
 *
 * Under SG_BLAS_PORTABLE (no BLAS library; symgraph_blas.h) this file also defines
 * SG_GEMM and SG_GEMV themselves, with CBLAS's signatures: the portable GEMM below.
 */
#if !defined(SG_T) || !defined(SG_SFX) || !defined(SG_GEMM) || !defined(SG_GEMV)
#error "symgraph_gemm_template.h is included by symgraph_blas.h with SG_T, SG_SFX, SG_GEMM and SG_GEMV defined"
#endif

#ifdef SG_BLAS_PORTABLE
/* ---- The portable GEMM: CBLAS's ?gemm in plain C -------------------------------------------
 *
 * C = alpha * op(A) @ op(B) + beta * C, the classic blocked layout (Goto's), small enough to
 * step through in a debugger:
 *
 *   for each block of KC of the inner size, and each block of NC columns of C:
 *       pack op(B)'s KC x NC block into panels of NR columns (zero-padded at the edge)
 *       for each block of MC rows of C:
 *           pack op(A)'s MC x KC block into panels of MR rows (zero-padded at the edge)
 *           for each MR x NR tile of C: the micro-kernel (sg_pgemm_tile) sums the KC
 *           rank-one updates into MR x NR accumulators, then adds them into C
 *
 * Packing turns every transpose into the same contiguous, unit-stride reads in the inner
 * loop, and the zero padding lets the micro-kernel always run its full tile. The tile is
 * MR = 4 local rows of one 64-byte line each (NR = 16 floats or 8 doubles): at -O3 the
 * compiler keeps them in vector registers (4 AVX-512, 8 AVX2 or 16 NEON registers; SSE's
 * 16 registers hold them, with none to spare). The block sizes keep
 * the packed A block (MC x KC: 128 KiB of floats) in L2 and a panel of B (KC x NR: 16 KiB)
 * in L1. Products of fewer than SG_PGEMM_SMALL multiply-adds, or when the packing buffers
 * cannot be allocated, take the plain loops of sg_pgemm_direct instead.
 *
 * Measured on the project's 2-core AMD EPYC (Zen 5, AVX-512), gcc 12, one thread, float,
 * 512 x 512 x 512, in GFLOP/s: 136-141 at -O3 -march=native (OpenBLAS 0.3.34 on one thread,
 * its AVX2 kernels on Zen: 85), 73-88 at -march=x86-64-v3, 43 at -march=x86-64-v2, 26 at
 * plain -O2; the plain loops of sg_pgemm_direct 47, 32 and 25. Results agree with
 * OpenBLAS within float rounding (the sums run in another order).
 */
#ifndef SG_PGEMM_MR
#define SG_PGEMM_MR 4 /* sg_pgemm_tile's rows are written out: four */
#define SG_PGEMM_KC 256
#define SG_PGEMM_MC 128
#define SG_PGEMM_NC 1024
#define SG_PGEMM_SMALL 4096.0
#endif
/* The micro-kernel stays a function of its own: inlined into a caller whose sizes are constants
 * (a generated kernel's static shapes), gcc 12 vectorised its loops another way, at 7 GFLOP/s
 * instead of 120 (512 x 512 x 512, AVX-512). */
#if defined(__GNUC__) && !defined(SG_PGEMM_NOINLINE)
#define SG_PGEMM_NOINLINE __attribute__((noinline))
#elif !defined(SG_PGEMM_NOINLINE)
#define SG_PGEMM_NOINLINE
#endif
/* columns of one tile: one 64-byte line of SG_T (a constant expression: it sizes arrays) */
#define SG_PGEMM_NR ((int)(64 / sizeof(SG_T)))

/* The element (i, p) of op(X), X row-major with leading dimension ldx. */
static inline SG_T SG_FN(sg_pgemm_at)(const SG_T *x, int64_t ldx, int trans, int64_t i, int64_t p)
{
    return trans ? x[p * ldx + i] : x[i * ldx + p];
}

/* c = alpha * op(a) @ op(b) + beta * c with plain loops (beta 0: c is not read, as CBLAS says). */
static void SG_FN(sg_pgemm_direct)(int ta, int tb, int64_t m, int64_t n, int64_t k, SG_T alpha, const SG_T *a,
                                   int64_t lda, const SG_T *b, int64_t ldb, SG_T beta, SG_T *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        SG_T *crow = c + i * ldc;
        for (int64_t j = 0; j < n; j++) crow[j] = beta == 0 ? 0 : beta * crow[j];
        for (int64_t p = 0; p < k; p++) {
            const SG_T aip = alpha * SG_FN(sg_pgemm_at)(a, lda, ta, i, p);
            if (!tb) { /* row p of b is contiguous: the inner loop vectorises */
                const SG_T *brow = b + p * ldb;
                for (int64_t j = 0; j < n; j++) crow[j] += aip * brow[j];
            } else {
                for (int64_t j = 0; j < n; j++) crow[j] += aip * b[j * ldb + p];
            }
        }
    }
}

/* pa <- op(a)[i0 : i0+mc, p0 : p0+kc] as panels of MR rows: pa[(panel * kc + p) * MR + r]. */
static void SG_FN(sg_pgemm_pack_a)(int ta, const SG_T *a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                                   SG_T *restrict pa)
{
    for (int64_t panel = 0; panel * SG_PGEMM_MR < mc; panel++) {
        SG_T *dst = pa + panel * kc * SG_PGEMM_MR;
        for (int64_t p = 0; p < kc; p++) {
            for (int r = 0; r < SG_PGEMM_MR; r++) {
                const int64_t i = panel * SG_PGEMM_MR + r;
                dst[p * SG_PGEMM_MR + r] = i < mc ? SG_FN(sg_pgemm_at)(a, lda, ta, i0 + i, p0 + p) : 0;
            }
        }
    }
}

/* pb <- op(b)[p0 : p0+kc, j0 : j0+nc] as panels of NR columns: pb[(panel * kc + p) * NR + col]. */
static void SG_FN(sg_pgemm_pack_b)(int tb, const SG_T *b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                                   SG_T *restrict pb)
{
    for (int64_t panel = 0; panel * SG_PGEMM_NR < nc; panel++) {
        SG_T *dst = pb + panel * kc * SG_PGEMM_NR;
        const int64_t width = nc - panel * SG_PGEMM_NR < SG_PGEMM_NR ? nc - panel * SG_PGEMM_NR : SG_PGEMM_NR;
        for (int64_t p = 0; p < kc; p++) {
            SG_T *row = dst + p * SG_PGEMM_NR;
            const int64_t j = j0 + panel * SG_PGEMM_NR;
            if (!tb && width == SG_PGEMM_NR) {
                memcpy(row, b + (p0 + p) * ldb + j, sizeof(SG_T) * SG_PGEMM_NR);
                continue;
            }
            for (int col = 0; col < SG_PGEMM_NR; col++)
                row[col] = col < width ? SG_FN(sg_pgemm_at)(b, ldb, tb, p0 + p, j + col) : 0;
        }
    }
}

/* The micro-kernel: acc = (MR = 4 rows of packed A) @ (NR columns of packed B) over kc, then
 * c[0:mr, 0:nr] = alpha * acc + beta * c (beta 0: c is not read). The four rows are written
 * out so that the loop over the NR columns is the one the compiler vectorises (each row's
 * A value broadcast); a loop over the rows inside it was vectorised across the rows instead,
 * with a shuffle per multiply (measured: 10 GFLOP/s against this form's 30, AVX-512). */
SG_PGEMM_NOINLINE static void SG_FN(sg_pgemm_tile)(int64_t kc, const SG_T *restrict pa, const SG_T *restrict pb, int64_t mr, int64_t nr,
                                 SG_T alpha, SG_T beta, SG_T *c, int64_t ldc)
{
    SG_T acc0[SG_PGEMM_NR] = {0}, acc1[SG_PGEMM_NR] = {0}, acc2[SG_PGEMM_NR] = {0}, acc3[SG_PGEMM_NR] = {0};
    for (int64_t p = 0; p < kc; p++) {
        const SG_T *brow = pb + p * SG_PGEMM_NR, *arow = pa + p * SG_PGEMM_MR;
        const SG_T a0 = arow[0], a1 = arow[1], a2 = arow[2], a3 = arow[3];
        for (int col = 0; col < SG_PGEMM_NR; col++) {
            const SG_T bc = brow[col];
            acc0[col] += a0 * bc;
            acc1[col] += a1 * bc;
            acc2[col] += a2 * bc;
            acc3[col] += a3 * bc;
        }
    }
    const SG_T *rows[SG_PGEMM_MR] = {acc0, acc1, acc2, acc3};
    for (int64_t r = 0; r < mr; r++) {
        SG_T *crow = c + r * ldc;
        const SG_T *acc = rows[r];
        if (beta == 0)
            for (int64_t col = 0; col < nr; col++) crow[col] = alpha * acc[col];
        else
            for (int64_t col = 0; col < nr; col++) crow[col] = alpha * acc[col] + beta * crow[col];
    }
}

/* Row-major c = alpha * op(a) @ op(b) + beta * c: the blocked loops above. */
static void SG_FN(sg_pgemm)(int ta, int tb, int64_t m, int64_t n, int64_t k, SG_T alpha, const SG_T *a, int64_t lda,
                            const SG_T *b, int64_t ldb, SG_T beta, SG_T *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) { /* no product: c = beta * c */
        SG_FN(sg_pgemm_direct)(ta, tb, m, n, 0, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    const int64_t kc_max = k < SG_PGEMM_KC ? k : SG_PGEMM_KC;
    const int64_t mc_max = m < SG_PGEMM_MC ? m : SG_PGEMM_MC;
    const int64_t nc_max = n < SG_PGEMM_NC ? n : SG_PGEMM_NC;
    const int64_t mc_pad = (mc_max + SG_PGEMM_MR - 1) / SG_PGEMM_MR * SG_PGEMM_MR;
    const int64_t nc_pad = (nc_max + SG_PGEMM_NR - 1) / SG_PGEMM_NR * SG_PGEMM_NR;
    SG_T *pa = NULL, *pb = NULL;
    if ((double)m * (double)n * (double)k >= SG_PGEMM_SMALL) {
        pa = (SG_T *)malloc(sizeof(SG_T) * (size_t)(mc_pad * kc_max));
        pb = (SG_T *)malloc(sizeof(SG_T) * (size_t)(nc_pad * kc_max));
    }
    if (pa == NULL || pb == NULL) { /* small, or no memory for the packs: the plain loops */
        free(pa);
        free(pb);
        SG_FN(sg_pgemm_direct)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    for (int64_t p0 = 0; p0 < k; p0 += SG_PGEMM_KC) {
        const int64_t kc = k - p0 < SG_PGEMM_KC ? k - p0 : SG_PGEMM_KC;
        const SG_T beta_here = p0 == 0 ? beta : 1; /* later blocks of k add to what the first wrote */
        for (int64_t j0 = 0; j0 < n; j0 += SG_PGEMM_NC) {
            const int64_t nc = n - j0 < SG_PGEMM_NC ? n - j0 : SG_PGEMM_NC;
            SG_FN(sg_pgemm_pack_b)(tb, b, ldb, p0, kc, j0, nc, pb);
            for (int64_t i0 = 0; i0 < m; i0 += SG_PGEMM_MC) {
                const int64_t mc = m - i0 < SG_PGEMM_MC ? m - i0 : SG_PGEMM_MC;
                SG_FN(sg_pgemm_pack_a)(ta, a, lda, i0, mc, p0, kc, pa);
                for (int64_t jr = 0; jr < nc; jr += SG_PGEMM_NR) {
                    const int64_t nr = nc - jr < SG_PGEMM_NR ? nc - jr : SG_PGEMM_NR;
                    const SG_T *pb_panel = pb + (jr / SG_PGEMM_NR) * kc * SG_PGEMM_NR;
                    for (int64_t ir = 0; ir < mc; ir += SG_PGEMM_MR) {
                        const int64_t mr = mc - ir < SG_PGEMM_MR ? mc - ir : SG_PGEMM_MR;
                        const SG_T *pa_panel = pa + (ir / SG_PGEMM_MR) * kc * SG_PGEMM_MR;
                        SG_FN(sg_pgemm_tile)(kc, pa_panel, pb_panel, mr, nr, alpha, beta_here,
                                             c + (i0 + ir) * ldc + j0 + jr, ldc);
                    }
                }
            }
        }
    }
    free(pa);
    free(pb);
}

/* CBLAS's ?gemm (symgraph_blas.h names it SG_CBLAS(sgemm) / SG_CBLAS(dgemm)). Column-major
 * is the row-major product of the transposes: C^T = op(B)^T @ op(A)^T. */
static void SG_GEMM(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a, enum CBLAS_TRANSPOSE trans_b, blasint m,
                    blasint n, blasint k, SG_T alpha, const SG_T *a, blasint lda, const SG_T *b, blasint ldb, SG_T beta,
                    SG_T *c, blasint ldc)
{
    const int ta = trans_a != CblasNoTrans, tb = trans_b != CblasNoTrans;
    if (order == CblasColMajor)
        SG_FN(sg_pgemm)(tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    else
        SG_FN(sg_pgemm)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* CBLAS's ?gemv: y = alpha * op(A) @ x + beta * y, A m x n; strides incx, incy (negative:
 * the vector runs backwards from its last element, as in the reference BLAS). */
static void SG_GEMV(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, blasint m, blasint n, SG_T alpha,
                    const SG_T *a, blasint lda, const SG_T *x, blasint incx, SG_T beta, SG_T *y, blasint incy)
{
    /* in row-major terms: rows x cols, transposed or not (column-major A is row-major A^T) */
    const int t = (trans != CblasNoTrans) != (order == CblasColMajor);
    const int64_t rows = order == CblasColMajor ? n : m, cols = order == CblasColMajor ? m : n;
    const int64_t len_x = t ? rows : cols, len_y = t ? cols : rows;
    const int64_t x0 = incx < 0 ? (1 - len_x) * (int64_t)incx : 0, y0 = incy < 0 ? (1 - len_y) * (int64_t)incy : 0;
    for (int64_t i = 0; i < len_y; i++) {
        SG_T *yi = y + y0 + i * incy;
        *yi = beta == 0 ? 0 : beta * *yi;
    }
    if (alpha == 0) return;
    if (!t) { /* y[i] += alpha * (row i of A) . x */
        for (int64_t i = 0; i < rows; i++) {
            const SG_T *arow = a + i * lda;
            SG_T sum = 0;
            for (int64_t j = 0; j < cols; j++) sum += arow[j] * x[x0 + j * incx];
            y[y0 + i * incy] += alpha * sum;
        }
    } else { /* y += alpha * x[i] * (row i of A), row by row: unit stride through A */
        for (int64_t i = 0; i < rows; i++) {
            const SG_T *arow = a + i * lda;
            const SG_T scale = alpha * x[x0 + i * incx];
            for (int64_t j = 0; j < cols; j++) y[y0 + j * incy] += scale * arow[j];
        }
    }
}
#endif /* SG_BLAS_PORTABLE */

/* A product with one row or one column is a matrix-vector product: GEMV reads the matrix
 * once, in place, where GEMM packs all of it into its blocked layout first, per call.
 * Measured on Zen 5 (AMD EPYC, AVX-512; scipy-openblas32 0.3.34, one thread), one row times a
 * k x n matrix: 784 x 512 took 70.7 us through sgemm and 17.8 us through sgemv, 512 x 10
 * 1.32 and 0.51 us, 64 x 64 0.47 and 0.14 us; no shape measured was faster through
 * sgemm. Returns 0 where the product is not such a case. */
static inline int SG_FN(sg_gemv_case)(int ta, int tb, int64_t m, int64_t n, int64_t k, const SG_T *a, int64_t lda,
                                      const SG_T *b, int64_t ldb, SG_T *c, int64_t ldc)
{
    if (m == 1) {
        /* c (1 x n) = a-row . op(b): b is k x n (tb = 0) or n x k (tb = 1), row-major; a's
         * k entries are one row (ta = 0) or one column, lda apart (ta = 1) */
        SG_GEMV(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (blasint)(tb ? n : k), (blasint)(tb ? k : n), 1, b,
                (blasint)ldb, a, (blasint)(ta ? lda : 1), 0, c, 1);
        return 1;
    }
    if (n == 1) {
        /* c (m x 1, ldc apart) = op(a) . b-column: a is m x k (ta = 0) or k x m (ta = 1) */
        SG_GEMV(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (blasint)(ta ? k : m), (blasint)(ta ? m : k), 1, a,
                (blasint)lda, b, (blasint)(tb ? 1 : ldb), 0, c, (blasint)ldc);
        return 1;
    }
    return 0;
}

/* c = op(a) @ op(b), row-major, m x n with inner size k (op transposes where ta / tb),
 * leading dimensions lda, ldb, ldc; spread over OpenMP's threads when `parallel` and
 * the product is large, each thread calling BLAS on its block of rows or columns.
 * BLAS itself runs on one thread (sg_blas_one_thread): the threads of a product are
 * OpenMP's, the same ones every other kernel uses. */
/* One thread's product: the few-rows kernel where it applies, else the GEMM routine. */
static inline void SG_FN(sg_gemm_one)(int ta, int tb, int64_t m, int64_t n, int64_t k, const SG_T *a, int64_t lda,
                                      const SG_T *b, int64_t ldb, SG_T *c, int64_t ldc)
{
    if (SG_FN(sg_gemm_small_case)(ta, tb, m, n, k, a, lda, b, ldb, c, ldc)) return;
    SG_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
            (blasint)k, 1, a, (blasint)lda, b, (blasint)ldb, 0, c, (blasint)ldc);
}

/* c = op(a) @ op(b), row-major, m x n with inner size k (op transposes where ta / tb),
 * leading dimensions lda, ldb, ldc; spread over OpenMP's threads when `parallel` and
 * the product is large, each thread calling BLAS on its block of rows or columns.
 * BLAS itself runs on one thread (sg_blas_one_thread): the threads of a product are
 * OpenMP's, the same ones every other kernel uses. */
static inline void SG_FN(sg_gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k, const SG_T *a, int64_t lda,
                                  const SG_T *b, int64_t ldb, SG_T *c, int64_t ldc, int parallel)
{
    const sg_gemm_split plan = sg_gemm_plan(m, n, k, parallel);
    sg_blas_one_thread();
    if (SG_FN(sg_gemv_case)(ta, tb, m, n, k, a, lda, b, ldb, c, ldc)) return;
    if (plan.parts == 1) {
        SG_FN(sg_gemm_one)(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
    #pragma omp parallel for schedule(static)
    for (int part = 0; part < plan.parts; part++) {
        const int64_t lo = part * plan.chunk;
        const int64_t len = (plan.by_rows ? m : n) - lo < plan.chunk ? (plan.by_rows ? m : n) - lo : plan.chunk;
        if (plan.by_rows)
            SG_FN(sg_gemm_one)(ta, tb, len, n, k, a + (ta ? lo : lo * lda), lda, b, ldb, c + lo * ldc, ldc);
        else
            SG_FN(sg_gemm_one)(ta, tb, m, len, k, a, lda, b + (tb ? lo * ldb : lo), ldb, c + lo, ldc);
    }
}
