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
Finding that line (``user_location``, a ``Location``) lives here, below the graph IR,
because every error records it and every node does too.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@dataclass(frozen=True)
class Location:
    """Where in the user's code a node was created, or an error raised."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"

    @property
    def short(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"


def user_location() -> Location | None:
    """The innermost stack frame outside the symgraph package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return Location(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def user_stacklevel() -> int:
    """``warnings.warn``'s stacklevel, for a warning issued by this function's caller,
    that points at the innermost frame outside the symgraph package (the user's line)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class SymgraphError(Exception):
    """Base class of every error symgraph raises for a user mistake.

    It records the user's line that was running when it was raised (the innermost frame
    outside symgraph): a message that does not already say where its node was created
    ends with that line, so an error raised outside a node (a bad argument to
    ``sg.take``, a call with the wrong inputs) still points at the user's code.
    ``plain_message(exc)`` is the message without it, for wrapping into another."""

    def __init__(self, *args: object):
        super().__init__(*args)
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


class ConcurrentCallError(SymgraphError, RuntimeError):
    """A compiled function entered from a second thread while a call of it is running
    (its buffers are in use): one function object serves one thread at a time."""


class TracingError(SymgraphError, TypeError):
    """A traced function (``sg.jit``) asked for something a graph cannot give while it is
    being built: the value of a traced tensor (Python control flow on it, ``float()``,
    ``numpy()``). The message names the line and what to use instead."""
