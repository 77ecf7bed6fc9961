"""Matrix products keep transposes out of memory: they become MatMul flags."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from symgraph.graph.traversal import toposort


def _ops(outputs) -> list[str]:
    return [n.op.name for n in toposort(outputs)]


def test_user_transpose_folds_into_the_flag():
    x = sg.placeholder((None, 4), name="x")
    W = sg.Variable(np.zeros((3, 4), "float32"), name="W")
    y = x @ W.T
    assert str(y.node.op) == "matmul{transpose_b=True}"
    assert y.node.inputs[1] is W


def test_mlp_gradient_has_no_transpose_nodes():
    x = sg.placeholder((None, 784), name="x")
    labels = sg.placeholder((None,), "int32", name="y")
    W1 = sg.Variable(np.zeros((784, 64), "float32"), name="W1")
    W2 = sg.Variable(np.zeros((64, 10), "float32"), name="W2")
    logits = sg.nn.relu(x @ W1) @ W2
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(logits, labels))
    grads = sg.grad(loss, [W1, W2])
    ops = _ops(grads)
    assert "transpose" not in ops
    flagged = [str(n.op) for n in toposort(grads) if n.op.name == "matmul"]
    assert "matmul{transpose_a=True}" in flagged and "matmul{transpose_b=True}" in flagged
