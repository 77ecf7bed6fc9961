"""ONNX export: a symgraph graph as an ONNX model (``sg.onnx.export``).

The exporter reads the graph as built (a Function's ``graph_outputs``, before the
rewrite passes: fused nodes have no ONNX counterpart, the ops the user built each have
one) and maps each node to one or a few ONNX nodes, op by op (``_HANDLERS``):

- placeholders are the graph's inputs; a symbolic size stays symbolic, as a named
  ``dim_param`` (``batch``), and a shape an op needs at run time (``reshape`` to
  ``(batch, 144)``, ``broadcast_to``) is computed in the graph from the inputs' shapes
  (``Shape``, then the size's polynomial), or written with a ``-1`` where one size is
  unknown;
- Variables and constants are initializers (their values now); a node computed from
  Variables and constants alone (batch normalization's scale and shift, ``rsqrt(var +
  eps) * gamma``) is folded into one initializer when that makes nothing larger;
- channels-last convolutions and pools become ONNX's channels-first ``Conv`` and
  ``MaxPool``/``AveragePool`` between two ``Transpose`` nodes, with the filter
  transposed once, at export;
- a ``scan`` (the recurrent layers) becomes ONNX's ``Scan``, its step a subgraph: the
  step's states and sequence rows are the body's inputs, its non-sequences read from
  the enclosing graph by name.

A node without a mapping (a random draw, a gradient op, ...) raises UnsupportedError
naming the op and the user's line that built it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import InputError, ShapeError, UnsupportedError
from symgraph.function import Function
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor
from symgraph.graph.shape import DimExpr, Func, Sym
from symgraph.graph.sources import Constant, Placeholder, SharedVariable, Variable, placeholder
from symgraph.graph.traversal import toposort
from symgraph.onnx.opset import (
    DEFAULT_OPSET,
    MAX_EXPORT_OPSET,
    MIN_EXPORT_OPSET,
    ONNX_OF_NUMPY,
    clean_name,
    require,
)
from symgraph.ops.activations import SELU_ALPHA, SELU_SCALE
from symgraph.ops.conv import resolve_pads

onnx = require("onnx")
helper = onnx.helper
numpy_helper = onnx.numpy_helper

INT64_MIN = np.iinfo(np.int64).min
# A node of Variables and constants alone is folded into an initializer when its value
# has at most this many elements, or no more than its largest input (never a growth).
FOLD_LIMIT = 4096


def _elem_type(dtype: np.dtype, what: str) -> int:
    try:
        return ONNX_OF_NUMPY[np.dtype(dtype)]
    except KeyError:
        raise UnsupportedError(
            f"onnx export: {what} has dtype {np.dtype(dtype).name}, which ONNX export lacks"
        ) from None


def _dim_field(d: Any) -> int | str | None:
    """A shape entry of a value info: a size, a named symbol, or unknown."""
    if isinstance(d, int):
        return d
    if isinstance(d, DimExpr) and len(d.terms) == 1 and d.terms[0][1] == 1 and len(d.terms[0][0]) == 1:
        atom = d.terms[0][0][0]
        if isinstance(atom, Sym):
            return atom.name
    return None


def _value_info(name: str, t: Tensor) -> Any:
    return helper.make_tensor_value_info(name, _elem_type(t.dtype, name), [_dim_field(d) for d in t.shape])


def _describe(node: Node) -> str:
    where = f", created at {node.location}" if node.location is not None else ""
    return f"{node.op}{where}"


class _Model:
    """What every graph of one exported model shares: initializers, unique names, the
    sources of symbolic sizes and their computations (in the main graph)."""

    def __init__(self, opset: int):
        self.opset = opset
        self.initializers: list[Any] = []
        self.taken: set[str] = set()
        self.counter = 0
        self.leaf_names: dict[int, str] = {}
        self.folded: dict[int, np.ndarray | None] = {}
        self.keep: list[Any] = []  # the tensors whose ids key the dicts above stay alive
        self.sources: dict[Sym, tuple[str, int]] = {}
        self.dim_cache: dict[Any, str] = {}
        self.root: _Graph | None = None

    def fresh(self, hint: str) -> str:
        base = clean_name(hint, "v")
        name = base
        while name in self.taken:
            self.counter += 1
            name = f"{base}_{self.counter}"
        self.taken.add(name)
        return name

    def initializer(self, value: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    # -- values known at export: Variables, constants, and nodes of them alone
    def value_of(self, t: Tensor) -> np.ndarray | None:
        """The value of ``t`` now when it depends on Variables and constants alone and
        is small enough to store (see FOLD_LIMIT), else None."""
        key = id(t)
        if key in self.folded:
            return self.folded[key]
        self.keep.append(t)
        node = t.node
        value: np.ndarray | None = None
        if isinstance(node.op, SharedVariable):
            value = t.get_value() if isinstance(t, Variable) else None
        elif isinstance(node.op, Constant):
            value = np.asarray(node.op.value)
        elif node.bound and _foldable(node) and shp.is_static_shape(t.shape):
            inputs = [self.value_of(i) for i in node.inputs]
            size = math.prod(t.shape)
            if all(v is not None for v in inputs) and (
                size <= FOLD_LIMIT or size <= max((v.size for v in inputs), default=0)  # type: ignore[union-attr]
            ):
                kwargs = {"sizes": {}} if node.op.needs_sizes else {}
                results = node.op.reference(*inputs, **kwargs)
                results = results if isinstance(results, tuple) else (results,)
                for out, result in zip(node.outputs, results):
                    self.keep.append(out)
                    self.folded[id(out)] = np.asarray(result, dtype=out.dtype).reshape(out.shape)
                return self.folded[key]
        self.folded[key] = value
        return value

    def leaf_name(self, t: Tensor) -> str | None:
        """The initializer holding ``t``'s value (made on first use), or None."""
        key = id(t)
        if key in self.leaf_names:
            return self.leaf_names[key]
        value = self.value_of(t)
        if value is None:
            return None
        hint = t.name if isinstance(t.node.op, SharedVariable) and t.name else "const"
        name = self.initializer(value.astype(t.dtype, copy=False), hint)
        self.leaf_names[key] = name
        return name

    # -- symbolic sizes, computed in the main graph from the inputs' shapes
    def dim(self, d: Any) -> str:
        """An int64 tensor of shape (1,) holding the size ``d`` at run time."""
        if isinstance(d, int):
            return self.const(np.array([d], np.int64))
        key = ("dim", d.key)
        if key in self.dim_cache:
            return self.dim_cache[key]
        root = self.root
        total = None
        for mono, coeff in d.terms:
            term = None
            for atom in mono:
                factor = self._atom(atom)
                term = factor if term is None else root.one("Mul", [term, factor])
            if term is None:
                term = self.const(np.array([coeff], np.int64))
            elif coeff != 1:
                term = root.one("Mul", [term, self.const(np.array([coeff], np.int64))])
            total = term if total is None else root.one("Add", [total, term])
        self.dim_cache[key] = total
        return total

    def _atom(self, atom: Any) -> str:
        key = ("atom", atom.key)
        if key in self.dim_cache:
            return self.dim_cache[key]
        root = self.root
        if isinstance(atom, Sym):
            if atom not in self.sources:
                raise UnsupportedError(f"onnx export: the size {atom.name} comes from no input of the exported graph")
            name, axis = self.sources[atom]
            result = root.one("Shape", [name], start=axis, end=axis + 1)
        elif isinstance(atom, Func):
            args = [self.dim(a) for a in atom.args]
            if atom.kind == "floordiv":
                # floor division (ONNX's integer Div truncates): (a - a mod b) / b
                remainder = root.one("Mod", args, fmod=0)
                result = root.one("Div", [root.one("Sub", [args[0], remainder]), args[1]])
            else:
                result = root.one("Max" if atom.kind == "max" else "Min", args)
        else:
            raise UnsupportedError(f"onnx export: the size {atom} has no ONNX form")
        self.dim_cache[key] = result
        return result

    def const(self, value: np.ndarray) -> str:
        key = ("const", value.dtype.str, value.shape, value.tobytes())
        if key not in self.dim_cache:
            self.dim_cache[key] = self.initializer(value, "const")
        return self.dim_cache[key]


def _foldable(node: Node) -> bool:
    name = node.op.name
    return not name.startswith("random") and name not in ("scan", "placeholder")


class _Graph:
    """One ONNX graph being written: the main graph, or a Scan's body."""

    def __init__(self, model: _Model, parent: _Graph | None = None):
        self.model = model
        self.parent = parent
        self.nodes: list[Any] = []
        self.names: dict[int, str] = {}
        self.produced: set[str] = set()  # names a node of this graph writes
        self.preferred: dict[int, str] = {}
        self.keep: list[Tensor] = []

    @property
    def opset(self) -> int:
        return self.model.opset

    def add(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str] | int = 1, **attrs: Any) -> list[str]:
        """Append an ONNX node; ``outputs`` are names, or a count of fresh ones."""
        if isinstance(outputs, int):
            outputs = [self.model.fresh(op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), **attrs))
        self.produced.update(outputs)
        return list(outputs)

    def one(self, op_type: str, inputs: Sequence[str], out: str | None = None, **attrs: Any) -> str:
        return self.add(op_type, inputs, [out] if out is not None else 1, **attrs)[0]

    def const(self, value: Any, dtype: Any = None) -> str:
        return self.model.const(np.asarray(value, dtype=dtype))

    def rename_last(self, value: str, out: str) -> None:
        """Make ``value`` (a chain's result) appear as ``out``: the last node writes
        ``out`` instead when ``value`` is that node's fresh output, else an Identity."""
        last = self.nodes[-1] if self.nodes else None
        if last is not None and list(last.output) == [value] and value not in self.model.dim_cache.values():
            last.output[0] = out
            self.produced.discard(value)
            self.produced.add(out)
        else:
            self.one("Identity", [value], out)

    def dim(self, d: Any) -> str:
        return self.model.dim(d)

    def shape(self, dims: Sequence[Any]) -> str:
        """An int64 1-D tensor holding ``dims`` at run time."""
        if all(isinstance(d, int) for d in dims):
            return self.const(np.array(dims, np.int64).reshape(len(dims)))
        return self.model.root.one("Concat", [self.dim(d) for d in dims], axis=0)

    def ints(self, values: Sequence[Any]) -> str:
        """``values`` (ints or sizes) as an int64 1-D tensor."""
        return self.shape(values)

    def name_of(self, t: Tensor) -> str:
        key = id(t)
        if key in self.names:
            return self.names[key]
        name = self.model.leaf_name(t)
        if name is not None:
            return name
        if isinstance(t.node.op, Placeholder):
            raise InputError(
                f"onnx export: the outputs depend on the placeholder {t.node.op.label!r}, which is not among the inputs"
            )
        raise UnsupportedError(f"onnx export: {t!r} has no value in the exported graph")  # a bug of the walk

    def value_of(self, t: Tensor) -> np.ndarray | None:
        return self.model.value_of(t)

    def convert(self, outputs: Sequence[Tensor]) -> None:
        """ONNX nodes for every node ``outputs`` depend on, in order."""
        for node in toposort(outputs):
            if all(id(o) in self.names for o in node.outputs):
                continue
            if isinstance(node.op, (Placeholder, SharedVariable, Constant)):
                continue
            if node.outputs and all(self.model.value_of(o) is not None for o in node.outputs):
                continue  # folded: an initializer, made when read
            handler = _HANDLERS.get(node.op.name)
            if handler is None:
                raise UnsupportedError(
                    f"onnx export: the op {node.op.name} has no ONNX mapping (node {_describe(node)}); "
                    "export inference graphs (no random draws, gradients or losses)"
                )
            ins = [self.name_of(t) for t in node.inputs]
            outs = [self.preferred.pop(id(o), None) or self.model.fresh(node.op.name) for o in node.outputs]
            handler(self, node, ins, outs)
            for o, name in zip(node.outputs, outs):
                self.names[id(o)] = name
                self.keep.append(o)

    def outputs(self, tensors: Sequence[Tensor], names: Sequence[str] | None, avoid: set[str]) -> list[str]:
        """Convert the graph for ``tensors`` and give each a distinct name written by a
        node of this graph (an Identity where the value is an input, an initializer,
        another output or an outer value); ``names``: the names wanted, or None."""
        for k, t in enumerate(tensors):
            if names is not None and id(t) not in self.preferred and id(t) not in self.names:
                self.preferred[id(t)] = names[k]
        self.convert(tensors)
        result: list[str] = []
        for k, t in enumerate(tensors):
            name = self.name_of(t)
            wanted = names[k] if names is not None else None
            if name not in self.produced or name in result or name in avoid or (wanted and name != wanted):
                name = self.one("Identity", [name], wanted or self.model.fresh("output"))
            result.append(name)
        return result


# --- the op mappings -------------------------------------------------------------------

Handler = Callable[[_Graph, Node, list[str], list[str]], None]
_HANDLERS: dict[str, Handler] = {}


def _handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            _HANDLERS[name] = fn
        return fn

    return register


_SAME_NAME = {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "true_divide": "Div",
    "power": "Pow",
    "maximum": "Max",
    "minimum": "Min",
    "equal": "Equal",
    "less": "Less",
    "less_equal": "LessOrEqual",
    "greater": "Greater",
    "greater_equal": "GreaterOrEqual",
    "logical_and": "And",
    "logical_or": "Or",
    "logical_xor": "Xor",
    "logical_not": "Not",
    "negative": "Neg",
    "abs": "Abs",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "reciprocal": "Reciprocal",
    "sin": "Sin",
    "cos": "Cos",
    "tan": "Tan",
    "arcsin": "Asin",
    "arccos": "Acos",
    "arctan": "Atan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "tanh": "Tanh",
    "erf": "Erf",
    "floor": "Floor",
    "ceil": "Ceil",
    "round": "Round",
    "sign": "Sign",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "identity": "Identity",
    "stop_gradient": "Identity",
    "where": "Where",
}


def _same_name(g: _Graph, node: Node, ins: list[str], outs: list[str]) -> None:
    g.add(_SAME_NAME[node.op.name], ins, outs)


for _name in _SAME_NAME:
    _HANDLERS[_name] = _same_name


def _scalar(g: _Graph, value: float, dtype: np.dtype) -> str:
    return g.const(np.array(value, dtype))


@_handles("leaky_relu")
def _leaky_relu(g, node, ins, outs):
    g.add("LeakyRelu", ins, outs, alpha=float(node.op.negative_slope))


@_handles("elu")
def _elu(g, node, ins, outs):
    g.add("Elu", ins, outs, alpha=float(node.op.alpha))


@_handles("selu")
def _selu(g, node, ins, outs):
    g.add("Selu", ins, outs, alpha=float(SELU_ALPHA), gamma=float(SELU_SCALE))


@_handles("hard_sigmoid")
def _hard_sigmoid(g, node, ins, outs):
    g.add("HardSigmoid", ins, outs, alpha=1.0 / 6.0, beta=0.5)  # relu6(x + 3) / 6


@_handles("swish")
def _swish(g, node, ins, outs):
    g.add("Mul", [ins[0], g.one("Sigmoid", ins)], outs)


@_handles("gelu")
def _gelu(g, node, ins, outs):
    (x,), dtype = ins, node.inputs[0].dtype
    if g.opset >= 20:
        g.add("Gelu", ins, outs, approximate="tanh" if node.op.approximate else "none")
        return
    if node.op.approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.one("Mul", [x, g.one("Mul", [x, x])])
        inner = g.one("Add", [x, g.one("Mul", [cube, _scalar(g, 0.044715, dtype)])])
        t = g.one("Tanh", [g.one("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi), dtype)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.one("Erf", [g.one("Mul", [x, _scalar(g, 1 / math.sqrt(2), dtype)])])
    half_x = g.one("Mul", [x, _scalar(g, 0.5, dtype)])
    g.add("Mul", [half_x, g.one("Add", [t, _scalar(g, 1, dtype)])], outs)


@_handles("log1p")
def _log1p(g, node, ins, outs):
    g.add("Log", [g.one("Add", [ins[0], _scalar(g, 1, node.inputs[0].dtype)])], outs)


@_handles("expm1")
def _expm1(g, node, ins, outs):
    g.add("Sub", [g.one("Exp", ins), _scalar(g, 1, node.inputs[0].dtype)], outs)


@_handles("rsqrt")
def _rsqrt(g, node, ins, outs):
    g.add("Reciprocal", [g.one("Sqrt", ins)], outs)


@_handles("square")
def _square(g, node, ins, outs):
    g.add("Mul", [ins[0], ins[0]], outs)


@_handles("not_equal")
def _not_equal(g, node, ins, outs):
    g.add("Not", [g.one("Equal", ins)], outs)


@_handles("isnan")
def _isnan(g, node, ins, outs):
    if node.inputs[0].dtype.kind == "f":
        g.add("IsNaN", ins, outs)
    else:  # an integer is never NaN: x != x is all false, in x's shape
        g.add("Not", [g.one("Equal", [ins[0], ins[0]])], outs)


@_handles("isfinite")
def _isfinite(g, node, ins, outs):
    if node.inputs[0].dtype.kind == "f":
        g.add("Not", [g.one("Or", [g.one("IsNaN", ins), g.one("IsInf", ins)])], outs)
    else:
        g.add("Equal", [ins[0], ins[0]], outs)


@_handles("clip")
def _clip(g, node, ins, outs):
    x, lo, hi = ins  # numpy's order: minimum(maximum(x, lo), hi), bounds broadcast
    g.add("Min", [g.one("Max", [x, lo]), hi], outs)


@_handles("floor_divide")
def _floor_divide(g, node, ins, outs):
    a, b = ins
    if node.inputs[0].dtype.kind == "f":
        g.add("Floor", [g.one("Div", ins)], outs)
    else:  # exact: (a - a mod b) / b, the remainder with the divisor's sign
        g.add("Div", [g.one("Sub", [a, g.one("Mod", ins, fmod=0)]), b], outs)


@_handles("mod")
def _mod(g, node, ins, outs):
    a, b = ins
    dtype = node.inputs[0].dtype
    if dtype.kind != "f":
        g.add("Mod", ins, outs, fmod=0)
        return
    # numpy's remainder takes the divisor's sign: fmod, moved by b where the signs differ
    r = g.one("Mod", ins, fmod=1)
    zero = _scalar(g, 0, dtype)
    differ = g.one("Xor", [g.one("Less", [r, zero]), g.one("Less", [b, zero])])
    fix = g.one("And", [g.one("Not", [g.one("Equal", [r, zero])]), differ])
    g.add("Where", [fix, g.one("Add", [r, b]), r], outs)


@_handles("cast")
def _cast(g, node, ins, outs):
    g.add("Cast", ins, outs, to=_elem_type(node.op.dtype, "a cast"))


@_handles("softmax")
def _softmax(g, node, ins, outs):
    g.add("Softmax", ins, outs, axis=int(node.op.axis))


@_handles("log_softmax")
def _log_softmax(g, node, ins, outs):
    g.add("LogSoftmax", ins, outs, axis=int(node.op.axis))


def _swapped(g: _Graph, t: Tensor, name: str) -> str:
    """``t`` with its last two axes swapped (at export when its value is known)."""
    perm = list(range(t.ndim - 2)) + [t.ndim - 1, t.ndim - 2]
    value = g.value_of(t)
    if value is not None:
        return g.const(np.ascontiguousarray(np.transpose(value, perm)))
    return g.one("Transpose", [name], perm=perm)


@_handles("matmul")
def _matmul(g, node, ins, outs):
    a, b = ins
    if node.op.transpose_a:
        a = _swapped(g, node.inputs[0], a)
    if node.op.transpose_b:
        b = _swapped(g, node.inputs[1], b)
    g.add("MatMul", [a, b], outs)


def _reduce(g: _Graph, op_type: str, x: str, axes: Sequence[int], keepdims: bool, out: str | None = None) -> str:
    """ONNX's reduction over ``axes`` (an attribute before the opset that made it an input)."""
    input_since = 13 if op_type == "ReduceSum" else 18
    if g.opset >= input_since:
        return g.one(op_type, [x, g.const(np.array(axes, np.int64))], out, keepdims=int(keepdims))
    return g.one(op_type, [x], out, axes=list(axes), keepdims=int(keepdims))


def _reduced_input(g: _Graph, node: Node, x: str) -> str:
    """The input cast to the output's dtype (symgraph sums small ints in int64)."""
    if node.inputs[0].dtype != node.outputs[0].dtype:
        return g.one("Cast", [x], to=_elem_type(node.outputs[0].dtype, "a reduction"))
    return x


@_handles("sum", "prod", "max", "min")
def _reduction(g, node, ins, outs):
    op = node.op
    if not op.axes:
        g.add("Identity", [_reduced_input(g, node, ins[0])], outs)
        return
    op_type = {"sum": "ReduceSum", "prod": "ReduceProd", "max": "ReduceMax", "min": "ReduceMin"}[op.name]
    _reduce(g, op_type, _reduced_input(g, node, ins[0]), op.axes, op.keepdims, outs[0])


@_handles("any", "all")
def _any_all(g, node, ins, outs):
    op = node.op
    x = ins[0]
    if node.inputs[0].dtype != np.bool_:
        x = g.one("Cast", [x], to=ONNX_OF_NUMPY[np.dtype(bool)])
    if op.name == "all":  # all(x) = not any(not x)
        x = g.one("Not", [x])
    count = _reduce(g, "ReduceSum", g.one("Cast", [x], to=ONNX_OF_NUMPY[np.dtype(np.int64)]), op.axes, op.keepdims)
    found = g.one("Greater", [count, g.const(np.array(0, np.int64))])
    g.add("Not" if op.name == "all" else "Identity", [found], outs)


@_handles("argmax", "argmin")
def _argext(g, node, ins, outs):
    op, x = node.op, node.inputs[0]
    op_type = "ArgMax" if op.name == "argmax" else "ArgMin"
    if len(op.axes) == 1:
        g.add(op_type, ins, outs, axis=int(op.axes[0]), keepdims=int(op.keepdims))
        return
    flat = g.one("Reshape", [ins[0], g.const(np.array([-1], np.int64))])
    if op.keepdims:
        index = g.one(op_type, [flat], axis=0, keepdims=1)
        g.add("Reshape", [index, g.const(np.ones(x.ndim, np.int64))], outs)
    else:
        g.add(op_type, [flat], outs, axis=0, keepdims=0)


@_handles("cumsum")
def _cumsum(g, node, ins, outs):
    op = node.op
    x = _reduced_input(g, node, ins[0])
    g.add(
        "CumSum",
        [x, g.const(np.array(op.axis, np.int64))],
        outs,
        exclusive=int(op.exclusive),
        reverse=int(op.reverse),
    )


@_handles("reshape")
def _reshape(g, node, ins, outs):
    target = node.op.shape
    unknown = [k for k, d in enumerate(target) if not isinstance(d, int)]
    static = [d for d in target if isinstance(d, int)]
    if len(unknown) == 1 and 0 not in static:
        dims = [-1 if not isinstance(d, int) else d for d in target]
        g.add("Reshape", [ins[0], g.const(np.array(dims, np.int64).reshape(len(dims)))], outs)
        return
    # allowzero: a 0 in the shape is a size of 0, not "copy the input's size"
    g.add("Reshape", [ins[0], g.shape(target)], outs, allowzero=1 if 0 in static else None)


@_handles("broadcast_to")
def _broadcast_to(g, node, ins, outs):
    x, target = node.inputs[0], node.op.shape
    lead = len(target) - x.ndim
    # Expand broadcasts both ways: a size x already has is written as 1
    dims = [1 if k >= lead and x.shape[k - lead] == d else d for k, d in enumerate(target)]
    g.add("Expand", [ins[0], g.shape(dims)], outs)


@_handles("transpose")
def _transpose(g, node, ins, outs):
    g.add("Transpose", ins, outs, perm=list(node.op.perm))


@_handles("concatenate")
def _concatenate(g, node, ins, outs):
    g.add("Concat", ins, outs, axis=int(node.op.axis))


@_handles("dim_value")
def _dim_value(g, node, ins, outs):
    g.add("Reshape", [g.dim(node.op.dim), g.const(np.zeros(0, np.int64))], outs)


@_handles("arange")
def _arange(g, node, ins, outs):
    op = node.op
    dtype = np.dtype(op.dtype)
    elem = _elem_type(dtype, "arange")

    def scalar(d: Any) -> str:
        value = g.one("Reshape", [g.dim(d), g.const(np.zeros(0, np.int64))])
        return g.one("Cast", [value], to=elem)

    start = scalar(op.start) if isinstance(op.start, DimExpr) else _scalar(g, op.start, dtype)
    step = _scalar(g, op.step, dtype)
    limit = g.one("Add", [start, g.one("Mul", [scalar(op.length), step])])
    g.add("Range", [start, limit, step], outs)


@_handles("subtensor")
def _subtensor(g, node, ins, outs):
    starts: list[Any] = []
    ends: list[Any] = []
    axes: list[int] = []
    steps: list[int] = []
    squeeze: list[int] = []
    new: list[int] = []
    axis = out_pos = 0
    negative_dynamic = False
    for entry in node.op.spec:
        kind = entry[0]
        if kind == "new":
            new.append(out_pos)
            out_pos += 1
            continue
        if kind == "index":
            i = entry[1]
            starts.append(i)
            ends.append(i + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif kind == "slice":
            start, step, length = entry[1:]
            end = start + step * length
            if isinstance(end, int) and end < 0:
                end = INT64_MIN  # "before the first element" (a negative end counts from the end)
            elif step < 0 and not isinstance(end, int):
                negative_dynamic = True
            starts.append(start)
            ends.append(end)
            axes.append(axis)
            steps.append(step)
            out_pos += 1
        else:
            out_pos += 1
        axis += 1
    value = ins[0]
    if axes:
        ends_name = g.ints(ends)
        if negative_dynamic:  # a computed end below 0 means before the first element
            zero = g.const(np.array([0], np.int64))
            below = g.one("Less", [ends_name, zero])
            ends_name = g.one("Where", [below, g.const(np.array([INT64_MIN], np.int64)), ends_name])
        value = g.one(
            "Slice",
            [value, g.ints(starts), ends_name, g.const(np.array(axes, np.int64)), g.const(np.array(steps, np.int64))],
        )
    if squeeze:
        value = g.one("Squeeze", [value, g.const(np.array(squeeze, np.int64))])
    if new:
        value = g.one("Unsqueeze", [value, g.const(np.array(new, np.int64))])
    g.rename_last(value, outs[0])


@_handles("gather")
def _gather(g, node, ins, outs):
    axes = node.op.axes
    if len(axes) != 1:
        raise UnsupportedError(
            f"onnx export: a gather over several axes ({axes}) has no ONNX mapping yet (node {_describe(node)})"
        )
    g.add("Gather", ins, outs, axis=int(axes[0]))


def _spatial_pads(node: Node, x: Tensor, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int]):
    """ONNX's padding attributes for NHWC ``x``: explicit [top, left, bottom, right], or
    auto_pad SAME_UPPER (TF's "same": the odd pixel at the bottom/right) when a spatial
    size is symbolic."""
    padding = node.op.padding
    if padding != "same":
        (t, b), (left, r) = padding
        return {"pads": [int(t), int(left), int(b), int(r)]}
    h, w = x.shape[1], x.shape[2]
    if not (isinstance(h, int) and isinstance(w, int)):
        return {"auto_pad": "SAME_UPPER"}
    (t, b), _ = resolve_pads(h, kernel[0], strides[0], dilation[0], "same")
    (left, r), _ = resolve_pads(w, kernel[1], strides[1], dilation[1], "same")
    return {"pads": [t, left, b, r]}


def _static_kernel(node: Node, dims: Sequence[Any]) -> list[int]:
    if not all(isinstance(d, int) for d in dims):
        raise UnsupportedError(f"onnx export: a window of symbolic size {dims} (node {_describe(node)})")
    return [int(d) for d in dims]


@_handles("conv2d")
def _conv2d(g, node, ins, outs):
    op = node.op
    x, w = node.inputs
    kernel = _static_kernel(node, w.shape[:2])
    w_value = g.value_of(w)
    if w_value is not None:  # (kh, kw, in, out) -> ONNX's (out, in, kh, kw), once
        w_name = g.const(np.ascontiguousarray(np.transpose(w_value, (3, 2, 0, 1))))
    else:
        w_name = g.one("Transpose", [ins[1]], perm=[3, 2, 0, 1])
    x_nchw = g.one("Transpose", [ins[0]], perm=[0, 3, 1, 2])
    y = g.one(
        "Conv",
        [x_nchw, w_name],
        kernel_shape=kernel,
        strides=list(op.strides),
        dilations=list(op.dilation),
        group=int(op.groups),
        **_spatial_pads(node, x, kernel, op.strides, op.dilation),
    )
    g.add("Transpose", [y], outs, perm=[0, 2, 3, 1])


@_handles("max_pool2d", "avg_pool2d")
def _pool2d(g, node, ins, outs):
    op = node.op
    x = node.inputs[0]
    kernel = list(op.pool)
    x_nchw = g.one("Transpose", [ins[0]], perm=[0, 3, 1, 2])
    attrs = _spatial_pads(node, x, kernel, op.strides, (1, 1))
    if op.name == "avg_pool2d":  # padding is never part of a window: count_include_pad=0
        y = g.one("AveragePool", [x_nchw], kernel_shape=kernel, strides=list(op.strides), **attrs)
    else:
        y = g.one("MaxPool", [x_nchw], kernel_shape=kernel, strides=list(op.strides), **attrs)
    g.add("Transpose", [y], outs, perm=[0, 2, 3, 1])


@_handles("scan")
def _scan(g, node, ins, outs):
    op = node.op
    inner = op.inner
    if any(op.shifts):
        raise UnsupportedError(f"onnx export: a scan over shifted sequences (node {_describe(node)})")
    ns, nst = len(inner.sequences), len(inner.states)
    if ns == 0:
        raise UnsupportedError(
            f"onnx export: a scan without sequences (ONNX's Scan counts steps by a sequence) (node {_describe(node)})"
        )
    seqs, inits, nonseqs = op.split(ins)
    body = _Graph(g.model, parent=g)
    body_inputs = []
    for k, ph in enumerate(inner.states):
        name = g.model.fresh(f"state{k}")
        body.names[id(ph)] = name
        body_inputs.append(_value_info(name, ph))
    for k, ph in enumerate(inner.sequences):
        name = g.model.fresh(f"row{k}")
        body.names[id(ph)] = name
        body_inputs.append(_value_info(name, ph))
    for ph, outer in zip(inner.non_sequences, nonseqs):
        body.names[id(ph)] = outer  # read from the enclosing graph
    state_outputs = [inner.state_output(s) for s in range(nst)]
    history = [k for k in range(len(inner.outputs)) if op.keep_history[k] or inner.feedback[k] is None]
    tensors = [inner.outputs[k] for k in state_outputs] + [inner.outputs[k] for k in history]
    avoid = {vi.name for vi in body_inputs} | set(nonseqs)
    body_outs = body.outputs(tensors, None, avoid)
    graph = helper.make_graph(
        body.nodes,
        g.model.fresh("scan_body"),
        body_inputs,
        [_value_info(name, t) for name, t in zip(body_outs, tensors)],
    )
    finals = [outs[k] if not op.keep_history[k] else g.model.fresh("scan_final") for k in state_outputs]
    rows = {k: (outs[k] if op.keep_history[k] else g.model.fresh("scan_rows")) for k in history}
    attrs: dict[str, Any] = {"body": graph, "num_scan_inputs": ns}
    if op.reverse:
        attrs["scan_input_directions"] = [1] * ns
        attrs["scan_output_directions"] = [1] * len(history)
    g.add("Scan", [*inits, *seqs], [*finals, *(rows[k] for k in history)], **attrs)
    for k in history:
        if not op.keep_history[k]:  # only the last step's value: its row of the history
            last = 0 if op.reverse else -1
            g.add("Gather", [rows[k], g.const(np.array(last, np.int64))], [outs[k]], axis=0)


# --- the public functions --------------------------------------------------------------


def _graph_of(fn_or_outputs: Any, inputs: Sequence[Tensor] | None) -> tuple[list[Tensor], list[Tensor]]:
    """(inputs, outputs) of what to export."""
    if isinstance(fn_or_outputs, Function):
        if inputs is not None:
            raise InputError("onnx export: a Function has its own inputs; pass inputs only with output tensors")
        return list(fn_or_outputs.inputs), list(fn_or_outputs.graph_outputs[: len(fn_or_outputs.outputs)])
    outputs = [fn_or_outputs] if isinstance(fn_or_outputs, Tensor) else list(fn_or_outputs)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise InputError(
            "onnx export: export takes a compiled sg.function, or an output tensor (or a list of them) with inputs="
        )
    if inputs is None:
        inputs = [n.outputs[0] for n in toposort(outputs) if isinstance(n.op, Placeholder)]
    inputs = list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not isinstance(t.node.op, Placeholder):
            raise InputError(f"onnx export: inputs must be placeholders, got {t!r}")
    return inputs, outputs


def build_model(
    fn_or_outputs: Any,
    inputs: Sequence[Tensor] | None = None,
    opset: int = DEFAULT_OPSET,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    graph_name: str = "symgraph",
) -> Any:
    """The ONNX ModelProto of a graph (see ``symgraph.onnx.export``)."""
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_EXPORT_OPSET <= opset <= MAX_EXPORT_OPSET:
        raise InputError(
            f"onnx export: opset must be an int from {MIN_EXPORT_OPSET} to {MAX_EXPORT_OPSET}, got {opset!r}"
        )
    graph_inputs, graph_outputs = _graph_of(fn_or_outputs, inputs)
    for what, names, count in (
        ("input_names", input_names, len(graph_inputs)),
        ("output_names", output_names, len(graph_outputs)),
    ):
        if names is not None and (len(names) != count or len(set(names)) != count):
            raise InputError(f"onnx export: {what} must be {count} distinct names, got {list(names)!r}")
    model = _Model(opset)
    root = _Graph(model)
    model.root = root
    input_infos = []
    for k, t in enumerate(graph_inputs):
        name = model.fresh(input_names[k] if input_names else (t.name or f"input{k}"))
        root.names[id(t)] = name
        input_infos.append(_value_info(name, t))
        for axis, d in enumerate(t.shape):
            if isinstance(d, DimExpr):
                field = _dim_field(d)
                if field is None:
                    raise UnsupportedError(
                        f"onnx export: input {name!r} has the computed size {d} on axis {axis}; "
                        "ONNX inputs have fixed or named sizes"
                    )
                model.sources.setdefault(d.terms[0][0][0], (name, axis))
    wanted = [clean_name(n, f"output{k}") for k, n in enumerate(output_names)] if output_names else None
    if wanted:
        for n in wanted:
            if n in model.taken:
                raise InputError(f"onnx export: the output name {n!r} is an input's name too")
            model.taken.add(n)
    else:
        wanted = [model.fresh(f"output{k}") for k in range(len(graph_outputs))]
    names = root.outputs(graph_outputs, wanted, set())
    read = _names_read(root.nodes) | set(names)
    graph = helper.make_graph(
        root.nodes,
        graph_name,
        input_infos,
        [_value_info(n, t) for n, t in zip(names, graph_outputs)],
        initializer=[i for i in model.initializers if i.name in read],  # a folded value's source is not
    )
    opset_ids = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opset_ids, producer_name="symgraph")
    proto.ir_version = max(8, helper.find_min_ir_version_for(opset_ids))
    onnx.checker.check_model(proto)
    return proto


def _names_read(nodes: Sequence[Any]) -> set[str]:
    """Every value name a node reads, in subgraphs too."""
    read: set[str] = set()
    for node in nodes:
        read.update(node.input)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                read |= _names_read(attr.g.node) | {o.name for o in attr.g.output}
    return read


def export(
    fn_or_outputs: Any,
    path: str | os.PathLike | None,
    inputs: Sequence[Tensor] | None = None,
    opset: int = DEFAULT_OPSET,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Any:
    proto = build_model(fn_or_outputs, inputs, opset, input_names, output_names)
    if path is not None:
        onnx.save_model(proto, os.fspath(path))
    return proto


def export_model(
    model: Any,
    path: str | os.PathLike | None,
    opset: int = DEFAULT_OPSET,
    input_shape: Any = None,
    input_dtype: Any = None,
    input_signature: Any = None,
    verbose: bool | None = None,
    opset_version: int | None = None,
) -> Any:
    """A Keras-facade model's inference graph (``training=False``) as ONNX.

    ``input_signature`` (Keras' ``export`` keyword): one spec per input, objects with
    ``shape`` and ``dtype`` (``keras.InputSpec``, ``sg.TensorSpec``, a KerasTensor) or
    shape tuples; by default the model's declared inputs. ``opset_version`` is Keras'
    name for ``opset``."""
    if opset_version is not None:
        opset = opset_version
    if input_signature is not None:
        specs = (
            input_signature
            if isinstance(input_signature, (list, tuple)) and not _is_shape(input_signature)
            else [input_signature]
        )
        input_shape = [tuple(s) if _is_shape(s) else tuple(s.shape) for s in specs]
        input_dtype = [None if _is_shape(s) else getattr(s, "dtype", None) for s in specs]
    placeholders, structure = _model_inputs(model, input_shape, input_dtype)
    outs, _ = model._forward(placeholders, structure, False)
    names = list(getattr(model, "output_names", None) or [])
    output_names = names if len(names) == len(outs) and len(set(names)) == len(names) else None
    input_names = [p.name for p in placeholders]
    proto = export(outs, path, inputs=placeholders, opset=opset, input_names=input_names, output_names=output_names)
    if verbose and path is not None:
        print(f"Saved artifact at '{os.fspath(path)}'.")
    return proto


def _model_inputs(model: Any, input_shape: Any, input_dtype: Any) -> tuple[list[Tensor], Any]:
    """Placeholders for the model's inputs, the batch axis a size named "batch", and the
    structure the model is called with (one input alone, several as a list)."""
    declared = list(getattr(model, "inputs", None) or [])
    shapes = input_shape
    if shapes is None:
        shapes = [tuple(kt.shape) for kt in declared] or getattr(model, "_build_input_shape", None)
    if shapes is None:
        raise InputError(
            f"onnx export: the model {getattr(model, 'name', '')!r} declares no inputs and was never built: "
            "pass input_shape=(None, ...) (or a list of them), or build it first"
        )
    shapes = [tuple(shapes)] if _is_shape(shapes) else [tuple(s) for s in shapes]
    given = list(input_dtype) if isinstance(input_dtype, (list, tuple)) else [input_dtype] * len(shapes)
    batch = shp.sym("batch")
    placeholders: list[Tensor] = []
    taken: set[str] = set()
    for k, shape in enumerate(shapes):
        kt = declared[k] if k < len(declared) else None
        dtype = given[k] if k < len(given) and given[k] is not None else getattr(kt, "dtype", None) or "float32"
        if not shape:
            raise ShapeError(f"onnx export: input {k} has no batch axis (shape {shape})")
        label = clean_name(getattr(kt, "name", None) or f"input{k}", f"input{k}")
        while label in taken:
            label = f"{label}_{k}"
        taken.add(label)
        dims = (batch if shape[0] is None else shape[0], *shape[1:])
        placeholders.append(placeholder(dims, dtypes.as_dtype(dtype), name=label))
    structure = list(placeholders) if len(placeholders) > 1 else placeholders[0]
    return placeholders, structure


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)
