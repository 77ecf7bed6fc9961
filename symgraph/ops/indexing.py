"""Indexing: ``x[...]`` (basic and integer-array indexing), take/gather, one_hot,
and the scatter-add that is the gradient of a gather."""

from __future__ import annotations

__all__ = []
