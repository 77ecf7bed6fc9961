"""Errors name the op, the input types and the user's file:line, and are typed."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import symgraph as sg
from symgraph import errors


def _line_of(marker: str) -> int:
    source, start = inspect.getsourcelines(inspect.currentframe().f_back.f_code)
    return start + next(i for i, line in enumerate(source) if marker in line)


def test_build_time_shape_mismatch_names_op_shapes_and_line():
    x = sg.placeholder((3, 4), name="x")
    y = sg.placeholder((5,), name="y")
    with pytest.raises(errors.ShapeError) as info:
        x + y  # MARK-add
    message = str(info.value)
    assert message.startswith("add:")
    assert "[3,4]" in message and "[5]" in message
    assert "float32[3,4], float32[5]" in message
    assert f"{__file__}:{_line_of('MARK-add')}" in message


def test_matmul_inner_dimension_mismatch():
    a = sg.placeholder((None, 784), name="a")
    W = sg.Variable(np.zeros((748, 10), "float32"), name="W")
    with pytest.raises(errors.ShapeError) as info:
        a @ W  # MARK-matmul
    message = str(info.value)
    assert "matmul" in message and "784 != 748" in message and "[a.0,784]" in message
    assert f"test_errors.py:{_line_of('MARK-matmul')}" in message


def test_call_time_shape_error_points_at_the_node():
    x = sg.placeholder((None,), name="x")
    y = sg.placeholder((None,), name="y")
    out = x * y  # MARK-mul
    f = sg.function([x, y], out)
    with pytest.raises(errors.ShapeError) as info:
        f(np.ones(3, "float32"), np.ones(4, "float32"))
    message = str(info.value)
    assert message.startswith("mul:")
    assert "float32[x.0] = (3,)" in message and "float32[y.0] = (4,)" in message
    assert f"test_errors.py:{_line_of('MARK-mul')}" in message


def test_reshape_of_wrong_size():
    x = sg.placeholder((6,), name="x")
    with pytest.raises(errors.ShapeError, match=r"reshape.*\(4, -1\)"):
        sg.reshape(x, (4, -1))
    with pytest.raises(errors.ShapeError, match="cannot reshape"):
        sg.reshape(x, (4, 2))


def test_bad_axis_and_dtype():
    x = sg.placeholder((2, 3), name="x")
    with pytest.raises(errors.ShapeError, match="axis 2 is out of range"):
        sg.sum(x, axis=2)
    with pytest.raises(errors.DTypeError, match="complex128 is not supported"):
        sg.placeholder((2,), "complex128")


def test_errors_subclass_the_builtins():
    assert issubclass(errors.ShapeError, ValueError)
    assert issubclass(errors.DTypeError, TypeError)
    assert issubclass(errors.IndexOutOfRangeError, IndexError)
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.GradientError, ValueError)
