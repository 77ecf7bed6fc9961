"""``sg.scan``: a loop over steps, compiled into a C loop inside the function (Theano's
scan).

    outputs, updates = sg.scan(fn, sequences=None, outputs_info=None, non_sequences=None,
                               n_steps=None, go_backwards=False)

``fn`` is called once, on placeholders, to trace one step: its arguments are one row of
each sequence (sliced along axis 0), then the previous value of each output that has an
initial state in ``outputs_info`` (None for an output that is not fed back), then the
non-sequences. Each output is stacked along a new axis 0, in the order the steps ran
(with ``go_backwards`` the sequences are read from their last row, and output row 0 is
the first step's). The number of steps is the sequences' length (which may be symbolic:
one build serves every length) or ``n_steps``. ``updates`` is always an empty dict (the
step cannot update Variables).

Tensors ``fn`` uses from outside its arguments (weights, Variables) are passed into the
loop automatically, as in Theano, and get gradients like the non-sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from symgraph.errors import InputError, ShapeError, user_location
from symgraph.graph.core import Tensor
from symgraph.graph.shape import DimExpr
from symgraph.graph.sources import as_tensor
from symgraph.ops.shape_ops import flip
from symgraph.scan.op import Scan
from symgraph.scan.trace import trace_scan

__all__ = ["scan", "Scan"]


def scan(
    fn: Callable[..., Any],
    sequences: Tensor | Sequence[Tensor] | None = None,
    outputs_info: Any = None,
    non_sequences: Tensor | Sequence[Tensor] | None = None,
    n_steps: int | DimExpr | None = None,
    go_backwards: bool = False,
    name: str | None = None,
    return_list: bool = False,
) -> tuple[Tensor | list[Tensor], dict]:
    """Loop ``fn`` over steps: h_{t+1} = fn(x_t, h_t, params) for each state h with
    initial value h_0 from ``outputs_info``; returns (outputs, updates) where outputs is
    one tensor (a single output, unless ``return_list``) or a list, each output o
    stacked as o[t] for step t. ``name`` is accepted for Theano's signature."""
    location = user_location()
    seqs = [as_tensor(s) for s in _as_list(sequences)]
    params = [as_tensor(p) for p in _as_list(non_sequences)]
    infos = [_initial(i, k) for k, i in enumerate(_as_list(outputs_info))]
    if n_steps is None:
        if not seqs:
            raise InputError("scan: with no sequences, n_steps must give the number of steps")
        steps = seqs[0].shape[0] if seqs[0].ndim else 0
    else:
        if isinstance(n_steps, Tensor) or not isinstance(n_steps, (int, DimExpr)):
            raise InputError(
                f"scan: n_steps must be an int or a symbolic size (e.g. x.shape[0]), got {type(n_steps).__name__}"
            )
        if isinstance(n_steps, int) and n_steps < 0:
            raise ShapeError(f"scan: n_steps must be >= 0, got {n_steps}")
        steps = n_steps
    for i, s in enumerate(seqs):
        if s.ndim == 0:
            raise ShapeError(f"scan: sequence {i} is 0-d ({s.type}); a sequence is sliced along its axis 0")
        if n_steps is not None and s.shape[0] != steps:
            seqs[i] = s[:steps]  # Theano: the first n_steps rows
    if go_backwards:
        # the Scan op reads and writes row n-1-t at step t; the outputs come back in the
        # order the steps ran
        raw = trace_scan(fn, seqs, infos, params, steps, reverse=True, location=location)
        outs = [flip(o, axis=0) for o in raw]
    else:
        outs = trace_scan(fn, seqs, infos, params, steps, location=location)
    return (outs[0] if len(outs) == 1 and not return_list else outs), {}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _initial(info: Any, k: int) -> Tensor | None:
    """An outputs_info entry: None, an initial value, or Theano's {"initial": x}."""
    if info is None:
        return None
    if isinstance(info, dict):
        taps = info.get("taps", [-1])
        if list(taps) != [-1]:
            raise InputError(f"scan: outputs_info[{k}] asks for taps {taps}; only the previous step (-1) is supported")
        if info.get("initial") is None:
            return None
        info = info["initial"]
    return as_tensor(info)
