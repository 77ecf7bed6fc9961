"""MatMul's C kernel (BLAS for floats, loops for integers and bools) against its reference."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest
import scipy_openblas32

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


# Products of at least SG_GEMM_PARALLEL_MIN multiply-adds are shared among OpenMP's
# threads (symgraph_blas.h): by rows when op(a) has at least as many rows as op(b) has
# columns, else by columns, in blocks of 16 with a shorter last one; a batch of at least
# as many products as threads runs one product per thread. Each case is large enough to
# be shared and has sizes that do not divide evenly into blocks.
THREADED = [
    ((700, 300), (300, 33), False, False),  # by rows, 3 blocks of 16 left over
    ((300, 700), (300, 33), True, False),  # by rows of a transposed a
    ((21, 300), (300, 901), False, False),  # by columns
    ((21, 300), (901, 300), False, True),  # by columns of a transposed b
    ((4, 100, 64), (4, 64, 90), False, False),  # a batch of products, one per thread
    ((3, 64, 130), (3, 64, 90), True, False),  # a batch of transposed products
    ((1, 300, 700), (1, 300, 40), True, False),  # a batch of one: the product is shared
]


@pytest.mark.parametrize("shape_a, shape_b, ta, tb", THREADED)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_shared_among_threads(shape_a, shape_b, ta, tb, dtype):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(shape_a).astype(dtype), rng.standard_normal(shape_b).astype(dtype)
    x, y = sg.placeholder(shape_a, dtype, name="a"), sg.placeholder(shape_b, dtype, name="b")
    f = sg.function([x, y], sg.matmul(sg.swapaxes(x, -1, -2) if ta else x, sg.swapaxes(y, -1, -2) if tb else y))
    assert "sg_gemm_f" in f.c_source and f.c_source.count("static int k") == 1  # the flags reach BLAS
    want = np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)
    tol = 1e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(a, b), want, rtol=tol, atol=tol * np.abs(want).max())


# A product with one row or one column goes to GEMV (symgraph_blas.h's sg_gemv_case), in
# each of its four layouts, alone and as a batch of such products (lda, ldb, ldc of the
# batch's matrices); a 1 x 1 result takes the one-row branch.
MATRIX_VECTOR = [
    ((1, 300), (300, 37)),
    ((29, 300), (300, 1)),
    ((1, 5), (5, 1)),
    ((3, 1, 40), (3, 40, 17)),
    ((3, 23, 40), (40, 1)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATRIX_VECTOR)
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_vector_products(shape_a, shape_b, ta, tb, dtype):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(shape_a).astype(dtype), rng.standard_normal(shape_b).astype(dtype)
    # the placeholders hold the transposed layouts, so that op(a) @ op(b) is a @ b
    stored_a = np.ascontiguousarray(np.swapaxes(a, -1, -2)) if ta else a
    stored_b = np.ascontiguousarray(np.swapaxes(b, -1, -2)) if tb else b
    x = sg.placeholder(stored_a.shape, dtype, name="a")
    y = sg.placeholder(stored_b.shape, dtype, name="b")
    f = sg.function([x, y], sg.matmul(sg.swapaxes(x, -1, -2) if ta else x, sg.swapaxes(y, -1, -2) if tb else y))
    assert "sg_gemm_f" in f.c_source
    want = np.matmul(a.astype("float64"), b.astype("float64"))
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(stored_a, stored_b), want, rtol=tol, atol=tol * np.abs(want).max())


# Products run in symgraph_gemm_small_template.h's kernels on AVX2 (up to 32 rows) and
# AVX-512 targets (inner size up to 800), BLAS elsewhere: full register blocks, a last block
# of fewer rows, strips of two vectors of columns, one vector, and single columns, in float
# and double (whose vectors hold half as many); (m, k, n), some threaded in parts.
FEW_ROWS = [
    (8, 64, 512),  # W6's step: whole blocks and strips
    (7, 33, 83),  # a short block; 83 columns: strips, a vector, 3 single columns
    (13, 5, 100),
    (64, 40, 67),
    (65, 10, 64),  # over AVX2's rows
    (70, 900, 64),  # over AVX-512's inner size: BLAS
    (700, 61, 130),  # many rows (AVX-512), threaded
    (30, 300, 700),  # large enough to be shared among the threads by rows
    (6, 1, 64),  # an inner size of one
]


@pytest.mark.parametrize("m, k, n", FEW_ROWS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ta", [False, True], ids=["a", "a.T"])
@pytest.mark.parametrize("tb", [False, True], ids=["b", "b.T"])
def test_products_of_few_rows(m, k, n, dtype, ta, tb):
    """a and b as stored, and transposed (a's elements read down a column: a weight
    gradient's x^T; b's strips copied into rows first: an input gradient's dz @ W^T)."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    stored_a = np.ascontiguousarray(a.T) if ta else a
    stored_b = np.ascontiguousarray(b.T) if tb else b
    x, y = sg.placeholder(stored_a.shape, dtype, name="a"), sg.placeholder(stored_b.shape, dtype, name="b")
    f = sg.function([x, y], (sg.swapaxes(x, 0, 1) if ta else x) @ (sg.swapaxes(y, 0, 1) if tb else y))
    want = a.astype("float64") @ b.astype("float64")
    tol = 1e-5 if dtype == "float32" else 1e-12
    got = f(stored_a, stored_b)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    np.testing.assert_array_equal(f(stored_a, stored_b), got)  # the same bits on every call


def test_loading_a_unit_that_multiplies_runs_blas_on_one_thread():
    """symgraph's kernels share products among OpenMP's threads themselves, so BLAS runs
    on one thread once a unit calling it is loaded (its workers would spin on the cores
    the OpenMP threads need); a unit without products leaves BLAS alone."""
    lib = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), f"lib{scipy_openblas32.get_library()}.so"))
    found = lib.scipy_openblas_get_num_threads()
    try:
        lib.scipy_openblas_set_num_threads(2)
        x = sg.placeholder((5, 7), "float64", name="x")
        plain = sg.function([x], x * 3.0)
        plain(np.ones((5, 7)))
        assert lib.scipy_openblas_get_num_threads() == 2
        assert "sg_gemm" not in plain.c_source
        # a shape no other test builds, so that this process loads the unit now
        product = sg.function([x], sg.matmul(x, sg.transpose(x)) + 0.25)
        np.testing.assert_array_equal(product(np.ones((5, 7))), np.full((5, 5), 7.25))
        assert lib.scipy_openblas_get_num_threads() == 1
    finally:
        lib.scipy_openblas_set_num_threads(found)
