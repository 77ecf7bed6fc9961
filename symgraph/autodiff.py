"""Symbolic reverse-mode differentiation: ``grad`` builds graph for the gradients.

The result is ordinary graph, so it can be compiled, rewritten and differentiated
again. Gradients flow only through float tensors; a ``wrt`` that the cost does not
depend on through a differentiable path is an error unless ``disconnected="zero"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from symgraph import dtypes
from symgraph.errors import GradientError
from symgraph.graph.core import Tensor, describe_failure
from symgraph.graph.traversal import toposort
from symgraph.ops.arithmetic import add
from symgraph.ops.elementwise import cast
from symgraph.ops.shape_ops import ones_like, zeros_like


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

    blocked = {id(t) for t in consider_constant}
    order = toposort([cost])
    depends = _depends_on_targets(order, targets, blocked)
    grads: dict[int, Tensor] = {id(cost): ones_like(cost)}

    for node in reversed(order):
        if not node.inputs:
            continue
        output_grads = [grads.get(id(o)) for o in node.outputs]
        if all(g is None for g in output_grads):
            continue
        if not any(id(t) in depends for t in node.inputs):
            continue
        input_grads = node.op.grad(list(node.inputs), list(node.outputs), output_grads)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.op.name}.grad returned {len(input_grads)} gradients for {len(node.inputs)} inputs"
            )
        for x, g in zip(node.inputs, input_grads):
            if g is None or id(x) not in depends or id(x) in blocked or not dtypes.is_float(x.dtype):
                continue
            if g.shape != x.shape:
                message = f"gradient for input of type {x.type} has type {g.type} (a bug in {node.op.name}.grad)"
                raise RuntimeError(describe_failure(node.op, node.inputs, node.location, message))
            if g.dtype != x.dtype:
                g = cast(g, x.dtype)
            previous = grads.get(id(x))
            grads[id(x)] = g if previous is None else add(previous, g)

    results = []
    for t in targets:
        g = grads.get(id(t))
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


def _depends_on_targets(order, targets: list[Tensor], blocked: set[int]) -> set[int]:
    """Ids of the tensors that depend on a target through float tensors."""
    depends = {id(t) for t in targets}
    for node in order:
        if any(id(t) in depends and id(t) not in blocked for t in node.inputs):
            for o in node.outputs:
                if dtypes.is_float(o.dtype):
                    depends.add(id(o))
    return depends
