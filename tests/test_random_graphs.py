"""Whole-pipeline differential test: random graphs, O0 and O2, "c" and "py", same numbers.

A small seeded generator grows a DAG over one to three placeholders with the public API
(elementwise, broadcasts, comparisons and where, casts, reductions, reshapes, matmul,
softmax), with constants such as 0, 1, -1 and 2 so that the simplifier, the folder and
the stabiliser fire. Every graph is compiled at O0 and O2 in "c" and at O2 in "py" and
compared with O0 in "py" (the reference). Several graphs share one ``sg.function`` to
save C builds; on a failure each graph of the group is run on its own to name the
culprit, and the message carries its seed and ``sg.dump`` so it can be reproduced with
``_Graph(seed)``.

SYMGRAPH_RANDOM_GRAPHS sets how many graphs (default 300), SYMGRAPH_RANDOM_GRAPHS_SEED the
first seed (default 20240).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, ShapeError

N_GRAPHS = int(os.environ.get("SYMGRAPH_RANDOM_GRAPHS", "300"))
PER_FUNCTION = 5  # graphs per sg.function (one C build per mode)
PER_TEST = 10
BASE_SEED = int(os.environ.get("SYMGRAPH_RANDOM_GRAPHS_SEED", "20240"))
MAX_BOUND = 40.0  # largest |value| a node may reach (a loose upper bound, tracked)
RTOL = 1e-5
ATOL = 1e-5
CONSTANTS = (0.0, 1.0, -1.0, 2.0, 0.5, -2.0)

MODES = [("c", "O0"), ("c", "O2"), ("py", "O2")]
REFERENCE = ("py", "O0")


class _Node:
    __slots__ = ("t", "shape", "bound")

    def __init__(self, t, shape, bound):
        self.t, self.shape, self.bound = t, tuple(shape), float(bound)


class _Reject(Exception):
    """This random choice does not fit; pick another."""


class _Graph:
    """One random graph: placeholders, their input values, and outputs."""

    def __init__(self, seed: int, n_nodes: int | None = None):
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.rng = rng
        sizes = rng.choice([2, 3, 4, 5, 6], size=3, replace=False)
        self.pool = [(f"d{seed}_{i}", int(s)) for i, s in enumerate(sizes)]
        self.placeholders: list[sg.Tensor] = []
        self.values: list[np.ndarray] = []
        self.nodes: list[_Node] = []
        for i in range(int(rng.integers(1, 4))):
            self._placeholder(i)
        target = int(n_nodes if n_nodes is not None else rng.integers(5, 26))
        tries = 0
        while len(self.nodes) < target + len(self.placeholders) and tries < 20 * target:
            tries += 1
            op = _OPS[int(rng.integers(len(_OPS)))]
            try:
                node = op(self)
            except (_Reject, ShapeError, DTypeError):
                continue
            if node.bound > MAX_BOUND or not np.isfinite(node.bound):
                continue
            self.nodes.append(node)
        extra = [n for n in self.nodes[len(self.placeholders) : -1] if rng.random() < 0.15]
        self.outputs = [n.t for n in extra] + [self.nodes[-1].t]

    def _placeholder(self, i: int) -> None:
        rng = self.rng
        shape, static = [], []
        for _ in range(int(rng.integers(0, 4))):
            if rng.random() < 0.2:
                shape.append(1)
                static.append(1)
            else:
                name, size = self.pool[int(rng.integers(len(self.pool)))]
                shape.append(size)
                static.append(size if rng.random() < 0.5 else sg.dim(name))
        dtype = "float64" if rng.random() < 0.1 else "float32"
        t = sg.placeholder(tuple(static), dtype=dtype, name=f"x{self.seed}_{i}")
        self.placeholders.append(t)
        self.values.append(rng.uniform(-2, 2, size=shape).astype(dtype))
        self.nodes.append(_Node(t, shape, 2.0))

    # helpers for the ops
    def pick(self, pred=lambda n: True) -> _Node:
        cands = [n for n in self.nodes if pred(n)]
        if not cands:
            raise _Reject
        # prefer recent nodes, so the graph grows deep as well as wide
        w = np.arange(1, len(cands) + 1, dtype=float) ** 2
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def operand_like(self, a: _Node) -> _Node:
        """A second operand that broadcasts against ``a``."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            c = float(rng.choice(CONSTANTS))
            return _Node(sg.constant(c) if rng.random() < 0.5 else c, (), abs(c))
        if r < 0.4 and a.shape:  # a constant array of a broadcastable shape, e.g. (1, n) or (m, 1)
            shape = tuple(1 if rng.random() < 0.5 else s for s in a.shape)
            shape = shape[int(rng.integers(len(shape) + 1)) :]
            v = rng.uniform(-2, 2, size=shape).astype(np.float32)
            if rng.random() < 0.3:
                v = np.round(v)  # exact 0, 1, -1, 2
            return _Node(sg.constant(v), shape, float(np.abs(v).max(initial=0)))
        if r < 0.5:  # a constant subexpression, for the folder
            c1, c2 = (float(rng.choice(CONSTANTS)) for _ in range(2))
            return _Node(sg.constant(c1) * c2 + 1.0, (), abs(c1 * c2) + 1)
        b = self.pick(lambda n: _broadcast(a.shape, n.shape) is not None)
        return b


def _broadcast(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _floaty(n: _Node) -> bool:
    return n.t.dtype in ("float32", "float64")


# ---- the ops: each returns a new _Node or raises _Reject / ShapeError ----


def _unary(g: _Graph) -> _Node:
    a = g.pick()
    x = a.t
    k = int(g.rng.integers(13))
    if k == 0:
        if a.bound > 3:
            raise _Reject
        return _Node(sg.exp(x), a.shape, np.exp(a.bound))
    if k == 1:
        return _Node(sg.tanh(x), a.shape, 1)
    if k == 2:
        return _Node(sg.nn.sigmoid(x), a.shape, 1)
    if k == 3:
        return _Node(sg.abs(x), a.shape, a.bound)
    if k == 4:
        return _Node(sg.sqrt(sg.abs(x) + 1.0), a.shape, np.sqrt(a.bound + 1))
    if k == 5:
        return _Node(sg.log(sg.abs(x) + 1.0), a.shape, np.log(a.bound + 1))
    if k == 6:
        return _Node(sg.log(1.0 + sg.abs(x)), a.shape, np.log(a.bound + 1))  # log1p
    if k == 7:
        if a.bound > 3:
            raise _Reject
        return _Node(sg.exp(x) - 1.0, a.shape, np.exp(a.bound))  # expm1
    if k == 8:
        return _Node(sg.negative(sg.negative(x)), a.shape, a.bound)  # neg(neg x)
    if k == 9:
        return _Node(-x, a.shape, a.bound)
    if k == 10:
        return _Node(x * x, a.shape, a.bound**2)
    if k == 11:
        return _Node(sg.log(sg.nn.sigmoid(x)), a.shape, a.bound + 1)  # -softplus(-x)
    return _Node(sg.true_divide(sg.abs(x) + 1.0, sg.abs(x) + 1.0), a.shape, 1)  # x/x


def _binary(g: _Graph) -> _Node:
    a = g.pick(_floaty)
    b = g.operand_like(a)
    shape = _broadcast(a.shape, b.shape)
    if shape is None:
        raise _Reject
    x, y = a.t, b.t
    if g.rng.random() < 0.3:
        x, y = y, x
        if not isinstance(x, sg.Tensor):
            x = sg.constant(x)
    k = int(g.rng.integers(6))
    if k == 0:
        return _Node(sg.add(x, y), shape, a.bound + b.bound)
    if k == 1:
        return _Node(sg.sub(x, y), shape, a.bound + b.bound)
    if k == 2:
        return _Node(sg.mul(x, y), shape, a.bound * b.bound)
    if k == 3:
        return _Node(sg.true_divide(x, sg.abs(y) + 1.0), shape, max(a.bound, b.bound))
    if k == 4:
        return _Node(sg.maximum(x, y), shape, max(a.bound, b.bound))
    return _Node(sg.sub(a.t, a.t) + sg.mul(a.t, 1.0) + 0.0, a.shape, a.bound)  # x-x, x*1, x+0


def _where(g: _Graph) -> _Node:
    a = g.pick(_floaty)
    b = g.operand_like(a)
    cond_shape = _broadcast(a.shape, b.shape)
    if cond_shape is None:
        raise _Reject
    cmp = sg.greater if g.rng.random() < 0.5 else sg.less
    # an offset no expression hits exactly: comparing values equal in exact arithmetic
    # (max(log softmax) against log_softmax) would flip on rounding alone
    offset = float(g.rng.uniform(0.05, 0.5)) * (1 if g.rng.random() < 0.5 else -1)
    cond = cmp(a.t, b.t + offset)
    c = g.pick(lambda n: _floaty(n) and _broadcast(cond_shape, n.shape) is not None)
    d = g.operand_like(c)
    shape = _broadcast(_broadcast(cond_shape, c.shape) or (), d.shape)
    if shape is None or _broadcast(cond_shape, shape) is None:
        raise _Reject
    shape = _broadcast(cond_shape, shape)
    return _Node(sg.where(cond, c.t, d.t), shape, max(c.bound, d.bound))


def _cast(g: _Graph) -> _Node:
    a = g.pick(_floaty)
    to = "float32" if a.t.dtype == "float64" else "float64"
    return _Node(sg.cast(a.t, to), a.shape, a.bound)


def _reduce(g: _Graph) -> _Node:
    a = g.pick(lambda n: _floaty(n) and len(n.shape) > 0)
    rng = g.rng
    nd = len(a.shape)
    r = rng.random()
    if r < 0.15:
        axis = None
    elif r < 0.3 and nd >= 2:
        axis = tuple(sorted(rng.choice(nd, size=2, replace=False).tolist()))
    else:
        axis = int(rng.integers(-nd, nd))
    keepdims = bool(rng.random() < 0.4)
    shape = np.zeros(a.shape).sum(axis=axis, keepdims=keepdims).shape
    count = int(np.prod(a.shape)) // int(np.prod(np.zeros(a.shape).sum(axis=axis, keepdims=True).shape))
    k = int(rng.integers(3))
    if k == 0:
        return _Node(sg.sum(a.t, axis=axis, keepdims=keepdims), shape, a.bound * count)
    if k == 1:
        return _Node(sg.max(a.t, axis=axis, keepdims=keepdims), shape, a.bound)
    return _Node(sg.mean(a.t, axis=axis, keepdims=keepdims), shape, a.bound)


def _reshape(g: _Graph) -> _Node:
    a = g.pick(lambda n: len(n.shape) > 0)
    rng = g.rng
    nd = len(a.shape)
    dims = list(a.t.shape)
    k = int(rng.integers(4))
    if k == 0:
        spec, shape = (-1,), (int(np.prod(a.shape)),)
    elif k == 1 and nd >= 2:  # merge two adjacent axes
        i = int(rng.integers(nd - 1))
        spec = tuple(dims[:i]) + (-1,) + tuple(dims[i + 2 :])
        shape = a.shape[:i] + (a.shape[i] * a.shape[i + 1],) + a.shape[i + 2 :]
    elif k == 2:  # split a static axis
        i = int(rng.integers(nd))
        if not isinstance(dims[i], int) or dims[i] not in (4, 6):
            raise _Reject
        f = 2
        spec = tuple(dims[:i]) + (f, -1) + tuple(dims[i + 1 :])
        shape = a.shape[:i] + (f, a.shape[i] // f) + a.shape[i + 1 :]
    else:  # a reshape chain
        inner = sg.reshape(a.t, (-1,))
        spec = tuple(dims)
        return _Node(sg.reshape(inner, spec), a.shape, a.bound)
    return _Node(sg.reshape(a.t, spec), shape, a.bound)


def _transpose(g: _Graph) -> _Node:
    a = g.pick(lambda n: len(n.shape) >= 2)
    perm = tuple(g.rng.permutation(len(a.shape)).tolist())
    t = sg.transpose(a.t, perm)
    if g.rng.random() < 0.2:
        return _Node(sg.transpose(t), tuple(reversed(tuple(a.shape[p] for p in perm))), a.bound)
    return _Node(t, tuple(a.shape[p] for p in perm), a.bound)


def _expand_squeeze(g: _Graph) -> _Node:
    a = g.pick(lambda n: len(n.shape) <= 3)
    rng = g.rng
    ones = [i for i, s in enumerate(a.shape) if s == 1 and isinstance(a.t.shape[i], int)]
    if ones and rng.random() < 0.5:
        i = int(rng.choice(ones))
        return _Node(sg.squeeze(a.t, axis=i), a.shape[:i] + a.shape[i + 1 :], a.bound)
    i = int(rng.integers(len(a.shape) + 1))
    return _Node(sg.expand_dims(a.t, i), a.shape[:i] + (1,) + a.shape[i:], a.bound)


def _matmul(g: _Graph) -> _Node:
    rng = g.rng
    a = g.pick(lambda n: _floaty(n) and 1 <= len(n.shape) <= 3)
    kdim = a.shape[-1]
    r = rng.random()
    if r < 0.4:
        cols = int(rng.choice([1] + [s for _, s in g.pool]))
        w = rng.uniform(-1, 1, size=(kdim, cols) if rng.random() < 0.8 else (kdim,)).astype(np.float32)
        if kdim not in (s for _, s in g.pool) and kdim != 1:
            raise _Reject  # e.g. a flattened axis: keep matmul to the pool sizes
        b = _Node(sg.constant(w), w.shape, 1.0)
    elif r < 0.6 and len(a.shape) >= 2:  # a @ a^T
        nd = len(a.shape)
        perm = tuple(range(nd - 2)) + (nd - 1, nd - 2)
        b = _Node(sg.transpose(a.t, perm), a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.bound)
    else:
        b = g.pick(
            lambda n: (
                _floaty(n)
                and 1 <= len(n.shape) <= 3
                and (len(n.shape) == 1 and n.shape[0] == kdim or len(n.shape) >= 2 and n.shape[-2] == kdim)
            )
        )
    try:
        shape = np.matmul(np.zeros(a.shape), np.zeros(b.shape)).shape
    except ValueError as e:
        raise _Reject from e
    x, y = a.t, b.t
    if x.dtype != y.dtype:
        y = sg.cast(y, x.dtype)
    return _Node(sg.matmul(x, y), shape, a.bound * b.bound * kdim)


def _softmax(g: _Graph) -> _Node:
    a = g.pick(lambda n: _floaty(n) and len(n.shape) > 0)
    nd = len(a.shape)
    axis = int(g.rng.integers(-nd, nd))
    k = int(g.rng.integers(3))
    if k == 0:
        return _Node(sg.nn.softmax(a.t, axis=axis), a.shape, 1)
    if k == 1:
        return _Node(sg.nn.log_softmax(a.t, axis=axis), a.shape, 2 * a.bound + np.log(a.shape[axis]) + 1)
    return _Node(sg.log(sg.nn.softmax(a.t, axis=axis)), a.shape, 2 * a.bound + np.log(a.shape[axis]) + 1)


_OPS = [_unary, _unary, _binary, _binary, _binary, _where, _cast, _reduce, _reduce, _reshape, _transpose]
_OPS += [_expand_squeeze, _matmul, _matmul, _softmax]


# ---- running and comparing ----


def _dump(graph: _Graph) -> str:
    return sg.dump(graph.outputs)


def _run(graphs: list[_Graph], mode: str, level: str) -> list[list[np.ndarray]]:
    inputs = [p for g in graphs for p in g.placeholders]
    outputs = [o for g in graphs for o in g.outputs]
    values = [v for g in graphs for v in g.values]
    fn = sg.function(inputs, outputs, mode=mode, passes=level)
    got = [np.asarray(r) for r in fn(*values)]
    per_graph, i = [], 0
    for g in graphs:
        per_graph.append(got[i : i + len(g.outputs)])
        i += len(g.outputs)
    return per_graph


def _mismatch(ref: np.ndarray, got: np.ndarray) -> str | None:
    if ref.shape != got.shape:
        return f"shape {got.shape} != reference {ref.shape}"
    if ref.dtype != got.dtype:
        return f"dtype {got.dtype} != reference {ref.dtype}"
    if ref.dtype.kind not in "fc":
        if not np.array_equal(ref, got):
            return f"values differ (exact): {got!r} != reference {ref!r}"
        return None
    if not np.array_equal(np.isnan(ref), np.isnan(got)):
        return "NaN positions differ"
    finite = ref[np.isfinite(ref)]
    scale = max(1.0, float(np.abs(finite).max(initial=0.0)))
    if not np.allclose(got, ref, rtol=RTOL, atol=ATOL * scale, equal_nan=True):
        err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        return f"max abs error {np.nanmax(err):.3g} (scale {scale:.3g})\n got {got!r}\n ref {ref!r}"
    return None


def _check(graphs: list[_Graph]) -> list[str]:
    """The failures of ``graphs`` run together, or run one by one when that fails."""
    try:
        ref = _run(graphs, *REFERENCE)
    except Exception as e:  # noqa: BLE001
        if len(graphs) == 1:
            return [f"graph seed={graphs[0].seed}: reference {REFERENCE} raised {type(e).__name__}: {e}"]
        return [f for g in graphs for f in _check([g])]
    failures = []
    for mode, level in MODES:
        try:
            got = _run(graphs, mode, level)
        except Exception as e:  # noqa: BLE001
            if len(graphs) == 1:
                failures.append(
                    f"graph seed={graphs[0].seed}: mode={mode} passes={level} raised {type(e).__name__}: {e}\n"
                    + _dump(graphs[0])
                )
                continue
            return [f for g in graphs for f in _check([g])]
        for g, r_outs, g_outs in zip(graphs, ref, got):
            for oi, (r, o) in enumerate(zip(r_outs, g_outs)):
                why = _mismatch(r, o)
                if why:
                    failures.append(
                        f"graph seed={g.seed} output {oi}: mode={mode} passes={level} vs py/O0: {why}\n"
                        f"(reproduce: g = _Graph({g.seed}); inputs g.placeholders, values g.values)\n{_dump(g)}"
                    )
    return failures


def _groups() -> list[list[int]]:
    seeds = [BASE_SEED + i for i in range(N_GRAPHS)]
    return [seeds[i : i + PER_TEST] for i in range(0, len(seeds), PER_TEST)]


@pytest.mark.parametrize("seeds", _groups(), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_random_graphs_agree_across_levels_and_backends(seeds):
    graphs = [_Graph(s) for s in seeds]
    chunks = [graphs[i : i + PER_FUNCTION] for i in range(0, len(graphs), PER_FUNCTION)]
    # each C build is a compiler process: run the chunks' builds side by side
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        failures = [f for fs in pool.map(_check, chunks) for f in fs]
    assert not failures, "\n\n".join(failures)


def test_the_generator_covers_the_op_families():
    names = set()
    from symgraph.graph.traversal import toposort

    for s in _groups()[0] + _groups()[-1]:
        names |= {n.op.name for n in toposort(_Graph(s).outputs) if n.inputs}
    assert len(names) >= 10, names
