"""Reductions over axes: sum, prod, max, min, argmax, argmin, any, all, and the
composites built from them (mean, var, std, logsumexp).

``axis`` is None (every axis), an int or a tuple of ints, negative counting from the
end; ``keepdims`` keeps reduced axes as size 1. Both are normalised when the node is
built, so ``sum(x, -1)`` and ``sum(x, 1)`` on a matrix are the same node.
"""

from __future__ import annotations

import builtins
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
        from symgraph.graph import shape as shp
        from symgraph.ops import arithmetic as ar
        from symgraph.ops import shape_ops

        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        g = expand_reduced(g, x, self.axes, self.keepdims)
        if not self.axes:  # nothing reduced (a 0-d input): the identity
            return [g]
        # d prod / d x_i = the product of the others, computed without dividing by x_i
        # (zeros are common): exclusive cumulative products from both ends, along one
        # axis holding every reduced element.
        if len(self.axes) == 1:
            return [ar.mul(g, _product_of_others(x, self.axes[0]))]
        kept = [a for a in range(x.ndim) if a not in self.axes]
        perm = tuple(kept + list(self.axes))
        moved = shape_ops.transpose(x, perm)
        flat = shape_ops.reshape(moved, tuple(x.shape[a] for a in kept) + (shp.prod([x.shape[a] for a in self.axes]),))
        others = shape_ops.reshape(_product_of_others(flat, len(kept)), moved.shape)
        inverse = tuple(int(i) for i in np.argsort(perm))
        return [ar.mul(g, shape_ops.transpose(others, inverse))]


def _product_of_others(x: Tensor, axis: int) -> Tensor:
    """Along ``axis``: out[i] = prod(x[:i]) * prod(x[i+1:]), exact when x holds zeros."""
    from symgraph.ops import arithmetic as ar

    before = apply(Cumprod(axis, exclusive=True, reverse=False), x).outputs[0]
    after = apply(Cumprod(axis, exclusive=True, reverse=True), x).outputs[0]
    return ar.mul(before, after)


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
        result = super().infer(x)
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0) has no identity")
        return result


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
        result = super().infer(x)
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0)")
        return result

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
    with m the (gradient-free) maximum; -inf where every element is -inf (and over an
    axis of static size 0, as scipy's logsumexp; an axis whose size is 0 only at call
    time is a ShapeError there, from the max)."""
    from symgraph.ops import arithmetic as ar
    from symgraph.ops import shape_ops
    from symgraph.ops.elementwise import cast
    from symgraph.ops.math import exp, log

    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    if builtins.any(isinstance(x.shape[a], int) and x.shape[a] == 0 for a in axes):
        return log(sum(exp(x), axes, keepdims))  # log(0) = -inf: no shift needed
    m = ar.stop_gradient(max(x, axes, keepdims=True))
    m = ar.where(ar.isfinite(m), m, 0)
    out = ar.add(log(sum(exp(ar.sub(x, m)), axes, keepdims=True)), m)
    if not keepdims:
        out = shape_ops.reshape(out, reduced_shape(x.shape, axes, False))
    return out


class _Cumulative(Op):
    """Base of the scans along one axis: attributes ``axis`` (non-negative),
    ``exclusive`` (element i combines the elements strictly before i, starting from
    the identity) and ``reverse`` (scan from the end of the axis), as in TF's cumsum.
    Integers and bools accumulate in int64, as numpy's cumsum and cumprod do."""

    identity: ClassVar[int] = 0  # the first element of an exclusive scan

    def __init__(self, axis: int, exclusive: bool = False, reverse: bool = False):
        self.axis = int(axis)
        self.exclusive = bool(exclusive)
        self.reverse = bool(reverse)

    def infer(self, x: Tensor) -> TensorType:
        if not 0 <= self.axis < x.ndim:
            raise ShapeError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")
        dtype = dtypes.DEFAULT_INT if x.dtype.kind in "biu" else x.dtype
        return TensorType(dtype, x.shape)

    def accumulate(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def reference(self, x):
        dtype = dtypes.DEFAULT_INT if x.dtype.kind in "biu" else x.dtype
        moved = np.moveaxis(x, self.axis, -1)
        if self.reverse:
            moved = moved[..., ::-1]
        acc = self.accumulate(moved, dtype)
        if self.exclusive:
            shifted = np.empty_like(acc)
            shifted[..., :1] = self.identity
            shifted[..., 1:] = acc[..., :-1]
            acc = shifted
        if self.reverse:
            acc = acc[..., ::-1]
        return np.ascontiguousarray(np.moveaxis(acc, -1, self.axis))


@register
class Cumsum(_Cumulative):
    """Running sum along ``axis``: out[i] = sum(x[:i+1]) (x[:i] when exclusive;
    x[i:] / x[i+1:] when reverse). The gradient is the scan the other way:
    dx = cumsum(g) with ``reverse`` flipped and ``exclusive`` kept."""

    name = "cumsum"
    identity = 0

    def accumulate(self, x, dtype):
        return np.cumsum(x, axis=-1, dtype=dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [apply(Cumsum(self.axis, self.exclusive, not self.reverse), g).outputs[0]]


@register
class Cumprod(_Cumulative):
    """Running product along ``axis``: out[i] = prod(x[:i+1]) (x[:i] when exclusive;
    x[i:] / x[i+1:] when reverse).

    Gradient, with S the scan the other way (cumsum with reverse flipped, exclusive
    kept), never dividing by a zero: where x[k] != 0, dx[k] = S(g * out)[k] / x[k];
    at the first and second zeros in scan order, dx[k] = S(g * cumprod(x with x[k] := 1))[k];
    at later zeros 0 (the true gradient there holds two zero factors). Each branch is the
    exact gradient as a function, so second derivatives are exact too, zeros included."""

    name = "cumprod"
    identity = 1

    def accumulate(self, x, dtype):
        return np.cumprod(x, axis=-1, dtype=dtype)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops import arithmetic as ar
        from symgraph.ops.elementwise import cast

        (x,), (out,), (g,) = inputs, outputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]

        def scan_back(t: Tensor) -> Tensor:
            return apply(Cumsum(self.axis, self.exclusive, not self.reverse), t).outputs[0]

        def without(mask: Tensor) -> Tensor:  # the scan with x[k] := 1 where mask holds
            return apply(Cumprod(self.axis, self.exclusive, self.reverse), ar.where(mask, 1, x)).outputs[0]

        is_zero = ar.equal(x, 0)
        zeros_so_far = apply(Cumsum(self.axis, False, self.reverse), cast(is_zero, dtypes.DEFAULT_INT)).outputs[0]
        first = ar.logical_and(is_zero, ar.equal(zeros_so_far, 1))
        second = ar.logical_and(is_zero, ar.equal(zeros_so_far, 2))
        g_nonzero = ar.true_divide(scan_back(ar.mul(g, out)), ar.where(is_zero, 1, x))
        g_first = scan_back(ar.mul(g, without(first)))
        g_second = scan_back(ar.mul(g, without(second)))
        return [ar.where(is_zero, ar.where(first, g_first, ar.where(second, g_second, 0)), g_nonzero)]


def _cumulative(cls: type[_Cumulative], x: TensorLike, axis: int | None, exclusive: bool, reverse: bool) -> Tensor:
    from symgraph.ops import shape_ops

    x = as_tensor(x)
    if axis is None:
        x, axis = shape_ops.reshape(x, (-1,)), 0
    elif x.ndim == 0:
        x = shape_ops.reshape(x, (1,))  # numpy scans a 0-d array as a 1-element vector
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ShapeError(f"{cls.name}: axis must be an int or None, got {axis!r}")
    (ax,) = normalize_axes(axis, x.ndim)
    return apply(cls(ax, exclusive, reverse), x).outputs[0]


def cumsum(x: TensorLike, axis: int | None = None, *, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Cumulative sum along ``axis`` (numpy's cumsum: None scans the flattened tensor;
    integers and bools sum in int64). ``exclusive`` and ``reverse`` are TF's options:
    out[i] sums x[:i] when exclusive, and the scan runs from the end when reverse."""
    return _cumulative(Cumsum, x, axis, exclusive, reverse)


def cumprod(x: TensorLike, axis: int | None = None, *, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Cumulative product along ``axis`` (numpy's cumprod: None scans the flattened
    tensor; integers and bools multiply in int64); ``exclusive`` and ``reverse`` as in
    ``cumsum``. Its gradient is exact where x holds zeros."""
    return _cumulative(Cumprod, x, axis, exclusive, reverse)


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
    "cumsum",
    "cumprod",
]
