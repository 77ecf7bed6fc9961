"""Variables as TensorFlow has them: ``assign``, ``assign_add``, ``assign_sub``,
``read_value`` and ``value``, installed on ``sg.Variable`` (the graph stage defines it,
before programs exist).

Outside a traced function an assign happens at once (the value is computed now and
copied in, cast within its kind as ``set_value`` does). Inside one it is a step of the
program: later reads of the Variable see the assigned value, and the last value becomes
an update of the compiled call (symgraph/trace/jit.py). Theano's ``updates=`` of
``sg.function`` are untouched.
"""

from __future__ import annotations

from typing import Any

from symgraph.graph.core import Tensor
from symgraph.graph.sources import EagerTensor, Variable
from symgraph.ops.arithmetic import add, identity, sub
from symgraph.trace.context import TRACE, eager
from symgraph.trace.eager import value_of


def assign(self: Variable, value: Any, use_locking: Any = None, name: Any = None, read_value: bool = True) -> Any:
    """Set the Variable to ``value`` (same shape; cast within its kind)."""
    trace = TRACE.get()
    if trace is not None:
        trace.assign(self, value)
        return self if read_value else None
    if isinstance(value, Tensor):
        if not value.bound:
            raise TypeError(
                f"Variable {self.name!r}: assign got {value!r}, which reads a placeholder and has no value now; "
                "for an update of a compiled function pass updates= to sg.function, or assign inside sg.jit"
            )
        value = value_of(value)
    self.set_value(value)
    return self if read_value else None


def assign_add(self: Variable, delta: Any, use_locking: Any = None, name: Any = None, read_value: bool = True) -> Any:
    """``self.assign(self + delta)``."""
    with eager():
        return assign(self, add(self, delta), read_value=read_value)


def assign_sub(self: Variable, delta: Any, use_locking: Any = None, name: Any = None, read_value: bool = True) -> Any:
    """``self.assign(self - delta)``."""
    with eager():
        return assign(self, sub(self, delta), read_value=read_value)


def read_value(self: Variable) -> Tensor:
    """The value now: an eager tensor (a snapshot), or inside a traced function the
    traced value at this point of the program."""
    trace = TRACE.get()
    if trace is not None:
        return identity(trace.read(self))  # not the Variable itself: a later assign must not change it
    return EagerTensor(self.get_value(), reads_state=True)


def _install() -> None:
    Variable.assign = assign  # type: ignore[attr-defined]
    Variable.assign_add = assign_add  # type: ignore[attr-defined]
    Variable.assign_sub = assign_sub  # type: ignore[attr-defined]
    Variable.read_value = read_value  # type: ignore[attr-defined]
    Variable.value = read_value  # type: ignore[attr-defined]


_install()
