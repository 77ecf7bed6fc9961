"""Matrix products: matmul (with batch dims), dot, tensordot.

``MatMul`` is the one primitive: (..., m, k) @ (..., k, n) -> (..., m, n) with numpy's
broadcasting of the batch dims. ``matmul`` adds numpy's 1-D promotion around it, and
``dot``/``tensordot`` are expressed with transposes and reshapes around it, so the C
backend has a single product to hand to BLAS.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.ops.elementwise import ANY, TensorLike, broadcast_shapes, promote, sum_to_shape
from symgraph.ops.registry import register


@register
class MatMul(Op):
    """a @ b for a (..., m, k) and b (..., k, n), batch dims broadcast."""

    name = "matmul"

    def infer(self, a: Tensor, b: Tensor) -> TensorType:
        if a.ndim < 2 or b.ndim < 2:
            raise ShapeError("matmul operands must have rank >= 2 (sg.matmul handles 1-D)")
        if a.dtype != b.dtype:
            raise ShapeError("matmul operands must share a dtype")
        k1, k2 = a.shape[-1], b.shape[-2]
        if isinstance(k1, int) and isinstance(k2, int) and k1 != k2:
            raise ShapeError(
                f"inner dimensions differ: {shp.shape_str(a.shape)} @ {shp.shape_str(b.shape)} ({k1} != {k2})"
            )
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return TensorType(a.dtype, batch + (a.shape[-2], b.shape[-1]))

    def reference(self, a, b):
        out_dtype = a.dtype
        if a.dtype.kind == "f":
            return np.matmul(a, b)
        return np.matmul(a, b).astype(out_dtype)

    def grad(self, inputs, outputs, output_grads):
        (a, b), (g,) = inputs, output_grads
        ga = matmul(g, swap_last(b))
        gb = matmul(swap_last(a), g)
        return [sum_to_shape(ga, a.shape), sum_to_shape(gb, b.shape)]


def swap_last(x: Tensor) -> Tensor:
    """x with its last two axes exchanged."""
    from symgraph.ops.shape_ops import transpose

    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, perm)


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """numpy's matmul: 1-D operands are promoted to matrices and the added axis removed."""
    from symgraph.ops.shape_ops import expand_dims, squeeze

    a, b = promote((a, b), ANY)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: operands must have rank >= 1, got {shp.shape_str(a.shape)} @ {shp.shape_str(b.shape)} "
            "(use * for scalars)"
        )
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, -1) if b.ndim == 1 else b
    out = apply(MatMul(), a2, b2).outputs[0]
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


__all__ = [
    "matmul",
]
