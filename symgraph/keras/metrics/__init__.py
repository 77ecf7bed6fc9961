"""``keras.metrics``: stateful metrics whose accumulators are symgraph Variables.

A model's compiled step calls ``metric.update_state_graph(y_true, y_pred,
sample_weight)`` to get the accumulators' new values as graph (same order as
``metric.variables``), passes them as updates, and outputs ``metric.result_from(new
values)``, so every batch's logged value is the running result over the epoch, as in
Keras. ``reset_state()`` zeroes the accumulators between epochs; ``result()`` reads them.
Called eagerly, ``update_state(y_true, y_pred)`` runs the same graph through the numpy
reference interpreter.

The per-sample functions and the Mean reduction (per-sample values averaged over
trailing axes, then total += sum(values * weights), count += sum(weights) or the batch
size) follow Keras 3.15's ``reduction_metrics``/``accuracy_metrics``.

Layout: ``base`` (Metric, Mean, Sum, MeanMetricWrapper), ``functions`` (per-sample
functions), ``wrappers`` (the Mean of each function: accuracies, errors, ...),
``confusion`` (Precision, Recall, AUC); this module looks them up (``get``, ``resolve``).
"""

from __future__ import annotations

import inspect
from typing import Any

from symgraph.keras import losses as losses_module
from symgraph.keras import naming
from symgraph.keras.metrics.base import Mean, MeanMetricWrapper, Metric, MetricVariable, Sum
from symgraph.keras.metrics.confusion import AUC, Precision, Recall
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
    kld,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_accuracy,
    sparse_categorical_crossentropy,
    sparse_top_k_categorical_accuracy,
    squared_hinge,
    top_k_categorical_accuracy,
)
from symgraph.keras.metrics.wrappers import (
    Accuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    SquaredHinge,
    TopKCategoricalAccuracy,
)
from symgraph.keras.serialization import serialize_builtin

# --- lookup -----------------------------------------------------------------------------

ALL_OBJECTS: tuple[type[Metric], ...] = (
    Metric,
    Mean,
    Sum,
    MeanMetricWrapper,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCoshError,
    Precision,
    Recall,
    AUC,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
)
ALL_OBJECTS_DICT: dict[str, Any] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({naming.to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update(
    {
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "MSLE": MeanSquaredLogarithmicError,
        "bce": BinaryCrossentropy,
        "BCE": BinaryCrossentropy,
        "kld": KLDivergence,
        "KLD": KLDivergence,
        "logcosh": LogCoshError,
        "log_cosh": LogCoshError,
        "rmse": RootMeanSquaredError,
        "top_k_categorical_accuracy": TopKCategoricalAccuracy,
        "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    }
)
# Metric functions passed by object (metrics=[keras.metrics.mse]) get their class.
_CLASS_OF_FUNCTION: dict[Any, type[Metric]] = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    cosine_similarity: CosineSimilarity,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    log_cosh: LogCoshError,
}


def get(identifier: Any) -> Metric | None:
    """A Metric for a name ("mse", "mean_absolute_error", "AUC"-style class names, ...),
    a Metric class or instance, or a function ``fn(y_true, y_pred)`` (wrapped in a
    MeanMetricWrapper). "accuracy"/"acc" without shapes is exact-match Accuracy; use
    ``resolve`` for Keras' compile-time choice."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = ALL_OBJECTS_DICT.get(name)
        if cls is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier}")
        return obj()
    if isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if identifier in _CLASS_OF_FUNCTION:
        return _CLASS_OF_FUNCTION[identifier]()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def resolve(
    identifier: Any, loss: Any = None, output_shape: tuple | None = None, target_shape: tuple | None = None
) -> Metric:
    """The Metric ``compile(metrics=[identifier])`` trains with (the trainer calls this;
    Keras 3's ``compile_utils.get_metric``). "accuracy"/"acc" (and, as tf.keras 2 did,
    "crossentropy"/"ce") pick binary, sparse categorical or categorical by Keras' shape
    rule: binary when the output's last dimension is 1; sparse when the target has lower
    rank than the output, or a last dimension of 1 against several classes. Without
    ``target_shape`` the target is taken to be shaped like the output, except after a
    sparse categorical crossentropy loss (labels one rank lower). A string keeps its
    spelling as the metric's name ("acc" logs as "acc")."""
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc", "crossentropy", "ce"):
        out = tuple(output_shape) if output_shape is not None else (None, 2)
        if target_shape is None:
            loss_fn = getattr(loss, "fn", loss)
            sparse_loss = isinstance(loss, losses_module.SparseCategoricalCrossentropy) or loss_fn in (
                losses_module.sparse_categorical_crossentropy,
                "sparse_categorical_crossentropy",
            )
            target_shape = out[:-1] if sparse_loss else out
        is_binary, is_sparse = losses_module.is_binary_or_sparse_categorical(tuple(target_shape), out)
        if identifier.lower() in ("accuracy", "acc"):
            cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        else:
            cls = (
                BinaryCrossentropy
                if is_binary
                else SparseCategoricalCrossentropy
                if is_sparse
                else CategoricalCrossentropy
            )
        metric = cls(name=identifier)
    else:
        metric = get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def serialize(metric: Metric) -> dict:
    return serialize_builtin("keras.metrics", metric)


def deserialize(config: dict) -> Metric | None:
    return get(config)


__all__ = [
    "MetricVariable",
    *[cls.__name__ for cls in ALL_OBJECTS],
    *[fn.__name__ for fn in _CLASS_OF_FUNCTION],
    "mse",
    "mae",
    "mape",
    "msle",
    "kld",
    "logcosh",
    "get",
    "resolve",
    "serialize",
    "deserialize",
]
