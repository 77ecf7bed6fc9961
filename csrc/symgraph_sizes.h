/* symgraph_sizes.h: arithmetic on int64 sizes, and the size from which loops use threads.
 *
 * Symbolic dimensions compile to these helpers (symgraph/codegen/cexpr.py: c_dim;
 * symgraph/graph/shape.py), and the kernels of the other headers use them too.
 */
#ifndef SYMGRAPH_SIZES_H
#define SYMGRAPH_SIZES_H

#include <stddef.h>
#include <stdint.h>

/* Elementwise loops with at least this many elements run on every OpenMP thread;
 * smaller ones stay on one (the fork/join costs more than it saves). Measured with
 * benchmarks/parallel_threshold.py on the 2-core development machine: a cheap loop
 * (x*1.5+0.5) gains from 32768 elements (1.34x), a tanh loop already from 2048.
 * symgraph/ops/c_loops.py's PARALLEL_MIN_STATIC must hold the same number. */
#ifndef SG_PARALLEL_MIN
#define SG_PARALLEL_MIN 32768
#endif

/* Python's floor division on sizes (C's / truncates toward zero). */
static inline int64_t sg_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t sg_max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline size_t sg_max_size(size_t a, size_t b) { return a > b ? a : b; }
/* temporaries start on 64-byte boundaries: a cache line, an AVX-512 vector */
static inline size_t sg_align64(size_t n) { return (n + 63) & ~(size_t)63; }
static inline int64_t sg_min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

#endif /* SYMGRAPH_SIZES_H */
