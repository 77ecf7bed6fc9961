"""Bidirectional, TimeDistributed, Rescaling and Masking against numpy formulas."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(11)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _lstm(x, kernel, recurrent, bias, backwards=False):
    """Keras' LSTM (gates i, f, c, o); the outputs in the order the steps ran."""
    h = np.zeros((x.shape[0], recurrent.shape[0]))
    c = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1]):
        i, f, g, o = np.split(x[:, t] @ kernel + bias + h @ recurrent, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
def test_bidirectional_sequences(merge_mode):
    x = RNG.standard_normal((2, 5, 3)).astype("float32")
    inner = L.LSTM(4, return_sequences=True)
    layer = L.Bidirectional(inner, merge_mode=merge_mode)
    out = np.asarray(layer(x))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(3, 16), (4, 16), (16,)] * 2  # forward's, then backward's
    assert [layer.forward_layer.name, layer.backward_layer.name] == [f"forward_{inner.name}", f"backward_{inner.name}"]
    forward = _lstm(x, *weights[:3])
    backward = _lstm(x, *weights[3:], backwards=True)[:, ::-1]  # flipped back to input time order
    expected = {
        "concat": np.concatenate([forward, backward], -1),
        "sum": forward + backward,
        "ave": (forward + backward) / 2,
        "mul": forward * backward,
    }[merge_mode]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_bidirectional_last_output_and_summary_params():
    x = RNG.standard_normal((2, 4, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4, 3)), L.Bidirectional(L.LSTM(2))])
    out = model.predict(x, verbose=0)
    weights = model.get_weights()
    forward = _lstm(x, *weights[:3])[:, -1]
    backward = _lstm(x, *weights[3:], backwards=True)[:, -1]  # the backward pass ends at t = 0
    np.testing.assert_allclose(out, np.concatenate([forward, backward], -1), atol=1e-5)
    assert model.count_params() == 2 * (3 * 8 + 2 * 8 + 8)
    assert model.output_shape == (None, 4)


def test_time_distributed_dense():
    x = RNG.standard_normal((2, 3, 4)).astype("float32")
    layer = L.TimeDistributed(L.Dense(5))
    out = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, x @ kernel + bias, atol=1e-5)


def test_rescaling():
    x = RNG.integers(0, 255, (2, 3)).astype("uint8")
    np.testing.assert_allclose(np.asarray(L.Rescaling(1 / 255, offset=-0.5)(x)), x / 255 - 0.5, atol=1e-6)


def test_masking_zeroes_and_masks_the_padded_steps():
    x = RNG.standard_normal((2, 4, 3)).astype("float32")
    x[0, 2:] = 0.0
    masked = L.Masking(0.0)(x)
    assert masked._keras_mask.tolist() == [[True, True, False, False], [True] * 4]
    rnn = L.SimpleRNN(3)
    out = np.asarray(rnn(masked))
    kernel, recurrent, bias = rnn.get_weights()
    h = np.zeros(3)
    for t in range(2):  # row 0: the masked steps leave the state as it was
        h = np.tanh(x[0, t] @ kernel + bias + h @ recurrent)
    np.testing.assert_allclose(out[0], h, atol=1e-5)
