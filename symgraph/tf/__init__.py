"""``from symgraph import tf``: the TensorFlow 2 names the tutorials use, mapped onto
symgraph, so a program written for ``import tensorflow as tf`` runs with only its import
changed. A naming layer only (symgraph's semantics; TensorFlow's defaults where a name
promises them: Python floats are float32, ``argmax`` gives int64 along axis 0); a name
not listed here raises ``UnsupportedError`` naming it.

Eagerly, each name returns an eager tensor; inside ``tf.function`` (``sg.jit``) it builds
graph. ``tf.data`` is symgraph/tf/data.py, ``tf.nn`` and ``tf.random`` beside it,
``tf.losses`` and ``tf.keras`` are symgraph's Keras.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

import numpy as np

import symgraph as sg
from symgraph import keras
from symgraph.tf import data, losses, nn, random
from symgraph.tf._wrap import eager_op, missing, to_eager
from symgraph.tf.module import Module

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")  # noqa: A001  (TensorFlow's name)
newaxis = None

Tensor = sg.Tensor
Variable = sg.Variable
GradientTape = sg.GradientTape
TensorSpec = sg.TensorSpec
function = sg.jit
print = sg.print  # noqa: A001  (tf.print: at every call inside tf.function)


def _dtype(dtype: Any) -> Any:
    return None if dtype is None else np.dtype(dtype)


@eager_op
def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> sg.Tensor:
    """A tensor of ``value`` (broadcast to ``shape`` when given)."""
    t = convert_to_tensor(value, dtype)
    return sg.broadcast_to(t, tuple(shape)) if shape is not None and tuple(shape) != t.shape else t


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None) -> sg.Tensor:
    """``value`` as a tensor: tensors as they are (cast if ``dtype`` differs), data as an
    eager tensor (a graph constant inside tf.function)."""
    if isinstance(value, sg.Tensor):
        if dtype is not None and value.dtype != np.dtype(dtype):
            return cast(value, dtype)
        return value
    if sg.trace.tracing():
        return sg.constant(value, dtype)
    return sg.eager_tensor(value, _dtype(dtype))


@eager_op
def zeros(shape: Any, dtype: Any = float32, name: str | None = None) -> sg.Tensor:
    return sg.zeros(tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape, dtype)


@eager_op
def ones(shape: Any, dtype: Any = float32, name: str | None = None) -> sg.Tensor:
    return sg.ones(tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape, dtype)


@eager_op
def fill(dims: Any, value: Any, name: str | None = None) -> sg.Tensor:
    return sg.full(tuple(dims), value, convert_to_tensor(value).dtype)


zeros_like = eager_op(lambda input, dtype=None, name=None: sg.zeros_like(input, dtype))
ones_like = eager_op(lambda input, dtype=None, name=None: sg.ones_like(input, dtype))


@eager_op
def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str | None = None) -> sg.Tensor:  # noqa: A001
    """TensorFlow's ``tf.range``: int32 for Python ints, float32 for Python floats."""
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, limit, delta))
        dtype = float32 if is_float else int32
    return sg.arange(start, limit, delta, dtype=dtype)


@eager_op
def linspace(start: Any, stop: Any, num: int, name: str | None = None, axis: int = 0) -> sg.Tensor:
    return sg.eager_tensor(np.linspace(float(start), float(stop), int(num), dtype=np.float32))


cast = eager_op(lambda x, dtype, name=None: sg.cast(x, dtype))
reshape = eager_op(lambda tensor, shape, name=None: sg.reshape(tensor, tuple(np.asarray(shape).tolist())))
transpose = eager_op(lambda a, perm=None, conjugate=False, name=None: sg.transpose(a, perm))
concat = eager_op(lambda values, axis, name="concat": sg.concatenate(list(values), axis=axis))
stack = eager_op(lambda values, axis=0, name="stack": sg.stack(list(values), axis=axis))
squeeze = eager_op(
    lambda input, axis=None, name=None: sg.squeeze(input, tuple(axis) if isinstance(axis, list) else axis)
)
expand_dims = eager_op(lambda input, axis, name=None: sg.expand_dims(input, axis))
identity = eager_op(lambda input, name=None: sg.identity(input))


def shape(input: Any, out_type: Any = int32, name: str | None = None) -> sg.Tensor:
    """The shape as an int32 tensor (known now: an eager tensor, or a constant of the trace)."""
    t = convert_to_tensor(input)
    if not builtins.all(isinstance(d, int) for d in t.shape):
        return (
            sg.stack([sg.cast(sg.graph.dim_value(d), out_type) for d in t.shape])
            if t.shape
            else sg.zeros((0,), out_type)
        )
    return convert_to_tensor(np.array(t.shape, dtype=np.dtype(out_type)))


def size(input: Any, out_type: Any = int32, name: str | None = None) -> sg.Tensor:
    t = convert_to_tensor(input)
    return to_eager(
        sg.cast(sg.graph.dim_value(t.size) if not isinstance(t.size, int) else sg.constant(t.size), out_type)
    )


def rank(input: Any, name: str | None = None) -> sg.Tensor:
    return convert_to_tensor(np.int32(convert_to_tensor(input).ndim))


add = eager_op(lambda x, y, name=None: sg.add(x, y))
subtract = eager_op(lambda x, y, name=None: sg.subtract(x, y))
multiply = eager_op(lambda x, y, name=None: sg.multiply(x, y))
divide = eager_op(lambda x, y, name=None: sg.true_divide(x, y))
square = eager_op(lambda x, name=None: sg.square(x))
pow = eager_op(lambda x, y, name=None: sg.power(x, y))  # noqa: A001
sqrt = eager_op(lambda x, name=None: sg.sqrt(x))
exp = eager_op(lambda x, name=None: sg.exp(x))
log = eager_op(lambda x, name=None: sg.log(x))
abs = eager_op(lambda x, name=None: sg.abs(x))  # noqa: A001
maximum = eager_op(lambda x, y, name=None: sg.maximum(x, y))
minimum = eager_op(lambda x, y, name=None: sg.minimum(x, y))
negative = eager_op(lambda x, name=None: sg.negative(x))
tanh = eager_op(lambda x, name=None: sg.tanh(x))
sigmoid = eager_op(lambda x, name=None: sg.nn.sigmoid(x))


@eager_op
def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, name: str | None = None) -> sg.Tensor:
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if transpose_a:
        a = sg.swapaxes(a, -1, -2)
    if transpose_b:
        b = sg.swapaxes(b, -1, -2)
    return sg.matmul(a, b)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(fn: Any) -> Any:
    return eager_op(
        lambda input_tensor, axis=None, keepdims=False, name=None: fn(input_tensor, _axis(axis), keepdims=keepdims)
    )


reduce_sum = _reduction(sg.sum)
reduce_mean = _reduction(sg.mean)
reduce_max = _reduction(sg.max)
reduce_min = _reduction(sg.min)
reduce_prod = _reduction(sg.prod)
reduce_any = _reduction(sg.any)
reduce_all = _reduction(sg.all)


@eager_op
def argmax(input: Any, axis: Any = None, output_type: Any = int64, name: str | None = None) -> sg.Tensor:
    """Along ``axis`` (0 when None, as TensorFlow), as ``output_type`` (int64)."""
    return sg.cast(sg.argmax(input, 0 if axis is None else axis), output_type)


@eager_op
def argmin(input: Any, axis: Any = None, output_type: Any = int64, name: str | None = None) -> sg.Tensor:
    return sg.cast(sg.argmin(input, 0 if axis is None else axis), output_type)


equal = eager_op(lambda x, y, name=None: sg.equal(x, y))
not_equal = eager_op(lambda x, y, name=None: sg.not_equal(x, y))
greater = eager_op(lambda x, y, name=None: sg.greater(x, y))
greater_equal = eager_op(lambda x, y, name=None: sg.greater_equal(x, y))
less = eager_op(lambda x, y, name=None: sg.less(x, y))
less_equal = eager_op(lambda x, y, name=None: sg.less_equal(x, y))
logical_and = eager_op(lambda x, y, name=None: sg.logical_and(x, y))
logical_or = eager_op(lambda x, y, name=None: sg.logical_or(x, y))
logical_not = eager_op(lambda x, name=None: sg.logical_not(x))


@eager_op
def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> sg.Tensor:
    if x is None or y is None:
        raise missing("tf", "where(condition) without x and y (the indices of true elements: a data-dependent shape)")
    return sg.where(condition, x, y)


@eager_op
def one_hot(
    indices: Any,
    depth: int,
    on_value: Any = None,
    off_value: Any = None,
    axis: int = -1,
    dtype: Any = float32,
    name=None,
) -> sg.Tensor:
    hot = sg.one_hot(indices, depth, dtype=dtype, axis=axis)
    if on_value is None and off_value is None:
        return hot
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    return sg.cast(sg.where(sg.cast(hot, "bool"), on, off), dtype)


clip_by_value = eager_op(
    lambda t, clip_value_min, clip_value_max, name=None: sg.clip(t, clip_value_min, clip_value_max)
)


@eager_op
def gather(params: Any, indices: Any, axis: Any = None, batch_dims: int = 0, name: str | None = None) -> sg.Tensor:
    if batch_dims:
        raise missing("tf", "gather(batch_dims != 0)")
    return sg.take(params, indices, axis=0 if axis is None else axis)


def executing_eagerly() -> bool:
    """False inside tf.function (while it is traced), True elsewhere."""
    return not sg.tracing()


# ``from tensorflow.keras.layers import Dense`` as the tutorials write it: symgraph.tf.keras
# and its submodules are symgraph.keras' own modules under a second name.
for _name, _module in list(sys.modules.items()):
    if _name == "symgraph.keras" or _name.startswith("symgraph.keras."):
        sys.modules["symgraph.tf" + _name[len("symgraph") :]] = _module

from symgraph.tf import math  # noqa: E402  (it imports the names above)


def __getattr__(name: str) -> Any:
    raise missing("tf", name)


__all__ = [
    "GradientTape",
    "Module",
    "Tensor",
    "TensorSpec",
    "Variable",
    "abs",
    "add",
    "argmax",
    "argmin",
    "bool",
    "cast",
    "clip_by_value",
    "concat",
    "constant",
    "convert_to_tensor",
    "data",
    "divide",
    "equal",
    "executing_eagerly",
    "exp",
    "expand_dims",
    "fill",
    "float16",
    "float32",
    "float64",
    "function",
    "gather",
    "greater",
    "greater_equal",
    "identity",
    "int8",
    "int16",
    "int32",
    "int64",
    "keras",
    "less",
    "less_equal",
    "linspace",
    "log",
    "logical_and",
    "logical_not",
    "logical_or",
    "losses",
    "math",
    "matmul",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "newaxis",
    "nn",
    "not_equal",
    "one_hot",
    "ones",
    "ones_like",
    "pow",
    "print",
    "random",
    "range",
    "rank",
    "reduce_all",
    "reduce_any",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "reshape",
    "shape",
    "sigmoid",
    "size",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "subtract",
    "tanh",
    "transpose",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]
