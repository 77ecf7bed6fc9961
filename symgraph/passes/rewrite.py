"""The machinery every pass shares: a bottom-up local rewrite over an immutable graph.

``rewrite(outputs, rule)`` visits nodes in topological order. Each node is first rebuilt
on its inputs' replacements (through ``apply``, so it interns and its type is checked
again), then ``rule(node)`` may return replacement tensors, one per output, of the same
dtypes and shapes. New nodes a rule creates carry the replaced node's user line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from symgraph.graph.core import Node, Tensor, apply, located
from symgraph.graph.traversal import toposort
from symgraph.provenance import covered_nodes, is_fused, record_fused

Rule = Callable[[Node], list[Tensor] | None]


@dataclass(frozen=True)
class Pass:
    """A named rewrite: ``run(outputs) -> (outputs, times fired)``."""

    name: str
    run: Callable[[list[Tensor]], tuple[list[Tensor], int]]
    level: int  # the lowest optimisation level (O1 or O2) that runs it
    doc: str


def rewrite(outputs: list[Tensor], rule: Rule) -> tuple[list[Tensor], int]:
    """``outputs`` with ``rule`` applied once to every node, bottom-up; and how many
    nodes it replaced."""
    new: dict[int, Tensor] = {}
    fired = 0
    for original in toposort(outputs):
        node = rebuild(original, new)
        with located(node.location):
            replacement = rule(node)
        if replacement is None:
            continue
        _check_replacement(node, replacement)
        fired += 1
        for old, fresh in zip(original.outputs, replacement):
            new[id(old)] = fresh
    return [new.get(id(t), t) for t in outputs], fired


def rebuild(node: Node, new: dict[int, Tensor]) -> Node:
    """``node`` applied again to its inputs' replacements in ``new`` (keyed by the id of
    the tensor replaced), its outputs' replacements recorded there; ``node`` itself when
    none of its inputs was replaced."""
    inputs = [new.get(id(t), t) for t in node.inputs]
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    with located(node.location):
        rebuilt = apply(node.op, *inputs)
    if is_fused(node):  # a later pass rebuilding it: it still computes the user's nodes
        record_fused(rebuilt, covered_nodes(node))
    for old, fresh in zip(node.outputs, rebuilt.outputs):
        new[id(old)] = fresh
    return rebuilt


def fixpoint(rule: Rule, limit: int = 20) -> Callable[[list[Tensor]], tuple[list[Tensor], int]]:
    """A pass running ``rule`` until nothing changes (at most ``limit`` sweeps)."""

    def run(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
        total = 0
        for _ in range(limit):
            outputs, fired = rewrite(outputs, rule)
            total += fired
            if not fired:
                break
        return outputs, total

    run.__doc__ = rule.__doc__
    return run


def _check_replacement(node: Node, replacement: list[Tensor]) -> None:
    if len(replacement) != len(node.outputs):
        raise RuntimeError(
            f"a rewrite of {node.op} returned {len(replacement)} tensors for {len(node.outputs)} outputs"
        )
    for old, fresh in zip(node.outputs, replacement):
        if not isinstance(fresh, Tensor) or fresh.dtype != old.dtype or fresh.shape != old.shape:
            got = fresh.type if isinstance(fresh, Tensor) else type(fresh).__name__
            raise RuntimeError(f"a rewrite of {node.op} replaced {old.type} by {got} (a bug in the rewrite)")
