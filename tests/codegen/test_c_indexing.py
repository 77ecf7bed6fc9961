"""The C kernels of the indexing ops (subtensor, inc_subtensor, gather, scatter_add,
argsort) against their numpy references, bit for bit, through the single-node bench;
out-of-range indices fail with numpy's IndexError message and SG_ERR_INDEX."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.core import apply
from symgraph.ops.indexing import ArgSort, Gather, ScatterAdd, inc_subtensor, resolve_slice
from tests.codegen.single_node import run_c, run_reference

rng = np.random.default_rng(4321)
SG_ERR_INDEX = 2


def normal(shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def ints(shape, dtype="int64", low=-100, high=100):
    return rng.integers(low, high, shape).astype(dtype)


def bools(shape):
    return rng.integers(0, 2, shape).astype(bool)


def idx(values, dtype="int64"):
    return np.array(values, dtype)


def check(fn, arrays):
    """C and reference outputs of ``fn``'s node: same dtype, shape and bytes."""
    got = run_c(fn, arrays)
    want = run_reference(fn, arrays)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        assert g.tobytes() == np.ascontiguousarray(w).tobytes(), f"C:\n{g}\nreference:\n{w}"


def check_index_error(fn, arrays, message):
    """Both the reference and the C kernel refuse with numpy's IndexError wording."""
    with pytest.raises(IndexError, match=re.escape(message)):
        run_reference(fn, arrays)
    with pytest.raises(RuntimeError, match=re.escape(f"status {SG_ERR_INDEX}: {message}")):
        run_c(fn, arrays)


def gather(axes):
    return lambda x, *ind: apply(Gather(axes), x, *ind).outputs[0]


def scatter(axes):
    return lambda x, u, *ind: apply(ScatterAdd(axes), x, u, *ind).outputs[0]


def argsort(axis, descending=False):
    return lambda x: apply(ArgSort(axis, descending), x).outputs[0]


def _params(cases):
    return [pytest.param(fn, arrays, id=name) for name, fn, arrays in cases]


SUBTENSOR = [
    ("f64-mixed", lambda x: x[::-2, 1, None, 1:], [normal((5, 4, 3), "float64")]),
    ("f32-row", lambda x: x[2], [normal((4, 3))]),
    ("i32-last-step3", lambda x: x[-1, ::3], [ints((3, 7), "int32")]),
    ("bool-0d-newaxis", lambda x: x[None], [np.array(True)]),
    ("f32-empty-slice", lambda x: x[1:1], [normal((4, 3))]),
    ("i64-reverse-size0", lambda x: x[::-1], [ints((0,))]),
    ("u8-ellipsis-step-3", lambda x: x[..., ::-3], [ints((2, 3, 8), "uint8", 0, 255)]),
    ("i8-down-index", lambda x: x[3:0:-1, :, 2], [ints((5, 2, 4), "int8")]),
    ("f32-4d", lambda x: x[1:, None, ::2, -1, 1::-1], [normal((3, 5, 2, 4))]),
]

inc = inc_subtensor
INC_SUBTENSOR = [
    (
        "f64-add-negstep-row",
        lambda x, y: inc(x, (resolve_slice(slice(None, None, -2), 5), ("index", 1, 1)), y),
        [normal((5, 4, 3), "float64"), normal((3,), "float64")],
    ),
    (
        "f32-set-scalar",
        lambda x, y: inc(x, (("all",), resolve_slice(slice(1, None, 2), 5)), y, mode="set"),
        [normal((3, 5)), normal(())],
    ),
    (
        "i32-add-column-broadcast",
        lambda x, y: inc(x, (resolve_slice(slice(0, 3), 4), resolve_slice(slice(None, None, -1), 3)), y),
        [ints((4, 3), "int32"), ints((3, 1), "int32")],
    ),
    (
        "bool-set-newaxis",
        lambda x, y: inc(x, (("index", 0, 0), ("new",), resolve_slice(slice(None, None, -1), 4)), y, mode="set"),
        [bools((2, 4)), bools((1, 4))],
    ),
    (
        "bool-add-is-or",
        lambda x, y: inc(x, (resolve_slice(slice(None), 3),), y),
        [bools((3, 2)), bools((3, 2))],
    ),
    (
        "i8-add-wraps",
        lambda x, y: inc(x, (("index", 1, -1),), y),
        [ints((2, 3), "int8"), ints((3,), "int8")],
    ),
    (
        "f32-add-empty-part",
        lambda x, y: inc(x, (resolve_slice(slice(2, 2), 4),), y),
        [normal((4, 3)), normal((3,))],
    ),
]

GATHER = [
    ("f32-take-axis1-2d-index", lambda x, i: sg.take(x, i, axis=1), [normal((3, 5, 2)), idx([[0, -1, 4], [2, 2, 2]])]),
    (
        "f64-split-axes-go-first",
        lambda x, i, j: x[i, :, j],
        [normal((3, 5, 4), "float64"), idx([[0], [2]]), idx([1, -1, 3])],
    ),
    (
        "i64-adjacent-broadcast",
        gather((1, 2)),
        [ints((2, 3, 4, 5)), idx([[0], [2], [-3]], "int32"), idx([1, 3], "int32")],
    ),
    ("f32-0d-index", gather((1,)), [normal((3, 4)), idx(-2)]),
    ("f32-0d-and-array-split", gather((0, 2)), [normal((3, 4, 5)), idx(1), idx([4, 0, 4])]),
    ("bool-u8-index", lambda x, i: sg.take(x, i, axis=0), [bools((6, 2)), idx([5, 0, 5], "uint8")]),
    ("i8-int16-index", lambda x, i: sg.take(x, i, axis=0), [ints((4,), "int8"), idx([[3, -4], [0, 1]], "int16")]),
    ("f32-empty-index", lambda x, i: sg.take(x, i, axis=1), [normal((2, 3)), idx([])]),
    ("f32-empty-axis-empty-index", lambda x, i: sg.take(x, i, axis=0), [normal((0, 3)), idx([])]),
    (
        "f64-along-axis",
        gather((0, 1)),
        [normal((3, 4), "float64"), idx([[2, 0, 1, 1], [0, 0, 2, 1]]), idx([[0, 1, 2, 3]])],
    ),
    ("i32-empty-broadcast-skips-checks", gather((0, 1)), [ints((2, 3), "int32"), idx([7]), idx(np.zeros((0,), int))]),
]

SCATTER_ADD = [
    (
        "f32-repeats-in-order",
        lambda x, u, i: sg.scatter_add(x, i, u, axis=0),
        [normal((4, 3)), normal((40, 3)) * 1e3, rng.integers(-4, 4, 40)],
    ),
    (
        "f64-axis1-scalar-updates",
        lambda x, u, i: sg.scatter_add(x, i, u, axis=1),
        [normal((2, 5), "float64"), normal((), "float64"), idx([1, 1, -1, 1])],
    ),
    (
        "i32-row-updates-2d-index",
        lambda x, u, i: sg.scatter_add(x, i, u, axis=0),
        [ints((3, 4), "int32"), ints((4,), "int32"), idx([[0, 2], [2, 2]], "int8")],
    ),
    ("bool-is-or", lambda x, u, i: sg.scatter_add(x, i, u), [bools((5,)), bools((6,)), idx([0, 0, 3, 4, 4, 4])]),
    (
        "f32-split-axes",
        scatter((0, 2)),
        [normal((3, 2, 4)), normal((5, 2)), idx([0, 2, 0, 0, 1]), idx([[3], [3], [3], [-1], [0]])],
    ),
    ("f64-empty-index", scatter((1,)), [normal((2, 3), "float64"), normal((), "float64"), idx([])]),
]

ARGSORT_DATA = np.array(
    [
        [3.0, np.nan, 1.0, 2.0],
        [1.0, 2.0, np.nan, 2.0],
        [3.0, 2.0, 1.0, -0.0],
        [np.nan, 2.0, 0.0, 0.0],
        [-np.inf, np.nan, np.inf, 2.0],
    ]
    * 7
)
LONG = rng.integers(0, 12, (3, 1000)).astype("float64")
LONG[rng.random(LONG.shape) < 0.05] = np.nan

ARGSORT = [
    *(
        (f"f64-nan-ties-axis{axis}-{'desc' if d else 'asc'}", argsort(axis, d), [ARGSORT_DATA])
        for axis in (0, 1)
        for d in (False, True)
    ),
    *((f"f32-long-{'desc' if d else 'asc'}", argsort(1, d), [LONG.astype("float32")]) for d in (False, True)),
    ("f64-long-asc", argsort(1), [LONG]),
    ("i32-ties-3d-middle-axis", argsort(1), [ints((3, 50, 4), "int32", 0, 5)]),
    ("i64-ties-desc", argsort(0, True), [ints((40, 3), "int64", 0, 4)]),
    ("bool-asc", argsort(0), [bools((35,))]),
    ("u8-desc", argsort(0, True), [ints((33,), "uint8", 0, 3)]),
    ("f32-size0-axis", argsort(1), [normal((3, 0))]),
    ("f32-size0-outer", argsort(1), [normal((0, 4))]),
]


@pytest.mark.parametrize("fn, arrays", _params(SUBTENSOR))
def test_subtensor(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(INC_SUBTENSOR))
def test_inc_subtensor(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(GATHER))
def test_gather(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(SCATTER_ADD))
def test_scatter_add(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(ARGSORT))
def test_argsort(fn, arrays):
    check(fn, arrays)


def test_gather_index_out_of_range():
    take1 = lambda x, i: sg.take(x, i, axis=1)  # noqa: E731
    check_index_error(take1, [normal((2, 3)), idx([0, 5, 1])], "index 5 is out of bounds for axis 1 with size 3")
    check_index_error(take1, [normal((2, 3)), idx([-4])], "index -4 is out of bounds for axis 1 with size 3")
    # numpy checks the indices even when the other axes leave nothing to copy
    check_index_error(take1, [normal((0, 3)), idx([5])], "index 5 is out of bounds for axis 1 with size 3")
    # index arrays are checked one after another (numpy's order), each in C order
    check_index_error(
        gather((0, 1)),
        [normal((3, 3)), idx([0, 5]), idx([7, 0])],
        "index 5 is out of bounds for axis 0 with size 3",
    )


def test_scatter_add_index_out_of_range():
    fn = lambda x, u, i: sg.scatter_add(x, i, u, axis=0)  # noqa: E731
    check_index_error(fn, [normal((3,)), normal((2,)), idx([1, 3])], "index 3 is out of bounds for axis 0 with size 3")
    check_index_error(
        fn,
        [ints((3, 2), "int32"), ints((1, 2), "int32"), idx([-9])],
        "index -9 is out of bounds for axis 0 with size 3",
    )


def test_symbolic_sizes_through_a_compiled_function():
    """Symbolic slice bounds and positions (shape.to_c) and sizes known only at call
    time, against the "py" mode; an index past a symbolic axis fails at call time."""
    x = sg.placeholder((None, 4), "float32", name="x")
    y = sg.placeholder((None,), "int64", name="y")
    n = x.shape[0]
    outs = [
        x[1:],
        x[::-2, ::-1],
        x[-1],
        x[: n // 2],
        sg.take(x, y, axis=0),
        sg.argsort(x, 0, descending=True),
        sg.scatter_add(x, y, 1.0),
        sg.sort(x, axis=0),
    ]
    compiled = sg.function([x, y], outs, mode="c")
    reference = sg.function([x, y], outs, mode="py")
    for rows, picks in ((5, [0, -1, 2, 2]), (1, [0, -1])):
        a, b = normal((rows, 4)), idx(picks)
        for got, want in zip(compiled(a, b), reference(a, b)):
            assert (got.dtype, got.shape) == (want.dtype, want.shape)
            assert got.tobytes() == want.tobytes()
    with pytest.raises(IndexError, match="index 2 is out of bounds for axis 0 with size 2"):
        compiled(normal((2, 4)), idx([2]))
    with pytest.raises(IndexError, match="index -1 is out of bounds for axis 0 with size 0"):
        compiled(normal((0, 4)), idx([]))
