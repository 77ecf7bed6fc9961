"""Indexing semantics beyond the reference table: errors (when and what they say),
numpy's placement rules, symbolic shapes and accumulating gradients."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import IndexOutOfRangeError, ShapeError, UnsupportedError

A = np.arange(12, dtype=np.float32).reshape(3, 4)


def run(fn, *arrays, symbolic=True):
    phs = [
        sg.placeholder(tuple(None for _ in a.shape) if symbolic else a.shape, a.dtype, name=f"a{i}")
        for i, a in enumerate(arrays)
    ]
    out = fn(*phs)
    return sg.function(phs, out)(*arrays)


# take: out-of-range indices ------------------------------------------------------


def test_take_out_of_range_raises_at_call_time_naming_index_and_size():
    x = sg.placeholder((3, 4), name="x")
    i = sg.placeholder((None,), "int64", name="i")
    f = sg.function([x, i], sg.take(x, i, axis=1))
    np.testing.assert_array_equal(f(A, np.array([0, -1, 3])), np.take(A, [0, -1, 3], axis=1))
    with pytest.raises(IndexOutOfRangeError) as info:
        f(A, np.array([0, 4]))
    message = str(info.value)
    assert "4" in message and "size 4" in message
    assert "gather" in message and "test_indexing_semantics.py" in message
    with pytest.raises(IndexError):  # still an IndexError to numpy users
        f(A, np.array([-5]))


def test_take_constant_index_out_of_range_is_a_build_time_error():
    x = sg.placeholder((3, 4), name="x")
    with pytest.raises(IndexOutOfRangeError, match="index 7 is out of bounds for axis 0 with size 3"):
        sg.take(x, [0, 7], axis=0)


def test_take_on_symbolic_axis_checks_at_call_time():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.take(x, [0, 2]))
    np.testing.assert_array_equal(f(np.arange(3, dtype=np.float32)), [0, 2])
    with pytest.raises(IndexOutOfRangeError, match="size 2"):
        f(np.arange(2, dtype=np.float32))


def test_take_rejects_float_indices():
    x = sg.placeholder((3,), name="x")
    with pytest.raises(TypeError):
        sg.take(x, [0.5])


# getitem: ints -----------------------------------------------------------------------


def test_static_int_out_of_range_is_a_build_time_error():
    x = sg.placeholder((3, 4), name="x")
    with pytest.raises(IndexOutOfRangeError, match="index 3 is out of bounds for axis 0 with size 3") as info:
        x[3]
    assert "test_indexing_semantics.py" in str(info.value)
    with pytest.raises(IndexOutOfRangeError, match="index -5"):
        x[:, -5]
    with pytest.raises(IndexOutOfRangeError):  # an int among advanced indices too
        x[5, [0, 1]]
    with pytest.raises(IndexOutOfRangeError):  # and constant index arrays
        x[:, [0, 4]]


def test_symbolic_int_out_of_range_raises_at_call_time():
    x = sg.placeholder((None, 4), name="x")
    f = sg.function([x], [x[2], x[-3]])
    got = f(A)
    np.testing.assert_array_equal(got[0], A[2])
    np.testing.assert_array_equal(got[1], A[-3])
    with pytest.raises(IndexOutOfRangeError, match="index 2 is out of bounds for axis 0 with size 2"):
        f(A[:2])
    g = sg.function([x], x[-3])
    with pytest.raises(IndexOutOfRangeError, match="index -3 is out of bounds for axis 0 with size 2"):
        g(A[:2])


def test_too_many_indices():
    x = sg.placeholder((3, 4), name="x")
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]


# getitem: unsupported ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_mask",
    [
        lambda x: x > 0,
        lambda x: np.array([True, False, True]),
        lambda x: [True, False, True],
        lambda x: True,
    ],
    ids=["tensor", "numpy", "list", "python_bool"],
)
def test_boolean_mask_indexing_is_unsupported(make_mask):
    x = sg.placeholder((3,), name="x")
    with pytest.raises(UnsupportedError, match="sg.where"):
        x[make_mask(x)]


def test_tensor_slice_bounds_are_unsupported():
    x = sg.placeholder((5,), name="x")
    n = sg.placeholder((), "int64", name="n")
    with pytest.raises(UnsupportedError):
        x[:n]


def test_float_index_is_a_type_error():
    x = sg.placeholder((3,), name="x")
    with pytest.raises(TypeError):
        x[1.0]
    with pytest.raises(TypeError):
        x[sg.placeholder((2,), "float32")]


# getitem: numpy's results ------------------------------------------------------------


@pytest.mark.parametrize("symbolic", [False, True], ids=["static", "symbolic"])
def test_common_index_expressions_match_numpy(symbolic):
    cases = [
        (lambda x: x[::-1], A[::-1]),
        (lambda x: x[..., None], A[..., None]),
        (lambda x: x[:, [0, 2]], A[:, [0, 2]]),
        (lambda x: x[1:, ::-2], A[1:, ::-2]),
        (lambda x: x[-1, 1:3], A[-1, 1:3]),
        (lambda x: x[None, :, -1], A[None, :, -1]),
    ]
    for fn, expected in cases:
        got = run(fn, A, symbolic=symbolic)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_reversing_a_symbolic_axis_keeps_its_size():
    x = sg.placeholder((None, 4), name="x")
    assert x[::-1].shape == x.shape
    assert x[:, None].shape == (x.shape[0], 1, 4)
    assert x[:, [0, 2]].shape == (x.shape[0], 2)
    assert x[:, 1:3].shape == (x.shape[0], 2)
    assert x[..., ::2].shape == (x.shape[0], 2)


def test_advanced_indices_separated_by_a_slice_go_first():
    b = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    x = sg.placeholder((3, 4, 5), name="x")
    assert x[0, :, [1, 2]].shape == b[0, :, [1, 2]].shape == (2, 4)
    assert x[:, [0, 1], [1, 2]].shape == b[:, [0, 1], [1, 2]].shape == (3, 2)
    assert x[[0, 1], :, [[1], [2]]].shape == b[[0, 1], :, [[1], [2]]].shape == (2, 2, 4)
    got = sg.function([x], [x[0, :, [1, 2]], x[[0, 1], :, [[1], [2]]]])(b)
    np.testing.assert_array_equal(got[0], b[0, :, [1, 2]])
    np.testing.assert_array_equal(got[1], b[[0, 1], :, [[1], [2]]])


def test_slices_clamp_like_numpy_on_symbolic_axes():
    v = np.arange(5, dtype=np.float32)
    for index in [
        slice(2, 10),
        slice(-10, 2),
        slice(4, 1),
        slice(10, None, -1),
        slice(None, -10, -1),
        slice(3, -4, -1),
    ]:
        for size in (0, 1, 5):
            np.testing.assert_array_equal(run(lambda x, s=index: x[s], v[:size]), v[:size][index])


# gradients ---------------------------------------------------------------------------


def test_gradient_of_repeated_indices_accumulates():
    x = sg.placeholder((3,), "float64", name="x")
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    cost = sg.sum(x[[0, 2, 0, 0]] * w)
    g = sg.function([x], sg.grad(cost, x))(np.zeros(3))
    np.testing.assert_array_equal(g, [1101.0, 0.0, 10.0])


def test_gradient_of_take_with_repeats_and_negative_indices():
    x = sg.placeholder((2, 3), "float64", name="x")
    i = sg.placeholder((None,), "int64", name="i")
    cost = sg.sum(sg.take(x, i, axis=1))
    g = sg.function([x, i], sg.grad(cost, x))(np.zeros((2, 3)), np.array([0, -3, 2]))
    np.testing.assert_array_equal(g, [[2.0, 0.0, 1.0], [2.0, 0.0, 1.0]])


def test_gradient_of_basic_indexing_is_zero_outside_the_slice():
    x = sg.placeholder((4,), "float64", name="x")
    g = sg.function([x], sg.grad(sg.sum(x[3:0:-2] * 2.0), x))(np.zeros(4))
    np.testing.assert_array_equal(g, [0.0, 2.0, 0.0, 2.0])


def test_gradient_of_sort_scatters_through_the_permutation():
    x = sg.placeholder((4,), "float64", name="x")
    w = np.array([1.0, 2.0, 3.0, 4.0])
    g = sg.function([x], sg.grad(sg.sum(sg.sort(x) * w), x))(np.array([3.0, 1.0, 4.0, 2.0]))
    np.testing.assert_array_equal(g, [3.0, 1.0, 4.0, 2.0])


def test_scatter_add_accumulates_and_checks_bounds():
    x = sg.placeholder((4,), name="x")
    i = sg.placeholder((None,), "int64", name="i")
    u = sg.placeholder((None,), name="u")
    f = sg.function([x, i, u], sg.scatter_add(x, i, u))
    got = f(np.zeros(4, np.float32), np.array([1, 1, -1]), np.array([1.0, 2.0, 5.0], np.float32))
    np.testing.assert_array_equal(got, [0.0, 3.0, 0.0, 5.0])
    with pytest.raises(IndexOutOfRangeError, match="size 4"):
        f(np.zeros(4, np.float32), np.array([4]), np.array([1.0], np.float32))


# one_hot, top_k, split -------------------------------------------------------------


def test_one_hot_out_of_range_rows_are_zero():
    i = sg.placeholder((None,), "int64", name="i")
    got = sg.function([i], sg.one_hot(i, 3))(np.array([0, 2, 3, -1]))
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert got.dtype == np.float32


def test_top_k_breaks_ties_by_lower_index():
    x = sg.placeholder((None,), name="x")
    values, indices = sg.function([x], list(sg.top_k(x, 3)))(np.array([1, 3, 2, 3, 2], np.float32))
    np.testing.assert_array_equal(values, [3, 3, 2])
    np.testing.assert_array_equal(indices, [1, 3, 2])


def test_top_k_larger_than_the_axis():
    with pytest.raises(ShapeError, match="k=4"):
        sg.top_k(sg.placeholder((3,), name="x"), 4)
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.top_k(x, 4)[0])
    with pytest.raises(ShapeError, match="size 3"):
        f(np.zeros(3, np.float32))


def test_split_of_a_symbolic_axis_checks_divisibility_at_call_time():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.split(x, 2))
    a, b = f(np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(a, [0, 1])
    np.testing.assert_array_equal(b, [2, 3])
    with pytest.raises(ShapeError):
        f(np.arange(5, dtype=np.float32))


def test_concatenate_static_mismatch_is_a_build_time_error():
    with pytest.raises(ShapeError, match="axis 1"):
        sg.concatenate([sg.placeholder((2, 3)), sg.placeholder((2, 4))], axis=0)


def test_concatenate_symbolic_mismatch_is_a_call_time_error():
    a, b = sg.placeholder((None, 3), name="a"), sg.placeholder((2, None), name="b")
    f = sg.function([a, b], sg.concatenate([a, b], axis=0))
    assert f(np.zeros((1, 3), np.float32), np.ones((2, 3), np.float32)).shape == (3, 3)
    with pytest.raises(ShapeError):
        f(np.zeros((1, 3), np.float32), np.ones((2, 4), np.float32))
