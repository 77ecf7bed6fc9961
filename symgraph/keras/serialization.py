"""The serialized form Keras 3 writes for its built-in objects (losses, metrics,
optimizers, schedules): ``{"module", "class_name", "config", "registered_name"}``."""

from __future__ import annotations

from typing import Any


def serialize_builtin(module: str, obj: Any) -> dict:
    """``obj`` as Keras 3 serializes a built-in of ``module`` ("keras.losses", ...): its
    class name, its ``get_config()``, and no registered (custom) name."""
    return {
        "module": module,
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }
