"""Neural-network activations (``sg.nn.relu``, ``sg.nn.sigmoid``, ...), elementwise."""

from __future__ import annotations

__all__: list[str] = []
