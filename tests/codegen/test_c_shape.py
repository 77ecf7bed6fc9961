"""The C kernels of the shape ops (reshape, broadcast_to, transpose, concatenate,
arange) against their numpy references, bit for bit, through the single-node bench."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.core import apply
from symgraph.ops.shape_ops import Arange
from tests.codegen.single_node import run_c, run_reference

rng = np.random.default_rng(1234)


def normal(shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def ints(shape, dtype="int64", high=100):
    return rng.integers(-high if np.dtype(dtype).kind == "i" else 0, high, shape).astype(dtype)


def bools(shape):
    return rng.integers(0, 2, shape).astype(bool)


def check(fn, arrays):
    """C and reference outputs of ``fn``'s node: same dtype, shape and bytes."""
    got = run_c(fn, arrays)
    want = run_reference(fn, arrays)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        assert g.tobytes() == np.ascontiguousarray(w).tobytes(), f"C:\n{g}\nreference:\n{w}"


RESHAPE = [
    ("f32-2d", lambda x: sg.reshape(x, (3, 2)), [normal((2, 3))]),
    ("i64-flatten", lambda x: sg.reshape(x, (-1,)), [ints((2, 3, 4))]),
    ("bool-0d", lambda x: sg.reshape(x, (1, 1)), [np.array(True)]),
    ("f64-size0", lambda x: sg.reshape(x, (3, 0)), [normal((0, 3), "float64")]),
]

BROADCAST = [
    ("f64-middle", lambda x: sg.broadcast_to(x, (2, 3, 4)), [normal((3, 1), "float64")]),
    ("i32-0d", lambda x: sg.broadcast_to(x, (2, 3)), [ints((), "int32")]),
    ("bool-rows", lambda x: sg.broadcast_to(x, (3, 4)), [bools((1, 4))]),
    ("f32-leading", lambda x: sg.broadcast_to(x, (2, 3, 4)), [normal((4,))]),
    ("u8-inner", lambda x: sg.broadcast_to(x, (2, 5, 3)), [ints((2, 1, 3), "uint8")]),
    ("f32-size0", lambda x: sg.broadcast_to(x, (2, 0, 3)), [normal((0, 1))]),
    ("i8-both", lambda x: sg.broadcast_to(x, (4, 3, 5)), [ints((4, 1, 1), "int8")]),
]

TRANSPOSE = [
    ("f32-2d-tiles", lambda x: sg.transpose(x), [normal((67, 45))]),
    ("f64-2d-small", lambda x: sg.transpose(x), [normal((3, 5), "float64")]),
    ("f64-201", lambda x: sg.transpose(x, (2, 0, 1)), [normal((3, 4, 5), "float64")]),
    ("i8-102-rows", lambda x: sg.transpose(x, (1, 0, 2)), [ints((2, 3, 4), "int8")]),
    ("bool-2d", lambda x: sg.transpose(x), [bools((3, 37))]),
    ("i64-4d", lambda x: sg.transpose(x, (3, 1, 0, 2)), [ints((2, 3, 4, 5))]),
    ("f32-batched", lambda x: sg.transpose(x, (0, 2, 1)), [normal((2, 40, 33))]),
    ("f32-size0", lambda x: sg.transpose(x), [normal((0, 5))]),
    ("i32-021-size0", lambda x: sg.transpose(x, (0, 2, 1)), [ints((3, 0, 2), "int32")]),
]

CONCATENATE = [
    ("f32-axis0-three", lambda a, b, c: sg.concatenate([a, b, c], 0), [normal((2, 3)), normal((1, 3)), normal((4, 3))]),
    ("i64-axis1", lambda a, b: sg.concatenate([a, b], 1), [ints((2, 3)), ints((2, 2))]),
    ("bool-axis2", lambda a, b: sg.concatenate([a, b], 2), [bools((2, 3, 1)), bools((2, 3, 4))]),
    ("f64-empty-part", lambda a, b: sg.concatenate([a, b], 1), [normal((3, 0), "float64"), normal((3, 2), "float64")]),
    ("f32-1d", lambda a, b: sg.concatenate([a, b]), [normal((5,)), normal((2,))]),
    ("u8-all-empty", lambda a, b: sg.concatenate([a, b], 0), [ints((0, 2), "uint8"), ints((0, 2), "uint8")]),
]

ARANGE = [
    ("int-down", lambda: sg.arange(10, 1, -3), []),
    ("float32-tenths", lambda: sg.arange(0.5, 3.3, 0.1), []),
    ("float64-start", lambda: sg.arange(-1.0, 1.0, 0.3, dtype="float64"), []),
    ("float64-fma-prone", lambda: sg.arange(0.1, 100.0, 0.7, dtype="float64"), []),
    ("int32", lambda: sg.arange(5, dtype="int32"), []),
    ("empty", lambda: sg.arange(5, 2), []),
    ("float-to-int32", lambda: sg.arange(0.0, 3.0, 0.5, dtype="int32"), []),
    ("bool", lambda: sg.arange(3, dtype="bool"), []),
    ("int-to-float32", lambda: sg.arange(-3, 7, 2, dtype="float32"), []),
]


def _params(cases):
    return [pytest.param(fn, arrays, id=name) for name, fn, arrays in cases]


@pytest.mark.parametrize("fn, arrays", _params(RESHAPE))
def test_reshape(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(BROADCAST))
def test_broadcast_to(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(TRANSPOSE))
def test_transpose(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(CONCATENATE))
def test_concatenate(fn, arrays):
    check(fn, arrays)


@pytest.mark.parametrize("fn, arrays", _params(ARANGE))
def test_arange(fn, arrays):
    check(fn, arrays)


def test_symbolic_sizes_through_a_compiled_function():
    """Shapes known only at call time: the kernels read sizes from the buffers' shapes and
    symbolic attributes (arange's length, reshape's target) through shape.to_c."""
    x = sg.placeholder((None, 3), "float32", name="x")
    n = x.shape[0]
    outs = [
        sg.arange(n),
        sg.arange(1, n, dtype="float32"),
        # a length known only at call time keeps the loop in C, where a fused multiply-add
        # would round once and differ from numpy's start + step * i
        apply(Arange(0.1, 0.7, n + 140, np.dtype("float64"))).outputs[0],
        sg.reshape(x, (3, -1)),
        sg.transpose(x),
        sg.broadcast_to(x, (2, n, 3)),
        sg.concatenate([x, x * 2.0], 1),
    ]
    compiled = sg.function([x], outs, mode="c")
    reference = sg.function([x], outs, mode="py")
    for rows in (4, 1, 0):
        a = normal((rows, 3))
        for got, want in zip(compiled(a), reference(a)):
            assert (got.dtype, got.shape) == (want.dtype, want.shape)
            assert got.tobytes() == want.tobytes()
