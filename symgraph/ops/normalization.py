"""Normalisation: ``sg.nn.moments`` and ``sg.nn.batch_norm``, built from existing ops.

No op of their own: they are a handful of reductions and elementwise ops, which the
fusion pass merges into loops (the per-channel factors are computed on (C,) vectors,
then x is touched by one fused multiply-add), and autodiff differentiates them.
"""

from __future__ import annotations

from typing import Any

from symgraph.graph.core import Tensor
from symgraph.ops.arithmetic import add, multiply, subtract
from symgraph.ops.conv import fail
from symgraph.ops.elementwise import FLOAT, TensorLike, promote
from symgraph.ops.math import rsqrt, square
from symgraph.ops.reduction import mean as reduce_mean
from symgraph.ops.shape_ops import reshape, squeeze


def moments(x: TensorLike, axes: Any, keepdims: bool = False) -> tuple[Tensor, Tensor]:
    """(mean, variance) of x over ``axes`` (an int or a sequence of ints): mean = E[x],
    variance = E[(x - mean)^2] (biased, as tf.nn.moments)."""
    (x,) = promote((x,), FLOAT)
    axes_ = (axes,) if isinstance(axes, int) else tuple(axes)
    centre = reduce_mean(x, axis=axes_, keepdims=True)
    variance = reduce_mean(square(subtract(x, centre)), axis=axes_, keepdims=keepdims)
    if keepdims:
        return centre, variance
    return squeeze(centre, axes_), variance  # one reduction for both: the squeeze is a reshape


def batch_norm(
    x: TensorLike,
    mean: TensorLike,
    variance: TensorLike,
    offset: TensorLike | None,
    scale: TensorLike | None,
    epsilon: float = 1e-3,
    axis: int = -1,
) -> Tensor:
    """y = (x - mean) / sqrt(variance + epsilon) * scale + offset, with mean, variance,
    offset and scale of shape (C,) broadcast along ``axis`` of x (offset/scale None:
    0 and 1). Computed as x * k + (offset - mean * k) with k = scale / sqrt(variance +
    epsilon), so x is read once (the per-channel k and shift are (C,) vectors)."""
    given = [t for t in (x, mean, variance, offset, scale) if t is not None]
    converted = iter(promote(tuple(given), FLOAT))
    x, mean, variance = next(converted), next(converted), next(converted)
    offset = next(converted) if offset is not None else None
    scale = next(converted) if scale is not None else None
    inputs = [t for t in (x, mean, variance, offset, scale) if t is not None]
    if not -x.ndim <= axis < x.ndim:
        raise fail("batch_norm", inputs, f"axis {axis} is out of range for x of rank {x.ndim}")
    axis = axis % x.ndim
    for what, t in (("mean", mean), ("variance", variance), ("offset", offset), ("scale", scale)):
        if t is None:
            continue
        if t.ndim != 1:
            raise fail(
                "batch_norm", inputs, f"{what} must have shape (C,) for the channel axis {axis}, got rank {t.ndim}"
            )
        c, size = t.shape[0], x.shape[axis]
        if isinstance(c, int) and isinstance(size, int) and c != size:
            raise fail("batch_norm", inputs, f"{what} has {c} entries but x has {size} channels on axis {axis}")

    def along_axis(t: Tensor) -> Tensor:
        return reshape(t, tuple(t.shape[0] if d == axis else 1 for d in range(x.ndim)))

    factor = rsqrt(add(variance, epsilon))
    if scale is not None:
        factor = multiply(factor, scale)
    shift = multiply(mean, factor)
    shift = subtract(offset, shift) if offset is not None else -shift
    return add(multiply(x, along_axis(factor)), along_axis(shift))


__all__ = ["batch_norm", "moments"]
