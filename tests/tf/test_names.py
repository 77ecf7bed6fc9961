"""symgraph.tf: each TensorFlow name against its numpy meaning, eagerly and traced."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph import tf
from symgraph.errors import UnsupportedError

RNG = np.random.default_rng(3)
A = RNG.standard_normal((3, 4)).astype("float32")
B = RNG.standard_normal((3, 4)).astype("float32")
P = np.abs(A) + 0.5
M = RNG.standard_normal((4, 2)).astype("float32")
I = np.array([0, 2, 1], "int32")

# (name, call, numpy expectation)
CASES = [
    ("add", lambda: tf.add(A, B), A + B),
    ("subtract", lambda: tf.subtract(A, B), A - B),
    ("multiply", lambda: tf.multiply(A, B), A * B),
    ("divide", lambda: tf.divide(A, P), A / P),
    ("square", lambda: tf.square(A), A * A),
    ("pow", lambda: tf.pow(P, 1.5), P**1.5),
    ("sqrt", lambda: tf.sqrt(P), np.sqrt(P)),
    ("exp", lambda: tf.exp(A), np.exp(A)),
    ("log", lambda: tf.log(P), np.log(P)),
    ("abs", lambda: tf.abs(A), np.abs(A)),
    ("maximum", lambda: tf.maximum(A, B), np.maximum(A, B)),
    ("minimum", lambda: tf.minimum(A, B), np.minimum(A, B)),
    ("matmul", lambda: tf.matmul(A, M), A @ M),
    ("matmul_transpose_b", lambda: tf.matmul(A, B, transpose_b=True), A @ B.T),
    ("reduce_sum", lambda: tf.reduce_sum(A, axis=1), A.sum(1)),
    ("reduce_mean_all", lambda: tf.reduce_mean(A), A.mean()),
    ("reduce_max_keepdims", lambda: tf.reduce_max(A, axis=0, keepdims=True), A.max(0, keepdims=True)),
    ("reduce_min_list", lambda: tf.reduce_min(A, axis=[0, 1]), A.min()),
    ("reduce_prod", lambda: tf.reduce_prod(P, axis=1), P.prod(1)),
    ("reduce_any", lambda: tf.reduce_any(A > 1, axis=1), (A > 1).any(1)),
    ("reduce_all", lambda: tf.reduce_all(A > -5), (A > -5).all()),
    ("argmax_axis0_int64", lambda: tf.argmax(A), A.argmax(0).astype("int64")),
    ("argmin_axis1", lambda: tf.argmin(A, axis=1), A.argmin(1).astype("int64")),
    ("equal", lambda: tf.equal(I, 2), I == 2),
    ("not_equal", lambda: tf.not_equal(I, 2), I != 2),
    ("greater", lambda: tf.greater(A, B), A > B),
    ("greater_equal", lambda: tf.greater_equal(A, B), A >= B),
    ("less", lambda: tf.less(A, B), A < B),
    ("less_equal", lambda: tf.less_equal(A, B), A <= B),
    ("logical_and", lambda: tf.logical_and(A > 0, B > 0), (A > 0) & (B > 0)),
    ("logical_or", lambda: tf.logical_or(A > 0, B > 0), (A > 0) | (B > 0)),
    ("logical_not", lambda: tf.logical_not(A > 0), ~(A > 0)),
    ("where", lambda: tf.where(A > 0, A, B), np.where(A > 0, A, B)),
    ("one_hot", lambda: tf.one_hot(I, 3), np.eye(3, dtype="float32")[I]),
    ("one_hot_on_off", lambda: tf.one_hot(I, 3, on_value=5.0, off_value=-1.0), np.where(np.eye(3)[I] > 0, 5, -1)),
    ("clip_by_value", lambda: tf.clip_by_value(A, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
    ("gather", lambda: tf.gather(A, I), A[I]),
    ("gather_axis1", lambda: tf.gather(A, [3, 0], axis=1), A[:, [3, 0]]),
    ("cast", lambda: tf.cast(A, tf.int32), A.astype("int32")),
    ("reshape", lambda: tf.reshape(A, [4, 3]), A.reshape(4, 3)),
    ("reshape_minus_one", lambda: tf.reshape(A, (-1,)), A.reshape(-1)),
    ("transpose", lambda: tf.transpose(A), A.T),
    ("concat", lambda: tf.concat([A, B], axis=0), np.concatenate([A, B])),
    ("stack", lambda: tf.stack([A, B], axis=1), np.stack([A, B], 1)),
    ("squeeze_list", lambda: tf.squeeze(A[None, :, None], axis=[0, 2]), A),
    ("expand_dims", lambda: tf.expand_dims(A, 1), A[:, None]),
    ("newaxis", lambda: tf.constant(A)[:, tf.newaxis], A[:, None]),
    ("zeros", lambda: tf.zeros((2, 3)), np.zeros((2, 3), "float32")),
    ("ones_int", lambda: tf.ones([2], tf.int32), np.ones(2, "int32")),
    ("fill", lambda: tf.fill([2, 2], 7.0), np.full((2, 2), 7.0, "float32")),
    ("zeros_like", lambda: tf.zeros_like(A), np.zeros_like(A)),
    ("ones_like", lambda: tf.ones_like(I), np.ones_like(I)),
    ("range", lambda: tf.range(5), np.arange(5, dtype="int32")),
    ("range_float", lambda: tf.range(0.0, 1.0, 0.25), np.arange(0, 1, 0.25, dtype="float32")),
    ("linspace", lambda: tf.linspace(0.0, 1.0, 5), np.linspace(0, 1, 5, dtype="float32")),
    ("shape", lambda: tf.shape(A), np.array([3, 4], "int32")),
    ("size", lambda: tf.size(A), np.int32(12)),
    ("rank", lambda: tf.rank(A), np.int32(2)),
    ("constant", lambda: tf.constant([1.0, 2.0]), np.array([1, 2], "float32")),
    ("constant_shape", lambda: tf.constant(0.5, shape=(2, 2)), np.full((2, 2), 0.5, "float32")),
    ("constant_int", lambda: tf.constant([1, 2]), np.array([1, 2], "int32")),
    ("convert_to_tensor", lambda: tf.convert_to_tensor(A, tf.float64), A.astype("float64")),
    ("nn.relu", lambda: tf.nn.relu(A), np.maximum(A, 0)),
    ("nn.sigmoid", lambda: tf.nn.sigmoid(A), 1 / (1 + np.exp(-A))),
    ("nn.tanh", lambda: tf.nn.tanh(A), np.tanh(A)),
    ("nn.softmax", lambda: tf.nn.softmax(A), np.exp(A) / np.exp(A).sum(1, keepdims=True)),
    ("nn.log_softmax", lambda: tf.nn.log_softmax(A), A - np.log(np.exp(A).sum(1, keepdims=True))),
    ("nn.leaky_relu", lambda: tf.nn.leaky_relu(A), np.where(A > 0, A, 0.2 * A)),
    (
        "nn.sparse_softmax_cross_entropy_with_logits",
        lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(I, A[:, :3]),
        -(A[:, :3] - np.log(np.exp(A[:, :3]).sum(1, keepdims=True)))[np.arange(3), I],
    ),
    (
        "nn.softmax_cross_entropy_with_logits",
        lambda: tf.nn.softmax_cross_entropy_with_logits(np.eye(4, dtype="float32")[[0, 3, 1]], A),
        -(A - np.log(np.exp(A).sum(1, keepdims=True)))[np.arange(3), [0, 3, 1]],
    ),
    (
        "nn.sigmoid_cross_entropy_with_logits",
        lambda: tf.nn.sigmoid_cross_entropy_with_logits((B > 0).astype("float32"), A),
        np.maximum(A, 0) - A * (B > 0) + np.log1p(np.exp(-np.abs(A))),
    ),
    ("losses.mse", lambda: tf.losses.mean_squared_error(A, B), ((A - B) ** 2).mean(-1)),
]


@pytest.mark.parametrize("name, call, expected", CASES, ids=[c[0] for c in CASES])
def test_name_agrees_with_numpy(name, call, expected):
    got = call()
    assert type(got) is sg.EagerTensor, f"tf.{name} returned {type(got).__name__}"
    expected = np.asarray(expected)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got.numpy(), expected, rtol=2e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got.numpy(), expected)
    assert got.shape == expected.shape
    if name not in ("one_hot_on_off", "losses.mse"):
        assert got.dtype == expected.dtype, f"{got.dtype} != {expected.dtype}"


def test_names_inside_tf_function_build_the_same_values():
    @tf.function
    def program(a, b):
        h = tf.nn.relu(tf.matmul(a, tf.transpose(b)))
        return tf.reduce_sum(h, axis=1), tf.argmax(h, axis=1), tf.shape(a)

    s, k, shape = program(A, B)
    h = np.maximum(A @ B.T, 0)
    np.testing.assert_allclose(s.numpy(), h.sum(1), rtol=1e-5)
    np.testing.assert_array_equal(k.numpy(), h.argmax(1))
    np.testing.assert_array_equal(shape.numpy(), [3, 4])


def test_random_follows_set_seed():
    tf.random.set_seed(7)
    a = tf.random.normal((3,)), tf.random.uniform((2,), 1.0, 2.0), tf.random.truncated_normal((4,))
    tf.random.set_seed(7)
    b = tf.random.normal((3,)), tf.random.uniform((2,), 1.0, 2.0), tf.random.truncated_normal((4,))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert not np.array_equal(a[0].numpy()[:2], a[1].numpy())
    assert np.all((a[1].numpy() >= 1) & (a[1].numpy() < 2)) and np.all(np.abs(a[2].numpy()) <= 2)
    shuffled = tf.random.shuffle(np.arange(10))
    assert sorted(shuffled.numpy().tolist()) == list(range(10))
    tf.random.set_seed(7)
    first = tf.data.Dataset.range(20).shuffle(20)
    tf.random.set_seed(7)
    again = tf.data.Dataset.range(20).shuffle(20)
    assert [int(x) for x in first] == [int(x) for x in again]


def test_dropout_keeps_the_mean():
    tf.random.set_seed(0)
    x = np.ones((200, 50), "float32")
    y = tf.nn.dropout(x, 0.25).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)} and abs(y.mean() - 1) < 0.02


def test_dataset_elements_are_eager_tensors():
    ds = tf.data.Dataset.from_tensor_slices((A, I)).batch(2)
    xb, yb = next(iter(ds))
    assert type(xb) is sg.EagerTensor and xb.shape == (2, 4) and yb.dtype == np.int32
    assert (xb + 1).numpy().shape == (2, 4)


def test_a_missing_name_says_so():
    with pytest.raises(UnsupportedError, match="tf.einsum is not provided"):
        _ = tf.einsum
    with pytest.raises(UnsupportedError, match="tf.nn.conv3d"):
        _ = tf.nn.conv3d
    with pytest.raises(UnsupportedError, match="tf.random.poisson"):
        _ = tf.random.poisson


def test_keras_and_dtypes_are_there():
    assert tf.keras is sg.keras and tf.float32 == np.float32 and tf.bool == np.bool_
    assert tf.function is sg.jit and tf.GradientTape is sg.GradientTape and tf.Variable is sg.Variable


def test_tf_math_names():
    x = np.array([0.5, 2.0], "float32")
    np.testing.assert_allclose(tf.math.log1p(x).numpy(), np.log1p(x), rtol=1e-6)
    np.testing.assert_allclose(tf.math.reduce_mean(x).numpy(), 1.25)
    np.testing.assert_allclose(tf.math.reciprocal(x).numpy(), 1 / x)
    np.testing.assert_allclose(tf.math.softplus(x).numpy(), np.log1p(np.exp(x)), rtol=1e-6)
    with pytest.raises(UnsupportedError, match="tf.math.bessel_i0"):
        _ = tf.math.bessel_i0


def test_tf_keras_imports_as_the_tutorials_write_it():
    from symgraph.tf.keras import Model
    from symgraph.tf.keras.layers import Dense

    assert Model is sg.keras.Model and Dense is sg.keras.layers.Dense


def test_module_collects_variables_through_attributes_lists_and_submodules():
    class Dense(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.w = tf.Variable(np.ones((2, 2), "float32"), name="w")
            self.b = tf.Variable(np.zeros(2, "float32"), name="b", trainable=False)

    class Stack(tf.Module):
        def __init__(self):
            super().__init__()
            self.layers = [Dense(), Dense(name="second")]
            self.shared = self.layers[0].w  # counted once

    stack = Stack()
    assert stack.name == "stack" and stack.layers[1].name == "second" and stack.layers[0].name == "dense"
    assert len(stack.variables) == 4 and len(stack.trainable_variables) == 2
    assert [m.name for m in stack.submodules] == ["dense", "second"]
    assert tf.executing_eagerly() and not tf.function(lambda x: tf.executing_eagerly())(np.ones(1))


def test_a_variable_prints_as_a_variable():
    v = tf.Variable(np.array([1.0, 2.0], "float32"), name="v")
    assert str(v) == repr(v) == "<sg.Variable 'v' shape=(2,) dtype=float32, numpy=[1., 2.]>"
