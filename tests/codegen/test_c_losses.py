"""C kernels of softmax, log_softmax and the softmax cross-entropies against their references."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.core import apply
from symgraph.ops.losses import SoftmaxCrossEntropy
from tests.codegen.kernel_bench import check_kernel

# (shape, axis, dtype): last, first and middle class axes, 1-D, empty, float64
SOFTMAX_CASES = [
    ((3, 5), -1, "float32"),
    ((3, 5), 0, "float32"),
    ((2, 3, 4), 1, "float32"),
    ((4,), 0, "float32"),
    ((0, 4), -1, "float32"),
    ((3, 0), -1, "float32"),
    ((3, 5), -1, "float64"),
]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis, dtype", SOFTMAX_CASES)
def test_softmax_and_log_softmax(name, shape, axis, dtype):
    fn = getattr(sg.nn, name)
    x = (3 * np.random.default_rng(0).standard_normal(shape)).astype(dtype)
    check_kernel(lambda t: fn(t, axis=axis), [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_large_logits_and_nonfinite_rows(name):
    fn = getattr(sg.nn, name)
    x = np.array(
        [
            [1000.0, -1000.0, 0.0, 999.0, 1.0],  # large logits: the max shift keeps it finite
            [-np.inf, -np.inf, -np.inf, -np.inf, -np.inf],  # NaN, as numpy
            [np.inf, 1.0, 2.0, 3.0, 4.0],  # NaN
        ],
        "float32",
    )
    out = check_kernel(fn, [x])[0]  # the (3, 5) unit above
    assert np.isfinite(out[0]).all() and np.isnan(out[1:]).all()
    x[1] = [1, 2, np.nan, 4, 5]
    assert np.isnan(check_kernel(fn, [x])[0][1]).all()


def test_softmax_large_runs_threaded():
    x = np.random.default_rng(1).standard_normal((300, 257)).astype("float32")
    check_kernel(sg.nn.softmax, [x])
    check_kernel(lambda t: sg.nn.log_softmax(t, axis=0), [x])


def test_softmax_with_symbolic_sizes():
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype("float32")
    check_kernel(lambda t: sg.nn.softmax(t, axis=1), [x], symbolic=True)
    check_kernel(sg.nn.log_softmax, [x], symbolic=True)


# ---- sparse_softmax_cross_entropy ----------------------------------------------------

SPARSE_CASES = [
    ((4, 5), -1, "float32", "int32"),
    ((4, 5), -1, "float32", "int64"),
    ((4, 5), -1, "float64", "uint8"),
    ((2, 5, 3), 1, "float32", "int8"),
    ((5, 4), 0, "float32", "int32"),
    ((5,), 0, "float32", "int32"),  # one example: a 0-d label
    ((0, 5), -1, "float32", "int32"),
]


@pytest.mark.parametrize("shape, axis, dtype, label_dtype", SPARSE_CASES)
def test_sparse_softmax_cross_entropy(shape, axis, dtype, label_dtype):
    rng = np.random.default_rng(3)
    logits = (3 * rng.standard_normal(shape)).astype(dtype)
    label_shape = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
    labels = rng.integers(0, shape[axis], size=label_shape).astype(label_dtype)
    check_kernel(lambda x, y: sg.nn.sparse_softmax_cross_entropy(x, y, axis=axis), [logits, labels])


def test_sparse_softmax_cross_entropy_nonfinite_logits():
    logits = np.zeros((4, 5), "float32")
    logits[0, 2] = -np.inf  # the label's logit is -inf: an infinite loss
    logits[1] = -np.inf  # NaN
    logits[2, 4] = np.nan  # NaN
    labels = np.array([2, 0, 1, 3], "int32")
    out = check_kernel(sg.nn.sparse_softmax_cross_entropy, [logits, labels])[0]
    assert out[0] == np.inf and np.isnan(out[1:3]).all() and np.isfinite(out[3])


@pytest.mark.parametrize("bad, reported", [([1, 5, 7, 0], 7), ([1, -2, 9, -3], -3)])
def test_sparse_labels_out_of_range(bad, reported):
    """The reference's error: the smallest label if one is negative, else the largest."""
    logits = np.zeros((4, 5), "float32")
    labels = np.array(bad, "int32")
    message = rf"status 2: label {reported} is out of range for 5 classes \(axis 1\): labels must lie in \[0, 5\)"
    with pytest.raises(RuntimeError, match=message):
        check_kernel(sg.nn.sparse_softmax_cross_entropy, [logits, labels])  # the (4, 5) unit above
    with pytest.raises(RuntimeError, match=message):
        check_kernel(sg.nn.sparse_softmax_cross_entropy, [logits, labels], symbolic=True)
    with pytest.raises(sg.errors.IndexOutOfRangeError, match=message[10:]):  # the reference says the same
        sg.function([], sg.nn.sparse_softmax_cross_entropy(logits, labels), mode="py")()


def test_sparse_labels_against_no_classes():
    with pytest.raises(RuntimeError, match=r"status 2: label 0 is out of range for 0 classes"):
        check_kernel(sg.nn.sparse_softmax_cross_entropy, [np.zeros((2, 0), "float32"), np.zeros(2, "int32")])


def test_sparse_softmax_cross_entropy_symbolic_sizes():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((4, 5)).astype("float32")
    labels = rng.integers(0, 5, 4).astype("int64")
    check_kernel(sg.nn.sparse_softmax_cross_entropy, [logits, labels], symbolic=True)
    with pytest.raises(RuntimeError, match=r"status 1: labels have shape \(3,\); the logits need \(4,\)"):
        check_kernel(sg.nn.sparse_softmax_cross_entropy, [logits, labels[:3]], symbolic=True)


# ---- softmax_cross_entropy -----------------------------------------------------------

DENSE_CASES = [
    ((4, 5), -1, "float32"),
    ((4, 5), 0, "float32"),
    ((2, 5, 3), 1, "float64"),
    ((0, 5), -1, "float32"),
    ((4, 0), -1, "float32"),  # no classes: a loss of 0
]


@pytest.mark.parametrize("shape, axis, dtype", DENSE_CASES)
def test_softmax_cross_entropy(shape, axis, dtype):
    rng = np.random.default_rng(5)
    logits = (3 * rng.standard_normal(shape)).astype(dtype)
    targets = rng.random(shape).astype(dtype)
    check_kernel(lambda x, t: sg.nn.softmax_cross_entropy(x, t, axis=axis), [logits, targets])


def test_softmax_cross_entropy_zero_targets_mask_infinite_logits():
    logits = np.zeros((4, 5), "float32")
    targets = np.full((4, 5), 0.25, "float32")
    logits[0, 1] = -np.inf  # masked class with target 0: counts 0, not 0 * inf = NaN
    targets[0, 1] = 0
    logits[1] = [np.nan, 1, 2, 3, 4]  # NaN slice with all targets 0: 0, as the reference's where
    targets[1] = 0
    logits[2, 3] = -np.inf  # target 0.25 against -inf: inf
    targets[3] = [1, 0, 0, 0, 0]  # one-hot
    out = check_kernel(sg.nn.softmax_cross_entropy, [logits, targets])[0]  # the (4, 5) unit above
    assert np.isfinite(out[0]) and out[1] == 0 and out[2] == np.inf


def test_softmax_cross_entropy_broadcasts_static_size_one_axes():
    """The op itself accepts broadcastable operands (sg.nn.softmax_cross_entropy
    broadcasts first): a static size-1 axis has stride 0 in the kernel."""
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((4, 1, 5)).astype("float32")
    targets = rng.random((1, 3, 5)).astype("float32")
    check_kernel(lambda x, t: apply(SoftmaxCrossEntropy(2), x, t).outputs[0], [logits, targets])
    logits, targets = rng.standard_normal((4, 5)).astype("float32"), rng.random((4, 1)).astype("float32")
    check_kernel(lambda x, t: apply(SoftmaxCrossEntropy(1), x, t).outputs[0], [logits, targets])


def test_softmax_cross_entropy_symbolic_sizes():
    rng = np.random.default_rng(7)
    logits, targets = rng.standard_normal((4, 5)).astype("float32"), rng.random((4, 5)).astype("float32")
    check_kernel(sg.nn.softmax_cross_entropy, [logits, targets], declared=[("n", "c"), ("n", "c")])
