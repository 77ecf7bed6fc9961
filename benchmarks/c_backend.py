"""The C backend's own performance claims (issue 3), measured side by side in one run.

    OMP_NUM_THREADS=2 python benchmarks/c_backend.py

- W1 call overhead: f(x) = x*2 + 1 on 16 float32, symgraph's compiled call against
  numpy's own expression (and PyTensor's default function when it is installed);
- matrix products: symgraph's compiled A @ B (and a chain of three) against calling
  OpenBLAS' sgemm directly through cffi on the same buffers;
- compile time of the W3 MLP training step (three dense layers, gradients, Adam
  updates): cold (fresh process, empty cache) and warm (fresh process, cache kept).

Timing follows BENCHMARKS.md: a warm-up, then the median of 7 repetitions of at least
0.2 s each, with min and max.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symgraph as sg  # noqa: E402
from symgraph.runtime.build import build  # noqa: E402


def timed(fn, min_seconds: float = 0.2, repetitions: int = 7) -> tuple[float, float, float]:
    """(median, min, max) seconds per call."""
    for _ in range(3):
        fn()
    inner = 1
    while True:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        if time.perf_counter() - start >= min_seconds:
            break
        inner *= 2
    per_call = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        per_call.append((time.perf_counter() - start) / inner)
    return statistics.median(per_call), min(per_call), max(per_call)


def row(name: str, value: tuple[float, float, float], unit: str, scale: float) -> str:
    med, lo, hi = (v * scale for v in value)
    return f"{name:<38} {med:>10.3f} {unit:<3} (min {lo:.3f}, max {hi:.3f})"


def w1() -> list[str]:
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], x * 2.0 + 1.0)
    a = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    np.testing.assert_allclose(f(a), a * 2 + 1)
    ours = timed(lambda: f(a))
    numpy_ = timed(lambda: a * 2 + 1)
    lines = [row("W1 symgraph f(x)", ours, "us", 1e6), row("W1 numpy x*2+1", numpy_, "us", 1e6)]
    lines.append(f"{'W1 ratio symgraph / numpy':<38} {ours[0] / numpy_[0]:>10.2f}")
    try:
        import pytensor
        import pytensor.tensor as pt

        px = pt.vector("x", dtype="float32")
        pf = pytensor.function([px], px * 2 + 1)
        theirs = timed(lambda: pf(a))
        lines.append(row("W1 PyTensor default function", theirs, "us", 1e6))
        lines.append(f"{'W1 ratio symgraph / PyTensor':<38} {ours[0] / theirs[0]:>10.2f}")
    except ImportError:
        lines.append("W1 PyTensor: not installed (pip install pytensor to compare)")
    return lines


def w2() -> list[str]:
    x = sg.placeholder((None,), "float32", name="x")
    a, b = sg.placeholder((), "float32", name="a"), sg.placeholder((), "float32", name="b")
    f = sg.function([x, a, b], sg.tanh(x * a + b) * sg.nn.sigmoid(x) - 0.5 * x * x)
    xs = np.random.default_rng(0).standard_normal(4_194_304).astype(np.float32)
    A, B = np.float32(0.7), np.float32(0.3)
    ours = timed(lambda: f(xs, A, B))
    numpy_ = timed(lambda: np.tanh(xs * A + B) * (1 / (1 + np.exp(-xs))) - 0.5 * xs * xs)
    gbps = 32 * 2**20 / ours[0] / 1e9
    return [
        row("W2 symgraph (one fused loop)", ours, "ms", 1e3) + f"  {gbps:.1f} GB/s",
        row("W2 numpy", numpy_, "ms", 1e3),
        f"{'W2 ratio numpy / symgraph':<38} {numpy_[0] / ours[0]:>10.2f}",
    ]


def rewrite_time() -> list[str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from workloads import mlp_train_graph

    from symgraph.passes.pipeline import optimize

    inputs, loss, updates = mlp_train_graph()
    targets = [loss] + [e for _, e in updates]
    seconds = timed(lambda: optimize(targets), min_seconds=0.05, repetitions=5)
    return [row("W3 graph through the O2 passes", seconds, "ms", 1e3)]


SGEMM = """
#include "symgraph.h"
void sg_sgemm(const float *a, const float *b, float *c, int m, int n, int k) {
    SG_CBLAS(sgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}
"""


def matmul() -> list[str]:
    unit = build(
        SGEMM, "void sg_sgemm(const float *a, const float *b, float *c, int m, int n, int k);", name_hint="sgemm"
    )
    lines = []
    for n in (256, 1024):
        lines += _matmul_at(n, unit.ffi, unit.lib)
    return lines


def _matmul_at(n: int, ffi, lib) -> list[str]:
    rng = np.random.default_rng(n)
    A, B, C = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(3))
    a, b, c = sg.placeholder((None, n), name="a"), sg.placeholder((n, n), name="b"), sg.placeholder((n, n), name="c")
    product, chain = sg.function([a, b], a @ b), sg.function([a, b, c], (a @ b) @ c)
    np.testing.assert_allclose(product(A, B), A @ B, rtol=1e-4, atol=1e-3)
    tmp, out = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
    pa, pb, pc, ptmp, pout = (ffi.from_buffer("float[]", v) for v in (A, B, C, tmp, out))

    def direct():
        lib.sg_sgemm(pa, pb, pout, n, n, n)

    def direct_new_output():  # what a call returning a fresh array costs on top
        fresh = np.empty((n, n), np.float32)
        lib.sg_sgemm(pa, pb, ffi.from_buffer("float[]", fresh), n, n, n)

    def direct_chain():
        lib.sg_sgemm(pa, pb, ptmp, n, n, n)
        lib.sg_sgemm(ptmp, pc, pout, n, n, n)

    ours, theirs = timed(lambda: product(A, B)), timed(direct)
    theirs_fresh = timed(direct_new_output)
    ours_chain, theirs_chain = timed(lambda: chain(A, B, C)), timed(direct_chain)
    return [
        row(f"matmul {n}: symgraph A @ B", ours, "ms", 1e3),
        row(f"matmul {n}: OpenBLAS sgemm direct", theirs, "ms", 1e3),
        row(f"matmul {n}: sgemm direct + np.empty out", theirs_fresh, "ms", 1e3),
        f"{f'matmul {n}: ratio':<38} {ours[0] / theirs[0]:>10.3f}",
        f"{f'matmul {n}: ratio, both new outputs':<38} {ours[0] / theirs_fresh[0]:>10.3f}",
        f"{f'matmul {n} chain (A@B)@C: ratio':<38} {ours_chain[0] / theirs_chain[0]:>10.3f}",
    ]


COMPILE_CHILD = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import symgraph
from workloads import mlp_train_graph, mlp_batch
t1 = time.perf_counter()
inputs, loss, updates = mlp_train_graph()
t2 = time.perf_counter()
f = symgraph.function(inputs, loss, updates=updates)
t3 = time.perf_counter()
f(*mlp_batch())
print(json.dumps({{"import": t1 - t0, "graph": t2 - t1, "function": t3 - t2}}))
"""


def compile_time() -> list[str]:
    code = COMPILE_CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"))
    cold, warm = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "SYMGRAPH_CACHE_DIR": cache}
            for target in (cold, warm):
                out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                target.append(json.loads(out.stdout))
    lines = []
    for label, runs in (("cold", cold), ("warm", warm)):
        compile_s = statistics.median(r["function"] for r in runs)
        graph_s = statistics.median(r["graph"] for r in runs)
        lines.append(
            f"{f'W3 train step sg.function, {label}':<38} {compile_s:>10.3f} s   (graph building {graph_s:.3f} s)"
        )
    lines.append(f"{'  (import symgraph, median)':<38} {statistics.median(r['import'] for r in cold):>10.3f} s")
    return lines


def main() -> None:
    print(f"symgraph {sg.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    for section in (w1, w2, matmul, rewrite_time, compile_time):
        for line in section():
            print(line)


if __name__ == "__main__":
    main()
