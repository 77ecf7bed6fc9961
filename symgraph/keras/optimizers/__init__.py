"""``keras.optimizers``: SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam with Keras 3's
update rules (see ``rules``), the learning-rate ``schedules``, and ``get``.

An optimizer builds graph: ``opt.get_updates(grads, variables)`` returns the
``(Variable, new value)`` pairs of one step for ``sg.function(updates=...)``.
"""

from __future__ import annotations

from typing import Any

from symgraph.keras.optimizers import schedules
from symgraph.keras.optimizers.base import Optimizer, clip_by_global_norm
from symgraph.keras.optimizers.rules import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from symgraph.keras.serialization import serialize_builtin

ALL_OBJECTS = (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer: Optimizer) -> dict:
    """Keras 3's serialized form of an optimizer."""
    return serialize_builtin("keras.optimizers", optimizer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """The optimizer a ``{"class_name": ..., "config": {...}}`` dict describes; class
    names match case-insensitively ("adam", "Adam")."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer identifier: {config}")
    name = str(config["class_name"])
    table = {**ALL_OBJECTS_DICT, **{k: v for k, v in (custom_objects or {}).items()}}
    cls = table.get(name) or table.get(name.lower())
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {config}")
    return cls.from_config(dict(config.get("config") or {}), custom_objects)


def get(identifier: Any) -> Optimizer | None:
    """An Optimizer for a name ("adam", "sgd", "rmsprop", ...; defaults), a serialized
    dict, or an Optimizer instance (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        try:
            obj = deserialize({"class_name": identifier, "config": {}})
        except ValueError:  # name the string the user wrote, as Keras does
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}") from None
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")


__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "schedules",
    "get",
    "serialize",
    "deserialize",
    "clip_by_global_norm",
]
