"""The graph API under mpiexec (``mpiexec -n N python graph_api.py``): every check raises
on failure, and each process prints ``graph api ok: rank r of N`` when all pass."""

from __future__ import annotations

import sys

import numpy as np

import symgraph as sg
import symgraph.distributed as dist


def check_values(r: int, n: int) -> None:
    """sum and mean of per-rank values, several dtypes in one node, every mode."""
    x = sg.placeholder((None, 3), "float32", name="x")
    a = sg.Variable(np.full(4, r + 1, "float64"), name="a")
    k = sg.Variable(np.array([r, 1], "int32"), name="k")
    total = n * (n + 1) / 2
    for mode in ("c", "py", "debug"):
        f = sg.function([x], dist.allreduce([x * float(r + 1), a, k], op="sum"), mode=mode)
        got = f(np.ones((2, 3), "float32"))
        np.testing.assert_array_equal(got[0], np.full((2, 3), total, "float32"))
        np.testing.assert_array_equal(got[1], np.full(4, total))
        np.testing.assert_array_equal(got[2], np.array([n * (n - 1) // 2, n], "int32"))
        m = sg.function([x], dist.allreduce(x * float(r + 1), op="mean"), mode=mode)
        np.testing.assert_allclose(m(np.ones((2, 3), "float32")), np.full((2, 3), total / n, "float32"), rtol=1e-6)
    # one message per dtype: three dtypes, three reductions in the unit
    assert f.c_source is not None and f.c_source.count("sgk_reduce(") == 3, "one MPI call per dtype"
    # numpy values are reduced now
    np.testing.assert_allclose(dist.allreduce(np.array([r, 1.0]), op="mean"), [(n - 1) / 2, 1.0])


def check_gradient(r: int, n: int) -> None:
    """The gradient of an allreduce is the allreduce of the gradient (Horovod's rule)."""
    W = sg.Variable(np.linspace(-1, 1, 6).reshape(2, 3), name="W")
    c = np.full((2, 3), r + 1.0)
    loss = sg.sum(dist.allreduce(W * W * c, op="sum"))
    (g,) = sg.grad(loss, [W])
    got = sg.function([], g)()
    np.testing.assert_allclose(got, n * 2 * W.get_value() * c, rtol=1e-12)
    if n == 1:  # one process: the allreduce is the identity; finite differences in float64
        f = sg.function([], loss)
        w0, eps, numeric = W.get_value(), 1e-6, np.zeros((2, 3))
        for i in np.ndindex(2, 3):
            for sign in (1, -1):
                w = w0.copy()
                w[i] += sign * eps
                W.set_value(w)
                numeric[i] += sign * float(f()) / (2 * eps)
        W.set_value(w0)
        np.testing.assert_allclose(got, numeric, rtol=1e-6)


def check_broadcast(r: int, n: int) -> None:
    v = sg.Variable(np.full((3, 2), r, "float32"), name="v")
    i = sg.Variable(np.array([r, r], "int64"), name="i")
    dist.broadcast_variables([v, i], root=n - 1)
    np.testing.assert_array_equal(v.get_value(), np.full((3, 2), n - 1, "float32"))
    np.testing.assert_array_equal(i.get_value(), [n - 1, n - 1])


def check_sgd_matches_one_process(r: int, n: int) -> None:
    """Data-parallel SGD on equal shards = SGD on the global batch, in one process."""
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((6 * n, 5)).astype("float32"), rng.integers(0, 3, 6 * n).astype("int32")
    w0 = rng.standard_normal((5, 3)).astype("float32")

    def train(x_data: np.ndarray, y_data: np.ndarray, reduce: bool) -> np.ndarray:
        W = sg.Variable(w0.copy(), name="W")
        x, y = sg.placeholder((None, 5), name="x"), sg.placeholder((None,), "int32", name="y")
        loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(x @ W, y))
        (g,) = sg.grad(loss, [W])
        if reduce:
            g = dist.allreduce(g, op="mean")
        step = sg.function([x, y], loss, updates=[(W, W - 0.5 * g)])
        for _ in range(3):
            step(x_data, y_data)
        return W.get_value()

    def traced(x_data: np.ndarray, y_data: np.ndarray) -> np.ndarray:
        """The same step the TensorFlow 2 way: a tape inside sg.jit, its gradient reduced."""
        W = sg.Variable(w0.copy(), name="W")

        @sg.jit
        def step(x, y):
            with sg.GradientTape() as tape:
                loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(x @ W, y))
            (g,) = tape.gradient(loss, [W])
            W.assign_sub(0.5 * dist.allreduce(g, op="mean"))
            return loss

        for _ in range(3):
            step(x_data, y_data)
        return W.get_value()

    alone = train(xs, ys, reduce=False)
    shard = slice(6 * r, 6 * (r + 1))
    together = train(xs[shard], ys[shard], reduce=True)
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(traced(xs[shard], ys[shard]), alone, rtol=1e-5, atol=2e-6)


def main() -> None:
    dist.init()
    r, n = dist.rank(), dist.size()
    check_values(r, n)
    check_gradient(r, n)
    check_broadcast(r, n)
    check_sgd_matches_one_process(r, n)
    print(f"graph api ok: rank {r} of {n}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
