"""sg.jit: one trace per signature (retraces counted), the batch axis symbolic, Variables
in program order becoming updates, trace-vs-eager equality, and inspection."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import InputError

RNG = np.random.default_rng(2)


def _batch(n: int, features: int = 3) -> np.ndarray:
    return RNG.standard_normal((n, features)).astype("float32")


def test_one_trace_serves_every_batch_size():
    W = sg.Variable(RNG.standard_normal((3, 2)).astype("float32"))

    @sg.jit
    def predict(x):
        return sg.tanh(x @ W)

    for n in (32, 32, 7, 1):  # the last short batch of an epoch does not retrace
        x = _batch(n)
        out = predict(x)
        assert type(out) is sg.EagerTensor and out.shape == (n, 2)
        np.testing.assert_allclose(out.numpy(), np.tanh(x @ W.get_value()), rtol=1e-5)
    assert predict.trace_count == 1 == predict.experimental_get_tracing_count()


def test_what_retraces():
    calls = []

    @sg.jit
    def f(x, scale):
        calls.append(scale)  # a Python side effect runs once per trace
        return x * scale

    f(_batch(4), 2.0)
    f(_batch(5), 2.0)
    assert f.trace_count == 1
    np.testing.assert_allclose(f(np.ones((2, 3), "float32"), 3.0).numpy(), 3.0)  # a new Python scalar
    assert f.trace_count == 2
    f(np.ones((2, 3), "float64"), 3.0)  # a new dtype
    f(np.ones((2, 3, 1), "float64"), 3.0)  # a new rank
    f(np.ones((2, 4), "float64"), 3.0)  # a new trailing shape
    assert f.trace_count == 5 and calls == [2.0, 3.0, 3.0, 3.0, 3.0]


def test_retrace_reason_under_symgraph_debug(monkeypatch, capsys):
    monkeypatch.setenv("SYMGRAPH_DEBUG", "1")
    f = sg.jit(lambda x, k: x + k)
    f(np.ones(2, "float32"), 1)
    capsys.readouterr()
    f(np.ones(2, "float32"), 2)
    err = capsys.readouterr().err
    assert "jit: tracing '<lambda>' again" in err and "the Python value 1, now the Python value 2" in err


def test_input_signature_and_reduce_retracing():
    f = sg.jit(lambda x: sg.sum(x, axis=-1), input_signature=[sg.TensorSpec((None, None), "float32")])
    assert f(np.ones((2, 3), "float32")).shape == (2,)
    assert f(np.ones((4, 5), "float32")).shape == (4,)
    assert f.trace_count == 1
    with pytest.raises(InputError, match="input_signature"):
        f(np.ones(3, "float32"))
    g = sg.jit(lambda x: x * 2, reduce_retracing=True)
    g(np.ones((2, 3), "float32"))
    g(np.ones((5, 7), "float32"))
    assert g.trace_count == 1


def test_assigns_become_updates_in_program_order():
    v = sg.Variable(np.array([1.0, 2.0], "float32"), name="v")
    count = sg.Variable(np.array(0, "int32"), name="count")

    @sg.jit
    def step(x):
        before = v.read_value()
        v.assign_add(x)  # later reads see v + x
        doubled = v * 2
        v.assign(doubled)
        count.assign_add(1)
        return before, doubled

    before, doubled = step(np.array([1.0, 1.0], "float32"))
    np.testing.assert_array_equal(before.numpy(), [1, 2])
    np.testing.assert_array_equal(doubled.numpy(), [4, 6])
    np.testing.assert_array_equal(v.numpy(), [4, 6])
    step(np.array([0.0, 0.0], "float32"))
    np.testing.assert_array_equal(v.numpy(), [8, 12])
    assert int(count.numpy()) == 2 and step.trace_count == 1


def test_theano_updates_keep_their_meaning_beside_jit():
    W = sg.Variable(np.array([1.0], "float32"))
    x = sg.placeholder((1,), name="x")
    f = sg.function([x], W * x, updates=[(W, W + x)])  # outputs from the values before the call
    np.testing.assert_array_equal(f(np.array([2.0], "float32")), [2.0])
    np.testing.assert_array_equal(W.get_value(), [3.0])


def test_traced_program_equals_eager_program():
    W0 = RNG.standard_normal((3, 4)).astype("float32")
    x = _batch(6)
    y = RNG.integers(0, 4, 6).astype("int32")

    def make():
        return sg.Variable(W0.copy(), name="W"), sg.Variable(np.zeros(4, "float32"), name="b")

    def train_step(W, b, xb, yb):
        with sg.GradientTape() as tape:
            logits = xb @ W + b
            loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(logits, yb))
        gW, gb = tape.gradient(loss, [W, b])
        W.assign_sub(0.5 * gW)
        b.assign_sub(0.5 * gb)
        return loss

    We, be = make()
    Wt, bt = make()
    traced = sg.jit(lambda xb, yb: train_step(Wt, bt, xb, yb))
    for _ in range(3):
        le = train_step(We, be, sg.eager_tensor(x), sg.eager_tensor(y))
        lt = traced(x, y)
        np.testing.assert_allclose(float(lt), float(le), rtol=1e-5)
    np.testing.assert_allclose(Wt.numpy(), We.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bt.numpy(), be.numpy(), rtol=1e-5, atol=1e-6)


def test_results_keep_their_structure_and_python_values():
    @sg.jit
    def f(inputs):
        return {"sum": inputs["a"] + inputs["b"], "pair": (inputs["a"] * 2, 7), "none": None}

    out = f({"a": np.ones(2, "float32"), "b": np.full(2, 2.0, "float32")})
    np.testing.assert_array_equal(out["sum"].numpy(), [3, 3])
    np.testing.assert_array_equal(out["pair"][0].numpy(), [2, 2])
    assert out["pair"][1] == 7 and out["none"] is None


def test_print_inside_a_traced_function_prints_at_every_call(capsys):
    @sg.jit
    def f(x):
        sg.print("total:", sg.sum(x))
        return x

    f(np.ones(3, "float32"))
    f(np.full(2, 5.0, "float32"))
    assert capsys.readouterr().out.splitlines() == ["total: 3.0", "total: 10.0"]


def test_random_draws_differ_call_to_call():
    sg.random.seed(5)
    f = sg.jit(lambda x: x + sg.random.uniform(x.shape))
    a, b = f(np.zeros(4, "float32")).numpy(), f(np.zeros(4, "float32")).numpy()
    assert not np.array_equal(a, b) and f.trace_count == 1


def test_methods_trace_per_object_and_inspection():
    class Model:
        def __init__(self, scale):
            self.w = sg.Variable(np.array(scale, "float32"))

        @sg.jit
        def __call__(self, x):
            return x * self.w

    m1, m2 = Model(2.0), Model(3.0)
    np.testing.assert_array_equal(m1(np.ones(2, "float32")).numpy(), [2, 2])
    np.testing.assert_array_equal(m2(np.ones(2, "float32")).numpy(), [3, 3])
    traced = Model.__call__.__get__(m1)
    assert traced is Model.__call__.__get__(m1) and traced.trace_count == 1
    assert "mul" in traced.dump() and "k" in traced.c_source and traced.report is not None


def test_a_traced_function_called_inside_another_is_inlined():
    inner = sg.jit(lambda x: x * 2)
    outer = sg.jit(lambda x: inner(x) + 1)
    np.testing.assert_array_equal(outer(np.ones(2, "float32")).numpy(), [3, 3])
    assert inner.trace_count == 0 and outer.trace_count == 1


def test_same_graph_traced_twice_finds_its_unit():
    """Deterministic units: a second traced function with the same graph compiles nothing."""

    def make():
        W = sg.Variable(np.ones((3, 2), "float32"), name="W")
        return sg.jit(lambda x: sg.tanh(x @ W))

    f, g = make(), make()
    f(np.ones((4, 3), "float32"))
    g(np.ones((4, 3), "float32"))
    assert "compiler" not in g.function.compile_times
