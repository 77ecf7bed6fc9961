"""softmax, log_softmax and the cross-entropies (``sg.nn.*``)."""

from __future__ import annotations

__all__: list[str] = []
