"""``sg.GradientTape``: TensorFlow's tape, on symgraph's one reverse sweep.

Eagerly, a recording tape is a trace evaluated as it goes: each op that runs now while
the tape records, and that reads something the tape watches (a trainable Variable, or a
tensor passed to ``watch``), also builds its symbolic node over the Variables
themselves, constants for the unwatched eager tensors, and a leaf for each watched one;
the tape keeps every recorded value. ``gradient`` runs ``autodiff.vjp`` on that graph and
evaluates the gradient with the interpreter, reusing the recorded forward values.

Inside a traced function (``sg.jit``) the tape records nothing: the program is already a
graph, and ``gradient`` returns ``vjp``'s symbolic gradients of the traced values (a
Variable's gradient is with respect to its value at that point of the program).

As TensorFlow: a source no target depends on gets None (``unconnected_gradients="zero"``
gives zeros); a non-trainable Variable or an eager tensor is a source only after
``watch``; a non-persistent tape answers one ``gradient`` call; ``stop_recording()``
pauses it. Not as TensorFlow: an eager gradient is a value, not recorded by an outer
tape (higher derivatives: take them under ``sg.jit``, or with ``sg.grad`` of the graph).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from symgraph.autodiff import vjp
from symgraph.errors import GradientError, InputError
from symgraph.graph.core import Op, Tensor, build_node
from symgraph.graph.sources import EagerTensor, Variable, as_tensor, placeholder
from symgraph.interpreter import Interpreter
from symgraph.ops.shape_ops import zeros_like
from symgraph.trace.context import TAPES, TRACE, eager, graph
from symgraph.trace.nest import flatten


class GradientTape:
    """Records eager ops to differentiate them (TensorFlow's ``tf.GradientTape``)."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._values: dict[int, tuple[Tensor, np.ndarray]] = {}  # recorded tensor id -> (tensor, value)
        self._watched: dict[int, Tensor] = {}  # Variables and eager tensors passed to watch()
        self._traced = False
        self._used = False
        self._token: Any = None

    # ------------------------------------------------------------ recording

    def __enter__(self) -> GradientTape:
        self._traced = TRACE.get() is not None
        if not self._traced:
            self._token = TAPES.set((*TAPES.get(), self))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            TAPES.reset(self._token)
            self._token = None

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Ops inside this block run now, unrecorded: their results are constants to it."""
        tapes = TAPES.get()
        token = TAPES.set(tuple(t for t in tapes if t is not self))
        try:
            with eager():
                yield
        finally:
            TAPES.reset(token)

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self._values.clear()

    def watch(self, tensor: Any) -> None:
        """Differentiate with respect to ``tensor`` (a Variable, an eager tensor, or a
        nested structure of them) from now on."""
        leaves, _, _ = flatten(tensor)
        for t in leaves:
            if isinstance(t, Variable):
                self._watched[id(t)] = t
            elif type(t) is EagerTensor:
                if t.recorded is None or id(t.recorded) not in self._values:
                    leaf = placeholder(t.shape, t.dtype, name="watched")
                    t.recorded = leaf
                    self._values[id(leaf)] = (leaf, t.value)
                self._watched[id(t)] = t
            elif isinstance(t, Tensor):
                self._watched[id(t)] = t  # a traced tensor: a source as it is
            else:
                raise InputError(f"GradientTape.watch: expected tensors or Variables, got {type(t).__name__}")

    def watched_variables(self) -> list[Variable]:
        """The Variables this tape watches (those it recorded reads of, and watch()'s)."""
        seen = {id(t): t for t, _ in self._values.values() if isinstance(t, Variable)}
        seen.update({k: v for k, v in self._watched.items() if isinstance(v, Variable)})
        return list(seen.values())

    def _watches(self, var: Variable) -> bool:
        return (self.watch_accessed_variables and var.trainable) or id(var) in self._watched

    def record(self, op: Op, inputs: tuple[Tensor, ...], args: list[np.ndarray], outputs: tuple[EagerTensor, ...]):
        """Called for each op that ran now while this tape records: keep its symbolic
        node when it reads something watched."""
        symbolic: list[Tensor] = []
        connected = False
        for t, value in zip(inputs, args):
            if type(t) is EagerTensor:
                if t.recorded is not None and id(t.recorded) in self._values:
                    symbolic.append(t.recorded)
                    connected = True
                else:
                    symbolic.append(t)  # a constant to this tape
                continue
            if isinstance(t, Variable):
                if self._watches(t):
                    connected = True
                    self._values[id(t)] = (t, value)
            elif t.node.inputs:
                # an expression of Variables built outside (``W * 2``): its value is known
                connected = True
                self._values[id(t)] = (t, value)
            symbolic.append(t)
        if not connected:
            return
        node = build_node(op, tuple(symbolic))
        for out, sym in zip(outputs, node.outputs):
            out.recorded = sym
            self._values[id(sym)] = (sym, out.value)

    # ------------------------------------------------------------ gradients

    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: str = "none",
    ) -> Any:
        """d(sum of targets)/d(source) for each source, in ``sources``' structure."""
        if unconnected_gradients not in ("none", "zero"):
            raise InputError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians); use GradientTape(persistent=True) for more"
            )
        self._used = True
        targets, _, _ = flatten(target)
        source_list, rebuild, _ = flatten(sources)
        cotangents = [None] * len(targets) if output_gradients is None else flatten(output_gradients)[0]
        if len(cotangents) != len(targets):
            raise InputError(f"gradient: {len(targets)} targets but {len(cotangents)} output_gradients")
        if self._traced or TRACE.get() is not None:
            grads = self._symbolic_gradient(targets, source_list, cotangents)
        else:
            grads = self._eager_gradient(targets, source_list, cotangents)
        if unconnected_gradients == "zero":
            grads = [g if g is not None else _zeros_for(s) for g, s in zip(grads, source_list)]
        if not self.persistent:
            self._values.clear()
        return rebuild(grads)

    def _source_is_watched(self, source: Any) -> bool:
        if isinstance(source, Variable):
            return self._watches(source)
        if type(source) is EagerTensor:
            return source.recorded is not None and id(source.recorded) in self._values
        if isinstance(source, Tensor):
            return True
        raise InputError(f"gradient: sources must be Variables or tensors, got {type(source).__name__}")

    def _symbolic_gradient(self, targets: list[Any], sources: list[Any], cotangents: list[Any]) -> list[Any]:
        trace = TRACE.get()
        read = trace.read if trace is not None else (lambda t: t)
        outs = [read(as_tensor(t)) for t in targets]
        cots = [_ones_for(o) if g is None else as_tensor(g) for o, g in zip(outs, cotangents)]
        watched = [self._source_is_watched(s) for s in sources]
        wrt = [read(s) for s in sources]
        grads = vjp(outs, cots, wrt)
        return [g if w else None for g, w in zip(grads, watched)]

    def _eager_gradient(self, targets: list[Any], sources: list[Any], cotangents: list[Any]) -> list[Any]:
        outs: list[Tensor] = []
        cots: list[Tensor] = []
        for t, g in zip(targets, cotangents):
            if type(t) is not EagerTensor or t.recorded is None or id(t.recorded) not in self._values:
                continue  # not recorded by this tape: no source depends on it
            if not np.issubdtype(t.dtype, np.floating):
                raise GradientError(f"gradient: the target must be a float tensor, got {t.dtype.name}")
            outs.append(t.recorded)
            cots.append(_ones_for(t) if g is None else as_tensor(_value(g)))
        wrt: list[Tensor | None] = []
        for s in sources:
            if not self._source_is_watched(s):
                wrt.append(None)
            else:
                wrt.append(s.recorded if type(s) is EagerTensor else s)
        present = [w for w in wrt if w is not None]
        if not outs or not present:
            return [None] * len(sources)
        with graph():
            grads = dict(zip(map(id, present), vjp(outs, cots, present)))
        needed = [g for g in grads.values() if g is not None]
        known = list(self._values.values())
        values = Interpreter([t for t, _ in known], needed).run([v for _, v in known], {}) if needed else []
        by_id = {id(g): EagerTensor(v, reads_state=True) for g, v in zip(needed, values)}
        result: list[Any] = []
        for w in wrt:
            g = grads.get(id(w)) if w is not None else None
            result.append(by_id[id(g)] if g is not None else None)
        return result


def _value(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()  # type: ignore[attr-defined]
    return np.asarray(x)


def _ones_for(t: Tensor) -> Tensor:
    if t.shape and not all(isinstance(d, int) for d in t.shape):
        return zeros_like(t) + 1
    return as_tensor(np.ones(t.shape, t.dtype))


def _zeros_for(source: Any) -> Any:
    if isinstance(source, Variable) or type(source) is EagerTensor:
        if TRACE.get() is None:
            return EagerTensor(np.zeros(source.shape, source.dtype))
    return zeros_like(source)
