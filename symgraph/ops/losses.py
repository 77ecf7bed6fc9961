"""softmax, log_softmax and the cross-entropies (``sg.nn.*``).

Each is one primitive, so the C backend emits one kernel for it (a max, a sum of
exponentials and a normalisation over the class axis) and the stabilisation pass can
fuse ``log(softmax(x))`` into ``log_softmax(x)`` and a softmax followed by a
cross-entropy into the fused loss. Every reference subtracts the maximum over the
class axis first, so no logit magnitude overflows.

The losses return one value per example (no reduction over the batch), like TF's
``*_with_logits``: reduce with ``sg.mean`` or ``sg.sum``.

``axis`` is the class axis (default the last), negative counting from the end; it is
normalised when the node is built.
"""

from __future__ import annotations

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, IndexOutOfRangeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.graph.shape import Dim
from symgraph.graph.sources import as_tensor, constant
from symgraph.ops.elementwise import FLOAT, Elementwise, TensorLike, broadcast_shapes, cast, promote, sum_to_shape
from symgraph.ops.registry import register


def _class_axis(axis: int, ndim: int, op: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= int(axis) < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % ndim


def _float_tensor(x: TensorLike) -> Tensor:
    x = as_tensor(x)
    return cast(x, dtypes.float_result(x.dtype))


def _stable_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        shifted = x - m
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class _AlongClasses(Op):
    """Base of the ops normalising over the class axis ``axis`` (non-negative)."""

    def __init__(self, axis: int):
        self.axis = int(axis)

    def check_logits(self, x: Tensor) -> None:
        if not dtypes.is_float(x.dtype):
            raise DTypeError(f"logits must be float, got {x.dtype.name}")
        if not 0 <= self.axis < x.ndim:
            raise ShapeError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")


@register
class Softmax(_AlongClasses):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) along ``axis``, m = max_j x_j
    (the shift changes nothing mathematically and keeps exp from overflowing);
    dx = y * (g - sum(g * y)) with y the output. A slice of all -inf (or holding +inf)
    is NaN, as in numpy, scipy and JAX."""

    name = "softmax"

    def infer(self, x: Tensor) -> TensorType:
        self.check_logits(x)
        return TensorType(x.dtype, x.shape)

    def reference(self, x):
        with np.errstate(all="ignore"):
            m = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)
            e = np.exp(x - m)
            return np.asarray(e / np.sum(e, axis=self.axis, keepdims=True), x.dtype)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops.reduction import sum

        (y,), (g,) = outputs, output_grads
        return [ar.mul(y, ar.sub(g, sum(ar.mul(g, y), self.axis, keepdims=True)))]


@register
class LogSoftmax(_AlongClasses):
    """log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)) along ``axis``, m = max_j x_j
    (finite for any finite logits); dx = g - exp(y) * sum(g) with y the output. A slice
    of all -inf (or holding +inf) is NaN, like softmax."""

    name = "log_softmax"

    def infer(self, x: Tensor) -> TensorType:
        self.check_logits(x)
        return TensorType(x.dtype, x.shape)

    def reference(self, x):
        return np.asarray(_stable_log_softmax(x, self.axis), x.dtype)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops.math import exp
        from symgraph.ops.reduction import sum

        (y,), (g,) = outputs, output_grads
        return [ar.sub(g, ar.mul(exp(y), sum(g, self.axis, keepdims=True)))]


def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """Softmax along ``axis`` (exp(x) normalised to sum to 1), computed stably;
    integer inputs compute in floatx."""
    x = _float_tensor(x)
    return apply(Softmax(_class_axis(axis, x.ndim, "softmax")), x).outputs[0]


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably as x - logsumexp(x);
    integer inputs compute in floatx."""
    x = _float_tensor(x)
    return apply(LogSoftmax(_class_axis(axis, x.ndim, "log_softmax")), x).outputs[0]


def _one_hot_along(labels: Tensor, depth: Dim, axis: int, dtype: np.dtype) -> Tensor:
    """onehot[..., c, ...] = (labels[...] == c), with the class axis c inserted at ``axis``."""
    from symgraph.ops import arithmetic as ar
    from symgraph.ops import reduction, shape_ops

    ndim = labels.ndim + 1
    if isinstance(depth, int):
        iota = constant(np.arange(depth, dtype=dtypes.DEFAULT_INT))
    else:  # 0, 1, ..., depth-1 for a size known only at call time
        iota = reduction.cumsum(shape_ops.ones((depth,), dtypes.DEFAULT_INT), exclusive=True)
    iota = shape_ops.reshape(iota, tuple(depth if i == axis else 1 for i in range(ndim)))
    hits = ar.equal(shape_ops.expand_dims(cast(labels, dtypes.DEFAULT_INT), axis), iota)
    return cast(hits, dtype)


def _check_labels(labels: np.ndarray, classes: int, axis: int) -> None:
    if labels.size == 0:
        return
    low, high = labels.min(), labels.max()
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise IndexOutOfRangeError(
            f"label {int(bad)} is out of range for {classes} classes (axis {axis}): labels must lie in [0, {classes})"
        )


@register
class SparseSoftmaxCrossEntropy(_AlongClasses):
    """loss = -log_softmax(logits)[label] per example: logits (..., C, ...) with the
    classes on ``axis``, integer labels shaped like logits without that axis, each in
    [0, C) (one outside raises IndexOutOfRangeError when the function runs).
    d/dlogits = (softmax(logits) - onehot(labels)) * g; labels get no gradient."""

    name = "sparse_softmax_cross_entropy"

    def infer(self, logits: Tensor, labels: Tensor) -> TensorType:
        self.check_logits(logits)
        if not dtypes.is_integer(labels.dtype):
            raise DTypeError(f"labels must be integers (class indices), got {labels.dtype.name}")
        expected = logits.shape[: self.axis] + logits.shape[self.axis + 1 :]
        if labels.ndim != len(expected):
            raise ShapeError(
                f"labels must have the logits' shape without the class axis {self.axis}: "
                f"{shp.shape_str(expected)}, got {shp.shape_str(labels.shape)}"
            )
        shape = []
        for d_logits, d_labels in zip(expected, labels.shape):
            if isinstance(d_logits, int) and isinstance(d_labels, int) and d_logits != d_labels:
                raise ShapeError(
                    f"labels must have the logits' shape without the class axis {self.axis}: "
                    f"{shp.shape_str(expected)}, got {shp.shape_str(labels.shape)}"
                )
            shape.append(d_labels if isinstance(d_labels, int) else d_logits)  # static if either is
        return TensorType(logits.dtype, tuple(shape))

    def reference(self, logits, labels):
        expected = logits.shape[: self.axis] + logits.shape[self.axis + 1 :]
        if labels.shape != expected:
            raise ShapeError(f"labels have shape {labels.shape}; the logits need {expected}")
        _check_labels(labels, logits.shape[self.axis], self.axis)
        lsm = _stable_log_softmax(logits, self.axis)
        index = np.expand_dims(labels.astype(np.intp), self.axis)
        picked = np.take_along_axis(lsm, index, axis=self.axis)
        return np.asarray(-np.squeeze(picked, self.axis), logits.dtype)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops import shape_ops

        (logits, labels), (g,) = inputs, output_grads
        onehot = _one_hot_along(labels, logits.shape[self.axis], self.axis, logits.dtype)
        d_logits = ar.mul(ar.sub(softmax(logits, self.axis), onehot), shape_ops.expand_dims(g, self.axis))
        return [d_logits, None]


def sparse_softmax_cross_entropy(logits: TensorLike, labels: TensorLike, axis: int = -1) -> Tensor:
    """Cross-entropy between softmax(logits) along ``axis`` and integer class
    ``labels`` (shaped like logits without ``axis``), one value per example: TF's
    sparse_softmax_cross_entropy_with_logits. Computed stably; a label outside
    [0, classes) raises IndexOutOfRangeError when the function runs."""
    logits = _float_tensor(logits)
    labels = as_tensor(labels)
    ax = _class_axis(axis, logits.ndim, "sparse_softmax_cross_entropy")
    return apply(SparseSoftmaxCrossEntropy(ax), logits, labels).outputs[0]


@register
class SoftmaxCrossEntropy(_AlongClasses):
    """loss = -sum_c targets_c * log_softmax(logits)_c along ``axis``, per example, for
    targets of the logits' shape (probabilities, or any weights); a term with
    targets_c = 0 counts 0 even where log_softmax is -inf (masked logits).
    d/dlogits = (softmax(logits) * sum_c targets_c - targets) * g (the familiar
    softmax - targets when targets sum to 1); d/dtargets = -log_softmax(logits) * g."""

    name = "softmax_cross_entropy"

    def infer(self, logits: Tensor, targets: Tensor) -> TensorType:
        self.check_logits(logits)
        if targets.dtype != logits.dtype:
            raise DTypeError("logits and targets must share one dtype (sg promotes them on the way in)")
        shape = broadcast_shapes(logits.shape, targets.shape)
        if len(shape) != logits.ndim or len(shape) != targets.ndim:
            raise ShapeError("logits and targets must have the same shape (sg broadcasts them on the way in)")
        return TensorType(logits.dtype, shape[: self.axis] + shape[self.axis + 1 :])

    def reference(self, logits, targets):
        logits, targets = np.broadcast_arrays(logits, targets)
        lsm = _stable_log_softmax(logits, self.axis)
        with np.errstate(all="ignore"):
            terms = np.where(targets == 0, 0, targets * lsm)
        return np.asarray(-np.sum(terms, axis=self.axis), logits.dtype)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops import shape_ops
        from symgraph.ops.reduction import sum

        (logits, targets), (g,) = inputs, output_grads
        g = shape_ops.expand_dims(g, self.axis)
        total = sum(targets, self.axis, keepdims=True)
        d_logits = ar.mul(ar.sub(ar.mul(softmax(logits, self.axis), total), targets), g)
        d_targets = ar.mul(ar.neg(log_softmax(logits, self.axis)), g)
        return [sum_to_shape(d_logits, logits.shape), sum_to_shape(d_targets, targets.shape)]


def softmax_cross_entropy(logits: TensorLike, targets: TensorLike, axis: int = -1) -> Tensor:
    """Cross-entropy -sum(targets * log_softmax(logits)) along ``axis``, one value per
    example, for dense targets (probabilities, e.g. one-hot or smoothed labels): TF's
    softmax_cross_entropy_with_logits. Differentiable in both arguments; the operands
    are promoted to one float dtype and broadcast to one shape."""
    from symgraph.ops import shape_ops

    logits, targets = promote((logits, targets), FLOAT)
    shape = broadcast_shapes(logits.shape, targets.shape)
    logits, targets = shape_ops.broadcast_to(logits, shape), shape_ops.broadcast_to(targets, shape)
    ax = _class_axis(axis, len(shape), "softmax_cross_entropy")
    return apply(SoftmaxCrossEntropy(ax), logits, targets).outputs[0]


@register
class SigmoidBinaryCrossEntropy(Elementwise):
    """loss = -(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))) for logits x and labels
    z (probabilities), elementwise, computed as max(x, 0) - x z + log1p(exp(-|x|)),
    which never overflows; d/dx = sigmoid(x) - z, d/dz = -x."""

    name = "sigmoid_binary_cross_entropy"
    arity = 2
    input_kind = FLOAT

    def compute(self, x, z):
        return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops.activations import sigmoid

        (x, z), (g,) = inputs, output_grads
        return [
            sum_to_shape(ar.mul(g, ar.sub(sigmoid(x), z)), x.shape),
            sum_to_shape(ar.mul(g, ar.neg(x)), z.shape),
        ]


_sigmoid_binary_cross_entropy = SigmoidBinaryCrossEntropy()


def sigmoid_binary_cross_entropy(logits: TensorLike, labels: TensorLike) -> Tensor:
    """Binary cross-entropy between sigmoid(logits) and ``labels`` (0/1 or
    probabilities), elementwise with broadcasting: TF's
    sigmoid_cross_entropy_with_logits. Stable for any logit magnitude."""
    return _sigmoid_binary_cross_entropy(logits, labels)


__all__ = [
    "softmax",
    "log_softmax",
    "sparse_softmax_cross_entropy",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
]
