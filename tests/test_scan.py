"""sg.scan: forward against plain numpy loops and gradients (BPTT) against float64 finite
differences, in "py" (numpy interpreter) and "c" (a C loop in the unit)."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, ShapeError
from symgraph.graph.traversal import toposort
from symgraph.passes.pipeline import optimize
from symgraph.runtime import build
from symgraph.scan import build_scan
from symgraph.scan import rows as scan_rows

MODES = ("py", "c")


def directional_check(inputs, cost, arrays, mode, wrt=None, eps=1e-6, rtol=1e-6, seed=0):
    """<grad(cost), u> against the central difference of cost along u, for random u."""
    rng = np.random.default_rng(seed)
    wrt = list(range(len(inputs))) if wrt is None else wrt
    grads = sg.grad(cost, [inputs[i] for i in wrt])
    f_cost = sg.function(inputs, cost, mode=mode)
    f_grad = sg.function(inputs, grads, mode=mode)
    symbolic = f_grad(*arrays)
    for _ in range(2):
        directions = [rng.standard_normal(arrays[i].shape) for i in wrt]
        plus, minus = list(arrays), list(arrays)
        for i, d in zip(wrt, directions):
            plus[i] = arrays[i] + eps * d
            minus[i] = arrays[i] - eps * d
        numeric = (float(f_cost(*plus)) - float(f_cost(*minus))) / (2 * eps)
        analytic = float(sum(np.sum(g * d) for g, d in zip(symbolic, directions)))
        assert abs(numeric - analytic) <= rtol * max(abs(numeric), 1.0), (analytic, numeric)
    return symbolic


@pytest.mark.parametrize("mode", MODES)
def test_cumulative_sum(mode):
    x = sg.placeholder((None, 3), "float64", name="x")
    total, updates = sg.scan(lambda row, acc: acc + row, sequences=x, outputs_info=sg.zeros((3,), "float64"))
    assert updates == {}
    assert total.shape == x.shape
    f = sg.function([x], total, mode=mode)
    xv = np.random.default_rng(1).standard_normal((6, 3))
    np.testing.assert_allclose(f(xv), np.cumsum(xv, axis=0), rtol=1e-12)
    w = np.random.default_rng(2).standard_normal((6, 3))
    directional_check([x], sg.sum(total * sg.constant(w)), [xv], mode)


def _linear_reference(xv, h0v, av, backwards=False):
    h, rows = h0v, []
    order = range(len(xv) - 1, -1, -1) if backwards else range(len(xv))
    for t in order:
        h = np.tanh(h @ av) + xv[t]
        rows.append(h)
    return np.array(rows)


def _linear_scan(go_backwards=False):
    x = sg.placeholder((None, 2, 4), "float64", name="x")
    h0 = sg.placeholder((2, 4), "float64", name="h0")
    a = sg.placeholder((4, 4), "float64", name="a")
    hs, _ = sg.scan(
        lambda row, h, m: sg.tanh(h @ m) + row,
        sequences=x,
        outputs_info=h0,
        non_sequences=a,
        go_backwards=go_backwards,
    )
    return x, h0, a, hs


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("mode", MODES)
def test_linear_recurrence_and_gradient(mode, go_backwards):
    x, h0, a, hs = _linear_scan(go_backwards)
    rng = np.random.default_rng(3)
    xv, h0v, av = rng.standard_normal((5, 2, 4)), rng.standard_normal((2, 4)), 0.5 * rng.standard_normal((4, 4))
    f = sg.function([x, h0, a], hs, mode=mode)
    np.testing.assert_allclose(f(xv, h0v, av), _linear_reference(xv, h0v, av, go_backwards), rtol=1e-12)
    weights = sg.constant(rng.standard_normal((5, 2, 4)))
    cost = sg.sum(hs * weights) + sg.sum(hs[-1] ** 2)
    directional_check([x, h0, a], cost, [xv, h0v, av], mode)


def test_one_build_serves_every_length():
    x, h0, a, hs = _linear_scan()
    cost = sg.sum(hs**2)
    before = build.build_count
    f = sg.function([x, h0, a], [hs, *sg.grad(cost, [x, a])], mode="c")
    rng = np.random.default_rng(4)
    h0v, av = rng.standard_normal((2, 4)), 0.5 * rng.standard_normal((4, 4))
    for n in (3, 7):
        xv = rng.standard_normal((n, 2, 4))
        got, gx, ga = f(xv, h0v, av)
        np.testing.assert_allclose(got, _linear_reference(xv, h0v, av), rtol=1e-12)
        assert gx.shape == (n, 2, 4) and ga.shape == (4, 4)
    assert build.build_count - before <= 1  # one unit (0 when the cache already held it)


@pytest.mark.parametrize("mode", MODES)
def test_n_steps_without_sequences(mode):
    base = sg.placeholder((3,), "float64", name="base")
    powers, _ = sg.scan(lambda p, b: p * b, outputs_info=sg.ones((3,), "float64"), non_sequences=base, n_steps=4)
    assert powers.shape == (4, 3)
    bv = np.array([2.0, -1.0, 0.5])
    got = sg.function([base], powers, mode=mode)(bv)
    np.testing.assert_allclose(got, np.array([bv**k for k in range(1, 5)]))
    directional_check([base], sg.sum(powers), [bv], mode)


@pytest.mark.parametrize("mode", MODES)
def test_n_steps_takes_the_first_rows(mode):
    x = sg.placeholder((6,), "float64", name="x")
    total, _ = sg.scan(lambda row, acc: acc + row, sequences=x, outputs_info=sg.constant(0.0, "float64"), n_steps=3)
    xv = np.arange(6.0)
    np.testing.assert_allclose(sg.function([x], total, mode=mode)(xv), [0.0, 1.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_outputs_not_fed_back_and_closures(mode):
    x = sg.placeholder((None, 3), "float64", name="x")
    w = sg.Variable(np.array([0.5, -1.0, 2.0]), name="w")
    state, squares = sg.scan(
        lambda row, s: (s * w + row, (s * row) ** 2),  # w is used from outside: a closure
        sequences=x,
        outputs_info=[sg.zeros((3,), "float64"), None],
    )[0]
    xv = np.random.default_rng(5).standard_normal((4, 3))
    s, want_s, want_q = np.zeros(3), [], []
    for row in xv:
        want_q.append((s * row) ** 2)
        s = s * w.get_value() + row
        want_s.append(s)
    got_s, got_q = sg.function([x], [state, squares], mode=mode)(xv)
    np.testing.assert_allclose(got_s, want_s, rtol=1e-12)
    np.testing.assert_allclose(got_q, want_q, rtol=1e-12)
    cost = sg.sum(squares) + sg.sum(state[-1])
    gw = sg.function([x], sg.grad(cost, w), mode=mode)(xv)
    eps, numeric = 1e-6, np.zeros(3)
    f_cost = sg.function([x], cost, mode=mode)
    for i in range(3):
        old = w.get_value()
        for sign in (1, -1):
            bumped = old.copy()
            bumped[i] += sign * eps
            w.set_value(bumped)
            numeric[i] += sign * float(f_cost(xv)) / (2 * eps)
        w.set_value(old)
    np.testing.assert_allclose(gw, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_float32_loop_in_c_matches_py(mode):
    x = sg.placeholder((None, 8, 16), name="x")
    h0 = sg.placeholder((8, 16), name="h0")
    u = sg.placeholder((16, 16), name="u")
    hs, _ = sg.scan(
        lambda row, h, m: sg.tanh(h @ m + row) * 0.5 + h * 0.5, sequences=x, outputs_info=h0, non_sequences=u
    )
    rng = np.random.default_rng(6)
    args = [rng.standard_normal(s).astype(np.float32) for s in ((10, 8, 16), (8, 16), (16, 16))]
    got = sg.function([x, h0, u], hs, mode=mode)(*args)
    want = sg.function([x, h0, u], hs, mode="py")(*[a.astype(np.float32) for a in args])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_step_graph_is_optimized():
    x = sg.placeholder((None, 3), name="x")
    hs, _ = sg.scan(lambda row, h: sg.tanh(h * 0.5 + row) * 2.0 + 1.0, sequences=x, outputs_info=sg.zeros((3,)))
    (planned,) = [n for n in toposort(optimize([hs])[0]) if n.op.name == "scan"]
    names = {n.op.name for n in toposort(planned.op.plan.step.outputs)}
    assert "fused_elementwise" in names
    assert not names & {"tanh", "add", "mul"}
    traced = {n.op.name for n in toposort(planned.op.inner.outputs)}  # what gradients differentiate
    assert {"tanh", "add", "mul"} <= traced
    assert optimize([hs], "O0")[0][0].node.op.plan is None  # O0 runs the step as traced


@pytest.mark.parametrize("mode", MODES)
def test_sequences_of_different_lengths_fail_at_call_time(mode):
    x = sg.placeholder((None,), "float64", name="x")
    y = sg.placeholder((None,), "float64", name="y")
    out, _ = sg.scan(lambda a, b, s: s + a * b, sequences=[x, y], outputs_info=sg.constant(0.0, "float64"))
    f = sg.function([x, y], out, mode=mode)
    np.testing.assert_allclose(f(np.ones(3), np.arange(3.0)), [0.0, 1.0, 3.0])
    with pytest.raises(ShapeError, match="steps"):
        f(np.ones(3), np.ones(4))


def test_state_changing_shape_names_the_users_line():
    x = sg.placeholder((None, 3), name="x")
    with pytest.raises(ShapeError, match=r"test_scan\.py:\d+") as info:
        sg.scan(lambda row, h: sg.sum(h + row), sequences=x, outputs_info=sg.zeros((3,)))
    assert "outputs_info[0]" in str(info.value) and "float32[3]" in str(info.value)


def test_state_changing_dtype_names_the_users_line():
    x = sg.placeholder((None, 3), name="x")
    with pytest.raises(DTypeError, match=r"test_scan\.py:\d+"):
        sg.scan(lambda row, h: sg.cast(h + row, "float64"), sequences=x, outputs_info=sg.zeros((3,)))


def test_wrong_number_of_outputs():
    x = sg.placeholder((None, 3), name="x")
    with pytest.raises(ShapeError, match="returned 2 outputs"):
        sg.scan(lambda row, h: (h + row, h), sequences=x, outputs_info=[sg.zeros((3,))])


def test_no_sequences_needs_n_steps():
    with pytest.raises(sg.errors.InputError, match="n_steps"):
        sg.scan(lambda h: h, outputs_info=sg.zeros((3,)))


@pytest.mark.parametrize("mode", MODES)
def test_constant_scan_folds_or_runs(mode):
    powers, _ = sg.scan(lambda p: p * 2.0, outputs_info=sg.ones((2,), "float64"), n_steps=3)
    x = sg.placeholder((2,), "float64", name="x")
    got = sg.function([x], powers + x, mode=mode)(np.zeros(2))
    np.testing.assert_allclose(got, [[2.0, 2.0], [4.0, 4.0], [8.0, 8.0]])


@pytest.mark.parametrize("mode", MODES)
def test_nested_scan_and_its_gradient(mode):
    x = sg.placeholder((None, 4), "float64", name="x")

    def row_step(row, acc):
        inner, _ = sg.scan(lambda v, s: s * 0.5 + v, sequences=row, outputs_info=sg.constant(0.0, "float64"))
        return acc + inner[-1]

    totals, _ = sg.scan(row_step, sequences=x, outputs_info=sg.constant(0.0, "float64"))
    xv = np.random.default_rng(7).standard_normal((3, 4))
    want, acc = [], 0.0
    for row in xv:
        s = 0.0
        for v in row:
            s = s * 0.5 + v
        acc += s
        want.append(acc)
    np.testing.assert_allclose(sg.function([x], totals, mode=mode)(xv), want, rtol=1e-12)
    directional_check([x], sg.sum(totals**2), [xv], mode)


@pytest.mark.parametrize("mode", MODES)
def test_gradient_of_no_steps(mode):
    x = sg.placeholder((None, 2), "float64", name="x")
    h0 = sg.placeholder((2,), "float64", name="h0")
    hs, _ = sg.scan(lambda row, h: h * row, sequences=x, outputs_info=h0)
    gx, gh = sg.function([x, h0], sg.grad(sg.sum(hs), [x, h0]), mode=mode)(np.zeros((0, 2)), np.ones(2))
    assert gx.shape == (0, 2)
    np.testing.assert_array_equal(gh, [0.0, 0.0])


def test_outputs_nothing_reads_are_pruned():
    x = sg.placeholder((None, 2, 3), name="x")
    w, u = sg.placeholder((3, 8), name="w"), sg.placeholder((2, 8), name="u")
    last, _, _ = sg.nn.lstm(x, w, u, None, None, None)  # its gate activations are scan outputs
    inference = sg.function([x, w, u], last, mode="py")
    (scan_node,) = [n for n in sg.graph.traversal.toposort(inference.outputs) if n.op.name == "scan"]
    assert len(scan_node.outputs) == 2  # h and c: the gate activations are gone
    training = sg.function([x, w, u], sg.grad(sg.sum(last), u), mode="py")
    forward = [n for n in sg.graph.traversal.toposort(training.outputs) if n.op.name == "scan" and not n.op.reverse]
    assert [len(n.outputs) for n in forward] == [6]  # the gradient reads them


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_n_steps_and_return_list(mode):
    x = sg.placeholder((None,), "float64", name="x")
    outs, _ = sg.scan(lambda s: s + 1.0, outputs_info=sg.constant(0.0, "float64"), n_steps=x.shape[0], return_list=True)
    assert isinstance(outs, list) and len(outs) == 1
    f = sg.function([x], outs[0], mode=mode)
    np.testing.assert_allclose(f(np.zeros(4)), [1.0, 2.0, 3.0, 4.0])
    assert f(np.zeros(0)).shape == (0,)


@pytest.mark.parametrize("mode", MODES)
def test_numpy_constants_in_the_step(mode):
    big = np.random.default_rng(8).standard_normal((20, 20)) * 0.1  # passed in as a buffer
    small = np.array([1.0, -1.0] * 10)  # inlined into the step
    x = sg.placeholder((None, 20), "float64", name="x")
    hs, _ = sg.scan(lambda r, h: sg.tanh(h @ big) * small + r, sequences=x, outputs_info=sg.zeros((20,), "float64"))
    xv = np.random.default_rng(9).standard_normal((3, 20))
    h, want = np.zeros(20), []
    for r in xv:
        h = np.tanh(h @ big) * small + r
        want.append(h)
    np.testing.assert_allclose(sg.function([x], hs, mode=mode)(xv), want, rtol=1e-12)


def _force_row_blocks(monkeypatch, blocks):
    monkeypatch.setattr(scan_rows, "row_chunks", lambda *sizes: blocks)


def test_rows_the_step_treats_independently_are_split(monkeypatch):
    """h_t = tanh(h @ u + x_t + b) treats each of the 16 rows on its own: the C loops
    (forward and BPTT) run blocks of rows (4 here), each through all the steps, and
    agree with py."""
    _force_row_blocks(monkeypatch, 4)
    x = sg.placeholder((None, 16, 5), "float64", name="x")
    h0 = sg.placeholder((16, 5), "float64", name="h0")
    u = sg.placeholder((5, 5), "float64", name="u")
    b = sg.placeholder((5,), "float64", name="b")
    hs, _ = sg.scan(
        lambda row, h, m, c: sg.tanh(h @ m + sg.concatenate([row[:, 2:], row[:, :2]], axis=1) + c),
        sequences=x,
        outputs_info=h0,
        non_sequences=[u, b],
    )
    block = scan_rows.split_rows(hs.node.op.inner, 4)
    assert block is not None
    assert [t.shape for t in block.inputs] == [(4, 5), (4, 5), (5, 5), (5,)]
    assert block.outputs[0].shape == (4, 5)
    rng = np.random.default_rng(11)
    args = [rng.standard_normal(s) for s in ((7, 16, 5), (16, 5), (5, 5), (5,))]
    f = sg.function([x, h0, u, b], hs, mode="c")
    assert "blocks of rows" in f.c_source
    np.testing.assert_allclose(f(*args), sg.function([x, h0, u, b], hs, mode="py")(*args), rtol=1e-10, atol=1e-12)
    grads = sg.grad(sg.sum(hs * hs), [x, h0, u, b])
    f_grad = sg.function([x, h0, u, b], grads, mode="c")
    assert f_grad.c_source.count("blocks of rows") == 2  # the forward loop and BPTT's
    for got, want in zip(f_grad(*args), sg.function([x, h0, u, b], grads, mode="py")(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "step",
    [
        lambda row, h, m: sg.tanh(h @ m + row) - sg.mean(h, axis=0),  # a reduction over the rows
        lambda row, h, m: sg.tanh(m @ h + row),  # the rows are the inner axis of the product
        lambda row, h, m: sg.tanh(h[::-1] @ m + row),  # rows reversed
    ],
    ids=["mean_over_rows", "rows_inside_matmul", "reversed_rows"],
)
def test_steps_mixing_rows_are_not_split(monkeypatch, step):
    _force_row_blocks(monkeypatch, 2)
    x = sg.placeholder((None, 8, 8), "float64", name="x")
    h0 = sg.placeholder((8, 8), "float64", name="h0")
    u = sg.placeholder((8, 8), "float64", name="u")
    hs, _ = sg.scan(step, sequences=x, outputs_info=h0, non_sequences=u)
    assert scan_rows.split_rows(hs.node.op.inner, 2) is None
    rng = np.random.default_rng(12)
    args = [rng.standard_normal(s) for s in ((5, 8, 8), (8, 8), (8, 8))]
    f = sg.function([x, h0, u], hs, mode="c")
    assert "blocks of rows" not in f.c_source
    np.testing.assert_allclose(f(*args), sg.function([x, h0, u], hs, mode="py")(*args), rtol=1e-12)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_gradient_of_the_final_state_starts_the_carry(go_backwards):
    """The gradient of the last step's state (zero but in that row of the history: row
    n - 1, or 0 when the steps run backwards) seeds BPTT's carry: no zero-filled history
    gradient is built or read; the gradient is unchanged."""
    x = sg.placeholder((3, 6, 4), "float64", name="x")
    w, u = sg.placeholder((4, 5), "float64", name="w"), sg.placeholder((5, 5), "float64", name="u")
    h0 = sg.placeholder((3, 5), "float64", name="h0")
    last, _ = sg.nn.simple_rnn(x, w, u, None, h0, go_backwards=go_backwards)
    cost = sg.sum(last**2)
    grads = sg.grad(cost, [x, w, u, h0])
    names = {n.op.name for n in sg.graph.traversal.toposort(grads)}
    assert "inc_subtensor" not in names
    rng = np.random.default_rng(14)
    args = [rng.standard_normal(s) for s in ((3, 6, 4), (4, 5), (5, 5), (3, 5))]
    for mode in MODES:
        directional_check([x, w, u, h0], cost, args, mode)


def _shifted_scan(shift: int, reverse: bool, blocks: bool):
    """A Scan reading x (n, 8, 3) shifted by ``shift`` rows with first row f (8, 3):
    h_t = tanh(h_{t-1} @ m + 2 * row_t), the rows it reads returned as a second output."""
    from symgraph.graph.sources import placeholder

    x = sg.placeholder((None, 8, 3), "float64", name="x")
    first = sg.placeholder((8, 3), "float64", name="first")
    h0 = sg.placeholder((8, 3), "float64", name="h0")
    m = sg.placeholder((3, 3), "float64", name="m")
    row, h, mp = placeholder((8, 3), "float64"), placeholder((8, 3), "float64"), placeholder((3, 3), "float64")
    outs = [sg.tanh(h @ mp + 2 * row), row * 1.0]
    hs, rows = build_scan(
        [row], [h], [mp], outs, (0, None), [x], [h0], [m], x.shape[0], reverse, (True, True), None, (shift,), [first]
    )
    return [x, first, h0, m], hs, rows


def _np_shifted(x, first, h0, m, shift, reverse):
    n = x.shape[0]
    rows = np.concatenate([first[None], x])[:n] if shift == 1 else np.concatenate([x, first[None]])[1:]
    hs, h = np.empty_like(x), h0
    for t in range(n):
        j = n - 1 - t if reverse else t
        h = np.tanh(h @ m + 2 * rows[j])
        hs[j] = h
    return hs, rows


@pytest.mark.parametrize("blocks", [False, True], ids=["whole", "row_blocks"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("shift", [1, -1])
def test_shifted_sequence_reads_the_history_one_row_off(monkeypatch, shift, reverse, blocks):
    """A shifted sequence (how BPTT reads each state's value before each step) reads
    history row j - shift, or the first row at the edge; in py and in C (whole, and in
    blocks of rows on threads), with 0, 1 and 5 steps; and its gradient (through the
    written-out sequence) matches finite differences for history and first row."""
    if blocks:
        _force_row_blocks(monkeypatch, 2)
    inputs, hs, rows = _shifted_scan(shift, reverse, blocks)
    assert hs.node.op.shifts == (shift,)
    assert [t.name for t in hs.node.inputs] == ["x", "h0", "m", "first"]  # the first row comes last
    rng = np.random.default_rng(21)
    for n in (0, 1, 5):
        args = [rng.standard_normal(s) for s in ((n, 8, 3), (8, 3), (8, 3), (3, 3))]
        want = _np_shifted(*args, shift, reverse)
        for mode in MODES:
            f = sg.function(inputs, [hs, rows], mode=mode)
            if mode == "c" and blocks:
                assert "blocks of rows" in f.c_source
            for got, expected in zip(f(*args), want):
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    args = [rng.standard_normal(s) for s in ((4, 8, 3), (8, 3), (8, 3), (3, 3))]
    for mode in MODES:
        directional_check(inputs, sg.sum(hs * hs) + sg.sum(rows * hs), args, mode)


def test_bptt_reads_the_states_before_each_step_without_copies():
    """BPTT's loop reads each state's value before the step as the forward's history
    shifted by one row (the initial state first): no concatenate-and-slice copy of the
    history feeds it."""
    x = sg.placeholder((4, 6, 3), "float64", name="x")
    w, u = sg.placeholder((3, 8), "float64", name="w"), sg.placeholder((2, 8), "float64", name="u")
    _, _, c_last = sg.nn.lstm(x, w, u, None, None, None)
    grads = sg.grad(sg.sum(c_last), [w, u])
    f = sg.function([x, w, u], grads, mode="c")
    (bptt,) = [n for n in sg.graph.traversal.toposort(f.outputs) if n.op.name == "scan" and n.op.reverse]
    assert bptt.op.shifts.count(1) == 2  # h and c before each step
    for t, shift in zip(bptt.inputs, bptt.op.shifts):
        if shift:
            assert t.node.op.name == "scan"  # the forward's history itself


def test_deferred_products_sharing_a_factor_are_one_gemm():
    """The kernel, recurrent kernel and bias gradients of an LSTM (x_t @ W and h @ U feed
    one pre-activation z, plus the bias) leave the loop as one product
    [x_t, h_{t-1}, 1]^T @ dz over all steps, split into its rows; values agree with the
    unmerged py reference by finite differences."""
    x = sg.placeholder((4, 6, 3), "float64", name="x")
    w, u = sg.placeholder((3, 16), "float64", name="w"), sg.placeholder((4, 16), "float64", name="u")
    b = sg.placeholder((16,), "float64", name="b")
    seq, _, _ = sg.nn.lstm(x, w, u, b, None, None, return_sequences=True)
    cost = sg.sum(seq * seq)
    grads = sg.grad(cost, [w, u, b])
    order = sg.graph.traversal.toposort(grads)
    products = [n for n in order if n.op.name == "matmul" and n.op.transpose_a]
    assert [n.outputs[0].shape for n in products] == [(3 + 4 + 1, 16)]
    assert not [n for n in order if n.op.name == "sum"]
    rng = np.random.default_rng(23)
    args = [0.5 * rng.standard_normal(s) for s in ((4, 6, 3), (3, 16), (4, 16), (16,))]
    for mode in MODES:
        directional_check([x, w, u, b], cost, args, mode)


def test_values_broadcast_to_the_rows_split_with_them(monkeypatch):
    """A value the same in every row broadcast to the rows (a non-sequence, a column of
    ones) does not stop the split: each block broadcasts it to its own rows."""
    _force_row_blocks(monkeypatch, 4)
    x = sg.placeholder((None, 16, 3), "float64", name="x")
    h0 = sg.placeholder((16, 3), "float64", name="h0")
    c = sg.placeholder((3,), "float64", name="c")
    hs, _ = sg.scan(
        lambda row, h, v: sg.tanh(h + row) * sg.broadcast_to(v, (16, 3)) + sg.ones((16, 1), "float64"),
        sequences=x,
        outputs_info=h0,
        non_sequences=c,
    )
    block = scan_rows.split_rows(hs.node.op.inner, 4)
    assert block is not None and block.outputs[0].shape == (4, 3)
    rng = np.random.default_rng(25)
    args = [rng.standard_normal(s) for s in ((5, 16, 3), (16, 3), (3,))]
    f = sg.function([x, h0, c], hs, mode="c")
    assert "blocks of rows" in f.c_source
    np.testing.assert_allclose(f(*args), sg.function([x, h0, c], hs, mode="py")(*args), rtol=1e-12)
