"""Reductions over axes: sum, prod, max, min, argmax, argmin, any, all, and the
composites built from them (mean, var, std, logsumexp).

``axis`` is None (every axis), an int or a tuple of ints, negative counting from the
end; ``keepdims`` keeps reduced axes as size 1. Both are normalised when the node is
built, so ``sum(x, -1)`` and ``sum(x, 1)`` on a matrix are the same node.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from symgraph import dtypes
from symgraph.errors import ShapeError
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.graph.shape import Shape
from symgraph.graph.sources import as_tensor
from symgraph.ops.elementwise import TensorLike
from symgraph.ops.registry import register


def normalize_axes(axis: int | tuple[int, ...] | list[int] | None, ndim: int) -> tuple[int, ...]:
    """Sorted non-negative axes; ShapeError for an axis out of range or repeated."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor of rank {ndim}")
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(result))


def reduced_shape(shape: Shape, axes: tuple[int, ...], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


class Reduce(Op):
    """Base of reductions: attributes ``axes`` (normalised) and ``keepdims``."""

    output_dtype_rule: ClassVar[str] = "same"  # "same", "bool", "index", "sum"

    def __init__(self, axes: tuple[int, ...], keepdims: bool):
        self.axes = axes
        self.keepdims = bool(keepdims)

    def output_dtype(self, dtype: np.dtype) -> np.dtype:
        rule = self.output_dtype_rule
        if rule == "bool":
            return dtypes.BOOL
        if rule == "index":
            return dtypes.DEFAULT_INT
        if rule == "sum" and dtype.kind in "biu":  # numpy sums small ints and bools in int64
            return dtypes.DEFAULT_INT  # (uint8 too: uint64, numpy's choice, is not supported)
        return dtype

    def infer(self, x: Tensor) -> TensorType:
        for a in self.axes:
            if a >= x.ndim:
                raise ShapeError(f"axis {a} is out of range for a tensor of rank {x.ndim}")
        return TensorType(self.output_dtype(x.dtype), reduced_shape(x.shape, self.axes, self.keepdims))


def expand_reduced(g: Tensor, x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """``g`` (shaped like a reduction of ``x``) broadcast back to ``x``'s shape."""
    from symgraph.ops import shape_ops

    if not keepdims:
        g = shape_ops.reshape(g, reduced_shape(x.shape, axes, True))
    return shape_ops.broadcast_to(g, x.shape)


@register
class Sum(Reduce):
    """sum over ``axes``; bools and small integers sum in int64 as in numpy."""

    name = "sum"
    output_dtype_rule = "sum"

    def reference(self, x):
        return np.asarray(np.sum(x, axis=self.axes, keepdims=self.keepdims, dtype=self.output_dtype(x.dtype)))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [expand_reduced(g, x, self.axes, self.keepdims)]


def _reduce(cls: type[Reduce], x: TensorLike, axis, keepdims: bool) -> Tensor:
    x = as_tensor(x)
    return apply(cls(normalize_axes(axis, x.ndim), keepdims), x).outputs[0]


def sum(x: TensorLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum of elements over ``axis`` (numpy's sum)."""
    return _reduce(Sum, x, axis, keepdims)


@register
class Prod(Reduce):
    """product over ``axes``; integers and bools multiply in int64 as in numpy."""

    name = "prod"
    output_dtype_rule = "sum"

    def reference(self, x):
        return np.asarray(np.prod(x, axis=self.axes, keepdims=self.keepdims, dtype=self.output_dtype(x.dtype)))

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar

        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        # d prod / d x_i = product of the others, computed without dividing by x_i
        # (zeros are common): exclusive cumulative products from both ends.
        from symgraph.ops import shape_ops

        kept = [a for a in range(x.ndim) if a not in self.axes]
        perm = tuple(kept + list(self.axes))
        moved = shape_ops.transpose(x, perm)
        flat = shape_ops.reshape(moved, tuple(x.shape[a] for a in kept) + (-1,))
        others = ar.mul(_exclusive_cumprod(flat, reverse=False), _exclusive_cumprod(flat, reverse=True))
        inverse = tuple(int(i) for i in np.argsort(perm))
        others = shape_ops.transpose(shape_ops.reshape(others, moved.shape), inverse)
        return [ar.mul(expand_reduced(g, x, self.axes, self.keepdims), others)]


def _exclusive_cumprod(x: Tensor, reverse: bool) -> Tensor:
    """Along the last axis: out[i] = prod(x[:i]) (or of x[i+1:] when reverse)."""
    from symgraph.ops import indexing, shape_ops

    if reverse:
        x = shape_ops.flip(x, -1)
    ones = shape_ops.ones_like(indexing.getitem(x, (Ellipsis, slice(0, 1))))
    shifted = shape_ops.concatenate([ones, indexing.getitem(x, (Ellipsis, slice(None, -1)))], axis=-1)
    out = cumprod(shifted, axis=-1)
    return shape_ops.flip(out, -1) if reverse else out


class _Extremum(Reduce):
    """max or min: the gradient goes to the elements equal to the result, split evenly."""

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops.elementwise import cast

        (x,), (out,), (g,) = inputs, outputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        hits = cast(ar.equal(x, expand_reduced(out, x, self.axes, self.keepdims)), x.dtype)
        count = sum(hits, self.axes, keepdims=True)
        share = ar.true_divide(hits, count)
        return [ar.mul(expand_reduced(g, x, self.axes, self.keepdims), share)]

    def infer(self, x: Tensor) -> TensorType:
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0) has no identity")
        return super().infer(x)


@register
class Max(_Extremum):
    """maximum over ``axes`` (NaN-propagating)"""

    name = "max"

    def reference(self, x):
        return np.asarray(np.max(x, axis=self.axes, keepdims=self.keepdims))


@register
class Min(_Extremum):
    """minimum over ``axes`` (NaN-propagating)"""

    name = "min"

    def reference(self, x):
        return np.asarray(np.min(x, axis=self.axes, keepdims=self.keepdims))


@register
class Any(Reduce):
    """whether any element over ``axes`` is true (nonzero)"""

    name = "any"
    output_dtype_rule = "bool"

    def reference(self, x):
        return np.asarray(np.any(x, axis=self.axes, keepdims=self.keepdims))

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class All(Reduce):
    """whether every element over ``axes`` is true (nonzero)"""

    name = "all"
    output_dtype_rule = "bool"

    def reference(self, x):
        return np.asarray(np.all(x, axis=self.axes, keepdims=self.keepdims))

    def grad(self, inputs, outputs, output_grads):
        return [None]


class _ArgExtremum(Reduce):
    """Index (int64) of the first maximum/minimum along one axis, or of the flattened
    tensor when ``axis`` is None (numpy's convention)."""

    output_dtype_rule = "index"

    def infer(self, x: Tensor) -> TensorType:
        if len(self.axes) != 1 and x.ndim > 1:
            raise ShapeError(f"{self.name} takes one axis or None")
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0)")
        return super().infer(x)

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class ArgMax(_ArgExtremum):
    """index of the first maximum along the axis"""

    name = "argmax"

    def reference(self, x):
        axis = self.axes[0] if self.axes else None
        return np.asarray(np.argmax(x, axis=axis, keepdims=self.keepdims), dtypes.DEFAULT_INT)


@register
class ArgMin(_ArgExtremum):
    """index of the first minimum along the axis"""

    name = "argmin"

    def reference(self, x):
        axis = self.axes[0] if self.axes else None
        return np.asarray(np.argmin(x, axis=axis, keepdims=self.keepdims), dtypes.DEFAULT_INT)


Axis = int | tuple[int, ...] | None


def prod(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Product of elements over ``axis`` (numpy's prod)."""
    return _reduce(Prod, x, axis, keepdims)


def max(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis`` (numpy's max / amax)."""
    return _reduce(Max, x, axis, keepdims)


def min(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis`` (numpy's min / amin)."""
    return _reduce(Min, x, axis, keepdims)


def any(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether any element over ``axis`` is nonzero."""
    return _reduce(Any, x, axis, keepdims)


def all(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``axis`` is nonzero."""
    return _reduce(All, x, axis, keepdims)


def _arg_reduce(cls: type[Reduce], x: TensorLike, axis: int | None, keepdims: bool) -> Tensor:
    from symgraph.ops import shape_ops

    x = as_tensor(x)
    if axis is None and x.ndim > 1:
        out = _reduce(cls, shape_ops.reshape(x, (-1,)), 0, False)
        return shape_ops.reshape(out, (1,) * x.ndim) if keepdims else out
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{cls.name}: axis must be an int or None, got {axis!r}")
    return _reduce(cls, x, axis, keepdims)


def argmax(x: TensorLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first maximum along ``axis`` (of the flattened tensor if None)."""
    return _arg_reduce(ArgMax, x, axis, keepdims)


def argmin(x: TensorLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first minimum along ``axis`` (of the flattened tensor if None)."""
    return _arg_reduce(ArgMin, x, axis, keepdims)


def count(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """The number of elements reduced over ``axes``, as a scalar of x's float dtype."""
    from symgraph.graph import shape as shp
    from symgraph.graph.sources import dim_value
    from symgraph.ops.elementwise import cast

    n = shp.prod([x.shape[a] for a in axes])
    return cast(dim_value(n), dtypes.float_result(x.dtype))


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``; integers average in floatx."""
    from symgraph.ops import arithmetic as ar
    from symgraph.ops.elementwise import cast

    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    return ar.true_divide(sum(x, axes, keepdims), count(x, axes))


def var(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis``: mean(|x - mean(x)|**2) * n / (n - ddof)."""
    from symgraph.ops import arithmetic as ar
    from symgraph.ops.elementwise import cast

    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    centered = ar.sub(x, mean(x, axes, keepdims=True))
    total = sum(ar.mul(centered, centered), axes, keepdims)
    return ar.true_divide(total, ar.sub(count(x, axes), ddof))


def std(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over ``axis``: sqrt(var(x))."""
    from symgraph.ops.math import sqrt

    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed stably as m + log(sum(exp(x - m)))
    with m the (gradient-free) maximum; -inf where every element is -inf."""
    from symgraph.ops import arithmetic as ar
    from symgraph.ops.elementwise import cast
    from symgraph.ops.math import exp, log

    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    m = ar.stop_gradient(max(x, axes, keepdims=True))
    m = ar.where(ar.isfinite(m), m, 0)
    out = ar.add(log(sum(exp(ar.sub(x, m)), axes, keepdims=True)), m)
    if not keepdims:
        from symgraph.ops import shape_ops

        out = shape_ops.reshape(out, reduced_shape(x.shape, axes, False))
    return out


__all__ = [
    "sum",
    "prod",
    "max",
    "min",
    "any",
    "all",
    "argmax",
    "argmin",
    "mean",
    "var",
    "std",
    "logsumexp",
]
