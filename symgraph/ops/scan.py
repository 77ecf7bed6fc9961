"""Scan: a loop over steps whose body is a graph of its own (Theano's scan).

A ``Scan`` node holds an ``InnerGraph``: placeholders for one step's slice of each
sequence, for the previous value of each fed-back state and for the non-sequences (the
same value at every step), and the step's outputs. Step t (0 <= t < n) reads sequence
row j(t) and writes output row j(t), where j(t) = t, or n - 1 - t when ``reverse``; a
state's value before step t is the initial state for t = 0, else the fed-back output of
step t - 1.

Each output keeps its history (shape (n, *step_shape), rows in storage order j) or only
its last value (shape step_shape, for gradient accumulators: no n copies of a weight
gradient are ever stored).

The gradient is backpropagation through time: a second Scan running the other way over
the stored per-step values. Its step rebuilds the forward step on the sequences' rows
and the states before the step (the forward's history read one row off: a shifted
sequence, see Scan, so nothing is copied), differentiates it
(a vector-Jacobian product seeded with the output gradients of that step plus the
carried gradient of the states), carries the gradient of the states backward and
accumulates the gradients of the non-sequences (last value only). What makes it cheap:
forward values that an output stored are read, not recomputed (a layer may output its
gate activations for this; ``prune_scan_outputs`` drops them where nothing reads them);
gradient terms A_t^T @ B_t and row sums of the non-sequences leave the loop as one big
matmul or sum over all steps; gradients of slices that tile an axis become one
concatenate instead of a zeroed buffer per slice; the gradient of the final state alone
(of ``hs[-1]``) starts the carried gradient instead of being a zero-filled sequence.

``trace_scan`` builds a Scan from a Python step function; ``sg.scan`` (symgraph/scan.py)
is the user's entry with Theano's conventions. The C backend compiles the inner graph to
a static step function called in a C loop (symgraph/codegen/scan.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symgraph import autodiff, dtypes
from symgraph.errors import DTypeError, GradientError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Location, Op, Tensor, TensorType, apply, located, user_location
from symgraph.graph.shape import Dim
from symgraph.graph.sources import Constant, DimValue, as_tensor, placeholder
from symgraph.graph.traversal import replace, toposort
from symgraph.ops.registry import register

_serials = itertools.count()
_INLINE_CONSTANT_MAX = 256  # larger constants the step uses are passed in like non-sequences


@dataclass(eq=False)
class InnerGraph:
    """One step of a scan as a graph of its own."""

    sequences: list[Tensor]  # placeholders: one row of each sequence
    states: list[Tensor]  # placeholders: each fed-back state's value before the step
    non_sequences: list[Tensor]  # placeholders: the same value at every step
    outputs: list[Tensor]  # the step's outputs
    feedback: tuple[int | None, ...]  # per output: the state it feeds, or None
    _optimized: list[Tensor] | None = field(default=None, repr=False)

    @property
    def inputs(self) -> list[Tensor]:
        return [*self.sequences, *self.states, *self.non_sequences]

    def state_output(self, state: int) -> int:
        """The output that feeds ``state``."""
        return self.feedback.index(state)

    def optimized_outputs(self) -> list[Tensor]:
        """The outputs after the pass pipeline (fusion inside the step pays every step);
        the gradient differentiates the outputs as traced."""
        if self._optimized is None:
            from symgraph.passes.pipeline import optimize

            self._optimized, _ = optimize(list(self.outputs))
        return self._optimized


@register
class Scan(Op):
    """outputs = loop of ``inner`` over ``n_steps`` steps.

    Inputs: the sequences (n, ...), the initial states, the non-sequences, then the first
    row of each shifted sequence. Output k is (n, *inner.outputs[k].shape) where
    ``keep_history[k]``, else its last value.

    A shifted sequence (``shifts[i]`` = 1 or -1) is a history H (n, ...) read one row off
    with a first row F: row j of the sequence is H[j - 1] for j > 0 and F for j = 0
    (shift 1), or H[j + 1] for j < n - 1 and F for j = n - 1 (shift -1). It is each
    state's value before each step, as backpropagation through time reads it, without
    the copy concatenate([F, H])[:-1] would make."""

    name = "scan"
    needs_sizes = True

    def __init__(
        self,
        inner: InnerGraph,
        n_steps: Dim,
        reverse: bool,
        keep_history: tuple[bool, ...],
        shifts: tuple[int, ...] | None = None,
    ):
        self.inner = inner
        self.n_steps = n_steps
        self.reverse = bool(reverse)
        self.keep_history = tuple(bool(k) for k in keep_history)
        self.shifts = tuple(int(d) for d in shifts) if shifts is not None else (0,) * len(inner.sequences)
        if len(self.shifts) != len(inner.sequences) or any(d not in (-1, 0, 1) for d in self.shifts):
            raise ValueError(f"scan: shifts must be -1, 0 or 1 per sequence, got {self.shifts}")
        self._serial = next(_serials)
        self._interpreter = None

    def key(self) -> tuple:
        return (type(self), self._serial)

    def attributes(self) -> dict[str, Any]:
        inner = self.inner
        attrs: dict[str, Any] = {"steps": self.n_steps}
        if self.reverse:
            attrs["reverse"] = True
        attrs["sequences"] = len(inner.sequences)
        attrs["states"] = len(inner.states)
        attrs["non_sequences"] = len(inner.non_sequences)
        if any(self.shifts):
            attrs["shifted"] = sum(1 for d in self.shifts if d)
        attrs["step_nodes"] = len(toposort(inner.outputs))
        return attrs

    def split(self, values: Sequence[Any]) -> tuple[list, list, list]:
        """``values`` (one per input) as (sequences, initial states, non-sequences); the
        shifted sequences' first rows are ``firsts(values)``."""
        ns, nst, nn = len(self.inner.sequences), len(self.inner.states), len(self.inner.non_sequences)
        return list(values[:ns]), list(values[ns : ns + nst]), list(values[ns + nst : ns + nst + nn])

    def firsts(self, values: Sequence[Any]) -> list:
        """Per sequence: the first row of a shifted one (the trailing inputs), else None."""
        rest = iter(values[len(self.inner.inputs) :])
        return [next(rest) if d else None for d in self.shifts]

    def infer(self, *inputs: Tensor) -> list[TensorType]:
        inner = self.inner
        expected = len(inner.inputs) + sum(1 for d in self.shifts if d)
        if len(inputs) != expected:
            raise ShapeError(f"scan takes {expected} inputs, got {len(inputs)}")
        seqs, inits, nonseqs = self.split(inputs)
        firsts = [(f, p) for f, p in zip(self.firsts(inputs), inner.sequences) if f is not None]
        for what, outer, ph in (
            *(("sequence", s, p) for s, p in zip(seqs, inner.sequences)),
            *(("initial state", s, p) for s, p in zip(inits, inner.states)),
            *(("non-sequence", s, p) for s, p in zip(nonseqs, inner.non_sequences)),
            *(("first row of a shifted sequence", f, p) for f, p in firsts),
        ):
            step_shape = outer.shape[1:] if what == "sequence" else outer.shape
            if what == "sequence" and outer.ndim == 0:
                raise ShapeError("a sequence must have at least one axis (the steps)")
            if outer.dtype != ph.dtype or not _same_shape(step_shape, ph.shape):
                raise ShapeError(f"the {what} of type {outer.type} does not fit the step's {ph.type}")
        for s in seqs:
            if isinstance(s.shape[0], int) and isinstance(self.n_steps, int) and s.shape[0] != self.n_steps:
                raise ShapeError(f"a sequence has {s.shape[0]} steps, the scan runs {self.n_steps}")
        types = []
        for out, keep in zip(inner.outputs, self.keep_history):
            shape = (self.n_steps, *out.shape) if keep else out.shape
            types.append(TensorType(out.dtype, shape))
        return types

    def reference(self, *arrays: np.ndarray, sizes) -> tuple[np.ndarray, ...]:
        """The loop in Python, each step by the numpy interpreter on the optimized step."""
        from symgraph.interpreter import Interpreter

        inner = self.inner
        if self._interpreter is None:
            self._interpreter = Interpreter(inner.inputs, inner.optimized_outputs())
        n = shp.evaluate(self.n_steps, sizes)
        seqs, states, nonseqs = self.split(arrays)
        for i, s in enumerate(seqs):
            if s.shape[0] != n:
                raise ShapeError(f"sequence {i} has {s.shape[0]} steps, the scan runs {n}")
        for i, (d, first) in enumerate(zip(self.shifts, self.firsts(arrays))):
            if d == 1:
                seqs[i] = np.concatenate([first[None], seqs[i]])[:n]
            elif d == -1:
                seqs[i] = np.concatenate([seqs[i], first[None]])[1:]
        results: list[np.ndarray | None] = []
        for out, keep in zip(inner.outputs, self.keep_history):
            step_shape = shp.evaluate_shape(out.shape, sizes)
            results.append(np.empty((n, *step_shape), out.dtype) if keep else None)
        last: list[np.ndarray | None] = [None] * len(inner.outputs)
        for t in range(n):
            j = n - 1 - t if self.reverse else t
            outs = self._interpreter.run([s[j] for s in seqs] + states + nonseqs, sizes)
            for k, value in enumerate(outs):
                if self.keep_history[k]:
                    results[k][j] = value  # type: ignore[index]
                else:
                    last[k] = np.array(value, copy=True)
            states = [np.array(outs[inner.state_output(s)], copy=True) for s in range(len(states))]
        final = []
        for k, out in enumerate(inner.outputs):
            if self.keep_history[k]:
                final.append(results[k])
            elif last[k] is not None:
                final.append(last[k])
            elif inner.feedback[k] is not None:  # no steps: the state stays the initial one
                final.append(np.array(arrays[len(seqs) + inner.feedback[k]], copy=True))
            else:
                final.append(np.zeros(shp.evaluate_shape(out.shape, sizes), out.dtype))
        return tuple(final)

    def grad(self, inputs, outputs, output_grads):
        if not any(self.shifts):
            return _scan_grad(self, inputs, outputs, output_grads)
        # through the same loop on the sequences written out (concatenate, slice), then
        # from those back to each shifted sequence's history and first row
        seqs, inits, nonseqs = self.split(inputs)
        firsts = self.firsts(inputs)
        written = [_shifted_rows(s, f, d) if d else s for s, f, d in zip(seqs, firsts, self.shifts)]
        plain = Scan(self.inner, self.n_steps, self.reverse, self.keep_history)
        grads = _scan_grad(plain, [*written, *inits, *nonseqs], outputs, output_grads)
        result = list(grads[len(seqs) :])
        extra = []
        for i, (d, first) in enumerate(zip(self.shifts, firsts)):
            if not d:
                result.insert(i, grads[i])
                continue
            if grads[i] is None:
                result.insert(i, None)
                extra.append(None)
                continue
            g_history, g_first = autodiff.vjp([written[i]], [grads[i]], [seqs[i], first])
            result.insert(i, g_history)
            extra.append(g_first)
        return [*result, *extra]


def _shifted_rows(history: Tensor, first: Tensor, shift: int) -> Tensor:
    """A shifted sequence written out: row j is history[j - shift], or first where that
    row is outside (see Scan)."""
    from symgraph.ops.shape_ops import concatenate, expand_dims

    # (sliced after joining, so that no steps give no rows)
    if shift == 1:
        return concatenate([expand_dims(first, 0), history])[:-1]
    return concatenate([history, expand_dims(first, 0)])[1:]


def _same_shape(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


# --- building a scan from a step function --------------------------------------------


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
        if out.dtype != info.dtype or not _same_shape(out.shape, info.shape):
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


# --- the gradient: backpropagation through time ---------------------------------------


def _scan_grad(op: Scan, inputs, outputs, output_grads):
    """Backpropagation through time: a Scan running the other way (see the module doc).

    Two savings over recomputing everything: (1) where the step's gradient needs the
    value of a forward output that keeps its history (a state, or a pre-activation a
    layer outputs for this purpose), it reads the stored row instead of recomputing it
    (so the forward's recurrent matmul is not redone); (2) a non-sequence's gradient
    term A_t^T @ B_t (what the gradient of h_t @ W gives for W) is not accumulated step
    by step: the loop outputs A_t and B_t (or they are read where they are sequences
    already) and one big matmul after it computes sum_t A_t^T B_t over the stacked rows
    (one for all the terms, and the row sums, that share B_t: ``_merge_shared_products``)."""
    from symgraph.ops.linalg import MatMul, matmul
    from symgraph.ops.reduction import sum as sum_rows
    from symgraph.ops.shape_ops import reshape, zeros_like

    inner = op.inner
    for k, g in enumerate(output_grads):
        if (g is not None or inner.feedback[k] is not None) and not op.keep_history[k]:
            raise GradientError("scan: no gradient through an output that keeps only its last value")
    seqs, inits, nonseqs = op.split(inputs)
    # each state's value before each step, in storage order: its history shifted by one
    # row, the initial state in the first step (a shifted sequence: nothing is copied)
    prevs = [outputs[inner.state_output(s)] for s in range(len(inits))]
    prev_shift = -1 if op.reverse else 1
    float_seqs = [i for i, s in enumerate(seqs) if dtypes.is_float(s.dtype)]
    float_states = [s for s, init in enumerate(inits) if dtypes.is_float(init.dtype)]
    # the gradient of a state's history that is zero but in the last step's row (that of
    # hs[-1], the final state) starts the state's carried gradient, instead of being a
    # sequence of zeros the loop reads at every step
    output_grads = list(output_grads)
    first_carries: dict[int, Tensor] = {}
    for k, g in enumerate(output_grads):
        state = inner.feedback[k]
        if g is not None and state in float_states:
            last = _last_row_only(g, op, inits[state])
            if last is not None:
                first_carries[state] = last
                output_grads[k] = None
    seeded = [k for k, g in enumerate(output_grads) if g is not None]
    stored = [k for k, out in enumerate(inner.outputs) if op.keep_history[k] and out.node.inputs]
    float_params = [i for i, p in enumerate(nonseqs) if dtypes.is_float(p.dtype)]

    bwd_seqs = [*seqs, *prevs, *(output_grads[k] for k in seeded), *(outputs[k] for k in stored)]
    shifts = tuple(prev_shift if len(seqs) <= i < len(seqs) + len(inits) else 0 for i in range(len(bwd_seqs)))
    seq_ph = [placeholder(t.shape[1:], t.dtype, name=f"bptt_seq{i}") for i, t in enumerate(bwd_seqs)]
    rows = seq_ph[: len(seqs)]
    before = seq_ph[len(seqs) : len(seqs) + len(inits)]
    out_grads = seq_ph[len(seqs) + len(inits) : len(seqs) + len(inits) + len(seeded)]
    stored_rows = seq_ph[len(seqs) + len(inits) + len(seeded) :]
    params = [placeholder(p.shape, p.dtype, name=f"bptt_param{i}") for i, p in enumerate(nonseqs)]
    carries = [placeholder(inits[s].shape, inits[s].dtype, name=f"bptt_carry{s}") for s in float_states]

    step_outs = replace(list(inner.outputs), dict(zip(inner.inputs, [*rows, *before, *params])))
    seeds: dict[int, Tensor] = dict(zip(seeded, out_grads))
    for s, carry in zip(float_states, carries):
        k = inner.state_output(s)
        seeds[k] = seeds[k] + carry if k in seeds else carry
    wrt = [rows[i] for i in float_seqs] + [before[s] for s in float_states] + [params[i] for i in float_params]
    grads = autodiff.vjp(step_outs, [seeds.get(k) for k in range(len(step_outs))], wrt)
    # (1) the forward values the outputs stored are read, not recomputed
    grads = _replace_values(grads, {id(step_outs[k]): row for k, row in zip(stored, stored_rows)})
    g_rows = grads[: len(float_seqs)]
    g_before = grads[len(float_seqs) : len(float_seqs) + len(float_states)]
    g_params = grads[len(float_seqs) + len(float_states) :]
    seq_grads = [g if g is not None else zeros_like(rows[i]) for i, g in zip(float_seqs, g_rows)]
    new_carries = [g if g is not None else zeros_like(before[s]) for s, g in zip(float_states, g_before)]

    # (2) A^T @ B and sum-over-rows terms of the non-sequences' gradients leave the loop
    deferred: list[list[tuple[Tensor, ...]]] = []  # per float param: factor tuples
    accumulated: list[tuple[int, Tensor]] = []  # (float param index j, the rest of its gradient)
    for j, g in enumerate(g_params):
        found, others = [], []
        for term in autodiff.sum_terms(g) if g is not None else []:
            factors = _deferrable(term, MatMul)
            if factors is None:
                others.append(term)
            else:
                found.append(factors)
        deferred.append(found)
        if others:
            total = others[0]
            for term in others[1:]:
                total = total + term
            accumulated.append((j, total))
    accs = [placeholder(params[float_params[j]].shape, params[float_params[j]].dtype) for j, _ in accumulated]
    new_accs = [acc + rest for acc, (_, rest) in zip(accs, accumulated)]
    row_blocks = _merge_shared_products(deferred)
    # the factors: sequences of the loop are read where they are, sequence gradients
    # where they are output, other per-step values become outputs (a state's value
    # before the step too: the loop writes each row while it has it, one copy in all)
    extra: list[Tensor] = []
    sources: list[tuple[str, int]] = []
    for found in deferred:
        for factors in found:
            for factor in factors:
                seq = next((i for i, p in enumerate(seq_ph) if p is factor), None)
                if seq is not None and not shifts[seq]:
                    sources.append(("seq", seq))
                elif any(factor is g for g in seq_grads):
                    sources.append(("grad", next(i for i, g in enumerate(seq_grads) if g is factor)))
                else:
                    if not any(factor is t for t in extra):
                        extra.append(factor)
                    sources.append(("extra", next(i for i, t in enumerate(extra) if t is factor)))

    n_hist = len(seq_grads) + len(extra)
    trace_outputs = [*seq_grads, *extra, *new_carries, *new_accs]
    feedback = tuple([None] * n_hist + list(range(len(new_carries) + len(new_accs))))
    keep = tuple([True] * n_hist + [False] * (len(new_carries) + len(new_accs)))
    inits0 = [first_carries.get(s, zeros_like(inits[s])) for s in float_states] + [
        zeros_like(nonseqs[float_params[j]]) for j, _ in accumulated
    ]
    results = build_scan(
        seq_ph,
        [*carries, *accs],
        params,
        trace_outputs,
        feedback,
        bwd_seqs,
        inits0,
        nonseqs,
        op.n_steps,
        not op.reverse,
        keep,
        None,
        shifts,
        inits,
    )
    hist_grads = results[: len(seq_grads)]
    hist_extra = results[len(seq_grads) : n_hist]
    finals = results[n_hist:]

    def stacked(source: tuple[str, int]) -> Tensor:
        kind, index = source
        return {"seq": bwd_seqs, "grad": hist_grads, "extra": hist_extra}[kind][index]

    result: list[Tensor | None] = [None] * len(inputs)
    for i, g in zip(float_seqs, hist_grads):
        result[i] = g
    for s, g in zip(float_states, finals):
        result[len(seqs) + s] = g
    acc_finals = {j: g for (j, _), g in zip(accumulated, finals[len(float_states) :])}
    factors = iter(sources)
    products: dict[tuple, Tensor] = {}  # one product per pair of stacked factors
    for j, i in enumerate(float_params):
        total = acc_finals.get(j)
        for k, found in enumerate(deferred[j]):
            where = tuple(next(factors) for _ in found)
            if where not in products:
                stacks = [reshape(t, (-1, t.shape[-1])) for t in map(stacked, where)]
                if len(stacks) == 2:  # sum_t A_t^T B_t
                    products[where] = matmul(stacks[0].T, stacks[1])
                else:  # sum_t sum(F_t, axis=0)
                    products[where] = sum_rows(stacks[0], axis=0)
            term = products[where]
            if (j, k) in row_blocks:  # this product's rows of a merged one
                term = term[row_blocks[(j, k)]]
            total = term if total is None else total + term
        result[len(seqs) + len(inits) + i] = total if total is not None else zeros_like(nonseqs[i])
    return result


def _merge_shared_products(deferred: list[list[tuple[Tensor, ...]]]) -> dict[tuple[int, int], slice | int]:
    """Deferred terms A_t^T @ B_t of several non-sequences with the same B_t (the
    gradient of one pre-activation that x_t @ W and h @ U both feed), and row sums of
    that B_t (a bias's gradient), become one product [A1_t, A2_t, ..., 1]^T @ B_t after
    the loop (the loop writes the A's and a column of ones side by side): one larger
    GEMM runs faster than several smaller ones and a sum (W6: 193 x 5120 @ 5120 x 512
    takes ~8% less than 64 and 128 rows apart, and the sum over 5120 rows is gone).
    ``deferred`` is rewritten in place; returns, per (non-sequence, term) merged, its
    rows of the product (a slice) or its row (a sum)."""
    from symgraph.ops.shape_ops import concatenate, ones

    groups: dict[int, list[tuple[int, int]]] = {}
    sums: dict[int, list[tuple[int, int]]] = {}
    for j, found in enumerate(deferred):
        for k, factors in enumerate(found):
            (groups if len(factors) == 2 else sums).setdefault(id(factors[-1]), []).append((j, k))
    rows: dict[tuple[int, int], slice | int] = {}
    for key, members in groups.items():
        sides = [deferred[j][k][0] for j, k in members]
        summed = sums.get(key, [])
        if len(members) + len(summed) < 2 or len({id(a) for a in sides}) < len(sides):
            continue
        first = sides[0]
        if any(a.dtype != first.dtype or a.shape[0] != first.shape[0] for a in sides):
            continue
        if not all(isinstance(a.shape[1], int) for a in sides):
            continue
        right = deferred[members[0][0]][members[0][1]][1]
        joined = concatenate([*sides, *([ones((first.shape[0], 1), first.dtype)] if summed else [])], axis=1)
        start = 0
        for (j, k), a in zip(members, sides):
            deferred[j][k] = (joined, right)
            rows[(j, k)] = slice(start, start + a.shape[1])
            start += a.shape[1]
        for j, k in summed:
            deferred[j][k] = (joined, right)
            rows[(j, k)] = start
    return rows


def _last_row_only(g: Tensor, op: Scan, init: Tensor) -> Tensor | None:
    """The last step's row of ``g`` (a history's gradient), where ``g`` is a sum of
    values added into zeros at that row only (the gradient of ``history[-1]``); else
    None. The last step writes row n - 1 (row 0 when ``reverse``); n must be static."""
    from symgraph.ops.indexing import IncSubtensor

    n = op.n_steps
    if not isinstance(n, int) or n < 1:
        return None
    row = 0 if op.reverse else n - 1
    total = None
    for term in autodiff.sum_terms(g):
        node = term.node
        if not isinstance(node.op, IncSubtensor) or node.op.mode != "add" or not autodiff.is_zeros(node.inputs[0]):
            return None
        first, *rest = node.op.spec or (("all",),)
        value = node.inputs[1]
        if first[0] != "index" or first[1] != row or any(entry != ("all",) for entry in rest):
            return None
        if value.dtype != init.dtype or not _same_shape(value.shape, init.shape):
            return None
        total = value if total is None else total + value
    return total


def _deferrable(term: Tensor, matmul_op: type) -> tuple[Tensor, ...] | None:
    """The per-step factors of a gradient term that can be summed over the steps after
    the loop: (A, B) for A^T @ B (A, B 2-D), (F,) for F summed over its rows (F 2-D)."""
    from symgraph.ops.reduction import Sum
    from symgraph.ops.shape_ops import Reshape

    node = term.node
    if isinstance(node.op, matmul_op) and node.op.transpose_a and not node.op.transpose_b:
        if all(t.ndim == 2 for t in node.inputs):
            return (node.inputs[0], node.inputs[1])
        return None
    if isinstance(node.op, Reshape):
        node = node.inputs[0].node
    if isinstance(node.op, Sum) and tuple(node.op.axes) == (0,) and node.inputs[0].ndim == 2:
        source = node.inputs[0]
        if source.dtype == term.dtype and source.shape[1:] == term.shape:
            return (source,)
    return None


def _replace_values(tensors: list[Tensor | None], values: dict[int, Tensor]) -> list[Tensor | None]:
    """``tensors`` rebuilt with the tensors whose ids are keys of ``values`` replaced."""
    present = [t for t in tensors if t is not None]
    if not values or not present:
        return tensors
    order = toposort(present)
    keys = {id(t): t for node in order for t in node.outputs if id(t) in values}
    rebuilt = iter(replace(present, {keys[k]: values[k] for k in keys}))
    return [next(rebuilt) if t is not None else None for t in tensors]
