"""``sg.dump``: a graph as text, one line per node in topological order.

    %2 = matmul(%0, %1)                 float32[x.0,10]    demo.py:9

Tensors are numbered in order of appearance; each node shows its op with attributes,
its inputs by number, the output type (symbolic sizes by name) and the user's
file:line that built it. A subexpression used twice is printed once and referenced.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from symgraph.graph.core import Tensor
from symgraph.graph.traversal import toposort


def dump(x: Any, file: TextIO | None = None, show_locations: bool = True) -> str:
    """Print (to ``file``, stdout by default; ``file=False`` prints nothing) and return
    the text of the graph computing ``x``: a tensor, a list of tensors, or a Function."""
    outputs = _outputs_of(x)
    numbers: dict[int, int] = {}
    rows = []
    for node in toposort(outputs):
        for t in node.outputs:
            numbers[id(t)] = len(numbers)
        lhs = ", ".join(f"%{numbers[id(t)]}" for t in node.outputs)
        args = ", ".join(f"%{numbers[id(t)]}" for t in node.inputs)
        call = f"{node.op}({args})" if node.inputs else str(node.op)
        types = ", ".join(str(t.type) for t in node.outputs)
        where = node.location.short if node.location is not None and show_locations else ""
        rows.append((f"{lhs} = {call}", types, where))
    results = "outputs: " + ", ".join(f"%{numbers[id(t)]}" for t in outputs)
    width = max((len(r[0]) for r in rows), default=0)
    type_width = max((len(r[1]) for r in rows), default=0)
    lines = [f"{a:<{width}}  {b:<{type_width}}  {c}".rstrip() for a, b, c in rows]
    text = "\n".join(lines + [results]) + "\n"
    if file is not False:
        (file or sys.stdout).write(text)
    return text


def _outputs_of(x: Any) -> list[Tensor]:
    if isinstance(x, Tensor):
        return [x]
    if hasattr(x, "outputs") and hasattr(x, "updates"):
        return list(x.outputs) + [e for _, e in x.updates]
    return list(x)
