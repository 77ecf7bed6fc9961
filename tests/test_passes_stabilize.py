"""The stabilisation pass: each rewrite by graph structure, the numbers equal with the
pass on and off, the stable results where the written form overflows, and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.traversal import toposort
from symgraph.passes.stabilize import stabilize

MODES = ["c", "py"]
OFF = "O2,-stabilize"


def ops(t: sg.Tensor) -> list[str]:
    return [n.op.name for n in toposort([t]) if n.inputs]


def stabilized(t: sg.Tensor) -> tuple[sg.Tensor, int]:
    (out,), fired = stabilize([t])
    return out, fired


def softmax_np(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_np(x, axis=-1):
    x = np.asarray(x, np.float64)
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- structure


X = sg.placeholder((None, 5), name="x")
T = sg.placeholder((None, 5), name="t")
Y = sg.placeholder((None,), dtype="int64", name="y")
S = sg.placeholder((4, 5), name="s")


def hand_ce(x, t):
    return -sg.sum(t * sg.log(sg.nn.softmax(x)), axis=-1)


CASES = {
    "log_softmax": (lambda: sg.log(sg.nn.softmax(X)), {"log_softmax"}, {"log", "softmax"}),
    "log_softmax_axis0": (lambda: sg.log(sg.nn.softmax(X, axis=0)), {"log_softmax"}, {"log", "softmax"}),
    "ce_dense": (lambda: hand_ce(X, T), {"softmax_cross_entropy"}, {"log", "softmax", "log_softmax", "mul"}),
    "ce_dense_targets_first": (
        lambda: -sg.sum(sg.nn.log_softmax(X) * T, axis=1),
        {"softmax_cross_entropy"},
        {"log_softmax", "mul", "negative"},
    ),
    "ce_axis0": (
        lambda: -sg.sum(T * sg.nn.log_softmax(X, axis=0), axis=0),
        {"softmax_cross_entropy"},
        {"log_softmax", "mul"},
    ),
    "ce_all_axes": (lambda: -sg.sum(T * sg.log(sg.nn.softmax(X))), {"softmax_cross_entropy", "sum"}, {"log", "mul"}),
    "ce_mean": (
        lambda: -sg.mean(sg.sum(T * sg.log(sg.nn.softmax(X)), axis=-1)),
        {"softmax_cross_entropy"},
        {"log", "log_softmax", "mul"},
    ),
    "ce_keepdims": (
        lambda: -sg.sum(T * sg.nn.log_softmax(X), axis=-1, keepdims=True),
        {"softmax_cross_entropy"},
        {"log_softmax", "mul", "negative"},
    ),
    "ce_sparse": (
        lambda: -sg.sum(sg.one_hot(Y, 5) * sg.log(sg.nn.softmax(X)), axis=-1),
        {"sparse_softmax_cross_entropy"},
        {"log", "softmax", "log_softmax", "mul", "equal", "negative"},
    ),
    "ce_sparse_static": (
        lambda: -sg.sum(sg.one_hot(Y, 5) * sg.nn.log_softmax(S), axis=-1),
        {"sparse_softmax_cross_entropy"},
        {"log_softmax", "mul", "equal", "negative"},
    ),
    "log1p_left": (lambda: sg.log(1 + X), {"log1p"}, {"log", "add"}),
    "log1p_right": (lambda: sg.log(X + 1.0), {"log1p"}, {"log", "add"}),
    "log1p_constant_node": (lambda: sg.log(X + sg.constant(np.ones(5, np.float32))), {"log1p"}, {"log", "add"}),
    "expm1": (lambda: sg.exp(X) - 1, {"expm1"}, {"exp", "sub"}),
    "expm1_add": (lambda: sg.exp(X) + (-1.0), {"expm1"}, {"exp", "add"}),
    "log_sigmoid": (lambda: sg.log(sg.nn.sigmoid(X)), {"softplus", "negative"}, {"log", "sigmoid"}),
    "log_one_minus_sigmoid": (lambda: sg.log(1 - sg.nn.sigmoid(X)), {"softplus", "negative"}, {"log", "sigmoid"}),
    "logsumexp": (lambda: sg.log(sg.sum(sg.exp(X), axis=1)), {"max", "stop_gradient"}, set()),
    "logsumexp_keepdims": (lambda: sg.log(sg.sum(sg.exp(X), axis=1, keepdims=True)), {"max", "stop_gradient"}, set()),
    "logsumexp_all": (lambda: sg.log(sg.sum(sg.exp(X))), {"max", "stop_gradient"}, set()),
}


@pytest.mark.parametrize("name", CASES)
def test_rewrite_structure(name):
    build, present, absent = CASES[name]
    before = build()
    after, fired = stabilized(before)
    assert fired >= 1
    assert after.dtype == before.dtype and after.shape == before.shape
    names = set(ops(after))
    assert present <= names, names
    assert not absent & names, names


def test_not_rewritten_where_the_identity_does_not_apply():
    x3 = sg.placeholder((3,), name="x3")
    x1 = sg.placeholder((1,), name="x1")
    untouched = [
        sg.log(2 + x3),  # not 1
        sg.log(x1 + sg.constant(np.ones(4, np.float32))),  # the 1 broadcasts x: shapes differ
        sg.exp(x3) - 2,
        sg.log(sg.nn.softmax(X) + 1e-9),
        -sg.sum(T * sg.nn.log_softmax(X, axis=1), axis=0),  # sum over another axis than the class axis
        sg.log(sg.sum(sg.exp(X), axis=1) + 1e-3),  # not log of the sum itself
        sg.logsumexp(X, axis=1),  # its inner log(sum(exp(x - max))) is already stable
    ]
    for t in untouched:
        after, fired = stabilized(t)
        assert fired == 0 and after is t, ops(t)


def test_logsumexp_fires_once():
    _, fired = stabilized(sg.log(sg.sum(sg.exp(X), axis=1)))
    assert fired == 1


def test_pipeline_report_counts_the_pass():
    f = sg.function([X, T], hand_ce(X, T))
    (row,) = [r for r in f.report.passes if r.name == "stabilize"]
    assert row.fired >= 2


# ---------------------------------------------------------------- numbers, pass on and off


def _inputs(rng):
    x = rng.normal(size=(4, 5)).astype(np.float32) * 2
    y = rng.integers(0, 5, size=4)
    t = np.eye(5, dtype=np.float32)[y]
    return x, t, y


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_numbers_equal_with_the_pass_on_and_off(name, mode):
    out = CASES[name][0]()
    rng = np.random.default_rng(0)
    x, t, y = _inputs(rng)
    if name in ("log1p_left", "log1p_right", "log1p_constant_node"):
        x = np.abs(x)
    inputs = [v for v in (X, T, Y, S) if v in set(n.outputs[0] for n in toposort([out]) if not n.inputs)]
    values = {X: x, T: t, Y: y, S: x}
    args = [values[v] for v in inputs]
    on = sg.function(inputs, out, mode=mode)(*args)
    off = sg.function(inputs, out, mode=mode, passes=OFF)(*args)
    np.testing.assert_allclose(on, off, rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------- stability claims


BIG = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 5e3], [0.0, 0.0, 1e4]], np.float32)
BIG_LABELS = np.array([1, 0, 2])


@pytest.mark.parametrize("mode", MODES)
def test_hand_written_cross_entropy_with_huge_logits(mode):
    x = sg.placeholder((3, 3), name="x")
    t = sg.placeholder((3, 3), name="t")
    loss = -sg.sum(t * sg.log(sg.nn.softmax(x)), axis=-1)
    onehot = np.eye(3, dtype=np.float32)[BIG_LABELS]
    exact = -np.sum(onehot * log_softmax_np(BIG), axis=-1)
    with np.errstate(all="ignore"):
        naive = sg.function([x, t], loss, mode=mode, passes=OFF)(BIG, onehot)
    assert not np.all(np.isfinite(naive))
    stable = sg.function([x, t], loss, mode=mode)(BIG, onehot)
    assert np.all(np.isfinite(stable))
    np.testing.assert_allclose(stable, exact, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_hand_written_sparse_cross_entropy_with_huge_logits(mode):
    x = sg.placeholder((3, 3), name="x")
    y = sg.placeholder((3,), dtype="int64", name="y")
    loss = sg.mean(-sg.sum(sg.one_hot(y, 3) * sg.log(sg.nn.softmax(x)), axis=-1))
    exact = -np.mean(log_softmax_np(BIG)[np.arange(3), BIG_LABELS])
    with np.errstate(all="ignore"):
        naive = sg.function([x, y], loss, mode=mode, passes=OFF)(BIG, BIG_LABELS)
    assert not np.isfinite(naive)
    f = sg.function([x, y], loss, mode=mode)
    assert "sparse_softmax_cross_entropy" in ops(f.outputs[0])
    stable = f(BIG, BIG_LABELS)
    assert np.isfinite(stable)
    np.testing.assert_allclose(stable, exact, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_log_of_one_plus_tiny_is_accurate_in_float32(mode):
    x = sg.placeholder((2,), name="x")
    value = np.array([1e-10, -3e-9], np.float32)
    out = sg.log(1 + x)
    exact = np.log1p(value.astype(np.float64))
    naive = sg.function([x], out, mode=mode, passes=OFF)(value)
    assert np.all(naive == 0)
    stable = sg.function([x], out, mode=mode)(value)
    assert stable.dtype == np.float32
    np.testing.assert_allclose(stable, exact, rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_exp_minus_one_of_tiny_is_accurate_in_float32(mode):
    x = sg.placeholder((2,), name="x")
    value = np.array([1e-10, -3e-9], np.float32)
    stable = sg.function([x], sg.exp(x) - 1, mode=mode)(value)
    np.testing.assert_allclose(stable, np.expm1(value.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_log_sigmoid_far_out_is_finite(mode):
    x = sg.placeholder((3,), name="x")
    value = np.array([-200.0, 0.0, 200.0], np.float32)
    with np.errstate(all="ignore"):
        naive = sg.function([x], sg.log(sg.nn.sigmoid(x)), mode=mode, passes=OFF)(value)
    assert naive[0] == -np.inf
    stable = sg.function([x], sg.log(sg.nn.sigmoid(x)), mode=mode)(value)
    np.testing.assert_allclose(stable, [-200.0, -np.log(2), 0.0], rtol=1e-6, atol=1e-30)
    stable = sg.function([x], sg.log(1 - sg.nn.sigmoid(x)), mode=mode)(value)
    np.testing.assert_allclose(stable, [0.0, -np.log(2), -200.0], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_log_sum_exp_of_large_values_is_finite(mode, keepdims):
    x = sg.placeholder((2, 3), name="x")
    value = np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1000.5]], np.float32)
    out = sg.log(sg.sum(sg.exp(x), axis=1, keepdims=keepdims))
    with np.errstate(all="ignore"):
        naive = sg.function([x], out, mode=mode, passes=OFF)(value)
    assert not np.all(np.isfinite(naive))
    stable = sg.function([x], out, mode=mode)(value)
    v = value.astype(np.float64)
    m = v.max(axis=1, keepdims=True)
    exact = m + np.log(np.exp(v - m).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(stable, exact if keepdims else exact[:, 0], rtol=1e-6)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_of_the_hand_written_cross_entropy(mode, sparse):
    x = sg.placeholder((4, 5), name="x")
    rng = np.random.default_rng(1)
    logits = (rng.normal(size=(4, 5)) * 3).astype(np.float32)
    labels = rng.integers(0, 5, size=4)
    onehot = np.eye(5, dtype=np.float32)[labels]
    if sparse:
        y = sg.placeholder((4,), dtype="int64", name="y")
        targets, extra, value = sg.one_hot(y, 5), [y], [labels]
    else:
        t = sg.placeholder((4, 5), name="t")
        targets, extra, value = t, [t], [onehot]
    loss = sg.mean(-sg.sum(targets * sg.log(sg.nn.softmax(x)), axis=-1))
    expected = (softmax_np(logits.astype(np.float64)) - onehot) / 4
    # the gradient of the written form, then the whole pipeline
    g = sg.grad(loss, x)
    got = sg.function([x, *extra], g, mode=mode)(logits, *value)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # the gradient of the stabilised form: the fused op's softmax - onehot
    (stable,), _ = stabilize([loss])
    assert {"softmax_cross_entropy", "sparse_softmax_cross_entropy"} & set(ops(stable))
    g = sg.grad(stable, x)
    got = sg.function([x, *extra], g, mode=mode)(logits, *value)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # ... which stays finite and exact at huge logits
    huge = np.zeros((4, 5), np.float32)
    huge[np.arange(4), (labels + 1) % 5] = 1e4
    got = sg.function([x, *extra], g, mode=mode)(huge, *value)
    np.testing.assert_allclose(got, (softmax_np(huge.astype(np.float64)) - onehot) / 4, atol=1e-6)
