"""Semantics of reductions, scans, products and losses beyond the table rows:
numerical stability at extreme magnitudes, errors (build time and call time), result
dtypes, exact gradients at zeros and ties, and gradients built on symbolic shapes."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import DTypeError, IndexOutOfRangeError, ShapeError
from tests.cases import reduction as reduction_cases
from tests.opcheck import check_grad


def run(fn, *arrays, symbolic=False):
    """fn applied to placeholders for ``arrays``, compiled in py mode and called."""
    phs = [
        sg.placeholder((None,) * np.ndim(a) if symbolic else np.shape(a), np.asarray(a).dtype, name=f"a{i}")
        for i, a in enumerate(arrays)
    ]
    out = fn(*phs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    results = sg.function(phs, outs, mode="py")(*[np.asarray(a) for a in arrays])
    return results if isinstance(out, (list, tuple)) else results[0]


def value_and_grad(fn, x, *rest, symbolic=False):
    """fn(x, *rest) summed, and its gradient with respect to x."""

    def build(x, *rest):
        cost = sg.sum(fn(x, *rest))
        return [cost, sg.grad(cost, x)]

    return run(build, x, *rest, symbolic=symbolic)


# numerical stability


def test_sparse_softmax_cross_entropy_is_exact_for_huge_logits():
    logits = np.array([[1e4, 0, -1e4], [1e4, 0, -1e4], [1e4, 0, -1e4]], np.float32)
    labels = np.array([0, 1, 2], np.int32)
    loss = run(sg.nn.sparse_softmax_cross_entropy, logits, labels)
    np.testing.assert_array_equal(loss, np.array([0, 1e4, 2e4], np.float32))
    _, g = value_and_grad(sg.nn.sparse_softmax_cross_entropy, logits, labels)
    np.testing.assert_allclose(g, [[0, 0, 0], [1, -1, 0], [1, 0, -1]], atol=1e-6)


def test_dense_softmax_cross_entropy_is_exact_for_huge_logits():
    logits = np.array([[1e4, 0, -1e4], [-1e4, 1e4, 0]], np.float32)
    targets = np.array([[1, 0, 0], [0.5, 0.5, 0]], np.float32)
    loss = run(sg.nn.softmax_cross_entropy, logits, targets)
    np.testing.assert_array_equal(loss, np.array([0, 1e4], np.float32))
    value, g = value_and_grad(sg.nn.softmax_cross_entropy, logits, targets)
    assert np.isfinite(value) and np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)


def test_softmax_and_log_softmax_of_huge_logits():
    x = np.array([[1e4, 1e4 - 1, -1e4], [-3e4, -3e4, -3e4]], np.float32)
    p = run(sg.nn.softmax, x)
    e = np.exp([0.0, -1.0])
    np.testing.assert_allclose(p[0], [*(e / e.sum()), 0], rtol=1e-6)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-6)
    lp = run(sg.nn.log_softmax, x)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[1], [-np.log(3)] * 3, rtol=1e-6)
    np.testing.assert_allclose(lp[0, 2], -2e4 - np.log(e.sum()), rtol=1e-6)


def test_softmax_cross_entropy_ignores_masked_classes():
    """A class with target 0 and logit -inf contributes 0, not 0 * -inf = NaN."""
    logits = np.array([[2.0, -np.inf, 1.0]], np.float32)
    targets = np.array([[0.25, 0.0, 0.75]], np.float32)
    loss = run(sg.nn.softmax_cross_entropy, logits, targets)
    lsm = np.array([2.0, 1.0]) - np.log(np.exp(2.0) + np.exp(1.0))
    np.testing.assert_allclose(loss, [-(0.25 * lsm[0] + 0.75 * lsm[1])], rtol=1e-6)


def test_logsumexp_of_large_values():
    x = np.array([[1000, 1000], [-1000, -1000], [1e30, 0], [-np.inf, -np.inf]], np.float32)
    out = run(lambda t: sg.logsumexp(t, axis=1), x)
    np.testing.assert_allclose(out[:3], [1000 + np.log(2), -1000 + np.log(2), 1e30], rtol=1e-6)
    assert out[3] == -np.inf
    _, g = value_and_grad(lambda t: sg.logsumexp(t, axis=1), x[:3])
    np.testing.assert_allclose(g, [[0.5, 0.5], [0.5, 0.5], [1, 0]], rtol=1e-6)


def test_logsumexp_of_positive_infinity():
    out = run(lambda t: sg.logsumexp(t, axis=1), np.array([[np.inf, 0.0]], np.float32))
    assert out[0] == np.inf


def test_sigmoid_binary_cross_entropy_at_huge_logits():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], np.float32)
    z = np.array([1, 1, 0, 0, 0.5], np.float32)
    loss = run(sg.nn.sigmoid_binary_cross_entropy, x, z)
    np.testing.assert_allclose(loss, [0, 1e4, 1e4, 0, np.log(2)], rtol=1e-6)
    value, g = value_and_grad(sg.nn.sigmoid_binary_cross_entropy, x, z)
    assert np.isfinite(value)
    np.testing.assert_allclose(g, [0, -1, 1, 0, 0], atol=1e-6)


def test_sigmoid_binary_cross_entropy_gradient_wrt_labels():
    x = np.array([1e4, -2.0, 0.5], np.float32)
    z = np.array([0.3, 0.6, 1.0], np.float32)
    _, gz = value_and_grad(lambda labels, logits: sg.nn.sigmoid_binary_cross_entropy(logits, labels), z, x)
    np.testing.assert_allclose(gz, -x)


# errors


@pytest.mark.parametrize("op", [sg.max, sg.min, sg.argmax, sg.argmin])
def test_extremum_of_an_empty_axis_is_a_build_time_shape_error(op):
    x = sg.placeholder((3, 0), "float32")
    with pytest.raises(ShapeError, match="empty axis"):
        op(x, axis=1)
    with pytest.raises(ShapeError, match="empty axis"):
        op(x)
    assert op(x, axis=0).shape == (0,)  # an empty kept axis is fine


def test_max_of_an_axis_empty_only_at_call_time_is_a_call_time_shape_error():
    x = sg.placeholder((None, None), "float32")
    f = sg.function([x], sg.max(x, axis=1), mode="py")
    assert f(np.ones((0, 3), np.float32)).shape == (0,)
    with pytest.raises(ShapeError):
        f(np.ones((3, 0), np.float32))


@pytest.mark.parametrize("bad", [4, -1, 100])
@pytest.mark.parametrize("symbolic", [False, True])
def test_out_of_range_labels_raise_at_call_time(bad, symbolic):
    logits = np.zeros((3, 4), np.float32)
    labels = np.array([0, bad, 3], np.int32)
    with pytest.raises(IndexOutOfRangeError, match=f"label {bad} is out of range for 4 classes"):
        run(sg.nn.sparse_softmax_cross_entropy, logits, labels, symbolic=symbolic)


def test_out_of_range_labels_error_names_the_op_and_line():
    logits = sg.placeholder((None, 4), "float32")
    labels = sg.placeholder((None,), "int64")
    f = sg.function([logits, labels], sg.nn.sparse_softmax_cross_entropy(logits, labels), mode="py")
    with pytest.raises(IndexError) as info:  # IndexOutOfRangeError is an IndexError
        f(np.zeros((2, 4), np.float32), np.array([1, 7]))
    message = str(info.value)
    assert "sparse_softmax_cross_entropy" in message and "test_reduction_semantics.py" in message


def test_sparse_labels_must_be_integers_of_the_right_shape():
    logits = sg.placeholder((5, 4), "float32")
    with pytest.raises(DTypeError, match="labels must be integers"):
        sg.nn.sparse_softmax_cross_entropy(logits, sg.placeholder((5,), "float32"))
    with pytest.raises(ShapeError, match="without the class axis"):
        sg.nn.sparse_softmax_cross_entropy(logits, sg.placeholder((4,), "int32"))
    with pytest.raises(ShapeError, match="without the class axis"):
        sg.nn.sparse_softmax_cross_entropy(logits, sg.placeholder((5, 1), "int32"))
    with pytest.raises(ShapeError, match="out of range"):
        sg.nn.softmax(logits, axis=2)


def test_matrix_product_shape_errors():
    a, b = sg.placeholder((3, 4)), sg.placeholder((5, 6))
    with pytest.raises(ShapeError):
        sg.dot(a, b)
    with pytest.raises(ShapeError, match="differ"):
        sg.tensordot(a, b, 1)
    with pytest.raises(ShapeError):
        sg.tensordot(a, b, ([0, 1], [0]))
    with pytest.raises(ShapeError):
        sg.tensordot(a, b, 3)
    with pytest.raises(ShapeError):
        sg.matmul(a, b)


def test_scan_axis_must_be_one_int():
    x = sg.placeholder((3, 4))
    with pytest.raises(ShapeError):
        sg.cumsum(x, axis=(0, 1))
    with pytest.raises(ShapeError):
        sg.cumprod(x, axis=2)


# dtypes


@pytest.mark.parametrize(
    "fn, dtype, expected",
    [
        (sg.sum, "int32", "int64"),
        (sg.sum, "bool", "int64"),
        (sg.prod, "int8", "int64"),
        (sg.cumsum, "bool", "int64"),
        (sg.cumprod, "int32", "int64"),
        (sg.cumsum, "float64", "float64"),
        (sg.mean, "int32", "float32"),
        (sg.var, "int32", "float32"),
        (sg.max, "int32", "int32"),
        (sg.argmax, "float32", "int64"),
        (sg.any, "float32", "bool"),
        (sg.logsumexp, "int32", "float32"),
        (sg.nn.softmax, "int32", "float32"),
        (sg.nn.log_softmax, "float64", "float64"),
    ],
)
def test_result_dtypes(fn, dtype, expected):
    x = sg.placeholder((2, 3), dtype)
    assert fn(x).dtype == np.dtype(expected)
    out = run(fn, np.ones((2, 3), dtype))
    assert out.dtype == np.dtype(expected)


# exact gradients at zeros and ties


@pytest.mark.parametrize(
    "x, expected",
    [([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]), ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]), ([2.0, 5.0, 3.0], [15.0, 6.0, 10.0])],
)
def test_prod_gradient_at_zeros(x, expected):
    _, g = value_and_grad(sg.prod, np.array(x))
    np.testing.assert_array_equal(g, expected)


def _cumprod_jacobian(x: np.ndarray) -> np.ndarray:
    """d cumprod(x)_i / d x_k, by brute force (products leaving x_k out)."""
    n = len(x)
    jac = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            jac[i, k] = np.prod([x[j] for j in range(i + 1) if j != k])
    return jac


@pytest.mark.parametrize(
    "x",
    [[2.0, 0.0, 3.0, 0.5], [0.0, 0.0, 3.0, 2.0], [1.5, -2.0, 0.0, 0.0, 4.0], [2.0, 3.0, 4.0, 5.0], [0.0]],
)
def test_cumprod_gradient_at_zeros(x):
    x = np.array(x)
    w = np.arange(1.0, len(x) + 1)
    _, g = value_and_grad(lambda t, w: sg.cumprod(t) * w, x, w)
    np.testing.assert_allclose(g, w @ _cumprod_jacobian(x), rtol=1e-12)


def test_cumprod_gradient_at_zeros_reverse_exclusive():
    x = np.array([1.5, 0.0, 2.0, 0.0, 3.0])
    w = np.arange(1.0, 6.0)
    _, g = value_and_grad(lambda t, w: sg.cumprod(t, exclusive=True, reverse=True) * w, x, w)
    # out_i = prod(x[i+1:]): the forward scan of the reversed x, shifted
    rev = x[::-1]
    jac_rev = np.zeros((5, 5))
    for i in range(5):
        for k in range(i):
            jac_rev[i, k] = np.prod([rev[j] for j in range(i) if j != k])
    np.testing.assert_allclose(g, (w[::-1] @ jac_rev)[::-1], rtol=1e-12)


@pytest.mark.parametrize(
    "name", ["cumprod_zeros", "cumprod_zeros_flat", "cumprod_exclusive_reverse", "prod_zeros", "prod_zeros_tuple"]
)
def test_second_derivatives_at_zeros(name):
    """Hessian-vector products of prod and cumprod are exact where x holds zeros."""
    (case,) = [c for c in reduction_cases.CASES if c.name == name]
    for shapes in case.shapes:
        for seed in range(3):
            check_grad(case, shapes, order=2, seed=seed)


def test_max_gradient_is_shared_among_ties():
    _, g = value_and_grad(lambda t: sg.max(t, axis=1), np.array([[1.0, 3.0, 3.0], [4.0, 2.0, 0.0]]))
    np.testing.assert_array_equal(g, [[0, 0.5, 0.5], [1, 0, 0]])


# gradients built on symbolic shapes agree with static ones


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: sg.prod(t, axis=(0, 2)),
        lambda t: sg.prod(t, axis=1, keepdims=True),
        lambda t: sg.prod(t),
        lambda t: sg.cumprod(t, axis=1),
        lambda t: sg.cumsum(t, axis=-1, reverse=True),
        lambda t: sg.std(t, axis=(0, 1), ddof=1),
        lambda t: sg.logsumexp(t, axis=2),
        lambda t: sg.nn.softmax(t, axis=1),
        lambda t: sg.tensordot(t, t, ([0, 2], [0, 2])),
        lambda t: sg.dot(t, sg.transpose(t, (0, 2, 1))),
    ],
)
def test_gradients_on_symbolic_shapes(fn):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    x[0, 1, 2] = 0.0
    static = value_and_grad(fn, x)
    symbolic = value_and_grad(fn, x, symbolic=True)
    for s, d in zip(static, symbolic):
        np.testing.assert_allclose(s, d, rtol=1e-12)


def test_sparse_cross_entropy_gradient_with_a_symbolic_class_count():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((5, 7))
    labels = rng.integers(0, 7, size=5)
    _, g = value_and_grad(sg.nn.sparse_softmax_cross_entropy, logits, labels, symbolic=True)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(g, p - np.eye(7)[labels], rtol=1e-12, atol=1e-15)


def test_sparse_cross_entropy_matches_dense_with_one_hot_targets():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, size=6)
    sparse = run(sg.nn.sparse_softmax_cross_entropy, logits, labels)
    dense = run(sg.nn.softmax_cross_entropy, logits, np.eye(5, dtype=np.float32)[labels])
    np.testing.assert_allclose(sparse, dense, rtol=1e-6)


@pytest.mark.parametrize("mode", ["c", "py", "debug"])
@pytest.mark.parametrize("size", [3, 5, 1 << 20], ids=["short", "odd", "threaded"])
def test_signed_zero_ties_are_ordered_not_positional(mode, size):
    """max picks +0 and min -0 between the signed zeros wherever they stand (IEEE
    754-2019), so 1/min and 1/max agree across modes, levels and thread counts."""
    x = sg.placeholder((None,), "float64", name="x")
    f = sg.function([x], [1 / sg.min(x), 1 / sg.max(x), 1 / sg.max(x * 2.0), 1 / sg.min(-x)], mode=mode)
    for first, second in ((-0.0, 0.0), (0.0, -0.0)):
        data = np.full(size, first)
        data[size // 2 :] = second
        inv_min, inv_max, inv_fused_max, inv_neg_min = f(data)
        assert inv_min == -np.inf and inv_max == np.inf and inv_fused_max == np.inf and inv_neg_min == -np.inf
    only_negative = np.full(size, -0.0)
    assert list(f(only_negative))[:2] == [-np.inf, -np.inf]
    y = sg.placeholder((2, 3), "float32", name="y")
    g = sg.function([y], [sg.max(y, axis=0), sg.min(y, axis=1)], mode=mode)
    top, low = g(np.array([[0.0, -0.0, 2.0], [-0.0, -0.0, -1.0]], np.float32))
    assert list(np.signbit(top)) == [False, True, False] and list(np.signbit(low)) == [True, True]
