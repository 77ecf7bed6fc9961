"""sg.nn.simple_rnn / lstm / gru against plain numpy loops (Keras' formulas), forward and
gradients (float64 finite differences), in "py" and "c"."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.scan import rows as scan_rows
from tests.test_scan import directional_check

MODES = ("py", "c")
BATCH, TIME, FEATURES, UNITS = 3, 5, 4, 6


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_simple_rnn(x, w, u, b, h):
    rows = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w + b + h @ u)
        rows.append(h)
    return np.stack(rows, 1), h


def np_lstm(x, w, u, b, h, c):
    n = u.shape[0]
    rows = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w + b + h @ u
        i, f, g, o = sigmoid(z[:, :n]), sigmoid(z[:, n : 2 * n]), np.tanh(z[:, 2 * n : 3 * n]), sigmoid(z[:, 3 * n :])
        c = f * c + i * g
        h = o * np.tanh(c)
        rows.append(h)
    return np.stack(rows, 1), h, c


def np_gru(x, w, u, b, h, reset_after):
    n = u.shape[0]
    rows = []
    for t in range(x.shape[1]):
        if reset_after:
            xw = x[:, t] @ w + b[0]
            rh = h @ u + b[1]
            z = sigmoid(xw[:, :n] + rh[:, :n])
            r = sigmoid(xw[:, n : 2 * n] + rh[:, n : 2 * n])
            hh = np.tanh(xw[:, 2 * n :] + r * rh[:, 2 * n :])
        else:
            xw = x[:, t] @ w + b
            z = sigmoid(xw[:, :n] + h @ u[:, :n])
            r = sigmoid(xw[:, n : 2 * n] + h @ u[:, n : 2 * n])
            hh = np.tanh(xw[:, 2 * n :] + (r * h) @ u[:, 2 * n :])
        h = z * h + (1 - z) * hh
        rows.append(h)
    return np.stack(rows, 1), h


def _arrays(gates, bias_shape, dtype, seed=0, states=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, TIME, FEATURES))
    w = 0.5 * rng.standard_normal((FEATURES, gates * UNITS))
    u = 0.5 * rng.standard_normal((UNITS, gates * UNITS))
    b = 0.3 * rng.standard_normal(bias_shape)
    hs = [0.5 * rng.standard_normal((BATCH, UNITS)) for _ in range(states)]
    return [a.astype(dtype) for a in (x, w, u, b, *hs)]


def _placeholders(arrays):
    batch = sg.dim("batch")  # x and the initial states agree on it
    shapes = [(batch, None, FEATURES)] + [a.shape for a in arrays[1:4]] + [(batch, UNITS)] * (len(arrays) - 4)
    return [sg.placeholder(s, a.dtype, name=f"a{i}") for i, (s, a) in enumerate(zip(shapes, arrays))]


def _reverse_time(x):
    return x[:, ::-1]


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("mode", MODES)
def test_simple_rnn(mode, go_backwards):
    arrays = _arrays(1, (UNITS,), np.float64)
    phs = _placeholders(arrays)
    seq, h_last = sg.nn.simple_rnn(*phs, go_backwards=go_backwards, return_sequences=True)
    last, _ = sg.nn.simple_rnn(*phs, go_backwards=go_backwards)
    x, w, u, b, h = arrays
    want_seq, want_h = np_simple_rnn(_reverse_time(x) if go_backwards else x, w, u, b, h)
    got_seq, got_h, got_last = sg.function(phs, [seq, h_last, last], mode=mode)(*arrays)
    np.testing.assert_allclose(got_seq, want_seq, rtol=1e-12)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12)
    np.testing.assert_allclose(got_last, want_h, rtol=1e-12)
    directional_check(phs, sg.sum(seq * seq) + sg.sum(h_last), arrays, mode)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("mode", MODES)
def test_lstm_forward_and_gradient(mode, go_backwards):
    arrays = _arrays(4, (4 * UNITS,), np.float64, states=2)
    phs = _placeholders(arrays)
    seq, h_last, c_last = sg.nn.lstm(*phs, go_backwards=go_backwards, return_sequences=True)
    x, w, u, b, h, c = arrays
    want = np_lstm(_reverse_time(x) if go_backwards else x, w, u, b, h, c)
    got = sg.function(phs, [seq, h_last, c_last], mode=mode)(*arrays)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-13)
    weights = sg.constant(np.random.default_rng(9).standard_normal((BATCH, TIME, UNITS)))
    cost = sg.sum(seq * weights) + sg.sum(c_last**2)
    directional_check(phs, cost, arrays, mode)


@pytest.mark.parametrize("features", [FEATURES, 2 * UNITS + 1], ids=["in_the_step", "before_the_loop"])
@pytest.mark.parametrize("mode", MODES)
def test_lstm_input_projection_in_the_step_or_before_the_loop(mode, features):
    """x_t @ kernel is computed inside each step where the features are no more than the
    units (one small product per step, nothing written out), else as one matmul before
    the loop; both agree with numpy, forward and gradients."""
    rng = np.random.default_rng(17)
    shapes = [(BATCH, TIME, features), (features, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)]
    arrays = [0.5 * rng.standard_normal(s) for s in shapes] + [0.5 * rng.standard_normal((BATCH, UNITS))] * 2
    phs = [sg.placeholder(a.shape, "float64", name=f"a{i}") for i, a in enumerate(arrays)]
    seq, h_last, c_last = sg.nn.lstm(*phs, return_sequences=True)
    outside = [n.op.name for n in sg.graph.traversal.toposort([seq]) if n.op.name == "matmul"]
    assert outside == ([] if features <= UNITS else ["matmul"])
    got = sg.function(phs, [seq, h_last, c_last], mode=mode)(*arrays)
    for g, e in zip(got, np_lstm(*arrays)):
        np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-13)
    directional_check(phs, sg.sum(seq * seq) + sg.sum(c_last), arrays, mode)


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
@pytest.mark.parametrize("mode", MODES)
def test_gru_forward_and_gradient(mode, reset_after):
    arrays = _arrays(3, (2, 3 * UNITS) if reset_after else (3 * UNITS,), np.float64)
    phs = _placeholders(arrays)
    last, h_last = sg.nn.gru(*phs, reset_after=reset_after)
    seq, _ = sg.nn.gru(*phs, reset_after=reset_after, return_sequences=True)
    want_seq, want_h = np_gru(*arrays, reset_after)
    got_last, got_h, got_seq = sg.function(phs, [last, h_last, seq], mode=mode)(*arrays)
    np.testing.assert_allclose(got_seq, want_seq, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(got_last, want_h, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-11, atol=1e-13)
    directional_check(phs, sg.sum(seq * seq), arrays, mode)


def test_lstm_float32_c_matches_numpy_and_zero_initial_state():
    arrays = _arrays(4, (4 * UNITS,), np.float32, states=0)
    x = sg.placeholder((None, None, FEATURES), name="x")
    w, u, b = (sg.placeholder(a.shape, name=f"w{i}") for i, a in enumerate(arrays[1:]))
    last, h_last, c_last = sg.nn.lstm(x, w, u, b, None, None)
    got = sg.function([x, w, u, b], [last, c_last], mode="c")(*arrays)
    zeros = np.zeros((BATCH, UNITS))
    _, want_h, want_c = np_lstm(*[a.astype(np.float64) for a in arrays], zeros, zeros)
    np.testing.assert_allclose(got[0], want_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1], want_c, rtol=1e-4, atol=1e-5)


def test_bad_weight_shapes():
    x = sg.placeholder((2, 3, 4))
    with pytest.raises(sg.errors.ShapeError, match="lstm"):
        sg.nn.lstm(x, sg.zeros((4, 8)), sg.zeros((2, 6)), None, None, None)


@pytest.mark.parametrize("layer", ["lstm", "lstm_backwards", "gru_reset_before", "simple_rnn"], ids=lambda name: name)
def test_static_batch_runs_blocks_of_rows_in_c(monkeypatch, layer):
    """With a static batch the C loops (forward and BPTT) run blocks of rows on their
    own threads (forced to 4 blocks of 4 rows here); results and gradients agree with py."""
    monkeypatch.setattr(scan_rows, "row_chunks", lambda *sizes: 4)
    gates, bias = {"lstm": (4, (4 * UNITS,)), "gru": (3, (3 * UNITS,)), "simple": (1, (UNITS,))}[layer.split("_")[0]]
    rng = np.random.default_rng(13)
    shapes = [(16, TIME, FEATURES), (FEATURES, gates * UNITS), (UNITS, gates * UNITS), bias, (16, UNITS), (16, UNITS)]
    arrays = [0.5 * rng.standard_normal(s) for s in shapes]
    phs = [sg.placeholder(a.shape, "float64", name=f"a{i}") for i, a in enumerate(arrays)]
    if layer.startswith("lstm"):
        seq, *_ = sg.nn.lstm(*phs, go_backwards=layer == "lstm_backwards", return_sequences=True)
    elif layer == "gru_reset_before":
        phs, arrays = phs[:5], arrays[:5]
        seq, _ = sg.nn.gru(*phs, reset_after=False, return_sequences=True)
    else:
        phs, arrays = phs[:5], arrays[:5]
        seq, _ = sg.nn.simple_rnn(*phs, return_sequences=True)
    cost = sg.sum(seq * sg.constant(rng.standard_normal((16, TIME, UNITS))))
    grads = sg.grad(cost, phs)
    f = sg.function(phs, [seq, *grads], mode="c")
    assert f.c_source.count("blocks of rows") == 2
    for got, want in zip(f(*arrays), sg.function(phs, [seq, *grads], mode="py")(*arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch", [3, 20, 37])
def test_symbolic_batch_runs_blocks_sized_per_call(batch):
    """With a symbolic batch the C loops split the rows into blocks sized at call time
    (uneven when the batch does not divide: 37 rows); results and gradients agree with py."""
    rng = np.random.default_rng(15)
    rows = sg.dim("batch")
    shapes = [(batch, TIME, FEATURES), (FEATURES, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,), (batch, UNITS)]
    arrays = [0.5 * rng.standard_normal(s) for s in shapes] + [0.5 * rng.standard_normal((batch, UNITS))]
    dims = [(rows, TIME, FEATURES), *shapes[1:4], (rows, UNITS), (rows, UNITS)]
    phs = [sg.placeholder(d, "float64", name=f"a{i}") for i, d in enumerate(dims)]
    seq, h_last, _ = sg.nn.lstm(*phs, return_sequences=True)
    cost = sg.sum(seq * seq) + sg.sum(h_last)
    grads = sg.grad(cost, phs)
    f = sg.function(phs, [seq, *grads], mode="c")
    assert f.c_source.count("blocks of rows (sized per call)") == 2
    for got, want in zip(f(*arrays), sg.function(phs, [seq, *grads], mode="py")(*arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("symbolic", [False, True], ids=["static_batch", "symbolic_batch"])
def test_blocks_of_rows_on_threads_match_py(symbolic):
    """Large enough for the blocks to run on OpenMP's threads (64 rows, 40 steps): the
    threads write disjoint rows; forward and gradients agree with py."""
    rng = np.random.default_rng(16)
    batch, time, features, units = 64, 40, 8, 32
    rows = sg.dim("batch") if symbolic else batch
    shapes = [(batch, time, features), (features, 4 * units), (units, 4 * units), (4 * units,)]
    arrays = [0.3 * rng.standard_normal(s) for s in shapes]
    phs = [
        sg.placeholder((rows, time, features) if i == 0 else s, "float64", name=f"a{i}") for i, s in enumerate(shapes)
    ]
    seq, _, c_last = sg.nn.lstm(*phs, None, None, return_sequences=True)
    cost = sg.sum(seq * sg.constant(rng.standard_normal((batch, time, units)))) + sg.sum(c_last**2)
    grads = sg.grad(cost, phs)
    f = sg.function(phs, [seq, *grads], mode="c")
    assert f.c_source.count("blocks of rows") == 2
    for got, want in zip(f(*arrays), sg.function(phs, [seq, *grads], mode="py")(*arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
