"""The per-sample metric functions (Keras 3.15's ``accuracy_metrics`` and the loss
functions that double as metrics): one value per sample (or element), as graph, or as
numpy when called on numpy data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras import losses as losses_module
from symgraph.keras.losses_utils import (
    evaluate,
    is_symbolic,
    squeeze_or_expand_to_same_rank,
    static_dim,
    to_tensor,
)


def _metric_function(fn: Callable[..., Tensor]) -> Callable[..., Any]:
    """Let ``fn`` run eagerly on numpy data as well (returns numpy)."""

    def wrapper(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
        if is_symbolic(y_true, y_pred):
            return fn(y_true, y_pred, **kwargs)
        return evaluate(lambda t, p: fn(t, p, **kwargs), y_true, y_pred)

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _float_pred(y_pred: Any) -> Tensor:
    y_pred = to_tensor(y_pred)
    return y_pred if y_pred.dtype.kind == "f" else sg.cast(y_pred, "float32")


@_metric_function
def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where y_true == y_pred exactly, else 0.0."""
    y_pred = _float_pred(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_tensor(y_true, y_pred.dtype), y_pred)
    return sg.cast(sg.equal(y_true, y_pred), "float32")


@_metric_function
def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1.0 where y_true == (y_pred > threshold), elementwise."""
    y_pred = _float_pred(y_pred)
    y_true = to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = sg.cast(sg.greater(y_pred, float(threshold)), y_true.dtype)
    return sg.cast(sg.equal(y_true, predicted), "float32")


def _class_ids(x: Tensor) -> Tensor:
    return sg.cast(sg.argmax(x, axis=-1), "int64")


@_metric_function
def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where argmax(y_true) == argmax(y_pred) over the last axis."""
    y_pred = _float_pred(y_pred)
    true_ids = _class_ids(to_tensor(y_true))
    shape_of_matches = None
    if true_ids.ndim == y_pred.ndim:
        shape_of_matches = true_ids.shape
        true_ids = sg.squeeze(true_ids, axis=-1)
    matches = sg.cast(sg.equal(true_ids, _class_ids(y_pred)), "float32")
    return matches if shape_of_matches is None else sg.reshape(matches, shape_of_matches)


@_metric_function
def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where the integer label y_true == argmax(y_pred) over the last axis (an (N, 1)
    label is squeezed)."""
    y_pred = _float_pred(y_pred)
    y_true = to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and static_dim(y_true.shape[-1]) == 1:
        y_true = sg.squeeze(y_true, axis=-1)
    predicted = _class_ids(y_pred)
    labels = y_true if y_true.dtype == np.int64 else sg.cast(y_true, "int64")
    if y_true.dtype.kind == "f":  # compare as Keras does, in y_true's float dtype
        predicted, labels = sg.cast(predicted, y_true.dtype), y_true
    return sg.cast(sg.equal(labels, predicted), "float32")


def _in_top_k(labels: Tensor, scores: Tensor, k: int) -> Tensor:
    """Whether the label's score is among the k largest: fewer than k scores strictly
    above it (ties count as inside, as Keras' in_top_k on torch and jax)."""
    labels = sg.cast(labels, "int64")
    target = sg.take_along_axis(scores, sg.expand_dims(labels, -1), axis=-1)
    above = sg.sum(sg.cast(sg.greater(scores, target), "int64"), axis=-1)
    return sg.less(above, int(k))


@_metric_function
def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where argmax(y_true) is among the k highest scores of y_pred."""
    y_pred = _float_pred(y_pred)
    return sg.cast(_in_top_k(_class_ids(to_tensor(y_true)), y_pred, k), "float32")


@_metric_function
def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where the integer label is among the k highest scores of y_pred."""
    y_pred = _float_pred(y_pred)
    y_true = to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and static_dim(y_true.shape[-1]) == 1:
        matches = _in_top_k(sg.squeeze(y_true, axis=-1), y_pred, k)
        return sg.expand_dims(sg.cast(matches, "float32"), -1)
    return sg.cast(_in_top_k(y_true, y_pred, k), "float32")


@_metric_function
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis) (the metric is positive)."""
    return -losses_module.cosine_similarity(y_true, y_pred, axis=axis)


# The loss functions double as metric functions.
mean_squared_error = mse = losses_module.mean_squared_error
mean_absolute_error = mae = losses_module.mean_absolute_error
mean_absolute_percentage_error = mape = losses_module.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = losses_module.mean_squared_logarithmic_error
binary_crossentropy = losses_module.binary_crossentropy
categorical_crossentropy = losses_module.categorical_crossentropy
sparse_categorical_crossentropy = losses_module.sparse_categorical_crossentropy
hinge = losses_module.hinge
squared_hinge = losses_module.squared_hinge
categorical_hinge = losses_module.categorical_hinge
kl_divergence = kld = losses_module.kl_divergence
poisson = losses_module.poisson
log_cosh = logcosh = losses_module.log_cosh
