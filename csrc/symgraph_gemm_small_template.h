/* symgraph_gemm_small_template.h: products without packing (sg_gemm_small_case).
 *
 * Not a header to include by itself: symgraph_blas.h includes it once per element type, with
 * SG_T and SG_SFX defined (functions are named through SG_FN), before symgraph_gemm_template.h,
 * whose sg_gemm calls it. No include guard.
 *
 * A GEMM library packs both operands into its blocked layout on every call. When op(a) has
 * few rows (a recurrent step's block of batch rows times the weights, a small batch's layer)
 * that packing of b costs as much as the product: W6's LSTM step multiplies 8 rows by the
 * 64 x 512 and 128 x 512 weights 640 times per training step. These kernels read b where it
 * is instead (and on AVX-512 that is as fast as packing for any number of rows, measured
 * below): SG_GEMM_SMALL_MR rows of c times SG_GEMM_SMALL_NV of the target's vectors of
 * columns stay in registers while the inner size runs (symgraph_target.h says what the
 * target has); each row of op(a) is broadcast, element by element, against b's row segment,
 * which reads a transposed a (a weight gradient's x^T @ dz) as easily as a stored one. A
 * transposed b (an input gradient's dz @ W^T) is copied a strip at a time into rows first,
 * where at least SG_GEMM_SMALL_NT_ROWS rows share the copy (W3's step: 1.24 -> 1.16 ms).
 *
 * Measured on Zen 5 (AMD EPYC, 2 cores), one thread, float, GFLOP/s, against the
 * scipy-openblas32 0.3.34 this project links, with the Haswell (AVX2) kernels this machine's
 * environment selects (OPENBLAS_CORETYPE=Haswell) and with its AVX-512 ones (SkylakeX):
 *
 *   m x k x n           -march=native (AVX-512, 8 x 2)            x86-64-v3 (AVX2, 6 x 2)
 *                        OpenBLAS Haswell  SkylakeX  these         OpenBLAS   these
 *   8 x 64 x 512          78                -         243            76         77
 *   8 x 128 x 512         60                -         256            60         75
 *   32 x 128 x 512       104                -         255           102        107
 *   128 x 784 x 512      128               226        247           122         97
 *   1024 x 784 x 512     131               243        222             -          -
 *   4096 x 64 x 800       52               215        223             -          -
 *   36864 x 25 x 32      103               170        216             -          -
 *   1024 x 1024 x 1024   126               238        152             -          -
 *   2048 x 2048 x 2048   100               102         80             -          -
 *
 * So on AVX-512 these take every product whose inner size is at most 800 (the strip of b a
 * row block runs through, k x 2 vectors, stays in L2: at least as fast as OpenBLAS's own
 * AVX-512 kernels, whichever kernels OpenBLAS picked; at 1024 they fell behind), and larger
 * inner sizes go to OpenBLAS (no blocking of k here); on AVX2 products of up to 32 rows (level with OpenBLAS, without
 * the packing's memory traffic); nowhere else: SSE's 16-byte vectors ran at a tenth of
 * OpenBLAS's speed, and NEON has not been measured (OpenBLAS and the portable GEMM keep
 * those targets).
 */
#if !defined(SG_T) || !defined(SG_SFX)
#error "symgraph_gemm_small_template.h is included by symgraph_blas.h with SG_T and SG_SFX defined"
#endif

/* rows and inner size up to which these kernels run (rows 0: never), and their register block */
#if SG_VEC_BYTES >= 64
#define SG_GEMM_SMALL_M_TARGET INT64_MAX
#define SG_GEMM_SMALL_K_TARGET 800
#define SG_GEMM_SMALL_MR_TARGET 8
#elif SG_VEC_BYTES >= 32 && defined(__x86_64__)
#define SG_GEMM_SMALL_M_TARGET 32
#define SG_GEMM_SMALL_K_TARGET INT64_MAX
#define SG_GEMM_SMALL_MR_TARGET 6
#else
#define SG_GEMM_SMALL_M_TARGET 0
#define SG_GEMM_SMALL_K_TARGET 0
#define SG_GEMM_SMALL_MR_TARGET 4
#endif
#ifndef SG_GEMM_SMALL_M
#define SG_GEMM_SMALL_M SG_GEMM_SMALL_M_TARGET
#endif
#ifndef SG_GEMM_SMALL_K
#define SG_GEMM_SMALL_K SG_GEMM_SMALL_K_TARGET
#endif
#ifndef SG_GEMM_SMALL_MR
#define SG_GEMM_SMALL_MR SG_GEMM_SMALL_MR_TARGET
#endif
#ifndef SG_GEMM_SMALL_NV
#define SG_GEMM_SMALL_NV 2
#endif
#ifndef SG_GEMM_SMALL_NT_ROWS
#define SG_GEMM_SMALL_NT_ROWS 32
#endif

/* c (m x n, ldc) = op(a) (m x k) @ b (k x n, ldb), element (i, p) of op(a) at a[i*a_row + p*a_col]
 * (a as stored: a_row = lda, a_col = 1; transposed: 1, lda): for the strip of nv vectors of
 * columns from n0, each block of up to SG_GEMM_SMALL_MR rows sums its k rank-one updates in
 * registers. */
static inline void SG_FN(sg_gemm_small_strip)(int64_t m, int64_t n0, int nv, int64_t k, const SG_T *restrict a,
                                              int64_t a_row, int64_t a_col, const SG_T *restrict b, int64_t ldb,
                                              SG_T *restrict c, int64_t ldc)
{
    typedef SG_T vec __attribute__((vector_size(SG_VEC_BYTES)));
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T), MR = SG_GEMM_SMALL_MR, NV = SG_GEMM_SMALL_NV };
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
        const int64_t rows = m - i0 < MR ? m - i0 : MR;
        const SG_T *restrict ai = a + i0 * a_row;
        vec acc[MR][NV];
        for (int i = 0; i < MR; i++)
            for (int u = 0; u < NV; u++) acc[i][u] = (vec){0};
        if (rows == MR && nv == NV) { /* the full block: every loop bound a constant */
            for (int64_t p = 0; p < k; p++) {
                vec bv[NV];
                for (int u = 0; u < NV; u++) memcpy(&bv[u], b + p * ldb + n0 + u * LANES, sizeof(vec));
                for (int i = 0; i < MR; i++) {
                    const SG_T av = ai[i * a_row + p * a_col];
                    for (int u = 0; u < NV; u++) acc[i][u] += av * bv[u];
                }
            }
        } else {
            for (int64_t p = 0; p < k; p++) {
                vec bv[NV];
                for (int u = 0; u < nv; u++) memcpy(&bv[u], b + p * ldb + n0 + u * LANES, sizeof(vec));
                for (int i = 0; i < rows; i++) {
                    const SG_T av = ai[i * a_row + p * a_col];
                    for (int u = 0; u < nv; u++) acc[i][u] += av * bv[u];
                }
            }
        }
        for (int i = 0; i < rows; i++)
            for (int u = 0; u < nv; u++) memcpy(c + (i0 + i) * ldc + n0 + u * LANES, &acc[i][u], sizeof(vec));
    }
}

/* c = op(a) @ b: strips of SG_GEMM_SMALL_NV vectors of columns, then one vector, then the
 * last columns one by one. */
SG_NOINLINE static void SG_FN(sg_gemm_small_nn)(int64_t m, int64_t n, int64_t k, const SG_T *restrict a, int64_t a_row,
                                                int64_t a_col, const SG_T *restrict b, int64_t ldb, SG_T *restrict c,
                                                int64_t ldc)
{
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T), NV = SG_GEMM_SMALL_NV };
    int64_t n0 = 0;
    for (; n0 + NV * LANES <= n; n0 += NV * LANES)
        SG_FN(sg_gemm_small_strip)(m, n0, NV, k, a, a_row, a_col, b, ldb, c, ldc);
    for (; n0 + LANES <= n; n0 += LANES) SG_FN(sg_gemm_small_strip)(m, n0, 1, k, a, a_row, a_col, b, ldb, c, ldc);
    for (; n0 < n; n0++)
        for (int64_t i = 0; i < m; i++) {
            SG_T sum = 0;
            for (int64_t p = 0; p < k; p++) sum += a[i * a_row + p * a_col] * b[p * ldb + n0];
            c[i * ldc + n0] = sum;
        }
}

/* c = op(a) @ b^T, b n x k (ldb): each strip of b's rows is first copied into a k x strip
 * buffer (b's transposed strip, which the strip kernel reads in rows), then multiplied. The
 * copy is a pass over b, as a GEMM's packing is: it pays where many rows share it. Returns 0
 * (nothing computed) when the buffer cannot be allocated. */
SG_NOINLINE static int SG_FN(sg_gemm_small_nt)(int64_t m, int64_t n, int64_t k, const SG_T *restrict a, int64_t a_row,
                                               int64_t a_col, const SG_T *restrict b, int64_t ldb, SG_T *restrict c,
                                               int64_t ldc)
{
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T), NV = SG_GEMM_SMALL_NV, W = SG_GEMM_SMALL_NV * LANES };
    SG_T *strip = (SG_T *)malloc(sizeof(SG_T) * (size_t)(k * W));
    if (strip == NULL) return 0;
    int64_t n0 = 0;
    for (; n0 + W <= n; n0 += W) {
        for (int64_t j = 0; j < W; j++) {
            const SG_T *restrict row = b + (n0 + j) * ldb;
            for (int64_t p = 0; p < k; p++) strip[p * W + j] = row[p];
        }
        SG_FN(sg_gemm_small_strip)(m, 0, NV, k, a, a_row, a_col, strip, W, c + n0, ldc);
    }
    free(strip);
    for (; n0 < n; n0++) /* the last columns (fewer than a strip) one by one: dot products */
        for (int64_t i = 0; i < m; i++) {
            SG_T sum = 0;
            for (int64_t p = 0; p < k; p++) sum += a[i * a_row + p * a_col] * b[n0 * ldb + p];
            c[i * ldc + n0] = sum;
        }
    return 1;
}

/* Returns 1 when it computed c = op(a) @ op(b) (a and b as stored or transposed; rows and
 * inner size within the target's bounds, and with b transposed at least
 * SG_GEMM_SMALL_NT_ROWS rows to share the copy of b; at least two strips of columns), 0
 * when the caller's GEMM should. */
static inline int SG_FN(sg_gemm_small_case)(int ta, int tb, int64_t m, int64_t n, int64_t k, const SG_T *a,
                                            int64_t lda, const SG_T *b, int64_t ldb, SG_T *c, int64_t ldc)
{
    enum { LANES = SG_VEC_BYTES / sizeof(SG_T) };
    if (m > SG_GEMM_SMALL_M || k > SG_GEMM_SMALL_K || n < 2 * SG_GEMM_SMALL_NV * LANES) return 0;
    if (!tb) {
        SG_FN(sg_gemm_small_nn)(m, n, k, a, ta ? 1 : lda, ta ? lda : 1, b, ldb, c, ldc);
        return 1;
    }
    if (m < SG_GEMM_SMALL_NT_ROWS) return 0;
    return SG_FN(sg_gemm_small_nt)(m, n, k, a, ta ? 1 : lda, ta ? lda : 1, b, ldb, c, ldc);
}
