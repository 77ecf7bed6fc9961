"""ONNX import, op by op: each ONNX node becomes symgraph graph (``CONVERTERS``).

A converter reads its node through a ``NodeContext`` and returns one entry per output:
a symgraph Tensor, or a ``Known`` value. Known values are what the import computes
itself, never in the graph: initializers and constants, and the shape arithmetic that
models do on ``Shape`` (``Shape -> Gather -> Concat -> Reshape``), where a size may be
symbolic (a ``DimExpr``, held in an object array). An op an input of which must be
known (a Reshape's shape, a Slice's bounds) raises UnsupportedError when it is computed
at run time instead, naming the op, the node and the input.

Where ONNX and numpy differ, the converter builds ONNX's meaning: integer Div
truncates, Mod with ``fmod=1`` takes the dividend's sign, ``Softmax`` before opset 13
flattens to 2-D, pooling's ``ceil_mode`` and ``count_include_pad``, convolution's
``SAME_LOWER``. An attribute value the converter does not implement is refused with
UnsupportedError, not approximated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import symgraph as sg
from symgraph import dtypes
from symgraph.errors import InputError, UnsupportedError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, apply
from symgraph.graph.shape import DimExpr
from symgraph.onnx.opset import NUMPY_OF_ONNX, onnx_type_name
from symgraph.ops.activations import SELU_ALPHA, SELU_SCALE
from symgraph.ops.indexing import gather
from symgraph.ops.pooling import AvgPool2D, MaxPool2D
from symgraph.ops.shape_ops import stack
from symgraph.scan.trace import trace_scan

ONNX_SELU_ALPHA = 1.67326319217681884765625
ONNX_SELU_GAMMA = 1.05070102214813232421875


@dataclass
class Known:
    """A value the import knows: numbers (a numpy array of ``dtype``), or sizes (an
    object array of ints and symbolic ``DimExpr``s, ``dtype`` int64 or int32)."""

    value: np.ndarray
    dtype: np.dtype

    @property
    def symbolic(self) -> bool:
        return self.value.dtype == object


Output = Any  # Tensor | Known | None (an output not produced)


class NeedsConstant(UnsupportedError):
    """An input an op needs at import time (a Reshape's shape, ...) is computed at run
    time; ``value_name`` is that input's ONNX name (a graph input can be bound to a
    value: ``load(..., constants={name: array})``)."""

    def __init__(self, message: str, value_name: str):
        super().__init__(message)
        self.value_name = value_name


class NodeContext:
    """One ONNX node as a converter sees it: inputs as tensors or known values,
    attributes as Python values, and errors that name the node."""

    def __init__(self, builder: Any, node: Any, attrs: dict[str, Any]):
        self.builder = builder
        self.node = node
        self.op_type = node.op_type
        self.label = f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node #{builder.index}"
        self.inputs = list(node.input)
        self.attrs = attrs
        self.opset = builder.opset

    # -- errors
    def unsupported(self, message: str) -> UnsupportedError:
        return UnsupportedError(f"onnx load: {self.label}: {message}")

    def invalid(self, message: str) -> InputError:
        return InputError(f"onnx load: {self.label}: {message}")

    # -- inputs
    def has(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] != ""

    def given(self) -> list[int]:
        return [i for i in range(len(self.inputs)) if self.has(i)]

    def x(self, i: int) -> Tensor:
        if not self.has(i):
            raise self.invalid(f"input {i} is missing")
        return self.builder.tensor(self.inputs[i])

    def known(self, i: int) -> Known | None:
        return self.builder.known(self.inputs[i]) if self.has(i) else None

    def static(self, i: int, what: str) -> np.ndarray:
        """The value of input ``i``, which this op needs at import time."""
        k = self.known(i)
        if k is None:
            if not self.has(i):
                raise self.invalid(f"input {i} ({what}) is missing")
            raise NeedsConstant(
                f"onnx load: {self.label}: input {i} ({what}, {self.inputs[i]!r}) is computed at run time; symgraph "
                "needs it constant (from initializers, constants and static shapes, or a graph input bound by "
                "load(..., constants=))",
                self.inputs[i],
            )
        return k.value

    def ints(self, i: int, what: str) -> list[Any]:
        """Input ``i`` as a list of ints (symbolic sizes kept)."""
        value = self.static(i, what)
        return [_as_int(v) for v in np.asarray(value).reshape(-1)]

    def dtype_of(self, i: int) -> np.dtype:
        k = self.known(i)
        return k.dtype if k is not None else self.x(i).dtype

    def shape_of(self, i: int) -> tuple:
        k = self.known(i)
        return tuple(k.value.shape) if k is not None else tuple(self.x(i).shape)

    # -- attributes
    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def outputs_wanted(self) -> int:
        return sum(1 for o in self.node.output if o)

    def only_first_output(self) -> None:
        if any(o for o in list(self.node.output)[1:]):
            raise self.unsupported("only the first output is supported")


def _as_int(v: Any) -> Any:
    return v if isinstance(v, DimExpr) else int(v)


def _axis(n: NodeContext, axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise n.invalid(f"{what} {axis} is out of range for rank {ndim}")
    return axis % ndim if ndim else 0


def _elem_dtype(n: NodeContext, elem: int) -> np.dtype:
    if elem not in NUMPY_OF_ONNX:
        raise n.unsupported(f"element type {onnx_type_name(elem)} (symgraph has bool, int8-64, uint8, float32/64)")
    return NUMPY_OF_ONNX[elem]


Converter = Callable[[NodeContext], list[Output]]
Folder = Callable[[NodeContext, list[Known | None]], "list[Known] | None"]
CONVERTERS: dict[str, Converter] = {}
FOLDERS: dict[str, Folder] = {}


def converts(*op_types: str) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for op_type in op_types:
            CONVERTERS[op_type] = fn
        return fn

    return register


def folds(*op_types: str) -> Callable[[Folder], Folder]:
    def register(fn: Folder) -> Folder:
        for op_type in op_types:
            FOLDERS[op_type] = fn
        return fn

    return register


# --- elementwise ----------------------------------------------------------------------

_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "Abs": sg.abs,
    "Neg": sg.negative,
    "Exp": sg.exp,
    "Log": sg.log,
    "Sqrt": sg.sqrt,
    "Reciprocal": sg.reciprocal,
    "Sin": sg.sin,
    "Cos": sg.cos,
    "Tan": sg.tan,
    "Asin": sg.arcsin,
    "Acos": sg.arccos,
    "Atan": sg.arctan,
    "Sinh": sg.sinh,
    "Cosh": sg.cosh,
    "Tanh": sg.tanh,
    "Erf": sg.erf,
    "Floor": sg.floor,
    "Ceil": sg.ceil,
    "Round": sg.round,
    "Sign": sg.sign,
    "Sigmoid": sg.nn.sigmoid,
    "Relu": sg.nn.relu,
    "Softplus": sg.nn.softplus,
    "Softsign": sg.nn.softsign,
    "Not": sg.logical_not,
    "IsNaN": sg.isnan,
}


@converts(*_UNARY)
def _unary(n: NodeContext) -> list[Output]:
    x = n.x(0)
    if n.op_type in ("Floor", "Ceil", "Round", "Reciprocal", "Sqrt", "Exp", "Log", "Tanh", "Sigmoid", "Erf"):
        _require_float(n, x)
    return [_UNARY[n.op_type](x)]


def _require_float(n: NodeContext, x: Tensor) -> None:
    if x.dtype.kind != "f":
        raise n.unsupported(f"input of dtype {x.dtype.name} (ONNX defines {n.op_type} for floats)")


@folds("Neg", "Abs")
def _fold_neg_abs(n, ks):
    k = ks[0]
    if k is None or k.dtype.kind not in "iu":
        return None
    if k.symbolic:
        if n.op_type == "Abs":
            return None  # sizes are non-negative, but a negated one is not
        return [Known(-k.value, k.dtype)]
    return [_known(np.negative(k.value) if n.op_type == "Neg" else np.abs(k.value), k.dtype)]


@converts("Identity")
def _identity(n):
    k = n.known(0)
    return [k if k is not None else n.x(0)]


@folds("Identity")
def _fold_identity(n, ks):
    return [ks[0]]


def _same_dtype(n: NodeContext, a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise n.invalid(f"inputs of dtypes {a.dtype.name} and {b.dtype.name} (ONNX requires one dtype)")


_BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "Add": sg.add,
    "Sub": sg.subtract,
    "Mul": sg.multiply,
    "And": sg.logical_and,
    "Or": sg.logical_or,
    "Xor": sg.logical_xor,
    "Equal": sg.equal,
    "Less": sg.less,
    "LessOrEqual": sg.less_equal,
    "Greater": sg.greater,
    "GreaterOrEqual": sg.greater_equal,
}


@converts(*_BINARY)
def _binary(n):
    a, b = n.x(0), n.x(1)
    _same_dtype(n, a, b)
    if n.op_type in ("Add", "Sub", "Mul") and a.dtype == np.bool_:
        raise n.unsupported("bool operands")
    return [_BINARY[n.op_type](a, b)]


_NUMPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Equal": np.equal,
    "Less": np.less,
    "Greater": np.greater,
}


@folds("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater")
def _fold_binary(n, ks):
    a, b = ks
    if a is None or b is None or a.dtype != b.dtype or a.dtype.kind not in "iu":
        return None  # sizes are integers; floats go to the graph
    if n.op_type == "Div":
        if any(isinstance(v, DimExpr) for v in b.value.reshape(-1)) or np.any(b.value == 0):
            return None
        result = _object_map2(_trunc_div, a.value, b.value)
    else:
        result = _object_map2(_NUMPY_BINARY[n.op_type], a.value, b.value)
    dtype = np.dtype(bool) if n.op_type in ("Equal", "Less", "Greater") else a.dtype
    return [_known(result, dtype)]


@folds("Mod")
def _fold_mod(n, ks):
    a, b = ks
    if a is None or b is None or a.dtype != b.dtype or a.dtype.kind not in "iu" or int(n.attr("fmod", 0)):
        return None
    if any(isinstance(v, DimExpr) for v in b.value.reshape(-1)) or np.any(b.value == 0):
        return None
    if not a.symbolic:
        return [_known(np.mod(a.value, b.value), a.dtype)]
    # the divisor's sign (Python's %), on sizes too: a - (a // b) * b
    return [_known(_object_map2(lambda x, y: x - shp.floordiv(x, y) * y, a.value, b.value), a.dtype)]


def _trunc_div(a: Any, b: Any) -> Any:
    if isinstance(a, DimExpr) or isinstance(b, DimExpr):
        return shp.floordiv(a, b)  # sizes are non-negative
    q = abs(int(a)) // abs(int(b))
    return q if (a >= 0) == (b >= 0) else -q


def _object_map2(fn: Callable[[Any, Any], Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``fn`` elementwise on broadcast arrays, sizes (DimExpr) included."""
    a_b, b_b = np.broadcast_arrays(a, b)
    if a.dtype != object and b.dtype != object:
        if fn is _trunc_div:
            return np.vectorize(_trunc_div, otypes=[a.dtype])(a_b, b_b) if a_b.size else a_b.copy()
        return fn(a_b, b_b)
    out = np.empty(a_b.shape, dtype=object)
    for idx in np.ndindex(a_b.shape):
        out[idx] = fn(_as_int(a_b[idx]), _as_int(b_b[idx]))
    return out


def _known(value: Any, dtype: np.dtype) -> Known:
    """A Known value, kept as numbers where no size in it is symbolic."""
    array = np.asarray(value)
    if array.dtype == object:
        if not any(isinstance(v, DimExpr) for v in array.reshape(-1)):
            array = array.astype(dtype) if array.size else np.zeros(array.shape, dtype)
        elif np.dtype(dtype).kind not in "iu":
            raise UnsupportedError(f"onnx load: a symbolic size as {np.dtype(dtype).name}")
    else:
        array = array.astype(dtype, copy=False)
    return Known(array, np.dtype(dtype))


@converts("Div")
def _div(n):
    a, b = n.x(0), n.x(1)
    _same_dtype(n, a, b)
    if a.dtype.kind == "f":
        return [sg.true_divide(a, b)]
    if a.dtype == np.bool_:
        raise n.unsupported("bool operands")
    # integer division truncates toward zero (numpy's floors)
    q = sg.floor_divide(a, b)
    r = sg.mod(a, b)
    fix = sg.logical_and(sg.not_equal(r, 0), sg.logical_xor(sg.less(a, 0), sg.less(b, 0)))
    return [sg.where(fix, q + sg.constant(np.array(1, a.dtype)), q)]


@converts("Mod")
def _mod(n):
    a, b = n.x(0), n.x(1)
    _same_dtype(n, a, b)
    fmod = int(n.attr("fmod", 0))
    r = sg.mod(a, b)  # the divisor's sign
    if not fmod:
        return [r]
    # C's fmod: the dividend's sign
    zero = sg.constant(np.array(0, a.dtype))
    wrong = sg.logical_and(sg.not_equal(r, zero), sg.logical_xor(sg.less(r, zero), sg.less(a, zero)))
    return [sg.where(wrong, r - b, r)]


@converts("Pow")
def _pow(n):
    a, b = n.x(0), n.x(1)
    if a.dtype.kind == "f":
        return [sg.power(a, sg.cast(b, a.dtype))]
    if b.dtype.kind == "f":  # an integer base to a float power: computed in double, truncated
        return [sg.cast(sg.power(sg.cast(a, "float64"), sg.cast(b, "float64")), a.dtype)]
    return [sg.power(a, sg.cast(b, a.dtype))]


@converts("Max", "Min", "Sum", "Mean")
def _variadic(n):
    xs = [n.x(i) for i in n.given()]
    if not xs:
        raise n.invalid("needs at least one input")
    for x in xs[1:]:
        _same_dtype(n, xs[0], x)
    combine = {"Max": sg.maximum, "Min": sg.minimum, "Sum": sg.add, "Mean": sg.add}[n.op_type]
    result = xs[0] if len(xs) > 1 else sg.identity(xs[0])
    for x in xs[1:]:
        result = combine(result, x)
    if n.op_type == "Mean":
        result = sg.true_divide(result, sg.constant(np.array(len(xs), xs[0].dtype)))
    return [result]


@folds("Max", "Min")
def _fold_extremum(n, ks):
    if any(k is None or k.dtype.kind not in "iu" for k in ks):
        return None
    if any(k.symbolic for k in ks):
        fn = shp.dim_max if n.op_type == "Max" else shp.dim_min
        result = ks[0].value
        for k in ks[1:]:
            result = _object_map2(fn, result, k.value)
        return [_known(result, ks[0].dtype)]
    combine = np.maximum if n.op_type == "Max" else np.minimum
    result = ks[0].value
    for k in ks[1:]:
        result = combine(result, k.value)
    return [_known(result, ks[0].dtype)]


@converts("Where")
def _where(n):
    cond, a, b = n.x(0), n.x(1), n.x(2)
    _same_dtype(n, a, b)
    return [sg.where(cond, a, b)]


@folds("Where")
def _fold_where(n, ks):
    cond, a, b = ks
    if cond is None or a is None or b is None or a.dtype != b.dtype:
        return None
    out = np.where(cond.value.astype(bool), a.value, b.value)
    return [_known(out, a.dtype)]


@converts("IsInf")
def _isinf(n):
    x = n.x(0)
    _require_float(n, x)
    positive = bool(n.attr("detect_positive", 1))
    negative = bool(n.attr("detect_negative", 1))
    inf = sg.constant(np.array(np.inf, x.dtype))
    pos, neg = sg.equal(x, inf), sg.equal(x, -inf)
    if positive and negative:
        return [sg.logical_or(pos, neg)]
    if positive:
        return [pos]
    if negative:
        return [neg]
    return [sg.logical_and(pos, neg)]  # all false


@converts("Clip")
def _clip(n):
    x = n.x(0)
    if n.opset < 11:
        lo = n.attr("min")
        hi = n.attr("max")
        lo_t = sg.constant(np.array(lo, x.dtype)) if lo is not None else None
        hi_t = sg.constant(np.array(hi, x.dtype)) if hi is not None else None
    else:
        lo_t = n.x(1) if n.has(1) else None
        hi_t = n.x(2) if n.has(2) else None
    if lo_t is None and hi_t is None:
        return [sg.identity(x)]
    return [sg.clip(x, lo_t, hi_t)]


@converts("LeakyRelu")
def _leaky_relu(n):
    return [sg.nn.leaky_relu(n.x(0), float(n.attr("alpha", 0.01)))]


@converts("Elu")
def _elu(n):
    return [sg.nn.elu(n.x(0), float(n.attr("alpha", 1.0)))]


@converts("Selu")
def _selu(n):
    x = n.x(0)
    alpha = float(n.attr("alpha", ONNX_SELU_ALPHA))
    gamma = float(n.attr("gamma", ONNX_SELU_GAMMA))
    if alpha == np.float32(SELU_ALPHA) and gamma == np.float32(SELU_SCALE) and x.dtype == np.float32:
        return [sg.nn.selu(x)]
    return [sg.nn.elu(x, alpha) * sg.constant(np.array(gamma, x.dtype))]


@converts("Celu")
def _celu(n):
    x = n.x(0)
    alpha = float(n.attr("alpha", 1.0))
    a = sg.constant(np.array(alpha, x.dtype))
    return [sg.maximum(x, 0.0) + sg.minimum(sg.constant(np.array(0, x.dtype)), a * sg.expm1(x / a))]


@converts("ThresholdedRelu")
def _thresholded_relu(n):
    x = n.x(0)
    alpha = sg.constant(np.array(float(n.attr("alpha", 1.0)), x.dtype))
    return [sg.where(sg.greater(x, alpha), x, sg.constant(np.array(0, x.dtype)))]


@converts("HardSigmoid", "HardSwish")
def _hard_sigmoid(n):
    x = n.x(0)
    alpha, beta = (1 / 6, 0.5) if n.op_type == "HardSwish" else (n.attr("alpha", 0.2), n.attr("beta", 0.5))
    zero, one = sg.constant(np.array(0, x.dtype)), sg.constant(np.array(1, x.dtype))
    y = sg.clip(x * sg.constant(np.array(alpha, x.dtype)) + sg.constant(np.array(beta, x.dtype)), zero, one)
    return [x * y if n.op_type == "HardSwish" else y]


@converts("PRelu")
def _prelu(n):
    x, slope = n.x(0), n.x(1)
    _same_dtype(n, x, slope)
    return [sg.where(sg.less(x, sg.constant(np.array(0, x.dtype))), x * slope, x)]


@converts("Gelu")
def _gelu(n):
    approximate = n.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise n.unsupported(f"approximate={approximate!r}")
    return [sg.nn.gelu(n.x(0), approximate=approximate == "tanh")]


@converts("Asinh", "Acosh", "Atanh")
def _inverse_hyperbolic(n):
    x = n.x(0)
    _require_float(n, x)
    one = sg.constant(np.array(1, x.dtype))
    if n.op_type == "Asinh":
        return [sg.log(x + sg.sqrt(x * x + one))]
    if n.op_type == "Acosh":
        return [sg.log(x + sg.sqrt(x * x - one))]
    return [sg.log((one + x) / (one - x)) * sg.constant(np.array(0.5, x.dtype))]


@converts("Shrink")
def _shrink(n):
    x = n.x(0)
    lambd = sg.constant(np.array(float(n.attr("lambd", 0.5)), x.dtype))
    bias = sg.constant(np.array(float(n.attr("bias", 0.0)), x.dtype))
    zero = sg.zeros_like(x)
    return [sg.where(sg.less(x, -lambd), x + bias, sg.where(sg.greater(x, lambd), x - bias, zero))]


@converts("Swish")
def _swish(n):
    x = n.x(0)
    _require_float(n, x)
    alpha = float(n.attr("alpha", 1.0))
    return [x * sg.nn.sigmoid(x * sg.constant(np.array(alpha, x.dtype)))]


@converts("Mish")
def _mish(n):
    x = n.x(0)
    return [x * sg.tanh(sg.nn.softplus(x))]


def _softmax_like(n: NodeContext, fn: Callable[[Tensor, int], Tensor]) -> list[Output]:
    x = n.x(0)
    _require_float(n, x)
    if n.opset >= 13:
        return [fn(x, _axis(n, int(n.attr("axis", -1)), x.ndim))]
    # before opset 13: over the flattened axes from ``axis`` on (a 2-D coercion)
    axis = _axis(n, int(n.attr("axis", 1)), x.ndim)
    flat = sg.reshape(x, (shp.prod(x.shape[:axis]), shp.prod(x.shape[axis:])))
    return [sg.reshape(fn(flat, 1), x.shape)]


@converts("Softmax")
def _softmax(n):
    return _softmax_like(n, lambda x, a: sg.nn.softmax(x, axis=a))


@converts("LogSoftmax")
def _log_softmax(n):
    return _softmax_like(n, lambda x, a: sg.nn.log_softmax(x, axis=a))


@converts("Cast")
def _cast(n):
    to = _elem_dtype(n, int(n.attr("to")))
    k = n.known(0)
    if k is not None and k.symbolic and to.kind in "iu":
        return [Known(k.value, to)]
    x = n.x(0)
    return [sg.cast(x, to)]


@folds("Cast")
def _fold_cast(n, ks):
    k = ks[0]
    to = _elem_dtype(n, int(n.attr("to")))
    if k is None or k.symbolic or k.dtype.kind not in "biu" or to.kind not in "biu":
        return None
    return [_known(k.value, to)]


@converts("CastLike")
def _cast_like(n):
    return [sg.cast(n.x(0), n.dtype_of(1))]


# --- linear algebra -----------------------------------------------------------------------


@converts("MatMul")
def _matmul(n):
    a, b = n.x(0), n.x(1)
    _same_dtype(n, a, b)
    return [sg.matmul(a, b)]


@converts("Gemm")
def _gemm(n):
    a, b = n.x(0), n.x(1)
    _same_dtype(n, a, b)
    if int(n.attr("transA", 0)):
        a = sg.transpose(a)
    if int(n.attr("transB", 0)):
        b = sg.transpose(b)
    y = sg.matmul(a, b)
    alpha = float(n.attr("alpha", 1.0))
    if alpha != 1.0:
        y = y * sg.constant(np.array(alpha, y.dtype))
    if n.has(2):
        c = n.x(2)
        beta = float(n.attr("beta", 1.0))
        if beta != 1.0:
            c = c * sg.constant(np.array(beta, c.dtype))
        y = y + c
    return [y]


# --- shapes ----------------------------------------------------------------------------


@converts("Shape")
def _shape(n):
    return _fold_shape(n, [n.known(0)])


@folds("Shape")
def _fold_shape(n, ks):
    shape = n.shape_of(0)
    rank = len(shape)
    start = int(n.attr("start", 0))
    end = n.attr("end")
    start = max(0, min(rank, start + rank if start < 0 else start))
    stop = rank if end is None else max(0, min(rank, int(end) + rank if int(end) < 0 else int(end)))
    dims = list(shape[start:stop])
    value = np.empty(len(dims), dtype=object)
    for i, d in enumerate(dims):
        value[i] = d
    return [_known(value, np.dtype(np.int64))]


@converts("Size")
def _size(n):
    return _fold_size(n, [n.known(0)])


@folds("Size")
def _fold_size(n, ks):
    return [_known(np.array(shp.prod(list(n.shape_of(0))), dtype=object), np.dtype(np.int64))]


def _resolve_reshape(n: NodeContext, in_shape: tuple, target: list[Any], allowzero: bool) -> tuple:
    dims = []
    unknown = None
    for i, d in enumerate(target):
        if isinstance(d, int) and d == 0 and not allowzero:
            if i >= len(in_shape):
                raise n.invalid(f"shape entry {i} is 0 (copy) but the input has rank {len(in_shape)}")
            dims.append(in_shape[i])
        elif isinstance(d, int) and d == -1:
            if unknown is not None:
                raise n.invalid("two -1 entries in the shape")
            unknown = i
            dims.append(None)
        elif isinstance(d, int) and d < -1:
            raise n.invalid(f"negative shape entry {d}")
        else:
            dims.append(d)
    if unknown is not None:
        rest = shp.prod([d for d in dims if d is not None])
        total = shp.prod(list(in_shape))
        if isinstance(rest, int) and rest == 0:
            raise n.invalid("a -1 next to a 0 in the shape")
        missing = shp.floordiv(total, rest)
        if isinstance(total, int) and isinstance(rest, int) and total % rest:
            raise n.invalid(f"cannot reshape {in_shape} to {target}")
        dims[unknown] = missing
    return tuple(dims)


@converts("Reshape")
def _reshape(n):
    x = n.x(0)
    allowzero = bool(n.attr("allowzero", 0))
    if n.opset < 5:
        target = [int(v) for v in n.attr("shape", [])]
    else:
        target = n.ints(1, "shape")
    return [sg.reshape(x, _resolve_reshape(n, tuple(x.shape), target, allowzero))]


@folds("Reshape")
def _fold_reshape(n, ks):
    k = ks[0]
    if k is None or n.opset < 5 or ks[1] is None:
        return None
    target = [_as_int(v) for v in ks[1].value.reshape(-1)]
    shape = _resolve_reshape(n, k.value.shape, target, bool(n.attr("allowzero", 0)))
    if not shp.is_static_shape(shape):
        return None
    return [Known(k.value.reshape(shape), k.dtype)]


@converts("Flatten")
def _flatten(n):
    x = n.x(0)
    axis = int(n.attr("axis", 1))
    if not -x.ndim <= axis <= x.ndim:
        raise n.invalid(f"axis {axis} is out of range for rank {x.ndim}")
    axis = axis + x.ndim if axis < 0 else axis
    return [sg.reshape(x, (shp.prod(list(x.shape[:axis])), shp.prod(list(x.shape[axis:]))))]


@converts("Transpose")
def _transpose(n):
    x = n.x(0)
    perm = n.attr("perm")
    perm = list(range(x.ndim))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(x.ndim)):
        raise n.invalid(f"perm {perm} is not a permutation of {x.ndim} axes")
    return [sg.transpose(x, perm)]


@converts("Concat")
def _concat(n):
    xs = [n.x(i) for i in n.given()]
    axis = _axis(n, int(n.attr("axis")), xs[0].ndim)
    for x in xs[1:]:
        _same_dtype(n, xs[0], x)
    nonempty = [x for x in xs if not (x.ndim == 1 and x.shape[0] == 0)] or xs
    return [sg.concatenate(nonempty, axis=axis) if len(nonempty) > 1 else sg.identity(nonempty[0])]


@folds("Concat")
def _fold_concat(n, ks):
    if any(k is None for k in ks) or len({k.dtype for k in ks}) != 1:
        return None
    axis = int(n.attr("axis"))
    values = [k.value for k in ks]
    if any(v.dtype == object for v in values):
        values = [v.astype(object) for v in values]
    return [_known(np.concatenate(values, axis=axis), ks[0].dtype)]


def _axes_input(n: NodeContext, since: int, index: int = 1) -> list[int] | None:
    """Axes given as an input (from opset ``since``) or the ``axes`` attribute."""
    if n.opset >= since:
        return [int(a) for a in n.ints(index, "axes")] if n.has(index) else None
    axes = n.attr("axes")
    return None if axes is None else [int(a) for a in axes]


@converts("Squeeze")
def _squeeze(n):
    x = n.x(0)
    axes = _squeeze_axes(n, tuple(x.shape))
    return [sg.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))]


def _squeeze_axes(n: NodeContext, shape: tuple) -> set[int]:
    axes = _axes_input(n, 13)
    if axes is None:
        if not shp.is_static_shape(shape):
            raise n.unsupported("squeezing every size-1 axis of a shape with symbolic sizes")
        return {i for i, d in enumerate(shape) if d == 1}
    result = {_axis(n, a, len(shape)) for a in axes}
    for a in result:
        if isinstance(shape[a], int) and shape[a] != 1:
            raise n.invalid(f"axis {a} has size {shape[a]}, not 1")
    return result


@folds("Squeeze")
def _fold_squeeze(n, ks):
    k = ks[0]
    if k is None:
        return None
    axes = _squeeze_axes(n, k.value.shape)
    return [Known(k.value.reshape(tuple(d for i, d in enumerate(k.value.shape) if i not in axes)), k.dtype)]


def _unsqueezed(n: NodeContext, shape: tuple) -> tuple:
    axes = _axes_input(n, 13)
    if axes is None:
        raise n.invalid("axes are missing")
    rank = len(shape) + len(axes)
    positions = sorted(_axis(n, a, rank) for a in axes)
    if len(set(positions)) != len(positions):
        raise n.invalid(f"repeated axes {axes}")
    out = list(shape)
    for p in positions:
        out.insert(p, 1)
    return tuple(out)


@converts("Unsqueeze")
def _unsqueeze(n):
    x = n.x(0)
    return [sg.reshape(x, _unsqueezed(n, tuple(x.shape)))]


@folds("Unsqueeze")
def _fold_unsqueeze(n, ks):
    k = ks[0]
    if k is None:
        return None
    return [Known(k.value.reshape(_unsqueezed(n, k.value.shape)), k.dtype)]


def _gather_indices(n: NodeContext, axis_size: Any, indices: np.ndarray) -> np.ndarray:
    if isinstance(axis_size, int):
        bad = indices[(indices < -axis_size) | (indices >= axis_size)]
        if bad.size:
            raise n.invalid(f"index {int(bad.flat[0])} is out of range for an axis of size {axis_size}")
    return indices


@converts("Gather")
def _gather(n):
    x = n.x(0)
    axis = _axis(n, int(n.attr("axis", 0)), x.ndim)
    k = n.known(1)
    if k is not None and not k.symbolic:
        _gather_indices(n, x.shape[axis], k.value)
    idx = n.x(1)
    if idx.dtype.kind not in "iu":
        raise n.invalid(f"indices of dtype {idx.dtype.name}")
    return [gather(x, (axis,), [idx])]


@folds("Gather")
def _fold_gather(n, ks):
    k, idx = ks
    if k is None or idx is None or idx.symbolic:
        return None
    axis = _axis(n, int(n.attr("axis", 0)), k.value.ndim)
    indices = _gather_indices(n, k.value.shape[axis], idx.value.astype(np.int64))
    return [Known(np.take(k.value, indices, axis=axis), k.dtype)]


@converts("GatherElements")
def _gather_elements(n):
    x, idx = n.x(0), n.x(1)
    axis = _axis(n, int(n.attr("axis", 0)), x.ndim)
    return [sg.take_along_axis(x, idx, axis)]


def _slice_spec(n: NodeContext, shape: tuple) -> tuple:
    if n.opset < 10:
        starts = [int(v) for v in n.attr("starts", [])]
        ends = [int(v) for v in n.attr("ends", [])]
        axes = n.attr("axes")
        steps = [1] * len(starts)
    else:
        starts, ends = n.ints(1, "starts"), n.ints(2, "ends")
        axes = n.ints(3, "axes") if n.has(3) else None
        steps = n.ints(4, "steps") if n.has(4) else [1] * len(starts)
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise n.invalid("starts, ends, axes and steps differ in length")
    index: list[Any] = [slice(None)] * len(shape)
    seen = set()
    for start, end, axis, step in zip(starts, ends, axes, steps):
        a = _axis(n, axis, len(shape))
        if a in seen:
            raise n.invalid(f"axis {axis} is sliced twice")
        seen.add(a)
        if isinstance(step, DimExpr) or step == 0:
            raise n.invalid(f"step {step}")
        index[a] = slice(_clamp_bound(start), _clamp_bound(end), int(step))
    return tuple(index)


def _clamp_bound(v: Any) -> Any:
    """ONNX writes "to the end" as INT64_MAX (or MIN): Python's slices clamp the same."""
    if isinstance(v, DimExpr):
        return v
    return max(min(int(v), 1 << 62), -(1 << 62))


@converts("Slice")
def _slice(n):
    x = n.x(0)
    return [x[_slice_spec(n, tuple(x.shape))]]


@folds("Slice")
def _fold_slice(n, ks):
    k = ks[0]
    if k is None or (n.opset >= 10 and any(n.has(i) and ks[i] is None for i in range(1, len(ks)))):
        return None
    index = _slice_spec(n, k.value.shape)
    if any(isinstance(s.start, DimExpr) or isinstance(s.stop, DimExpr) for s in index):
        return None
    return [Known(np.array(k.value[index]), k.dtype)]


@converts("Split")
def _split(n):
    x = n.x(0)
    axis = _axis(n, int(n.attr("axis", 0)), x.ndim)
    count = len(n.node.output)
    size = x.shape[axis]
    if n.opset >= 13 and n.has(1):
        sizes = n.ints(1, "split")
    elif n.opset < 13 and n.attr("split") is not None:
        sizes = [int(s) for s in n.attr("split")]
    else:
        parts = int(n.attr("num_outputs", count)) if n.opset >= 18 else count
        if not isinstance(size, int):
            if n.opset >= 18 and n.attr("num_outputs") is not None:
                raise n.unsupported("num_outputs over a symbolic axis")
            chunk = shp.floordiv(size, parts)
            sizes = [chunk] * parts
        else:
            chunk = -(-size // parts)
            sizes = [min(chunk, size - chunk * i) for i in range(parts)]
    if len(sizes) != count:
        raise n.invalid(f"{len(sizes)} pieces for {count} outputs")
    outs, start = [], 0
    for s in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + s)
        outs.append(x[tuple(index)])
        start = start + s
    return outs


@converts("Expand")
def _expand(n):
    x = n.x(0)
    target = n.ints(1, "shape")
    rank = max(len(target), x.ndim)
    a = (1,) * (rank - x.ndim) + tuple(x.shape)
    b = (1,) * (rank - len(target)) + tuple(target)
    out = []
    for da, db in zip(a, b):
        if isinstance(db, int) and db == 1:
            out.append(da)
        elif isinstance(da, int) and da == 1:
            out.append(db)
        elif da == db or not (isinstance(da, int) and isinstance(db, int)):
            out.append(da if not isinstance(da, int) else db)
        else:
            raise n.invalid(f"shape {tuple(x.shape)} does not broadcast to {tuple(target)}")
    return [sg.broadcast_to(x, tuple(out))]


@converts("Tile")
def _tile(n):
    reps = n.ints(1, "repeats")
    if any(not isinstance(r, int) for r in reps):
        raise n.unsupported("symbolic repeats")
    return [sg.tile(n.x(0), reps)]


@converts("ConstantOfShape")
def _constant_of_shape(n):
    k = _fold_constant_of_shape(n, [n.known(0)])
    if k is not None:
        return k
    dims = n.ints(0, "shape")
    value = n.attr("value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if fill.dtype not in dtypes.SUPPORTED:
        raise n.unsupported(f"value of dtype {fill.dtype}")
    return [sg.broadcast_to(sg.constant(fill.reshape(())), tuple(dims))]


@folds("ConstantOfShape")
def _fold_constant_of_shape(n, ks):
    k = ks[0]
    if k is None or k.symbolic:
        return None
    dims = [int(d) for d in k.value.reshape(-1)]
    if any(d < 0 for d in dims):
        raise n.invalid(f"negative size in {dims}")
    value = n.attr("value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if math.prod(dims) > n.builder.limits.max_fold_elements:
        return None  # built in the graph, filled at run time
    if fill.dtype not in dtypes.SUPPORTED:
        raise n.unsupported(f"value of dtype {fill.dtype}")
    return [Known(np.full(dims, fill[0], fill.dtype), fill.dtype)]


@converts("Range")
def _range(n):
    start, limit, delta = (n.static(i, what) for i, what in ((0, "start"), (1, "limit"), (2, "delta")))
    result = _fold_range(
        n,
        [
            Known(np.asarray(start), n.dtype_of(0)),
            Known(np.asarray(limit), n.dtype_of(1)),
            Known(np.asarray(delta), n.dtype_of(2)),
        ],
    )
    if result is None:
        raise n.unsupported("a range of symbolic length")
    return result


@folds("Range")
def _fold_range(n, ks):
    if any(k is None or k.symbolic for k in ks):
        return None
    start, limit, delta = (k.value.reshape(()) for k in ks)
    dtype = ks[0].dtype
    if delta == 0:
        raise n.invalid("delta is 0")
    count = max(int(math.ceil((float(limit) - float(start)) / float(delta))), 0)
    if count > n.builder.limits.max_fold_elements:
        raise n.unsupported(f"a range of {count} elements")
    return [Known((start + delta * np.arange(count)).astype(dtype), dtype)]


@converts("Pad")
def _pad(n):
    x = n.x(0)
    mode = n.attr("mode", "constant")
    if isinstance(mode, bytes):
        mode = mode.decode()
    if n.opset < 11:
        pads = [int(p) for p in n.attr("pads")]
        fill: Any = float(n.attr("value", 0.0))
        axes = list(range(x.ndim))
    else:
        pads = n.ints(1, "pads")
        fill = n.x(2) if n.has(2) else 0
        axes = [_axis(n, int(a), x.ndim) for a in n.ints(3, "axes")] if n.has(3) else list(range(x.ndim))
    if len(pads) != 2 * len(axes) or any(not isinstance(p, int) for p in pads):
        raise n.invalid(f"pads {pads} for axes {axes}")
    widths = [(0, 0)] * x.ndim
    for k, a in enumerate(axes):
        widths[a] = (pads[k], pads[k + len(axes)])
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise n.unsupported(f"mode {mode!r}")
    # negative widths crop
    crop = tuple(slice(-b if b < 0 else None, a if a < 0 else None) for b, a in widths)
    if any(b < 0 or a < 0 for b, a in widths):
        x = x[crop]
        widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if isinstance(fill, Tensor):
        fill = sg.reshape(fill, ()) if fill.ndim else fill
    if mode == "constant":
        return [sg.pad(x, widths, "constant", fill if isinstance(fill, Tensor) else np.array(fill, x.dtype))]
    if mode == "wrap":  # the axis repeated around itself: its last b and first a elements
        for axis, (b, a) in enumerate(widths):
            size = x.shape[axis]
            if not (b or a):
                continue
            if not isinstance(size, int) or max(b, a) > size:
                raise n.unsupported(f"wrap widths {(b, a)} on an axis of size {size}")
            pieces = []
            if b:
                pieces.append(x[(slice(None),) * axis + (slice(size - b, size),)])
            pieces.append(x)
            if a:
                pieces.append(x[(slice(None),) * axis + (slice(0, a),)])
            x = sg.concatenate(pieces, axis=axis)
        return [x]
    return [sg.pad(x, widths, mode)]


# --- reductions -----------------------------------------------------------------------------


def _reduction_axes(n: NodeContext, x: Tensor) -> tuple[int, ...] | None:
    """The reduced axes; None: the identity (noop_with_empty_axes)."""
    since = 13 if n.op_type == "ReduceSum" else 18
    axes = _axes_input(n, since)
    if not axes:
        if int(n.attr("noop_with_empty_axes", 0)):
            return None
        return tuple(range(x.ndim))
    return tuple(sorted({_axis(n, a, x.ndim) for a in axes}))


_EMPTY_REDUCTION = {"ReduceMax": -np.inf, "ReduceMin": np.inf, "ReduceLogSumExp": -np.inf}


@converts(
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
)
def _reduce(n):
    x = n.x(0)
    axes = _reduction_axes(n, x)
    if axes is None:
        return [sg.identity(x)]
    keep = bool(int(n.attr("keepdims", 1)))
    op = n.op_type
    if x.dtype == np.bool_:
        if op not in ("ReduceMax", "ReduceMin"):
            raise n.unsupported("bool input")
        return [(sg.any if op == "ReduceMax" else sg.all)(x, axis=axes, keepdims=keep)]
    if op in _EMPTY_REDUCTION and any(x.shape[a] == 0 for a in axes):
        shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape) if keep or a not in axes)
        fill = _EMPTY_REDUCTION[op]
        if x.dtype.kind != "f":
            info = np.iinfo(x.dtype)
            fill = info.min if fill < 0 else info.max
        return [sg.broadcast_to(sg.constant(np.array(fill, x.dtype)), shape)]
    if op == "ReduceSum":
        y = sg.sum(x, axis=axes, keepdims=keep)
    elif op == "ReduceMean":
        y = sg.mean(x, axis=axes, keepdims=keep)
    elif op == "ReduceMax":
        y = sg.max(x, axis=axes, keepdims=keep)
    elif op == "ReduceMin":
        y = sg.min(x, axis=axes, keepdims=keep)
    elif op == "ReduceProd":
        y = sg.prod(x, axis=axes, keepdims=keep)
    elif op == "ReduceL1":
        y = sg.sum(sg.abs(x), axis=axes, keepdims=keep)
    elif op == "ReduceL2":
        y = sg.sqrt(sg.sum(sg.square(x), axis=axes, keepdims=keep))
    elif op == "ReduceLogSum":
        y = sg.log(sg.sum(x, axis=axes, keepdims=keep))
    elif op == "ReduceLogSumExp":
        y = sg.logsumexp(x, axis=axes, keepdims=keep)
    else:
        y = sg.sum(sg.square(x), axis=axes, keepdims=keep)
    return [y if y.dtype == x.dtype else sg.cast(y, x.dtype)]


@folds("ReduceProd", "ReduceSum")
def _fold_reduce(n, ks):
    k = ks[0]
    if k is None or k.dtype.kind not in "iu" or k.value.ndim != 1:
        return None
    since = 13 if n.op_type == "ReduceSum" else 18
    if n.opset >= since and len(ks) > 1 and ks[1] is None and n.has(1):
        return None
    keep = bool(int(n.attr("keepdims", 1)))
    items = [_as_int(v) for v in k.value]
    total = shp.prod(items) if n.op_type == "ReduceProd" else sum(items, 0)
    value = np.empty((1,) if keep else (), dtype=object)
    value[...] = total
    return [_known(value, k.dtype)]


@converts("ArgMax", "ArgMin")
def _argext(n):
    x = n.x(0)
    axis = _axis(n, int(n.attr("axis", 0)), x.ndim)
    keep = bool(int(n.attr("keepdims", 1)))
    fn = sg.argmax if n.op_type == "ArgMax" else sg.argmin
    if int(n.attr("select_last_index", 0)):
        flipped = fn(sg.flip(x, axis), axis=axis, keepdims=keep)
        return [sg.as_tensor(x.shape[axis]) - 1 - flipped]
    return [fn(x, axis=axis, keepdims=keep)]


@converts("CumSum", "CumProd")
def _cumulative(n):
    x = n.x(0)
    axis = _axis(n, int(n.ints(1, "axis")[0]), x.ndim)
    fn = sg.cumsum if n.op_type == "CumSum" else sg.cumprod
    y = fn(x, axis, exclusive=bool(n.attr("exclusive", 0)), reverse=bool(n.attr("reverse", 0)))
    return [y if y.dtype == x.dtype else sg.cast(y, x.dtype)]


@converts("TopK")
def _top_k(n):
    x = n.x(0)
    k = n.ints(1, "k")
    if len(k) != 1 or not isinstance(k[0], int):
        raise n.invalid(f"k must be one static int, got {k}")
    axis = _axis(n, int(n.attr("axis", -1)), x.ndim)
    size = x.shape[axis]
    if k[0] < 0 or (isinstance(size, int) and k[0] > size):
        raise n.invalid(f"k={k[0]} for an axis of size {size}")
    if not int(n.attr("sorted", 1)):
        raise n.unsupported("sorted=0")
    # a stable sort: equal values keep the lower index first, as ONNX asks
    order = sg.argsort(x, axis, descending=bool(int(n.attr("largest", 1))))
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, k[0])
    indices = order[tuple(index)]
    return [sg.take_along_axis(x, indices, axis), indices]


@converts("Hardmax")
def _hardmax(n):
    x = n.x(0)
    if n.opset < 13:
        raise n.unsupported("Hardmax before opset 13 (a 2-D coercion)")
    axis = _axis(n, int(n.attr("axis", -1)), x.ndim)
    return [sg.one_hot(sg.argmax(x, axis=axis), x.shape[axis], dtype=x.dtype, axis=axis)]


@converts("OneHot")
def _one_hot(n):
    indices = n.x(0)
    depth = n.static(1, "depth").reshape(-1)
    if depth.size != 1:
        raise n.invalid("depth must hold one value")
    depth_value = int(depth[0])
    values = n.x(2)
    axis = int(n.attr("axis", -1))
    rank = indices.ndim + 1
    axis = _axis(n, axis, rank)
    if indices.dtype.kind == "f":
        indices = sg.cast(indices, "int64")
    # negative indices count from the end of the depth
    wrapped = sg.where(sg.less(indices, 0), indices + sg.constant(np.array(depth_value, indices.dtype)), indices)
    hot = sg.one_hot(wrapped, depth_value, dtype="bool", axis=axis)
    return [sg.where(hot, values[1], values[0])]


@converts("Trilu")
def _trilu(n):
    x = n.x(0)
    if x.ndim < 2:
        raise n.invalid("input must have rank >= 2")
    k = n.ints(1, "k")[0] if n.has(1) else 0
    if not isinstance(k, int):
        raise n.unsupported("a symbolic k")
    rows, cols = x.shape[-2], x.shape[-1]
    diagonal = sg.reshape(sg.arange(cols), (1, cols)) - sg.reshape(sg.arange(rows), (rows, 1))
    keep = sg.greater_equal(diagonal, k) if int(n.attr("upper", 1)) else sg.less_equal(diagonal, k)
    return [sg.where(keep, x, sg.zeros_like(x))]


# --- neural-network ops -----------------------------------------------------------------


def _ints_attr(n: NodeContext, name: str, count: int, default: int) -> list[int]:
    value = n.attr(name)
    if value is None:
        return [default] * count
    value = [int(v) for v in value]
    if len(value) != count:
        raise n.invalid(f"{name} has {len(value)} entries for {count} spatial axes")
    return value


def _auto_pad(n: NodeContext) -> str:
    value = n.attr("auto_pad", "NOTSET")
    return value.decode() if isinstance(value, bytes) else value


def _explicit_pads(
    n: NodeContext, sizes: Sequence[Any], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[tuple[int, int]] | str:
    """Per spatial axis (before, after), or "same" (TF's: SAME_UPPER)."""
    k = len(kernel)
    mode = _auto_pad(n)
    if mode == "NOTSET":
        pads = _ints_attr(n, "pads", 2 * k, 0)
        if any(p < 0 for p in pads):
            raise n.invalid(f"negative pads {pads}")
        return [(pads[i], pads[i + k]) for i in range(k)]
    if mode == "VALID":
        return [(0, 0)] * k
    if mode == "SAME_UPPER":
        return "same"
    if mode == "SAME_LOWER":
        result = []
        for size, kk, s, d in zip(sizes, kernel, strides, dilations):
            if not isinstance(size, int):
                raise n.unsupported("SAME_LOWER padding of a symbolic size")
            out = -(-size // s)
            total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
            result.append((total - total // 2, total // 2))
        return result
    raise n.invalid(f"auto_pad {mode!r}")


@converts("Conv")
def _conv(n):
    x, w = n.x(0), n.x(1)
    _same_dtype(n, x, w)
    _require_float(n, x)
    spatial = x.ndim - 2
    if spatial not in (1, 2) or w.ndim != x.ndim:
        raise n.unsupported(f"a {spatial}-D convolution (1-D and 2-D are supported)")
    kernel = [int(d) if isinstance(d, int) else None for d in w.shape[2:]]
    if None in kernel:
        raise n.unsupported("a filter of symbolic size")
    given = n.attr("kernel_shape")
    if given is not None and [int(v) for v in given] != kernel:
        raise n.invalid(f"kernel_shape {list(given)} is not the filter's {kernel}")
    strides = _ints_attr(n, "strides", spatial, 1)
    dilations = _ints_attr(n, "dilations", spatial, 1)
    group = int(n.attr("group", 1))
    pads = _explicit_pads(n, x.shape[2:], kernel, strides, dilations)
    if spatial == 1:  # as 2-D over a unit height
        x = sg.expand_dims(x, 2)
        w = sg.expand_dims(w, 2)
        kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
        pads = pads if pads == "same" else [(0, 0), *pads]
    w_keras = sg.transpose(w, (2, 3, 1, 0))  # (out, in/g, kh, kw) -> (kh, kw, in/g, out)
    padding = "same" if pads == "same" else tuple(pads)
    y = sg.nn.conv2d(
        x, w_keras, strides=tuple(strides), padding=padding, dilation=tuple(dilations), groups=group, data_format="NCHW"
    )
    if n.has(2):
        b = n.x(2)
        y = y + sg.reshape(b, (b.shape[0], 1, 1))
    if spatial == 1:
        y = sg.squeeze(y, 2)
    return [y]


def _pool_geometry(n: NodeContext, x: Tensor) -> tuple[list[int], list[int], Any]:
    spatial = x.ndim - 2
    kernel = [int(v) for v in n.attr("kernel_shape")]
    if len(kernel) != spatial:
        raise n.invalid(f"kernel_shape {kernel} for {spatial} spatial axes")
    strides = _ints_attr(n, "strides", spatial, 1)
    dilations = _ints_attr(n, "dilations", spatial, 1)
    if any(d != 1 for d in dilations):
        raise n.unsupported(f"dilations {dilations}")
    pads = _explicit_pads(n, x.shape[2:], kernel, strides, dilations)
    if int(n.attr("ceil_mode", 0)):
        if pads == "same":
            return kernel, strides, pads  # SAME output sizes are ceil already
        # a last, partial window: more padding after (never part of a window)
        extra = []
        for size, k, s, (b, a) in zip(x.shape[2:], kernel, strides, pads):
            if not isinstance(size, int):
                raise n.unsupported("ceil_mode over a symbolic size")
            out = -(-(size + b + a - k) // s) + 1
            if (out - 1) * s >= size + b:  # a window starting in the end padding is dropped
                out -= 1
            extra.append((b, max(a, (out - 1) * s + k - size - b)))
        pads = extra
    return kernel, strides, pads


def _pool2d(x: Tensor, op_class: type, kernel: list[int], strides: list[int], pads: Any) -> Tensor:
    """A channels-first pool through the channels-last op."""
    padding = "same" if pads == "same" else tuple(tuple(p) for p in pads)
    nhwc = sg.transpose(x, (0, 2, 3, 1))
    y = apply(op_class(tuple(kernel), tuple(strides), padding), nhwc).outputs[0]
    return sg.transpose(y, (0, 3, 1, 2))


@converts("MaxPool", "AveragePool")
def _pool(n):
    x = n.x(0)
    _require_float(n, x)
    n.only_first_output()
    spatial = x.ndim - 2
    if spatial not in (1, 2):
        raise n.unsupported(f"{spatial}-D pooling (1-D and 2-D are supported)")
    if int(n.attr("storage_order", 0)):
        raise n.unsupported("storage_order=1")
    kernel, strides, pads = _pool_geometry(n, x)
    op_class = MaxPool2D if n.op_type == "MaxPool" else AvgPool2D
    if spatial == 1:
        x = sg.expand_dims(x, 2)
        kernel, strides = [1, *kernel], [1, *strides]
        pads = pads if pads == "same" else [(0, 0), *pads]
    if n.op_type == "AveragePool" and int(n.attr("count_include_pad", 0)):
        if int(n.attr("ceil_mode", 0)) or pads == "same":
            raise n.unsupported("count_include_pad with ceil_mode or SAME padding")
        # the padding counts: pad with zeros, then average whole windows
        x = sg.pad(x, [(0, 0), (0, 0), *pads], "constant", np.array(0, x.dtype))
        pads = [(0, 0)] * 2
    y = _pool2d(x, op_class, kernel, strides, pads)
    return [sg.squeeze(y, 2) if spatial == 1 else y]


@converts("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(n):
    x = n.x(0)
    _require_float(n, x)
    axes = tuple(range(2, x.ndim))
    fn = sg.mean if n.op_type == "GlobalAveragePool" else sg.max
    return [fn(x, axis=axes, keepdims=True)]


@converts("BatchNormalization")
def _batch_norm(n):
    x = n.x(0)
    _require_float(n, x)
    if int(n.attr("training_mode", 0)) or n.outputs_wanted() > 1:
        raise n.unsupported("training mode (only inference: the given mean and variance)")
    if n.opset < 9 and not int(n.attr("spatial", 1)):
        raise n.unsupported("spatial=0")
    scale, bias, mean, var = (sg.cast(n.x(i), x.dtype) for i in (1, 2, 3, 4))
    return [sg.nn.batch_norm(x, mean, var, bias, scale, epsilon=float(n.attr("epsilon", 1e-5)), axis=1)]


@converts("InstanceNormalization")
def _instance_norm(n):
    x, scale, bias = n.x(0), n.x(1), n.x(2)
    axes = tuple(range(2, x.ndim))
    mean, var = sg.nn.moments(x, axes, keepdims=True)
    shape = (x.shape[1],) + (1,) * (x.ndim - 2)
    eps = sg.constant(np.array(float(n.attr("epsilon", 1e-5)), x.dtype))
    y = (x - mean) * sg.rsqrt(var + eps)
    return [y * sg.reshape(scale, shape) + sg.reshape(bias, shape)]


@converts("MeanVarianceNormalization")
def _mean_variance_norm(n):
    x = n.x(0)
    _require_float(n, x)
    axes = tuple(_axis(n, int(a), x.ndim) for a in (n.attr("axes") or [0, 2, 3]))
    mean, var = sg.nn.moments(x, axes, keepdims=True)
    return [(x - mean) / (sg.sqrt(var) + sg.constant(np.array(1e-9, x.dtype)))]


@converts("LpNormalization")
def _lp_norm(n):
    x = n.x(0)
    _require_float(n, x)
    axis = _axis(n, int(n.attr("axis", -1)), x.ndim)
    p = int(n.attr("p", 2))
    if p == 1:
        norm = sg.sum(sg.abs(x), axis=axis, keepdims=True)
    elif p == 2:
        norm = sg.sqrt(sg.sum(x * x, axis=axis, keepdims=True))
    else:
        raise n.invalid(f"p={p} (1 or 2)")
    zero = sg.constant(np.array(0, x.dtype))
    return [sg.where(sg.equal(norm, zero), sg.zeros_like(x), x / sg.where(sg.equal(norm, zero), zero + 1, norm))]


@converts("RMSNormalization")
def _rms_norm(n):
    x = n.x(0)
    _require_float(n, x)
    axis = _axis(n, int(n.attr("axis", -1)), x.ndim)
    axes = tuple(range(axis, x.ndim))
    eps = sg.constant(np.array(float(n.attr("epsilon", 1e-5)), x.dtype))
    return [x * sg.rsqrt(sg.mean(x * x, axis=axes, keepdims=True) + eps) * n.x(1)]


@converts("LayerNormalization")
def _layer_norm(n):
    x = n.x(0)
    _require_float(n, x)
    axis = _axis(n, int(n.attr("axis", -1)), x.ndim)
    axes = tuple(range(axis, x.ndim))
    mean, var = sg.nn.moments(x, axes, keepdims=True)
    eps = sg.constant(np.array(float(n.attr("epsilon", 1e-5)), x.dtype))
    inv_std = sg.rsqrt(var + eps)
    y = (x - mean) * inv_std * n.x(1)
    return [y + n.x(2) if n.has(2) else y, mean, inv_std]


@converts("Dropout")
def _dropout(n):
    x = n.x(0)
    if n.opset >= 12 and n.has(2):
        training = n.static(2, "training_mode")
        if bool(np.asarray(training).reshape(())):
            raise n.unsupported("training_mode=true (only inference)")
    if n.opset < 7 and not int(n.attr("is_test", 0)):
        raise n.unsupported("is_test=0 (only inference)")
    outs: list[Output] = [sg.identity(x)]
    if n.outputs_wanted() > 1:
        outs.append(sg.broadcast_to(sg.constant(np.array(True)), tuple(x.shape)))
    return outs


@converts("DepthToSpace", "SpaceToDepth")
def _depth_space(n):
    x = n.x(0)
    b = int(n.attr("blocksize"))
    if x.ndim != 4:
        raise n.invalid("input must be 4-D")
    N, C, H, W = x.shape
    mode = n.attr("mode", "DCR")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("DCR", "CRD"):
        raise n.invalid(f"mode {mode!r}")
    if n.op_type == "SpaceToDepth":
        y = sg.reshape(x, (N, C, H // b, b, W // b, b))
        y = sg.transpose(y, (0, 3, 5, 1, 2, 4) if mode == "DCR" else (0, 1, 3, 5, 2, 4))
        return [sg.reshape(y, (N, C * b * b, H // b, W // b))]
    if mode == "DCR":
        y = sg.reshape(x, (N, b, b, C // (b * b), H, W))
        y = sg.transpose(y, (0, 3, 4, 1, 5, 2))
    else:
        y = sg.reshape(x, (N, C // (b * b), b, b, H, W))
        y = sg.transpose(y, (0, 1, 4, 2, 5, 3))
    return [sg.reshape(y, (N, C // (b * b), H * b, W * b))]


# --- recurrent layers (ONNX's LSTM, GRU, RNN) as scans ------------------------------------


_ACTIVATIONS: dict[str, Callable[..., Tensor]] = {
    "Sigmoid": lambda x, a, b: sg.nn.sigmoid(x),
    "Tanh": lambda x, a, b: sg.tanh(x),
    "Relu": lambda x, a, b: sg.nn.relu(x),
    "Affine": lambda x, a, b: x * a + b,
    "LeakyRelu": lambda x, a, b: sg.nn.leaky_relu(x, float(a)),
    "ThresholdedRelu": lambda x, a, b: sg.where(sg.greater(x, a), x, 0.0 * x),
    "ScaledTanh": lambda x, a, b: sg.tanh(x * b) * a,
    "HardSigmoid": lambda x, a, b: sg.clip(x * a + b, 0.0 * x, 0.0 * x + 1.0),
    "Elu": lambda x, a, b: sg.nn.elu(x, float(a)),
    "Softsign": lambda x, a, b: sg.nn.softsign(x),
    "Softplus": lambda x, a, b: sg.nn.softplus(x),
}
_DEFAULT_ALPHA = {"LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "HardSigmoid": 0.2, "Elu": 1.0, "Affine": 1.0}
_DEFAULT_BETA = {"HardSigmoid": 0.5, "Affine": 0.0}


def _rnn_activations(n: NodeContext, defaults: list[str], directions: int) -> list[list[Callable[[Tensor], Tensor]]]:
    names = n.attr("activations")
    per_direction = len(defaults)
    names = [v.decode() if isinstance(v, bytes) else v for v in names] if names else defaults * directions
    if len(names) == per_direction and directions == 2:
        names = names * 2
    if len(names) != per_direction * directions:
        raise n.invalid(f"{len(names)} activations for {directions} direction(s)")
    alphas = list(n.attr("activation_alpha") or [])
    betas = list(n.attr("activation_beta") or [])
    fns: list[Callable[[Tensor], Tensor]] = []
    for k, name in enumerate(names):
        if name not in _ACTIVATIONS:
            raise n.unsupported(f"activation {name!r}")
        a = alphas[k] if k < len(alphas) else _DEFAULT_ALPHA.get(name, 0.0)
        b = betas[k] if k < len(betas) else _DEFAULT_BETA.get(name, 0.0)
        fns.append(lambda x, f=_ACTIVATIONS[name], a=a, b=b: f(x, a, b))
    return [fns[d * per_direction : (d + 1) * per_direction] for d in range(directions)]


def _rnn_common(n: NodeContext, gates: int) -> dict[str, Any]:
    x = n.x(0)
    _require_float(n, x)
    layout = int(n.attr("layout", 0))
    if layout:
        x = sg.transpose(x, (1, 0, 2))  # batch-major -> time-major
    direction = n.attr("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in ("forward", "reverse", "bidirectional"):
        raise n.invalid(f"direction {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    w, r = n.x(1), n.x(2)
    hidden = r.shape[-1]
    if not isinstance(hidden, int):
        raise n.unsupported("a symbolic hidden size")
    if n.attr("hidden_size") is not None and int(n.attr("hidden_size")) != hidden:
        raise n.invalid(f"hidden_size {n.attr('hidden_size')} is not R's {hidden}")
    if n.has(4):
        lens = n.known(4)
        if lens is None or lens.symbolic or np.any(lens.value != x.shape[0]):
            raise n.unsupported("sequence_lens shorter than the sequence")
    clip = n.attr("clip")
    batch = x.shape[1]
    return {
        "x": x,
        "w": w,
        "r": r,
        "hidden": hidden,
        "dirs": dirs,
        "reverse": [direction == "reverse"] if dirs == 1 else [False, True],
        "layout": layout,
        "clip": None if clip is None else float(clip),
        "batch": batch,
        "b": n.x(3) if n.has(3) else None,
        "gates": gates,
    }


def _initial_state(n: NodeContext, i: int, c: dict[str, Any], d: int) -> Tensor:
    if n.has(i):
        h = n.x(i)
        if c["layout"]:
            h = sg.transpose(h, (1, 0, 2))
        return h[d]
    return sg.broadcast_to(sg.constant(np.array(0, c["x"].dtype)), (c["batch"], c["hidden"]))


def _clipped(z: Tensor, clip: float | None) -> Tensor:
    if clip is None:
        return z
    return sg.clip(z, -clip, clip)


def _rnn_outputs(
    n: NodeContext, c: dict[str, Any], sequences: list[Tensor], finals: list[list[Tensor]]
) -> list[Output]:
    """Y (steps, dirs, batch, hidden), then each final state (dirs, batch, hidden)."""
    y = sg.stack(sequences, axis=1)
    states = [sg.stack(list(f), axis=0) for f in zip(*finals)]
    if c["layout"]:
        y = sg.transpose(y, (2, 0, 1, 3))
        states = [sg.transpose(s, (1, 0, 2)) for s in states]
    return [y, *states]


def _run_direction(step: Callable[..., Any], x: Tensor, inits: list[Tensor], params: list[Tensor], reverse: bool):
    """The histories of the states, in time order (a reverse scan writes row n-1-t at
    step t, as ONNX's reverse direction has it)."""
    return trace_scan(step, [x], inits, params, x.shape[0], reverse)


def _last(seq: Tensor, reverse: bool) -> Tensor:
    # the final state: the last step ran at row 0 when reversed
    return seq[0] if reverse else seq[-1]


@converts("RNN")
def _rnn(n):
    c = _rnn_common(n, 1)
    acts = _rnn_activations(n, ["Tanh"], c["dirs"])
    sequences, finals = [], []
    for d in range(c["dirs"]):
        wi, ri = sg.transpose(c["w"][d]), sg.transpose(c["r"][d])
        bias = (c["b"][d][: c["hidden"]] + c["b"][d][c["hidden"] :]) if c["b"] is not None else None
        f = acts[d][0]
        clip = c["clip"]

        def step(x_t, h, wi, ri, *b, f=f, clip=clip):
            z = sg.matmul(x_t, wi) + sg.matmul(h, ri)
            z = z + b[0] if b else z
            return f(_clipped(z, clip))

        params = [wi, ri, *([bias] if bias is not None else [])]
        (hs,) = _run_direction(step, c["x"], [_initial_state(n, 5, c, d)], params, c["reverse"][d])
        sequences.append(hs)
        finals.append([_last(hs, c["reverse"][d])])
    return _rnn_outputs(n, c, sequences, finals)


@converts("GRU")
def _gru(n):
    c = _rnn_common(n, 3)
    acts = _rnn_activations(n, ["Sigmoid", "Tanh"], c["dirs"])
    hidden = c["hidden"]
    linear_before_reset = bool(int(n.attr("linear_before_reset", 0)))
    sequences, finals = [], []
    for d in range(c["dirs"]):
        wi, ri = sg.transpose(c["w"][d]), sg.transpose(c["r"][d])  # (input, 3h), (h, 3h): gates z, r, h
        if c["b"] is not None:
            wb, rb = c["b"][d][: 3 * hidden], c["b"][d][3 * hidden :]
        else:
            wb = rb = sg.broadcast_to(sg.constant(np.array(0, c["x"].dtype)), (3 * hidden,))
        f, g = acts[d]
        clip = c["clip"]

        def step(x_t, h, wi, ri, wb, rb, f=f, g=g, clip=clip):
            xw = sg.matmul(x_t, wi) + wb
            z = f(_clipped(xw[:, :hidden] + sg.matmul(h, ri[:, :hidden]) + rb[:hidden], clip))
            r = f(
                _clipped(
                    xw[:, hidden : 2 * hidden] + sg.matmul(h, ri[:, hidden : 2 * hidden]) + rb[hidden : 2 * hidden],
                    clip,
                )
            )
            if linear_before_reset:
                hh = xw[:, 2 * hidden :] + r * (sg.matmul(h, ri[:, 2 * hidden :]) + rb[2 * hidden :])
            else:
                hh = xw[:, 2 * hidden :] + sg.matmul(r * h, ri[:, 2 * hidden :]) + rb[2 * hidden :]
            hh = g(_clipped(hh, clip))
            return (1.0 - z) * hh + z * h

        (hs,) = _run_direction(step, c["x"], [_initial_state(n, 5, c, d)], [wi, ri, wb, rb], c["reverse"][d])
        sequences.append(hs)
        finals.append([_last(hs, c["reverse"][d])])
    return _rnn_outputs(n, c, sequences, finals)


@converts("LSTM")
def _lstm(n):
    c = _rnn_common(n, 4)
    acts = _rnn_activations(n, ["Sigmoid", "Tanh", "Tanh"], c["dirs"])
    hidden = c["hidden"]
    input_forget = bool(int(n.attr("input_forget", 0)))
    sequences, finals = [], []
    for d in range(c["dirs"]):
        wi, ri = sg.transpose(c["w"][d]), sg.transpose(c["r"][d])  # gates i, o, f, c
        zero = sg.constant(np.array(0, c["x"].dtype))
        if c["b"] is not None:
            bias = c["b"][d][: 4 * hidden] + c["b"][d][4 * hidden :]
        else:
            bias = sg.broadcast_to(zero, (4 * hidden,))
        peep = n.x(7)[d] if n.has(7) else sg.broadcast_to(zero, (3 * hidden,))
        f_act, g_act, h_act = acts[d]
        clip = c["clip"]

        def step(x_t, h, cell, wi, ri, bias, peep, f_act=f_act, g_act=g_act, h_act=h_act, clip=clip):
            z = sg.matmul(x_t, wi) + sg.matmul(h, ri) + bias
            zi, zo, zf, zc = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))
            pi, po, pf = (peep[k * hidden : (k + 1) * hidden] for k in range(3))
            i = f_act(_clipped(zi + pi * cell, clip))
            f = 1.0 - i if input_forget else f_act(_clipped(zf + pf * cell, clip))
            cell_new = f * cell + i * g_act(_clipped(zc, clip))
            o = f_act(_clipped(zo + po * cell_new, clip))
            return o * h_act(cell_new), cell_new

        hs, cs = _run_direction(
            step,
            c["x"],
            [_initial_state(n, 5, c, d), _initial_state(n, 6, c, d)],
            [wi, ri, bias, peep],
            c["reverse"][d],
        )
        sequences.append(hs)
        finals.append([_last(hs, c["reverse"][d]), _last(cs, c["reverse"][d])])
    return _rnn_outputs(n, c, sequences, finals)


def symbolic_tensor(k: Known) -> Tensor:
    """A tensor holding a Known value of sizes (some symbolic), in its dtype."""
    flat = [
        sg.as_tensor(v) if isinstance(v, DimExpr) else sg.constant(np.array(int(v), np.int64))
        for v in k.value.reshape(-1)
    ]
    if not flat:
        return sg.constant(np.zeros(k.value.shape, k.dtype))
    t = stack(flat) if k.value.ndim else flat[0]
    t = sg.reshape(t, k.value.shape) if k.value.ndim != 1 else t
    return t if t.dtype == k.dtype else sg.cast(t, k.dtype)
