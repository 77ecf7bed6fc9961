"""Scan outputs nothing reads are not computed.

A layer may return per-step values only for its gradient (the LSTM's pre-activations,
which backpropagation through time reads instead of recomputing them): in a function
that takes no gradient nothing reads them, and this pass rebuilds the Scan without
them, so the loop neither computes nor stores them. Fed-back states always stay.
"""

from __future__ import annotations

from symgraph.graph.core import Node, Tensor, apply
from symgraph.graph.traversal import toposort
from symgraph.ops.scan import InnerGraph, Scan
from symgraph.passes.rewrite import rewrite


def prune_scan_outputs(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Each Scan with outputs that are not fed back and that nothing reads, rebuilt
    without them."""
    order = toposort(outputs)
    read = {id(t) for t in outputs} | {id(t) for node in order for t in node.inputs}
    unread: dict[int, list[int]] = {}  # id(op) -> indices of the outputs to drop
    for node in order:
        if isinstance(node.op, Scan):
            drop = [k for k, t in enumerate(node.outputs) if id(t) not in read and node.op.inner.feedback[k] is None]
            if drop:
                unread[id(node.op)] = drop
    if not unread:
        return outputs, 0

    def rule(node: Node) -> list[Tensor] | None:
        drop = unread.get(id(node.op)) if isinstance(node.op, Scan) else None
        if not drop:
            return None
        op = node.op
        inner = op.inner
        kept = [k for k in range(len(node.outputs)) if k not in drop]
        pruned = InnerGraph(
            inner.sequences,
            inner.states,
            inner.non_sequences,
            [inner.outputs[k] for k in kept],
            tuple(inner.feedback[k] for k in kept),
        )
        new = apply(Scan(pruned, op.n_steps, op.reverse, tuple(op.keep_history[k] for k in kept)), *node.inputs)
        replacement = list(node.outputs)  # the dropped ones: nothing reads them
        for position, k in enumerate(kept):
            replacement[k] = new.outputs[position]
        return replacement

    return rewrite(outputs, rule)
