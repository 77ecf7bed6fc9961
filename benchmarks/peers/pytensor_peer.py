"""PyTensor (the maintained Theano fork): its default mode (variant "default"; PyTensor 3
resolves it to the Numba backend when numba is installed) or mode="CVM" (C code run by
the C virtual machine, Theano's classic backend). Adam is written out (PyTensor ships no
optimizers). A pip-installed PyTensor links no BLAS into its C code; dot products then go
through numpy/scipy, which is what a user of ``pip install pytensor`` gets.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from benchmarks import spec

pytensor = pt = None
MODE: str | None = None


def setup(variant: str) -> str:
    global pytensor, pt, MODE
    cache = os.environ.get("BENCH_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "symgraph-bench-pytensor")
    os.environ["PYTENSOR_FLAGS"] = f"floatX=float32,openmp=True,base_compiledir={os.path.join(cache, 'pytensor')}"
    import warnings

    warnings.filterwarnings("ignore")  # "could not link to a BLAS installation", on every import
    import pytensor as pytensor_
    import pytensor.tensor as pt_
    from pytensor.compile.mode import get_mode

    pytensor, pt = pytensor_, pt_
    MODE = None if variant == "default" else variant
    linker = type(get_mode(MODE).linker).__name__
    return f"pytensor {pytensor.__version__} ({linker})"


def function(*args, **kwargs):
    return pytensor.function(*args, mode=MODE, **kwargs)


def w1(ctx) -> None:
    x = pt.vector("x", dtype="float32")
    f = function([x], x * 2 + 1)
    xv = np.arange(ctx.sizes.w1_n, dtype=np.float32)
    ctx.record.timing("W1", "x*2+1", "us/call", 1e6, ctx.time(lambda: f(xv)))


def w2(ctx) -> None:
    x = pt.vector("x", dtype="float32")
    a, b = pt.scalar("a", dtype="float32"), pt.scalar("b", dtype="float32")
    f = function([x, a, b], pt.tanh(x * a + b) * pt.sigmoid(x) - 0.5 * x * x)
    xv, av, bv = spec.w2_input(ctx.sizes), np.float32(spec.W2_A), np.float32(spec.W2_B)
    timing = ctx.time(lambda: f(xv, av, bv))
    ctx.record.timing("W2", "fused", "ms/call", 1e3, timing, gbps=spec.w2_bytes(ctx.sizes) / timing["median"] / 1e9)


def adam_updates(params: list, grads: list, lr: float = 1e-3) -> list:
    """Keras' Adam: t += 1; m, v moments; p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+1e-7)."""
    t = pytensor.shared(np.float32(0), name="t")
    t1 = t + 1
    scale = lr * pt.sqrt(1 - 0.999**t1) / (1 - 0.9**t1)
    updates = [(t, t1)]
    for p, g in zip(params, grads):
        m = pytensor.shared(np.zeros_like(p.get_value()), name=f"m_{p.name}")
        v = pytensor.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
        m1, v1 = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        updates += [(m, m1), (v, v1), (p, p - scale * m1 / (pt.sqrt(v1) + 1e-7))]
    return [(var, pt.cast(new, var.dtype)) for var, new in updates]


def mlp_graph(sizes: spec.Sizes):
    params = [pytensor.shared(v, name=f"p{k}") for k, v in enumerate(spec.mlp_params(sizes))]
    x = pt.matrix("x", dtype="float32")
    h = x
    for k in range(0, len(params), 2):
        h = pt.dot(h, params[k]) + params[k + 1]
        if k + 2 < len(params):
            h = pt.maximum(h, 0)
    return x, h, params


def w3_step(sizes: spec.Sizes):
    x, logits, params = mlp_graph(sizes)
    y = pt.vector("y", dtype="int32")
    logp = pt.special.log_softmax(logits, axis=-1)
    loss = -logp[pt.arange(y.shape[0]), y].mean()
    f = function([x, y], loss, updates=adam_updates(params, pytensor.grad(loss, params)))
    xv, yv = spec.mlp_data(sizes)
    return lambda: f(xv, yv)


def w3(ctx) -> None:
    ctx.record.timing("W3", "train step", "ms/step", 1e3, ctx.time(w3_step(ctx.sizes)))


def w4(ctx) -> None:
    x, logits, _ = mlp_graph(ctx.sizes)
    f = function([x], logits)
    for batch in ctx.sizes.w4_batches:
        xv = spec.mlp_data(ctx.sizes, batch)[0]
        ctx.record.timing("W4", *spec.w4_case(batch), ctx.time(lambda xv=xv: f(xv)))


def w6(ctx) -> None:
    """The LSTM with pytensor.scan over time; input projection of all steps at once."""
    s = ctx.sizes
    p = {k: pytensor.shared(v, name=k) for k, v in spec.lstm_params(s).items()}
    hidden = s.lstm_hidden
    ids, y = pt.matrix("ids", dtype="int32"), pt.vector("y", dtype="float32")
    e = p["emb"][ids.T]  # (steps, batch, embed)
    steps, batch = e.shape[0], e.shape[1]
    xs = (pt.dot(e.reshape((steps * batch, s.lstm_embed)), p["wx"]) + p["b"]).reshape((steps, batch, 4 * hidden))

    def cell(xg, h, c, wh):
        g = xg + pt.dot(h, wh)
        i, f = pt.sigmoid(g[:, :hidden]), pt.sigmoid(g[:, hidden : 2 * hidden])
        cc, o = pt.tanh(g[:, 2 * hidden : 3 * hidden]), pt.sigmoid(g[:, 3 * hidden :])
        c2 = f * c + i * cc
        return o * pt.tanh(c2), c2

    zeros = pt.zeros((batch, hidden), dtype="float32")
    outputs, _ = pytensor.scan(cell, sequences=[xs], outputs_info=[zeros, zeros], non_sequences=[p["wh"]])
    logits = pt.dot(outputs[0][-1], p["wo"])[:, 0] + p["bo"][0]
    loss = (pt.softplus(logits) - y * logits).mean()  # sigmoid + binary cross-entropy, stable
    params = list(p.values())
    f = function([ids, y], loss, updates=adam_updates(params, pytensor.grad(loss, params)))
    xv, yv = spec.lstm_data(s)
    ctx.record.timing("W6", "train step", "ms/step", 1e3, ctx.time(lambda: f(xv, yv)))


def w7(ctx) -> None:
    # base_compiledir is under BENCH_CACHE_DIR: fresh for cold, kept for warm
    ctx.compile_time(lambda: w3_step(ctx.sizes))


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W6": w6, "W7": w7}
