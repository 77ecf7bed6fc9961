"""Python operators and numpy-style methods of ``Tensor``.

The graph stage defines ``Tensor`` without arithmetic (it comes before the ops); this
module installs the operators once, from one table, when ``symgraph.ops`` is imported.
"""

from __future__ import annotations

from typing import Any

from symgraph.graph.core import Tensor
from symgraph.ops import arithmetic as ar
from symgraph.ops import indexing, linalg, reduction, shape_ops
from symgraph.ops.elementwise import cast


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _logical(logical, bitwise_name: str):
    def operator(a: Any, b: Any) -> Tensor:
        for t in (a, b):
            if isinstance(t, Tensor) and t.dtype.kind != "b":
                raise TypeError(f"'{bitwise_name}' on tensors is logical and needs bool operands, got {t.dtype.name}")
        return logical(a, b)

    return operator


def _invert(x: Tensor) -> Tensor:
    if x.dtype.kind != "b":
        raise TypeError(f"'~' on tensors is logical_not and needs a bool operand, got {x.dtype.name}")
    return ar.logical_not(x)


_and = _logical(ar.logical_and, "&")
_or = _logical(ar.logical_or, "|")
_xor = _logical(ar.logical_xor, "^")

OPERATORS = {
    "__add__": ar.add,
    "__radd__": _reflected(ar.add),
    "__sub__": ar.sub,
    "__rsub__": _reflected(ar.sub),
    "__mul__": ar.mul,
    "__rmul__": _reflected(ar.mul),
    "__truediv__": ar.true_divide,
    "__rtruediv__": _reflected(ar.true_divide),
    "__floordiv__": ar.floor_divide,
    "__rfloordiv__": _reflected(ar.floor_divide),
    "__mod__": ar.mod,
    "__rmod__": _reflected(ar.mod),
    "__pow__": ar.power,
    "__rpow__": _reflected(ar.power),
    "__matmul__": lambda a, b: linalg.matmul(a, b),
    "__rmatmul__": lambda a, b: linalg.matmul(b, a),
    "__neg__": ar.neg,
    "__pos__": lambda x: x,
    "__abs__": ar.abs,
    "__invert__": _invert,
    "__and__": _and,
    "__rand__": _reflected(_and),
    "__or__": _or,
    "__ror__": _reflected(_or),
    "__xor__": _xor,
    "__rxor__": _reflected(_xor),
    "__lt__": ar.less,
    "__le__": ar.less_equal,
    "__gt__": ar.greater,
    "__ge__": ar.greater_equal,
    "__eq__": ar.equal,
    "__ne__": ar.not_equal,
    "__getitem__": lambda x, index: indexing.getitem(x, index),
}

METHODS = {
    "astype": lambda x, dtype: cast(x, dtype),
    "reshape": lambda x, *shape: shape_ops.reshape(x, shape[0] if len(shape) == 1 else shape),
    "transpose": lambda x, *axes: shape_ops.transpose(
        x, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None
    ),
    "flatten": lambda x: shape_ops.reshape(x, (-1,)),
    "squeeze": lambda x, axis=None: shape_ops.squeeze(x, axis),
    "sum": lambda x, axis=None, keepdims=False: reduction.sum(x, axis, keepdims),
    "mean": lambda x, axis=None, keepdims=False: reduction.mean(x, axis, keepdims),
    "max": lambda x, axis=None, keepdims=False: reduction.max(x, axis, keepdims),
    "min": lambda x, axis=None, keepdims=False: reduction.min(x, axis, keepdims),
    "prod": lambda x, axis=None, keepdims=False: reduction.prod(x, axis, keepdims),
    "var": lambda x, axis=None, keepdims=False, ddof=0: reduction.var(x, axis, keepdims, ddof),
    "std": lambda x, axis=None, keepdims=False, ddof=0: reduction.std(x, axis, keepdims, ddof),
    "cumsum": lambda x, axis=None: reduction.cumsum(x, axis),
    "cumprod": lambda x, axis=None: reduction.cumprod(x, axis),
    "any": lambda x, axis=None, keepdims=False: reduction.any(x, axis, keepdims),
    "all": lambda x, axis=None, keepdims=False: reduction.all(x, axis, keepdims),
    "argmax": lambda x, axis=None, keepdims=False: reduction.argmax(x, axis, keepdims),
    "argmin": lambda x, axis=None, keepdims=False: reduction.argmin(x, axis, keepdims),
    "dot": lambda x, other: linalg.dot(x, other),
    "clip": lambda x, a_min=None, a_max=None: ar.clip(x, a_min, a_max),
}

PROPERTIES = {
    "T": lambda x: shape_ops.transpose(x),
}


def _as_method(fn):
    """A plain function (ops are callable objects, which Python would not bind)."""

    def method(*args, **kwargs):
        return fn(*args, **kwargs)

    method.__name__ = getattr(fn, "__name__", type(fn).__name__)
    method.__doc__ = fn.__doc__
    return method


def install() -> None:
    for name, fn in OPERATORS.items():
        setattr(Tensor, name, _as_method(fn))
    for name, fn in METHODS.items():
        setattr(Tensor, name, _as_method(fn))
    for name, fn in PROPERTIES.items():
        setattr(Tensor, name, property(fn))
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; identity stays the hash
