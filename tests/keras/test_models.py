"""Models: Sequential, functional, subclassed; summary; weights; the errors users meet."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(1)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def test_import_surface():
    import symgraph.keras as keras2

    assert keras2 is keras
    for name in (
        "Input",
        "Model",
        "Sequential",
        "layers",
        "models",
        "utils",
        "backend",
        "datasets",
        "initializers",
        "regularizers",
        "activations",
        "optimizers",
        "losses",
        "metrics",
        "callbacks",
    ):
        assert hasattr(keras, name), name
    assert keras.models.Sequential is keras.Sequential
    assert callable(keras.datasets.mnist.load_data)


def test_sequential_forms_agree():
    keras.backend.clear_session()
    a = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    b = keras.Sequential()
    with pytest.warns(UserWarning, match="Input"):  # Keras 3 accepts it and suggests Input
        b.add(L.Dense(3, activation="relu", input_shape=(4,)))
    b.add(L.Dense(2))
    with pytest.warns(UserWarning, match="input_dim"):
        c = keras.Sequential([L.Dense(3, activation="relu", input_dim=4), L.Dense(2)])
    for m in (a, b, c):
        assert m.output_shape == (None, 2)
        assert [w.shape for w in m.weights] == [(4, 3), (3,), (3, 2), (2,)]
    b.set_weights(a.get_weights())
    x = _x(5, 4)
    w1, b1, w2, b2 = a.get_weights()
    ref = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    pa, pb = a.predict(x, verbose=0), b.predict(x, verbose=0)
    assert pa.dtype == np.float32
    np.testing.assert_allclose(pa, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_allclose(a.predict_on_batch(x), ref, rtol=1e-5, atol=1e-6)


def test_sequential_built_from_first_data():
    m = keras.Sequential([L.Dense(3), L.Dense(1)])
    assert not m.built
    y = m.predict(_x(4, 6), verbose=0)
    assert y.shape == (4, 1) and m.layers[0].kernel.shape == (6, 3)


def test_functional_two_inputs_two_outputs():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    joined = L.Concatenate()([L.Dense(4)(a), L.Dense(4)(b)])
    out1 = L.Dense(1, name="out1")(joined)
    out2 = L.Dense(2, activation="softmax", name="out2")(L.add([L.Dense(8)(a), joined]))
    model = keras.Model(inputs=[a, b], outputs=[out1, out2])
    assert model.output_shape == [(None, 1), (None, 2)]
    assert [layer.name for layer in model.layers][:2] == ["a", "b"]
    xa, xb = _x(5, 3), _x(5, 2)
    p1, p2 = model.predict([xa, xb], verbose=0)
    assert p1.shape == (5, 1) and p2.shape == (5, 2)
    np.testing.assert_allclose(p2.sum(1), 1.0, rtol=1e-5)
    q1, q2 = model.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_array_equal(p1, q1)
    model.compile(
        "sgd", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5], metrics=[["mae"], ["acc"]]
    )
    y1, y2 = _x(5, 1), np.array([0, 1, 0, 1, 1])
    history = model.fit([xa, xb], [y1, y2], epochs=2, verbose=0)
    # Keras 3's keys: the total, each output's unweighted loss, metrics prefixed by output name
    assert list(history.history) == ["loss", "out1_loss", "out1_mae", "out2_acc", "out2_loss"]
    result = model.evaluate([xa, xb], [y1, y2], verbose=0)
    assert len(result) == 5
    loss, loss1, loss2 = result[:3]
    assert loss == pytest.approx(loss1 + 0.5 * loss2, rel=1e-5)
    p1, p2 = model.predict([xa, xb], verbose=0)
    assert loss1 == pytest.approx(float(np.mean((p1 - y1) ** 2)), rel=1e-5)


def test_functional_legacy_keywords():
    x = keras.Input((3,))
    y = L.Dense(2)(x)
    with pytest.warns(DeprecationWarning) as caught:
        model = keras.Model(input=x, output=y)
    messages = [str(w.message) for w in caught]
    assert any("Model(inputs=" in m for m in messages) and any("Model(outputs=" in m for m in messages)
    assert model.output_shape == (None, 2)


def test_keras_tensor_arithmetic_builds_nodes():
    x = keras.Input((3,))
    y = L.Dense(3)(x)
    model = keras.Model(x, y * 2.0 + x)
    data = _x(4, 3)
    kernel, bias = model.layers[1].get_weights()
    np.testing.assert_allclose(model.predict(data, verbose=0), (data @ kernel + bias) * 2 + data, rtol=1e-5, atol=1e-6)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = L.Dense(4, activation="relu")
        self.drop = L.Dropout(0.5)
        self.out = L.Dense(1)
        self.seen_training = []

    def call(self, x, training=None):
        self.seen_training.append(training)
        return self.out(self.drop(self.hidden(x), training=training))


def test_subclassed_model_training_flag():
    model = _Subclassed()
    model.compile("sgd", "mse")
    x, y = _x(8, 3), _x(8, 1)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert True in model.seen_training
    model.seen_training.clear()
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert model.seen_training and all(t is False for t in model.seen_training)
    assert [w.shape for w in model.weights] == [(3, 4), (4,), (4, 1), (1,)]
    # predict is deterministic (dropout off), fit trains through dropout
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_subclassed_call_without_training_argument():
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Plain()
    out = model(_x(3, 4))
    assert out.shape == (3, 2)
    assert model.name == "plain"


def test_summary_matches_keras_table(capsys):
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((4,)), L.Dense(8), L.Dense(3)])
    model.summary(line_length=76)
    text = capsys.readouterr().out
    expected = """Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 8)              │            40 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 3)              │            27 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 67 (268.00 B)
 Trainable params: 67 (268.00 B)
 Non-trainable params: 0 (0.00 B)
"""
    assert text == expected


def test_summary_functional_connected_to_and_wrapping(capsys):
    keras.backend.clear_session()
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    d1 = L.Dense(3)
    out = L.Add()([d1(a), L.Dense(3)(b)])
    keras.Model([a, b], out).summary(line_length=76)
    text = capsys.readouterr().out
    # Keras 3.15 prints this table at 76 columns (read off the real library).
    assert "│ a (InputLayer)      │ (None, 4)         │          0 │ -                 │" in text
    assert "│ dense (Dense)       │ (None, 3)         │         15 │ a[0][0]           │" in text
    assert "│ add (Add)           │ (None, 3)         │          0 │ dense[0][0],      │" in text
    assert "│                     │                   │            │ dense_1[0][0]     │" in text
    assert "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃" in text


def test_get_set_weights_and_trainable():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2), L.BatchNormalization()])
    assert len(model.trainable_variables) == 4 and len(model.non_trainable_weights) == 2
    weights = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2
    with pytest.raises(ValueError, match="weight"):
        model.set_weights(weights[:2])


def test_error_not_compiled():
    model = keras.Sequential([keras.Input((3,)), L.Dense(1)])
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        model.fit(_x(4, 3), _x(4, 1), verbose=0)
    with pytest.raises(ValueError, match="compile"):
        model.evaluate(_x(4, 3), _x(4, 1), verbose=0)


def test_error_wrong_input_width_names_layer_and_shapes():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((4,)), L.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r'layer "dense".*expected axis -1 of input shape to have value 4.*\(6, 5\)'):
        model.fit(_x(6, 5), _x(6, 2), verbose=0)
    with pytest.raises(ValueError, match=r'layer "dense"'):
        model.predict(_x(6, 5), verbose=0)


def test_error_data_cardinality():
    model = keras.Sequential([keras.Input((4,)), L.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous(.|\n)*'x' sizes: 6(.|\n)*'y' sizes: 5"):
        model.fit(_x(6, 4), _x(5, 2), verbose=0)


def test_error_unknown_loss_and_bare_metric_string():
    model = keras.Sequential([keras.Input((4,)), L.Dense(2)])
    with pytest.raises(ValueError, match="Could not interpret loss identifier: foo"):
        model.compile("sgd", "foo")
    with pytest.raises(TypeError, match="metrics"):
        model.compile("sgd", "mse", metrics="accuracy")


def test_error_functional_wrong_input_names_layer():
    keras.backend.clear_session()
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2)(x))
    with pytest.raises(ValueError, match=r'layer "dense".*value 3'):
        model.predict(_x(2, 4), verbose=0)
