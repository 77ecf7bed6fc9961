"""What the reference path checks at call time, the compiled path checks too: every
argument and size a mode rejects or converts, every mode rejects or converts alike."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import ConcurrentCallError, IndexOutOfRangeError, InputError, InvalidValueError, ShapeError

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


@pytest.mark.parametrize("mode", MODES)
def test_an_update_whose_value_has_another_shape_at_call_time_raises_and_updates_nothing(mode):
    """The value's shape depends on a symbolic size: checked at each call, before any
    Variable is written (C truncated, left garbage, or crashed on an empty value)."""
    x = sg.placeholder((None,), "float32", name="x")
    W = sg.Variable(np.zeros(3, np.float32), name="W")
    V = sg.Variable(np.zeros(3, np.float32), name="V")
    f = sg.function([x], sg.sum(x), updates=[(V, V + 1.0), (W, x * 2.0)], mode=mode)
    f(np.ones(3, np.float32))
    np.testing.assert_array_equal(W.get_value(), [2, 2, 2])
    for n in (0, 1, 5, 100_000):
        with pytest.raises(ShapeError, match=rf"update of Variable 'W': the new value has shape \({n},\)"):
            f(np.ones(n, np.float32))
    np.testing.assert_array_equal(W.get_value(), [2, 2, 2])
    np.testing.assert_array_equal(V.get_value(), [1, 1, 1])  # nothing else was updated either


def _four_way_outer(x):
    return x[:, None, None, None] + x[None, :, None, None] + x[None, None, :, None] + x[None, None, None, :]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("passes", ["O0", "O2"])
def test_a_result_too_large_to_address_is_a_shape_error_not_a_wrapped_size(mode, passes):
    """(2^16)^4 float32 elements: 2^66 bytes, which wrapped to a 0-byte buffer in C."""
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], sg.sum(sg.exp(_four_way_outer(x))), mode=mode, passes=passes)
    assert f(np.zeros(2, np.float32)) == pytest.approx(16.0)
    with pytest.raises(ShapeError, match="would hold 18446744073709551616 elements of 4 bytes"):
        f(np.zeros(1 << 16, np.float32))
    g = sg.function([x], _four_way_outer(x), mode=mode, passes=passes)  # the result is an output
    with pytest.raises(ShapeError, match="more than memory can address"):
        g(np.zeros(1 << 16, np.float32))


def test_temporaries_that_find_no_memory_name_the_nodes_that_needed_it():
    """A PiB of temporaries: a MemoryError naming the largest ones (it named a placeholder)."""
    x = sg.placeholder((None,), "float32", name="x")
    z = x[:, None, None] + x[None, :, None] + x[None, None, :]
    f = sg.function([x], sg.sum(sg.exp(z)), passes="O0")
    with pytest.raises(MemoryError) as caught:
        f(np.zeros(1 << 17, np.float32))
    text = str(caught.value)
    assert "out of memory for" in text and "the largest" in text
    assert "add at test_call_checks.py" in text and "placeholder" not in text


def test_two_functions_of_one_compiled_unit_on_two_threads_keep_their_own_memory():
    """Equal graphs share the loaded code; each function keeps its own temporaries (they
    shared one static arena: wrong results in 4 of 4 runs)."""

    def build():
        x = sg.placeholder((None, 32), "float32", name="x")
        w = sg.constant(np.linspace(-1, 1, 32 * 32, dtype=np.float32).reshape(32, 32))
        return sg.function([x], sg.sum(sg.tanh(x @ w) * 2.0, axis=1))

    first, second = build(), build()
    assert first._compiled.library is second._compiled.library
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((64 + 16 * k, 32)).astype(np.float32) for k in range(4)]
    want = [first(d) for d in data]
    wrong: list[int] = []

    def hammer(f):
        for i in range(300):
            if not np.array_equal(f(data[i % 4]), want[i % 4]):
                wrong.append(i)

    threads = [threading.Thread(target=hammer, args=(f,)) for f in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


@pytest.mark.parametrize("trust_input", [False, True])
def test_one_function_entered_from_a_second_thread_is_refused_not_crashed(trust_input):
    x = sg.placeholder((None, 64), "float32", name="x")
    f = sg.function([x], sg.sum(sg.tanh(x) * 3.0), trust_input=trust_input)
    data = np.ones((4096, 64), np.float32)
    expected = f(data)
    refused: list[str] = []
    results: list[float] = []

    def hammer():
        for _ in range(200):
            try:
                results.append(float(f(data)))
            except ConcurrentCallError as exc:
                refused.append(str(exc))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) + len(refused) == 400
    assert all(r == pytest.approx(float(expected)) for r in results)
    assert all("running on another thread" in message for message in refused)
    assert float(f(data)) == pytest.approx(float(expected))  # usable again afterwards


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("passes", ["O0", "O2"])
def test_power_one_half_is_c_pow_in_every_mode(mode, passes):
    """numpy answers a scalar exponent 0.5 with sqrt (nan at -inf, -0 at -0); C's pow
    gives inf and +0; the reference follows pow, so the modes agree."""
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], sg.power(x, 0.5), mode=mode, passes=passes)
    got = f(np.array([-np.inf, -0.0, 4.0, -1.0], np.float32))
    assert got[0] == np.inf and got[1] == 0 and not np.signbit(got[1]) and got[2] == 2 and np.isnan(got[3])


@pytest.mark.parametrize("mode", MODES)
def test_a_symbolic_batch_size_of_one_never_broadcasts_in_a_product(mode):
    """The elementwise rule holds for matmul's batch axes in both modes (numpy
    broadcast a symbolic batch of size 1 in mode py; C raised)."""
    a = sg.placeholder((None, 2, 3), "float32", name="a")
    b = sg.placeholder((4, 3, 5), "float32", name="b")
    f = sg.function([a, b], a @ b, mode=mode)
    assert f(np.ones((4, 2, 3), np.float32), np.ones((4, 3, 5), np.float32)).shape == (4, 2, 5)
    with pytest.raises(ShapeError):
        f(np.ones((1, 2, 3), np.float32), np.ones((4, 3, 5), np.float32))
    c = sg.placeholder((1, 2, 3), "float32", name="c")
    g = sg.function([c, b], c @ b, mode=mode)  # a static 1 broadcasts
    assert g(np.ones((1, 2, 3), np.float32), np.ones((4, 3, 5), np.float32)).shape == (4, 2, 5)


@pytest.mark.parametrize("mode", MODES)
def test_a_negative_integer_exponent_of_an_empty_power_raises_nothing(mode):
    """numpy computes no element of power(empty, -1), so raises nothing; nor does any mode
    (the reference raised, C did not; found by the 10,000-graph fuzz run)."""
    x = sg.placeholder((None,), "int64", name="x")
    e = sg.placeholder((), "int64", name="e")
    f = sg.function([x, e], sg.power(x, e), mode=mode)
    assert f(np.zeros(0, np.int64), np.int64(-1)).shape == (0,)
    with pytest.raises(InvalidValueError, match="negative integer powers"):
        f(np.array([2], np.int64), np.int64(-1))
