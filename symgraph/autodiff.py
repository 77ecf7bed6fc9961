"""Symbolic reverse-mode differentiation: one backward sweep, ``vjp``.

``vjp(outputs, cotangents, wrt)`` is the only reverse-mode traversal in symgraph (JAX's
``backward_pass``): ``grad`` calls it with the seed 1 on a scalar cost, the gradient of
``sg.scan`` calls it on the step's graph, and the tape builds on it. The result is
ordinary graph, so it can be compiled, rewritten and differentiated again. Gradients
flow only through float tensors; a ``wrt`` that the cost does not depend on through a
differentiable path is an error in ``grad`` unless ``disconnected="zero"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from symgraph import dtypes
from symgraph.errors import GradientError
from symgraph.graph.core import Node, Tensor, describe_failure
from symgraph.graph.sources import Constant
from symgraph.graph.traversal import toposort
from symgraph.ops.arithmetic import Add, add
from symgraph.ops.elementwise import cast
from symgraph.ops.indexing import IncSubtensor
from symgraph.ops.shape_ops import concatenate, ones_like, zeros_like


def grad(
    cost: Tensor,
    wrt: Tensor | Sequence[Tensor],
    disconnected: str = "raise",
    consider_constant: Sequence[Tensor] = (),
) -> Tensor | list[Tensor]:
    """d(cost)/d(wrt) as graph; ``wrt`` one tensor or a list (the result matches).

    ``cost`` must be a float scalar. ``disconnected`` is "raise" (a GradientError names
    the tensor the cost does not depend on) or "zero" (its gradient is zeros).
    ``consider_constant`` lists tensors through which no gradient flows.
    """
    if disconnected not in ("raise", "zero"):
        raise ValueError(f"disconnected must be 'raise' or 'zero', got {disconnected!r}")
    single = isinstance(wrt, Tensor)
    targets = [wrt] if single else list(wrt)
    if not isinstance(cost, Tensor):
        raise GradientError(f"grad: the cost must be a symbolic Tensor, got {type(cost).__name__}")
    if cost.ndim != 0:
        raise GradientError(
            f"grad: the cost must be a scalar (0-d), got shape {cost.type}; reduce it first (sg.sum, sg.mean)"
        )
    if not dtypes.is_float(cost.dtype):
        raise GradientError(f"grad: the cost must be a float, got {cost.dtype.name}")
    for t in targets:
        if not isinstance(t, Tensor):
            raise GradientError(f"grad: wrt must hold Tensors, got {type(t).__name__}")
        if not dtypes.is_float(t.dtype):
            raise GradientError(
                f"grad: cannot differentiate with respect to {t!r}: its dtype {t.dtype.name} is not a float"
            )

    results = []
    for t, g in zip(targets, vjp([cost], [ones_like(cost)], targets, consider_constant=consider_constant)):
        if g is None:
            if disconnected == "raise":
                label = f"'{t.name}'" if t.name else repr(t)
                raise GradientError(
                    f"grad: the cost does not depend on {label} through a differentiable path "
                    "(pass disconnected='zero' to get zeros instead)"
                )
            g = zeros_like(t)
        results.append(g)
    return results[0] if single else results


def vjp(
    outputs: Sequence[Tensor],
    cotangents: Sequence[Tensor | None],
    wrt: Sequence[Tensor],
    *,
    consider_constant: Sequence[Tensor] = (),
) -> list[Tensor | None]:
    """The vector-Jacobian product: the gradient of sum_k <cotangents[k], outputs[k]>
    with respect to each of ``wrt``, as graph; None for a ``wrt`` that no output depends
    on through float tensors (TensorFlow's and JAX's answer for an unconnected input).

    ``cotangents[k]`` is None where output k has no cotangent; a cotangent of another
    dtype than its output is cast. No gradient flows through ``consider_constant``.
    """
    if len(cotangents) != len(outputs):
        raise ValueError(f"vjp: {len(outputs)} outputs but {len(cotangents)} cotangents")
    blocked = {id(t) for t in consider_constant}
    order = toposort([o for o, g in zip(outputs, cotangents) if g is not None])
    depends = _depends_on(order, list(wrt), blocked)
    grads: dict[int, Tensor] = {}
    for out, g in zip(outputs, cotangents):
        if g is None:
            continue
        g = cast(g, out.dtype) if g.dtype != out.dtype else g
        grads[id(out)] = add(grads[id(out)], g) if id(out) in grads else g
    for node in reversed(order):
        if not node.inputs:
            continue
        output_grads = [grads.get(id(o)) for o in node.outputs]
        if all(g is None for g in output_grads) or not any(id(t) in depends for t in node.inputs):
            continue
        output_grads = [merge_slice_grads(g) if g is not None else None for g in output_grads]
        input_grads = node.op.grad(list(node.inputs), list(node.outputs), output_grads)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.op.name}.grad returned {len(input_grads)} gradients for {len(node.inputs)} inputs"
            )
        for x, g in zip(node.inputs, input_grads):
            if g is None or id(x) not in depends or id(x) in blocked or not dtypes.is_float(x.dtype):
                continue
            _check_gradient_type(node, x, g)
            if g.dtype != x.dtype:
                g = cast(g, x.dtype)
            grads[id(x)] = add(grads[id(x)], g) if id(x) in grads else g
    return [merge_slice_grads(grads[id(t)]) if id(t) in grads else None for t in wrt]


def _check_gradient_type(node: Node, x: Tensor, g: Tensor) -> None:
    if g.shape != x.shape:
        message = f"gradient for input of type {x.type} has type {g.type} (a bug in {node.op.name}.grad)"
        raise RuntimeError(describe_failure(node.op, node.inputs, node.location, message))


def _depends_on(order: list[Node], targets: list[Tensor], blocked: set[int]) -> set[int]:
    """Ids of the tensors that depend on a target through float tensors."""
    depends = {id(t) for t in targets}
    for node in order:
        if any(id(t) in depends and id(t) not in blocked for t in node.inputs):
            for o in node.outputs:
                if dtypes.is_float(o.dtype):
                    depends.add(id(o))
    return depends


def merge_slice_grads(g: Tensor) -> Tensor:
    """A sum of gradients of slices that tile one axis, each added into zeros (what
    the gradient of ``z[:, :u]``, ``z[:, u:2u]``, ... is), as one concatenate: one write
    of the result instead of a zeroed buffer per slice and a sum of them."""
    terms = sum_terms(g)
    if len(terms) < 2:
        return g
    pieces: list[tuple[int, Tensor]] = []
    axis = None
    for term in terms:
        node = term.node
        if not isinstance(node.op, IncSubtensor) or node.op.mode != "add" or not is_zeros(node.inputs[0]):
            return g
        spec = node.op.spec
        sliced = [a for a, entry in enumerate(spec) if entry[0] != "all"]
        if len(sliced) != 1 or spec[sliced[0]][0] != "slice":
            return g
        _, start, step, length = spec[sliced[0]]
        value = node.inputs[1]
        if step != 1 or not isinstance(start, int) or not isinstance(length, int) or value.ndim != g.ndim:
            return g
        if axis is None:
            axis = sliced[0]
        if sliced[0] != axis or value.shape[axis] != length:
            return g
        if any(value.shape[a] != g.shape[a] for a in range(g.ndim) if a != axis):
            return g
        pieces.append((start, value))
    pieces.sort(key=lambda p: p[0])
    covered = 0
    for start, value in pieces:
        if start != covered:
            return g
        covered += value.shape[axis]
    if covered != g.shape[axis]:
        return g
    return concatenate([value for _, value in pieces], axis=axis)


def sum_terms(g: Tensor) -> list[Tensor]:
    """The summands of ``g`` (through adds of operands of its own shape and dtype)."""
    if isinstance(g.node.op, Add) and all(t.shape == g.shape and t.dtype == g.dtype for t in g.node.inputs):
        return [t for x in g.node.inputs for t in sum_terms(x)]
    return [g]


def is_zeros(t: Tensor) -> bool:
    """Whether ``t`` is a constant zero (possibly broadcast)."""
    node = t.node
    while node.op.name == "broadcast_to" and node.inputs:
        node = node.inputs[0].node
    return isinstance(node.op, Constant) and not np.any(node.op.value)
