"""The leaves of a graph: placeholders, Variables, constants and symbolic sizes.

- ``placeholder(shape, dtype, name)``: an input fed at each call; ``None`` in its shape
  is a size fixed only at call time.
- ``Variable(value, name)``: shared state living across calls (weights, optimizer
  slots); a compiled function reads it and may update it.
- ``constant(value, dtype)``: a value baked into the graph.
- ``EagerTensor(value)``: a value a program computed now (symgraph/trace runs the ops);
  in a graph it is a constant.
- ``dim_value(d)``: a symbolic dimension used as a scalar int64 tensor.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, ShapeError, user_location
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Op, Tensor, TensorType, apply
from symgraph.graph.shape import Dim, DimExpr, Shape

_serials = itertools.count()


class Placeholder(Op):
    """An input of a compiled function (no reference: the caller provides the value)."""

    name = "placeholder"
    interned = False

    def __init__(self, label: str, dtype: np.dtype, shape: Shape):
        self.label = label
        self.dtype = dtype
        self.shape = shape
        self._serial = next(_serials)

    def key(self) -> tuple:
        return (type(self), self._serial)

    def attributes(self) -> dict[str, Any]:
        return {"name": self.label}

    def infer(self) -> TensorType:
        return TensorType(self.dtype, self.shape)


class SharedVariable(Op):
    """The read of a Variable's current value."""

    name = "variable"
    interned = False

    def __init__(self, label: str):
        self.label = label
        self._serial = next(_serials)

    def key(self) -> tuple:
        return (type(self), self._serial)

    def attributes(self) -> dict[str, Any]:
        return {"name": self.label}


class Constant(Op):
    """A constant value; equal values (dtype, shape and bytes) are one node."""

    name = "constant"

    def __init__(self, value: np.ndarray):
        value = np.array(value, copy=True, order="C")
        value.flags.writeable = False
        self.value = value
        self._digest = hashlib.blake2b(value.tobytes(), digest_size=16).digest()

    def key(self) -> tuple:
        return (type(self), self.value.dtype, self.value.shape, self._digest)

    def attributes(self) -> dict[str, Any]:
        v = self.value
        if v.size <= 4:
            text = np.array2string(v, separator=",").replace("\n", "")
            return {"value": text}
        return {}

    def infer(self) -> TensorType:
        return TensorType(self.value.dtype, self.value.shape)

    def reference(self) -> np.ndarray:
        return self.value


class DimValue(Op):
    """A symbolic dimension's value as a 0-d int64 tensor."""

    name = "dim_value"
    needs_sizes = True

    def __init__(self, dim: Dim):
        self.dim = dim

    def infer(self) -> TensorType:
        return TensorType(dtypes.DEFAULT_INT, ())

    def reference(self, *, sizes) -> np.ndarray:
        return np.array(shp.evaluate(self.dim, sizes), dtypes.DEFAULT_INT)

    def grad(self, inputs, outputs, output_grads):
        return []


def placeholder(shape: tuple = (), dtype: object = "float32", name: str | None = None) -> Tensor:
    """A symbolic input, fed with a numpy array at each call.

    ``shape`` entries are ints, ``None`` for a size fixed only at call time (each
    ``None`` is its own symbolic dimension, named ``<name>.<axis>``), or a shared
    symbolic dimension (``sg.dim("batch")``) to declare that inputs agree on a size.
    """
    dtype = dtypes.as_dtype(dtype)
    label = name or f"input{next(_serials)}"
    dims = []
    for axis, d in enumerate(_as_shape_tuple(shape)):
        if d is None:
            dims.append(shp.sym(f"{label}.{axis}"))
        else:
            dim = shp.as_dim(d)
            if isinstance(dim, int) and dim < 0:
                raise ShapeError(f"placeholder {label!r}: negative dimension {dim} in shape {shape}")
            dims.append(dim)
    node = apply(Placeholder(label, dtype, tuple(dims)))
    tensor = node.outputs[0]
    tensor.name = label
    return tensor


def dim(name: str) -> DimExpr:
    """A named symbolic dimension to share between placeholders: ``placeholder((n, 3))``."""
    return shp.sym(name)


def _as_shape_tuple(shape: object) -> tuple:
    if isinstance(shape, (int, np.integer)) or shape is None:
        return (shape,)
    try:
        return tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise ShapeError(f"a shape must be a tuple of ints or None, got {shape!r}") from None


class Variable(Tensor):
    """Shared state: a value that lives across calls of compiled functions.

    The initial value is an array, Python data, or a tensor whose value is known now (an
    eager tensor, an expression of constants and Variables): TensorFlow's
    ``tf.Variable(tf.random.normal(...))``. The dtype and shape are fixed at creation.
    ``assign``, ``assign_add``, ``assign_sub``, ``read_value`` and ``numpy`` (symgraph/
    trace) follow TensorFlow: at once outside a traced function, in program order inside
    one. ``get_value()`` returns a copy and
    ``set_value(v)`` copies ``v`` in (casting only within the same kind, e.g. float64
    data into a float32 Variable), so no caller ever aliases the stored buffer.
    """

    __slots__ = ("_value", "trainable")

    def __init__(self, value: Any, name: str | None = None, dtype: object = None, trainable: bool = True):
        array = _as_array(value, dtype)
        self.trainable = bool(trainable)  # TensorFlow's flag: a tape watches trainable Variables itself
        label = name or f"variable{next(_serials)}"
        op = SharedVariable(label)
        node = Node(op, (), [], user_location())
        super().__init__(node, 0, array.dtype, array.shape, label)
        node.outputs = (self,)
        self._value = np.array(array, copy=True, order="C")

    def get_value(self) -> np.ndarray:
        return self._value.copy()

    def set_value(self, value: Any) -> None:
        array = np.asarray(value)
        if array.shape != self.shape:
            raise ShapeError(
                f"Variable {self.name!r}: set_value got shape {array.shape}, but the Variable's shape is {self.shape}"
            )
        if array.dtype != self.dtype and not np.can_cast(array.dtype, self.dtype, "same_kind"):
            raise DTypeError(
                f"Variable {self.name!r}: set_value got dtype {array.dtype}, "
                f"which does not cast to the Variable's {self.dtype} within its kind"
            )
        np.copyto(self._value, array, casting="unsafe")

    @property
    def storage(self) -> np.ndarray:
        """The stored buffer itself, for the runtime: callers must not keep it."""
        return self._value


class EagerTensor(Tensor):
    """A concrete value with the Tensor interface: what an op returns when it runs at once
    (TensorFlow's eager tensor; symgraph/trace decides when that is and computes it).

    ``value`` is read-only (tensors are immutable; ``numpy()`` hands out a copy). Used in
    a graph, an eager tensor is a constant: its node, made when first asked for, is a
    Constant leaf whose output is this tensor. ``recorded`` is the symbolic tensor a
    recording GradientTape built for it (None when no tape watched its inputs);
    ``reads_state``: its value came from Variables, so a graph that used it as a constant
    would silently freeze them (``sg.function`` refuses it)."""

    __slots__ = ("value", "recorded", "reads_state", "_leaf")

    bound = True  # a value now, by definition (and asking must not build the leaf)

    def __init__(self, value: np.ndarray, reads_state: bool = False):
        value = np.asarray(value)
        dtypes.as_dtype(value.dtype)
        value.flags.writeable = False
        self.value = value
        self.index = 0
        self.dtype = value.dtype
        self.shape = value.shape
        self.name = None
        self.recorded: Tensor | None = None
        self.reads_state = reads_state
        self._leaf: Node | None = None

    @property
    def node(self) -> Node:  # type: ignore[override]
        if self._leaf is None:
            leaf = Node(Constant(self.value), (), [TensorType(self.dtype, self.shape)], None)
            leaf.outputs = (self,)
            self._leaf = leaf
        return self._leaf


def _as_array(value: Any, dtype: object) -> np.ndarray:
    """An array for a user value: numpy data keeps its dtype, Python data is weakly typed."""
    if isinstance(value, Tensor):
        if not value.node.bound:
            raise TypeError(
                f"expected a value known now, got the symbolic {value!r}, which reads a placeholder: "
                "a Variable's initial value is computed when it is created"
            )
        value = value.numpy()  # an eager tensor, or an expression of constants and Variables
    if dtype is not None:
        return np.asarray(value, dtype=dtypes.as_dtype(dtype))
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        dtypes.as_dtype(array.dtype)
        return array
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(dtypes.FLOATX)
    elif array.dtype.kind in "iu":
        array = array.astype(dtypes.DEFAULT_INT)
    dtypes.as_dtype(array.dtype)
    return array


def constant(value: Any, dtype: object = None, name: str | None = None) -> Tensor:
    """A constant tensor. Python floats become float32 (floatx) unless ``dtype`` says."""
    tensor = apply(Constant(_as_array(value, dtype))).outputs[0]
    if name is not None:
        tensor.name = name
    return tensor


def dim_value(d: Dim) -> Tensor:
    """The size ``d`` as a 0-d int64 tensor (a constant when ``d`` is static)."""
    if isinstance(d, int):
        return constant(np.array(d, dtypes.DEFAULT_INT))
    return apply(DimValue(d)).outputs[0]


def as_tensor(value: Any, dtype: object = None) -> Tensor:
    """``value`` as a Tensor: tensors pass through, sizes and data become constants."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, DimExpr):
        return dim_value(value)
    return constant(value, dtype)
