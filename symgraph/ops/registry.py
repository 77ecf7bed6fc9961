"""The op table: every op class, by name, in one registry.

Tests are driven by it (every registered op must have a reference test entry), and the
backends look ops up in it.
"""

from __future__ import annotations

from symgraph.graph.core import Op

OP_TABLE: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator adding ``cls`` to the op table under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in OP_TABLE and OP_TABLE[cls.name] is not cls:
        raise ValueError(f"op name {cls.name!r} registered twice ({OP_TABLE[cls.name].__name__}, {cls.__name__})")
    OP_TABLE[cls.name] = cls
    return cls
