"""The graph verifier run after each pass when debugging: types and acyclicity."""

from __future__ import annotations

from symgraph.graph.core import Tensor
from symgraph.graph.traversal import toposort


def verify(outputs: list[Tensor], after: str = "") -> None:
    """Raise RuntimeError naming the pass when a node's recorded types disagree with
    its op's type rule on its inputs, or a node is reachable from itself."""
    order = toposort(outputs)
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for t in node.inputs:
            if position[id(t.node)] >= position[id(node)]:
                raise RuntimeError(f"after pass {after!r}: the graph has a cycle through {node.op}")
        if not node.inputs:
            continue
        types = node.op.infer(*node.inputs)
        types = types if isinstance(types, list) else [types]
        for t, expected in zip(node.outputs, types):
            if t.dtype != expected.dtype or t.shape != expected.shape:
                raise RuntimeError(f"after pass {after!r}: {node.op} records {t.type} but its rule gives {expected}")
