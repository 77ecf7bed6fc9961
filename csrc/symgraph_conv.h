/* symgraph_conv.h: 2-D convolution kernels (NHWC), float and double.
 *
 * Layouts are Keras': x (n, h, w, c), filters (kh, kw, c/groups, oc), y (n, oh, ow, oc).
 * Output pixel (oy, ox) reads input rows oy*sh - pt + i*dh for filter row i (columns
 * likewise); rows outside [0, h) are zero padding. sg_conv_geom describes pooling
 * windows as well (symgraph_pool.h).
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
 * Every kernel that can fail returns SG_OK or a failing status with its message written
 * (SG_ERR_PARAMS). Everything is static inline: a unit without convolutions compiles
 * none of it. The kernels are written once, in symgraph_conv_template.h, which the end
 * of this file includes for float and for double.
 */
#ifndef SYMGRAPH_CONV_H
#define SYMGRAPH_CONV_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symgraph_blas.h"
#include "symgraph_paste.h"
#include "symgraph_runtime.h"
#include "symgraph_sizes.h"
#include "symgraph_target.h"

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

/* Direct one-channel kernels: a block is SG_CONV_NV of the target's vectors of output channels
 * (symgraph_target.h) times SG_CONV_PX output pixels, all held in registers. Measured on Zen 5 (AMD
 * EPYC, 2 cores, each target a -march of the same machine), W5's first layer (64 x 28x28x1 images,
 * 5x5x1x32 filter, float32), forward + relu / filter gradient, ms, min of 60 calls:
 *              NV x PX:  2 x 4        4 x 2        2 x 6        4 x 4
 *   native (AVX-512)     0.35 / 1.14  1.34 / 3.18  0.70 / 1.47  1.47 / 3.77
 *   x86-64-v3 (AVX2)     1.30 / 2.48  3.64 / 4.60  0.73 / 2.55  1.28 / 3.49
 *   x86-64-v2 (SSE4.2)   1.26 / 4.61  0.88 / 1.94  1.29 / 4.69  1.03 / 3.96
 * (the machine was shared: the mins are what to compare). The 64-byte blocks these kernels had
 * before, on AVX2: 39 ms / 35 ms. NEON's 32 registers take the 4 x 4 block (16 of them). */
#if !defined(SG_CONV_NV) || !defined(SG_CONV_PX)
#if SG_VEC_REGS >= 32 && SG_VEC_BYTES >= 64
#define SG_CONV_NV 2
#define SG_CONV_PX 4
#elif SG_VEC_REGS >= 32
#define SG_CONV_NV 4
#define SG_CONV_PX 4
#elif SG_VEC_BYTES >= 32
#define SG_CONV_NV 2
#define SG_CONV_PX 4
#else
#define SG_CONV_NV 4
#define SG_CONV_PX 2
#endif
#endif

/* The kernels, once per element type: sg_conv2d_forward_f32, ..._f64 and their helpers. */
#define SG_T float
#define SG_SFX f32
#define SG_GEMM SG_CBLAS(sgemm)
#include "symgraph_conv_template.h"
#undef SG_T
#undef SG_SFX
#undef SG_GEMM

#define SG_T double
#define SG_SFX f64
#define SG_GEMM SG_CBLAS(dgemm)
#include "symgraph_conv_template.h"
#undef SG_T
#undef SG_SFX
#undef SG_GEMM

#endif /* SYMGRAPH_CONV_H */
