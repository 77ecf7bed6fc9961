"""The benchmark workloads of BENCHMARKS.md, written with symgraph's graph API."""

from __future__ import annotations

import numpy as np

import symgraph as sg


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def mlp_train_step(sizes=(784, 512, 512, 10), lr: float = 1e-3, mode: str | None = None) -> sg.Function:
    """W3's training step compiled: one call per batch, returning the loss."""
    inputs, loss, updates = mlp_train_graph(sizes, lr)
    return sg.function(inputs, loss, updates=updates, mode=mode, name="mlp_train_step")


def mlp_train_graph(sizes=(784, 512, 512, 10), lr: float = 1e-3):
    """W3 as graph: Dense relu layers, softmax cross-entropy on integer labels, Adam
    (Keras' defaults: beta1 0.9, beta2 0.999, epsilon 1e-7); (inputs, loss, updates)."""
    rng = np.random.default_rng(0)
    x = sg.placeholder((None, sizes[0]), "float32", name="x")
    y = sg.placeholder((None,), "int32", name="y")
    params = []
    h = x
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = sg.Variable(glorot(rng, fan_in, fan_out), name=f"W{k}")
        b = sg.Variable(np.zeros(fan_out, np.float32), name=f"b{k}")
        params += [W, b]
        h = h @ W + b
        if k < len(sizes) - 2:
            h = sg.nn.relu(h)
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(h, y))
    grads = sg.grad(loss, params)
    step = sg.Variable(np.float32(0), name="step")
    t = step + 1.0
    beta1, beta2, eps = 0.9, 0.999, 1e-7
    scale = lr * sg.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    updates = [(step, t)]
    for p, g in zip(params, grads):
        m = sg.Variable(np.zeros(p.shape, np.float32), name=f"m_{p.name}")
        v = sg.Variable(np.zeros(p.shape, np.float32), name=f"v_{p.name}")
        m_new = beta1 * m + (1.0 - beta1) * g
        v_new = beta2 * v + (1.0 - beta2) * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (sg.sqrt(v_new) + eps))]
    return [x, y], loss, updates


def mlp_batch(batch: int = 128, features: int = 784, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, features)).astype(np.float32), rng.integers(0, classes, batch).astype(np.int32)
