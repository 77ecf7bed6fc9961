"""Canonicalisation, constant folding and algebraic simplification."""

from __future__ import annotations

from symgraph.graph.core import Tensor


def canonicalize(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Put equivalent expressions in one form so that merging and later rules see them."""
    return outputs, 0


def fold_constants(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Compute nodes whose inputs are all constants, through the ops' numpy references."""
    return outputs, 0


def simplify_algebra(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """x*1, x+0, x-x, neg(neg x), double transposes, reshape chains, ..."""
    return outputs, 0
