"""keras.losses against numpy formulas: per-sample values, the sum_over_batch_size
reduction with sample weights, from_logits, label smoothing, ignore_class, lookup."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.keras import losses

EPS = 1e-7
RNG = np.random.default_rng(7)
N, C = 6, 4


def data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng({"reg": 1, "pos": 2, "bin": 3, "logit": 4, "cat": 5, "catlogit": 6, "pm": 7}[kind])
    if kind == "reg":
        return rng.normal(size=(N, 3)).astype(np.float32), rng.normal(size=(N, 3)).astype(np.float32)
    if kind == "pos":
        return rng.uniform(0, 2, (N, 3)).astype(np.float32), rng.uniform(0, 2, (N, 3)).astype(np.float32)
    if kind == "bin":
        p = rng.uniform(0, 1, (N, 2)).astype(np.float32)
        p[0, 0], p[1, 1] = 0.0, 1.0  # exercise the clipping
        return rng.integers(0, 2, (N, 2)).astype(np.float32), p
    if kind == "logit":
        return rng.integers(0, 2, (N, 2)).astype(np.float32), (rng.normal(size=(N, 2)) * 4).astype(np.float32)
    if kind == "cat":
        p = rng.uniform(0, 1, (N, C)).astype(np.float32)
        p[0] = [0.0, 1.0, 0.0, 0.0]
        return np.eye(C, dtype=np.float32)[rng.integers(0, C, N)], p
    if kind == "catlogit":
        return np.eye(C, dtype=np.float32)[rng.integers(0, C, N)], (rng.normal(size=(N, C)) * 3).astype(np.float32)
    if kind == "pm":
        return (rng.integers(0, 2, (N, 3)) * 2 - 1).astype(np.float32), rng.normal(size=(N, 3)).astype(np.float32)
    raise AssertionError(kind)


def log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def normalize(x):
    return x / np.sqrt((x * x).sum(-1, keepdims=True))


def clip_f32(p):
    """Keras clips in float32: 1 - 1e-7 rounds to 1 - 2**-23."""
    return np.clip(p.astype(np.float32), np.float32(EPS), np.float32(1 - EPS)).astype(np.float64)


def bce(t, p):
    p = clip_f32(p)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def cce(t, p):
    p = clip_f32(p / p.sum(-1, keepdims=True))
    return -(t * np.log(p)).sum(-1)


def hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def huber(t, p, d):
    e = np.abs(p - t)
    return np.where(e <= d, 0.5 * e**2, d * e - 0.5 * d * d).mean(-1)


CASES = {
    "mse": (losses.MeanSquaredError, {}, "reg", lambda t, p: ((t - p) ** 2).mean(-1)),
    "mae": (losses.MeanAbsoluteError, {}, "reg", lambda t, p: np.abs(t - p).mean(-1)),
    "mape": (
        losses.MeanAbsolutePercentageError,
        {},
        "reg",
        lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    ),
    "msle": (
        losses.MeanSquaredLogarithmicError,
        {},
        "pos",
        lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    ),
    "cosine": (losses.CosineSimilarity, {}, "reg", lambda t, p: -(normalize(t) * normalize(p)).sum(-1)),
    "huber": (losses.Huber, {"delta": 0.7}, "reg", lambda t, p: huber(t, p, 0.7)),
    "log_cosh": (losses.LogCosh, {}, "reg", lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    "hinge_01": (losses.Hinge, {}, "bin", lambda t, p: np.maximum(1 - hinge_labels(t) * p, 0).mean(-1)),
    "hinge_pm": (losses.Hinge, {}, "pm", lambda t, p: np.maximum(1 - t * p, 0).mean(-1)),
    "squared_hinge": (losses.SquaredHinge, {}, "pm", lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1)),
    "categorical_hinge": (
        losses.CategoricalHinge,
        {},
        "cat",
        lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
    ),
    "kld": (
        losses.KLDivergence,
        {},
        "cat",
        lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
    ),
    "poisson": (losses.Poisson, {}, "pos", lambda t, p: (p - t * np.log(p + EPS)).mean(-1)),
    "bce": (losses.BinaryCrossentropy, {}, "bin", lambda t, p: bce(t, p).mean(-1)),
    "bce_smooth": (
        losses.BinaryCrossentropy,
        {"label_smoothing": 0.2},
        "bin",
        lambda t, p: bce(t * 0.8 + 0.1, p).mean(-1),
    ),
    "bce_logits": (
        losses.BinaryCrossentropy,
        {"from_logits": True, "label_smoothing": 0.1},
        "logit",
        lambda t, p: bce(t * 0.9 + 0.05, sigmoid(p.astype(np.float64))).mean(-1),
    ),
    "cce": (losses.CategoricalCrossentropy, {}, "cat", cce),
    "cce_smooth": (
        losses.CategoricalCrossentropy,
        {"label_smoothing": 0.1},
        "cat",
        lambda t, p: cce(t * 0.9 + 0.1 / C, p),
    ),
    "cce_logits": (
        losses.CategoricalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.2},
        "catlogit",
        lambda t, p: -((t * 0.8 + 0.2 / C) * log_softmax(p.astype(np.float64))).sum(-1),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loss_against_numpy(name):
    cls, kwargs, kind, per_sample = CASES[name]
    y_true, y_pred = data(kind)
    weights = np.linspace(0.0, 2.0, N).astype(np.float32)
    expected_per_sample = per_sample(y_true.astype(np.float64), y_pred.astype(np.float64))
    expected = np.mean(expected_per_sample)
    expected_weighted = np.mean(expected_per_sample * weights)  # sum_over_batch_size divides by N
    loss = cls(**kwargs)
    t = sg.placeholder((None, y_true.shape[1]), name="t")
    p = sg.placeholder((None, y_pred.shape[1]), name="p")
    w = sg.placeholder((None,), name="w")
    compiled = sg.function([t, p, w], [loss(t, p), loss(t, p, sample_weight=w), loss.call(t, p)])
    value, weighted_value, per_sample_value = compiled(y_true, y_pred, weights)
    assert value.shape == () and weighted_value.shape == ()
    np.testing.assert_allclose(value, expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(weighted_value, expected_weighted, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(per_sample_value, expected_per_sample, rtol=2e-5, atol=1e-6)
    # Eager on numpy: the same numbers.
    np.testing.assert_allclose(loss(y_true, y_pred), expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(loss(y_true, y_pred, sample_weight=weights), expected_weighted, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(from_logits):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, C, N).astype(np.int32)
    scores = (rng.normal(size=(N, C)) if from_logits else rng.uniform(0.01, 1, (N, C))).astype(np.float32)
    if from_logits:
        expected = -log_softmax(scores.astype(np.float64))[np.arange(N), labels]
    else:
        expected = -np.log(np.clip(scores / scores.sum(-1, keepdims=True), EPS, 1 - EPS))[np.arange(N), labels]
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    np.testing.assert_allclose(loss(labels, scores), expected.mean(), rtol=1e-5)
    # An (N, 1) target is squeezed; float labels work too (Keras casts them).
    np.testing.assert_allclose(loss(labels[:, None].astype(np.float32), scores), expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, scores, from_logits=from_logits), expected, rtol=1e-5
    )


def test_sparse_ignore_class_averages_over_the_kept_samples():
    labels = np.array([0, 2, 1, 2, 3, 0], np.int32)
    logits = np.random.default_rng(4).normal(size=(N, C)).astype(np.float32)
    per_sample = -log_softmax(logits.astype(np.float64))[np.arange(N), labels]
    kept = labels != 2
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    np.testing.assert_allclose(loss(labels, logits), per_sample[kept].mean(), rtol=1e-5)
    np.testing.assert_allclose(loss.call(labels, logits), np.where(kept, per_sample, 0.0), rtol=1e-5)


def test_rank_matching_and_reductions():
    y_true = np.array([1.0, 2.0, 3.0], np.float32)  # (N,) against (N, 1): expanded, not broadcast to (N, N)
    y_pred = np.array([[1.5], [1.0], [3.0]], np.float32)
    assert float(losses.MeanSquaredError()(y_true, y_pred)) == pytest.approx((0.25 + 1.0 + 0.0) / 3)
    assert float(losses.MeanSquaredError(reduction="sum")(y_true, y_pred)) == pytest.approx(1.25)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(y_true, y_pred), [0.25, 1.0, 0.0])
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


def test_probabilities_are_clipped_like_keras():
    # p = 0 for the true class: -log(1e-7) per sample, not inf.
    value = losses.binary_crossentropy(np.array([[1.0]], np.float32), np.array([[0.0]], np.float32))
    np.testing.assert_allclose(value, [-np.log(np.float32(1e-7))], rtol=1e-5)
    value = losses.categorical_crossentropy(np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32))
    assert np.isfinite(value).all() and value[0] == pytest.approx(-np.log(1e-7), rel=1e-4)


def test_from_logits_is_stable_for_large_logits():
    logits = sg.placeholder((None, 2), name="z")
    labels = sg.placeholder((None, 2), name="y")
    f = sg.function([labels, logits], losses.BinaryCrossentropy(from_logits=True)(labels, logits))
    value = f(np.array([[1.0, 0.0]], np.float32), np.array([[200.0, -200.0]], np.float32))
    assert np.isfinite(value) and value == pytest.approx(0.0, abs=1e-6)


def test_get_names_aliases_and_errors():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert losses.get("mse").name == "mse"
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("SparseCategoricalCrossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("bce"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.kl_divergence), losses.KLDivergence)
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.Huber().name == "huber_loss"
    obj = losses.Huber(delta=2.0)
    assert losses.get(obj) is obj and obj.get_config()["delta"] == 2.0

    def custom(y_true, y_pred):
        return sg.mean(sg.abs(y_true - y_pred) ** 3, axis=-1)

    wrapped = losses.get(custom)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "custom"
    assert float(wrapped(np.zeros((2, 1), np.float32), np.full((2, 1), 2.0, np.float32))) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="Could not interpret loss identifier: foo"):
        losses.get("foo")


def test_resolve_crossentropy_by_shapes():
    assert isinstance(losses.resolve("crossentropy", output_shape=(None, 1)), losses.BinaryCrossentropy)
    assert isinstance(
        losses.resolve("ce", output_shape=(None, 5), target_shape=(None,)), losses.SparseCategoricalCrossentropy
    )
    assert isinstance(
        losses.resolve("crossentropy", output_shape=(None, 5), target_shape=(None, 5)), losses.CategoricalCrossentropy
    )
