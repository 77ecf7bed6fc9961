/* symgraph_gemm_template.h: sg_gemm_f32 / sg_gemm_f64, written once for the element type SG_T.
 *
 * Not a header to include by itself: symgraph_blas.h includes it once per element type
 * with SG_T (float, double), SG_SFX (f32, f64; functions are named through SG_FN,
 * symgraph_paste.h) and SG_GEMM (the CBLAS routine: SG_CBLAS(sgemm), SG_CBLAS(dgemm))
 * defined, after everything this file uses. No include guard: it is meant to be read
 * more than once.
 */
#if !defined(SG_T) || !defined(SG_SFX) || !defined(SG_GEMM) || !defined(SG_GEMV)
#error "symgraph_gemm_template.h is included by symgraph_blas.h with SG_T, SG_SFX, SG_GEMM and SG_GEMV defined"
#endif

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
static inline void SG_FN(sg_gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k, const SG_T *a, int64_t lda,
                                  const SG_T *b, int64_t ldb, SG_T *c, int64_t ldc, int parallel)
{
    const enum CBLAS_TRANSPOSE op_a = ta ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE op_b = tb ? CblasTrans : CblasNoTrans;
    const sg_gemm_split plan = sg_gemm_plan(m, n, k, parallel);
    sg_blas_one_thread();
    if (SG_FN(sg_gemv_case)(ta, tb, m, n, k, a, lda, b, ldb, c, ldc)) return;
    if (plan.parts == 1) {
        SG_GEMM(CblasRowMajor, op_a, op_b, (blasint)m, (blasint)n, (blasint)k, 1, a, (blasint)lda, b, (blasint)ldb, 0,
                c, (blasint)ldc);
        return;
    }
    #pragma omp parallel for schedule(static)
    for (int part = 0; part < plan.parts; part++) {
        const int64_t lo = part * plan.chunk;
        const int64_t len = (plan.by_rows ? m : n) - lo < plan.chunk ? (plan.by_rows ? m : n) - lo : plan.chunk;
        if (plan.by_rows)
            SG_GEMM(CblasRowMajor, op_a, op_b, (blasint)len, (blasint)n, (blasint)k, 1, a + (ta ? lo : lo * lda),
                    (blasint)lda, b, (blasint)ldb, 0, c + lo * ldc, (blasint)ldc);
        else
            SG_GEMM(CblasRowMajor, op_a, op_b, (blasint)m, (blasint)len, (blasint)k, 1, a, (blasint)lda,
                    b + (tb ? lo * ldb : lo), (blasint)ldb, 0, c + lo, (blasint)ldc);
    }
}
