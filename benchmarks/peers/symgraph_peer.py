"""symgraph through its graph API: placeholders, Variables, sg.grad, sg.function (C mode).

W3 and W7 reuse benchmarks/workloads.py (the MLP training graph with Adam); W5 and W6 use
sg.nn.conv2d / max_pool2d / dropout / embedding / lstm and are skipped, saying so, while
those functions do not exist yet.
"""

from __future__ import annotations

import numpy as np

from benchmarks import spec

sg = None  # symgraph, imported by setup() after the thread settings


def setup(variant: str) -> str:
    global sg
    import symgraph

    sg = symgraph
    return f"symgraph {symgraph.__version__}"


def w1(ctx) -> None:
    x = sg.placeholder((None,), "float32", name="x")
    f = sg.function([x], x * 2.0 + 1.0)
    xv = np.arange(ctx.sizes.w1_n, dtype=np.float32)
    np.testing.assert_allclose(f(xv), xv * 2 + 1)
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: f(xv)))


def w2(ctx) -> None:
    x = sg.placeholder((None,), "float32", name="x")
    a, b = sg.placeholder((), "float32", name="a"), sg.placeholder((), "float32", name="b")
    f = sg.function([x, a, b], sg.tanh(x * a + b) * sg.nn.sigmoid(x) - 0.5 * x * x)
    xv, av, bv = spec.w2_input(ctx.sizes), np.float32(spec.W2_A), np.float32(spec.W2_B)
    timing = ctx.time(lambda: f(xv, av, bv))
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def w3_step(sizes: spec.Sizes):
    from benchmarks.workloads import mlp_train_step

    f = mlp_train_step(sizes.mlp)
    x, y = spec.mlp_data(sizes)
    return lambda: f(x, y)


def w3(ctx) -> None:
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(w3_step(ctx.sizes)))


def mlp_forward(sizes: spec.Sizes):
    """W4: logits of the W3 network, a function of a (batch, in) placeholder."""
    params = spec.mlp_params(sizes)
    x = sg.placeholder((None, sizes.mlp[0]), "float32", name="x")
    h = x
    for k in range(0, len(params), 2):
        h = h @ sg.Variable(params[k], name=f"W{k // 2}") + sg.Variable(params[k + 1], name=f"b{k // 2}")
        if k + 2 < len(params):
            h = sg.nn.relu(h)
    return sg.function([x], h, name="mlp_forward")


def w4(ctx) -> None:
    f = mlp_forward(ctx.sizes)
    for batch in ctx.sizes.w4_batches:
        x, _ = spec.mlp_data(ctx.sizes, batch)
        ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(lambda x=x: f(x)))


def missing(*names: str) -> list[str]:
    return [name for name in names if not hasattr(sg.nn, name)]


def adam(loss, params: list, lr: float = 1e-3) -> list:
    """Keras' Adam as updates: t += 1; m, v moments; p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)."""
    return adam_updates(params, sg.grad(loss, params), lr)


def adam_updates(params: list, grads: list, lr: float = 1e-3) -> list:
    """adam's updates from given gradients (W9 averages them across processes first)."""
    step = sg.Variable(np.float32(0), name="step")
    t = step + 1.0
    scale = lr * sg.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
    updates = [(step, t)]
    for p, g in zip(params, grads):
        m = sg.Variable(np.zeros(p.shape, np.float32), name=f"m_{p.name}")
        v = sg.Variable(np.zeros(p.shape, np.float32), name=f"v_{p.name}")
        m_new = 0.9 * m + 0.1 * g
        v_new = 0.999 * v + 0.001 * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (sg.sqrt(v_new) + 1e-7))]
    return updates


def w5(ctx) -> None:
    lacking = missing("conv2d", "max_pool2d", "dropout")
    if lacking:
        ctx.record.skip("W5", f"sg.nn has no {', '.join(lacking)} yet")
        return
    p = {k: sg.Variable(v, name=k) for k, v in spec.cnn_params(ctx.sizes).items()}
    x = sg.placeholder((None, 28, 28, 1), "float32", name="x")
    y = sg.placeholder((None,), "int32", name="y")
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, p["c1w"]) + p["c1b"]), 2)
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(h, p["c2w"]) + p["c2b"]), 2)
    h = sg.reshape(h, (-1, 1024))
    h = sg.nn.dropout(sg.nn.relu(h @ p["d1w"] + p["d1b"]), 0.2)
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(h @ p["d2w"] + p["d2b"], y))
    f = sg.function([x, y], loss, updates=adam(loss, list(p.values())), name="cnn_train_step")
    xv, yv = spec.cnn_data(ctx.sizes)
    ctx.record.timing("W5", "train step", "ms/step", 1e3, ctx.time(lambda: f(xv, yv)))


def w6(ctx) -> None:
    lacking = missing("embedding", "lstm")
    if lacking:
        ctx.record.skip("W6", f"sg.nn has no {', '.join(lacking)} yet")
        return
    s = ctx.sizes
    p = {k: sg.Variable(v, name=k) for k, v in spec.lstm_params(s).items()}
    ids = sg.placeholder((s.lstm_batch, s.lstm_steps), "int32", name="ids")
    y = sg.placeholder((s.lstm_batch,), "float32", name="y")
    e = sg.nn.embedding(ids, p["emb"])  # (batch, steps, embed)
    h0 = sg.zeros((s.lstm_batch, s.lstm_hidden), "float32")
    last, _, _ = sg.nn.lstm(e, p["wx"], p["wh"], p["b"], h0, h0)
    logits = sg.reshape(last @ p["wo"] + p["bo"], (-1,))
    loss = sg.mean(sg.nn.sigmoid_binary_cross_entropy(logits, y))
    f = sg.function([ids, y], loss, updates=adam(loss, list(p.values())), name="lstm_train_step")
    xv, yv = spec.lstm_data(s)
    ctx.record.timing("W6", "train step", "ms/step", 1e3, ctx.time(lambda: f(xv, yv)))


def w7(ctx) -> None:
    # the runner points SYMGRAPH_CACHE_DIR at a fresh directory for "cold" and keeps it for "warm"
    ctx.compile_time(lambda: w3_step(ctx.sizes))


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7}
