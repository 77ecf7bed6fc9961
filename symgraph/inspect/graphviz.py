"""Graphs as networkx DiGraphs, as Graphviz DOT text, and as SVG pictures.

``to_networkx(x)`` is the analysis form: one networkx node per graph node, keyed by its
short id (``%k`` of its first output, as in ``sg.dump``), with attributes ``op`` (the op's
name), ``label`` (op and attributes), ``dtype`` and ``shape`` (text, symbolic sizes by
name), ``location`` (the user's file:line, "" when unknown), ``fuses`` (for a fused
kernel: the ops it computes) and ``kind`` ("input", "variable", "constant", "op",
"output"); an edge per input, with ``index`` (its position among the consumer's inputs).

``to_dot(x)`` writes that DiGraph in the DOT language itself (networkx's own writers need
pydot or pygraphviz, neither a dependency), with every identifier and label quoted and
escaped, so any op attribute or file name is safe. ``to_svg(x, path)`` runs Graphviz's
``dot`` on it and raises a SymgraphError naming what to install when ``dot`` is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from symgraph.errors import SymgraphError
from symgraph.graph import shape as shp
from symgraph.graph.sources import Constant, Placeholder, SharedVariable
from symgraph.graph.traversal import toposort
from symgraph.inspect.dump import _graph_of, node_lines, tensor_ids
from symgraph.provenance import covered_nodes, is_fused


def to_networkx(x: Any, optimized: bool | None = None):
    """The graph computing ``x`` (tensor, list of tensors, or Function) as a
    ``networkx.DiGraph``; ``optimized`` as in ``sg.dump``."""
    import networkx as nx  # no cycle: importing networkx takes 0.15 s, which `import symgraph` should not pay

    outputs, updates, is_optimized = _graph_of(x, optimized)
    targets = outputs + [t for _, t in updates]
    ids = tensor_ids(targets)
    graph = nx.DiGraph(optimized=is_optimized)
    key_of: dict[int, str] = {}
    for node in toposort(targets):
        key = ids[id(node.outputs[0])]
        for t in node.outputs:
            key_of[id(t)] = key
        op = node.op
        kind = (
            "input"
            if isinstance(op, Placeholder)
            else "variable"
            if isinstance(op, SharedVariable)
            else "constant"
            if isinstance(op, Constant)
            else "op"
        )
        graph.add_node(
            key,
            op=op.name,
            label=str(op),
            dtype=", ".join(t.dtype.name for t in node.outputs),
            shape=", ".join(shp.shape_str(t.shape) for t in node.outputs),
            location=node_lines(node),
            fuses=", ".join(m.op.name for m in covered_nodes(node)) if is_fused(node) else "",
            kind=kind,
        )
        for index, t in enumerate(node.inputs):
            graph.add_edge(key_of[id(t)], key, index=index)
    for k, t in enumerate(outputs):
        name = f"output {k}"
        graph.add_node(name, op="output", label=name, dtype=t.dtype.name, shape=shp.shape_str(t.shape))
        graph.nodes[name].update(location="", fuses="", kind="output")
        graph.add_edge(key_of[id(t)], name, index=0)
    for var_name, t in updates:
        name = f"update {var_name}"
        graph.add_node(name, op="update", label=name, dtype=t.dtype.name, shape=shp.shape_str(t.shape))
        graph.nodes[name].update(location="", fuses="", kind="output")
        graph.add_edge(key_of[id(t)], name, index=0)
    return graph


def dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string: backslashes and quotes escaped, line breaks
    as DOT's ``\\n`` (centred lines)."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n") + '"'


_SHAPES = {"input": "box", "variable": "box3d", "constant": "note", "op": "ellipse", "output": "plaintext"}


def to_dot(x: Any, optimized: bool | None = None) -> str:
    """The graph in Graphviz's DOT language: a box per input, an ellipse per op (label:
    id, op with attributes, type, user's line), arrows from inputs to consumers."""
    graph = to_networkx(x, optimized)
    lines = [
        "digraph symgraph {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
        f"  label={dot_quote('optimized=' + str(graph.graph['optimized']))};",
    ]
    for key, data in graph.nodes(data=True):
        if data["kind"] == "output":
            text = data["label"]
        else:
            text = f"{key} = {data['label']}\n{_type_text(data)}"
            if data["location"]:
                text += f"\n{data['location']}"
        style = ', style=filled, fillcolor="#e8f0fe"' if data["fuses"] else ""
        lines.append(f"  {dot_quote(key)} [label={dot_quote(text)}, shape={_SHAPES[data['kind']]}{style}];")
    for a, b, data in graph.edges(data=True):
        lines.append(f"  {dot_quote(a)} -> {dot_quote(b)} [label={dot_quote(str(data['index']))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _type_text(data: dict) -> str:
    dtypes, shapes = data["dtype"].split(", "), data["shape"].split(", ")
    return ", ".join(d + s for d, s in zip(dtypes, shapes))


def to_svg(x: Any, path: str | Path, optimized: bool | None = None) -> Path:
    """Draw the graph into the SVG file ``path`` with Graphviz's ``dot``; returns the path."""
    dot = shutil.which("dot")
    if dot is None:
        raise SymgraphError(
            "to_svg needs Graphviz's `dot` program, which is not on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz, conda install graphviz), "
            "or write the DOT text with to_dot() and render it elsewhere"
        )
    target = Path(path)
    proc = subprocess.run([dot, "-Tsvg", "-o", str(target)], input=to_dot(x, optimized), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SymgraphError(f"Graphviz's dot failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return target
