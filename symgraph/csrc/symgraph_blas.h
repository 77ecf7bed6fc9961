/* symgraph_blas.h: the BLAS glue every unit that multiplies matrices includes.
 *
 * BLAS comes from the scipy-openblas32 wheel: its cblas.h declares every routine with
 * the prefix scipy_ (scipy_cblas_sgemm, ...) so that it never clashes with another
 * OpenBLAS loaded into the same process (numpy's own, for one). SG_CBLAS(sgemm) names
 * the routine without spelling the prefix in generated code. Integers are 32-bit
 * (blasint is int): the generated caller checks that every dimension fits.
 * The build adds this wheel's include and library directories (symgraph/runtime/toolchain.py).
 */
#ifndef SYMGRAPH_BLAS_H
#define SYMGRAPH_BLAS_H

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define SG_BLAS_PREFIX scipy_
#define SG_CBLAS(name) scipy_cblas_##name

/* OpenMP's thread count (1 in a build without OpenMP). */
static inline int sg_omp_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Kernels that spread work over OpenMP's threads, each thread calling BLAS on its own
 * part (the conv blocks, the scan's row blocks), keep BLAS from starting threads of its
 * own meanwhile: an OpenBLAS worker spins ~0.1 s after each product and takes the core
 * an OpenMP thread needs. sg_blas_solo_begin(parallel) sets BLAS to one thread when the
 * work is parallel and OpenMP has threads, and returns the count for sg_blas_solo_end to
 * restore (0: nothing changed). Called for one kernel, or around a whole unit's call
 * (codegen/unit.py, for ops with blas_from_threads). */
static inline int sg_blas_solo_begin(int parallel)
{
    if (!parallel || sg_omp_threads() < 2) return 0;
    const int previous = scipy_openblas_get_num_threads();
    if (previous > 1) scipy_openblas_set_num_threads(1);
    return previous;
}

static inline void sg_blas_solo_end(int previous)
{
    if (previous > 1) scipy_openblas_set_num_threads(previous);
}

#endif /* SYMGRAPH_BLAS_H */
