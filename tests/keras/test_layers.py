"""Each layer's forward pass and weight shapes against numpy versions of Keras' formulas.

Layers are called on numpy data (the eager path: graph on constants, evaluated by the
numpy reference interpreter), so these tests compile no C; test_models/test_fit cover
the compiled path.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from symgraph import keras
from symgraph.keras.variables import KerasVariable

L = keras.layers
RNG = np.random.default_rng(0)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def test_dense_weights_and_formula():
    layer = L.Dense(5, activation="relu")
    x = _x(3, 4)
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 5) and bias.shape == (5,)
    assert np.all(bias == 0)
    limit = np.sqrt(6 / (4 + 5))  # glorot_uniform
    assert np.abs(kernel).max() <= limit
    np.testing.assert_allclose(y, np.maximum(x @ kernel, 0), rtol=1e-6, atol=1e-6)
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]


def test_dense_on_rank3_applies_to_last_axis():
    layer = L.Dense(2, use_bias=False)
    x = _x(2, 3, 4)
    y = layer(x)
    (kernel,) = layer.get_weights()
    np.testing.assert_allclose(y, x @ kernel, rtol=1e-5, atol=1e-6)


def test_activation_flatten_reshape_permute():
    x = _x(2, 3, 4)
    np.testing.assert_allclose(L.Activation("tanh")(x), np.tanh(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(L.Flatten()(x), x.reshape(2, 12))
    np.testing.assert_array_equal(L.Reshape((4, 3))(x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(L.Reshape((-1, 2))(x), x.reshape(2, 6, 2))
    np.testing.assert_array_equal(L.Permute((2, 1))(x), x.transpose(0, 2, 1))


def test_flatten_channels_first_moves_channels_last():
    x = _x(2, 3, 4, 5)  # (batch, channels, h, w)
    np.testing.assert_array_equal(L.Flatten(data_format="channels_first")(x), x.transpose(0, 2, 3, 1).reshape(2, -1))


def test_reshape_wrong_size_names_layer():
    with pytest.raises(ValueError, match="reshape"):
        L.Reshape((5, 5), name="reshape_bad")(_x(2, 3, 4))


def test_dropout_identity_at_inference_and_inverted_in_training():
    x = np.ones((200, 50), np.float32)
    layer = L.Dropout(0.5)
    np.testing.assert_array_equal(layer(x), x)
    y = np.asarray(layer(x, training=True))
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 2.0)  # 1 / (1 - rate)
    assert 0.4 < (y == 0).mean() < 0.6


def test_embedding_lookup_and_default_init():
    layer = L.Embedding(10, 3)
    ids = np.array([[1, 2], [9, 0]], np.int32)
    y = layer(ids)
    (table,) = layer.get_weights()
    assert table.shape == (10, 3) and np.abs(table).max() <= 0.05
    np.testing.assert_array_equal(y, table[ids])


def _conv2d_reference(x, w, b, stride, padding):
    kh, kw = w.shape[:2]
    n, h, wd, _ = x.shape
    if padding == "same":
        out_h, out_w = -(-h // stride), -(-wd // stride)
        ph = max((out_h - 1) * stride + kh - h, 0)
        pw = max((out_w - 1) * stride + kw - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        out_h, out_w = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, out_h, out_w, w.shape[3]), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, i, j] = np.einsum("bhwc,hwco->bo", patch, w)
    return out + b


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 1), ("same", 2), ("valid", 2)])
def test_conv2d(padding, stride):
    x = _x(2, 7, 6, 3)
    layer = L.Conv2D(4, (3, 2), strides=stride, padding=padding)
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 3, 4) and bias.shape == (4,)
    np.testing.assert_allclose(y, _conv2d_reference(x, kernel, bias, stride, padding), rtol=1e-4, atol=1e-5)


def test_conv2d_channels_first_same_kernel_layout():
    x = _x(2, 3, 6, 5)
    layer = L.Conv2D(4, 3, data_format="channels_first")
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 3, 4)
    ref = _conv2d_reference(x.transpose(0, 2, 3, 1), kernel, bias, 1, "valid").transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


def test_conv1d():
    x = _x(2, 9, 3)
    layer = L.Conv1D(5, 3, strides=2)
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 5)
    ref = np.stack([np.einsum("bkc,kco->bo", x[:, t : t + 3], kernel) for t in range(0, 7, 2)], axis=1) + bias
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


def test_pooling_layers():
    x = _x(2, 6, 4, 3)
    blocks = x.reshape(2, 3, 2, 2, 2, 3)
    np.testing.assert_allclose(L.MaxPooling2D()(x), blocks.max(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_allclose(L.AveragePooling2D(2)(x), blocks.mean(axis=(2, 4)), rtol=1e-5, atol=1e-6)
    assert L.MaxPool2D is L.MaxPooling2D and L.AvgPool2D is L.AveragePooling2D
    np.testing.assert_allclose(L.GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(L.GlobalMaxPooling2D()(x), x.max(axis=(1, 2)), rtol=1e-6)
    assert L.MaxPooling2D(pool_size=3, strides=1, padding="same")(x).shape == (2, 6, 4, 3)


def test_batch_normalization_inference_and_training():
    x = _x(8, 3) * 3 + 1
    layer = L.BatchNormalization()
    y = layer(x)
    gamma, beta, mean, var = layer.get_weights()
    assert [w.shape for w in layer.get_weights()] == [(3,)] * 4
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    y_train = layer(x, training=True)
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(y_train, ref, rtol=1e-4, atol=1e-5)


def test_layer_normalization():
    x = _x(4, 5)
    layer = L.LayerNormalization()
    y = layer(x)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    assert [w.shape for w in layer.weights] == [(5,), (5,)]


def test_merge_layers():
    a, b, c = _x(2, 3), _x(2, 3), _x(2, 3)
    np.testing.assert_allclose(L.Add()([a, b, c]), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(L.Subtract()([a, b]), a - b, rtol=1e-6)
    np.testing.assert_allclose(L.Multiply()([a, b]), a * b, rtol=1e-6)
    np.testing.assert_allclose(L.Concatenate()([a, b]), np.concatenate([a, b], -1))
    np.testing.assert_allclose(L.Average()([a, b]), (a + b) / 2, rtol=1e-6)


def test_lambda():
    x = _x(2, 3)
    np.testing.assert_allclose(L.Lambda(lambda t: t * 2 + 1)(x), x * 2 + 1, rtol=1e-6)


def _rnn_reference(kind, x, weights, go_backwards=False, return_sequences=False):
    kernel, recurrent, bias = weights
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    outputs = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        xt = x[:, t]
        if kind == "LSTM":
            z = xt @ kernel + bias + h @ recurrent
            i, f, g, o = np.split(z, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        elif kind == "GRU":
            xz = xt @ kernel + bias[0]
            inner = h @ recurrent + bias[1]
            z = _sigmoid(xz[:, :units] + inner[:, :units])
            r = _sigmoid(xz[:, units : 2 * units] + inner[:, units : 2 * units])
            hh = np.tanh(xz[:, 2 * units :] + r * inner[:, 2 * units :])
            h = z * h + (1 - z) * hh
        else:
            h = np.tanh(xt @ kernel + bias + h @ recurrent)
        outputs.append(h)
    return np.stack(outputs, 1) if return_sequences else h


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [{}, {"go_backwards": True, "return_sequences": True}])
def test_recurrent_layers(kind, options):
    x = _x(3, 5, 4)
    layer = getattr(L, kind)(6, **options)
    y = layer(x)
    weights = layer.get_weights()
    gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    assert weights[0].shape == (4, gates * 6) and weights[1].shape == (6, gates * 6)
    assert weights[2].shape == ((2, 18) if kind == "GRU" else (gates * 6,))
    if kind == "LSTM":  # unit_forget_bias
        np.testing.assert_array_equal(weights[2], np.r_[np.zeros(6), np.ones(6), np.zeros(12)])
    recurrent = weights[1]  # orthogonal: its (6, 6 * gates) rows are orthonormal
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(6), atol=1e-5)
    np.testing.assert_allclose(y, _rnn_reference(kind, x, weights, **options), rtol=1e-4, atol=1e-5)


def test_lstm_custom_activation_through_scan_matches_fast_path():
    x = _x(3, 5, 4)
    fast = L.LSTM(6, go_backwards=True, return_sequences=True)
    slow = L.LSTM(
        6, go_backwards=True, return_sequences=True, recurrent_activation=lambda v: keras.activations.sigmoid(v)
    )
    y_fast = fast(x)
    slow(x)
    slow.set_weights(fast.get_weights())
    np.testing.assert_allclose(slow(x), y_fast, rtol=1e-5, atol=1e-6)


def test_lstm_return_state():
    x = _x(2, 4, 3)
    out, h, c = L.LSTM(5, return_state=True)(x)
    np.testing.assert_array_equal(out, h)
    assert c.shape == (2, 5)


def test_initializers_follow_keras_formulas():
    init = keras.initializers
    big = (400, 300)
    he = init.HeNormal(seed=1)(big)
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)
    assert np.abs(he).max() <= 2 * np.sqrt(2 / 400) / 0.87962566103423978 + 1e-6
    glorot = init.get("glorot_uniform")(big)
    assert np.abs(glorot).max() <= np.sqrt(6 / 700)
    q = init.Orthogonal(seed=2)((30, 10))
    np.testing.assert_allclose(q.T @ q, np.eye(10), atol=1e-5)
    np.testing.assert_array_equal(init.get("ones")((2,)), [1, 1])
    uniform = init.get("uniform")((1000,))
    assert np.abs(uniform).max() <= 0.05
    np.testing.assert_array_equal(init.GlorotUniform(seed=3)((3, 4)), init.GlorotUniform(seed=3)((3, 4)))


def test_regularizer_penalties():
    w = KerasVariable(np.array([1.0, -2.0], np.float32), name="w", path="w")

    assert np.isclose(float(keras.regularizers.get("l2")(w)), 0.01 * 5)
    assert np.isclose(float(keras.regularizers.L1(0.1)(w)), 0.3)
    assert np.isclose(float(keras.regularizers.L1L2(0.1, 0.2)(w)), 0.3 + 1.0)


def test_legacy_spellings_warn_with_the_modern_name():
    with pytest.warns(DeprecationWarning, match="units"):
        layer = L.Dense(output_dim=3)
    assert layer.units == 3
    with pytest.warns(DeprecationWarning, match="kernel_initializer"):
        L.Dense(3, init="he_normal")
    with pytest.warns(DeprecationWarning, match="kernel_size"):
        conv = L.Convolution2D(8, 3, 3)
    assert conv.kernel_size == (3, 3) and conv.strides == (1, 1)
    with pytest.warns(UserWarning, match="strides"):
        conv = L.Conv2D(8, 3, 3)
    assert conv.strides == (3, 3)


def test_unknown_argument_is_an_error():
    with pytest.raises(TypeError, match="Dense"):
        L.Dense(3, foo=1)


def test_automatic_names_and_clear_session():
    keras.backend.clear_session()
    assert L.Dense(1).name == "dense"
    assert L.Dense(1).name == "dense_1"
    assert L.MaxPooling2D().name == "max_pooling2d"
    keras.backend.clear_session()
    assert L.Dense(1).name == "dense"


def test_backend_basics():
    assert keras.backend.floatx() == "float32"
    assert keras.backend.epsilon() == 1e-7
    assert keras.backend.image_data_format() == "channels_last"


def test_custom_layer_with_add_weight_and_config():
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    layer = Scale(3.0)
    x = _x(2, 4)
    np.testing.assert_allclose(layer(x), x * 3.0, rtol=1e-6)
    assert layer.get_config()["factor"] == 3.0
    assert [w.shape for w in layer.trainable_weights] == [(4,)]
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


def test_input_spec_error_names_layer_and_shapes():
    layer = L.Dense(2, name="dense_spec")
    layer(_x(1, 4))
    with pytest.raises(ValueError, match=r'layer "dense_spec".*value 4.*\(1, 5\)'):
        layer(_x(1, 5))


def test_to_categorical():
    y = keras.utils.to_categorical([0, 2, 1], 3)
    np.testing.assert_array_equal(y, np.eye(3, dtype="float32")[[0, 2, 1]])
    assert y.dtype == np.float32
    assert keras.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)


def test_no_warnings_from_plain_layers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L.Dense(2)(_x(1, 3))


def test_embedding_mask_zero_makes_the_lstm_skip_padding():
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0], [1, 2, 3, 4]], np.int32)
    embedding = L.Embedding(10, 3, mask_zero=True)
    lstm = L.LSTM(5)
    out = np.asarray(lstm(embedding(ids)))
    plain = L.LSTM(5)
    table = embedding.get_weights()[0]
    plain(table[ids[:1, :2]])
    plain.set_weights(lstm.get_weights())
    for row, length in enumerate([2, 1, 4]):  # the padded steps leave the state alone
        np.testing.assert_allclose(out[row], np.asarray(plain(table[ids[row : row + 1, :length]]))[0], atol=1e-6)


def test_legacy_keyword_warnings_point_at_the_users_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        L.Dense(3, init="zeros")
        L.Conv1D(2, 3, init="zeros")
        L.Conv2D(2, 3, init="zeros")
        L.Dropout(p=0.5)
    legacy = [w for w in caught if "Keras 1/2 spelling" in str(w.message)]
    assert len(legacy) == 4
    assert {w.filename for w in legacy} == {__file__}
