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

import functools
import math
from typing import Any, ClassVar

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import DimExpr, Shape
from symgraph.graph.sources import as_tensor, constant, dim_value
from symgraph.ops.c_api import CLinkerOp, c_type
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
    negative = math.copysign(1.0, value) < 0 if type(value) is float else value < 0
    return _scalar_constant(type(value), value, negative, dtype)


@functools.lru_cache(maxsize=1024)
def _scalar_constant(kind: type, value: bool | int | float, negative: bool, dtype: np.dtype) -> Tensor:
    """The constant node of a Python scalar, kept for reuse: eager code meets the same
    few scalars (``x * 2``, ``lr * g``) at every step, and making a Constant hashes its
    bytes. The key has the type and the sign, so 1 and 1.0, and 0.0 and -0.0, stay apart."""
    return constant(np.array(value, dtype))


# ---------------------------------------------------------------- C expression helpers
#
# What ops' ``c_expr`` methods share (see symgraph.ops.c_api for the contract). The value
# of every expression they build is the output element itself: integer results are cast
# back to their dtype (C computes int8/int16/uint8 in int, and signed overflow is
# undefined there, while numpy wraps around), float constants carry the dtype's suffix.

_UNSIGNED = {"int32": "uint32_t", "int64": "uint64_t"}


def c_const(value: float, dtype: np.dtype) -> str:
    """The finite number ``value`` rounded to ``dtype``, as a C literal of that type."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        v = int(value)
        if dtype.itemsize == 8:
            return "INT64_MIN" if v == -(2**63) else f"INT64_C({v})"
        return str(v) if v >= 0 else f"({v})"
    scalar = dtype.type(value)
    if not np.isfinite(scalar):
        raise ValueError(f"c_const takes finite values, got {value!r}")
    if scalar != 0 and not 1e-4 <= abs(scalar) < 1e16:
        text = np.format_float_scientific(scalar, unique=True)
    else:
        text = np.format_float_positional(scalar, unique=True)
    if text.endswith("."):
        text += "0"
    text += "f" if dtype == np.float32 else ""
    return f"({text})" if text.startswith("-") else text


def c_wrap(a: str, op: str, b: str, dtype: np.dtype) -> str:
    """``a op b`` (op one of + - *) with numpy's wrap-around for integer ``dtype``.

    int32/int64 compute in the unsigned type of their width (signed overflow is undefined
    in C); narrower types compute in C's int, where nothing overflows; both are cast back
    (modulo 2^width, as gcc and clang define the conversion)."""
    dtype = np.dtype(dtype)
    ctype = c_type(dtype)
    unsigned = _UNSIGNED.get(dtype.name)
    if unsigned is None:
        return f"(({ctype})({a} {op} {b}))"
    return f"(({ctype})(({unsigned})({a}) {op} ({unsigned})({b})))"


def c_negate(a: str, dtype: np.dtype) -> str:
    """-a with numpy's wrap-around (-INT_MIN is INT_MIN; -1 as uint8 is 255)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return f"(-({a}))"
    return c_wrap("0", "-", a, dtype)


def c_maximum(a: str, b: str, dtype: np.dtype) -> str:
    """numpy's maximum: a NaN in either operand propagates, a tie (0.0 and -0.0) gives b."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return f"({a} || {b})"
    if dtype.kind == "f":
        return f"(({a} > {b} || isnan({a})) ? {a} : {b})"
    return f"(({c_type(dtype)})({a} > {b} ? {a} : {b}))"


def c_minimum(a: str, b: str, dtype: np.dtype) -> str:
    """numpy's minimum: a NaN in either operand propagates, a tie (0.0 and -0.0) gives b."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return f"({a} && {b})"
    if dtype.kind == "f":
        return f"(({a} < {b} || isnan({a})) ? {a} : {b})"
    return f"(({c_type(dtype)})({a} < {b} ? {a} : {b}))"


class Elementwise(CLinkerOp):
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
    from symgraph.ops import reduction, shape_ops  # cycle: both import this module's names at import time

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

    def c_expr(self, args, dtype):
        """C's conversions, which are numpy's on x86 (``dtype`` is the input's here).

        To bool: x != 0 (NaN is true). Float to integer truncates toward zero; where C
        leaves the result undefined (NaN, +-inf, out of range) this gives what numpy
        gives on x86: int64 takes INT64_MIN, narrower types convert through int32 (NaN
        and out-of-int32-range values give INT32_MIN) and keep the low bits, so
        300.0 -> int8 44, -1.0 -> uint8 255, 1e10 -> int16 0.
        """
        (x,) = args
        src, dst = np.dtype(dtype), self.dtype
        ctype = c_type(dst)
        if dst.kind == "b":
            return f"({x} != 0)"
        if src.kind == "f" and dst.kind in "iu":
            if dst.itemsize == 8:
                bound = c_const(2.0**63, src)
                return f"((({x} >= -{bound}) && ({x} < {bound})) ? (int64_t)({x}) : INT64_MIN)"
            bound = c_const(2.0**31, src)
            via32 = f"((({x} >= -{bound}) && ({x} < {bound})) ? (int32_t)({x}) : INT32_MIN)"
            return via32 if dst.name == "int32" else f"(({ctype}){via32})"
        return f"(({ctype})({x}))"

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
