"""``keras.losses``: Keras 3's loss classes and functions, building symgraph graph.

A loss function maps (y_true, y_pred) to one value per sample (the mean or sum over the
last axis, as Keras defines each one). A ``Loss`` object calls it and reduces with
Keras' default "sum_over_batch_size": the sum of the (sample-weighted) per-sample
losses divided by their count. Called on numpy data instead of Tensors, functions and
objects evaluate at once and return numpy.

Probabilities are clipped to [eps, 1 - eps] with eps = 1e-7 (``keras.backend.epsilon``)
where Keras clips them; from_logits uses the fused stable ops of ``sg.nn``.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras import naming
from symgraph.keras.losses_utils import (
    epsilon,
    evaluate,
    is_symbolic,
    prediction_mask,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    static_dim,
    to_tensor,
)
from symgraph.keras.serialization import serialize_builtin

_REDUCTIONS = {"sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight"}


def _loss_function(fn: Callable[..., Tensor]) -> Callable[..., Any]:
    """Let ``fn`` (y_true, y_pred, **options) also run eagerly on numpy data."""

    @functools.wraps(fn)
    def wrapper(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
        if is_symbolic(y_true, y_pred):
            return fn(y_true, y_pred, **kwargs)
        return evaluate(lambda t, p: fn(t, p, **kwargs), y_true, y_pred)

    return wrapper


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    """y_pred as a float tensor and y_true cast to its dtype, ranks matched (Keras)."""
    y_pred = to_tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = sg.cast(y_pred, "float32")
    y_true = to_tensor(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


# --- functions: one value per sample ----------------------------------------------------


@_loss_function
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_true - y_pred)^2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return sg.mean(sg.square(y_true - y_pred), axis=-1)


@_loss_function
def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_true - y_pred|, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return sg.mean(sg.abs(y_true - y_pred), axis=-1)


@_loss_function
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = sg.abs((y_true - y_pred) / sg.maximum(sg.abs(y_true), epsilon()))
    return 100.0 * sg.mean(diff, axis=-1)


@_loss_function
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = epsilon()
    first = sg.log(sg.maximum(y_pred, eps) + 1.0)
    second = sg.log(sg.maximum(y_true, eps) + 1.0)
    return sg.mean(sg.square(first - second), axis=-1)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    """x * min(rsqrt(sum(x^2)), 1/eps) along ``axis`` (Keras' ops.normalize)."""
    inv_norm = sg.rsqrt(sg.sum(sg.square(x), axis=axis, keepdims=True))
    return x * sg.minimum(inv_norm, 1.0 / epsilon())


@_loss_function
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for parallel vectors."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -sg.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


@_loss_function
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """mean(0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2), e = y_pred - y_true."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = sg.abs(error)
    delta = float(delta)
    quadratic = 0.5 * sg.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return sg.mean(sg.where(abs_error <= delta, quadratic, linear), axis=-1)


@_loss_function
def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(e)), axis=-1), computed as e + softplus(-2e) - log(2)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return sg.mean(x + sg.nn.softplus(x * -2.0) - float(np.log(np.float32(2.0))), axis=-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """0/1 labels become -1/1 (when every label is 0 or 1, as Keras decides at run time)."""
    is_binary = sg.all(sg.logical_or(sg.equal(y_true, 0.0), sg.equal(y_true, 1.0)))
    return sg.where(is_binary, 2.0 * y_true - 1.0, y_true)


@_loss_function
def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1), labels -1/1 (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return sg.mean(sg.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


@_loss_function
def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)^2, axis=-1), labels -1/1 (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return sg.mean(sg.square(sg.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


@_loss_function
def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = sg.sum(y_true * y_pred, axis=-1)
    neg = sg.max((1.0 - y_true) * y_pred, axis=-1)
    return sg.maximum(neg - pos + 1.0, 0.0)


@_loss_function
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(t * log(t / p), axis=-1) with t, p clipped to [eps, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = sg.clip(y_true, epsilon(), 1.0)
    p = sg.clip(y_pred, epsilon(), 1.0)
    return sg.sum(t * sg.log(t / p), axis=-1)


@_loss_function
def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return sg.mean(y_pred - y_true * sg.log(y_pred + epsilon()), axis=-1)


def _clipped_log_probs(y_pred: Tensor, axis: int) -> Tensor:
    """log(clip(p / sum(p), eps, 1 - eps)) along ``axis`` (Keras renormalises first)."""
    eps = epsilon()
    p = y_pred / sg.sum(y_pred, axis=axis, keepdims=True)
    return sg.log(sg.clip(p, eps, 1.0 - eps))


@_loss_function
def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """-sum(y_true * log p, axis) with p = softmax(y_pred) (from_logits) or y_pred
    renormalised and clipped; label smoothing: y_true*(1-s) + s/num_classes."""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_true, y_pred = _pair(y_true, y_pred)
    if static_dim(y_pred.shape[-1]) == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) "
            f"with num_classes > 1. Received: y_pred.shape={y_pred.shape}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )
    if tuple(y_true.shape) != tuple(y_pred.shape) and all(
        static_dim(a) is not None and static_dim(b) is not None for a, b in zip(y_true.shape, y_pred.shape)
    ):
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}"
        )
    if label_smoothing:
        num_classes = sg.cast(sg.as_tensor(y_true.shape[axis]), y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        return sg.nn.softmax_cross_entropy(y_pred, y_true, axis=axis)
    return -sg.sum(y_true * _clipped_log_probs(y_pred, axis), axis=axis)


@_loss_function
def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Tensor:
    """-log p[label] per sample, integer labels (an (N, 1) target is squeezed); p =
    softmax(y_pred) (from_logits) or y_pred renormalised and clipped. Samples whose
    label is ``ignore_class`` count 0 (and ``SparseCategoricalCrossentropy`` leaves them
    out of the mean)."""
    loss, _ = _sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)
    return loss


def _sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool, ignore_class: int | None, axis: int
) -> tuple[Tensor, Tensor | None]:
    y_pred = to_tensor(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = sg.cast(y_pred, "float32")
    y_true = to_tensor(y_true)
    ax = axis % y_pred.ndim
    if y_true.ndim == y_pred.ndim and static_dim(y_true.shape[ax]) == 1:
        y_true = sg.squeeze(y_true, axis=ax)
    labels = sg.cast(y_true, "int32") if y_true.dtype.kind != "i" or y_true.dtype.itemsize != 4 else y_true
    mask = None
    if ignore_class is not None:
        mask = sg.not_equal(labels, int(ignore_class))
        labels = sg.where(mask, labels, 0)
        y_pred = sg.where(sg.expand_dims(mask, ax), y_pred, 0.0)
    if from_logits:
        loss = sg.nn.sparse_softmax_cross_entropy(y_pred, labels, axis=ax)
    else:
        log_probs = _clipped_log_probs(y_pred, ax)
        picked = sg.take_along_axis(log_probs, sg.expand_dims(labels, ax), axis=ax)
        loss = -sg.squeeze(picked, axis=ax)
    if mask is not None:
        loss = sg.where(mask, loss, 0.0)
    return loss, mask


@_loss_function
def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """mean(-(t log p + (1 - t) log(1 - p)), axis) with p = sigmoid(y_pred) computed
    stably (from_logits) or y_pred clipped to [eps, 1 - eps]; label smoothing:
    t*(1-s) + s/2."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        elementwise = sg.nn.sigmoid_binary_cross_entropy(y_pred, y_true)
    else:
        eps = epsilon()
        p = sg.clip(y_pred, eps, 1.0 - eps)
        elementwise = -(y_true * sg.log(p) + (1.0 - y_true) * sg.log(1.0 - p))
    return sg.mean(elementwise, axis=axis)


# Keras' short names.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh


# --- Loss objects -----------------------------------------------------------------------


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> scalar Tensor (for
    the default reduction), ``loss.call(y_true, y_pred)`` -> per-sample Tensor."""

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                "Invalid value for argument `reduction`. "
                f"Expected one of {_REDUCTIONS}. Received: reduction={reduction}"
            )
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = reduction
        self.dtype = str(np.dtype(dtype or "float32"))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if not is_symbolic(y_true, y_pred, sample_weight):
            return evaluate(lambda t, p, w=None: self(t, p, w), y_true, y_pred, sample_weight)
        in_mask = prediction_mask(y_pred)
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype)
        values, mask = self._call_with_mask(y_true, y_pred)
        # Keras (Loss.__call__): the predictions' mask and the loss's own mask both apply.
        if in_mask is not None:
            mask = in_mask if mask is None else sg.logical_and(sg.cast(in_mask, "bool"), sg.cast(mask, "bool"))
        return reduce_weighted_values(values, sample_weight, mask=mask, reduction=self.reduction)

    def _call_with_mask(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        return self.call(y_true, y_pred), None

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A Loss around a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values."""

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        if not is_symbolic(y_true, y_pred):
            return evaluate(self.call, y_true, y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(to_tensor(y_true), to_tensor(y_pred))
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs}

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


def _wrapper_class(
    class_name: str, fn: Callable[..., Any], default_name: str, options: dict[str, Any], doc: str
) -> type[LossFunctionWrapper]:
    """A LossFunctionWrapper subclass with Keras' constructor: the loss's own options
    (with defaults), then reduction, name, dtype."""

    def __init__(
        self,
        *args: Any,
        reduction: str | None = "sum_over_batch_size",
        name: str = default_name,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        values = dict(options)
        names = list(options)
        if len(args) > len(names) + 2:
            raise TypeError(f"{class_name}() takes at most {len(names) + 2} positional arguments")
        for key, value in zip(names, args):
            values[key] = value
        rest = args[len(names) :]
        if rest:
            reduction = rest[0]
        if len(rest) > 1:
            name = rest[1]
        for key in list(kwargs):
            if key not in values:
                raise TypeError(f"{class_name}() got an unexpected keyword argument '{key}'")
            values[key] = kwargs.pop(key)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **values)
        for key, value in values.items():
            setattr(self, key, value)

    def get_config(self) -> dict:
        return {**Loss.get_config(self), **self._fn_kwargs}

    cls = type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})
    cls.__module__ = __name__
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v) for k, v in options.items()]
    params += [
        inspect.Parameter("reduction", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="sum_over_batch_size"),
        inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default_name),
        inspect.Parameter("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    ]
    cls.__init__.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return cls


MeanSquaredError = _wrapper_class(
    "MeanSquaredError", mean_squared_error, "mean_squared_error", {}, mean_squared_error.__doc__
)
MeanAbsoluteError = _wrapper_class(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", {}, mean_absolute_error.__doc__
)
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError",
    mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    {},
    mean_absolute_percentage_error.__doc__,
)
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError",
    mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    {},
    mean_squared_logarithmic_error.__doc__,
)
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1}, cosine_similarity.__doc__
)
Huber = _wrapper_class("Huber", huber, "huber_loss", {"delta": 1.0}, huber.__doc__)
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh", {}, log_cosh.__doc__)
Hinge = _wrapper_class("Hinge", hinge, "hinge", {}, hinge.__doc__)
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge", {}, squared_hinge.__doc__)
CategoricalHinge = _wrapper_class(
    "CategoricalHinge", categorical_hinge, "categorical_hinge", {}, categorical_hinge.__doc__
)
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence", {}, kl_divergence.__doc__)
Poisson = _wrapper_class("Poisson", poisson, "poisson", {}, poisson.__doc__)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy",
    binary_crossentropy,
    "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    binary_crossentropy.__doc__,
)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy",
    categorical_crossentropy,
    "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    categorical_crossentropy.__doc__,
)
_SparseBase = _wrapper_class(
    "SparseCategoricalCrossentropy",
    sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    {"from_logits": False, "ignore_class": None, "axis": -1},
    sparse_categorical_crossentropy.__doc__,
)


class SparseCategoricalCrossentropy(_SparseBase):  # type: ignore[misc, valid-type]
    __doc__ = sparse_categorical_crossentropy.__doc__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        # No rank matching here: an (N,) target against (N, C) scores is the usual case.
        if not is_symbolic(y_true, y_pred):
            return evaluate(self.call, y_true, y_pred)
        return self._call_with_mask(to_tensor(y_true), to_tensor(y_pred))[0]

    def _call_with_mask(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        kw = self._fn_kwargs
        return _sparse_categorical_crossentropy(y_true, y_pred, kw["from_logits"], kw["ignore_class"], kw["axis"])


SparseCategoricalCrossentropy.__init__.__signature__ = _SparseBase.__init__.__signature__  # type: ignore[attr-defined]

ALL_OBJECTS = (
    Loss,
    LossFunctionWrapper,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    Huber,
    LogCosh,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
_FUNCTIONS = (
    mean_squared_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    cosine_similarity,
    huber,
    log_cosh,
    hinge,
    squared_hinge,
    categorical_hinge,
    kl_divergence,
    poisson,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
ALL_OBJECTS_DICT: dict[str, Any] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({fn.__name__: fn for fn in _FUNCTIONS})
ALL_OBJECTS_DICT.update(
    {
        "bce": bce,
        "BCE": bce,
        "kld": kld,
        "KLD": kld,
        "kullback_leibler_divergence": kl_divergence,
        "mae": mae,
        "MAE": mae,
        "mse": mse,
        "MSE": mse,
        "mape": mape,
        "MAPE": mape,
        "msle": msle,
        "MSLE": msle,
        "logcosh": log_cosh,
        "huber_loss": huber,
    }
)
# The Loss class of each function, so ``get("mse")`` gives MeanSquaredError(): the
# classes after Loss and LossFunctionWrapper, in _FUNCTIONS' order.
_CLASS_OF_FUNCTION = dict(zip(_FUNCTIONS, ALL_OBJECTS[2:], strict=True))


def serialize(loss: Any) -> Any:
    if isinstance(loss, Loss):
        return serialize_builtin("keras.losses", loss)
    return getattr(loss, "__name__", loss)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    table = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        return table.get(config)
    if isinstance(config, dict) and config.get("class_name") in table:
        cls = table[config["class_name"]]
        cfg = dict(config.get("config") or {})
        cfg.pop("fn", None)
        return cls.from_config(cfg) if inspect.isclass(cls) else cls
    raise ValueError(f"Could not interpret loss identifier: {config}")


def get(identifier: Any) -> Loss | None:
    """A Loss object for a name ("mse", "categorical_crossentropy",
    "SparseCategoricalCrossentropy", ...), a serialized dict, a Loss class or instance,
    or any function ``fn(y_true, y_pred)`` (wrapped in a LossFunctionWrapper; Keras'
    compile does the same). The Loss of a function name is its class with defaults,
    named as given ("mse" stays "mse")."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier}")
        if not inspect.isclass(obj):
            cls = _CLASS_OF_FUNCTION.get(obj)
            return cls(name=identifier) if cls is not None else LossFunctionWrapper(obj, name=identifier)
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if isinstance(obj, Loss):
        return obj
    if callable(obj):
        cls = _CLASS_OF_FUNCTION.get(obj)
        if cls is not None:
            return cls()
        return LossFunctionWrapper(obj, name=getattr(obj, "__name__", None))
    raise ValueError(f"Could not interpret loss identifier: {identifier}")


_SHAPE_RESOLVED = ("crossentropy", "ce")


def _is_shape_resolved(identifier: Any) -> bool:
    return isinstance(identifier, str) and identifier.lower() in _SHAPE_RESOLVED


def check_identifier(identifier: Any) -> None:
    """Raises ``get``'s error for an identifier no loss answers to, so ``compile`` reports
    a typo before any data is seen; None and the shortcuts ``resolve`` settles from the
    shapes ("crossentropy", "ce") pass."""
    if identifier is not None and not _is_shape_resolved(identifier):
        get(identifier)


def resolve(identifier: Any, output_shape: tuple | None = None, target_shape: tuple | None = None) -> Loss | None:
    """The Loss ``compile(loss=identifier)`` trains with (Keras 3's
    ``compile_utils.get_loss``): ``get`` plus the "crossentropy"/"ce" shortcut, binary when
    the output's last dimension is 1, sparse categorical when the target has lower rank
    (or last dimension 1 against several classes), categorical otherwise. Without
    ``target_shape`` the target is taken to be shaped like the output. The shortcut's
    Loss is named as given ("ce" stays "ce")."""
    if _is_shape_resolved(identifier) and output_shape is not None:
        is_binary, is_sparse = is_binary_or_sparse_categorical(target_shape or tuple(output_shape), tuple(output_shape))
        fn = (
            binary_crossentropy
            if is_binary
            else sparse_categorical_crossentropy
            if is_sparse
            else categorical_crossentropy
        )
        return _CLASS_OF_FUNCTION[fn](name=identifier)
    return get(identifier)


def is_binary_or_sparse_categorical(target_shape: tuple, output_shape: tuple) -> tuple[bool, bool]:
    """Keras' shape rule, (is_binary, is_sparse_categorical): binary when the output's
    last dimension is 1; sparse categorical when the target has lower rank than the
    output, or a last dimension of 1 against several classes. ``metrics.resolve`` reads
    its "accuracy" variant from the same rule."""
    t_last = target_shape[-1] if len(target_shape) else None
    p_last = output_shape[-1] if len(output_shape) else None
    is_binary = p_last == 1
    is_sparse = len(target_shape) < len(output_shape) or (
        t_last == 1 and isinstance(p_last, (int, np.integer)) and p_last > 1
    )
    return bool(is_binary), bool(is_sparse)


__all__ = [
    "Loss",
    "LossFunctionWrapper",
    *[cls.__name__ for cls in ALL_OBJECTS[2:]],
    *[fn.__name__ for fn in _FUNCTIONS],
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
    "kld",
    "KLD",
    "kullback_leibler_divergence",
    "bce",
    "BCE",
    "logcosh",
    "check_identifier",
    "get",
    "resolve",
    "serialize",
    "deserialize",
]
