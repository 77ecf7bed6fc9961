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

#define SG_BLAS_PREFIX scipy_
#define SG_CBLAS(name) scipy_cblas_##name

#endif /* SYMGRAPH_BLAS_H */
