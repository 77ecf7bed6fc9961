"""Elementwise fusion: chains, diamonds and broadcasts of elementwise ops become one
loop (one ``FusedElementwise`` node), so intermediate values never reach memory.

Legality and profit are kept apart: ``can_fuse`` says whether absorbing a producer
into a group keeps the program's meaning (every consumer of the producer's value is in
the group, and it is not an output); ``worth_fusing`` says whether it pays (it computes
at the group's shape, or is a scalar: a producer of a smaller broadcast shape would be
recomputed for every output element). Heuristics only ever see legal candidates.
"""

from __future__ import annotations

from symgraph.graph.core import Node, Tensor, apply, located
from symgraph.graph.traversal import toposort
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.fused import FusedElementwise


def fuse_elementwise(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Each maximal group of fusable elementwise nodes becomes one fused node."""
    order = toposort(outputs)
    consumers: dict[int, list[Node]] = {}
    for node in order:
        for t in node.inputs:
            consumers.setdefault(id(t), []).append(node)
    graph_outputs = {id(t) for t in outputs}
    assigned: set[int] = set()
    groups: dict[int, list[Node]] = {}  # root's id -> the group, in topological order
    for root in reversed(order):
        if id(root) in assigned or not _fusable(root):
            continue
        group = _grow(root, consumers, graph_outputs, assigned)
        if len(group) < 2:
            continue
        assigned.update(id(n) for n in group)
        groups[id(root)] = group
    if not groups:
        return outputs, 0
    # one sweep in topological order: a group's outside inputs may be other groups' roots
    new: dict[int, Tensor] = {}
    for node in order:
        if id(node) in groups:
            new[id(node.outputs[0])] = _fused(groups[id(node)], new)
        elif id(node) not in assigned and node.inputs:
            inputs = [new.get(id(t), t) for t in node.inputs]
            if any(a is not b for a, b in zip(inputs, node.inputs)):
                with located(node.location):
                    rebuilt = apply(node.op, *inputs)
                for old, fresh in zip(node.outputs, rebuilt.outputs):
                    new[id(old)] = fresh
    return [new.get(id(t), t) for t in outputs], len(groups)


def _fusable(node: Node) -> bool:
    return isinstance(node.op, Elementwise) and not isinstance(node.op, FusedElementwise)


def can_fuse(producer: Node, group: set[int], consumers: dict[int, list[Node]], graph_outputs: set[int]) -> bool:
    """Legality: the producer's value is needed by nothing outside the group."""
    value = producer.outputs[0]
    return id(value) not in graph_outputs and all(id(c) in group for c in consumers.get(id(value), []))


def worth_fusing(producer: Node, root: Node) -> bool:
    """Profit: the producer runs at the group's shape (or is a scalar), so fusing it
    repeats no work."""
    shape = producer.outputs[0].shape
    return shape == root.outputs[0].shape or all(d == 1 for d in shape)


def _grow(root: Node, consumers, graph_outputs, assigned: set[int]) -> list[Node]:
    """The group rooted at ``root``, in topological order."""
    members = {id(root): root}
    frontier = [root]
    while frontier:
        node = frontier.pop()
        for t in node.inputs:
            producer = t.node
            if id(producer) in members or id(producer) in assigned or not _fusable(producer):
                continue
            if can_fuse(producer, set(members), consumers, graph_outputs) and worth_fusing(producer, root):
                members[id(producer)] = producer
                frontier.append(producer)
    ordered = []
    for node in toposort([root.outputs[0]]):
        if id(node) in members:
            ordered.append(node)
    return ordered


def _fused(group: list[Node], new: dict[int, Tensor]) -> Tensor:
    """One FusedElementwise node computing the group's last node from its outside inputs
    (as already rewritten: ``new`` maps a replaced tensor to its replacement)."""
    position = {id(n): j for j, n in enumerate(group)}
    inputs: list[Tensor] = []
    program = []
    for node in group:
        refs = []
        for t in node.inputs:
            if id(t.node) in position:
                refs.append(("step", position[id(t.node)]))
            else:
                t = new.get(id(t), t)
                k = next((i for i, x in enumerate(inputs) if x is t), None)
                if k is None:
                    k = len(inputs)
                    inputs.append(t)
                refs.append(("in", k))
        program.append((node.op, tuple(refs), node.inputs[0].dtype, node.outputs[0].dtype))
    root = group[-1]
    with located(root.location):
        return apply(FusedElementwise(tuple(program)), *inputs).outputs[0]
