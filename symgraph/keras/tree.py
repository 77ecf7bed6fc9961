"""Nested structures of lists, tuples and dicts (Keras 3's ``keras.tree``): the leaves in
order, a function mapped over them, and leaves put back into a structure's shape. Dicts
are walked by sorted key, as Keras walks them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def flatten(structure: Any) -> list:
    """The leaves of nested lists/tuples/dicts, in order (dicts by sorted key, as Keras)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """``structure`` with ``fn`` applied to every leaf (dicts keep their own key order)."""
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


def pack_like(structure: Any, leaves: list) -> Any:
    """``leaves`` (in ``flatten`` order) put back into the shape of ``structure``."""
    it = iter(leaves)

    def rebuild(s: Any) -> Any:
        if isinstance(s, list):
            return [rebuild(item) for item in s]
        if isinstance(s, tuple):
            return tuple(rebuild(item) for item in s)
        if isinstance(s, dict):
            rebuilt = {key: rebuild(s[key]) for key in sorted(s)}
            return {key: rebuilt[key] for key in s}
        return next(it)

    return rebuild(structure)
