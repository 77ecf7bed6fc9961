"""The gradient of a Scan: backpropagation through time.

A second Scan runs the other way over the stored per-step values. Its step rebuilds the
forward step on the sequences' rows and the states before the step (the forward's
history read one row off: a shifted sequence, see Scan, so nothing is copied),
differentiates it with the one backward sweep (``autodiff.vjp``, seeded with the output
gradients of that step plus the carried gradient of the states), carries the gradient
of the states backward and accumulates the gradients of the non-sequences (last value
only). What makes it cheap: forward values that an output stored are read, not
recomputed (a layer may output its gate activations for this; ``prune_scan_outputs``
drops them where nothing reads them); gradient terms A_t^T @ B_t and row sums of the
non-sequences leave the loop as one big matmul or sum over all steps; gradients of
slices that tile an axis become one concatenate instead of a zeroed buffer per slice
(``autodiff.merge_slice_grads``); the gradient of the final state alone (of
``hs[-1]``) starts the carried gradient instead of being a zero-filled sequence.
"""

from __future__ import annotations

from symgraph import autodiff, dtypes
from symgraph.errors import GradientError
from symgraph.graph.core import Tensor
from symgraph.graph.sources import placeholder
from symgraph.graph.traversal import replace, toposort
from symgraph.ops.indexing import IncSubtensor
from symgraph.ops.linalg import MatMul, matmul
from symgraph.ops.reduction import Sum
from symgraph.ops.reduction import sum as sum_rows
from symgraph.ops.shape_ops import Reshape, concatenate, expand_dims, ones, reshape, zeros_like
from symgraph.scan.op import Scan, same_shape
from symgraph.scan.trace import build_scan


def scan_grad(op: Scan, inputs: list[Tensor], outputs: list[Tensor], output_grads: list[Tensor | None]) -> list:
    """The gradients of a Scan node's inputs (None where there is none)."""
    if not any(op.shifts):
        return _bptt(op, inputs, outputs, output_grads)
    # through the same loop on the sequences written out (concatenate, slice), then
    # from those back to each shifted sequence's history and first row
    seqs, inits, nonseqs = op.split(inputs)
    firsts = op.firsts(inputs)
    written = [_shifted_rows(s, f, d) if d else s for s, f, d in zip(seqs, firsts, op.shifts)]
    plain = Scan(op.inner, op.n_steps, op.reverse, op.keep_history)
    grads = _bptt(plain, [*written, *inits, *nonseqs], outputs, output_grads)
    result = list(grads[len(seqs) :])
    extra = []
    for i, (d, first) in enumerate(zip(op.shifts, firsts)):
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
    # (sliced after joining, so that no steps give no rows)
    if shift == 1:
        return concatenate([expand_dims(first, 0), history])[:-1]
    return concatenate([history, expand_dims(first, 0)])[1:]


def _bptt(op: Scan, inputs, outputs, output_grads):
    """Backpropagation through time: a Scan running the other way (see the module doc).

    Two savings over recomputing everything: (1) where the step's gradient needs the
    value of a forward output that keeps its history (a state, or a pre-activation a
    layer outputs for this purpose), it reads the stored row instead of recomputing it
    (so the forward's recurrent matmul is not redone); (2) a non-sequence's gradient
    term A_t^T @ B_t (what the gradient of h_t @ W gives for W) is not accumulated step
    by step: the loop outputs A_t and B_t (or they are read where they are sequences
    already) and one big matmul after it computes sum_t A_t^T B_t over the stacked rows
    (one for all the terms, and the row sums, that share B_t: ``_merge_shared_products``)."""
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
        if value.dtype != init.dtype or not same_shape(value.shape, init.shape):
            return None
        total = value if total is None else total + value
    return total


def _deferrable(term: Tensor, matmul_op: type) -> tuple[Tensor, ...] | None:
    """The per-step factors of a gradient term that can be summed over the steps after
    the loop: (A, B) for A^T @ B (A, B 2-D), (F,) for F summed over its rows (F 2-D)."""
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
