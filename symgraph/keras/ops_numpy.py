"""The numpy half of ``keras.ops`` (Keras' ``keras.ops.numpy``), and the dispatch every
``keras.ops`` function goes through.

Where a function runs (``dispatch``):

- inside ``sg.jit``, or on a symbolic tensor (one that reads a placeholder: a layer's
  ``call`` while ``fit`` builds its compiled step), it builds graph;
- on KerasTensors (a functional model being built) it becomes a node of the model, as
  Keras 3's operations do;
- on Variables (and constant expressions) outside an eager scope it builds graph too,
  Theano's rule that makes ``ops.sum(ops.square(self.w))`` part of the compiled step
  instead of a value frozen now; eager tensors among its arguments become constants of
  that graph;
- otherwise (numpy arrays, Python data, eager tensors) it runs now and returns eager
  tensors.

Dtypes follow Keras 3 where they differ from symgraph's NumPy 2 promotion: an integer
meeting a float gives that float (int32 + float32 is float32, not float64), Python data
is float32/int32, argmax and friends give int32, sums of small integers int32.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symgraph as sg
from symgraph import dtypes
from symgraph.errors import DTypeError, InputError, ShapeError, UnsupportedError
from symgraph.graph import dim_value
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor
from symgraph.graph.shape import DimExpr
from symgraph.graph.sources import Constant, EagerTensor, SharedVariable, Variable
from symgraph.graph.traversal import leaves
from symgraph.keras import backend, naming
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.layers.layer import OperationLayer
from symgraph.ops.elementwise import broadcast_shapes
from symgraph.trace.context import EAGER, GRAPH, TAPES
from symgraph.trace.context import tracing as _tracing

# every keras.ops name this module and ops_nn.py implement, by name (ops.py exports them)
EXPORTS: dict[str, Callable[..., Any]] = {}
__all__: list[str] = []

_INT32 = np.dtype("int32")
_BOOL = np.dtype("bool")

# ---------------------------------------------------------------------------- dispatch


def _walk(value: Any, leaf: Callable[[Any], Any], depth: int = 0) -> Any:
    """``value`` with ``leaf`` applied to each non-container inside it (tuples, lists and
    dict values, a few levels deep: Keras' arguments nest as far as (xs,) and [[...]])."""
    if depth < 4:
        if isinstance(value, tuple):
            return tuple(_walk(v, leaf, depth + 1) for v in value)
        if isinstance(value, list):
            return [_walk(v, leaf, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: _walk(v, leaf, depth + 1) for k, v in value.items()}
    return leaf(value)


def _leaves(value: Any) -> list[Any]:
    found: list[Any] = []
    _walk(value, lambda v: found.append(v))
    return found


def _to_constant(value: Any) -> Any:
    """An eager tensor as a plain constant of the graph being built (an eager tensor
    taking part would make the op run now, freezing the Variables it meets)."""
    return sg.constant(value.value) if type(value) is EagerTensor else value


def eager_result(value: Any) -> Any:
    """A result computed now, as eager tensors: a constant (``ops.zeros``) becomes one,
    Variables stay themselves."""

    def leaf(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return EagerTensor(v)
        if isinstance(v, Tensor) and type(v) is not EagerTensor and not isinstance(v, Variable) and v.bound:
            reads_state = builtins.any(isinstance(n.op, SharedVariable) for n in leaves([v]))
            return EagerTensor(v.numpy(), reads_state)
        return v

    return _walk(value, leaf)


def dispatch(fn: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> Any:
    """Run ``fn`` in the world its arguments come from (see the module docstring)."""
    if _tracing() or GRAPH.get():
        return fn(*args, **kwargs)
    leaves = _leaves((args, kwargs))
    keras_tensors = [v for v in leaves if isinstance(v, KerasTensor)]
    if keras_tensors:
        return _functional(fn, name, args, kwargs, len(keras_tensors))
    tensors = [v for v in leaves if isinstance(v, Tensor)]
    # a placeholder upstream, or a size fixed only at call time (ops.zeros((ops.shape(x)[0], 4)))
    if builtins.any(not t.bound for t in tensors) or builtins.any(isinstance(v, DimExpr) for v in leaves):
        return fn(*args, **kwargs)
    eager_scope = EAGER.get() or TAPES.get()
    if not eager_scope and builtins.any(type(t) is not EagerTensor for t in tensors):
        args, kwargs = _walk((args, kwargs), _to_constant)
        return fn(*args, **kwargs)
    with sg.eager():
        return eager_result(fn(*args, **kwargs))


def _functional(fn: Callable[..., Any], name: str, args: tuple, kwargs: dict, count: int) -> Any:
    """``fn`` on KerasTensors: a node of the functional model (an OperationLayer whose call
    runs ``fn`` on the tensors behind them)."""
    inputs: list[KerasTensor] = []
    _walk((args, kwargs), lambda v: inputs.append(v) if isinstance(v, KerasTensor) else None)

    def call(*tensors: Tensor) -> Any:
        feed = iter(tensors)
        real_args, real_kwargs = _walk((args, kwargs), lambda v: next(feed) if isinstance(v, KerasTensor) else v)
        return fn(*real_args, **real_kwargs)

    return OperationLayer(call, name=naming.unique_name(name))(inputs if count > 1 else inputs[0])


def keras_op(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Register ``fn`` as the ``keras.ops`` function ``name`` (its own name by default),
    run through ``dispatch``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        op_name = name or fn.__name__.rstrip("_")

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            return dispatch(fn, op_name, args, kwargs)

        run.__name__ = op_name
        run.__qualname__ = op_name
        EXPORTS[op_name] = run
        return run

    return register(fn) if fn is not None else register


def alias(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` exported under a second Keras name."""
    EXPORTS[name] = fn
    return fn


def not_provided(name: str, why: str) -> UnsupportedError:
    """The error for a ``keras.ops`` name (or a case of one) symgraph does not provide."""
    return UnsupportedError(f"keras.ops.{name} is not provided by symgraph.keras: {why}")


# ---------------------------------------------------------------------------- conversion


def standardize_dtype(dtype: Any) -> np.dtype | None:
    """A Keras dtype argument as a numpy dtype (None stays None; ``float`` is floatx)."""
    if dtype is None:
        return None
    if dtype is float or dtype == "float":
        return np.dtype(backend.floatx())
    if dtype is int or dtype == "int":
        return np.dtype("int64")
    if dtype is bool:
        return _BOOL
    if isinstance(dtype, Tensor):
        return dtype.dtype
    name = getattr(dtype, "name", dtype)
    try:
        return dtypes.as_dtype(name)
    except DTypeError:
        raise DTypeError(f"keras.ops: dtype {name!r} is not supported by symgraph") from None


def keras_array(value: Any, dtype: Any = None) -> np.ndarray:
    """Data as an array with Keras' defaults: numpy keeps its dtype; Python floats are
    floatx, ints int32, bools bool."""
    dt = standardize_dtype(dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    else:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(backend.floatx())
        elif array.dtype.kind in "iu":
            array = array.astype(_INT32)
        elif array.dtype.kind == "c":
            raise DTypeError("keras.ops: complex values are not supported by symgraph (it has no complex dtype)")
    if dt is not None:
        return array.astype(dt)
    if array.dtype.kind == "c":
        raise DTypeError("keras.ops: complex values are not supported by symgraph (it has no complex dtype)")
    if array.dtype not in dtypes.SUPPORTED:
        if array.dtype.kind == "f":
            array = array.astype(backend.floatx())
        elif array.dtype.kind == "u":
            array = array.astype("int64")
        else:
            dtypes.as_dtype(array.dtype)
    return array


def to_tensor(value: Any, dtype: Any = None) -> Tensor:
    """``value`` as a tensor (a graph constant for data; ``dispatch`` decides whether it
    then runs now), cast to ``dtype`` when given."""
    if isinstance(value, Tensor):
        dt = standardize_dtype(dtype)
        return value if dt is None or value.dtype == dt else sg.cast(value, dt)
    if isinstance(value, DimExpr):
        return sg.cast(dim_value(value), standardize_dtype(dtype) or _INT32)
    if isinstance(value, (list, tuple)) and builtins.any(isinstance(v, (Tensor, DimExpr)) for v in _leaves(value)):
        parts = [to_tensor(v) for v in value]
        target = result_type(*(p.dtype for p in parts))
        return to_tensor(sg.stack([cast_to(p, target) for p in parts]), dtype)
    return sg.constant(keras_array(value, dtype))


_t = to_tensor


def cast_to(x: Tensor, dtype: Any) -> Tensor:
    dt = np.dtype(dtype)
    return x if x.dtype == dt else sg.cast(x, dt)


def is_weak(value: Any) -> bool:
    """Python's bool, int and float: weakly typed, they take the other operand's dtype."""
    return type(value) in (bool, int, float)


_FLOAT_ORDER = ("float16", "float32", "float64")


def result_type(*dts: np.dtype) -> np.dtype:
    """Keras' promotion of typed operands: a float meeting integers gives that float (JAX's
    lattice), otherwise numpy's."""
    dts = tuple(np.dtype(d) for d in dts)
    floats = [d for d in dts if d.kind == "f"]
    if floats and len(floats) < len(dts):
        return builtins.max(floats, key=lambda d: _FLOAT_ORDER.index(d.name))
    return dtypes.as_dtype(np.result_type(*dts))


def pair(x1: Any, x2: Any) -> tuple[Any, Any]:
    """Two operands of an elementwise op, as tensors of Keras' common dtype (a Python
    scalar stays weak unless both are)."""
    if is_weak(x1) and is_weak(x2):
        return _t(x1), _t(x2)
    if is_weak(x1):
        return x1, _t(x2)
    if is_weak(x2):
        return _t(x1), x2
    a, b = _t(x1), _t(x2)
    dt = result_type(a.dtype, b.dtype)
    return cast_to(a, dt), cast_to(b, dt)


def floatx_of(x: Tensor) -> Tensor:
    """``x`` as a float tensor: integers and bools become floatx (Keras' float math)."""
    return x if x.dtype.kind == "f" else sg.cast(x, backend.floatx())


def axis_arg(axis: Any) -> Any:
    """A Keras axis argument (None, an int, a list or tuple) as symgraph takes it."""
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)):
        return tuple(operator.index(a) for a in axis)
    return operator.index(axis)


def axes_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """Every axis named by ``axis`` (None: all), non-negative."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ShapeError(f"axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a % builtins.max(ndim, 1))
    return tuple(out)


def static_size(d: Any, what: str) -> int:
    """A size that must be known when the graph is built."""
    if isinstance(d, int):
        return d
    raise UnsupportedError(f"keras.ops.{what}: needs the size {d} to be known when the graph is built")


def value_now(x: Tensor) -> np.ndarray | None:
    """The value of ``x`` when it has one now (eager work), else None (graph)."""
    if _tracing() or not isinstance(x, Tensor):
        return None
    if type(x) is EagerTensor:
        return x.value
    if (EAGER.get() or TAPES.get()) and x.bound:
        return x.numpy()
    if isinstance(x.node.op, Constant):
        return x.node.op.value
    return None


def flat(x: Tensor) -> Tensor:
    return sg.reshape(x, (-1,))


def _int32(x: Tensor) -> Tensor:
    return cast_to(x, _INT32)


def count_true(x: Tensor, axis: Any = None) -> Tensor:
    """How many elements of the bool ``x`` are true along ``axis``, as int32."""
    return _int32(sg.sum(sg.cast(x, _INT32), axis))


# ---------------------------------------------------------------------------- creation


@keras_op
def array(x: Any, dtype: Any = None) -> Tensor:
    """``x`` as a tensor (a copy for a tensor)."""
    return _t(x, dtype)


@keras_op
def zeros(shape: Any, dtype: Any = None) -> Tensor:
    return sg.zeros(_shape_arg(shape), standardize_dtype(dtype) or backend.floatx())


@keras_op
def ones(shape: Any, dtype: Any = None) -> Tensor:
    return sg.ones(_shape_arg(shape), standardize_dtype(dtype) or backend.floatx())


@keras_op
def empty(shape: Any, dtype: Any = None) -> Tensor:
    """Zeros (an empty array's contents are unspecified; zeros are a valid choice)."""
    return sg.zeros(_shape_arg(shape), standardize_dtype(dtype) or backend.floatx())


def _shape_arg(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer, DimExpr)):
        return (shape,)
    if isinstance(shape, Tensor):
        value = value_now(shape)
        if value is None:
            raise UnsupportedError("keras.ops: a shape given as a symbolic tensor is not supported; pass a tuple")
        return tuple(int(v) for v in np.atleast_1d(value))
    return tuple(shape)


@keras_op
def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    return sg.zeros_like(_t(x), standardize_dtype(dtype))


@keras_op
def ones_like(x: Any, dtype: Any = None) -> Tensor:
    return sg.ones_like(_t(x), standardize_dtype(dtype))


@keras_op
def empty_like(x: Any, dtype: Any = None) -> Tensor:
    return sg.zeros_like(_t(x), standardize_dtype(dtype))


@keras_op
def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    fill = _t(fill_value)
    dt = standardize_dtype(dtype) or (backend.floatx() if fill.dtype.kind == "f" else fill.dtype)
    return sg.broadcast_to(cast_to(fill, dt), _shape_arg(shape))


@keras_op
def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    x = _t(x)
    dt = standardize_dtype(dtype) or x.dtype
    return sg.broadcast_to(cast_to(_t(fill_value), dt), x.shape)


@keras_op
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Tensor:
    """numpy's arange; int32 for ints, floatx for floats (Keras' defaults)."""
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    dt = standardize_dtype(dtype)
    if dt is None:
        kinds = [np.asarray(v).dtype.kind for v in (start, stop, step) if not isinstance(v, (Tensor, DimExpr))]
        dt = np.dtype(backend.floatx()) if "f" in kinds else _INT32
    values = [v if isinstance(v, DimExpr) else _scalar_now(v, "arange") for v in (start, stop, step)]
    return sg.arange(*values, dtype=dt)


def _scalar_now(value: Any, what: str) -> Any:
    if isinstance(value, Tensor):
        now = value_now(value)
        if now is None:
            raise UnsupportedError(f"keras.ops.{what}: needs this argument's value when the graph is built")
        return now.item()
    return value


@keras_op
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803  (Keras' names)
    return sg.constant(np.eye(N, M, k, dtype=standardize_dtype(dtype) or backend.floatx()))


@keras_op
def identity(n: int, dtype: Any = None) -> Tensor:
    return sg.constant(np.eye(n, dtype=standardize_dtype(dtype) or backend.floatx()))


@keras_op
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803  (Keras' names)
    return sg.constant(np.tri(N, M, k, dtype=standardize_dtype(dtype) or backend.floatx()))


def _spaced(start: Any, stop: Any, num: int, endpoint: bool, axis: int, dtype: Any) -> tuple[Tensor, Tensor]:
    """``num`` evenly spaced values from start to stop along a new ``axis`` (start and
    stop may be arrays) and the step, numpy's linspace."""
    s, e = _t(start), _t(stop)
    dt = standardize_dtype(dtype)
    work = result_type(s.dtype, e.dtype, np.dtype(backend.floatx()))
    s, e = cast_to(s, work), cast_to(e, work)
    div = (num - 1) if endpoint else num
    ramp = sg.constant(np.arange(num, dtype=work))
    shape = sg.broadcast_to(s, broadcast_shapes(s.shape, e.shape)).shape
    step = (e - s) / div if div > 0 else (e - s) * np.nan
    ndim = len(shape)
    ax = axis % (ndim + 1)
    ramp = sg.reshape(ramp, (num,) + (1,) * ndim)
    y = sg.expand_dims(s, 0) + ramp * sg.expand_dims(step if div > 0 else e - s, 0)
    if div == 0:
        y = sg.broadcast_to(sg.expand_dims(s, 0), (num, *shape))
    elif endpoint and num > 1:
        y = sg.concatenate([y[:-1], sg.expand_dims(sg.broadcast_to(e, shape), 0)], axis=0)
    y = sg.moveaxis(y, 0, ax) if ax else y
    return (cast_to(y, dt) if dt is not None else y), step


@keras_op
def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    y, step = _spaced(start, stop, num, endpoint, axis, dtype)
    return (y, step) if retstep else y


@keras_op
def logspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10, dtype: Any = None, axis: int = 0
) -> Tensor:
    y, _ = _spaced(start, stop, num, endpoint, axis, None)
    out = sg.power(cast_to(_t(base), y.dtype), y)
    dt = standardize_dtype(dtype)
    return cast_to(out, dt) if dt is not None else out


@keras_op
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0) -> Tensor:
    s, e = floatx_of(_t(start)), floatx_of(_t(stop))
    y, _ = _spaced(sg.log(sg.abs(s)), sg.log(sg.abs(e)), num, endpoint, axis, None)
    out = sg.exp(y) * sg.sign(s)
    dt = standardize_dtype(dtype)
    return cast_to(out, dt) if dt is not None else out


def _window(values: np.ndarray) -> Tensor:
    """A window function's values (numpy computes them from the length alone) as floatx."""
    return sg.constant(values.astype(backend.floatx()))


@keras_op
def bartlett(x: int) -> Tensor:
    return _window(np.bartlett(int(_scalar_now(x, "bartlett"))))


@keras_op
def blackman(x: int) -> Tensor:
    return _window(np.blackman(int(_scalar_now(x, "blackman"))))


@keras_op
def hamming(x: int) -> Tensor:
    return _window(np.hamming(int(_scalar_now(x, "hamming"))))


@keras_op
def hanning(x: int) -> Tensor:
    return _window(np.hanning(int(_scalar_now(x, "hanning"))))


@keras_op
def kaiser(x: int, beta: float) -> Tensor:
    return _window(np.kaiser(int(_scalar_now(x, "kaiser")), float(_scalar_now(beta, "kaiser"))))


@keras_op
def meshgrid(*x: Any, indexing: str = "xy") -> list[Tensor]:
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for `indexing` are 'xy' and 'ij'. Received: indexing={indexing}")
    vectors = [flat(_t(v)) for v in x]
    n = len(vectors)
    shapes = [v.shape[0] for v in vectors]
    if indexing == "xy" and n >= 2:
        shapes[0], shapes[1] = shapes[1], shapes[0]
    out = []
    for i, v in enumerate(vectors):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        shape = [1] * n
        shape[axis] = v.shape[0]
        out.append(sg.broadcast_to(sg.reshape(v, tuple(shape)), tuple(shapes)))
    return out


@keras_op
def vander(x: Any, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803  (Keras' name)
    x = _t(x)
    n = static_size(x.shape[0], "vander") if N is None else N
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return sg.power(sg.expand_dims(x, -1), sg.constant(powers.astype(x.dtype)))


# ---------------------------------------------------------------------------- elementwise


def _unary(name: str, fn: Callable[[Tensor], Tensor], float_math: bool = True) -> Callable[..., Any]:
    def op(x: Any) -> Tensor:
        t = _t(x)
        return fn(floatx_of(t) if float_math else t)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (Keras' ``ops.{name}``)."
    return keras_op(op)


def _binary(name: str, fn: Callable[[Any, Any], Tensor]) -> Callable[..., Any]:
    def op(x1: Any, x2: Any) -> Tensor:
        return fn(*pair(x1, x2))

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} of two broadcast operands (Keras' ``ops.{name}``)."
    return keras_op(op)


def _abs(x: Tensor) -> Tensor:
    return x if x.dtype == _BOOL else sg.abs(x)


abs = _unary("abs", _abs, float_math=False)  # noqa: A001  (Keras' name)
absolute = alias("absolute", abs)
fabs = _unary("fabs", lambda x: sg.abs(x))
negative = _unary("negative", lambda x: sg.negative(x), float_math=False)
sign = _unary("sign", lambda x: sg.sign(x), float_math=False)
square = _unary("square", lambda x: sg.square(x), float_math=False)
sqrt = _unary("sqrt", lambda x: sg.sqrt(x))
exp = _unary("exp", lambda x: sg.exp(x))
expm1 = _unary("expm1", lambda x: sg.expm1(x))
exp2 = _unary("exp2", lambda x: sg.exp(x * math.log(2.0)))
log = _unary("log", lambda x: sg.log(x))
log1p = _unary("log1p", lambda x: sg.log1p(x))
log2 = _unary("log2", lambda x: sg.log(x) * (1.0 / math.log(2.0)))
log10 = _unary("log10", lambda x: sg.log(x) * (1.0 / math.log(10.0)))
sin = _unary("sin", lambda x: sg.sin(x))
cos = _unary("cos", lambda x: sg.cos(x))
tan = _unary("tan", lambda x: sg.tan(x))
arcsin = _unary("arcsin", lambda x: sg.arcsin(x))
arccos = _unary("arccos", lambda x: sg.arccos(x))
arctan = _unary("arctan", lambda x: sg.arctan(x))
sinh = _unary("sinh", lambda x: sg.sinh(x))
cosh = _unary("cosh", lambda x: sg.cosh(x))
tanh = _unary("tanh", lambda x: sg.tanh(x))
reciprocal = _unary("reciprocal", lambda x: sg.reciprocal(x))
deg2rad = _unary("deg2rad", lambda x: x * (math.pi / 180.0))
rad2deg = _unary("rad2deg", lambda x: x * (180.0 / math.pi))
# arcsinh through |x| keeps large negative x accurate (log of a cancellation otherwise)
arcsinh = _unary("arcsinh", lambda x: sg.sign(x) * sg.log(sg.abs(x) + sg.sqrt(sg.square(x) + 1.0)))
arccosh = _unary("arccosh", lambda x: sg.log(x + sg.sqrt(x - 1.0) * sg.sqrt(x + 1.0)))
arctanh = _unary("arctanh", lambda x: 0.5 * (sg.log1p(x) - sg.log1p(-x)))
cbrt = _unary("cbrt", lambda x: sg.sign(x) * sg.power(sg.abs(x), 1.0 / 3.0))
sinc = _unary(
    "sinc",
    lambda x: sg.where(sg.equal(x, 0.0), 1.0, sg.sin(math.pi * x) / (math.pi * sg.where(sg.equal(x, 0.0), 1.0, x))),
)


def _rounding(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    # integers are their own floor/ceil/trunc: numpy (and Keras) keep their dtype
    return lambda x: x if x.dtype.kind in "iub" else fn(x)


floor = _unary("floor", _rounding(lambda x: sg.floor(x)), float_math=False)
ceil = _unary("ceil", _rounding(lambda x: sg.ceil(x)), float_math=False)
trunc = _unary("trunc", _rounding(lambda x: sg.where(x < 0, sg.ceil(x), sg.floor(x))), float_math=False)


@keras_op
def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001  (Keras' name)
    """Half to even, as numpy (scaled by 10**decimals first)."""
    x = _t(x)
    if x.dtype.kind in "iub":
        if decimals >= 0:
            return x
        scale = 10 ** (-decimals)
        return cast_to(sg.round(sg.cast(x, "float64") / scale) * scale, x.dtype)
    if decimals == 0:
        return sg.round(x)
    scale = 10.0**decimals
    return sg.round(x * scale) / scale


add = _binary("add", lambda a, b: sg.add(a, b))
subtract = _binary("subtract", lambda a, b: sg.subtract(a, b))
multiply = _binary("multiply", lambda a, b: sg.multiply(a, b))
maximum = _binary("maximum", lambda a, b: sg.maximum(a, b))
minimum = _binary("minimum", lambda a, b: sg.minimum(a, b))
mod = _binary("mod", lambda a, b: sg.mod(a, b))
floor_divide = _binary("floor_divide", lambda a, b: sg.floor_divide(a, b))
equal = _binary("equal", lambda a, b: sg.equal(a, b))
not_equal = _binary("not_equal", lambda a, b: sg.not_equal(a, b))
greater = _binary("greater", lambda a, b: sg.greater(a, b))
greater_equal = _binary("greater_equal", lambda a, b: sg.greater_equal(a, b))
less = _binary("less", lambda a, b: sg.less(a, b))
less_equal = _binary("less_equal", lambda a, b: sg.less_equal(a, b))


def _float_pair(x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    a, b = pair(x1, x2)
    a = floatx_of(_t(a)) if not is_weak(a) else a
    b = floatx_of(_t(b)) if not is_weak(b) else b
    if is_weak(a):
        a = sg.constant(np.asarray(a, b.dtype))
    if is_weak(b):
        b = sg.constant(np.asarray(b, a.dtype))
    return a, b


@keras_op
def divide(x1: Any, x2: Any) -> Tensor:
    return sg.true_divide(*_float_pair(x1, x2))


true_divide = alias("true_divide", divide)


@keras_op
def divide_no_nan(x1: Any, x2: Any) -> Tensor:
    """x1 / x2, and 0 where x2 is 0."""
    a, b = _float_pair(x1, x2)
    zero = sg.equal(b, 0)
    return sg.where(zero, 0, sg.true_divide(a, sg.where(zero, 1, b)))


@keras_op
def power(x1: Any, x2: Any) -> Tensor:
    return sg.power(*pair(x1, x2))


def _logical(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Any, Any], Tensor]:
    return lambda a, b: fn(sg.cast(_t(a), _BOOL), sg.cast(_t(b), _BOOL))


logical_and = _binary("logical_and", _logical(sg.logical_and))
logical_or = _binary("logical_or", _logical(sg.logical_or))
logical_xor = _binary("logical_xor", _logical(sg.logical_xor))
logical_not = _unary("logical_not", lambda x: sg.logical_not(sg.cast(x, _BOOL)), float_math=False)


@keras_op
def arctan2(x1: Any, x2: Any) -> Tensor:
    """The angle of (x2, x1), by quadrant (numpy's arctan2, signed zeros aside)."""
    y, x = _float_pair(x1, x2)
    safe_x = sg.where(sg.equal(x, 0), 1, x)
    base = sg.arctan(y / safe_x)
    pi = math.pi
    left = sg.where(y >= 0, base + pi, base - pi)
    axis_value = sg.where(y > 0, pi / 2, sg.where(y < 0, -pi / 2, 0.0))
    return sg.where(sg.equal(x, 0), axis_value, sg.where(x > 0, base, left))


@keras_op
def hypot(x1: Any, x2: Any) -> Tensor:
    """sqrt(x1**2 + x2**2), scaled by the larger so it does not overflow."""
    a, b = _float_pair(x1, x2)
    a, b = sg.abs(a), sg.abs(b)
    big, small = sg.maximum(a, b), sg.minimum(a, b)
    ratio = small / sg.where(sg.equal(big, 0), 1, big)
    return big * sg.sqrt(1.0 + ratio * ratio)


@keras_op
def logaddexp(x1: Any, x2: Any) -> Tensor:
    """log(exp(x1) + exp(x2)) without overflow."""
    a, b = _float_pair(x1, x2)
    big = sg.maximum(a, b)
    same = sg.equal(a, b)  # equal infinities: the difference below would be NaN
    diff = sg.where(same, 0, sg.abs(a - b))
    return sg.where(same, a + math.log(2.0), big + sg.log1p(sg.exp(-diff)))


@keras_op
def logaddexp2(x1: Any, x2: Any) -> Tensor:
    a, b = _float_pair(x1, x2)
    big = sg.maximum(a, b)
    same = sg.equal(a, b)
    diff = sg.where(same, 0, sg.abs(a - b))
    return sg.where(same, a + 1.0, big + sg.log1p(sg.exp(-diff * math.log(2.0))) / math.log(2.0))


@keras_op
def fmax(x1: Any, x2: Any) -> Tensor:
    """maximum ignoring NaN (the other operand wins)."""
    a, b = pair(x1, x2)
    a, b = _t(a), _t(b)
    if a.dtype.kind != "f":
        return sg.maximum(a, b)
    return sg.where(sg.isnan(a), b, sg.where(sg.isnan(b), a, sg.maximum(a, b)))


@keras_op
def fmin(x1: Any, x2: Any) -> Tensor:
    a, b = pair(x1, x2)
    a, b = _t(a), _t(b)
    if a.dtype.kind != "f":
        return sg.minimum(a, b)
    return sg.where(sg.isnan(a), b, sg.where(sg.isnan(b), a, sg.minimum(a, b)))


@keras_op
def fmod(x1: Any, x2: Any) -> Tensor:
    """C's remainder: the sign of the dividend (``mod`` takes the divisor's)."""
    a, b = pair(x1, x2)
    a, b = _t(a), _t(b)
    r = sg.mod(a, b)
    wrong_sign = sg.logical_and(sg.not_equal(r, 0), sg.not_equal(r < 0, a < 0))
    return sg.where(wrong_sign, r - b, r)


@keras_op
def heaviside(x1: Any, x2: Any) -> Tensor:
    a, b = pair(x1, x2)
    a = _t(a)
    b = _t(b) if not is_weak(b) else b
    dt = result_type(a.dtype, b.dtype) if isinstance(b, Tensor) else a.dtype
    if dt.kind in "iub":
        dt = np.dtype(backend.floatx())
    out = sg.where(a < 0, 0, sg.where(a > 0, 1, b))
    return cast_to(out, dt)


@keras_op
def ldexp(x1: Any, x2: Any) -> Tensor:
    x = floatx_of(_t(x1))
    e = _t(x2)
    if e.dtype.kind not in "iu":
        raise DTypeError(f"ldexp: the exponent must be an integer, got {e.dtype.name}")
    return x * sg.power(sg.constant(np.asarray(2.0, x.dtype)), sg.cast(e, x.dtype))


@keras_op
def nextafter(x1: Any, x2: Any) -> Tensor:
    """The next float after x1 towards x2, from exact powers of two (symgraph has no
    bit casts): the spacing at |x1| is 2**(exponent - mantissa bits)."""
    x, y = _float_pair(x1, x2)
    mant, min_exp = (23, -126) if x.dtype == np.float32 else (52, -1022)
    two = sg.constant(np.asarray(2.0, x.dtype))
    ax = sg.abs(x)
    safe = sg.where(sg.equal(ax, 0), 1, ax)
    e = sg.floor(sg.log(safe) * (1.0 / math.log(2.0)))
    e = sg.where(sg.power(two, e) > safe, e - 1, e)  # log's rounding may miss a power by one
    e = sg.where(sg.power(two, e + 1) <= safe, e + 1, e)
    e = sg.maximum(e, min_exp)
    ulp = sg.power(two, e - mant)
    on_power = sg.logical_and(sg.equal(ax, sg.power(two, e)), e > min_exp)
    up = y > x  # the direction of the step
    away = sg.equal(up, x > 0)  # towards larger magnitude
    step = sg.where(away, ulp, sg.where(on_power, ulp / 2, ulp))
    moved = x + sg.where(up, step, -step)
    tiny = sg.power(two, sg.constant(np.asarray(min_exp - mant, x.dtype)))
    from_zero = sg.where(up, tiny, -tiny)
    out = sg.where(sg.equal(x, 0), from_zero, moved)
    out = sg.where(sg.equal(x, y), y, out)
    return sg.where(sg.logical_or(sg.isnan(x), sg.isnan(y)), x + y, out)


@keras_op
def i0(x: Any) -> Tensor:
    """The modified Bessel function of order 0, by Abramowitz & Stegun 9.8.1 and 9.8.2
    (relative error below 2e-7: float32's precision)."""
    x = floatx_of(_t(x))
    ax = sg.abs(x)
    t = sg.square(sg.minimum(ax, 3.75) / 3.75)
    near = 0.0045813
    for c in (0.0360768, 0.2659732, 1.2067492, 3.0899424, 3.5156229, 1.0):
        near = near * t + c
    u = 3.75 / sg.maximum(ax, 3.75)
    far = 0.00392377
    for c in (-0.01647633, 0.02635537, -0.02057706, 0.00916281, -0.00157565, 0.00225319, 0.01328592, 0.39894228):
        far = far * u + c
    far = far * sg.exp(ax) / sg.sqrt(sg.maximum(ax, 3.75))
    return sg.where(ax <= 3.75, near, far)


@keras_op
def signbit(x: Any) -> Tensor:
    """x < 0, and True for -0.0 (told from +0.0 by the sign of its reciprocal)."""
    x = _t(x)
    if x.dtype.kind != "f":
        return x < 0 if x.dtype.kind == "i" else sg.zeros_like(x, _BOOL)
    zero = sg.equal(x, 0)
    return sg.where(zero, sg.reciprocal(sg.where(zero, x, 1)) < 0, x < 0)


@keras_op
def clip(x: Any, x_min: Any, x_max: Any) -> Tensor:
    x = _t(x)
    if x.dtype == _BOOL:
        x = sg.cast(x, _INT32)
    return sg.clip(x, x_min, x_max)


@keras_op
def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    x = _t(x)
    if x.dtype.kind != "f":
        return x
    info = np.finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    x = sg.where(sg.isnan(x), nan, x)
    x = sg.where(sg.equal(x, np.inf), sg.constant(np.asarray(hi, x.dtype)), x)
    return sg.where(sg.equal(x, -np.inf), sg.constant(np.asarray(lo, x.dtype)), x)


def _isinf(x: Tensor) -> Tensor:
    if x.dtype.kind != "f":
        return sg.zeros_like(x, _BOOL)
    return sg.equal(sg.abs(x), np.inf)


isnan = _unary("isnan", lambda x: sg.isnan(x) if x.dtype.kind == "f" else sg.zeros_like(x, _BOOL), False)
isfinite = _unary("isfinite", lambda x: sg.isfinite(x) if x.dtype.kind == "f" else sg.ones_like(x, _BOOL), False)
isinf = _unary("isinf", _isinf, float_math=False)
isposinf = _unary("isposinf", lambda x: sg.equal(x, np.inf) if x.dtype.kind == "f" else sg.zeros_like(x, _BOOL), False)
isneginf = _unary("isneginf", lambda x: sg.equal(x, -np.inf) if x.dtype.kind == "f" else sg.zeros_like(x, _BOOL), False)
# symgraph has no complex dtype: every tensor is real, so these are the real-number cases
real = _unary("real", lambda x: sg.identity(x), float_math=False)
imag = _unary("imag", lambda x: sg.zeros_like(x), float_math=False)
conj = _unary("conj", lambda x: sg.identity(x), float_math=False)
conjugate = alias("conjugate", conj)
isreal = _unary("isreal", lambda x: sg.ones_like(x, _BOOL), float_math=False)
copy = _unary("copy", lambda x: sg.identity(x), float_math=False)


@keras_op
def angle(x: Any) -> Tensor:
    """The argument of a real number: pi for negatives, 0 otherwise."""
    x = floatx_of(_t(x))
    return sg.where(signbit(x), math.pi, 0.0) + sg.zeros_like(x)


@keras_op
def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    a, b = pair(x1, x2)
    a, b = floatx_of(_t(a)), floatx_of(_t(b))
    close = sg.less_equal(sg.abs(a - b), atol + rtol * sg.abs(b))
    close = sg.logical_or(close, sg.equal(a, b))  # equal infinities
    if equal_nan:
        close = sg.logical_or(close, sg.logical_and(sg.isnan(a), sg.isnan(b)))
    return close


@keras_op
def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    return sg.all(isclose(x1, x2, rtol, atol, equal_nan))


# ---------------------------------------------------------------------------- integers


def _bits(dtype: np.dtype) -> int:
    return dtype.itemsize * 8


def _bitwise(a: Tensor, b: Tensor, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """A bitwise op on integers from their bits (symgraph has no bitwise ops): bit k of
    ``a`` is floor(a / 2**k) mod 2, two's complement included; the top bit weighs
    -2**(n-1) in a signed type."""
    dt = a.dtype
    n = _bits(dt)
    out = None
    for k in range(n):
        weight = -(2 ** (n - 1)) if (k == n - 1 and dt.kind == "i") else 2**k
        div = sg.constant(np.asarray(2**k, dt)) if 2**k <= np.iinfo(dt).max else None
        if div is None:  # 2**(n-1) does not fit a signed type: the sign is the top bit
            bit_a, bit_b = sg.cast(a < 0, dt), sg.cast(b < 0, dt)
        else:
            bit_a = sg.mod(sg.floor_divide(a, div), 2)
            bit_b = sg.mod(sg.floor_divide(b, div), 2)
        term = combine(bit_a, bit_b) * sg.constant(np.asarray(weight, dt))
        out = term if out is None else out + term
    return out


def _int_pair(name: str, x: Any, y: Any) -> tuple[Tensor, Tensor]:
    a, b = pair(x, y)
    a, b = _t(a), _t(b)
    if a.dtype != b.dtype:
        dt = result_type(a.dtype, b.dtype)
        a, b = cast_to(a, dt), cast_to(b, dt)
    if a.dtype.kind not in "iub":
        raise DTypeError(f"keras.ops.{name}: integer or bool operands are needed, got {a.dtype.name}")
    return a, b


def _bitwise_op(name: str, combine: Callable[[Tensor, Tensor], Tensor], boolean: Callable) -> Callable[..., Any]:
    def op(x: Any, y: Any) -> Tensor:
        a, b = _int_pair(name, x, y)
        if a.dtype == _BOOL:
            return boolean(a, b)
        return _bitwise(a, b, combine)

    op.__name__ = name
    op.__doc__ = f"Bitwise {name[8:]} of integers (from their bits; symgraph has no bitwise ops)."
    return keras_op(op)


bitwise_and = _bitwise_op("bitwise_and", lambda p, q: p * q, sg.logical_and)
bitwise_or = _bitwise_op("bitwise_or", lambda p, q: p + q - p * q, sg.logical_or)
bitwise_xor = _bitwise_op("bitwise_xor", lambda p, q: p + q - 2 * p * q, sg.logical_xor)


@keras_op
def bitwise_invert(x: Any) -> Tensor:
    x = _t(x)
    if x.dtype == _BOOL:
        return sg.logical_not(x)
    if x.dtype.kind == "u":
        return sg.constant(np.asarray(np.iinfo(x.dtype).max, x.dtype)) - x
    if x.dtype.kind != "i":
        raise DTypeError(f"keras.ops.bitwise_invert: integer or bool operands are needed, got {x.dtype.name}")
    return -x - 1


bitwise_not = alias("bitwise_not", bitwise_invert)


@keras_op
def bitwise_left_shift(x: Any, y: Any) -> Tensor:
    """x * 2**y (bits shifted past the width are lost, as in numpy)."""
    a, b = _int_pair("bitwise_left_shift", x, y)
    n = _bits(a.dtype)
    shift = sg.clip(b, 0, n - 1)
    big = sg.greater_equal(b, n)
    shifted = a * sg.power(sg.constant(np.asarray(2, a.dtype)), shift)
    return sg.where(big, sg.zeros_like(a), shifted)


@keras_op
def bitwise_right_shift(x: Any, y: Any) -> Tensor:
    """floor(x / 2**y): numpy's arithmetic shift for signed types."""
    a, b = _int_pair("bitwise_right_shift", x, y)
    n = _bits(a.dtype)
    limit = n - 2 if a.dtype.kind == "i" else n - 1
    shift = sg.clip(b, 0, limit)
    out = sg.floor_divide(a, sg.power(sg.constant(np.asarray(2, a.dtype)), shift))
    # a shift by the width or more leaves the sign (0 or -1)
    return sg.where(sg.greater(b, limit), sg.floor_divide(out, 2) if limit < n - 1 else sg.zeros_like(a), out)


left_shift = alias("left_shift", bitwise_left_shift)
right_shift = alias("right_shift", bitwise_right_shift)


def _euclid_steps(dtype: np.dtype) -> int:
    # Lamé: Euclid on n-bit numbers takes at most about 1.44 * n steps (Fibonacci pairs)
    return int(math.ceil(_bits(dtype) * 1.45)) + 2


@keras_op
def gcd(x1: Any, x2: Any) -> Tensor:
    """Euclid's algorithm for the most steps the dtype's numbers need, as an ``sg.scan``
    (a loop in C: unrolled, the fused elementwise kernel would grow with every step)."""
    a, b = _int_pair("gcd", x1, x2)
    a, b = sg.abs(a), sg.abs(b)

    def step(a: Tensor, b: Tensor) -> list[Tensor]:
        zero = sg.equal(b, 0)
        r = sg.mod(a, sg.where(zero, 1, b))
        return [sg.where(zero, a, b), sg.where(zero, 0, r)]

    outs, _ = sg.scan(step, outputs_info=[a, b], n_steps=_euclid_steps(a.dtype), return_list=True)
    return outs[0][-1]


@keras_op
def lcm(x1: Any, x2: Any) -> Tensor:
    a, b = _int_pair("lcm", x1, x2)
    g = gcd(a, b)
    safe = sg.where(sg.equal(g, 0), 1, g)
    return sg.abs(sg.floor_divide(a, safe) * b)


# ---------------------------------------------------------------------------- reductions


def _reduction_dtype(x: Tensor) -> Tensor:
    # Keras sums bools and small integers in int32 (numpy would give int64)
    if x.dtype == _BOOL or (x.dtype.kind == "i" and x.dtype.itemsize < 4):
        return sg.cast(x, _INT32)
    if x.dtype == np.uint8:
        return sg.cast(x, _INT32)
    return x


@keras_op
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001  (Keras' name)
    x = _reduction_dtype(_t(x))
    return cast_to(sg.sum(x, axis_arg(axis), keepdims=keepdims), x.dtype)


@keras_op
def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    x = _reduction_dtype(_t(x))
    dt = standardize_dtype(dtype)
    if dt is not None:
        x = cast_to(x, dt)
    return cast_to(sg.prod(x, axis_arg(axis), keepdims=keepdims), x.dtype)


@keras_op
def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.mean(floatx_of(_t(x)), axis_arg(axis), keepdims=keepdims)


@keras_op
def var(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.var(floatx_of(_t(x)), axis_arg(axis), keepdims=keepdims)


@keras_op
def std(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.std(floatx_of(_t(x)), axis_arg(axis), keepdims=keepdims)


def _extreme(fn: Callable[..., Tensor], combine: Callable[[Tensor, Tensor], Tensor]) -> Callable[..., Tensor]:
    def reduce(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:
        x = _t(x)
        out = fn(x, axis_arg(axis), keepdims=keepdims)
        return out if initial is None else combine(out, cast_to(_t(initial), out.dtype))

    return reduce


max = keras_op(_extreme(sg.max, sg.maximum), name="max")  # noqa: A001  (Keras' name)
min = keras_op(_extreme(sg.min, sg.minimum), name="min")  # noqa: A001  (Keras' name)


@keras_op
def amax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.max(_t(x), axis_arg(axis), keepdims=keepdims)


@keras_op
def amin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.min(_t(x), axis_arg(axis), keepdims=keepdims)


@keras_op
def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    ax = axis_arg(axis)
    return sg.max(x, ax, keepdims=keepdims) - sg.min(x, ax, keepdims=keepdims)


@keras_op
def all(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001  (Keras' name)
    return sg.all(sg.cast(_t(x), _BOOL), axis_arg(axis), keepdims=keepdims)


@keras_op
def any(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001  (Keras' name)
    return sg.any(sg.cast(_t(x), _BOOL), axis_arg(axis), keepdims=keepdims)


@keras_op
def count_nonzero(x: Any, axis: Any = None) -> Tensor:
    return count_true(sg.not_equal(_t(x), 0), axis_arg(axis))


@keras_op
def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _int32(sg.argmax(_t(x), axis, keepdims=keepdims))


@keras_op
def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _int32(sg.argmin(_t(x), axis, keepdims=keepdims))


@keras_op
def average(x: Any, axis: int | None = None, weights: Any = None) -> Tensor:
    x = floatx_of(_t(x))
    if weights is None:
        return sg.mean(x, axis)
    w = cast_to(_t(weights), x.dtype)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis % x.ndim] = w.shape[0]
        w = sg.reshape(w, tuple(shape))
    w = sg.broadcast_to(w, x.shape) if w.shape != x.shape else w
    return sg.sum(x * w, axis) / sg.sum(w, axis)


def _quantile_core(x: Tensor, q: Any, axis: Any, method: str, keepdims: bool, nan_aware: bool) -> Tensor:
    """Quantiles along ``axis`` by sorting: numpy's methods on the sorted values, the
    NaN-aware ones counting only the numbers (NaN sorts last)."""
    if method not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"Invalid method: {method!r}; expected linear, lower, higher, midpoint or nearest")
    x = floatx_of(x)
    ndim = x.ndim
    axes = axes_tuple(axis, ndim)
    kept = [a for a in range(ndim) if a not in axes]
    moved = sg.transpose(x, (*kept, *axes)) if axes else x
    lead = tuple(x.shape[a] for a in kept)
    n = math.prod(static_size(x.shape[a], "quantile") for a in axes)
    rows = sg.reshape(moved, (*lead, n))
    ordered = sg.sort(rows, axis=-1)
    qs = _t(q)
    scalar_q = qs.ndim == 0
    qv = sg.reshape(cast_to(qs, "float64"), (-1,))
    if nan_aware:
        count = sg.sum(sg.cast(sg.logical_not(sg.isnan(rows)), "float64"), axis=-1, keepdims=True)
    else:
        count = sg.constant(np.asarray(float(n)))
    pos = qv * (count - 1.0)  # (..., nq)
    lo = sg.floor(pos)
    hi = sg.ceil(pos)
    if method == "lower":
        lo = hi = lo
    elif method == "higher":
        lo = hi = hi
    elif method == "nearest":
        lo = hi = sg.round(pos)
    last = sg.maximum(count - 1.0, 0.0)
    lo_i = sg.cast(sg.clip(lo, 0.0, last), "int64")
    hi_i = sg.cast(sg.clip(hi, 0.0, last), "int64")
    if not lead:
        lo_i, hi_i = sg.reshape(lo_i, (-1,)), sg.reshape(hi_i, (-1,))
    elif lo_i.ndim == 1:
        lo_i = sg.broadcast_to(lo_i, (*lead, lo_i.shape[0]))
        hi_i = sg.broadcast_to(hi_i, (*lead, hi_i.shape[0]))
    a = sg.take_along_axis(ordered, lo_i, axis=-1)
    b = sg.take_along_axis(ordered, hi_i, axis=-1)
    if method == "midpoint":
        out = (a + b) / 2
    elif method == "linear":
        frac = cast_to(pos - lo, x.dtype)
        out = a + (b - a) * frac
    else:
        out = a
    if nan_aware:
        out = sg.where(sg.equal(sg.broadcast_to(count, out.shape), 0), np.nan, out)
    out = sg.moveaxis(out, -1, 0)  # (nq, *lead)
    if keepdims:
        shape = list(x.shape)
        for a in axes:
            shape[a] = 1
        out = sg.reshape(out, (out.shape[0], *shape))
    if scalar_q:
        out = out[0]
    return cast_to(out, x.dtype)


@keras_op
def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), q, axis, method, keepdims, nan_aware=False)


@keras_op
def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), _t(q) / 100.0, axis, method, keepdims, nan_aware=False)


@keras_op
def median(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), 0.5, axis, "midpoint", keepdims, nan_aware=False)


@keras_op
def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), q, axis, method, keepdims, nan_aware=True)


@keras_op
def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), _t(q) / 100.0, axis, method, keepdims, nan_aware=True)


@keras_op
def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _quantile_core(_t(x), 0.5, axis, "midpoint", keepdims, nan_aware=True)


def _nan_mask(x: Tensor) -> Tensor:
    return sg.isnan(x) if x.dtype.kind == "f" else sg.zeros_like(x, _BOOL)


@keras_op
def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _reduction_dtype(_t(x))
    return sg.sum(sg.where(_nan_mask(x), 0, x), axis_arg(axis), keepdims=keepdims)


@keras_op
def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _reduction_dtype(_t(x))
    return sg.prod(sg.where(_nan_mask(x), 1, x), axis_arg(axis), keepdims=keepdims)


@keras_op
def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = floatx_of(_t(x))
    nan = _nan_mask(x)
    total = sg.sum(sg.where(nan, 0, x), axis_arg(axis), keepdims=keepdims)
    count = sg.sum(sg.cast(sg.logical_not(nan), x.dtype), axis_arg(axis), keepdims=keepdims)
    return total / count


@keras_op
def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = floatx_of(_t(x))
    nan = _nan_mask(x)
    ax = axis_arg(axis)
    count = sg.sum(sg.cast(sg.logical_not(nan), x.dtype), ax, keepdims=True)
    centre = sg.sum(sg.where(nan, 0, x), ax, keepdims=True) / count
    dev = sg.where(nan, 0, sg.square(x - centre))
    out = sg.sum(dev, ax, keepdims=True) / count
    return out if keepdims else sg.squeeze(out, ax if ax is not None else None)


@keras_op
def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return sg.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(reduce: Callable[..., Tensor], fill: float) -> Callable[..., Tensor]:
    def op(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
        x = _t(x)
        if x.dtype.kind != "f":
            return reduce(x, axis_arg(axis), keepdims=keepdims)
        nan = sg.isnan(x)
        out = reduce(sg.where(nan, fill, x), axis_arg(axis), keepdims=keepdims)
        return sg.where(sg.all(nan, axis_arg(axis), keepdims=keepdims), np.nan, out)

    return op


nanmax = keras_op(_nan_extreme(sg.max, -np.inf), name="nanmax")
nanmin = keras_op(_nan_extreme(sg.min, np.inf), name="nanmin")


@keras_op
def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if x.dtype.kind == "f":
        x = sg.where(sg.isnan(x), -np.inf, x)
    return _int32(sg.argmax(x, axis, keepdims=keepdims))


@keras_op
def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if x.dtype.kind == "f":
        x = sg.where(sg.isnan(x), np.inf, x)
    return _int32(sg.argmin(x, axis, keepdims=keepdims))


def _cumulative(fn: Callable[..., Tensor], neutral: int) -> Callable[..., Any]:
    def op(x: Any, axis: int | None = None, dtype: Any = None, nan: bool = False) -> Tensor:
        x = _reduction_dtype(_t(x))
        dt = standardize_dtype(dtype)
        if dt is not None:
            x = cast_to(x, dt)
        if nan and x.dtype.kind == "f":
            x = sg.where(sg.isnan(x), neutral, x)
        return cast_to(fn(x, axis), x.dtype)

    return op


_cumsum, _cumprod = _cumulative(sg.cumsum, 0), _cumulative(sg.cumprod, 1)


@keras_op
def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    return _cumsum(x, axis, dtype)


@keras_op
def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    return _cumprod(x, axis, dtype)


@keras_op
def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    return _cumsum(x, axis, dtype, nan=True)


@keras_op
def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    return _cumprod(x, axis, dtype, nan=True)


# ---------------------------------------------------------------------------- shapes


@keras_op
def reshape(x: Any, newshape: Any) -> Tensor:
    return sg.reshape(_t(x), _shape_arg(newshape))


@keras_op
def ravel(x: Any) -> Tensor:
    return flat(_t(x))


@keras_op
def transpose(x: Any, axes: Any = None) -> Tensor:
    return sg.transpose(_t(x), None if axes is None else tuple(axes))


@keras_op
def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    return sg.swapaxes(_t(x), axis1, axis2)


@keras_op
def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    src = tuple(source) if isinstance(source, (list, tuple)) else source
    dst = tuple(destination) if isinstance(destination, (list, tuple)) else destination
    return sg.moveaxis(_t(x), src, dst)


@keras_op
def expand_dims(x: Any, axis: Any) -> Tensor:
    return sg.expand_dims(_t(x), axis_arg(axis))


@keras_op
def squeeze(x: Any, axis: Any = None) -> Tensor:
    return sg.squeeze(_t(x), axis_arg(axis))


@keras_op
def broadcast_to(x: Any, shape: Any) -> Tensor:
    return sg.broadcast_to(_t(x), _shape_arg(shape))


def _common(xs: Sequence[Any]) -> list[Tensor]:
    """Tensors of one dtype, Keras' promotion over all of them."""
    parts = [_t(x) for x in xs]
    if not parts:
        raise InputError("keras.ops: expected at least one tensor")
    dt = result_type(*(p.dtype for p in parts))
    return [cast_to(p, dt) for p in parts]


@keras_op
def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Tensor:
    parts = _common(xs)
    if axis is None:
        return sg.concatenate([flat(p) for p in parts], axis=0)
    return sg.concatenate(parts, axis=axis)


@keras_op
def append(x1: Any, x2: Any, axis: int | None = None) -> Tensor:
    a, b = _common([x1, x2])
    if axis is None:
        return sg.concatenate([flat(a), flat(b)], axis=0)
    return sg.concatenate([a, b], axis=axis)


@keras_op
def stack(x: Sequence[Any], axis: int = 0) -> Tensor:
    return sg.stack(_common(x), axis=axis)


def _at_least(x: Tensor, rank: int) -> Tensor:
    if x.ndim >= rank:
        return x
    if rank == 2:
        return sg.reshape(x, (1, -1)) if x.ndim <= 1 else x
    if x.ndim == 0:
        return sg.reshape(x, (1, 1, 1))
    if x.ndim == 1:
        return sg.reshape(x, (1, x.shape[0], 1))
    return sg.expand_dims(x, -1)


@keras_op
def hstack(xs: Sequence[Any]) -> Tensor:
    parts = _common(xs)
    if builtins.all(p.ndim <= 1 for p in parts):
        return sg.concatenate([sg.reshape(p, (-1,)) for p in parts], axis=0)
    return sg.concatenate(parts, axis=1)


@keras_op
def vstack(xs: Sequence[Any]) -> Tensor:
    return sg.concatenate([_at_least(p, 2) for p in _common(xs)], axis=0)


@keras_op
def dstack(xs: Sequence[Any]) -> Tensor:
    return sg.concatenate([_at_least(p, 3) for p in _common(xs)], axis=2)


def _split(x: Tensor, indices_or_sections: Any, axis: int, even: bool) -> list[Tensor]:
    """numpy's split (``even``) and array_split."""
    n = static_size(x.shape[axis], "split")
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % k:
            raise ValueError("array split does not result in an equal division")
        size, extra = divmod(n, k)
        sizes = [size + 1] * extra + [size] * (k - extra)
        bounds = list(np.cumsum(sizes)[:-1])
    else:
        bounds = [int(i) for i in indices_or_sections]
    edges = [0, *[builtins.min(builtins.max(b if b >= 0 else b + n, 0), n) for b in bounds], n]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        index = [slice(None)] * x.ndim
        index[axis] = slice(lo, builtins.max(lo, hi))
        out.append(x[tuple(index)])
    return out


@keras_op
def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    x = _t(x)
    return _split(x, indices_or_sections, axis % x.ndim, even=True)


@keras_op
def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    x = _t(x)
    return _split(x, indices_or_sections, axis % x.ndim, even=False)


@keras_op
def hsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    x = _t(x)
    return _split(x, indices_or_sections, 0 if x.ndim == 1 else 1, even=True)


@keras_op
def vsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    return _split(_t(x), indices_or_sections, 0, even=True)


@keras_op
def dsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    return _split(_t(x), indices_or_sections, 2, even=True)


@keras_op
def tile(x: Any, repeats: Any) -> Tensor:
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    return sg.tile(_t(x), reps)


@keras_op
def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    if isinstance(repeats, Tensor):
        now = value_now(repeats)
        if now is None:
            raise UnsupportedError("keras.ops.repeat: repeats must be known when the graph is built")
        repeats = now.tolist()
    return sg.repeat(_t(x), repeats, axis)


@keras_op
def flip(x: Any, axis: Any = None) -> Tensor:
    return sg.flip(_t(x), axis_arg(axis))


@keras_op
def fliplr(x: Any) -> Tensor:
    return sg.flip(_t(x), 1)


@keras_op
def flipud(x: Any) -> Tensor:
    return sg.flip(_t(x), 0)


@keras_op
def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    x = _t(array)
    a0, a1 = (a % x.ndim for a in axes)
    if a0 == a1:
        raise ValueError(f"Axes must be different, got {axes}")
    k %= 4
    if k == 0:
        return sg.identity(x)
    if k == 2:
        return sg.flip(x, (a0, a1))
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return sg.transpose(sg.flip(x, a1), tuple(perm))
    return sg.flip(sg.transpose(x, tuple(perm)), a1)


@keras_op
def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    x = _t(x)
    if axis is None:
        return sg.reshape(roll(flat(x), shift, 0), x.shape)
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for s, a in zip(shifts, axes):
        a %= x.ndim
        n = static_size(x.shape[a], "roll")
        s = int(s) % n if n else 0
        if s:
            lo = [slice(None)] * x.ndim
            hi = [slice(None)] * x.ndim
            lo[a], hi[a] = slice(n - s, n), slice(0, n - s)
            x = sg.concatenate([x[tuple(lo)], x[tuple(hi)]], axis=a)
    return x


@keras_op
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Tensor:
    x = _t(x)
    if mode != "constant" and constant_values is not None:
        raise ValueError(
            f"Argument `constant_values` can only be provided when `mode == 'constant'`. Received: mode={mode}"
        )
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    if mode in ("edge", "reflect", "symmetric"):
        return sg.pad(x, [tuple(w) for w in widths], mode=mode)
    if mode != "constant":
        raise UnsupportedError(f"keras.ops.pad: mode {mode!r} is not supported (constant, edge, reflect, symmetric)")
    fill = 0 if constant_values is None else constant_values
    return sg.pad(x, [tuple(w) for w in widths], mode="constant", constant_values=fill)


@keras_op
def ndim(x: Any) -> int:
    return _t(x).ndim


@keras_op
def size(x: Any) -> Any:
    return _t(x).size


# ---------------------------------------------------------------------------- indexing


@keras_op
def get_item(x: Any, key: Any) -> Tensor:
    return _t(x)[key]


@keras_op
def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    idx = _t(indices)
    if idx.dtype.kind not in "iu":
        idx = sg.cast(idx, _INT32)
    return sg.take(_t(x), idx, axis=axis)


@keras_op
def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    x, idx = _t(x), _t(indices)
    if axis is None:
        return sg.take_along_axis(flat(x), flat(idx), axis=0)
    shape = broadcast_shapes(
        tuple(1 if i == axis % x.ndim else d for i, d in enumerate(x.shape)),
        tuple(1 if i == axis % x.ndim else d for i, d in enumerate(idx.shape)),
    )
    xs = list(shape)
    xs[axis % x.ndim] = x.shape[axis]
    ids = list(shape)
    ids[axis % x.ndim] = idx.shape[axis]
    if tuple(xs) != x.shape:
        x = sg.broadcast_to(x, tuple(xs))
    if tuple(ids) != idx.shape:
        idx = sg.broadcast_to(idx, tuple(ids))
    idx = sg.where(idx < 0, idx + x.shape[axis], idx)
    return sg.take_along_axis(x, idx, axis=axis)


@keras_op
def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    if (x1 is None) != (x2 is None):
        raise ValueError("`x1` and `x2` either both should be `None` or both should have non-None value.")
    if x1 is None:
        return nonzero(condition)
    c = sg.cast(_t(condition), _BOOL)
    a, b = pair(x1, x2)
    return sg.where(c, a, b)


@keras_op
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Tensor:
    if len(condlist) != len(choicelist):
        raise ValueError("condlist and choicelist must have the same length")
    choices = _common([*choicelist, default])
    out = choices[-1]
    for cond, choice in zip(reversed(condlist), reversed(choices[:-1])):
        out = sg.where(sg.cast(_t(cond), _BOOL), choice, out)
    return out


@keras_op
def nonzero(x: Any) -> tuple[Tensor, ...]:
    """The indices of nonzero elements: a data-dependent shape, so on values known now
    only (eager tensors, arrays); in a graph it raises."""
    x = _t(x)
    value = value_now(x)
    if value is None:
        raise not_provided(
            "nonzero", "in a compiled graph (its result's shape depends on the data); call it on eager values"
        )
    return tuple(sg.constant(i.astype(_INT32)) for i in np.nonzero(value))


@keras_op
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    x = _t(x)
    a1, a2 = axis1 % x.ndim, axis2 % x.ndim
    moved = sg.moveaxis(x, (a1, a2), (-2, -1))
    n = static_size(moved.shape[-2], "diagonal")
    m = static_size(moved.shape[-1], "diagonal")
    rows = np.arange(builtins.max(0, -offset), n)
    cols = rows + offset
    keep = (cols >= 0) & (cols < m)
    rows, cols = rows[keep], cols[keep]
    lead = moved.shape[:-2]
    flat_idx = sg.constant((rows * m + cols).astype(np.int64))
    return sg.take(sg.reshape(moved, (*lead, n * m)), flat_idx, axis=-1)


@keras_op
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    d = diagonal(x, offset, axis1, axis2)
    return sg.sum(_reduction_dtype(d), axis=-1)


@keras_op
def diag(x: Any, k: int = 0) -> Tensor:
    x = _t(x)
    if x.ndim == 1:
        n = static_size(x.shape[0], "diag")
        size = n + builtins.abs(k)
        eye = np.zeros((n, size * size), dtype=np.bool_)
        for i in range(n):
            r, c = (i, i + k) if k >= 0 else (i - k, i)
            eye[i, r * size + c] = True
        mat = sg.sum(sg.where(sg.constant(eye), sg.expand_dims(x, 1), sg.zeros((), x.dtype)), axis=0)
        return sg.reshape(mat, (size, size))
    if x.ndim == 2:
        return diagonal(x, k, 0, 1)
    raise ValueError(f"diag: the input must be 1-D or 2-D, got rank {x.ndim}")


@keras_op
def diagflat(x: Any, k: int = 0) -> Tensor:
    return diag(flat(_t(x)), k)


def _triangle(x: Tensor, k: int, lower: bool) -> Tensor:
    n = static_size(x.shape[-2], "tril")
    m = static_size(x.shape[-1], "tril")
    mask = np.tri(n, m, k, dtype=bool)
    if not lower:
        mask = ~np.tri(n, m, k - 1, dtype=bool)
    return sg.where(sg.constant(mask), x, sg.zeros((), x.dtype))


@keras_op
def tril(x: Any, k: int = 0) -> Tensor:
    return _triangle(_t(x), k, lower=True)


@keras_op
def triu(x: Any, k: int = 0) -> Tensor:
    return _triangle(_t(x), k, lower=False)


@keras_op
def diff(a: Any, n: int = 1, axis: int = -1) -> Tensor:
    x = _t(a)
    ax = axis % x.ndim
    for _ in range(n):
        hi = [slice(None)] * x.ndim
        lo = [slice(None)] * x.ndim
        hi[ax], lo[ax] = slice(1, None), slice(None, -1)
        x = (x[tuple(hi)] != x[tuple(lo)]) if x.dtype == _BOOL else x[tuple(hi)] - x[tuple(lo)]
    return x


@keras_op
def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Tensor:
    """Where each value goes in the sorted 1-D sequence: how many elements lie before it."""
    seq, v = pair(sorted_sequence, values)
    seq, v = _t(seq), _t(v)
    if seq.ndim != 1:
        raise ValueError(f"`searchsorted` only supports 1-D sorted sequences, got rank {seq.ndim}")
    if side not in ("left", "right"):
        raise ValueError(f"`side` must be 'left' or 'right', got {side!r}")
    before = sg.less(seq, sg.expand_dims(v, -1)) if side == "left" else sg.less_equal(seq, sg.expand_dims(v, -1))
    return count_true(before, -1)


@keras_op
def digitize(x: Any, bins: Any) -> Tensor:
    """numpy's digitize (right=False) for increasing or decreasing bins."""
    xv, b = pair(x, bins)
    xv, b = _t(xv), flat(_t(b))
    bv = value_now(b)
    decreasing = bv is not None and bv.size > 1 and bv[0] > bv[-1]
    e = sg.expand_dims(xv, -1)
    hit = sg.less(e, b) if decreasing else sg.greater_equal(e, b)
    return count_true(hit, -1)


@keras_op
def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Tensor:
    a, b = pair(x1, x2)
    a, b = _t(a), flat(_t(b))
    found = sg.any(sg.equal(sg.expand_dims(a, -1), b), axis=-1)
    return sg.logical_not(found) if invert else found


@keras_op
def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """Counts per value (rows of a 2-D ``x`` counted apart). The length is
    max(x) + 1 (at least ``minlength``) on values known now; in a graph it is
    ``minlength``, and larger values are not counted."""
    if sparse:
        raise not_provided("bincount", "sparse=True (symgraph has no sparse tensors)")
    x = _t(x)
    if x.dtype.kind not in "iu":
        raise DTypeError(f"keras.ops.bincount: x must hold integers, got {x.dtype.name}")
    value = value_now(x)
    length = minlength
    if value is not None and value.size:
        length = builtins.max(int(value.max()) + 1, minlength)
    if length <= 0:
        raise UnsupportedError(
            "keras.ops.bincount: in a compiled graph the number of bins must be given as minlength > 0"
        )
    hot = sg.one_hot(x, length, dtype=backend.floatx() if weights is None else _t(weights).dtype)
    if weights is not None:
        w = _t(weights)
        hot = hot * sg.expand_dims(w, -1)
        return sg.sum(hot, axis=-2)
    return sg.cast(sg.sum(hot, axis=-2), _INT32)


@keras_op
def histogram(x: Any, bins: int = 10, range: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002  (Keras' name)
    """Counts of a 1-D ``x`` in ``bins`` equal bins over ``range`` (min..max by default)
    and the bin edges; the last bin includes its right edge, as numpy's."""
    x = floatx_of(flat(_t(x)))
    if range is None:
        lo, hi = sg.min(x), sg.max(x)
    else:
        lo, hi = sg.constant(np.asarray(range[0], x.dtype)), sg.constant(np.asarray(range[1], x.dtype))
    hi = sg.where(sg.equal(hi, lo), hi + 0.5, hi)
    lo = sg.where(sg.equal(sg.max(x), sg.min(x)) if range is None else sg.equal(hi, lo), lo - 0.5, lo)
    edges = lo + (hi - lo) * sg.constant(np.linspace(0.0, 1.0, bins + 1).astype(x.dtype))
    inside = sg.logical_and(x >= lo, x <= hi)
    # the bin by comparison with the edges themselves (a division could round across one)
    index = sg.sum(sg.cast(sg.greater_equal(sg.expand_dims(x, -1), edges[1:-1]), "int64"), axis=-1)
    counts = sg.sum(sg.cast(sg.one_hot(index, bins), _INT32) * sg.cast(sg.expand_dims(inside, -1), _INT32), axis=0)
    return counts, edges


@keras_op
def unravel_index(indices: Any, shape: Any) -> tuple[Tensor, ...]:
    idx = _t(indices)
    dims = tuple(int(d) for d in shape)
    out = []
    rest = idx
    for d in reversed(dims):
        out.append(sg.mod(rest, d))
        rest = sg.floor_divide(rest, d)
    return tuple(reversed(out))


@keras_op
def argpartition(x: Any, kth: int, axis: int = -1) -> Tensor:
    """A full argsort, which is a valid partition around any kth."""
    return _int32(sg.argsort(_t(x), axis=axis))


@keras_op
def argsort(x: Any, axis: int | None = -1) -> Tensor:
    x = _t(x)
    if axis is None:
        return _int32(sg.argsort(flat(x), axis=0))
    return _int32(sg.argsort(x, axis=axis))


@keras_op
def sort(x: Any, axis: int | None = -1) -> Tensor:
    x = _t(x)
    if axis is None:
        return sg.sort(flat(x), axis=0)
    return sg.sort(x, axis=axis)


@keras_op
def unique(
    x: Any,
    sorted: bool = True,  # noqa: A002  (Keras' name)
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    size: int | None = None,
    fill_value: Any = None,
) -> Any:
    """The sorted unique values of the flattened ``x``. In a graph ``size`` must be given
    (the result has that many entries, padded with ``fill_value``, by default the smallest
    unique value); on values known now it may be left out."""
    if axis is not None:
        raise not_provided("unique", "axis= (unique slices along an axis)")
    x = flat(_t(x))
    n = static_size(x.shape[0], "unique")
    if size is None:
        value = value_now(x)
        if value is None:
            raise not_provided("unique", "without size= in a compiled graph (its result's shape depends on the data)")
        size = len(np.unique(value))
    order = sg.argsort(x, axis=0)
    s = sg.take(x, order)
    first = sg.concatenate([sg.ones((1,), _BOOL), sg.not_equal(s[1:], s[:-1])], axis=0) if n else sg.zeros((0,), _BOOL)
    group = sg.cumsum(sg.cast(first, "int64")) - 1  # the unique value each sorted element is
    slot = sg.where(first, group, size)  # a first occurrence goes to its slot, the others past the end
    fill = s[0] if fill_value is None else cast_to(_t(fill_value), x.dtype)
    values = sg.scatter_add(sg.zeros((size + 1,), x.dtype), slot, sg.where(first, s, sg.zeros((), x.dtype)))[:size]
    count_all = sg.scatter_add(sg.zeros((size + 1,), "int64"), sg.minimum(group, size), sg.ones_like(group))[:size]
    used = sg.greater(count_all, 0)
    values = sg.where(used, values, fill)
    result = [values]
    if return_index:
        pos = sg.scatter_add(sg.zeros((size + 1,), "int64"), slot, sg.where(first, sg.cast(order, "int64"), 0))[:size]
        result.append(_int32(pos))
    if return_inverse:
        inverse = sg.scatter_add(sg.zeros((n,), "int64"), order, group)
        result.append(_int32(inverse))
    if return_counts:
        result.append(_int32(count_all))
    return result[0] if len(result) == 1 else tuple(result)


# ---------------------------------------------------------------------------- products


@keras_op
def matmul(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    if a.dtype == _BOOL:
        a, b = sg.cast(a, _INT32), sg.cast(b, _INT32)
    return sg.matmul(a, b)


@keras_op
def dot(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return sg.dot(a, b)


@keras_op
def vdot(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    return sg.sum(flat(a) * flat(b))


@keras_op
def inner(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return sg.tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


@keras_op
def outer(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    return sg.expand_dims(flat(a), 1) * sg.expand_dims(flat(b), 0)


@keras_op
def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    a, b = _common([x1, x2])
    if not isinstance(axes, int):
        axes = tuple(tuple(ax) if isinstance(ax, (list, tuple)) else (ax,) for ax in axes)
    return sg.tensordot(a, b, axes=axes)


@keras_op
def kron(x1: Any, x2: Any) -> Tensor:
    a, b = _common([x1, x2])
    rank = builtins.max(a.ndim, b.ndim)
    a = sg.reshape(a, (1,) * (rank - a.ndim) + a.shape)
    b = sg.reshape(b, (1,) * (rank - b.ndim) + b.shape)
    # interleave: a's axis i then b's axis i, multiplied, then merged pairwise
    ea = sg.reshape(a, tuple(d for n in a.shape for d in (n, 1)))
    eb = sg.reshape(b, tuple(d for n in b.shape for d in (1, n)))
    prod_ = ea * eb
    return sg.reshape(prod_, tuple(p * q for p, q in zip(a.shape, b.shape)))


@keras_op
def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> Tensor:
    a, b = _common([x1, x2])
    if axis is not None:
        axisa = axisb = axisc = axis
    a = sg.moveaxis(a, axisa, -1)
    b = sg.moveaxis(b, axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")

    def comp(t: Tensor, i: int, n: int) -> Tensor:
        return t[..., i] if i < n else sg.zeros_like(t[..., 0])

    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    c = sg.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)
    return sg.moveaxis(c, -1, axisc)


@keras_op
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    yt = floatx_of(_t(y))
    ax = axis % yt.ndim
    hi = [slice(None)] * yt.ndim
    lo = [slice(None)] * yt.ndim
    hi[ax], lo[ax] = slice(1, None), slice(None, -1)
    avg = (yt[tuple(hi)] + yt[tuple(lo)]) / 2.0
    if x is None:
        return sg.sum(avg, axis=ax) * dx
    xt = cast_to(_t(x), yt.dtype)
    if xt.ndim == 1:
        d = xt[1:] - xt[:-1]
        shape = [1] * yt.ndim
        shape[ax] = d.shape[0]
        d = sg.reshape(d, tuple(shape))
    else:
        d = xt[tuple(hi)] - xt[tuple(lo)]
    return sg.sum(avg * d, axis=ax)


@keras_op
def correlate(x1: Any, x2: Any, mode: str = "valid") -> Tensor:
    """numpy's correlate of two 1-D sequences: c[k] = sum_n a[n + k] * v[n]."""
    a, v = _common([x1, x2])
    a, v = floatx_of(a), floatx_of(v)
    m = static_size(a.shape[0], "correlate")
    n = static_size(v.shape[0], "correlate")
    if m < n:  # numpy swaps the operands and reverses the result
        return sg.flip(correlate(v, a, mode), 0)
    padded = sg.pad(a, [(n - 1, n - 1)])
    windows = np.arange(m + n - 1)[:, None] + np.arange(n)[None, :]
    full_ = sg.matmul(sg.take(padded, sg.constant(windows)), v)
    if mode == "full":
        return full_
    if mode == "same":
        start = (n - 1) // 2
        return full_[start : start + m]
    if mode == "valid":
        return full_[n - 1 : m]
    raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")


@keras_op
def corrcoef(x: Any) -> Tensor:
    x = floatx_of(_t(x))
    if x.ndim == 1:
        x = sg.reshape(x, (1, -1))
    centred = x - sg.mean(x, axis=1, keepdims=True)
    cov = sg.matmul(centred, sg.transpose(centred)) / (x.shape[1] - 1)
    d = sg.sqrt(diagonal(cov))
    out = cov / sg.expand_dims(d, 1) / sg.expand_dims(d, 0)
    return sg.clip(out, -1.0, 1.0)


# ---------------------------------------------------------------------------- einsum


@keras_op
def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Tensor:
    """Einstein summation by pairwise contractions, each a batched matrix product."""
    parts = _common(operands)
    if parts[0].dtype == _BOOL:
        parts = [sg.cast(p, _INT32) for p in parts]
    inputs, output = _parse_einsum(subscripts.replace(" ", ""), parts)
    terms = []
    for spec, t in zip(inputs, parts):
        spec, t = _einsum_diagonal(spec, t)
        terms.append((spec, t))
    while len(terms) > 1:
        (sa, ta), (sb, tb) = terms[0], terms[1]
        rest = "".join(s for s, _ in terms[2:]) + output
        terms = [_contract(sa, ta, sb, tb, rest), *terms[2:]]
    spec, t = terms[0]
    drop = tuple(i for i, c in enumerate(spec) if c not in output)
    if drop:
        t = sg.sum(t, axis=drop)
        spec = "".join(c for c in spec if c in output)
    return sg.transpose(t, tuple(spec.index(c) for c in output)) if spec != output else t


def _parse_einsum(subscripts: str, parts: list[Tensor]) -> tuple[list[str], str]:
    if "->" in subscripts:
        lhs, output = subscripts.split("->")
    else:
        lhs, output = subscripts, None
    inputs = lhs.split(",")
    if len(inputs) != len(parts):
        raise ValueError(f"einsum: {len(inputs)} operand specs for {len(parts)} operands")
    used = set("".join(inputs).replace(".", ""))
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    ell_rank = 0
    for spec, t in zip(inputs, parts):
        if "..." in spec:
            ell_rank = builtins.max(ell_rank, t.ndim - len(spec.replace("...", "")))
    ell = "".join(free[:ell_rank])
    expanded = []
    for spec, t in zip(inputs, parts):
        if "..." in spec:
            k = t.ndim - len(spec.replace("...", ""))
            spec = spec.replace("...", ell[ell_rank - k :])
        if len(spec) != t.ndim:
            raise ValueError(f"einsum: the spec {spec!r} does not match an operand of rank {t.ndim}")
        expanded.append(spec)
    if output is None:
        counts: dict[str, int] = {}
        for spec in expanded:
            for c in spec:
                counts[c] = counts.get(c, 0) + 1
        output = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        output = output.replace("...", ell)
    return expanded, output


def _einsum_diagonal(spec: str, t: Tensor) -> tuple[str, Tensor]:
    """An index repeated within one operand ('ii->i'): take its diagonal."""
    while len(set(spec)) < len(spec):
        c = next(ch for ch in spec if spec.count(ch) > 1)
        i = spec.index(c)
        j = spec.index(c, i + 1)
        t = diagonal(t, 0, i, j)
        spec = "".join(ch for k, ch in enumerate(spec) if k not in (i, j)) + c
    return spec, t


def _contract(sa: str, ta: Tensor, sb: str, tb: Tensor, rest: str) -> tuple[str, Tensor]:
    """Two einsum terms as one: indices in both and still needed are batch axes, in both
    and not needed are summed by a matrix product, the others are kept."""
    only_a = [c for c in sa if c not in sb and c not in rest]
    if only_a:  # summed out before the product
        ta = sg.sum(ta, axis=tuple(sa.index(c) for c in only_a))
        sa = "".join(c for c in sa if c not in only_a)
    only_b = [c for c in sb if c not in sa and c not in rest]
    if only_b:
        tb = sg.sum(tb, axis=tuple(sb.index(c) for c in only_b))
        sb = "".join(c for c in sb if c not in only_b)
    batch = [c for c in sa if c in sb and c in rest]
    summed = [c for c in sa if c in sb and c not in rest]
    keep_a = [c for c in sa if c not in sb]
    keep_b = [c for c in sb if c not in sa]
    size = {c: d for c, d in zip(sa, ta.shape)}
    size.update({c: d for c, d in zip(sb, tb.shape) if c not in size or size[c] == 1})
    ta = sg.transpose(ta, tuple(sa.index(c) for c in batch + keep_a + summed))
    tb = sg.transpose(tb, tuple(sb.index(c) for c in batch + summed + keep_b))
    # broadcast the batch axes against each other (a size-1 batch axis meets a real one)
    bshape = tuple(size[c] for c in batch)
    if tuple(ta.shape[: len(batch)]) != bshape:
        ta = sg.broadcast_to(ta, bshape + ta.shape[len(batch) :])
    if tuple(tb.shape[: len(batch)]) != bshape:
        tb = sg.broadcast_to(tb, bshape + tb.shape[len(batch) :])
    m = shp.prod(tuple(size[c] for c in keep_a))
    k = shp.prod(tuple(size[c] for c in summed))
    n = shp.prod(tuple(size[c] for c in keep_b))
    left = sg.reshape(ta, (*bshape, m, k))
    right = sg.reshape(tb, (*bshape, k, n))
    out = sg.matmul(left, right)
    out = sg.reshape(out, (*bshape, *(size[c] for c in keep_a), *(size[c] for c in keep_b)))
    return "".join(batch + keep_a + keep_b), out


# ---------------------------------------------------------------------------- views


@keras_op
def view(x: Any, dtype: Any = None) -> Tensor:
    """A reinterpretation of the bytes: only as the same dtype (symgraph has no bit casts)."""
    x = _t(x)
    dt = standardize_dtype(dtype)
    if dt is None or dt == x.dtype:
        return sg.identity(x)
    raise not_provided("view", f"a view of {x.dtype.name} as {dt.name} (symgraph has no bit casts)")


__all__ += sorted(EXPORTS)
