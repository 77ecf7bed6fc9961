"""Where an elementwise loop starts to pay for OpenMP: the SG_PARALLEL_MIN measurement.

For sizes from 2**10 to 2**22 float32 elements it times one generated loop (a cheap
op, y = x * 1.5 + 0.5, and an expensive one, y = tanh(x)) as a serial SIMD loop and
as a parallel one on every OpenMP thread, and prints the smallest size from which the parallel
loop is faster for both. The project's default (symgraph.h) comes from this run on the
development machine (2 cores); run it where you deploy:

    OMP_NUM_THREADS=2 python benchmarks/parallel_threshold.py
"""

from __future__ import annotations

import time

import numpy as np

from symgraph.runtime.build import build

SOURCE = """
#include "symgraph.h"
/* the two shapes of loop symgraph/ops/c_loops.py emits on either side of SG_PARALLEL_MIN */
int sg_bench(const float *x, float *y, int64_t n, int parallel, int heavy, int reps) {
    for (int r = 0; r < reps; r++) {
        if (parallel) {
            if (heavy) {
                #pragma omp parallel for simd
                for (int64_t i = 0; i < n; i++) y[i] = sg_tanhf(x[i]);
            } else {
                #pragma omp parallel for simd
                for (int64_t i = 0; i < n; i++) y[i] = x[i] * 1.5f + 0.5f;
            }
        } else {
            if (heavy) {
                #pragma omp simd
                for (int64_t i = 0; i < n; i++) y[i] = sg_tanhf(x[i]);
            } else {
                #pragma omp simd
                for (int64_t i = 0; i < n; i++) y[i] = x[i] * 1.5f + 0.5f;
            }
        }
    }
    return 0;
}
"""
CDEF = "int sg_bench(const float *x, float *y, int64_t n, int parallel, int heavy, int reps);"


def seconds_per_loop(lib, ffi, x, y, parallel: bool, heavy: bool) -> float:
    reps = max(1, int(2**22 // x.size))
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        lib.sg_bench(
            ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y), x.size, int(parallel), int(heavy), reps
        )
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def main() -> None:
    unit = build(SOURCE, CDEF, name_hint="parallel_threshold")
    lib, ffi = unit.lib, unit.ffi
    crossover = {}
    print(f"{'n':>9} {'op':>6} {'serial us':>10} {'parallel us':>12} {'speedup':>8}")
    for heavy in (False, True):
        name = "tanh" if heavy else "axpb"
        for p in range(10, 23):
            n = 2**p
            x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
            y = np.empty_like(x)
            serial = seconds_per_loop(lib, ffi, x, y, False, heavy)
            parallel = seconds_per_loop(lib, ffi, x, y, True, heavy)
            print(f"{n:>9} {name:>6} {serial * 1e6:>10.2f} {parallel * 1e6:>12.2f} {serial / parallel:>8.2f}")
            if parallel < serial * 0.9 and name not in crossover:
                crossover[name] = n
    print("parallel pays from:", crossover)


if __name__ == "__main__":
    main()
