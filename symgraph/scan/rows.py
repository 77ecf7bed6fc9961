"""Which rows of a scan's step are independent, and the step for a block of them.

Where the step treats the rows of its states and sequence rows independently (a
recurrent layer's batch), a block of rows can go through all the steps on its own
thread: ``row_chunks`` picks how many blocks, ``split_rows`` rebuilds the step for one
block of a static number of rows, ``symbolic_rows`` finds a symbolic number of rows the
same step can run in blocks of (sized at call time). ``optimize_scan_steps``
(symgraph/scan/rewrites.py) records the choice in the Scan's ``StepPlan``; the C
(symgraph/scan/kernel.py) follows it.
"""

from __future__ import annotations

import os

from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor
from symgraph.graph.shape import Dim, DimExpr, Sym
from symgraph.graph.sources import DimValue, placeholder
from symgraph.graph.traversal import replace, toposort
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.indexing import Subtensor
from symgraph.ops.linalg import MatMul
from symgraph.ops.shape_ops import BroadcastTo, Concatenate, broadcast_to
from symgraph.scan.step import InnerGraph

MIN_CHUNK_ROWS = 8  # a block of rows of a split scan has at least this many
CHUNKS_PER_CORE = 4  # and there are at most this many blocks per core
CACHED_WEIGHT_BYTES = 1 << 20  # non-sequences up to this size stay in a core's cache


def weight_bytes_of(inner: InnerGraph) -> int:
    """The bytes of the step's non-sequences of static shape: the recurrent weights every
    block of rows reads at every step."""
    weights = [t for t in inner.non_sequences if all(isinstance(d, int) for d in t.shape)]
    return sum(t.dtype.itemsize * shp.prod(list(t.shape)) for t in weights)


def row_chunks(batch: object, weight_bytes: int = 0) -> int:
    """Blocks of rows a scan whose step treats its ``batch`` rows independently is split
    into (1: no split): blocks of at least ``MIN_CHUNK_ROWS`` rows dividing the batch
    evenly, up to ``CHUNKS_PER_CORE`` per core, so that a thread slowed by another
    process leaves blocks to the others (dynamic schedule); small blocks also suit
    BLAS (8 x 512 x 128 runs faster per flop than 64 x 512 x 128 on one core). Where
    the step's non-sequences (the recurrent weights every block reads at every step)
    outgrow a core's cache, one block per core, so each reads them fewer times."""
    if not isinstance(batch, int):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    most = cores if weight_bytes > CACHED_WEIGHT_BYTES else CHUNKS_PER_CORE * cores
    for chunks in range(min(most, batch // MIN_CHUNK_ROWS), 1, -1):
        if batch % chunks == 0:
            return chunks
    return 1


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
    batch = independent_rows(inner)
    if chunks < 2 or not isinstance(batch, int) or batch % chunks:
        return None
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


def symbolic_rows(inner: InnerGraph, optimized: InnerGraph) -> Sym | None:
    """The symbol that is the number of rows, where the step treats a symbolic number
    of rows independently and uses the symbol for nothing else (no other axis, index,
    size value or non-sequence mentions it, in the traced step ``inner`` or in it
    ``optimized`` by the passes): run with that
    symbol's size set to a block's rows, the same step computes the block. Else None."""
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

    for graph in (inner.outputs, optimized.outputs):
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
