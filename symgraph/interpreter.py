"""The numpy reference interpreter: runs a graph node by node with each op's
``reference`` implementation. It is the "py" mode of ``sg.function``, the oracle the C
backend is tested against, and the engine of constant folding.

Every value it produces is checked against its tensor's type (the symbolic shape
resolved for this call), so a shape rule and its reference can never silently disagree,
and a symbolic dimension that differs from what the graph assumed at call time is a
ShapeError naming the node and the user's line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from symgraph.errors import (
    IndexOutOfRangeError,
    InvalidValueError,
    NaNError,
    ShapeError,
    SymgraphError,
    plain_message,
)
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor, describe_call_failure
from symgraph.graph.shape import Sym
from symgraph.graph.sources import Placeholder, SharedVariable, Variable
from symgraph.graph.traversal import toposort
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.linalg import MatMul
from symgraph.provenance import check_addressable, covers_text, explain_call_failure, first_nan_step


class Interpreter:
    """A schedule of ``outputs`` given values for ``inputs``, run with numpy."""

    def __init__(self, inputs: Sequence[Tensor], outputs: Sequence[Tensor], nan_guard: bool = False):
        self.inputs = list(inputs)
        self.nan_guard = nan_guard  # raise NaNError at the first node whose result holds a NaN
        self.outputs = list(outputs)
        self.nodes = toposort(self.outputs)
        # after node i runs, the tensors whose last use it was are dropped
        last_use: dict[int, int] = {}
        for i, node in enumerate(self.nodes):
            for t in node.inputs:
                last_use[id(t)] = i
        # the results run() checks before computing anything: those whose size depends on
        # the call's sizes, and static ones already too large (every call then fails)
        self._sized = [
            t
            for n in self.nodes
            if n.inputs
            for t in n.outputs
            if not shp.is_static_shape(t.shape) or shp.too_large(t.shape, t.dtype.itemsize, {}) is not None
        ]
        kept = {id(t) for t in self.outputs}
        self._release: list[list[int]] = [[] for _ in self.nodes]
        for tid, i in last_use.items():
            if tid not in kept:
                self._release[i].append(tid)

    def run(self, input_values: Sequence[np.ndarray], sizes: Mapping[Sym, int]) -> list[np.ndarray]:
        self._check_sizes(sizes)
        values: dict[int, np.ndarray] = {id(t): v for t, v in zip(self.inputs, input_values)}
        for node, release in zip(self.nodes, self._release):
            first = node.outputs[0]
            if id(first) not in values:
                if isinstance(node.op, SharedVariable):
                    assert isinstance(first, Variable)
                    values[id(first)] = first.storage
                elif isinstance(node.op, Placeholder):
                    raise RuntimeError(f"placeholder {node.op.label!r} has no value (not among the inputs)")
                else:
                    args = [values[id(t)] for t in node.inputs]
                    results = evaluate_node(node, args, sizes)
                    if self.nan_guard:
                        check_nan(node, args, results, sizes)
                    for t, v in zip(node.outputs, results):
                        values[id(t)] = v
            for tid in release:
                values.pop(tid, None)
        return [values[id(t)] for t in self.outputs]

    def _check_sizes(self, sizes: Mapping[Sym, int]) -> None:
        """Before anything is computed, as the C unit does: no result holds more bytes than
        memory can address (numpy would raise its own error midway, or wrap)."""
        for t in self._sized:
            check_addressable(t, sizes)


def evaluate_node(node: Node, args: list[np.ndarray], sizes: Mapping[Sym, int]) -> tuple[np.ndarray, ...]:
    """The node's outputs computed by its op's reference, checked against their types."""
    op = node.op
    if isinstance(op, Elementwise):
        _check_no_runtime_broadcast(node, args, sizes)
    elif isinstance(op, MatMul):  # the batch axes broadcast by the same rule (the matrices: no)
        _check_no_runtime_broadcast(node, args, sizes, matrix_axes=2)
    return evaluate_static_node(node, args, sizes)


def evaluate_static_node(node: Node, args: list[np.ndarray], sizes: Mapping[Sym, int]) -> tuple[np.ndarray, ...]:
    """``evaluate_node`` for a node whose input shapes its type rule has seen as they
    are (an eager op: no symbolic size, so no call-time broadcast to check)."""
    op = node.op
    try:
        result = op.reference(*args, sizes=sizes) if op.needs_sizes else op.reference(*args)
    except SymgraphError as exc:
        raise type(exc)(runtime_failure(node, args, plain_message(exc), sizes)) from None
    except IndexError as exc:
        raise IndexOutOfRangeError(runtime_failure(node, args, str(exc), sizes)) from None
    except ValueError as exc:
        shape_words = ("shape", "broadcast", "size", "dimension")
        cls = ShapeError if any(w in str(exc) for w in shape_words) else InvalidValueError
        raise cls(runtime_failure(node, args, str(exc), sizes)) from None
    results = result if isinstance(result, tuple) else (result,)
    checked = []
    for t, value in zip(node.outputs, results):
        value = np.asarray(value)
        expected = shp.evaluate_shape(t.shape, sizes) if sizes else t.shape
        if value.shape != expected:
            message = f"the result has shape {value.shape}, but the graph was built for {t.type} = {expected}"
            raise ShapeError(runtime_failure(node, args, message, sizes))
        if value.dtype != t.dtype:
            raise RuntimeError(
                runtime_failure(node, args, f"reference returned {value.dtype}, type says {t.dtype} (a bug)")
            )
        checked.append(value)
    return tuple(checked)


def _check_no_runtime_broadcast(
    node: Node, args: list[np.ndarray], sizes: Mapping[Sym, int], matrix_axes: int = 0
) -> None:
    """Only axes of static size 1 broadcast; a symbolic size must match exactly (numpy
    would broadcast a symbolic size that is 1 at this call; the C kernels do not). The
    last ``matrix_axes`` axes of each input are not broadcast axes (a product's)."""
    out_shape = shp.evaluate_shape(node.outputs[0].shape, sizes)
    for t, value in zip(node.inputs, args):
        offset = len(out_shape) - value.ndim
        for axis, (static, actual) in enumerate(zip(t.shape[: t.ndim - matrix_axes], value.shape)):
            if static != 1 and actual != out_shape[offset + axis]:
                message = (
                    f"at call time, axis {axis} of an input has size {actual} where the graph "
                    f"needs {out_shape[offset + axis]} (symbolic sizes never broadcast)"
                )
                raise ShapeError(runtime_failure(node, args, message, sizes))


def runtime_failure(node: Node, args: list[np.ndarray], message: str, sizes: Mapping[Sym, int] | None = None) -> str:
    """A call-time error message naming the node (for a fused node: the covered node the
    user built that failed), its inputs' types and actual shapes, and the user's line."""
    return explain_call_failure(node, [np.shape(v) for v in args], message, sizes, args)


def check_nan(node: Node, args: list[np.ndarray], results: Sequence[np.ndarray], sizes: Mapping[Sym, int]) -> None:
    """``nan_guard``: raise NaNError when a float result of ``node`` holds a NaN, naming
    the node (for a fused node, the covered node whose step first made it)."""
    for k, value in enumerate(results):
        if value.dtype.kind not in "fc" or not np.isnan(value).any():
            continue
        step = first_nan_step(node, args)
        if step is not None:
            member, shapes, message = step
            text = describe_call_failure(member, shapes, message)
            raise NaNError(text + f"\n  fused into one kernel with: {covers_text(node)}")
        flat = int(np.argmax(np.isnan(value).reshape(-1)))
        held = [str(i + 1) for i, a in enumerate(args) if a.dtype.kind in "fc" and np.isnan(a).any()]
        note = f" (input {', '.join(held)} already held a NaN)" if held else ""
        which = f"output {k} " if len(results) > 1 else ""
        message = f"{which}produced a NaN, first at flat index {flat}{note}"
        raise NaNError(runtime_failure(node, args, message, sizes))
