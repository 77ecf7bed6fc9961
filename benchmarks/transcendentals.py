"""Speed of the float32 transcendentals in csrc/symgraph_math.h against libm and numpy.

On 4,194,304 float32 (values in [-10, 10]; [0.01, 100] for log), each row times one
pass over the array: a C loop under ``#pragma omp simd`` calling symgraph's ``sg_*f``
(which gcc vectorises), the same loop calling libm's ``tanhf``/``expf``/... (a scalar
call per element: glibc only declares its vector variants under -ffast-math), the
``sg_*f`` loop again under ``#pragma omp parallel for simd`` (all cores), and numpy's
ufunc on the float32 array. The units are built through symgraph.runtime.build with the
toolchain's flags (``-O3 -march=native``, ``-ffp-contract=off -fno-math-errno``, OpenMP;
SYMGRAPH_CFLAGS replaces the first two). Prints the best of ``--repeat`` runs in milliseconds; a report, not a test.

    python benchmarks/transcendentals.py [--n 4194304] [--repeat 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("symgraph") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from symgraph.runtime.build import build  # noqa: E402
from symgraph.runtime.toolchain import get_toolchain  # noqa: E402

# (label, C function, numpy function, input range)
CASES = [
    ("tanh", "sg_tanhf", "tanhf", np.tanh, (-10.0, 10.0)),
    ("exp", "sg_expf", "expf", np.exp, (-10.0, 10.0)),
    ("log", "sg_logf", "logf", np.log, (0.01, 100.0)),
    ("sigmoid", "sg_sigmoidf", None, None, (-10.0, 10.0)),
]


def _loop(name: str, fn: str, pragma: str) -> str:
    return (
        f"void {name}(const float *restrict x, float *restrict y, int64_t n)\n{{\n"
        f"#pragma {pragma}\n"
        f"    for (int64_t i = 0; i < n; i++) y[i] = {fn}(x[i]);\n}}\n"
    )


def make_unit() -> tuple[str, str, list[str]]:
    src = ['#include "symgraph.h"']
    names = []
    for label, sg_fn, libm_fn, _, _ in CASES:
        variants = [(f"bench_sg_{label}", sg_fn, "omp simd"), (f"bench_par_{label}", sg_fn, "omp parallel for simd")]
        if libm_fn:
            variants.append((f"bench_libm_{label}", libm_fn, "omp simd"))
        for name, fn, pragma in variants:
            src.append(_loop(name, fn, pragma))
            names.append(name)
    cdef = "\n".join(f"void {n}(const float *x, float *y, int64_t n);" for n in names)
    return "\n".join(src), cdef, names


def best_ms(f, repeat: int) -> float:
    f()  # warm up (page faults, thread pool)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return 1e3 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4_194_304)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    src, cdef, _ = make_unit()
    unit = build(src, cdef, name_hint="bench_transcendentals")
    ffi, lib = unit.ffi, unit.lib
    tc = get_toolchain()
    print(f"n = {args.n} float32, best of {args.repeat}; {tc.version}; flags {' '.join(tc.cflags)}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, {os.cpu_count()} CPUs")
    rng = np.random.default_rng(0)
    print(f"{'':10}{'sg (simd)':>12}{'libm (simd)':>13}{'numpy':>10}{'sg (par)':>11}")
    for label, _, libm_fn, np_fn, (lo, hi) in CASES:
        x = rng.uniform(lo, hi, args.n).astype(np.float32)
        row = time_case(ffi, lib, label, x, libm_fn is not None, np_fn, args.repeat)
        cells = [f"{v:.2f} ms" if v is not None else "-" for v in row]
        print(f"{label:10}{cells[0]:>12}{cells[1]:>13}{cells[2]:>10}{cells[3]:>11}")


def time_case(ffi, lib, label: str, x: np.ndarray, has_libm: bool, np_fn, repeat: int) -> list[float | None]:
    """ms for [sg simd loop, libm simd loop, numpy, sg parallel simd loop] on ``x``."""
    y = np.empty_like(x)
    px, py = ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)

    def c_call(name: str):
        fn = getattr(lib, name)
        return lambda: fn(px, py, x.size)

    return [
        best_ms(c_call(f"bench_sg_{label}"), repeat),
        best_ms(c_call(f"bench_libm_{label}"), repeat) if has_libm else None,
        best_ms(lambda: np_fn(x, out=y), repeat) if np_fn is not None else None,
        best_ms(c_call(f"bench_par_{label}"), repeat),
    ]


if __name__ == "__main__":
    main()
