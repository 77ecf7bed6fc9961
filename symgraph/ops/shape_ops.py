"""Ops that move or replicate elements without computing new values: reshape,
transpose, broadcast_to, expand_dims, squeeze, concatenate, stack, split, tile, pad,
flip, repeat, and the creation helpers (zeros, ones, full, *_like).

Target shapes may hold symbolic dimensions (``x.shape[0]``), so one graph serves every
batch size; such ops set ``needs_sizes`` and resolve the shape at call time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.graph.shape import Shape
from symgraph.graph.sources import _as_shape_tuple, as_tensor, constant
from symgraph.ops.elementwise import TensorLike, sum_to_shape
from symgraph.ops.registry import register


def as_shape(shape: Any) -> Shape:
    """A shape tuple from ints, symbolic dims, or a single int."""
    return tuple(shp.as_dim(d) for d in _as_shape_tuple(shape))


@register
class Reshape(Op):
    """The same elements (C order) in a new shape; ``shape`` is fully resolved (no -1)."""

    name = "reshape"
    needs_sizes = True

    def __init__(self, shape: Shape):
        self.shape = shape

    def infer(self, x: Tensor) -> TensorType:
        if shp.prod(x.shape) != shp.prod(self.shape) and shp.is_static_shape(x.shape + self.shape):
            raise ShapeError(f"cannot reshape {shp.shape_str(x.shape)} into {shp.shape_str(self.shape)}")
        return TensorType(x.dtype, self.shape)

    def reference(self, x, *, sizes):
        return x.reshape(shp.evaluate_shape(self.shape, sizes))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [reshape(g, x.shape)]


def reshape(x: TensorLike, shape: Any) -> Tensor:
    """``x`` with a new shape holding the same number of elements; one entry may be -1."""
    x = as_tensor(x)
    target = list(as_shape(shape))
    unknown = [i for i, d in enumerate(target) if isinstance(d, int) and d == -1]
    if len(unknown) > 1:
        raise ShapeError(f"reshape: only one -1 allowed in {tuple(target)}")
    if unknown:
        known = shp.prod([d for i, d in enumerate(target) if i != unknown[0]])
        total = shp.prod(x.shape)
        if isinstance(known, int) and isinstance(total, int) and (known == 0 or total % known):
            raise ShapeError(f"reshape: cannot reshape {shp.shape_str(x.shape)} into {tuple(shape)}")
        target[unknown[0]] = shp.floordiv(total, known)
    for d in target:
        if isinstance(d, int) and d < 0:
            raise ShapeError(f"reshape: negative dimension in {tuple(shape)}")
    target_shape = tuple(target)
    if target_shape == x.shape:
        return x
    return apply(Reshape(target_shape), x).outputs[0]


@register
class BroadcastTo(Op):
    """``x`` repeated along size-1 and new leading axes to ``shape`` (numpy's broadcast_to)."""

    name = "broadcast_to"
    needs_sizes = True

    def __init__(self, shape: Shape):
        self.shape = shape

    def infer(self, x: Tensor) -> TensorType:
        lead = len(self.shape) - x.ndim
        if lead < 0:
            raise ShapeError(f"cannot broadcast {shp.shape_str(x.shape)} to the lower rank {shp.shape_str(self.shape)}")
        for d, t in zip(x.shape, self.shape[lead:]):
            if d != 1 and d != t and isinstance(d, int) and isinstance(t, int):
                raise ShapeError(f"cannot broadcast {shp.shape_str(x.shape)} to {shp.shape_str(self.shape)}")
        return TensorType(x.dtype, self.shape)

    def reference(self, x, *, sizes):
        return np.broadcast_to(x, shp.evaluate_shape(self.shape, sizes))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [sum_to_shape(g, x.shape)]


def broadcast_to(x: TensorLike, shape: Any) -> Tensor:
    """``x`` broadcast to ``shape`` (numpy's broadcast_to)."""
    x = as_tensor(x)
    target = as_shape(shape)
    if target == x.shape:
        return x
    return apply(BroadcastTo(target), x).outputs[0]


@register
class Transpose(Op):
    """Axes permuted: output axis i is input axis ``perm[i]``."""

    name = "transpose"

    def __init__(self, perm: tuple[int, ...]):
        self.perm = perm

    def infer(self, x: Tensor) -> TensorType:
        if sorted(self.perm) != list(range(x.ndim)):
            raise ShapeError(f"axes {self.perm} are not a permutation of the {x.ndim} axes")
        return TensorType(x.dtype, tuple(x.shape[p] for p in self.perm))

    def reference(self, x):
        return np.transpose(x, self.perm)

    def grad(self, inputs, outputs, output_grads):
        inverse = tuple(int(i) for i in np.argsort(self.perm))
        return [transpose(output_grads[0], inverse)]


def transpose(x: TensorLike, axes: Any = None) -> Tensor:
    """``x`` with its axes permuted (reversed when ``axes`` is None)."""
    x = as_tensor(x)
    perm = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(a) % max(x.ndim, 1) for a in axes)
    if axes is not None and len(perm) != x.ndim:
        raise ShapeError(f"transpose: axes {tuple(axes)} do not match a tensor of rank {x.ndim}")
    if perm == tuple(range(x.ndim)):
        return x
    return apply(Transpose(perm), x).outputs[0]


def expand_dims(x: TensorLike, axis: int | tuple[int, ...]) -> Tensor:
    """``x`` with size-1 axes inserted at ``axis`` (positions in the result)."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    positions = sorted(int(a) % ndim if -ndim <= int(a) < ndim else _bad_axis(a, ndim) for a in axes)
    shape = list(x.shape)
    for p in positions:
        shape.insert(p, 1)
    return reshape(x, tuple(shape))


def squeeze(x: TensorLike, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``x`` without size-1 axes (only those in ``axis`` when given)."""
    x = as_tensor(x)
    if axis is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    else:
        axes = [
            int(a) % x.ndim if -x.ndim <= int(a) < x.ndim else _bad_axis(a, x.ndim)
            for a in (axis if isinstance(axis, (tuple, list)) else (axis,))
        ]
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of {shp.shape_str(x.shape)} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def _bad_axis(axis: Any, ndim: int) -> int:
    raise ShapeError(f"axis {axis} is out of range for rank {ndim}")


def full(shape: Any, fill_value: Any, dtype: object = None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    value = constant(fill_value, dtype)
    if value.ndim:
        raise ShapeError("full: fill_value must be a scalar")
    return broadcast_to(value, as_shape(shape))


def zeros(shape: Any, dtype: object = "float32") -> Tensor:
    """A tensor of zeros."""
    return full(shape, 0, dtype)


def ones(shape: Any, dtype: object = "float32") -> Tensor:
    """A tensor of ones."""
    return full(shape, 1, dtype)


def zeros_like(x: TensorLike, dtype: object = None) -> Tensor:
    """Zeros with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, 0, dtype or x.dtype)


def ones_like(x: TensorLike, dtype: object = None) -> Tensor:
    """Ones with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, 1, dtype or x.dtype)


def full_like(x: TensorLike, fill_value: Any, dtype: object = None) -> Tensor:
    """``fill_value`` with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, fill_value, dtype or x.dtype)


__all__ = [
    "reshape",
    "broadcast_to",
    "transpose",
    "expand_dims",
    "squeeze",
    "full",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "full_like",
]
