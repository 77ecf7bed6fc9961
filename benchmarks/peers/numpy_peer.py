"""numpy: plain expressions (W1, W2), a hand-written forward pass (W4), and the machine's
limits through numpy's BLAS and memory copies (W0)."""

from __future__ import annotations

import numpy as np

from benchmarks import spec


def setup(variant: str) -> str:
    return f"numpy {np.__version__}"


def w0(ctx) -> None:
    """sgemm GFLOP/s = 2 n^3 / t; copy GB/s counts the bytes read and written; the triad
    a = b + s*c counts b and c read and a written (numpy makes two passes with out=)."""
    s = ctx.sizes
    rng = np.random.default_rng(spec.SEED)
    for n in s.w0_gemm:
        a, b, c = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(3))
        t = ctx.time(lambda a=a, b=b, c=c: np.matmul(a, b, out=c))
        ctx.record.value("W0", f"sgemm {n}", "GFLOP/s", 2 * n**3 / t["median"] / 1e9)
    src = rng.standard_normal(s.w0_copy_floats, dtype=np.float32)
    dst = np.empty_like(src)
    t = ctx.time(lambda: np.copyto(dst, src))
    ctx.record.value("W0", f"copy {src.nbytes / 2**20:g} MiB", "GB/s", 2 * src.nbytes / t["median"] / 1e9)
    b, c = (rng.standard_normal(s.w0_triad_floats, dtype=np.float32) for _ in range(2))
    a, scalar = np.empty_like(b), np.float32(3.0)

    def triad() -> None:
        np.multiply(c, scalar, out=a)
        np.add(a, b, out=a)

    t = ctx.time(triad)
    ctx.record.value("W0", f"triad {b.size / 2**20:g}M floats", "GB/s", 3 * b.nbytes / t["median"] / 1e9)


def w1(ctx) -> None:
    x = np.arange(ctx.sizes.w1_n, dtype=np.float32)
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: x * 2 + 1))


def w2(ctx) -> None:
    x, a, b = spec.w2_input(ctx.sizes), np.float32(spec.W2_A), np.float32(spec.W2_B)
    timing = ctx.time(lambda: np.tanh(x * a + b) * (1 / (1 + np.exp(-x))) - 0.5 * x * x)
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def w4(ctx) -> None:
    w0, b0, w1_, b1, w2_, b2 = spec.mlp_params(ctx.sizes)
    for batch in ctx.sizes.w4_batches:
        x, _ = spec.mlp_data(ctx.sizes, batch)

        def forward(x=x):
            h = np.maximum(x @ w0 + b0, 0)
            h = np.maximum(h @ w1_ + b1, 0)
            return h @ w2_ + b2

        ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(forward))


WORKLOADS = {"W0": w0, "W1": w1, "W2": w2, "W4": w4}
