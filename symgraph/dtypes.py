"""The dtypes symgraph supports and its type promotion.

Promotion follows NumPy 2 (NEP 50) between typed operands, with two choices of our own
that match Keras and JAX:

- float32 is the default float (``floatx``): a Python float meeting an integer or bool
  tensor gives float32 (NumPy would give float64), and float math on integers
  (``exp``, ``sqrt``, true division, ...) computes in float32.
- Python scalars are weakly typed: ``x * 2`` keeps ``x``'s dtype, a Python int meeting a
  bool tensor gives int64, a Python float meeting an integer tensor gives float32.

numpy arrays and numpy scalars are strongly typed (``x * np.float64(2)`` is float64), as
in NumPy 2.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import DTypeError

SUPPORTED = tuple(np.dtype(name) for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64"))
FLOATX = np.dtype("float32")
DEFAULT_INT = np.dtype("int64")
BOOL = np.dtype("bool")

DTypeLike = "str | np.dtype | type"


def as_dtype(dtype: object) -> np.dtype:
    """The numpy dtype for ``dtype``, or a DTypeError naming the supported ones."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"{dtype!r} is not a dtype") from exc
    if resolved not in SUPPORTED:
        names = ", ".join(d.name for d in SUPPORTED)
        raise DTypeError(f"dtype {resolved.name} is not supported (supported: {names})")
    return resolved


def is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def is_integer(dtype: np.dtype) -> bool:
    return dtype.kind in "iu"


def is_weak_scalar(value: object) -> bool:
    """Python's own bool, int and float: the weakly typed scalars."""
    return type(value) in (bool, int, float)


def weak_scalar_dtype(value: bool | int | float) -> np.dtype:
    """The dtype a weak scalar takes when nothing else decides it."""
    if type(value) is bool:
        return BOOL
    if type(value) is int:
        return DEFAULT_INT
    return FLOATX


def result_type(strong: list[np.dtype], weak: list[object]) -> np.dtype:
    """The dtype an elementwise op computes in, given typed operands and weak scalars."""
    if not strong:
        return max((weak_scalar_dtype(w) for w in weak), key=_weak_rank)
    dtype = np.result_type(*strong)
    for value in weak:
        if type(value) is float and dtype.kind in "biu":
            dtype = FLOATX
        elif type(value) is int and dtype.kind == "b":
            dtype = DEFAULT_INT
    return as_dtype(dtype)


def _weak_rank(dtype: np.dtype) -> int:
    return "bif".index(dtype.kind)


def float_result(dtype: np.dtype) -> np.dtype:
    """The dtype float math takes for an input of ``dtype``: itself if float, else floatx."""
    return dtype if is_float(dtype) else FLOATX
