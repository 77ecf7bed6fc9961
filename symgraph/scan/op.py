"""The Scan op: a loop over steps whose body is a graph of its own (Theano's scan).

A ``Scan`` node holds an ``InnerGraph``: placeholders for one step's slice of each
sequence, for the previous value of each fed-back state and for the non-sequences (the
same value at every step), and the step's outputs. Step t (0 <= t < n) reads sequence
row j(t) and writes output row j(t), where j(t) = t, or n - 1 - t when ``reverse``; a
state's value before step t is the initial state for t = 0, else the fed-back output of
step t - 1.

Each output keeps its history (shape (n, *step_shape), rows in storage order j) or only
its last value (shape step_shape, for gradient accumulators: no n copies of a weight
gradient are ever stored).

Every facet of the op is in this package (symgraph/scan/): the type rule and the
numpy reference here, building a Scan from a Python step function in ``trace``, the
gradient (backpropagation through time, through ``autodiff.vjp``) in ``grad``, the
rewrites (pruning unread outputs; the step graph optimised by the pass pipeline and
planned for blocks of rows: a ``StepPlan``) in ``rewrites`` and ``rows``, the C in
``kernel``, and ``sg.scan`` in ``api``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from symgraph.errors import ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor, TensorType
from symgraph.graph.shape import Dim
from symgraph.graph.traversal import toposort
from symgraph.ops.c_api import CArray, CLinkerOp, KernelContext
from symgraph.ops.registry import register
from symgraph.scan import kernel
from symgraph.scan.step import InnerGraph, StepPlan

_serials = itertools.count()


@register
class Scan(CLinkerOp):
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
        plan: StepPlan | None = None,
    ):
        self.inner = inner  # the step as traced: what the gradient differentiates
        self.plan = plan  # how it runs, once the passes have planned it
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
            if outer.dtype != ph.dtype or not same_shape(step_shape, ph.shape):
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
        """The loop in Python, each step by the numpy interpreter on the planned step."""
        # cycle: the interpreter, a backend over the whole op table, evaluates the step
        from symgraph.interpreter import Interpreter

        inner = self.inner
        if self._interpreter is None:
            step = self.plan.step if self.plan is not None else inner
            self._interpreter = Interpreter(step.inputs, step.outputs)
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

    def grad(self, inputs: list[Tensor], outputs: list[Tensor], output_grads: list[Tensor | None]) -> list:
        # cycle: backpropagation through time is a second Scan built by autodiff.vjp,
        # which differentiates through the whole op table
        from symgraph.scan.grad import scan_grad

        return scan_grad(self, inputs, outputs, output_grads)

    def c_kernel_in(self, context: KernelContext, node: Node, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The step as a static C function called in a C loop (symgraph/scan/kernel.py)."""
        return kernel.scan_kernel(context, self, inputs, outputs)


def same_shape(a: tuple, b: tuple) -> bool:
    """Whether two shapes are equal axis by axis (symbolic sizes compared as expressions)."""
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))
