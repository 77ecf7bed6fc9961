"""MatMul's C kernel (BLAS for floats, loops for integers and bools) against its reference."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from tests.codegen.kernel_bench import check_kernel


def sample(rng: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -9, 10, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


CASES = [
    ((3, 4), (4, 5), "float32"),
    ((3, 4), (4, 5), "float64"),
    ((2, 3, 4), (4, 5), "float32"),  # b has no batch: one gemm over a's folded rows
    ((2, 3, 4), (1, 4, 5), "float32"),  # a size-1 batch folds too
    ((2, 3, 4), (2, 4, 5), "float32"),
    ((3, 4), (2, 4, 5), "float64"),  # a broadcast over b's batch
    ((2, 1, 3, 4), (3, 4, 5), "float32"),  # both broadcast: (2, 3, 3, 5)
    ((1, 1), (1, 7), "float32"),
    ((0, 4), (4, 5), "float32"),
    ((3, 0), (0, 5), "float32"),  # empty inner dimension: zeros
    ((2, 3, 0), (0, 5), "float64"),
    ((0, 3, 4), (4, 5), "float32"),
    ((3, 4), (4, 5), "int32"),
    ((2, 3, 4), (1, 4, 5), "int8"),  # wraps like numpy's int8 matmul
    ((3, 4), (2, 4, 5), "int64"),
    ((3, 4), (4, 5), "uint8"),
    ((3, 4), (4, 5), "bool"),
    ((3, 0), (0, 5), "int16"),
]


@pytest.mark.parametrize("shape_a, shape_b, dtype", CASES)
def test_matmul(shape_a, shape_b, dtype):
    rng = np.random.default_rng(0)
    a, b = sample(rng, shape_a, dtype), sample(rng, shape_b, dtype)
    out = check_kernel(sg.matmul, [a, b])[0]
    if 0 in shape_a[-1:] and out.size:
        assert not out.any()


def test_matmul_large_and_nonfinite():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((64, 300)).astype("float32"), rng.standard_normal((300, 48)).astype("float32")
    check_kernel(sg.matmul, [a, b], tol=(1e-5, 1e-4))  # float32 BLAS sums 300 products in float32
    a, b = sample(rng, (3, 4), "float32"), sample(rng, (4, 5), "float32")
    a[1, 2] = np.nan
    b[0, 4] = np.inf
    check_kernel(sg.matmul, [a, b])  # the (3, 4) @ (4, 5) unit above


def test_matmul_with_symbolic_sizes():
    rng = np.random.default_rng(2)
    a, b = sample(rng, (2, 3, 4), "float32"), sample(rng, (2, 4, 5), "float32")
    check_kernel(sg.matmul, [a, b], declared=[("b", "m", "k"), ("b", "k", "n")])
    a, b = sample(rng, (2, 3, 4), "int32"), sample(rng, (4, 5), "int32")
    check_kernel(sg.matmul, [a, b], symbolic=True)
    a, b = sample(rng, (3, 0), "float32"), sample(rng, (0, 5), "float32")
    check_kernel(sg.matmul, [a, b], symbolic=True)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_inner_dimensions_that_differ_at_call_time(dtype):
    rng = np.random.default_rng(3)
    a, b = sample(rng, (2, 3), dtype), sample(rng, (4, 5), dtype)
    with pytest.raises(RuntimeError, match=r"status 1: inner dimensions differ: \[2,3\] @ \[4,5\] \(3 != 4\)"):
        check_kernel(sg.matmul, [a, b], symbolic=True)


def test_batch_dimensions_that_differ_at_call_time():
    rng = np.random.default_rng(4)
    a, b = sample(rng, (2, 3, 4), "float32"), sample(rng, (3, 4, 5), "float32")
    with pytest.raises(RuntimeError, match=r"status 1: batch dimensions differ: \[2,3,4\] @ \[3,4,5\]"):
        check_kernel(sg.matmul, [a, b], declared=[(None, "m", "k"), (None, "k", "n")])
