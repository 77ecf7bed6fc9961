"""The pass pipeline: selection by level and name, the report, located rewrites."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.core import Node
from symgraph.passes.pipeline import PIPELINE, select
from symgraph.passes.rewrite import rewrite


def test_levels_and_names_select_passes():
    assert select("O0")[1] == []
    level, chosen = select("O1")
    assert level == 1 and "fuse_elementwise" not in [p.name for p in chosen]
    assert "fuse_elementwise" in [p.name for p in select("O1,+fuse_elementwise")[1]]
    assert "stabilize" not in [p.name for p in select("O2,-stabilize")[1]]
    assert [p.name for p in select(None)[1]] == [p.name for p in PIPELINE if p.level <= 2]
    with pytest.raises(sg.errors.InputError, match="no pass named"):
        select("O2,-nope")


def test_environment_variable_applies_after_the_argument(monkeypatch):
    monkeypatch.setenv("SYMGRAPH_PASSES", "-stabilize")
    assert "stabilize" not in [p.name for p in select("O2")[1]]


def test_function_keeps_a_report_per_pass():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], x * 2.0 + 1.0)
    names = [r.name for r in f.report.passes]
    assert names == [p.name for p in PIPELINE if p.level <= 2]
    assert all(r.nodes_before >= 1 and r.seconds >= 0 for r in f.report.passes)
    assert "fold_constants" in str(f.report)


def test_rewrite_replaces_and_new_nodes_keep_the_users_line():
    x = sg.placeholder((3,), name="x")
    y = sg.exp(x) * 2.0  # the line rewritten nodes must point at
    line = y.node.location.line

    def exp_to_expm1_plus_one(node: Node):
        if node.op.name == "exp":
            return [sg.expm1(node.inputs[0]) + 1.0]
        return None

    (out,), fired = rewrite([y], exp_to_expm1_plus_one)
    assert fired == 1
    assert out.node.op.name == "mul" and out.node.inputs[0].node.op.name == "add"
    assert out.node.inputs[0].node.location.line == line
    f = sg.function([x], out, passes="O0")
    np.testing.assert_allclose(f(np.array([0, 1, 2], "float32")), 2 * np.exp([0, 1, 2]), rtol=1e-6)


def test_only_the_levels_that_hold_passes_are_offered():
    """O2 is every pass there is; a level above it would promise passes that do not exist."""
    assert select("O2")[1] == PIPELINE
    with pytest.raises(sg.errors.InputError, match="O0..O2"):
        select("O3")
