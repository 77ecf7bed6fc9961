"""The machinery of elementwise ops: broadcasting, dtype promotion, casts.

An elementwise op computes each output element from the elements at the same index of
its (broadcast) inputs. Its class states which input dtypes it accepts
(``input_kind``), what dtype it returns (``output_kind``), its numpy reference on
equal-dtype arrays (``compute``) and its gradient; ``__call__`` does the rest: it
turns Python scalars and arrays into constants, promotes the operands to one dtype
(NumPy 2 rules with weak Python scalars, see ``symgraph.dtypes``) by inserting ``cast``
nodes, and applies the op.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.graph.shape import DimExpr, Shape
from symgraph.graph.sources import as_tensor, constant, dim_value
from symgraph.ops.registry import register

TensorLike = Any  # Tensor, Python scalar, numpy array or scalar, nested lists, DimExpr

# input_kind values
ANY = "any"  # every supported dtype
NUMERIC = "numeric"  # no bool: bool operands are promoted to int64... as numpy refuses for some
FLOAT = "float"  # integer and bool operands are computed in floatx
BOOL = "bool"  # operands are cast to bool
INTEGER = "integer"  # integers and bools only


def broadcast_shapes(*shapes: Shape) -> Shape:
    """The numpy broadcast of ``shapes``; symbolic dims never broadcast (see graph.shape)."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        static = {d for d in dims if isinstance(d, int) and d != 1}
        if len(static) > 1:
            raise ShapeError(
                "shapes " + " and ".join(shp.shape_str(s) for s in shapes) + " do not broadcast "
                f"(axis {axis - ndim}: sizes {sorted(static)})"
            )
        if static:
            result.append(static.pop())
            continue
        symbolic = [d for d in dims if isinstance(d, DimExpr)]
        result.append(symbolic[0] if symbolic else 1)
    return tuple(result)


def promote(args: tuple[TensorLike, ...], input_kind: str = ANY) -> list[Tensor]:
    """The operands as tensors of one dtype, following symgraph's promotion rules."""
    strong: list[Tensor] = []
    weak: list[object] = []
    for a in args:
        if isinstance(a, Tensor):
            strong.append(a)
        elif dtypes.is_weak_scalar(a):
            weak.append(a)
        elif isinstance(a, DimExpr):
            weak.append(0)  # a size is a weakly typed int
        else:
            strong.append(as_tensor(a))
    if not strong and not weak:
        raise TypeError("no operands")
    dtype = dtypes.result_type([t.dtype for t in strong], weak)
    dtype = _apply_kind(dtype, input_kind)
    converted = []
    for a in args:
        if isinstance(a, Tensor):
            converted.append(a if a.dtype == dtype else cast(a, dtype))
        elif dtypes.is_weak_scalar(a):
            converted.append(_weak_constant(a, dtype))
        elif isinstance(a, DimExpr):
            converted.append(cast(dim_value(a), dtype))
        else:
            t = as_tensor(a)
            converted.append(t if t.dtype == dtype else cast(t, dtype))
    return converted


def _apply_kind(dtype: np.dtype, input_kind: str) -> np.dtype:
    if input_kind == FLOAT:
        return dtypes.float_result(dtype)
    if input_kind == BOOL:
        return dtypes.BOOL
    if input_kind == INTEGER and dtype.kind == "f":
        raise DTypeError(f"expects integer or bool operands, got {dtype.name}")
    if input_kind == NUMERIC and dtype.kind == "b":
        return dtypes.DEFAULT_INT
    return dtype


def _weak_constant(value: bool | int | float, dtype: np.dtype) -> Tensor:
    if dtype.kind in "iu" and type(value) is float:
        raise DTypeError(f"the Python float {value} does not fit the integer dtype {dtype.name}")
    if dtype.kind in "iu" and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max:
        raise DTypeError(f"the Python int {value} is out of range for {dtype.name}")
    return constant(np.array(value, dtype))


class Elementwise(Op):
    """Base of elementwise ops; see the module docstring."""

    arity: ClassVar[int] = 1
    input_kind: ClassVar[str] = ANY
    output_kind: ClassVar[str] = "same"  # or "bool"

    def __call__(self, *args: TensorLike) -> Tensor:
        if len(args) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} operand(s), got {len(args)}")
        return apply(self, *promote(args, self.input_kind)).outputs[0]

    def output_dtype(self, dtype: np.dtype) -> np.dtype:
        return dtypes.BOOL if self.output_kind == "bool" else dtype

    def infer(self, *inputs: Tensor) -> TensorType:
        dtype = inputs[0].dtype
        if any(t.dtype != dtype for t in inputs):
            raise DTypeError("operands must share one dtype (sg promotes them on the way in)")
        return TensorType(self.output_dtype(dtype), broadcast_shapes(*(t.shape for t in inputs)))

    def reference(self, *arrays: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.compute(*arrays)
        return np.asarray(out, dtype=self.output_dtype(arrays[0].dtype))

    def compute(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def sum_to_shape(grad: Tensor, shape: Shape) -> Tensor:
    """``grad`` summed over the axes that broadcasting expanded from ``shape``."""
    from symgraph.ops import reduction, shape_ops

    extra = grad.ndim - len(shape)
    axes = list(range(extra))
    axes += [extra + i for i, d in enumerate(shape) if d == 1 and grad.shape[extra + i] != 1]
    if axes:
        grad = reduction.sum(grad, axis=tuple(axes), keepdims=True)
    if extra or grad.shape != tuple(shape):
        grad = shape_ops.reshape(grad, shape)
    return grad


@register
class Cast(Elementwise):
    """Conversion to ``dtype`` with numpy's ``astype`` semantics (float to int truncates)."""

    name = "cast"

    def __init__(self, dtype: np.dtype):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, x: TensorLike) -> Tensor:
        return apply(self, as_tensor(x)).outputs[0]

    def output_dtype(self, dtype: np.dtype) -> np.dtype:
        return self.dtype

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype) or not dtypes.is_float(self.dtype):
            return [None]
        return [cast(g, x.dtype)]


def cast(x: TensorLike, dtype: object) -> Tensor:
    """``x`` converted to ``dtype`` (no node when it already has it)."""
    x = as_tensor(x)
    dtype = dtypes.as_dtype(dtype)
    return x if x.dtype == dtype else Cast(dtype)(x)


__all__ = [
    "cast",
]
