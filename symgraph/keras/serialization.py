"""The serialized form Keras 3 writes for its built-in objects (losses, metrics,
optimizers, schedules): ``{"module", "class_name", "config", "registered_name"}``, and
the errors a saved file that cannot be read raises.

A ``.keras`` or ``.weights.h5`` file may come from anyone, so reading one refuses what
the file must not do (name classes or modules the loader does not know, reach outside
itself, declare more than its limits) with a ``SavedFileError`` that names the member,
dataset or config position at fault, never with a raw ``TypeError`` or ``KeyError``.
"""

from __future__ import annotations

from typing import Any

from symgraph.errors import SymgraphError


class SavedFileError(SymgraphError, ValueError):
    """A saved file refused: malformed, over a size limit, or reaching outside itself."""


class UnknownObjectError(SavedFileError, TypeError):
    """A config names a class, function or module the loader does not know; Keras
    raises TypeError for this ("Could not locate class"), hence the second base."""


def serialize_builtin(module: str, obj: Any) -> dict:
    """``obj`` as Keras 3 serializes a built-in of ``module`` ("keras.losses", ...): its
    class name, its ``get_config()``, and no registered (custom) name."""
    return {
        "module": module,
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }
