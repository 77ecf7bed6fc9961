"""The metric classes that are the Mean of a per-sample function (accuracies,
errors, cross-entropies, hinges...) and RootMeanSquaredError."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras.losses_utils import (
    squeeze_or_expand_to_same_rank,
    to_tensor,
)
from symgraph.keras.metrics.base import Mean, MeanMetricWrapper, Metric
from symgraph.keras.metrics.functions import (
    accuracy,
    binary_accuracy,
    binary_crossentropy,
    categorical_accuracy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_accuracy,
    sparse_categorical_crossentropy,
    sparse_top_k_categorical_accuracy,
    squared_hinge,
    top_k_categorical_accuracy,
)


def _wrapper_metric(
    class_name: str, fn: Callable[..., Any], default_name: str, options: dict[str, Any], direction: str
) -> type[MeanMetricWrapper]:
    """A MeanMetricWrapper subclass ``Class(name=default_name, dtype=None, **options)``."""

    def __init__(self, name: str = default_name, dtype: Any = None, **kwargs: Any) -> None:
        values = dict(options)
        for key, value in kwargs.items():
            if key not in values:
                raise TypeError(f"{class_name}() got an unexpected keyword argument '{key}'")
            values[key] = value
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
        for key, value in values.items():
            setattr(self, key, value)
        self._direction = direction

    cls = type(
        class_name,
        (MeanMetricWrapper,),
        {"__init__": __init__, "__doc__": f"The mean of ``{fn.__name__}``: {fn.__doc__}"},
    )
    cls.__module__ = __name__
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default_name),
        inspect.Parameter("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    ]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in options.items()]
    cls.__init__.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return cls


Accuracy = _wrapper_metric("Accuracy", accuracy, "accuracy", {}, "up")
BinaryAccuracy = _wrapper_metric("BinaryAccuracy", binary_accuracy, "binary_accuracy", {"threshold": 0.5}, "up")
CategoricalAccuracy = _wrapper_metric("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy", {}, "up")
SparseCategoricalAccuracy = _wrapper_metric(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy", {}, "up"
)
TopKCategoricalAccuracy = _wrapper_metric(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy", {"k": 5}, "up"
)
SparseTopKCategoricalAccuracy = _wrapper_metric(
    "SparseTopKCategoricalAccuracy",
    sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy",
    {"k": 5},
    "up",
)
MeanSquaredError = _wrapper_metric("MeanSquaredError", mean_squared_error, "mean_squared_error", {}, "down")
MeanAbsoluteError = _wrapper_metric("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", {}, "down")
MeanAbsolutePercentageError = _wrapper_metric(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error", {}, "down"
)
MeanSquaredLogarithmicError = _wrapper_metric(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error", {}, "down"
)
CosineSimilarity = _wrapper_metric("CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1}, "up")
LogCoshError = _wrapper_metric("LogCoshError", log_cosh, "logcosh", {}, "down")
BinaryCrossentropy = _wrapper_metric(
    "BinaryCrossentropy",
    binary_crossentropy,
    "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0},
    "down",
)
CategoricalCrossentropy = _wrapper_metric(
    "CategoricalCrossentropy",
    categorical_crossentropy,
    "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    "down",
)
SparseCategoricalCrossentropy = _wrapper_metric(
    "SparseCategoricalCrossentropy",
    sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    {"from_logits": False, "axis": -1},
    "down",
)
Hinge = _wrapper_metric("Hinge", hinge, "hinge", {}, "down")
SquaredHinge = _wrapper_metric("SquaredHinge", squared_hinge, "squared_hinge", {}, "down")
CategoricalHinge = _wrapper_metric("CategoricalHinge", categorical_hinge, "categorical_hinge", {}, "down")
KLDivergence = _wrapper_metric("KLDivergence", kl_divergence, "kl_divergence", {}, "down")
Poisson = _wrapper_metric("Poisson", poisson, "poisson", {}, "down")


class RootMeanSquaredError(Mean):
    """sqrt of the mean of (y_pred - y_true)^2 over all samples (and outputs)."""

    _direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state_graph(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> list[Tensor]:
        y_true, y_pred = squeeze_or_expand_to_same_rank(to_tensor(y_true, "float32"), to_tensor(y_pred, "float32"))
        return self._accumulate(sg.square(y_pred - y_true), sample_weight)

    def result_from(self, states: list[Tensor]) -> Tensor:
        return sg.sqrt(super().result_from(states))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        Metric.update_state(self, y_true, y_pred, sample_weight)
