"""Nested structures of values (lists, tuples, namedtuples, dicts) flattened to leaves and
rebuilt: how a traced function's arguments and results, and a tape's sources, are walked.
Dicts are walked in sorted key order, as TensorFlow's ``tf.nest`` does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Rebuild = Callable[[list[Any]], Any]


def flatten(structure: Any) -> tuple[list[Any], Rebuild, Any]:
    """(leaves, rebuild, shape): ``rebuild(new_leaves)`` makes the same structure around
    new leaves; ``shape`` is a hashable description of the structure (not of the leaves)."""
    leaves: list[Any] = []
    shape = _walk(structure, leaves)

    def rebuild(new_leaves: list[Any]) -> Any:
        it = iter(new_leaves)
        return _build(structure, it)

    return leaves, rebuild, shape


def _walk(s: Any, leaves: list[Any]) -> Any:
    if isinstance(s, Mapping):
        keys = sorted(s)
        return ("dict", type(s), tuple(keys), tuple(_walk(s[k], leaves) for k in keys))
    if isinstance(s, (list, tuple)):
        return (type(s), tuple(_walk(v, leaves) for v in s))
    leaves.append(s)
    return None


def _build(s: Any, it: Any) -> Any:
    if isinstance(s, Mapping):
        rebuilt = {k: _build(s[k], it) for k in sorted(s)}
        return type(s)(rebuilt) if type(s) is not dict else rebuilt
    if isinstance(s, list):
        return [_build(v, it) for v in s]
    if isinstance(s, tuple):
        items = [_build(v, it) for v in s]
        return type(s)(*items) if hasattr(s, "_fields") else tuple(items)
    return next(it)


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """The structure with ``fn`` applied to every leaf."""
    leaves, rebuild, _ = flatten(structure)
    return rebuild([fn(x) for x in leaves])
