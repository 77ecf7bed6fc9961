"""``sg.dump``: a graph as text, one line per node in topological order.

    # optimized=True
    %2 = matmul(%0, %1)                 float32[x.0,10]    demo.py:9
    %5 = fused_elementwise{expr=tanh(add(%0, %1))}(%2, %4)  float32[x.0,10]  demo.py:9,10
    outputs: %5

Tensors get short ids (``%k``) in order of appearance; each node shows its op with its
attributes, its inputs by id, the output type (dtype and shape, symbolic sizes by
name) and the user's file:line that built it. A fused kernel shows its inner
expression over its own inputs (``%0`` is its first input) and the lines of every node
it covers. A subexpression used twice is printed once and referenced by its id after.
The text holds no addresses and no directories, so it is stable across runs (golden
tests compare it verbatim).
"""

from __future__ import annotations

import os
from typing import Any, TextIO, overload

from symgraph.graph.core import Node, Tensor
from symgraph.graph.traversal import toposort
from symgraph.passes.pipeline import optimize
from symgraph.provenance import covered_nodes


@overload
def dump(x: Any, file: None = None, show_locations: bool = True, optimized: bool | None = None) -> str: ...
@overload
def dump(x: Any, file: TextIO, show_locations: bool = True, optimized: bool | None = None) -> None: ...
def dump(x: Any, file: TextIO | None = None, show_locations: bool = True, optimized: bool | None = None) -> str | None:
    """The text of the graph computing ``x``: a tensor, a list of tensors, or a Function.

    One behaviour per call: without ``file`` the text is returned and nothing is printed
    (as JAX's ``make_jaxpr`` returns its jaxpr), so ``print(sg.dump(y))`` shows it once;
    with ``file`` (``sys.stdout``, an open file) the text is written there (as PyTensor's
    ``debugprint(file=...)`` writes) and None is returned.

    ``optimized``: for a Function, the graph that runs (True, the default) or the graph
    as built (False); for tensors, the graph as built (False, the default) or after the
    default passes (True)."""
    outputs, updates, is_optimized = _graph_of(x, optimized)
    text = dump_text(outputs, updates, show_locations, header=f"# optimized={is_optimized}")
    if file is None:
        return text
    file.write(text)
    return None


def dump_text(
    outputs: list[Tensor],
    updates: list[tuple[str, Tensor]] | None = None,
    show_locations: bool = True,
    header: str | None = None,
) -> str:
    """The dump of ``outputs`` (and of named update expressions) as one string."""
    updates = updates or []
    ids = tensor_ids(outputs + [t for _, t in updates])
    rows = []
    for node in toposort(outputs + [t for _, t in updates]):
        lhs = ", ".join(ids[id(t)] for t in node.outputs)
        args = ", ".join(ids[id(t)] for t in node.inputs)
        call = f"{op_text(node.op)}({args})" if node.inputs else op_text(node.op)
        types = ", ".join(str(t.type) for t in node.outputs)
        where = node_lines(node) if show_locations else ""
        rows.append((f"{lhs} = {call}", types, where))
    width = max((len(r[0]) for r in rows), default=0)
    type_width = max((len(r[1]) for r in rows), default=0)
    lines = [header] if header else []
    lines += [f"{a:<{width}}  {b:<{type_width}}  {c}".rstrip() for a, b, c in rows]
    lines.append("outputs: " + ", ".join(ids[id(t)] for t in outputs))
    if updates:
        lines.append("updates: " + ", ".join(f"{name} <- {ids[id(t)]}" for name, t in updates))
    return "\n".join(lines) + "\n"


def op_text(op: Any) -> str:
    """The op with its attributes; a fused kernel as its program, a step used more than
    once named (``v2=exp(%0); mul(v2, v2)``) and each output shown (``$0=...; $1=...``)."""
    program = getattr(op, "program", None)
    if program is None:
        return str(op)
    outputs = tuple(getattr(op, "outputs", (len(program) - 1,)))
    uses = [0] * len(program)
    for _, refs, _, _ in program:
        for kind, k in refs:
            if kind == "step":
                uses[k] += 1
    texts: list[str] = []
    parts: list[str] = []
    for j, (step_op, refs, _, _) in enumerate(program):
        args = ", ".join(f"%{k}" if kind == "in" else texts[k] for kind, k in refs)
        text = f"{step_op}({args})"
        if j in outputs:
            name = f"${outputs.index(j)}" if len(outputs) > 1 else "expr"
            parts.append(f"{name}={text}")
            text = name if len(outputs) > 1 else text
        elif uses[j] > 1:
            parts.append(f"v{j}={text}")
            text = f"v{j}"
        texts.append(text)
    return f"{op.name}{{{'; '.join(parts)}}}"


def tensor_ids(outputs: list[Tensor]) -> dict[int, str]:
    """``%k`` for every tensor of the graph, numbered in topological order."""
    ids: dict[int, str] = {}
    for node in toposort(outputs):
        for t in node.outputs:
            ids[id(t)] = f"%{len(ids)}"
    return ids


def node_lines(node: Node) -> str:
    """The user's file:line of ``node``; for a fused node, the lines of every node it
    covers (``f.py:3,4``), file by file."""

    by_file: dict[str, list[int]] = {}
    for member in covered_nodes(node):
        if member.location is not None:
            lines = by_file.setdefault(os.path.basename(member.location.file), [])
            if member.location.line not in lines:
                lines.append(member.location.line)
    return " ".join(f"{name}:{','.join(map(str, sorted(lines)))}" for name, lines in by_file.items())


def _graph_of(x: Any, optimized: bool | None) -> tuple[list[Tensor], list[tuple[str, Tensor]], bool]:
    """(outputs, named updates, whether it is the optimised graph) for what dump was given."""
    if hasattr(x, "graph_outputs") and hasattr(x, "updates"):  # a Function
        names = [var.name or f"variable {k}" for k, (var, _) in enumerate(x.updates)]
        n_out = len(x.outputs)
        if optimized is False:
            built = list(x.graph_outputs)
            return built[:n_out], list(zip(names, built[n_out:])), False
        return list(x.outputs), [(name, e) for name, (_, e) in zip(names, x.updates)], True
    outputs = [x] if isinstance(x, Tensor) else list(x)
    if optimized:
        outputs, _ = optimize(outputs)
        return outputs, [], True
    return outputs, [], False
