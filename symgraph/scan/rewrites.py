"""The rewrites of scans, two passes of the pipeline's ordered list.

- ``prune_scan_outputs``: scan outputs nothing reads are not computed. A layer may
  return per-step values only for its gradient (the LSTM's pre-activations, which
  backpropagation through time reads instead of recomputing them): in a function that
  takes no gradient nothing reads them, and the Scan is rebuilt without them, so the
  loop neither computes nor stores them. Fed-back states always stay.
- ``optimize_scan_steps``: each Scan's step graph goes through the same pass list
  (fusion inside the step pays every step; a nested scan's step is planned by the
  same pass, recursively), and the step's rows are planned (symgraph/scan/rows.py):
  the Scan is rebuilt with a ``StepPlan`` that the C backend and the reference follow.
  The step as traced stays on the op: gradients differentiate that.
"""

from __future__ import annotations

from collections.abc import Callable

from symgraph.graph.core import Node, Tensor, apply
from symgraph.graph.traversal import toposort
from symgraph.passes.rewrite import rewrite
from symgraph.scan import rows
from symgraph.scan.op import Scan
from symgraph.scan.step import InnerGraph, StepPlan

StepOptimizer = Callable[[list[Tensor]], list[Tensor]]


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
        kept_history = tuple(op.keep_history[k] for k in kept)
        new = apply(Scan(pruned, op.n_steps, op.reverse, kept_history, op.shifts), *node.inputs)
        replacement = list(node.outputs)  # the dropped ones: nothing reads them
        for position, k in enumerate(kept):
            replacement[k] = new.outputs[position]
        return replacement

    return rewrite(outputs, rule)


def optimize_scan_steps(outputs: list[Tensor], optimize_step: StepOptimizer) -> tuple[list[Tensor], int]:
    """Each Scan not yet planned, rebuilt with the plan of its step; ``optimize_step``
    rewrites a step's outputs (the pipeline passes its own selection of passes)."""

    def rule(node: Node) -> list[Tensor] | None:
        op = node.op
        if not isinstance(op, Scan) or op.plan is not None:
            return None
        plan = plan_step(op.inner, optimize_step)
        planned = Scan(op.inner, op.n_steps, op.reverse, op.keep_history, op.shifts, plan)
        return list(apply(planned, *node.inputs).outputs)

    return rewrite(outputs, rule)


def plan_step(inner: InnerGraph, optimize_step: StepOptimizer) -> StepPlan:
    """The optimised step, and the blocks of rows it may run in: a static number of rows
    split into ``row_chunks`` blocks where ``split_rows`` can, else a symbolic number of
    rows (``symbolic_rows``) where blocks would pay (the C sizes them at call time)."""
    weight_bytes = rows.weight_bytes_of(inner)
    optimized = _optimized(inner, optimize_step)
    rowed = [*inner.sequences, *inner.states]
    batch = rowed[0].shape[0] if rowed and rowed[0].ndim else None
    chunks = rows.row_chunks(batch, weight_bytes)
    split = rows.split_rows(inner, chunks) if chunks > 1 else None
    if split is not None:
        return StepPlan(optimized, chunks, _optimized(split, optimize_step))
    symbol = rows.symbolic_rows(inner, optimized) if rows.row_chunks(1 << 20, weight_bytes) > 1 else None
    return StepPlan(optimized, rows=symbol)


def _optimized(inner: InnerGraph, optimize_step: StepOptimizer) -> InnerGraph:
    outputs = optimize_step(list(inner.outputs))
    return InnerGraph(inner.sequences, inner.states, inner.non_sequences, outputs, inner.feedback)
