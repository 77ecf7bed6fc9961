"""Eager execution: an op on values known now runs at once and returns an EagerTensor.

Where each op runs (``intercept``, which ``graph.core.apply`` calls first):

1. Inside a traced function (``sg.jit``): it builds graph; the trace substitutes each
   Variable's traced value (symgraph/trace/jit.py).
2. An input reads a placeholder: it builds graph (the graph API, as always).
3. Inside a ``graph()`` block: it builds graph.
4. Every input has a value now (eager tensors, constants, Variables, expressions of
   these) and an eager tensor is among them, or a GradientTape is recording, or an
   ``eager()`` block is open: it runs now, through the op's numpy reference (the
   interpreter's ``evaluate_static_node``, so its checks and errors are the reference mode's).
   No node outlives the call unless a recording tape keeps one to differentiate.
5. Otherwise (constants and Variables only, outside any of those): it builds graph, as
   Theano does: ``W * 0.9`` is an update expression over the Variable. Such a tensor
   still has a value now: ``numpy()``, ``print``, ``float()`` and ``bool()`` evaluate it
   at that moment (it reads the Variables' values then, not when it was built).

This module also gives every Tensor those value methods (the graph stage defines Tensor
before any evaluator exists, as it leaves the operators to symgraph.ops).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from symgraph.errors import SymgraphError, TracingError, user_location
from symgraph.graph import core
from symgraph.graph.core import Node, Op, Tensor
from symgraph.graph.sources import Constant, EagerTensor, Variable
from symgraph.interpreter import Interpreter, evaluate_static_node
from symgraph.trace.context import EAGER, GRAPH, TAPES, TRACE

# ---------------------------------------------------------------- running an op now


def intercept(op: Op, inputs: tuple[Tensor, ...]) -> Node | None:
    """The node ``apply`` returns: a traced node, an eager result, or None (build the
    symbolic node as usual). The common graph-building case returns after one look at
    the context and the inputs."""
    trace = TRACE.get()
    if trace is not None:
        return trace.apply(op, inputs)
    if GRAPH.get() or not inputs:  # a leaf (placeholder, constant) is a leaf of the graph
        return None
    has_eager = False
    for t in inputs:
        if type(t) is EagerTensor:
            has_eager = True
        elif not t.node.bound:
            return None
    if not (has_eager or EAGER.get() or TAPES.get()):
        return None
    return run_now(op, inputs)


class EagerNode:
    """What ``apply`` returns for an op that ran now: its outputs are EagerTensors. It
    is not a graph node (no interning, nothing keeps it)."""

    __slots__ = ("op", "inputs", "outputs", "location")

    def __init__(self, op: Op, outputs: tuple[EagerTensor, ...]):
        self.op = op
        self.inputs = ()
        self.outputs = outputs
        self.location = None


def run_now(op: Op, inputs: tuple[Tensor, ...]) -> EagerNode:
    """Run ``op`` on the inputs' values now; record it on the recording tapes when one of
    them watches an input."""
    args = [value_of(t) for t in inputs]
    reads_state = any(isinstance(t, Variable) or (type(t) is EagerTensor and t.reads_state) for t in inputs)
    # the node only carries the types and the op for evaluate_node's checks and errors;
    # SymgraphError adds the user's line to the message itself
    node = Node(op, inputs, _types(op, inputs), None)
    results = evaluate_static_node(node, args, {})
    outputs = tuple(EagerTensor(_owned(r, inputs), reads_state) for r in results)
    tapes = TAPES.get()
    if tapes:
        for tape in tapes:
            tape.record(op, inputs, args, outputs)
    return EagerNode(op, outputs)


def _types(op: Op, inputs: tuple[Tensor, ...]) -> list[core.TensorType]:
    try:
        types = op.infer(*inputs)
    except SymgraphError as exc:
        message = core.describe_failure(op, inputs, user_location(), core.plain_message(exc))
        raise type(exc)(message) from None
    return types if isinstance(types, list) else [types]


def _owned(result: np.ndarray, inputs: tuple[Tensor, ...]) -> np.ndarray:
    """``result``, copied if it is a view of a Variable's buffer (a reshape's reference
    returns one): an eager tensor is a snapshot, the Variable changes on assign."""
    for t in inputs:
        if isinstance(t, Variable) and np.may_share_memory(result, t.storage):
            return result.copy()
    return result


def value_of(t: Tensor) -> np.ndarray:
    """The value ``t`` has now: an eager tensor's, a Variable's current one, or a bound
    expression's, evaluated by the interpreter. A tensor that reads a placeholder has
    none."""
    if type(t) is EagerTensor:
        return t.value
    if isinstance(t, Variable):
        return t.storage
    node = t.node
    if isinstance(node.op, Constant):
        return node.op.value
    if not node.bound:
        raise TypeError(
            f"{t!r} is symbolic and has no value yet: it reads a placeholder. "
            "Compile it with sg.function (or sg.jit), or feed values instead of placeholders"
        )
    return evaluate([t])[0]


def evaluate(tensors: Sequence[Tensor]) -> list[np.ndarray]:
    """The values of bound tensors now (constants, Variables' current values)."""
    return Interpreter([], list(tensors)).run([], {})


# ---------------------------------------------------------------- Tensor's value methods


def _no_value_while_tracing(t: Tensor, what: str) -> TracingError:
    return TracingError(
        f"{what} of a traced value: {t!r} is part of the graph sg.jit is building and has a value only "
        "when the compiled function runs. Python control flow cannot depend on it: use sg.where(cond, a, b) "
        "for a choice per element, sg.cond for a branch, sg.scan or sg.while_loop for a loop; return the value "
        "(or tf.print it) to see it"
    )


def _concrete(t: Tensor, what: str) -> np.ndarray:
    """The value behind ``numpy()``, ``__array__`` and Python's conversions."""
    if TRACE.get() is not None and type(t) is not EagerTensor and not isinstance(t.node.op, Constant):
        raise _no_value_while_tracing(t, what)
    if not t.bound:
        if what == "bool()":
            raise TypeError(
                "a symbolic tensor has no truth value: use sg.where for a choice made by value, "
                "or compile the graph with sg.function and test the result"
            )
        raise TypeError(
            f"{t!r} is symbolic and has no value yet: compile it with sg.function (or sg.jit), "
            "or use a Variable's get_value()"
        )
    return value_of(t)


def _numpy(self: Tensor) -> np.ndarray:
    """The value now, as a new numpy array (TensorFlow's ``.numpy()``)."""
    return np.array(_concrete(self, "numpy()"), copy=True)


def _array(self: Tensor, dtype: Any = None, copy: Any = None) -> np.ndarray:
    value = _concrete(self, "np.asarray()")
    if dtype is not None:
        value = value.astype(dtype, copy=False)
    return np.array(value, copy=True) if copy else value


def _bool(self: Tensor) -> bool:
    return bool(_concrete(self, "bool()"))


def _float(self: Tensor) -> float:
    return float(_concrete(self, "float()"))


def _int(self: Tensor) -> int:
    return int(_concrete(self, "int()"))


def _index(self: Tensor) -> int:
    value = _concrete(self, "an index")
    if value.dtype.kind not in "iub" or value.ndim:
        raise TypeError(f"only 0-d integer tensors can be used as an index, got {self.dtype.name}{value.shape}")
    return int(value)


def _format(self: Tensor) -> str | None:
    """``tf.Tensor([...], shape=(...), dtype=...)`` for a tensor with a value now; None
    for a symbolic one (its description stays the graph's)."""
    if type(self) is not EagerTensor and (TRACE.get() is not None or not self.bound):
        return None
    try:
        value = value_of(self)
    except SymgraphError:
        return None
    return f"{np.array2string(value, separator=' ')}, shape={value.shape}, dtype={value.dtype.name}"


_symbolic_repr = Tensor.__repr__


def _repr(self: Tensor) -> str:
    if type(self) is EagerTensor:
        return f"<sg.Tensor: {_format(self)}>"
    if isinstance(self, Variable) and TRACE.get() is None:
        value = np.array2string(self.storage, separator=", ")
        return f"<sg.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}, numpy={value}>"
    return _symbolic_repr(self)


def _str(self: Tensor) -> str:
    if isinstance(self, Variable):
        return _repr(self)
    text = _format(self)
    return f"sg.Tensor({text})" if text is not None else repr(self)


def _install() -> None:
    Tensor.numpy = _numpy  # type: ignore[attr-defined]
    Tensor.__array__ = _array  # type: ignore[method-assign]
    Tensor.__bool__ = _bool  # type: ignore[method-assign]
    Tensor.__float__ = _float  # type: ignore[attr-defined]
    Tensor.__int__ = _int  # type: ignore[attr-defined]
    Tensor.__index__ = _index  # type: ignore[attr-defined]
    Tensor.__repr__ = _repr  # type: ignore[method-assign]
    Tensor.__str__ = _str  # type: ignore[method-assign]
    core.set_interceptor(intercept)


_install()


def eager_tensor(value: Any, dtype: Any = None) -> EagerTensor:
    """``value`` as an eager tensor (TensorFlow's ``convert_to_tensor`` outside a trace):
    tensors with a value now give it, data becomes an array (Python floats float32)."""
    if type(value) is EagerTensor and (dtype is None or np.dtype(dtype) == value.dtype):
        return value
    if isinstance(value, Tensor):
        array = value_of(value)
        reads_state = True
    else:
        array = _python_array(value)
        reads_state = False
    if dtype is not None:
        array = array.astype(np.dtype(dtype), copy=False)
    return EagerTensor(np.array(array, copy=True), reads_state)


def _python_array(value: Any) -> np.ndarray:
    """Data as an array: numpy keeps its dtype; Python floats are float32 and ints int32
    (TensorFlow's defaults for Python data)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int32)
    return array
