"""sg.function: outputs, updates (Theano's rule), givens, inputs and their checks."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, InputError, ShapeError


def test_single_output_and_list_of_outputs():
    x = sg.placeholder((None,), name="x")
    one = sg.function([x], x * 2)
    many = sg.function([x], [x * 2, x + 1])
    a = np.arange(3, dtype="float32")
    assert isinstance(one(a), np.ndarray)
    got = many(a)
    assert isinstance(got, list) and len(got) == 2
    np.testing.assert_array_equal(got[1], a + 1)


def test_updates_are_computed_from_old_values_and_applied_together():
    a = sg.Variable(np.float32(1.0), name="a")
    b = sg.Variable(np.float32(10.0), name="b")
    swap = sg.function([], [a, b], updates=[(a, b), (b, a + b)])
    before = swap()
    assert [float(v) for v in before] == [1.0, 10.0]  # outputs see the values before
    assert float(a.get_value()) == 10.0 and float(b.get_value()) == 11.0
    assert [float(v) for v in swap()] == [10.0, 11.0]
    assert float(a.get_value()) == 11.0 and float(b.get_value()) == 21.0


def test_updates_as_dict_and_without_outputs():
    counter = sg.Variable(np.int64(0), name="counter")
    tick = sg.function([], updates={counter: counter + 1})
    assert tick() == []
    tick()
    assert counter.get_value() == 2


def test_one_compile_serves_every_batch_size():
    x = sg.placeholder((None, 4), name="x")
    W = sg.Variable(np.ones((4, 2), "float32"), name="W")
    f = sg.function([x], sg.sum(x @ W, axis=1))
    for batch in (1, 7, 128):
        data = np.random.default_rng(batch).standard_normal((batch, 4)).astype("float32")
        np.testing.assert_allclose(f(data), (data @ np.ones((4, 2))).sum(1), rtol=1e-5)


def test_keyword_arguments_by_input_name():
    x = sg.placeholder((), name="x")
    y = sg.placeholder((), name="y")
    f = sg.function([x, y], x - y)
    assert f(y=np.float32(1), x=np.float32(5)) == 4
    assert f(np.float32(5), y=np.float32(2)) == 3


def test_outputs_never_alias_state_or_inputs():
    W = sg.Variable(np.zeros(3, "float32"), name="W")
    x = sg.placeholder((3,), name="x")
    f = sg.function([x], [W, x, sg.reshape(x, (3, 1))], updates=[(W, W + 1)])
    data = np.zeros(3, "float32")
    w_out, x_out, col = f(data)
    w_out[0] = 42
    x_out[0] = 42
    col[1, 0] = 42
    assert W.get_value()[0] == 1 and data[0] == 0 and data[1] == 0
    np.testing.assert_array_equal(w_out[1:], [0, 0])  # the value before the update


def test_givens_substitute_before_compiling():
    x = sg.placeholder((None,), name="x")
    scale = sg.placeholder((), name="scale")
    y = x * scale
    f = sg.function([x], y, givens={scale: sg.constant(np.float32(3))})
    np.testing.assert_array_equal(f(np.ones(2, "float32")), [3, 3])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda f: f(), InputError, "missing input 'x'"),
        (lambda f: f(np.ones((2, 3), "float32"), np.ones(2, "float32")), InputError, "takes 1 inputs"),
        (lambda f: f(z=np.ones((2, 3), "float32")), InputError, "no input named 'z'"),
        (lambda f: f(np.ones((2, 3), "float64")), DTypeError, "expects float32, got an array of float64"),
        (lambda f: f(np.ones((2, 3, 1), "float32")), InputError, "expects rank 2"),
        (lambda f: f(np.ones((2, 4), "float32")), ShapeError, "expects shape [x.0,3]"),
        (lambda f: f([["a", "b", "c"]]), DTypeError, "expects float32"),
    ],
    ids=["missing", "extra", "unknown-name", "dtype", "rank", "static-dim", "strings"],
)
def test_bad_calls_raise_typed_errors(call, error, words):
    x = sg.placeholder((None, 3), "float32", name="x")
    f = sg.function([x], sg.sum(x), name="total")
    with pytest.raises(error) as info:
        call(f)
    assert words in str(info.value)


def test_python_lists_are_converted():
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], x * 2)
    np.testing.assert_array_equal(f([1, 2.5]), [2, 5])


def test_build_time_checks():
    x = sg.placeholder((None,), name="x")
    hidden = sg.placeholder((), name="hidden")
    W = sg.Variable(np.zeros(2, "float32"), name="W")
    with pytest.raises(InputError, match="placeholder 'hidden'"):
        sg.function([x], x * hidden)
    with pytest.raises(InputError, match="placeholders"):
        sg.function([W], W * 2)
    with pytest.raises(InputError, match="single Tensor"):
        sg.function(x, x * 2)
    with pytest.raises(DTypeError, match="cast it"):
        sg.function([], updates=[(W, sg.cast(W, "float64"))])
    with pytest.raises(ShapeError, match="update of Variable 'W'"):
        sg.function([], updates=[(W, sg.zeros((3,)))])
    with pytest.raises(InputError, match="updated twice"):
        sg.function([], updates=[(W, W + 1), (W, W + 2)])
    with pytest.raises(InputError, match="Variables"):
        sg.function([x], updates=[(x, x + 1)])
    with pytest.raises(InputError, match="size y.0"):
        y = sg.placeholder((None,), name="y")
        sg.function([x], sg.zeros(y.shape))


def test_unknown_mode():
    x = sg.placeholder(())
    with pytest.raises(sg.errors.UnsupportedError, match="unknown mode"):
        sg.function([x], x, mode="gpu")
