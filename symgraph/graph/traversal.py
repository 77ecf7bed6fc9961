"""Walking graphs: topological order, leaves, and rebuilding with replacements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from symgraph.graph.core import Node, Tensor, apply


def toposort(outputs: Iterable[Tensor]) -> list[Node]:
    """Every node the outputs depend on, each after its inputs' nodes."""
    order: list[Node] = []
    done: set[int] = set()
    stack: list[tuple[Node, bool]] = [(t.node, False) for t in reversed(list(outputs))]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for t in reversed(node.inputs):
            if id(t.node) not in done:
                stack.append((t.node, False))
    return order


def leaves(outputs: Iterable[Tensor]) -> list[Node]:
    """The nodes without inputs (placeholders, Variables, constants) in topological order."""
    return [n for n in toposort(outputs) if not n.inputs]


def replace(outputs: list[Tensor], replacements: Mapping[Tensor, Tensor]) -> list[Tensor]:
    """``outputs`` rebuilt with each key tensor replaced by its value.

    Nodes downstream of a replacement are rebuilt through ``apply`` (so they intern and
    their types are checked again); everything else is shared with the original graph.
    """
    new: dict[int, Tensor] = {id(k): v for k, v in replacements.items()}
    for node in toposort(outputs):
        if all(id(o) in new for o in node.outputs) or not node.inputs:
            continue
        inputs = [new.get(id(t), t) for t in node.inputs]
        if all(a is b for a, b in zip(inputs, node.inputs)):
            continue
        rebuilt = apply(node.op, *inputs)
        for old, fresh in zip(node.outputs, rebuilt.outputs):
            new.setdefault(id(old), fresh)
    return [new.get(id(t), t) for t in outputs]
