"""``sg.jit`` (``tf.function``): a Python function traced once per input signature into one
graph, compiled by ``sg.function`` into one C unit; later calls go straight to C.

Tracing calls the function with a placeholder for each array argument (numpy arrays and
eager tensors, nested in lists, tuples and dicts), so every op builds graph:

- The batch axis is symbolic: the leading axis of each array argument whose leading size
  is the first array argument's becomes one shared size, so the last short batch of an
  epoch runs the same unit (TensorFlow retraces for it). ``input_signature`` fixes the
  placeholders instead; ``reduce_retracing=True`` makes every axis symbolic.
- Python scalars and other Python values are constants of the trace: another value
  traces again (as TensorFlow does), and so does another dtype or rank, or another
  Variable argument. With ``SYMGRAPH_DEBUG`` set, each retrace says why.
- A Variable read is a graph read of its value at the start of the call; an ``assign``
  (directly, or from an optimizer or a metric object) makes later reads see the new value
  (program order), and each Variable's last value becomes an update of the compiled call.
- Python side effects run once, while tracing (as in TensorFlow); ``sg.print`` inside a
  traced function prints at every call. Python control flow on a traced value raises a
  TracingError naming the line (use ``sg.where``, ``sg.cond``, ``sg.scan``).

Results come back as eager tensors in the function's structure. ``fn.dump()``,
``fn.c_source`` and ``fn.report`` show the last trace's compiled function.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.debug import debug_level
from symgraph.errors import DTypeError, InputError, ShapeError
from symgraph.function import Function, function
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Op, Tensor, build_node
from symgraph.graph.sources import EagerTensor, Variable, placeholder
from symgraph.ops.elementwise import cast, promote
from symgraph.ops.shape_ops import broadcast_to
from symgraph.trace.context import TRACE
from symgraph.trace.eager import eager_tensor
from symgraph.trace.nest import flatten


@dataclass(frozen=True)
class TensorSpec:
    """The shape and dtype of an argument (``tf.TensorSpec``): None is any size."""

    shape: tuple
    dtype: Any = "float32"
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(self.shape))
        object.__setattr__(self, "dtype", dtypes.as_dtype(self.dtype))


class TraceState:
    """The program being traced: the Variables assigned so far, their current values, and
    the values ``sg.print`` asked to show at every call."""

    def __init__(self) -> None:
        self.assigned: dict[int, tuple[Variable, Tensor]] = {}
        self.prints: list[tuple[str, list[Tensor]]] = []

    def read(self, t: Any) -> Any:
        """A Variable's value at this point of the program (itself until assigned)."""
        if isinstance(t, Variable):
            entry = self.assigned.get(id(t))
            if entry is not None:
                return entry[1]
        return t

    def apply(self, op: Op, inputs: tuple[Tensor, ...]) -> Node:
        if self.assigned:
            inputs = tuple(self.read(t) for t in inputs)
        return build_node(op, inputs)

    def assign(self, var: Variable, value: Any) -> None:
        (tensor,) = promote((value,)) if not isinstance(value, Tensor) else (self.read(value),)
        if tensor.dtype != var.dtype:
            if tensor.dtype.kind != var.dtype.kind and not (tensor.dtype.kind in "iub" and var.dtype.kind == "f"):
                raise DTypeError(
                    f"Variable {var.name!r} ({var.dtype.name}): assign got {tensor.dtype.name}; cast it first"
                )
            tensor = cast(tensor, var.dtype)
        if tensor.shape != var.shape:
            if len(tensor.shape) > len(var.shape) or any(
                isinstance(a, int) and a not in (1, b) for a, b in zip(tensor.shape[::-1], var.shape[::-1])
            ):
                raise ShapeError(
                    f"Variable {var.name!r}: assign got shape {shp.shape_str(tensor.shape)}, "
                    f"the Variable's is {shp.shape_str(var.shape)}"
                )
            tensor = broadcast_to(tensor, var.shape)
        self.assigned[id(var)] = (var, tensor)


@dataclass
class _Trace:
    """One trace: the compiled function, and how to turn its outputs back into the traced
    function's result."""

    function: Function
    rebuild: Callable[[list[Any]], Any]
    slots: list[Any]  # per result leaf: an output index, or the Python value to return
    prints: list[tuple[str, int, int]]  # (format, first output, count) per sg.print


_ARRAY_TYPES = (np.ndarray, EagerTensor)


class TracedFunction:
    """A function traced into compiled graphs, one per input signature."""

    def __init__(
        self,
        fn: Callable,
        input_signature: Any = None,
        reduce_retracing: bool = False,
        mode: str | None = None,
        passes: str | list[str] | None = None,
        name: str | None = None,
    ):
        functools.update_wrapper(self, fn)
        self.python_function = fn
        self.input_signature = None if input_signature is None else list(input_signature)
        self.reduce_retracing = reduce_retracing
        self.mode = mode
        self.passes = passes
        self.name = name or getattr(fn, "__name__", "traced")
        self._traces: dict[Any, _Trace] = {}
        self._last: _Trace | None = None
        self._last_key: Any = None
        self.trace_count = 0
        self._bound: weakref.WeakKeyDictionary[Any, TracedFunction] = weakref.WeakKeyDictionary()

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        """As a method (``@tf.function`` on ``train_step``): one traced function per object."""
        if instance is None:
            return self
        bound = self._bound.get(instance)
        if bound is None:
            bound = TracedFunction(
                self.python_function.__get__(instance, owner),
                self.input_signature,
                self.reduce_retracing,
                self.mode,
                self.passes,
                self.name,
            )
            self._bound[instance] = bound
        return bound

    # ------------------------------------------------------------ calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if TRACE.get() is not None:  # called while another function is traced: part of its graph
            return self.python_function(*args, **kwargs)
        leaves, rebuild_args, structure = flatten((args, kwargs))
        key, arrays = self._signature(leaves, structure)
        entry = self._traces.get(key)
        if entry is None:
            entry = self._trace(key, leaves, rebuild_args)
            self._traces[key] = entry
        self._last = entry
        results = entry.function(*arrays)
        if not isinstance(results, list):
            results = [results]
        for fmt, first, count in entry.prints:
            print(fmt.format(*results[first : first + count]))
        values = [EagerTensor(results[s], reads_state=True) if type(s) is int else s.value for s in entry.slots]
        return entry.rebuild(values)

    def _signature(self, leaves: list[Any], structure: Any) -> tuple[Any, list[np.ndarray]]:
        """The trace's key (what a call must match to reuse a trace) and the arrays fed."""
        arrays: list[np.ndarray] = []
        parts: list[Any] = [structure]
        batch = None
        for leaf in leaves:
            if isinstance(leaf, _ARRAY_TYPES):
                value = leaf.value if type(leaf) is EagerTensor else leaf
                if batch is None and value.ndim:
                    batch = value.shape[0]
                arrays.append(value)
                if self.input_signature is not None:
                    parts.append(("array", value.dtype))
                elif self.reduce_retracing:
                    parts.append(("array", value.dtype, value.ndim))
                else:
                    lead = "batch" if value.ndim and value.shape[0] == batch else value.shape[:1]
                    parts.append(("array", value.dtype, lead, value.shape[1:]))
            elif isinstance(leaf, Variable):
                parts.append(("variable", id(leaf)))
            elif isinstance(leaf, Tensor):
                raise InputError(
                    f"{self.name}: argument {leaf!r} is symbolic (it reads a placeholder); "
                    "call a traced function with arrays or eager tensors"
                )
            else:
                try:
                    hash(leaf)
                    parts.append(("python", type(leaf), leaf))
                except TypeError:
                    parts.append(("object", id(leaf)))
        return tuple(parts), arrays

    # ------------------------------------------------------------ tracing

    def _trace(self, key: Any, leaves: list[Any], rebuild_args: Callable) -> _Trace:
        if self.trace_count and debug_level():
            sys.stderr.write(f"[symgraph] jit: tracing {self.name!r} again: {_why(self._last_key, key)}\n")
        self.trace_count += 1
        self._last_key = key
        placeholders = self._placeholders(leaves)
        traced_args = []
        fed = iter(placeholders)
        for leaf in leaves:
            traced_args.append(next(fed) if isinstance(leaf, _ARRAY_TYPES) else leaf)
        args, kwargs = rebuild_args(traced_args)
        state = TraceState()
        token = TRACE.set(state)
        try:
            result = self.python_function(*args, **kwargs)
        finally:
            TRACE.reset(token)
        out_leaves, rebuild, _ = flatten(result)
        outputs: list[Tensor] = []
        slots: list[Any] = []
        for leaf in out_leaves:
            if isinstance(leaf, Tensor):
                slots.append(len(outputs))
                outputs.append(state.read(leaf))
            else:
                slots.append(_Static(leaf))
        prints: list[tuple[str, int, int]] = []
        for fmt, tensors in state.prints:
            prints.append((fmt, len(outputs), len(tensors)))
            outputs += tensors
        updates = [(var, value) for var, value in state.assigned.values()]
        compiled = function(placeholders, outputs, updates=updates, mode=self.mode, name=self.name, passes=self.passes)
        return _Trace(compiled, rebuild, slots, prints)

    def _placeholders(self, leaves: list[Any]) -> list[Tensor]:
        arrays = [leaf for leaf in leaves if isinstance(leaf, _ARRAY_TYPES)]
        if self.input_signature is not None:
            specs = flatten(self.input_signature)[0]
            if len(specs) != len(arrays):
                raise InputError(f"{self.name}: input_signature has {len(specs)} tensors, the call {len(arrays)}")
            result = []
            for k, (spec, a) in enumerate(zip(specs, arrays)):
                value = a.value if type(a) is EagerTensor else a
                if value.ndim != len(spec.shape) or any(
                    d is not None and d != n for d, n in zip(spec.shape, value.shape)
                ):
                    raise InputError(
                        f"{self.name}: argument {k} has shape {value.shape}, input_signature says {spec.shape}"
                    )
                result.append(placeholder(spec.shape, spec.dtype, name=spec.name or f"arg{k}"))
            return result
        batch_dim = None
        first = None
        result = []
        for k, a in enumerate(arrays):
            value = a.value if type(a) is EagerTensor else a
            if first is None and value.ndim:
                first = value.shape[0]
                batch_dim = shp.sym(f"{self.name}.batch")
            if self.reduce_retracing:
                shape: tuple = tuple(None for _ in value.shape)
            elif value.ndim and value.shape[0] == first:
                shape = (batch_dim, *value.shape[1:])
            else:
                shape = value.shape
            result.append(placeholder(shape, value.dtype, name=f"arg{k}"))
        return result

    # ------------------------------------------------------------ inspection

    def _compiled(self) -> Function:
        if self._last is None:
            raise InputError(f"{self.name}: not traced yet (call it once first)")
        return self._last.function

    def dump(self, file: Any = None, optimized: bool = True) -> str | None:
        """The last trace's graph (``Function.dump``)."""
        return self._compiled().dump(file=file, optimized=optimized)

    @property
    def c_source(self) -> str | None:
        """The last trace's C unit."""
        return self._compiled().c_source

    @property
    def report(self) -> Any:
        """The last trace's pass report."""
        return self._compiled().report

    @property
    def function(self) -> Function:
        """The last trace's compiled ``sg.function``."""
        return self._compiled()

    def experimental_get_tracing_count(self) -> int:
        """TensorFlow's name for ``trace_count``."""
        return self.trace_count


@dataclass(frozen=True)
class _Static:
    """A result leaf that is a Python value of the trace, returned as it is."""

    value: Any


def _why(old: Any, new: Any) -> str:
    """A retrace's reason: the first argument whose description differs."""
    if old is None:
        return "first call"
    if old[0] != new[0]:
        return "the arguments' structure changed"
    for k, (a, b) in enumerate(zip(old[1:], new[1:])):
        if a != b:
            return f"argument leaf {k} was {_describe(a)}, now {_describe(b)}"
    return "a new signature"


def _describe(part: Any) -> str:
    kind = part[0]
    if kind == "array":
        return f"an array of {part[1]}" + (f" with trailing shape {part[3]}" if len(part) > 3 else "")
    if kind == "python":
        return f"the Python value {part[2]!r}"
    return kind


def jit(
    fn: Callable | None = None,
    *,
    input_signature: Any = None,
    reduce_retracing: bool = False,
    jit_compile: Any = None,
    autograph: Any = None,
    mode: str | None = None,
    passes: str | list[str] | None = None,
    name: str | None = None,
) -> Any:
    """Trace ``fn`` into compiled graphs (``@sg.jit``, ``@sg.jit(input_signature=...)``).
    ``jit_compile`` and ``autograph`` are TensorFlow's, accepted and ignored: everything is
    compiled, and Python control flow on traced values is an error, not converted."""

    def wrap(f: Callable) -> TracedFunction:
        return TracedFunction(f, input_signature, reduce_retracing, mode, passes, name)

    return wrap(fn) if fn is not None else wrap


def print_values(*values: Any, sep: str = " ") -> None:
    """``tf.print``: print the values now, or, inside a traced function, at every call of
    the compiled function (after it returns)."""
    trace = TRACE.get()
    if trace is None:
        print(sep.join(str(_plain(v)) for v in values))
        return
    parts: list[str] = []
    tensors: list[Tensor] = []
    for v in values:
        if isinstance(v, Tensor):
            parts.append("{}")
            tensors.append(trace.read(v))
        else:
            parts.append(str(v).replace("{", "{{").replace("}", "}}"))
    trace.prints.append((sep.join(parts), tensors))


def _plain(v: Any) -> Any:
    if isinstance(v, Tensor):
        return eager_tensor(v).value
    return v
