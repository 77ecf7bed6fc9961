"""Where a program is running: inside a traced function, under recording tapes, or in an
eager scope. One context variable each, so threads and async tasks each have their own.

- ``TRACE``: the trace being built by ``sg.jit`` (None outside one). Inside it every op
  builds graph and a Variable reads its traced value.
- ``TAPES``: the GradientTapes recording now, innermost last.
- ``EAGER``: the depth of ``eager()`` blocks: inside one, an op whose inputs all have a
  value now (constants and Variables included) runs at once. The ``symgraph.tf`` names
  run in one, as TensorFlow's ops run eagerly.
- ``GRAPH``: the depth of ``graph()`` blocks: inside one every op builds graph, eager
  tensors being constants (a tape builds its gradient graph in one).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the modules that define them import this one
    from symgraph.trace.jit import TraceState
    from symgraph.trace.tape import GradientTape

TRACE: contextvars.ContextVar[TraceState | None] = contextvars.ContextVar("symgraph_trace", default=None)
TAPES: contextvars.ContextVar[tuple[GradientTape, ...]] = contextvars.ContextVar("symgraph_tapes", default=())
EAGER: contextvars.ContextVar[int] = contextvars.ContextVar("symgraph_eager", default=0)
GRAPH: contextvars.ContextVar[int] = contextvars.ContextVar("symgraph_graph", default=0)


class eager:  # noqa: N801  (used as a function: ``with sg.eager():``)
    """Run ops at once inside this block whenever their inputs have values now (Variables
    and constants included), as TensorFlow's eager mode does; outside it, ``W * 0.9``
    stays a graph over the Variable W (Theano's meaning: an update expression), unless an
    eager tensor takes part. Inside a traced function it changes nothing. (A class, not a
    generator: every ``symgraph.tf`` call enters one.)"""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = EAGER.set(EAGER.get() + 1)

    def __exit__(self, *exc: object) -> None:
        EAGER.reset(self._token)


@contextlib.contextmanager
def graph() -> Iterator[None]:
    """Build graph inside this block whatever the inputs (eager tensors are constants of
    it), as TensorFlow 1's graph mode; a traced function's or a tape's gradient graph is
    built so."""
    token = GRAPH.set(GRAPH.get() + 1)
    try:
        yield
    finally:
        GRAPH.reset(token)


def recording() -> bool:
    """Whether a GradientTape records now."""
    return bool(TAPES.get())


def tracing() -> bool:
    """Whether a traced function (``sg.jit``) is being built now."""
    return TRACE.get() is not None
