"""The graph IR: interning, locations, leaves, operators and promotion."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.sources import Constant


def test_equal_expressions_are_one_node():
    x = sg.placeholder((3,), name="x")
    a = sg.exp(x) * 2.0
    b = sg.exp(x) * 2.0
    assert a is b
    assert sg.constant(2.0) is sg.constant(np.float32(2.0))
    assert sg.constant(2.0) is not sg.constant(2.0, dtype="float64")


def test_nodes_record_the_users_line():
    x = sg.placeholder((3,), name="x")
    y = sg.log(x + 17.0)  # the line recorded
    loc = y.node.location
    assert loc.file == __file__
    assert loc.line == test_nodes_record_the_users_line.__code__.co_firstlineno + 2
    assert loc.function == "test_nodes_record_the_users_line"


def test_placeholders_are_distinct_even_with_equal_types():
    a = sg.placeholder((3,), name="a")
    b = sg.placeholder((3,), name="a")
    assert a is not b and (a + 1) is not (b + 1)


def test_variable_copies_in_and_out():
    value = np.arange(6, dtype="float32").reshape(2, 3)
    W = sg.Variable(value, name="W")
    value[0, 0] = 100  # the Variable took a copy
    got = W.get_value()
    assert got[0, 0] == 0
    got[0, 0] = 50  # get_value hands out a copy
    assert W.get_value()[0, 0] == 0
    W.set_value(np.ones((2, 3), "float64"))  # same kind: cast in
    assert W.get_value().dtype == np.float32 and W.get_value().sum() == 6
    with pytest.raises(sg.errors.ShapeError, match="W"):
        W.set_value(np.ones((3, 2), "float32"))
    with pytest.raises(sg.errors.DTypeError):
        W.set_value(np.ones((2, 3), "complex64"))
    assert W.dtype == np.float32 and W.shape == (2, 3)


def test_python_data_is_weakly_typed_numpy_data_is_not():
    assert sg.constant(1.5).dtype == np.float32
    assert sg.constant([1, 2]).dtype == np.int64
    assert sg.constant(np.float64(1.5)).dtype == np.float64
    assert sg.Variable([[1.0, 2.0]]).dtype == np.float32
    x = sg.placeholder((2,), "float32")
    i = sg.placeholder((2,), "int32")
    assert (x * 2).dtype == np.float32
    assert (x * np.float64(2)).dtype == np.float64
    assert (np.float64(2) * x).dtype == np.float64  # numpy scalars defer to Tensor
    assert (i * 2).dtype == np.int32
    assert (i * 2.5).dtype == np.float32
    assert (i / 2).dtype == np.float32
    assert (i + x).dtype == np.float64  # numpy: int32 + float32 -> float64
    with pytest.raises(sg.errors.DTypeError, match="out of range"):
        sg.placeholder((2,), "uint8") + 300


def test_operators_build_the_numpy_expression():
    x = sg.placeholder((2, 3), name="x")
    y = sg.placeholder((3,), name="y")
    exprs = [
        x + y,
        y - x,
        x * y,
        x / y,
        -x,
        abs(x),
        x**2,
        2**x,
        x @ sg.transpose(x),
        x.T,
        x > y,
        x <= 1,
        x == y,
        x != y,
    ]
    f = sg.function([x, y], exprs)
    a = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], "float32")
    b = np.array([2.0, 1.0, -1.0], "float32")
    expected = [a + b, b - a, a * b, a / b, -a, abs(a), a**2, 2**a, a @ a.T, a.T, a > b, a <= 1, a == b, a != b]
    for got, want in zip(f(a, b), expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert got.dtype == want.dtype


def test_a_tensor_has_no_truth_value_and_no_array():
    x = sg.placeholder((2,))
    with pytest.raises(TypeError, match="truth value"):
        if x > 0:
            pass
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)


def test_constant_is_read_only_and_dumped_small():
    c = sg.constant([1.0, 2.0])
    assert isinstance(c.node.op, Constant)
    with pytest.raises(ValueError):
        c.node.op.value[0] = 5
    assert "value=" in str(c.node.op)
