"""Which nodes the user built a rewritten node from, and which of them a failure is about.

The fusion pass replaces a group of elementwise nodes (each with the user's file:line)
by one ``fused_elementwise`` node whose inputs are in the kernel's own order. Errors,
dumps and profiles should speak of what the user wrote, so the pass records here the
nodes each fused node covers (``record_fused``), in the order of its program's steps.

``explain_call_failure`` turns a failure at any node into the message the user reads:

- for an ordinary node, its op, its inputs' types with their actual shapes, and the
  user's line (``describe_call_failure``);
- for a fused node, the covered node that failed (found by replaying the covered nodes'
  shape checks with this call's sizes, or the steps themselves when the input values are
  at hand), with *its* inputs as the user built them, its line, and the list of the
  nodes fused with it.

The table is weak on the fused node: it lives as long as the graph that uses it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from symgraph.errors import ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor, describe_call_failure
from symgraph.graph.shape import Sym
from symgraph.ops.c_api import CLinkerOp
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.fused import FusedElementwise

_COVERS: weakref.WeakKeyDictionary[Node, tuple[Node, ...]] = weakref.WeakKeyDictionary()


def record_fused(fused: Node, members: Sequence[Node]) -> None:
    """Remember that ``fused`` computes ``members`` (one per program step, in order)."""
    _COVERS[fused] = tuple(members)


def covered_nodes(node: Node) -> tuple[Node, ...]:
    """The nodes the user built that ``node`` computes: its fused members, or itself."""
    return _COVERS.get(node, (node,))


def is_fused(node: Node) -> bool:
    return node in _COVERS


def covers_text(node: Node) -> str:
    """``mul at f.py:3, add at f.py:4``: the covered nodes and their lines."""
    parts = []
    for m in covered_nodes(node):
        where = f" at {m.location.short}" if m.location is not None else ""
        parts.append(f"{m.op.name}{where}")
    return ", ".join(parts)


def explain_call_failure(
    node: Node,
    input_shapes: Sequence[tuple[int, ...]],
    message: str,
    sizes: Mapping[Sym, int] | None = None,
    values: Sequence[np.ndarray] | None = None,
) -> str:
    """The message for a call-time failure at ``node`` (see the module docstring).

    ``sizes`` are this call's symbolic sizes; ``values`` the node's input arrays when
    they are known (the numpy interpreter), used to find the failing step of a fused node.
    """
    members = _COVERS.get(node)
    if members is None:
        return describe_call_failure(node, input_shapes, message)
    culprit = None
    if sizes is not None:
        culprit = _first_shape_failure(members, sizes)
    if culprit is None and values is not None:
        culprit = _first_failing_step(node, members, values, lambda out: False)
    if culprit is None:
        culprit = _flagging_member(members, message, sizes)
    if culprit is None and sizes is not None:
        culprit = _structural_member(members, message, sizes)
    if culprit is None:
        text = describe_call_failure(node, input_shapes, message)
        return text + f"\n  a fused kernel computing: {covers_text(node)}"
    member, member_shapes, member_message = culprit
    text = describe_call_failure(member, member_shapes, member_message or message)
    return text + f"\n  fused into one kernel with: {covers_text(node)}"


def check_addressable(t: Tensor, sizes: Mapping[Sym, int]) -> None:
    """ShapeError (naming the node that makes ``t``) when ``t`` would hold more bytes at
    these sizes than memory can address: the same words as the C unit's check."""
    count = shp.too_large(t.shape, t.dtype.itemsize, sizes)
    if count is not None:
        shapes = [shp.evaluate_shape(x.shape, sizes) for x in t.node.inputs]
        message = f"its result would hold {count} elements of {t.dtype.itemsize} bytes: more than memory can address"
        raise ShapeError(explain_call_failure(t.node, shapes, message, sizes))


def first_nan_step(node: Node, values: Sequence[np.ndarray]) -> tuple[Node, list[tuple[int, ...]], str] | None:
    """For a fused node given its input arrays: the covered node whose step first
    produces a NaN, its inputs' shapes, and a message; None if no step does."""
    members = _COVERS.get(node)
    if members is None:
        return None
    return _first_failing_step(node, members, values, lambda out: out.dtype.kind in "fc" and bool(np.isnan(out).any()))


def _flagging_member(
    members: Sequence[Node], message: str, sizes: Mapping[Sym, int] | None
) -> tuple[Node, list[tuple[int, ...]], str] | None:
    """The one covered node whose checks after the loop (``c_loop_checks``) raise
    ``message``, with its input shapes where this call's sizes give them."""
    found = []
    for member in members:
        op = member.op
        if not (isinstance(op, CLinkerOp) and member.inputs and message):
            continue
        if message in "\n".join(op.c_loop_checks(member.inputs[0].dtype)):
            found.append(member)
    if len(found) != 1:
        return None
    (member,) = found
    try:
        shapes = [shp.evaluate_shape(t.shape, sizes or {}) for t in member.inputs]
    except Exception:  # a size this call does not bind
        shapes = [t.shape for t in member.inputs]
    return member, shapes, message


def _structural_member(
    members: Sequence[Node], message: str, sizes: Mapping[Sym, int]
) -> tuple[Node, list[tuple[int, ...]], str] | None:
    """When no elementwise member failed: the one member that is not elementwise (the
    product of a fused matmul, a fused reduction), whose own check raised ``message``."""
    others = [m for m in members if not isinstance(m.op, Elementwise)]
    if len(others) != 1:
        return None
    try:
        shapes = [shp.evaluate_shape(t.shape, sizes) for t in others[0].inputs]
    except Exception:  # a size this call does not bind
        return None
    return others[0], shapes, message


def _first_shape_failure(
    members: Sequence[Node], sizes: Mapping[Sym, int]
) -> tuple[Node, list[tuple[int, ...]], str] | None:
    """The first covered node whose inputs' call-time sizes do not fit its output's
    (only axes of static size 1 broadcast), with its input shapes and the reason."""
    for member in members:
        if not isinstance(member.op, Elementwise):  # only broadcasting has this rule to replay
            continue
        try:
            out = shp.evaluate_shape(member.outputs[0].shape, sizes)
            shapes = [shp.evaluate_shape(t.shape, sizes) for t in member.inputs]
        except Exception:  # a size this call does not bind: nothing to replay
            return None
        for k, (t, actual) in enumerate(zip(member.inputs, shapes)):
            lead = len(out) - len(actual)
            for axis, (static, size) in enumerate(zip(t.shape, actual)):
                if static != 1 and size != out[lead + axis]:
                    reason = (
                        f"at call time, axis {axis} of input {k + 1} has size {size} where the graph "
                        f"needs {out[lead + axis]} (symbolic sizes never broadcast)"
                    )
                    return member, shapes, reason
    return None


def _first_failing_step(
    node: Node,
    members: Sequence[Node],
    values: Sequence[np.ndarray],
    bad: Callable[[np.ndarray], bool],
) -> tuple[Node, list[tuple[int, ...]], str] | None:
    """Run the fused program step by step on ``values``: the first step that raises, or
    whose result ``bad`` flags, as (covered node, its inputs' shapes, message)."""
    if not isinstance(node.op, FusedElementwise) or len(node.op.program) != len(members):
        return None
    program = node.op.program
    results: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        for (op, refs, _, _), member in zip(program, members):
            args = [np.asarray(values[k]) if kind == "in" else results[k] for kind, k in refs]
            shapes = [a.shape for a in args]
            try:
                out = np.asarray(op.reference(*args))
            except Exception as exc:
                return member, shapes, str(exc)
            if bad(out):
                flat = int(np.argmax(np.isnan(out).reshape(-1)))
                held = [str(k + 1) for k, a in enumerate(args) if a.dtype.kind in "fc" and np.isnan(a).any()]
                note = f" (input {', '.join(held)} already held a NaN)" if held else ""
                return member, shapes, f"produced a NaN, first at flat index {flat}{note}"
            results.append(out)
    return None
