"""Every error names the op, its inputs' shapes and dtypes as the user built them, and the
line of this file that built the failing node: in modes "c", "py" and "debug", at O0
(nothing fused) and at O2 (the failing node fused with its neighbours)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import symgraph as sg
from symgraph import errors

MODES = ["c", "py", "debug"]
LEVELS = ["O0", "O2"]


def _line_of(marker: str) -> int:
    """The line of the calling test's source that holds ``marker``."""
    source, start = inspect.getsourcelines(inspect.currentframe().f_back.f_code)
    return start + next(i for i, line in enumerate(source) if marker in line and "_line_of" not in line)


def _here(marker: str) -> str:
    frame = inspect.currentframe().f_back
    source, start = inspect.getsourcelines(frame.f_code)
    line = start + next(i for i, text in enumerate(source) if marker in text and "_here" not in text)
    return f"{__file__}:{line}"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_call_time_shape_mismatch_names_the_user_node(mode, level):
    x = sg.placeholder((None,), name="x")
    y = sg.placeholder((None,), name="y")
    z = x * y  # MARK-mul
    out = sg.exp(z + 1.0)  # fused with the mul at O2
    f = sg.function([x, y], out, mode=mode, passes=level)
    with pytest.raises(errors.ShapeError) as info:
        f(np.ones(3, "float32"), np.ones(4, "float32"))
    message = str(info.value)
    assert message.startswith("mul:"), message
    # the mul's own inputs, in the order the user gave them, with this call's shapes
    assert "inputs: float32[x.0] = (3,), float32[y.0] = (4,)" in message
    assert _here("MARK-mul") in message
    if level == "O2":
        assert "fused into one kernel with: mul" in message and "exp at test_error_locations.py:" in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_call_time_matmul_inner_size_mismatch(mode, level):
    a = sg.placeholder((2, None), name="a")
    b = sg.placeholder((None, 3), name="b")
    y = sg.tanh(a @ b)  # MARK-matmul
    f = sg.function([a, b], y, mode=mode, passes=level)
    with pytest.raises(errors.ShapeError) as info:
        f(np.ones((2, 4), "float32"), np.ones((5, 3), "float32"))
    message = str(info.value)
    assert message.startswith("matmul:"), message
    assert "float32[2,a.1] = (2, 4)" in message and "float32[b.0,3] = (5, 3)" in message
    assert _here("MARK-matmul") in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_index_out_of_range_names_the_gather(mode, level):
    x = sg.placeholder((5,), name="x")
    i = sg.placeholder((None,), "int64", name="i")
    y = sg.take(x, i) * 2.0  # MARK-take
    f = sg.function([x, i], y, mode=mode, passes=level)
    with pytest.raises(errors.IndexOutOfRangeError) as info:
        f(np.ones(5, "float32"), np.array([1, 7]))
    message = str(info.value)
    assert message.startswith("gather:"), message
    assert "index 7 is out of bounds" in message
    assert "float32[5] = (5,), int64[i.0] = (2,)" in message
    assert _here("MARK-take") in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_nan_guard_names_the_first_node_that_made_a_nan(mode, level):
    x = sg.placeholder((None,), name="x")
    a = sg.exp(x) * 2.0
    b = sg.log(a - 2.0)  # MARK-log: NaN where x < 0
    y = sg.tanh(b) + 1.0  # propagates the NaN: not the node to blame
    f = sg.function([x], y, mode=mode, passes=level, nan_guard=True)
    np.testing.assert_allclose(f(np.array([1.0, 2.0], "float32")), np.tanh(np.log(2 * np.exp([1.0, 2.0]) - 2)) + 1)
    with pytest.raises(errors.NaNError) as info:
        f(np.array([1.0, -1.0, 2.0], "float32"))
    message = str(info.value)
    assert message.startswith("log:"), message
    assert "produced a NaN, first at flat index 1" in message
    assert "float32[x.0] = (3,)" in message
    assert _here("MARK-log") in message
    assert isinstance(info.value, errors.InvalidValueError)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_without_nan_guard_nans_pass_silently(mode, level):
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.log(x) + 1.0, mode=mode, passes=level)
    assert np.isnan(f(np.array([-1.0], "float32"))[0])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_build_time_shape_error(mode, level):
    x = sg.placeholder((3, 4), name="x")
    y = sg.placeholder((5,), name="y")
    with pytest.raises(errors.ShapeError) as info:
        sg.function([x, y], sg.exp(x + y), mode=mode, passes=level)  # MARK-build-add
    message = str(info.value)
    assert message.startswith("add:")
    assert "inputs: float32[3,4], float32[5]" in message
    assert _here("MARK-build-add") in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_build_time_dtype_error(mode, level):
    x = sg.placeholder((3,), name="x")
    with pytest.raises(errors.DTypeError) as info:
        sg.function([x], sg.take(x, x) + 1.0, mode=mode, passes=level)  # MARK-build-take
    message = str(info.value)
    assert "indices must be integers, got float32" in message
    assert _here("MARK-build-take") in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
def test_build_time_missing_input_names_the_placeholder_line(mode, level):
    x = sg.placeholder((3,), name="x")
    w = sg.placeholder((3,), name="w")  # MARK-w
    with pytest.raises(errors.InputError) as info:
        sg.function([x], x * w, mode=mode, passes=level)
    message = str(info.value)
    assert "placeholder 'w'" in message and "not among the inputs" in message
    assert _here("MARK-w") in message


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", ["alone", "fused", "reduced", "unselected branch", "short-circuit"])
def test_integer_power_with_a_negative_exponent_raises(mode, level, shape):
    # numpy computes every element of both where branches and of both logical_and
    # operands, so the error does not depend on which elements are selected; the fused
    # C loop must not skip the power in the branch it does not take (the fuzzer's seed 29283)
    a = sg.placeholder((None,), "int32", name="a")
    b = sg.placeholder((None,), "int32", name="b")
    p = a**b  # MARK-power
    out = {
        "alone": p,
        "fused": (p + 1) * 2,
        "reduced": sg.sum(p * 3),
        "unselected branch": sg.where(a >= 0, a, p),
        "short-circuit": sg.logical_and(a < 0, p > 0),
    }[shape]
    f = sg.function([a, b], out, mode=mode, passes=level)
    base = np.array([2, 3], "int32")
    with pytest.raises(errors.InvalidValueError) as info:
        f(base, np.array([2, -1], "int32"))
    message = str(info.value)
    assert message.startswith("power: integers to negative integer powers are not allowed"), message
    assert "int32[a.0] = (2,), int32[b.0] = (2,)" in message
    assert _here("MARK-power") in message
    # the failure is not remembered by the next call
    expected = {
        "alone": base**2,
        "fused": (base**2 + 1) * 2,
        "reduced": np.sum(base**2 * 3),
        "unselected branch": base,
        "short-circuit": np.zeros(2, bool),
    }[shape]
    np.testing.assert_array_equal(f(base, np.array([2, 2], "int32")), expected)
