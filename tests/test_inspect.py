"""Inspection beyond text dumps: networkx graphs, DOT and SVG, profiles, SYMGRAPH_DEBUG."""

from __future__ import annotations

import re
import shutil
import time

import networkx as nx
import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import SymgraphError, UnsupportedError
from symgraph.inspect.graphviz import dot_quote

# --- networkx and DOT -------------------------------------------------------------------


def _layer():
    x = sg.placeholder((None, 4), name="x")
    W = sg.Variable(np.ones((4, 3), "float32"), name="W")
    b = sg.Variable(np.zeros((3,), "float32"), name="b")
    return x, sg.sum(sg.tanh(x @ W + b), axis=1)


def test_to_networkx_has_types_ops_and_lines():
    x, y = _layer()
    f = sg.function([x], y, mode="py")
    built = f.to_networkx(optimized=False)
    ran = f.to_networkx()
    assert isinstance(built, nx.DiGraph) and nx.is_directed_acyclic_graph(ran)
    ops = nx.get_node_attributes(built, "op")
    assert sorted(ops.values()) == sorted(
        ["placeholder", "variable", "matmul", "variable", "add", "tanh", "sum", "output"]
    )
    matmul = next(n for n, op in ops.items() if op == "matmul")
    data = built.nodes[matmul]
    assert data["dtype"] == "float32" and data["shape"] == "[x.0,3]"
    assert re.fullmatch(r"test_inspect\.py:\d+", data["location"])
    assert [built.edges[e]["index"] for e in built.in_edges(matmul)] == [0, 1]
    fused = [n for n, d in ran.nodes(data=True) if d["fuses"]]
    assert len(fused) == 1 and ran.nodes[fused[0]]["fuses"] == "matmul, add, tanh"  # a GEMM epilogue
    assert ran.graph["optimized"] and not built.graph["optimized"]


_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->)|([\[\];=,{}])|([A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+))')


def _parse_dot(text: str) -> nx.DiGraph:
    """A small reader for the DOT subset to_dot writes: quoted or bare ids, node and edge
    statements with attribute lists, graph-level attributes. Fails on anything else."""
    tokens = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        assert m, f"unexpected DOT text at {text[pos : pos + 40]!r}"
        quoted, arrow, punct, word = m.groups()
        tokens.append(
            ("str", bytes(quoted[1:-1], "utf-8").decode("unicode_escape")) if quoted else arrow or punct or word
        )
        pos = m.end()

    def value(tok):
        return tok[1] if isinstance(tok, tuple) else tok

    assert tokens[:3] == ["digraph", "symgraph", "{"] and tokens[-1] == "}"
    graph = nx.DiGraph()
    i = 3
    while tokens[i] != "}":
        if tokens[i] in ("node", "edge"):
            i = tokens.index("]", i) + 2
            continue
        first = value(tokens[i])
        if tokens[i + 1] == "=":
            graph.graph[first] = value(tokens[i + 2])
            i += 4
            continue
        target = value(tokens[i + 2]) if tokens[i + 1] == "->" else None
        j = i + (3 if target is not None else 1)
        attrs = {}
        assert tokens[j] == "[", tokens[j]
        j += 1
        while tokens[j] != "]":
            attrs[value(tokens[j])] = value(tokens[j + 2])
            j += 3 + (tokens[j + 3] == ",")
        assert tokens[j + 1] == ";"
        if target is None:
            graph.add_node(first, **attrs)
        else:
            graph.add_edge(first, target, **attrs)
        i = j + 2
    return graph


def test_dot_parses_back_to_the_same_graph():
    x, y = _layer()
    f = sg.function([x], y, mode="py")
    for optimized in (False, True):
        g = f.to_networkx(optimized=optimized)
        parsed = _parse_dot(f.to_dot(optimized=optimized))
        assert set(parsed.nodes) == set(g.nodes)
        assert set(parsed.edges) == set(g.edges)
        for n, data in g.nodes(data=True):
            label = parsed.nodes[n]["label"]
            assert data["label"] in label and (data["location"] in label)
        assert parsed.graph["label"] == f"optimized={optimized}"


def test_dot_quoting_survives_quotes_backslashes_and_newlines():
    assert dot_quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    x = sg.placeholder((2,), name='we"ird\\name')
    text = sg.to_dot(x * 2.0)
    parsed = _parse_dot(text)
    assert any('we"ird\\name' in d["label"] for _, d in parsed.nodes(data=True))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_to_svg_draws_with_graphviz(tmp_path):
    x, y = _layer()
    f = sg.function([x], y, mode="py")
    path = f.to_svg(tmp_path / "graph.svg")
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "matmul" in svg


def test_to_svg_without_graphviz_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x, y = _layer()
    with pytest.raises(SymgraphError, match="install Graphviz"):
        sg.to_svg(y, tmp_path / "graph.svg")


# --- profiles ---------------------------------------------------------------------------


def _large_graph():
    x = sg.placeholder((None, 512), name="x")
    W = sg.Variable(np.random.default_rng(0).standard_normal((512, 512)).astype("float32") * 0.05, name="W")
    h = sg.tanh(x @ W + 1.0)  # matmul, then one loop fused into the sum
    return x, sg.sum(sg.exp(h) * h, axis=1)


def test_profile_kernel_times_add_up_to_the_call_time():
    x, y = _large_graph()
    f = sg.function([x], y, profile=True)
    data = np.random.default_rng(1).standard_normal((2048, 512)).astype("float32")
    f(data)  # warm: the arena is allocated on the first call
    f.profile(file=False, reset=True)
    start = time.perf_counter()
    for _ in range(10):
        f(data)
    measured = time.perf_counter() - start
    prof = f.profile(file=False)
    assert prof.calls == 10
    assert all(r.calls == 10 for r in prof.rows)
    assert abs(prof.kernel_seconds - measured) <= 0.10 * measured, (prof.kernel_seconds, measured)
    kernels = {r.kernel.split("_", 1)[1] for r in prof.rows}
    assert kernels == {"matmul", "add_tanh_exp_mul_sum"}  # named after the ops they compute
    fused = next(r for r in prof.rows if r.kernel.endswith("_sum"))
    assert "add test_inspect.py:" in fused.nodes and "tanh" in fused.nodes and "exp" in fused.nodes
    assert set(prof.compile_times) >= {"passes", "codegen", "load"}
    text = str(prof)
    assert "matmul" in text and "%" in text and "compile:" in text


def test_fused_kernels_name_the_users_nodes_when_a_later_fusion_rebuilds_them():
    """fuse_conv_epilogue runs after the elementwise and matmul fusions and rebuilds what
    lies downstream of a convolution: the rebuilt fused nodes still name the user's ops."""
    rng = np.random.default_rng(2)
    x = sg.placeholder((None, 8, 8, 3), name="x")
    w = sg.Variable(rng.standard_normal((3, 3, 3, 4)).astype("float32"), name="w")
    W = sg.Variable(rng.standard_normal((144, 5)).astype("float32"), name="W")
    h = sg.reshape(sg.nn.relu(sg.nn.conv2d(x, w) + 0.5), (-1, 144))
    y = sg.tanh(h @ W + 1.0)
    f = sg.function([x], [y, sg.sum(sg.exp(y) * 2.0 - 1.0)], profile=True)
    f(rng.standard_normal((2, 8, 8, 3)).astype("float32"))
    rows = {r.kernel.split("_", 1)[1]: r.nodes for r in f.profile(file=False).rows}
    assert set(rows) == {"conv2d_add_relu", "matmul_add_tanh_exp_mul", "sum"}
    assert all("test_inspect.py:" in nodes and "fused" not in nodes for nodes in rows.values()), rows
    assert "tanh test_inspect.py:" in rows["matmul_add_tanh_exp_mul"] and "relu" in rows["conv2d_add_relu"]


def test_profile_prints_a_table(capsys):
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.exp(x) * 2.0, profile=True)
    f(np.ones(10, "float32"))
    returned = f.profile()
    printed = capsys.readouterr().out
    assert printed.strip() == str(returned).strip()
    assert "kernel" in printed and "calls" in printed and "mean us" in printed


def test_profile_in_py_mode_times_whole_calls():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.exp(x), mode="py", profile=True)
    f(np.ones(4, "float32"))
    prof = f.profile(file=False)
    assert prof.rows == [] and prof.calls == 1 and prof.call_seconds > 0
    assert "runs no C kernels" in str(prof)


def test_profiling_leaves_the_plain_unit_unchanged():
    x = sg.placeholder((None,), name="x")
    y = sg.exp(x) * 2.0 + 1.0
    plain = sg.function([x], y)
    again = sg.function([x], y)
    timed = sg.function([x], y, profile=True)
    guarded = sg.function([x], y, nan_guard=True)
    assert plain.c_source == again.c_source
    assert "sg_prof" not in plain.c_source and "sg_first_nan" not in plain.c_source
    assert "sg_prof_now" in timed.c_source and "sg_first_nan" in guarded.c_source
    assert type(plain) is sg.Function
    with pytest.raises(UnsupportedError, match="profile=True"):
        plain.profile()
    np.testing.assert_allclose(timed(np.ones(3, "float32")), plain(np.ones(3, "float32")))


# --- SYMGRAPH_DEBUG ---------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_symgraph_debug_levels_print_progressively_more(level, monkeypatch, capsys):
    monkeypatch.setenv("SYMGRAPH_DEBUG", str(level))
    x = sg.placeholder((None,), name="x")
    sg.function([x], sg.exp(x) * float(level + 0.5))  # a unit not in this process' memo
    err = capsys.readouterr().err
    assert "pass pipeline at O2" in err
    assert ("# optimized=False" in err and "# optimized=True" in err) == (level >= 2)
    assert ('#include "symgraph.h"' in err) == (level >= 3)
    if level >= 4:
        assert "compiling 'function':" in err or "came from the cache: no compiler ran" in err
    else:
        assert "compiling" not in err


# --- the command line -------------------------------------------------------------------

MODEL = """\
import numpy as np
import symgraph as sg

x = sg.placeholder((None, 4), name="x")
W = sg.Variable(np.zeros((4, 3), "float32"), name="W")
loss = sg.sum(sg.tanh(x @ W + 1.0))
step = sg.function([x], loss, mode="py")

if __name__ == "__main__":
    raise SystemExit("the training loop must not run")
"""


def test_command_line_dumps_a_function_and_a_tensor(tmp_path, capsys):
    from symgraph.inspect.cli import main

    model = tmp_path / "model.py"
    model.write_text(MODEL)
    assert main(["dump", f"{model}:step"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("# optimized=True")
        and "fused_reduce{expr=sum{axes=(0,1), keepdims=False}(tanh(add(%0, %1)))}" in out
    )
    assert "model.py:6" in out
    assert main(["dump", f"{model}:loss", "--built"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# optimized=False") and "tanh(%4)" in out
    assert main(["dot", f"{model}:step"]) == 0
    assert capsys.readouterr().out.startswith("digraph symgraph {")
    assert main(["report", f"{model}:step"]) == 0
    assert "pass pipeline at O2" in capsys.readouterr().out
    assert main(["dump", f"{model}:nothing"]) == 1
    assert "defines no 'nothing'" in capsys.readouterr().err
