/* symgraph_blas.h: the BLAS glue every unit that multiplies matrices includes.
 *
 * BLAS comes from the scipy-openblas32 wheel: its cblas.h declares every routine with
 * the prefix scipy_ (scipy_cblas_sgemm, ...) so that it never clashes with another
 * OpenBLAS loaded into the same process (numpy's own, for one). SG_CBLAS(sgemm) names
 * the routine without spelling the prefix in generated code. Integers are 32-bit
 * (blasint is int): the generated caller checks that every dimension fits.
 * The build adds this wheel's include and library directories (symgraph/runtime/toolchain.py).
 *
 * That is the default, and the only BLAS symgraph's own builds use. C exported to run
 * without Python (symgraph/export: its Makefile's BLAS= setting) may choose another at
 * compile time:
 *
 *   (no macro)         the scipy-openblas32 wheel's OpenBLAS, as above;
 *   SG_BLAS_CBLAS      any CBLAS with the standard names (cblas_sgemm: a system OpenBLAS,
 *                      BLIS, MKL, Accelerate); add SG_BLAS_OPENBLAS when it is OpenBLAS,
 *                      so that its own threads are kept to one as below;
 *   SG_BLAS_PORTABLE   no BLAS library at all: sgemm, dgemm, sgemv and dgemv written in
 *                      plain C in symgraph_gemm_template.h (a blocked, register-tiled GEMM),
 *                      under CBLAS's names and signatures, so every caller written
 *                      against CBLAS (sg_gemm_f32 below, the conv kernels) compiles
 *                      unchanged. For machines without a BLAS (aarch64 boards, a bare
 *                      toolchain) and for stepping through a product in a debugger.
 */
#ifndef SYMGRAPH_BLAS_H
#define SYMGRAPH_BLAS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(SG_BLAS_PORTABLE)
/* CBLAS's names and numbers (the reference cblas.h's), for the callers written against it */
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
typedef int blasint;
#define SG_CBLAS(name) sg_portable_cblas_##name
#elif defined(SG_BLAS_CBLAS)
#include <cblas.h>
#if !defined(OPENBLAS_CONST) /* OpenBLAS's cblas.h has its own blasint; the reference one has int */
typedef int blasint;
#endif
#define SG_CBLAS(name) cblas_##name
#else
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "symgraph_paste.h"
#include "symgraph_target.h"

#if !defined(SG_BLAS_PORTABLE) && !defined(SG_BLAS_CBLAS)
#define SG_BLAS_PREFIX scipy_
#define SG_CBLAS(name) scipy_cblas_##name
#endif

/* The threads a kernel may share its work among: OpenMP's count, 1 inside a parallel
 * region (a scan's row block, a conv block: a nested region would be a team of one, all
 * overhead) and in a build without OpenMP. */
static inline int sg_omp_threads(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

/* BLAS runs on one thread: symgraph's kernels share their work among OpenMP's threads
 * themselves (sg_gemm_f32 below, the conv blocks, the scan's row blocks), each calling
 * BLAS on its part; OpenBLAS's own workers would spin ~0.1 s after each product they ran,
 * on the cores the OpenMP threads need. Every kernel that calls BLAS calls this first:
 * a read of OpenBLAS's count, and a write the first time. (This is the scipy-openblas32
 * wheel's library, which only symgraph's units link; numpy and scipy carry their own.) */
static inline void sg_blas_one_thread(void)
{
#if defined(SG_BLAS_PORTABLE) || (defined(SG_BLAS_CBLAS) && !defined(SG_BLAS_OPENBLAS))
    /* the portable kernels start no threads; another CBLAS's threads are its own settings' */
#elif defined(SG_BLAS_CBLAS)
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
#else
    if (scipy_openblas_get_num_threads() != 1) scipy_openblas_set_num_threads(1);
#endif
}

/* Products at least this large (m*n*k multiply-adds, about 40 us on one core) are shared
 * among OpenMP's threads: (128 x 512) @ (512 x 10), 655360, took 48 us in two halves and
 * 18 us whole; (1024 x 512) @ (512 x 10) 122 us in halves, 218 us whole. */
#ifndef SG_GEMM_PARALLEL_MIN
#define SG_GEMM_PARALLEL_MIN 2097152.0
#endif

/* How sg_gemm_f32/f64 share an m x n product (inner size k) among OpenMP's threads:
 * `parts` blocks of `chunk` rows (by_rows) or columns, each a multiple of 16 (a 64-byte
 * line of float32), one per thread; the longer side is split, so that each thread packs
 * as little of the other operand as possible. parts = 1: one call on this thread. */
typedef struct {
    int parts;
    int by_rows;
    int64_t chunk;
} sg_gemm_split;

static inline sg_gemm_split sg_gemm_plan(int64_t m, int64_t n, int64_t k, int parallel)
{
    sg_gemm_split plan = {1, 1, m};
    const int threads = parallel ? sg_omp_threads() : 1;
    if (threads < 2 || (double)m * (double)n * (double)k < SG_GEMM_PARALLEL_MIN) return plan;
    plan.by_rows = m >= n;
    const int64_t side = plan.by_rows ? m : n;
    plan.chunk = ((side + threads - 1) / threads + 15) / 16 * 16;
    plan.parts = (int)((side + plan.chunk - 1) / plan.chunk);
    return plan;
}

/* sg_gemm_f32 and sg_gemm_f64: c = op(a) @ op(b) on OpenMP's threads (symgraph_gemm_template.h);
 * under SG_BLAS_PORTABLE also the CBLAS routines SG_GEMM and SG_GEMV name. */
#define SG_T float
#define SG_SFX f32
#define SG_GEMM SG_CBLAS(sgemm)
#define SG_GEMV SG_CBLAS(sgemv)
#include "symgraph_gemm_small_template.h"
#include "symgraph_gemm_template.h"
#undef SG_T
#undef SG_SFX
#undef SG_GEMM
#undef SG_GEMV

#define SG_T double
#define SG_SFX f64
#define SG_GEMM SG_CBLAS(dgemm)
#define SG_GEMV SG_CBLAS(dgemv)
#include "symgraph_gemm_small_template.h"
#include "symgraph_gemm_template.h"
#undef SG_T
#undef SG_SFX
#undef SG_GEMM
#undef SG_GEMV

#endif /* SYMGRAPH_BLAS_H */
