"""Scan outputs nothing reads are not computed.

A layer may return per-step values only for its gradient (the LSTM's pre-activations,
which backpropagation through time reads instead of recomputing them): in a function
that takes no gradient nothing reads them, and this pass rebuilds the Scan without
them, so the loop neither computes nor stores them. Fed-back states always stay.

``split_rows`` (used by the C backend, symgraph/codegen/scan.py) rebuilds a step that
treats the rows of its states independently for a block of those rows.
"""

from __future__ import annotations

from symgraph.graph.core import Node, Tensor, apply
from symgraph.graph.shape import Dim, DimExpr, Sym
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
        kept_history = tuple(op.keep_history[k] for k in kept)
        new = apply(Scan(pruned, op.n_steps, op.reverse, kept_history, op.shifts), *node.inputs)
        replacement = list(node.outputs)  # the dropped ones: nothing reads them
        for position, k in enumerate(kept):
            replacement[k] = new.outputs[position]
        return replacement

    return rewrite(outputs, rule)


def independent_rows(inner: InnerGraph) -> Dim | None:
    """The number of rows (axis 0 of every sequence row, state and output: the batch of
    a recurrent layer) where the step treats them independently, else None.

    Row r of every output then depends only on row r of the sequences and states (and
    on the non-sequences), so a block of rows can go through all the steps on its own.
    Checked op by op on the traced step: elementwise ops whose operands either have the
    rows or broadcast along them, basic indexing that keeps axis 0 whole, concatenation
    along another axis, and row-block @ matrix products; anything else, or a
    non-sequence that has the rows, gives None. A value the same in every row broadcast
    to the rows (``_row_broadcasts``) has them too."""
    from symgraph.ops.elementwise import Elementwise
    from symgraph.ops.indexing import Subtensor
    from symgraph.ops.linalg import MatMul
    from symgraph.ops.shape_ops import Concatenate

    rowed = [*inner.sequences, *inner.states]
    if not rowed or any(t.ndim == 0 for t in rowed):
        return None
    batch = rowed[0].shape[0]
    if any(t.shape[0] != batch for t in rowed):
        return None
    rows = {id(t) for t in rowed}  # tensors whose axis 0 is the rows
    rows.update(id(t) for t in _row_broadcasts(inner, batch))

    for node in toposort(inner.outputs):
        if not any(id(t) in rows for t in node.inputs):
            continue  # the same for every row (non-sequences, constants)
        op = node.op
        if isinstance(op, Elementwise):
            ndim = max(t.ndim for t in node.inputs)
            ok = all(
                (id(t) in rows and t.ndim == ndim) or (id(t) not in rows and (t.ndim < ndim or t.shape[0] == 1))
                for t in node.inputs
            )
        elif isinstance(op, Subtensor):
            ok = not op.spec or op.spec[0] == ("all",)
        elif isinstance(op, Concatenate):
            ok = op.axis != 0 and all(id(t) in rows for t in node.inputs)
        elif isinstance(op, MatMul):
            a, b = node.inputs
            ok = not op.transpose_a and a.ndim == 2 and id(a) in rows and id(b) not in rows and b.ndim == 2
        else:
            ok = False
        if not ok or not all(o.ndim > 0 and o.shape[0] == batch for o in node.outputs):
            return None
        rows.update(id(o) for o in node.outputs)
    if not all(id(t) in rows for t in inner.outputs):
        return None
    return batch


def _row_broadcasts(inner: InnerGraph, batch: Dim) -> list[Tensor]:
    """Outputs of broadcast_to nodes of the step that repeat a value the same in every
    row (no sequence or state reaches it) along ``batch`` rows (a column of ones BPTT
    writes beside its factors): a block of rows of them is the same value broadcast to
    the block's rows."""
    from symgraph.ops.shape_ops import BroadcastTo

    rowed = {id(t) for t in [*inner.sequences, *inner.states]}
    found, dependent = [], set(rowed)
    for node in toposort(inner.outputs):
        if any(id(t) in dependent for t in node.inputs):
            dependent.update(id(o) for o in node.outputs)
        elif isinstance(node.op, BroadcastTo) and node.outputs[0].ndim > 0 and node.outputs[0].shape[0] == batch:
            (x,) = node.inputs
            if x.ndim < node.outputs[0].ndim or x.shape[0] == 1:
                found.append(node.outputs[0])
    return found


def split_rows(inner: InnerGraph, chunks: int) -> InnerGraph | None:
    """The step for one of ``chunks`` equal blocks of its rows, where it treats a static
    number of rows independently (``independent_rows``) that ``chunks`` divides; else
    None."""
    from symgraph.graph.sources import placeholder
    from symgraph.graph.traversal import replace

    batch = independent_rows(inner)
    if chunks < 2 or not isinstance(batch, int) or batch % chunks:
        return None
    from symgraph.ops.shape_ops import broadcast_to

    block = batch // chunks
    rowed = [*inner.sequences, *inner.states]
    smaller = {t: placeholder((block, *t.shape[1:]), t.dtype, name=t.name) for t in rowed}
    for t in _row_broadcasts(inner, batch):
        smaller[t] = broadcast_to(t.node.inputs[0], (block, *t.shape[1:]))
    outputs = replace(list(inner.outputs), smaller)
    if any(o.shape[0] != block for o in outputs):
        return None
    return InnerGraph(
        [smaller[t] for t in inner.sequences],
        [smaller[t] for t in inner.states],
        list(inner.non_sequences),
        outputs,
        inner.feedback,
    )


def symbolic_rows(inner: InnerGraph) -> Sym | None:
    """The symbol that is the number of rows, where the step treats a symbolic number
    of rows independently and uses the symbol for nothing else (no other axis, index,
    size value or non-sequence mentions it, before or after the passes): run with that
    symbol's size set to a block's rows, the same step computes the block. Else None."""
    from symgraph.graph.sources import DimValue

    batch = independent_rows(inner)
    if not isinstance(batch, DimExpr) or len(batch.symbols()) != 1:
        return None
    (symbol,) = batch.symbols()
    if batch.terms != (((symbol,), 1),):  # the rows are the symbol itself, not 2 * batch, ...
        return None
    rowed = {id(t) for t in [*inner.sequences, *inner.states]}

    def mentions(value: object) -> bool:
        if isinstance(value, DimExpr):
            return symbol in value.symbols()
        if isinstance(value, (tuple, list)):
            return any(mentions(v) for v in value)
        return False

    for graph in (inner.outputs, inner.optimized_outputs()):
        order = toposort(graph)
        tensors = [*inner.non_sequences, *(t for node in order for t in node.outputs)]
        for t in tensors:
            leading = t.ndim > 0 and t.shape[0] == batch
            if mentions(t.shape[1:] if leading else t.shape) or (id(t) in rowed and not leading):
                return None
        for node in order:
            if isinstance(node.op, DimValue) or mentions(getattr(node.op, "spec", ())):
                return None
    return symbol
