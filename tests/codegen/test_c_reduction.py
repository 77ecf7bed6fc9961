"""C kernels of the reductions (sum prod max min any all argmax argmin) and scans
(cumsum cumprod) against their numpy references.

Each distinct (op, attributes, shapes, dtypes) is one build (~0.15 s), so the cases
share shapes: data variants (NaN, inf, zeros) and keepdims reuse a unit already built.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from tests.codegen.kernel_bench import check_kernel

REDUCTIONS = {"sum": sg.sum, "prod": sg.prod, "max": sg.max, "min": sg.min, "any": sg.any, "all": sg.all}

# (shape, axis): every axis form, both loop orders (the last input axis reduced or
# kept), static size-1 axes, alternating kept/reduced runs, 0-d, and empty outputs
AXES = [
    ((3, 4), None),
    ((3, 4), 1),
    ((3, 4), 0),  # streamed: the bias-gradient case
    ((2, 3, 5), -1),
    ((2, 3, 5), (0, 2)),
    ((2, 3, 5), (-1, 1)),
    ((2, 3, 5), 1),
    ((4, 1, 3), 0),
    ((4, 1, 3), (1, 2)),
    ((2, 3, 4, 5), (1, 3)),  # kept, reduced, kept, reduced
    ((2, 3, 4, 5), (0, 2)),  # reduced, kept, reduced, kept (streamed)
    ((), None),
    ((3, 4), ()),
    ((0, 3), 1),
]
# the loop structure is shared, so the other ops take a subset (each case is a build)
SUBSET = {
    "sum": AXES,
    "max": [AXES[i] for i in (0, 1, 2, 4, 10, 11)],
    "min": [AXES[i] for i in (1, 2, 5, 9)],
    "prod": [AXES[i] for i in (1, 2, 11)],
    "any": [AXES[i] for i in (0, 1, 2)],
    "all": [AXES[i] for i in (1, 2, 11)],
}
EMPTY_AXES = [("sum", (0, 3), 0), ("sum", (3, 0), None), ("sum", (2, 0, 3), (0, 1))]
EMPTY_AXES += [("prod", (0, 3), 0), ("any", (3, 0), None), ("all", (2, 0, 3), (0, 1))]
# (op, dtype, axis) on (3, 4): sum over every dtype, the others where their C differs
DTYPE_CASES = [("sum", d, a) for d in ["float64", "int32", "int8", "uint8", "bool", "int64"] for a in (0, 1)]
DTYPE_CASES += [("prod", "int8", 1), ("prod", "int64", 0), ("prod", "bool", 1), ("prod", "float64", 1)]
DTYPE_CASES += [("max", "int32", 0), ("max", "uint8", 1), ("max", "bool", 1), ("max", "float64", 0)]
DTYPE_CASES += [("min", "int8", 1), ("min", "bool", 0), ("min", "float64", 1)]
DTYPE_CASES += [("any", "int32", 1), ("any", "bool", 0), ("all", "float64", 1), ("all", "bool", 1)]


def sample(rng: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -5, 6, size=shape).astype(dtype)
    return rng.uniform(0.5, 1.5, size=shape).astype(dtype) * rng.choice([-1, 1], size=shape).astype(dtype)


def reducer(op: str, axis, keepdims: bool = False):
    return lambda x: REDUCTIONS[op](x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("op, shape, axis", [(op, *case) for op, cases in SUBSET.items() for case in cases])
def test_reductions_float32_every_axis_form(op, shape, axis):
    rng = np.random.default_rng(0)
    x = sample(rng, shape, "float32")
    if op in ("any", "all") and x.size:
        x.flat[::3] = 0  # both answers occur
    check_kernel(reducer(op, axis), [x])
    check_kernel(reducer(op, axis, keepdims=True), [x])  # the same kernel, another output shape


@pytest.mark.parametrize("op, shape, axis", EMPTY_AXES)
def test_empty_reductions_give_the_identity(op, shape, axis):
    x = np.zeros(shape, "float32")
    out = check_kernel(reducer(op, axis), [x])[0]
    assert out.size > 0 and np.all(out == {"sum": 0, "prod": 1, "any": False, "all": True}[op])


@pytest.mark.parametrize("op, dtype, axis", DTYPE_CASES)
def test_reductions_other_dtypes(op, dtype, axis):
    x = sample(np.random.default_rng(1), (3, 4), dtype)
    check_kernel(reducer(op, axis), [x])


def test_integer_sums_and_products_wrap_like_numpy():
    big = np.array([[2**62, 2**62, 2**62, 7], [-(2**63), -1, 3, 5]], "int64")
    check_kernel(reducer("sum", 1), [big])
    check_kernel(reducer("prod", 1), [big])
    check_kernel(reducer("sum", 1), [np.full((3, 4), 127, "int8")])  # int8 sums in int64: no wrap


def test_float32_sums_accumulate_in_double():
    # 1 + 1e-8 * 10^5 ones: float32 accumulation would lose every small term
    x = np.full((2, 100001), 1e-8, "float32")
    x[:, 0] = 1.0
    out = check_kernel(reducer("sum", 1), [x])[0]
    np.testing.assert_allclose(out, 1.001, rtol=1e-6)
    out = check_kernel(reducer("sum", 0), [np.ascontiguousarray(x.T)])[0]  # streamed order
    np.testing.assert_allclose(out, 1.001, rtol=1e-6)


@pytest.mark.parametrize("op", ["sum", "max", "min", "prod"])
def test_nan_and_inf_propagate(op):
    x = np.arange(1, 13, dtype="float32").reshape(3, 4) / 4
    x[0, 1] = np.nan
    x[1, 3] = np.inf
    x[2, 0] = -np.inf
    for axis in (1, 0):  # both loop orders; shapes of the float32 cases above (no new builds)
        out = check_kernel(reducer(op, axis), [x])[0]
        assert np.isnan(out[1 if axis == 0 else 0])
    x = np.full((3, 4), -np.inf, "float32")  # row 1: all -inf
    x[0, 1] = np.nan  # NaN after the first element: it still wins
    x[2, :] = np.nan
    check_kernel(reducer(op, 1), [x])
    check_kernel(reducer(op, 0), [x])


@pytest.mark.parametrize("op", ["max", "sum"])
def test_large_reductions_run_threaded(op):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 257)).astype("float32")
    check_kernel(reducer(op, 1), [x])
    check_kernel(reducer(op, 0), [x])


def test_reductions_with_symbolic_sizes():
    rng = np.random.default_rng(3)
    x = sample(rng, (3, 4, 5), "float32")
    check_kernel(reducer("sum", (0, 2)), [x], symbolic=True)
    check_kernel(reducer("max", 1), [x], symbolic=True)
    check_kernel(reducer("prod", 0), [x], symbolic=True)
    check_kernel(reducer("sum", 1), [np.zeros((3, 0, 5), "float32")], symbolic=True)


@pytest.mark.parametrize("op", ["max", "argmax"])
def test_empty_axis_known_only_at_call_time_is_a_shape_error(op):
    x = np.zeros((3, 0), "float32")
    fn = (lambda t: sg.max(t, axis=1)) if op == "max" else (lambda t: sg.argmax(t, axis=1))
    with pytest.raises(RuntimeError, match=rf"status 1: {op} of an empty axis 1 \(size 0\)"):
        check_kernel(fn, [x], symbolic=True)


# ---- argmax / argmin --------------------------------------------------------------

ARG_AXES = [((5,), None), ((3, 4), 0), ((3, 4), 1), ((2, 3, 5), 1), ((2, 3, 5), -1), ((), None)]


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("shape, axis", ARG_AXES)
def test_arg_reductions(name, shape, axis):
    fn = getattr(sg, name)
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, size=shape).astype("float32")  # ties: the first one wins
    check_kernel(lambda t, axis=axis: fn(t, axis=axis), [x])
    check_kernel(lambda t: fn(t, axis=axis, keepdims=True), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_find_the_first_nan(name):
    fn = getattr(sg, name)
    x = np.array([[1, np.nan, 5, np.nan], [np.inf, -np.inf, 2, 2], [-np.inf] * 4], "float32")
    for axis in (0, 1):
        check_kernel(lambda t, axis=axis: fn(t, axis=axis), [x])
    y = np.array([-np.inf, 2, np.nan, 7, np.nan], "float32")
    assert check_kernel(lambda t: fn(t, axis=None), [y])[0] == 2


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_arg_reductions_along_long_rows(dtype):
    """Rows longer than the search's SIMD blocks: hits in the first block, a later one,
    the tail, ties across blocks, and (float) NaN after the maximum."""
    rng = np.random.default_rng(8)
    x = rng.integers(-100, 100, size=(6, 200)).astype(dtype)
    for row, at in enumerate([0, 63, 64, 130, 199]):
        x[row, at] = 1000
        x[row, -1 - row] = -1000
    x[5, [70, 150]] = 1000  # a tie: the first one
    x[5, [80, 190]] = -1000
    for name in ("argmax", "argmin"):
        check_kernel(lambda t, name=name: getattr(sg, name)(t, axis=1), [x])
    if dtype == "float32":
        x[1, 100] = np.nan  # after the maximum at 63
        x[2, 10] = np.nan  # before the maximum at 64
        x[3, [199, 140]] = np.nan
        for name in ("argmax", "argmin"):
            out = check_kernel(lambda t, name=name: getattr(sg, name)(t, axis=1), [x])[0]
            assert list(out[1:4]) == [100, 10, 140]


@pytest.mark.parametrize(
    "name, dtype, axis",
    [("argmax", d, 1) for d in ["float64", "int32", "uint8", "bool"]] + [("argmin", "int8", 0), ("argmin", "bool", 1)],
)
def test_arg_reductions_other_dtypes(name, dtype, axis):
    x = sample(np.random.default_rng(5), (3, 4), dtype)
    check_kernel(lambda t: getattr(sg, name)(t, axis=axis), [x])


# ---- cumsum / cumprod ----------------------------------------------------------------

SCANS = [
    ((3, 4), 1, False, False),
    ((3, 4), 0, False, False),
    ((2, 3, 4), 1, True, False),
    ((2, 3, 4), 2, False, True),
    ((2, 3, 4), 0, True, True),
    ((3, 4), 1, True, True),
    ((6,), 0, False, False),
    ((0, 3), 1, False, False),
    ((3, 0), 0, True, False),
]


@pytest.mark.parametrize(
    "name, shape, axis, exclusive, reverse",
    [("cumsum", *case) for case in SCANS] + [("cumprod", *SCANS[i]) for i in (0, 1, 2, 4, 7)],
)
def test_scans(name, shape, axis, exclusive, reverse):
    fn = getattr(sg, name)
    x = sample(np.random.default_rng(6), shape, "float32")
    check_kernel(lambda t: fn(t, axis=axis, exclusive=exclusive, reverse=reverse), [x])


@pytest.mark.parametrize(
    "name, dtype, axis",
    [("cumsum", "int8", 0), ("cumsum", "int8", 1), ("cumprod", "bool", 1), ("cumsum", "float64", 0)],
)
def test_scans_other_dtypes(name, dtype, axis):
    x = sample(np.random.default_rng(7), (3, 4), dtype)
    check_kernel(lambda t: getattr(sg, name)(t, axis=axis), [x])


def test_scans_with_nan_and_symbolic_sizes():
    x = np.arange(12, dtype="float32").reshape(3, 4) / 8
    x[1, 1] = np.nan
    for axis in (0, 1):
        check_kernel(lambda t, axis=axis: sg.cumsum(t, axis=axis), [x])
        check_kernel(lambda t, axis=axis: sg.cumprod(t, axis=axis, reverse=True), [x], symbolic=True)
