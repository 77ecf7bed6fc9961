"""Building a Scan from a Python step function: ``fn`` is called once, on placeholders,
and the graph it returns becomes the step (``trace_scan``; ``sg.scan`` and the
recurrent layers of ``sg.nn`` are built on it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from symgraph.errors import DTypeError, Location, ShapeError, user_location
from symgraph.graph.core import Tensor, apply, located
from symgraph.graph.shape import Dim
from symgraph.graph.sources import Constant, DimValue, as_tensor, placeholder
from symgraph.graph.traversal import replace, toposort
from symgraph.scan.op import Scan, same_shape
from symgraph.scan.step import InnerGraph

_INLINE_CONSTANT_MAX = 256  # larger constants the step uses are passed in like non-sequences


def trace_scan(
    fn: Callable[..., Any],
    sequences: Sequence[Tensor],
    outputs_info: Sequence[Tensor | None],
    non_sequences: Sequence[Tensor],
    n_steps: Dim,
    reverse: bool = False,
    keep_history: Sequence[bool] | None = None,
    location: Location | None = None,
) -> list[Tensor]:
    """The outputs of a Scan whose step is ``fn(*sequence_rows, *states, *non_sequences)``.

    ``outputs_info`` has one entry per output of ``fn``: its initial state (the output
    is fed back) or None. Tensors ``fn`` uses from outside (closures: weights, Variables)
    become extra non-sequences, so the step graph has only its own placeholders as leaves
    (and constants)."""
    location = location or user_location()
    seq_ph = [placeholder(s.shape[1:], s.dtype, name=f"scan_seq{i}") for i, s in enumerate(sequences)]
    inits = [info for info in outputs_info if info is not None]
    state_ph = [placeholder(s.shape, s.dtype, name=f"scan_state{i}") for i, s in enumerate(inits)]
    nonseq_ph = [placeholder(p.shape, p.dtype, name=f"scan_param{i}") for i, p in enumerate(non_sequences)]
    result = fn(*seq_ph, *state_ph, *nonseq_ph)
    outs = list(result) if isinstance(result, (list, tuple)) else [result]
    outs = [as_tensor(o) for o in outs]
    where = f"\n  scan called at {location}" if location else ""
    if len(outs) != len(outputs_info):
        raise ShapeError(
            f"scan: the step function returned {len(outs)} outputs, but outputs_info has "
            f"{len(outputs_info)} entries (one per output: an initial state or None){where}"
        )
    feedback: list[int | None] = []
    state = 0
    for k, (out, info) in enumerate(zip(outs, outputs_info)):
        if info is None:
            feedback.append(None)
            continue
        if out.dtype != info.dtype or not same_shape(out.shape, info.shape):
            built = f"\n  the output was built at {out.node.location}" if out.node.location else ""
            cls = DTypeError if out.dtype != info.dtype else ShapeError
            raise cls(
                f"scan: output {k} of the step function is {out.type}, but it is fed back as the state "
                f"whose initial value (outputs_info[{k}]) is {info.type}: a state must keep its dtype and "
                f"shape from step to step{built}{where}"
            )
        feedback.append(state)
        state += 1

    keep = tuple(keep_history) if keep_history is not None else (True,) * len(outs)
    return build_scan(
        seq_ph,
        state_ph,
        nonseq_ph,
        outs,
        tuple(feedback),
        sequences,
        inits,
        non_sequences,
        n_steps,
        reverse,
        keep,
        location,
    )


def build_scan(
    seq_ph: list[Tensor],
    state_ph: list[Tensor],
    nonseq_ph: list[Tensor],
    outs: list[Tensor],
    feedback: tuple[int | None, ...],
    sequences: Sequence[Tensor],
    inits: Sequence[Tensor],
    non_sequences: Sequence[Tensor],
    n_steps: Dim,
    reverse: bool,
    keep_history: tuple[bool, ...],
    location: Location | None,
    shifts: tuple[int, ...] | None = None,
    firsts: Sequence[Tensor] = (),
) -> list[Tensor]:
    """The Scan node's outputs for a traced step (placeholders and outputs), outside
    tensors the step uses lifted into extra non-sequences. ``firsts``: the first rows of
    the sequences that ``shifts`` shifts, in order (see Scan)."""
    own = {id(p) for p in [*seq_ph, *state_ph, *nonseq_ph]}
    captured, captured_ph, outs = _lift_closures(outs, own)
    inner = InnerGraph(list(seq_ph), list(state_ph), [*nonseq_ph, *captured_ph], outs, feedback)
    op = Scan(inner, n_steps, reverse, keep_history, shifts)
    with located(location):
        node = apply(op, *sequences, *inits, *non_sequences, *captured, *firsts)
    return list(node.outputs)


def _lift_closures(outs: list[Tensor], own: set[int]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """Outside tensors the step uses, placeholders standing for them, and the outputs
    rebuilt on those placeholders. Subgraphs of small constants stay inside (folded,
    inlined into the step's C)."""
    order = toposort(outs)
    dependent: set[int] = set(own)
    closed: set[int] = set()  # computed from constants and sizes only
    for node in order:
        if not node.inputs:
            small = not isinstance(node.op, Constant) or node.op.value.size <= _INLINE_CONSTANT_MAX
            if isinstance(node.op, (Constant, DimValue)) and small:
                closed.update(id(t) for t in node.outputs)
            continue
        if any(id(t) in dependent for t in node.inputs):
            dependent.update(id(t) for t in node.outputs)
        elif all(id(t) in closed for t in node.inputs):
            closed.update(id(t) for t in node.outputs)
    outside: dict[int, Tensor] = {}
    for node in order:
        if any(id(t) in dependent for t in node.outputs):
            for t in node.inputs:
                if id(t) not in dependent and id(t) not in closed:
                    outside.setdefault(id(t), t)
    for t in outs:
        if id(t) not in dependent and id(t) not in closed:
            outside.setdefault(id(t), t)
    captured = list(outside.values())
    captured_ph = [placeholder(t.shape, t.dtype, name=f"scan_outer{i}") for i, t in enumerate(captured)]
    outs = replace(outs, dict(zip(captured, captured_ph)))
    return captured, captured_ph, outs
