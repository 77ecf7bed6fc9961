"""Eager tensors: ops on values known now run at once, against numpy; when an op runs
eagerly and when it builds graph; Variables as TensorFlow has them."""

from __future__ import annotations

import gc
import resource
import sys

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, ShapeError, TracingError

RNG = np.random.default_rng(0)


def test_an_op_on_an_eager_tensor_runs_now_and_agrees_with_numpy():
    a_np = RNG.standard_normal((3, 4)).astype("float32")
    b_np = RNG.standard_normal((4,)).astype("float32")
    a = sg.eager_tensor(a_np)
    cases = [
        (a + b_np, a_np + b_np),
        (a * 2 - 1, a_np * 2 - 1),
        (sg.exp(a), np.exp(a_np)),
        (sg.sum(a, axis=1), a_np.sum(axis=1)),
        (a @ b_np, a_np @ b_np),
        (sg.maximum(a, 0.0), np.maximum(a_np, 0)),
        (a[1:, ::2], a_np[1:, ::2]),
        (sg.reshape(a, (2, 6)), a_np.reshape(2, 6)),
        (-a, -a_np),
        (a > 0, a_np > 0),
    ]
    for got, want in cases:
        assert type(got) is sg.EagerTensor
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_an_eager_tensor_prints_converts_and_feeds_python():
    t = sg.eager_tensor([1.5, 2.5])
    assert str(t) == "sg.Tensor([1.5 2.5], shape=(2,), dtype=float32)"
    assert "numpy" not in repr(sg.placeholder((2,), name="p"))
    assert float(sg.sum(t)) == 4.0 and int(sg.sum(t)) == 4
    assert bool(sg.sum(t) > 3) and not bool(sg.sum(t) > 5)
    assert list(range(sg.eager_tensor(3, "int32"))) == [0, 1, 2]
    np.testing.assert_array_equal(np.asarray(t), [1.5, 2.5])
    assert np.asarray(t).dtype == np.float32
    n = t.numpy()
    n[0] = 9  # a copy: the tensor is immutable
    assert t.numpy()[0] == 1.5
    assert [float(x) for x in t] == [1.5, 2.5]
    if sg.sum(t) > 3:  # Python control flow on an eager value
        taken = True
    assert taken
    # Python data follows TensorFlow's defaults: floats float32, ints int32
    assert sg.eager_tensor(1.0).dtype == np.float32 and sg.eager_tensor(3).dtype == np.int32


def test_an_eager_tensor_in_a_graph_is_a_constant():
    c = sg.eager_tensor(np.arange(3, dtype="float32"))
    x = sg.placeholder((3,), name="x")
    f = sg.function([x], x * c + sg.sum(c))
    np.testing.assert_array_equal(f(np.ones(3, "float32")), [3, 4, 5])


def test_constants_and_variables_alone_build_graph_that_has_a_value_now():
    # Theano's meaning: W * 0.9 is an update expression over the Variable, not a number
    W = sg.Variable(np.ones(2, "float32"), name="W")
    decay = W * 0.9
    assert type(decay) is not sg.EagerTensor
    step = sg.function([], updates=[(W, decay)])
    step()
    step()
    np.testing.assert_allclose(W.get_value(), [0.81, 0.81], rtol=1e-6)
    # and it evaluates on demand, with the Variable's value at that moment
    np.testing.assert_allclose(decay.numpy(), [0.729, 0.729], rtol=1e-6)
    assert str(decay).startswith("sg.Tensor([0.72")
    # inside an eager block (the tf names run in one) it runs now
    with sg.eager():
        now = W * 0.9
    assert type(now) is sg.EagerTensor


def test_an_eager_value_of_variables_refused_as_a_compiled_update():
    W = sg.Variable(np.ones(2, "float32"), name="W")
    frozen = W + sg.eager_tensor([1.0, 1.0])  # ran now: a number, not W + 1
    with pytest.raises(sg.errors.InputError, match="computed now from Variables"):
        sg.function([], updates=[(W, frozen)])
    with pytest.raises(sg.errors.InputError, match="computed now from Variables"):
        sg.function([], frozen)


def test_eager_errors_name_the_users_line():
    a = sg.eager_tensor(np.ones((2, 3), "float32"))
    with pytest.raises(ShapeError) as info:
        a @ np.ones((2, 3), "float32")  # MARK-matmul
    assert "matmul" in str(info.value) and f"{__file__}:" in str(info.value)
    with pytest.raises(sg.errors.IndexOutOfRangeError):
        sg.take(a, sg.eager_tensor([0, 5]), axis=1)


def test_a_placeholder_has_no_value():
    x = sg.placeholder((2,), name="x")
    with pytest.raises(TypeError, match="symbolic"):
        (x * 2).numpy()
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)


def test_eager_steps_keep_no_graph_alive():
    """20,000 steps of an eager loop (a tape, gradients, assign_sub, a running total):
    the memory after the last step is the memory after the first thousand."""
    W = sg.Variable(RNG.standard_normal((8, 4)).astype("float32") * 0.1, name="W")
    x = sg.eager_tensor(RNG.standard_normal((16, 8)).astype("float32"))
    total = sg.eager_tensor(0.0)

    def rss_mb() -> float:
        gc.collect()
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024 if sys.platform != "darwin" else kb / 2**20

    baseline = None
    for step in range(20_000):
        with sg.GradientTape() as tape:
            loss = sg.mean(sg.tanh(x @ W) ** 2)
        (g,) = tape.gradient(loss, [W])
        W.assign_sub(0.01 * g)
        total = total + loss
        if step == 1_000:
            baseline = rss_mb()
    grown = rss_mb() - baseline
    assert grown < 20, f"memory grew by {grown:.1f} MB over 19,000 eager steps"
    assert np.isfinite(float(total))


# ---------------------------------------------------------------- Variables


def test_variable_from_an_eager_tensor_or_an_expression():
    v = sg.Variable(sg.eager_tensor([1.0, 2.0]) * 3)
    np.testing.assert_array_equal(v.numpy(), [3, 6])
    w = sg.Variable(v * 2 + 1, name="w", trainable=False)
    np.testing.assert_array_equal(w.numpy(), [7, 13])
    assert w.name == "w" and not w.trainable and v.trainable
    with pytest.raises(TypeError, match="placeholder"):
        sg.Variable(sg.placeholder((2,)) * 2)


def test_variable_assign_add_sub_read_value():
    v = sg.Variable(np.array([1.0, 2.0], "float32"), name="v")
    assert v.assign([5.0, 6.0]) is v
    np.testing.assert_array_equal(v.numpy(), [5, 6])
    v.assign_add(1.0)
    v.assign_sub(sg.eager_tensor([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), [5.5, 6.5])
    snapshot = v.read_value()
    v.assign(v * 0)  # a graph over v, evaluated now
    np.testing.assert_array_equal(snapshot.numpy(), [5.5, 6.5])  # read_value is a snapshot
    np.testing.assert_array_equal(v.value().numpy(), [0, 0])
    with pytest.raises(ShapeError):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(DTypeError):
        v.assign(np.array([1, 2], "complex64"))
    with pytest.raises(TypeError, match="placeholder"):
        v.assign(sg.placeholder((2,)))


def test_reshape_of_a_variable_is_a_snapshot():
    v = sg.Variable(np.arange(4, dtype="float32"))
    with sg.eager():
        r = sg.reshape(v, (2, 2))
    v.assign(np.zeros(4, "float32"))
    np.testing.assert_array_equal(r.numpy(), [[0, 1], [2, 3]])


def test_no_value_while_tracing_names_the_line_and_the_way_out():
    @sg.jit
    def f(x):
        if sg.sum(x) > 0:  # MARK-if
            return x
        return -x

    with pytest.raises(TracingError) as info:
        f(np.ones(3, "float32"))
    message = str(info.value)
    assert "sg.where" in message and "sg.cond" in message and f"{__file__}:" in message


def test_a_symbolic_size_has_no_value_now():
    p = sg.placeholder((None,), name="p")
    n = sg.arange(p.shape[0])  # reads the call's size, not a placeholder's value
    assert not n.bound
    with pytest.raises(TypeError, match="symbolic"):
        n.numpy()
    assert "numpy" not in str(n)
