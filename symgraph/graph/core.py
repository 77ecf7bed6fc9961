"""The graph IR: ops, nodes and tensors.

- ``Op``: what a node computes, with its attributes (immutable, hashable). Every op
  keeps all its facets in its class: the type rule (``infer``), the numpy reference
  (``reference``), the gradient (``grad``) and, for the C backend, its C emitter.
- ``Node``: one application of an op to input tensors; it owns its output tensors and
  records the user's file and line that created it.
- ``Tensor``: a symbolic value, output ``index`` of ``node``, with dtype and shape.

Nodes are immutable and interned (hash-consed) on (op, inputs): building the same
expression twice returns the same node, so common subexpressions merge as they are
built, and a rewrite makes new nodes instead of mutating old ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np

from symgraph.errors import (
    GradientError,
    Location,
    SymgraphError,
    plain_message,
    user_location,
)
from symgraph.graph import shape as shp
from symgraph.graph.shape import Dim, Shape


class TensorType(NamedTuple):
    dtype: np.dtype
    shape: Shape

    def __str__(self) -> str:
        return f"{self.dtype.name}{shp.shape_str(self.shape)}"


class Op:
    """Base class of every operation.

    A subclass sets ``name`` (its key in the op table) and defines:

    - ``infer(*inputs) -> TensorType | list[TensorType]``: the output dtype(s) and
      shape(s), raising ShapeError/DTypeError with a plain message when inputs do not fit
      (``apply`` adds the op, the input types and the user's line);
    - ``reference(*arrays)``: the numpy implementation, returning an array or a tuple of
      arrays; with ``needs_sizes = True`` it also receives ``sizes``, the values of the
      symbolic dimensions for this call;
    - ``grad(inputs, outputs, output_grads) -> list[Tensor | None]``: graph for the
      gradient of each input (None: no gradient flows to it); output_grads holds None
      for outputs nothing depends on.

    Attributes set in ``__init__`` are the op's identity: two ops of one class with
    equal attributes are equal, so their nodes merge.
    """

    name: ClassVar[str] = ""
    needs_sizes: ClassVar[bool] = False
    interned: ClassVar[bool] = True

    def key(self) -> tuple:
        return (type(self), *sorted(vars(self).items()))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.key() == other.key()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(self.key())

    def infer(self, *inputs: Tensor) -> TensorType | list[TensorType]:
        raise NotImplementedError(f"{type(self).__name__}.infer")

    def reference(self, *arrays: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        raise NotImplementedError(f"{type(self).__name__}.reference")

    def grad(
        self, inputs: list[Tensor], outputs: list[Tensor], output_grads: list[Tensor | None]
    ) -> list[Tensor | None]:
        raise GradientError(f"{self.name} has no gradient")

    def attributes(self) -> dict[str, Any]:
        """The attributes shown in dumps."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __str__(self) -> str:
        attrs = self.attributes()
        if not attrs:
            return self.name
        return f"{self.name}{{{', '.join(f'{k}={_fmt_attr(v)}' for k, v in attrs.items())}}}"

    __repr__ = __str__


def _fmt_attr(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ",".join(_fmt_attr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, np.dtype):
        return value.name
    return str(value)


def _reads_symbolic_size(op: Op) -> bool:
    """Whether an op that reads the call's sizes names a symbolic one among its attributes."""

    def symbolic(value: Any) -> bool:
        if isinstance(value, (tuple, list)):
            return any(symbolic(v) for v in value)
        return isinstance(value, shp.DimExpr)

    return any(symbolic(v) for v in vars(op).values())


class Node:
    """One application of an op to input tensors.

    ``bound``: no placeholder is upstream and no size is symbolic (its outputs' shapes,
    the sizes an op reads: ``arange(x.shape[0])``), so the node has a value now (from
    constants and Variables' current values); an eager program may ask for it
    (``Tensor.numpy``)."""

    __slots__ = ("op", "inputs", "outputs", "location", "bound", "__weakref__")

    def __init__(self, op: Op, inputs: tuple[Tensor, ...], types: list[TensorType], location: Location | None):
        self.op = op
        self.inputs = inputs
        self.location = location
        self.bound = (
            op.name != "placeholder"
            and all(t.bound for t in inputs)
            and all(shp.is_static_shape(t.shape) for t in types)
            and not (op.needs_sizes and _reads_symbolic_size(op))
        )
        self.outputs = tuple(Tensor(self, i, t.dtype, t.shape) for i, t in enumerate(types))

    def __repr__(self) -> str:
        return f"Node({self.op}, {len(self.inputs)} inputs)"


class Tensor:
    """A symbolic array: output ``index`` of ``node``, with a dtype and a shape.

    Shape entries are ints or symbolic dimensions (``DimExpr``). Operators (+, @, [],
    comparisons, ...) and numpy-like methods are installed by ``symgraph.ops``.
    """

    __slots__ = ("node", "index", "dtype", "shape", "name", "__weakref__")
    __array_ufunc__ = None  # numpy scalars and arrays defer to our reflected operators
    __hash__ = object.__hash__

    def __init__(self, node: Node, index: int, dtype: np.dtype, shape: Shape, name: str | None = None):
        self.node = node
        self.index = index
        self.dtype = dtype
        self.shape = shape
        self.name = name

    @property
    def type(self) -> TensorType:
        return TensorType(self.dtype, self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> Dim:
        return shp.prod(self.shape)

    @property
    def op(self) -> Op:
        return self.node.op

    @property
    def bound(self) -> bool:
        """Whether this tensor has a value now (no placeholder upstream): see Node."""
        return self.node.bound

    def __bool__(self) -> bool:
        raise TypeError(
            "a symbolic tensor has no truth value: use sg.where for a choice made by value, "
            "or compile the graph with sg.function and test the result"
        )

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        first = self.shape[0]
        if not isinstance(first, int):
            raise TypeError(f"len() of a tensor whose first dimension ({first}) is symbolic")
        return first

    def __iter__(self):
        n = len(self)
        return (self[i] for i in range(n))

    def __array__(self, *args: Any, **kwargs: Any):
        raise TypeError(
            f"{self!r} is symbolic and has no value yet: compile it with sg.function (or use a Variable's get_value())"
        )

    def __repr__(self) -> str:
        label = f"'{self.name}' " if self.name else ""
        return f"Tensor({label}{self.dtype.name}{shp.shape_str(self.shape)}, op={self.node.op.name})"


_INTERNED: weakref.WeakValueDictionary[tuple, Node] = weakref.WeakValueDictionary()

# While a rewrite replaces a node, the nodes it creates carry the replaced node's user
# line (errors then point at the user's code, not at the rewrite): see ``located``.
_LOCATION_OVERRIDE: contextvars.ContextVar[Location | None] = contextvars.ContextVar("location", default=None)


@contextlib.contextmanager
def located(location: Location | None):
    """New nodes created inside this block record ``location`` as their user line."""
    token = _LOCATION_OVERRIDE.set(location)
    try:
        yield
    finally:
        _LOCATION_OVERRIDE.reset(token)


# The program front-end (symgraph/trace: eager tensors, tapes, traced functions) sees
# every op applied by user code first: outside a trace an op on concrete values runs at
# once, inside one a Variable reads its traced value. It is a later stage (it runs the
# interpreter), so it registers itself here instead of being imported.
Interceptor = Callable[["Op", tuple["Tensor", ...]], "Node | None"]
_interceptor: Interceptor | None = None


def set_interceptor(interceptor: Interceptor) -> None:
    """Route ``apply`` through ``interceptor``: it returns the node to use (one whose
    outputs hold values, for an eager op) or None to build the symbolic node."""
    global _interceptor
    _interceptor = interceptor


def apply(op: Op, *inputs: Tensor) -> Node:
    """The node computing ``op`` on ``inputs``: an existing equal node, or a new one (or,
    for a program running eagerly, the op's result now: see ``set_interceptor``)."""
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op.name}: inputs must be Tensors, got {type(t).__name__}")
    if _interceptor is not None and (node := _interceptor(op, inputs)) is not None:
        return node
    return build_node(op, inputs)


def build_node(op: Op, inputs: tuple[Tensor, ...]) -> Node:
    """The symbolic node computing ``op`` on ``inputs``, interned (``apply`` without the
    program front-end)."""
    key = (op, tuple(map(id, inputs)))
    node = _INTERNED.get(key) if op.interned else None
    if node is not None:
        return node
    location = _LOCATION_OVERRIDE.get() or user_location()
    try:
        types = op.infer(*inputs)
    except SymgraphError as exc:
        raise type(exc)(describe_failure(op, inputs, location, plain_message(exc))) from None
    node = Node(op, tuple(inputs), types if isinstance(types, list) else [types], location)
    if op.interned:
        _INTERNED[key] = node
    return node


def describe_failure(op: Op, inputs: tuple[Tensor, ...] | list[Tensor], location: Location | None, message: str) -> str:
    """An error message naming the op, its inputs' types and the user's line."""
    lines = [f"{op.name}: {message}"]
    if inputs:
        lines.append("  inputs: " + ", ".join(str(t.type) for t in inputs))
    if location is not None:
        lines.append(f"  created at {location}")
    return "\n".join(lines)


def describe_call_failure(node: Node, input_shapes: list[tuple[int, ...]], message: str) -> str:
    """A call-time error message: op, input types with their actual shapes, user's line."""
    lines = [f"{node.op.name}: {message}"]
    if node.inputs:
        described = [f"{t.type} = {tuple(shape)}" for t, shape in zip(node.inputs, input_shapes)]
        lines.append("  inputs: " + ", ".join(described))
    if node.location is not None:
        lines.append(f"  created at {node.location}")
    return "\n".join(lines)


def output(node: Node) -> Tensor:
    """The single output of ``node``."""
    assert len(node.outputs) == 1, node
    return node.outputs[0]
