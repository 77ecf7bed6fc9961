/* symgraph_gemm_template.h: sg_gemm_f32 / sg_gemm_f64, written once for the element type SG_T.
 *
 * Not a header to include by itself: symgraph_blas.h includes it once per element type
 * with SG_T (float, double), SG_SFX (f32, f64; functions are named through SG_FN,
 * symgraph_paste.h) and SG_GEMM (the CBLAS routine: SG_CBLAS(sgemm), SG_CBLAS(dgemm))
 * defined, after everything this file uses. No include guard: it is meant to be read
 * more than once.
 */
#if !defined(SG_T) || !defined(SG_SFX) || !defined(SG_GEMM)
#error "symgraph_gemm_template.h is included by symgraph_blas.h with SG_T, SG_SFX and SG_GEMM defined"
#endif

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
