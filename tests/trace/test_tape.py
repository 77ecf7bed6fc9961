"""GradientTape: eager gradients checked by finite differences (float64), TensorFlow's
rules for what is watched and what is unconnected, and the same gradients under sg.jit."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(1)


def _loss(W, b, x):
    return sg.sum(sg.tanh(x @ W + b) ** 2) + 0.5 * sg.sum(W * W)


def _finite_difference(f, value: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(value)
    for i in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def test_tape_gradients_match_finite_differences():
    W0 = RNG.standard_normal((3, 2))
    b0 = RNG.standard_normal(2)
    x = sg.eager_tensor(RNG.standard_normal((4, 3)))
    W, b = sg.Variable(W0, name="W"), sg.Variable(b0, name="b")
    with sg.GradientTape() as tape:
        loss = _loss(W, b, x)
    gW, gb = tape.gradient(loss, [W, b])

    def at(Wv, bv):
        with sg.eager():
            return float(_loss(sg.eager_tensor(Wv), sg.eager_tensor(bv), x))

    np.testing.assert_allclose(gW.numpy(), _finite_difference(lambda v: at(v, b0), W0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb.numpy(), _finite_difference(lambda v: at(W0, v), b0), rtol=1e-6, atol=1e-8)


def test_sources_in_nested_lists_and_dicts_come_back_in_their_structure():
    W, b = sg.Variable(np.ones((2, 2)), name="W"), sg.Variable(np.zeros(2), name="b")
    x = sg.eager_tensor(np.array([[1.0, 2.0]]))
    with sg.GradientTape() as tape:
        loss = sg.sum(x @ W + b)
    grads = tape.gradient(loss, {"dense": [W, b], "bias_only": (b,)})
    assert set(grads) == {"dense", "bias_only"} and isinstance(grads["bias_only"], tuple)
    np.testing.assert_array_equal(grads["dense"][0].numpy(), [[1, 1], [2, 2]])
    np.testing.assert_array_equal(grads["dense"][1].numpy(), [1, 1])
    np.testing.assert_array_equal(grads["bias_only"][0].numpy(), [1, 1])


def test_unconnected_sources_get_none_or_zeros():
    W, unused = sg.Variable(np.ones(2), name="W"), sg.Variable(np.ones(3), name="unused")
    with sg.GradientTape(persistent=True) as tape:
        loss = sg.sum(W * 3)
    gW, gu = tape.gradient(loss, [W, unused])
    assert gu is None
    np.testing.assert_array_equal(gW.numpy(), [3, 3])
    _, zero = tape.gradient(loss, [W, unused], unconnected_gradients="zero")
    np.testing.assert_array_equal(zero.numpy(), [0, 0, 0])


def test_non_trainable_variables_and_eager_tensors_need_watch():
    frozen = sg.Variable(np.array([2.0]), trainable=False, name="frozen")
    x = sg.eager_tensor(np.array([3.0]))
    with sg.GradientTape(persistent=True) as tape:
        y = sg.sum(frozen * x * x)
    assert tape.gradient(y, frozen) is None and tape.gradient(y, x) is None
    with sg.GradientTape(persistent=True) as tape:
        tape.watch([frozen, x])
        y = sg.sum(frozen * x * x)
    np.testing.assert_array_equal(tape.gradient(y, frozen).numpy(), [9.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [12.0])
    with sg.GradientTape(watch_accessed_variables=False) as tape:
        y = sg.sum(sg.Variable(np.ones(1)) * 2)
    assert tape.gradient(y, []) == []


def test_a_non_persistent_tape_answers_once():
    W = sg.Variable(np.ones(2))
    with sg.GradientTape() as tape:
        loss = sg.sum(W**2)
    tape.gradient(loss, W)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(loss, W)


def test_stop_recording_makes_a_constant():
    W = sg.Variable(np.array([2.0]))
    with sg.GradientTape() as tape:
        a = W * W
        with tape.stop_recording():
            b = W * 10  # not recorded: a constant to the tape
        loss = sg.sum(a + b)
    np.testing.assert_array_equal(tape.gradient(loss, W).numpy(), [4.0])


def test_output_gradients_weight_the_targets():
    W = sg.Variable(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        y = W * W
    g = tape.gradient(y, W, output_gradients=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, 40.0])


def test_gradient_of_an_intermediate_tensor():
    x = sg.eager_tensor(np.array(3.0))
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert float(tape.gradient(z, y)) == 18.0  # 2y
    assert float(tape.gradient(z, x)) == 108.0  # 4x^3


def test_tape_under_jit_matches_eager():
    W0 = RNG.standard_normal((3, 2)).astype("float32")
    b0 = RNG.standard_normal(2).astype("float32")
    x = RNG.standard_normal((5, 3)).astype("float32")
    W, b = sg.Variable(W0), sg.Variable(b0)

    def grads(xb):
        with sg.GradientTape() as tape:
            loss = _loss(W, b, xb)
        return tape.gradient(loss, {"W": W, "b": b})

    eager = grads(sg.eager_tensor(x))
    traced = sg.jit(grads)(x)
    for k in ("W", "b"):
        assert type(traced[k]) is sg.EagerTensor
        np.testing.assert_allclose(traced[k].numpy(), eager[k].numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_under_jit_sees_an_assigned_variable():
    W = sg.Variable(np.array([1.0, 2.0], "float32"))

    @sg.jit
    def step():
        W.assign(W * 3)  # later reads see 3W
        with sg.GradientTape() as tape:
            loss = sg.sum(W * W)
        return tape.gradient(loss, W)

    np.testing.assert_allclose(step().numpy(), [6.0, 12.0])  # d/dW' of W'^2 at W' = 3W
    np.testing.assert_allclose(W.numpy(), [3.0, 6.0])
