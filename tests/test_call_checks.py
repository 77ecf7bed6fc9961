"""What the reference path checks at call time, the compiled path checks too: every
argument and size a mode rejects or converts, every mode rejects or converts alike."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import IndexOutOfRangeError, InputError, InvalidValueError

MODES = ["c", "py"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [">f4", ">i4", ">f8"])
def test_an_array_of_the_other_byte_order_is_read_by_value(mode, dtype):
    native = np.dtype(dtype).newbyteorder("=")
    x = sg.placeholder((None,), native.name, name="x")
    f = sg.function([x], x * 2, mode=mode)
    data = np.arange(5).astype(dtype)
    got = f(data)
    np.testing.assert_array_equal(got, np.arange(5).astype(native) * 2)
    assert got.dtype == native


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", [2**40, -(2**31) - 1, 2**31])
def test_a_python_int_outside_the_placeholder_range_is_refused(mode, value):
    n = sg.placeholder((None,), "int32", name="n")
    f = sg.function([n], n + 1, mode=mode)
    with pytest.raises(InputError, match=rf"input 'n' expects int32.*got {value}"):
        f([1, value])
    np.testing.assert_array_equal(f([2**31 - 2, -(2**31)]), [2**31 - 1, -(2**31) + 1])


@pytest.mark.parametrize("mode", MODES)
def test_an_unsigned_placeholder_refuses_negative_ints(mode):
    n = sg.placeholder((2,), "uint8", name="pixels")
    f = sg.function([n], n, mode=mode)
    with pytest.raises(InputError, match="uint8.*got -1"):
        f([-1, 3])
    np.testing.assert_array_equal(f([255, 0]), [255, 0])


@pytest.mark.parametrize("mode", MODES)
def test_more_axes_than_the_c_caller_plans_for(mode):
    shape = (1,) * 33 + (2,)
    x = sg.placeholder(shape, "float32", name="deep")
    f = sg.function([x], x * 2, mode=mode)
    np.testing.assert_array_equal(f(np.ones(shape, np.float32)), np.full(shape, 2, np.float32))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("passes", ["O0", "O1", "O2"])
def test_an_error_of_a_broadcast_operand_is_raised_when_the_result_is_empty(mode, passes):
    """numpy computes power(x, -1) before adding the empty e, and raises; so does every
    level: fusion keeps an op that can raise out of a loop that might run no element."""
    x = sg.placeholder((1,), "int32", name="x")
    e = sg.placeholder((None,), "int32", name="e")
    f = sg.function([x, e], sg.power(x, -1) + e, mode=mode, passes=passes)
    with pytest.raises(InvalidValueError, match="negative integer powers"):
        f(np.array([2], np.int32), np.zeros(0, np.int32))
    g = sg.function([x, e], sg.power(x, 2) + e, mode=mode, passes=passes)
    np.testing.assert_array_equal(g(np.array([3], np.int32), np.arange(3, dtype=np.int32)), [9, 10, 11])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [-1, 4], ids=["negative", "past_the_end"])
def test_an_embedding_id_outside_the_vocabulary_raises(mode, bad):
    """As the README and Keras say: a -1 (a padding id, say) is a bug, not the last row."""
    ids = sg.placeholder((None,), "int32", name="ids")
    table = sg.Variable(np.arange(12, dtype=np.float32).reshape(4, 3), name="table")
    f = sg.function([ids], sg.nn.embedding(ids, table), mode=mode)
    np.testing.assert_array_equal(f(np.array([3, 0], np.int32)), [[9, 10, 11], [0, 1, 2]])
    with pytest.raises(IndexOutOfRangeError, match=rf"index {bad} is out of bounds for axis 0 with size 4"):
        f(np.array([1, bad], np.int32))
    take = sg.function([ids], sg.take(table, ids, axis=0), mode=mode)  # numpy's rule stays for take
    np.testing.assert_array_equal(take(np.array([-1], np.int32)), [[9, 10, 11]])


def test_a_constant_negative_embedding_id_raises_when_the_graph_is_built():
    with pytest.raises(IndexOutOfRangeError, match="index -1 is out of bounds"):
        sg.nn.embedding(sg.constant(np.array([0, -1])), sg.constant(np.ones((3, 2), np.float32)))
