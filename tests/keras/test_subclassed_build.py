"""``build(input_shape)`` on a subclassed model traces ``call`` on a symbolic input, so the
sublayers exist before any data: ``count_params()`` and ``summary()`` show the real
counts and shapes, and the weights are the ones fit and predict then use (checked
against numpy). Keras 3 only marks such a model built; tf.keras 2 traced it, as here."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(5)
X = RNG.standard_normal((6, 3)).astype("float32")


class MLP(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = L.Dense(8, activation="tanh")
        self.norm = L.BatchNormalization()
        self.drop = L.Dropout(0.5)
        self.head = L.Dense(2)

    def call(self, x, training=None):
        return self.head(self.drop(self.norm(self.hidden(x), training=training), training=training))


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_build_creates_every_sublayer_weight_before_any_data():
    model = MLP(name="mlp")
    assert model.count_params() == 0
    model.build((None, 3))
    assert model.built and all(layer.built for layer in model.layers)
    shapes = [tuple(w.shape) for w in model.weights]
    assert shapes == [(3, 8), (8,), (8,), (8,), (8,), (8,), (8, 2), (2,)]
    expected = 3 * 8 + 8 + 4 * 8 + 8 * 2 + 2  # Dense, BatchNormalization (4 vectors), Dense
    assert model.count_params() == expected == sum(layer.count_params() for layer in model.layers)
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    text = _summary(model)
    assert "unbuilt" not in text
    for row in ("(None, 8)", "(None, 2)", f"Total params: {expected}", "Non-trainable params: 16"):
        assert row in text
    name = model.hidden.name  # paths as the first call on data names them
    assert [w.path for w in model.hidden.weights] == [f"mlp/{name}/kernel", f"mlp/{name}/bias"]


def test_the_built_weights_are_the_ones_predict_and_fit_use():
    model = MLP()
    model.build((None, 3))
    kernel, bias = (w.get_value() for w in model.hidden.weights)
    head_kernel, head_bias = (w.get_value() for w in model.head.weights)
    gamma, beta, mean, var = (w.get_value() for w in model.norm.weights)
    hidden = np.tanh(X @ kernel + bias)
    expected = ((hidden - mean) / np.sqrt(var + 1e-3) * gamma + beta) @ head_kernel + head_bias
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    weights_before = model.get_weights()
    model.fit(X, np.zeros((6, 2), "float32"), epochs=1, verbose=0)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights_before]
    np.testing.assert_array_equal(model.get_weights()[0], weights_before[0])  # no new weights were made


def test_the_layout_matches_a_model_built_by_its_first_call(tmp_path):
    built = MLP()
    built.build((None, 3))
    called = MLP()
    called(X)
    assert [w.name for w in built.weights] == [w.name for w in called.weights]
    path = tmp_path / "mlp.weights.h5"
    built.save_weights(path)
    called.load_weights(path)
    for a, b in zip(called.get_weights(), built.get_weights()):
        np.testing.assert_array_equal(a, b)


class TwoInputs(keras.Model):
    def __init__(self):
        super().__init__()
        self.left = L.Dense(4)
        self.right = L.Dense(4)
        self.out = L.Dense(1)

    def call(self, inputs):
        if isinstance(inputs, dict):
            inputs = [inputs["a"], inputs["b"]]
        return self.out(self.left(inputs[0]) + self.right(inputs[1]))


@pytest.mark.parametrize("shape", [[(None, 3), (None, 5)], {"a": (None, 3), "b": (None, 5)}], ids=["list", "dict"])
def test_several_inputs_build_from_a_list_or_dict_of_shapes(shape):
    model = TwoInputs()
    model.build(shape)
    assert [tuple(w.shape) for w in model.weights] == [(3, 4), (4,), (5, 4), (4,), (4, 1), (1,)]
    assert model.count_params() == 16 + 24 + 5


class Outer(keras.Model):
    def __init__(self):
        super().__init__()
        self.inner = MLP()
        self.scale = L.Dense(1, use_bias=False)

    def call(self, x):
        return self.scale(self.inner(x))


def test_nested_subclassed_models_and_an_own_build_calling_super():
    outer = Outer()
    outer.build((None, 3))
    assert outer.inner.built and outer.count_params() == outer.inner.count_params() + 2

    class WithOwnWeight(MLP):
        def build(self, input_shape):
            self.offset = self.add_weight(shape=(2,), initializer="ones", name="offset")
            super().build(input_shape)

        def call(self, x, training=None):
            return super().call(x, training=training) + self.offset

    model = WithOwnWeight()
    model.build((None, 3))
    assert model.hidden.built
    reference = MLP()
    reference.build((None, 3))
    assert model.count_params() == reference.count_params() + 2


def test_a_call_that_cannot_be_traced_says_to_call_the_model_on_data():
    class NeedsValues(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            if float(np.asarray(x).sum()) > 0:  # a Python decision on the values
                return self.dense(x)
            return self.dense(-x)

    model = NeedsValues()
    with pytest.raises(ValueError, match="calling it on a batch of data"):
        model.build((None, 3))
    assert not model.built
    with pytest.raises(ValueError, match="input_shape"):
        MLP().build()
    with pytest.raises(ValueError, match="shape tuple"):
        MLP().build("3")


def test_functional_and_sequential_build_are_unchanged():
    inputs = keras.Input((3,))
    functional = keras.Model(inputs, L.Dense(2)(inputs))
    before = functional.get_weights()
    functional.build((None, 3))
    assert all(np.array_equal(a, b) for a, b in zip(functional.get_weights(), before))
    sequential = keras.Sequential([L.Dense(2)])
    sequential.build((None, 4))
    assert sequential.count_params() == 10
