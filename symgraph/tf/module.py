"""``tf.Module``: a named container whose Variables, and those of the modules it holds,
are collected by walking its attributes (TensorFlow's rule: lists, tuples and dicts are
walked too; each Variable once)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import symgraph as sg


class Module:
    """Base class of hand-written layers and models (``class Dense(tf.Module)``)."""

    def __init__(self, name: str | None = None):
        self._name = name or _snake(type(self).__name__)

    @property
    def name(self) -> str:
        return self._name

    @contextlib.contextmanager
    def name_scope(self) -> Iterator[None]:
        """Accepted for TensorFlow's ``with self.name_scope:`` spelling; names nothing."""
        yield

    @property
    def variables(self) -> tuple[sg.Variable, ...]:
        """Every Variable of this module and the modules inside it, in attribute order."""
        return tuple(_walk(self, lambda v: True))

    @property
    def trainable_variables(self) -> tuple[sg.Variable, ...]:
        """The trainable ones among ``variables``."""
        return tuple(_walk(self, lambda v: v.trainable))

    @property
    def submodules(self) -> tuple[Module, ...]:
        """The modules inside this one, depth first."""
        found: list[Module] = []
        _submodules(self, found, set())
        return tuple(found)


def _values(obj: Any) -> list[Any]:
    if isinstance(obj, Module):
        return [v for k, v in vars(obj).items() if k != "_name"]
    if isinstance(obj, dict):
        return [obj[k] for k in sorted(obj, key=str)]
    if isinstance(obj, (list, tuple)):
        return list(obj)
    return []


def _walk(root: Module, keep: Any) -> list[sg.Variable]:
    found: list[sg.Variable] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, sg.Variable):
            if keep(obj):
                found.append(obj)
            continue
        stack[:0] = _values(obj)
    return found


def _submodules(obj: Any, found: list[Module], seen: set[int]) -> None:
    for value in _values(obj):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Module):
            found.append(value)
        _submodules(value, found, seen)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))
