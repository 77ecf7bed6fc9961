"""The state layer calls share while a graph is built, one stack per thread: the call
context (the ``training`` flag nested calls inherit, and the state updates and extra
losses the model folds into its step), the name scopes variable paths are made of, and
the batch size a first build on data records."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from symgraph.graph.core import Tensor
from symgraph.graph.sources import Variable

# ---------------------------------------------------------------- call context


class CallContext:
    """One level of the call stack: the training flag its calls inherit, whether it
    collects, and the state updates and extra losses collected so far."""

    def __init__(self, training: bool | None, collect: bool):
        self.training = training
        self.collect = collect
        self.updates: list[tuple[Variable, Tensor]] = []
        self.losses: list[Tensor] = []


_STATE = threading.local()


def _stack() -> list[CallContext]:
    if not hasattr(_STATE, "stack"):
        _STATE.stack = []
    return _STATE.stack


@contextlib.contextmanager
def graph_scope(training: bool | None, collect: bool = True) -> Iterator[CallContext]:
    """The scope a model builds one graph in: it fixes ``training`` for every layer call
    that does not pass its own (None fixes nothing: each layer resolves its own), and
    collects their state updates and extra losses."""
    ctx = CallContext(training, collect)
    _stack().append(ctx)
    try:
        yield ctx
    finally:
        _stack().pop()


def current_training() -> bool | None:
    """The training flag of the innermost scope that set one, None where none did (a
    layer then falls back to its ``call``'s default for ``training``)."""
    for ctx in reversed(_stack()):
        if ctx.training is not None:
            return bool(ctx.training)
    return None


def add_update(variable: Variable, value: Tensor) -> None:
    """Record a state update (e.g. moving statistics) for the graph being built."""
    stack = _stack()
    if stack and stack[-1].collect:
        stack[-1].updates.append((variable, value))


def add_graph_loss(loss: Tensor) -> None:
    """Record an extra loss term (activity regularizer, ``add_loss``) for the graph being built."""
    stack = _stack()
    if stack and stack[-1].collect:
        stack[-1].losses.append(loss)


@contextlib.contextmanager
def layer_call_scope(training: bool | None) -> Iterator[CallContext]:
    """The scope of one layer's ``call``: its own training flag (None: the layers it
    calls resolve theirs on their own); what it collects passes to
    the enclosing scope when the call returns (nothing is collected outside a collecting
    scope)."""
    stack = _stack()
    parent = stack[-1] if stack else None
    inner = CallContext(training, parent.collect if parent is not None else False)
    stack.append(inner)
    try:
        yield inner
    finally:
        stack.pop()
    if parent is not None:
        parent.updates.extend(inner.updates)
        parent.losses.extend(inner.losses)


# ---------------------------------------------------------------- name scopes

# Keras opens a name scope around every layer call (and a Sequential's build), so a
# variable's path names the models and layers it was created inside:
# "sequential/dense/kernel", "lstm/lstm_cell/kernel", "net/dense/kernel".
_NAME_SCOPES = threading.local()


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[None]:
    """Variables created inside are named under ``name``."""
    stack = _NAME_SCOPES.__dict__.setdefault("stack", [])
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def variable_path(owner: str, name: str) -> str:
    """The path of variable ``name`` of ``owner`` under the open name scopes."""
    scopes = list(getattr(_NAME_SCOPES, "stack", []))
    if not scopes or scopes[-1] != owner:
        scopes.append(owner)
    return "/".join([*scopes, name])


# ---------------------------------------------------------------- build batch

# A subclassed model first called on data builds its layers inside a compiled step,
# on a batch dimension known only at run time. Keras records the concrete batch size of
# that first call in each layer's build shape (summary() shows it), so the step builder
# names it here while the layers build.
_RECORDED_BATCH = threading.local()


@contextlib.contextmanager
def recording_batch(batch: int | None) -> Iterator[None]:
    """Layers built inside record ``batch`` as their build shape's batch size."""
    previous = getattr(_RECORDED_BATCH, "value", None)
    _RECORDED_BATCH.value = batch
    try:
        yield
    finally:
        _RECORDED_BATCH.value = previous


def with_recorded_batch(shapes: Any) -> Any:
    """``shapes`` with the recorded batch size in place of a leading None, if one is recorded."""
    batch = getattr(_RECORDED_BATCH, "value", None)
    if batch is None:
        return shapes

    def fill(shape: Any) -> Any:
        if isinstance(shape, tuple) and shape and shape[0] is None:
            return (batch, *shape[1:])
        return shape

    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return fill(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(fill(s) for s in shapes)
    return shapes
