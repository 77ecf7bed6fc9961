"""The exceptions symgraph raises for user mistakes.

Every class subclasses the builtin a user would catch for the same mistake in numpy
(ValueError, TypeError, IndexError), so ``except ValueError`` keeps working.

- ``SymgraphError``: base of everything below.
- ``ShapeError`` (ValueError): shapes that do not fit, at build time or call time.
- ``DTypeError`` (TypeError): a dtype an op or a function input does not accept.
- ``InputError`` (ValueError): a compiled function called with missing, extra or
  ill-formed arguments, or built from an ill-formed input list.
- ``IndexOutOfRangeError`` (IndexError): an index outside its axis (take, gather, []).
- ``InvalidValueError`` (ValueError): a value an op does not accept at call time
  (an integer to a negative integer power, ...).
- ``NaNError`` (InvalidValueError): ``sg.function(..., nan_guard=True)`` found a NaN in
  a node's result; the message names the first node that produced one.
- ``GradientError`` (ValueError): a gradient that does not exist (a non-differentiable
  path, a cost that is not a float scalar, an op without a gradient).
- ``BackendMismatchError`` (AssertionError): mode "debug" found the C backend and the
  numpy interpreter disagreeing (a bug in symgraph: please report it).
- ``UnsupportedError`` (NotImplementedError): something the library does not do (yet).

Messages name the op, the input types (dtype and shape) and the user's file:line that
created the node, so an error raised deep in a compiled function points at user code.
"""

from __future__ import annotations


class SymgraphError(Exception):
    """Base class of every error symgraph raises for a user mistake.

    It records the user's line that was running when it was raised (the innermost frame
    outside symgraph): a message that does not already say where its node was created
    ends with that line, so an error raised outside a node (a bad argument to
    ``sg.take``, a call with the wrong inputs) still points at the user's code.
    ``plain_message(exc)`` is the message without it, for wrapping into another."""

    def __init__(self, *args: object):
        super().__init__(*args)
        from symgraph.graph.core import user_location  # core imports this module

        self.location = user_location()

    def __str__(self) -> str:
        text = super().__str__()
        if self.location is None or "created at " in text or "\n  at " in text:
            return text
        return f"{text}\n  at {self.location}"


def plain_message(exc: BaseException) -> str:
    """The message of ``exc`` without the user's line a SymgraphError appends."""
    return str(exc.args[0]) if isinstance(exc, SymgraphError) and len(exc.args) == 1 else str(exc)


class ShapeError(SymgraphError, ValueError):
    """Shapes that do not fit: broadcasting, matmul inner dims, reshape sizes, ranks."""


class DTypeError(SymgraphError, TypeError):
    """A dtype an op or a compiled function does not accept."""


class InputError(SymgraphError, ValueError):
    """A compiled function's arguments are missing, extra, or of the wrong rank."""


class IndexOutOfRangeError(SymgraphError, IndexError):
    """An index outside the axis it indexes."""


class InvalidValueError(SymgraphError, ValueError):
    """A value an op does not accept, found at call time."""


class NaNError(InvalidValueError):
    """``nan_guard``: a node's result holds a NaN (the first node that produced one)."""


class GradientError(SymgraphError, ValueError):
    """A gradient that cannot be built."""


class BackendMismatchError(SymgraphError, AssertionError):
    """Mode "debug": the C backend and the numpy interpreter disagree."""


class UnsupportedError(SymgraphError, NotImplementedError):
    """A feature symgraph does not provide."""
