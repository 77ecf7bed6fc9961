"""Dot (Keras' batch dot over any axis pair) and the merge functions, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph import keras

RNG = np.random.default_rng(11)
A3 = RNG.standard_normal((2, 3, 4)).astype("float32")
B3 = RNG.standard_normal((2, 5, 4)).astype("float32")
C3 = RNG.standard_normal((2, 4, 3)).astype("float32")
A2 = RNG.standard_normal((2, 4)).astype("float32")
B2 = RNG.standard_normal((2, 4)).astype("float32")


def _unit(x, axis):
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))


CASES = [
    ("2d", -1, False, A2, B2, (A2 * B2).sum(-1, keepdims=True)),
    ("2d axis 1", 1, False, A2, B2, (A2 * B2).sum(-1, keepdims=True)),
    ("3d last", 2, False, A3, B3, np.einsum("bik,bjk->bij", A3, B3)),
    ("3d pair", (1, 2), False, C3, B3, np.einsum("bki,bjk->bij", C3, B3)),
    ("3d by 2d", (2, 1), False, A3, A2, np.einsum("bik,bk->bi", A3, A2)),
    ("cosine", -1, True, A2, B2, (_unit(A2, -1) * _unit(B2, -1)).sum(-1, keepdims=True)),
]


@pytest.mark.parametrize("name, axes, normalize, a, b, expected", CASES, ids=[c[0] for c in CASES])
def test_dot_is_a_batched_product_over_the_axes(name, axes, normalize, a, b, expected):
    layer = keras.layers.Dot(axes=axes, normalize=normalize)
    np.testing.assert_allclose(np.asarray(layer([a, b])), expected, rtol=1e-5, atol=1e-6)
    ia, ib = keras.Input(a.shape[1:]), keras.Input(b.shape[1:])
    model = keras.Model([ia, ib], keras.layers.dot([ia, ib], axes=axes, normalize=normalize))
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert layer.get_config()["axes"] == axes


def test_dot_refuses_mismatched_axes():
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        keras.layers.Dot(axes=1)([A3, B3])


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("sum", A2 + B2),
        ("mul", A2 * B2),
        ("ave", (A2 + B2) / 2),
        ("max", np.maximum(A2, B2)),
        ("concat", np.concatenate([A2, B2], -1)),
        ("dot", (A2 * B2).sum(-1, keepdims=True)),
    ],
)
def test_keras1_merge_warns_and_computes(mode, expected):
    with pytest.warns(DeprecationWarning, match="Keras 1"):
        out = keras.layers.merge([A2, B2], mode=mode)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown mode"):
        keras.layers.merge([A2, B2], mode="outer")
