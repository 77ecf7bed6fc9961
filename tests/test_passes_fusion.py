"""Elementwise fusion, tested by graph structure and by equal numbers with it off."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.traversal import toposort
from symgraph.passes.fusion import fuse_elementwise

ONLY_FUSION = "O0,+fuse_elementwise"  # this pass alone: the others are tested on their own


def _op_names(outputs) -> list[str]:
    return [n.op.name for n in toposort(outputs) if n.inputs]


def test_w2_chain_becomes_one_loop():
    x = sg.placeholder((None,), name="x")
    a, b = sg.placeholder((), name="a"), sg.placeholder((), name="b")
    y = sg.tanh(x * a + b) * sg.nn.sigmoid(x) - 0.5 * x * x
    (out,), fired = fuse_elementwise([y])
    assert fired == 1 and _op_names([out]) == ["fused_elementwise"]
    assert out.node.op.expression() == "sub(mul(tanh(add(mul(%0, %1), %2)), sigmoid(%0)), mul(mul(%3, %0), %0))"
    assert out.node.location == y.node.location


def test_a_value_used_outside_the_group_is_not_fused_away():
    x = sg.placeholder((4,), name="x")
    e = sg.exp(x)
    y = e * 2.0 + 1.0
    (out_y, out_e), _ = fuse_elementwise([y, e])
    assert out_e.node.op.name == "exp"  # an output keeps its own node
    assert out_y.node.op.name == "fused_elementwise" and out_y.node.inputs[0] is out_e


def test_a_smaller_broadcast_producer_is_not_recomputed_per_element():
    x = sg.placeholder((None, 8), name="x")
    c = sg.placeholder((None, 1), name="c")
    y = x * sg.exp(c) + 1.0  # exp(c) at (N, 1) would run 8 times per row if fused
    (out,), _ = fuse_elementwise([y])
    assert "exp" in _op_names([out])
    assert out.node.op.name == "fused_elementwise"
    assert any(t.node.op.name == "exp" for t in out.node.inputs)


def test_a_scalar_producer_is_fused():
    x = sg.placeholder((None,), name="x")
    s = sg.placeholder((), name="s")
    y = x * sg.exp(s)
    (out,), _ = fuse_elementwise([y])
    assert _op_names([out]) == ["fused_elementwise"]


def test_diamond_shares_the_common_value():
    x = sg.placeholder((None,), name="x")
    t = sg.tanh(x)
    y = t * t + t
    (out,), _ = fuse_elementwise([y])
    assert _op_names([out]) == ["fused_elementwise"]
    f = sg.function([x], y, passes=ONLY_FUSION)
    assert "const float v0 =" in f.c_source  # tanh computed once per element
    data = np.linspace(-2, 2, 7, dtype="float32")
    t_ = np.tanh(data)
    np.testing.assert_allclose(f(data), t_ * t_ + t_, rtol=2e-6)


GRAPHS = {
    "w2": lambda x, y: sg.tanh(x * 0.7 + 0.3) * sg.nn.sigmoid(x) - 0.5 * x * x,
    "broadcast": lambda x, y: sg.exp(x - sg.max(x, axis=1, keepdims=True)) / y,
    "where_cast": lambda x, y: sg.where(x > 0, sg.cast(x > y, "float32"), sg.abs(y) + 1.0),
    "ints": lambda x, y: sg.cast(sg.cast(x * 4.0, "int32") // 3 + 7, "float32") * y,
}


@pytest.mark.parametrize("mode", ["c", "py"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_numbers_equal_with_fusion_on_and_off(name, mode):
    x = sg.placeholder((None, 5), name="x")
    y = sg.placeholder((None, 5), name="y")
    out = GRAPHS[name](x, y)
    on = sg.function([x, y], out, mode=mode, passes=ONLY_FUSION)
    off = sg.function([x, y], out, mode=mode, passes="O0")
    assert any(r.name == "fuse_elementwise" and r.fired for r in on.report.passes)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((6, 5)).astype("float32") for _ in range(2))
    np.testing.assert_array_equal(on(a, b), off(a, b))


def test_training_step_has_fewer_kernels_with_fusion():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from workloads import mlp_train_graph

    def compiled(passes):  # each its own Variables (same seed): updates must not interfere
        inputs, loss, updates = mlp_train_graph(sizes=(20, 16, 4))
        return sg.function(inputs, loss, updates=updates, passes=passes)

    fused, plain = compiled(ONLY_FUSION), compiled("O0")
    assert fused.c_source.count("_fused_elementwise(") < plain.c_source.count("static int k")
    kernels = lambda f: f.c_source.count("static int k")  # noqa: E731
    assert kernels(fused) < kernels(plain) / 2
    x = np.random.default_rng(0).standard_normal((8, 20)).astype("float32")
    y = np.arange(8, dtype="int32") % 4
    for _ in range(3):  # the losses of three steps: the updates agree too
        assert fused(x, y) == plain(x, y)
