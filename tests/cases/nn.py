"""Test rows for nn ops: softmax, log_softmax and the cross-entropies."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import Case, integers, uniform


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_sparse_xent(logits: np.ndarray, labels: np.ndarray, axis: int = -1) -> np.ndarray:
    picked = np.take_along_axis(np_log_softmax(logits, axis), np.expand_dims(labels, axis), axis)
    return -np.squeeze(picked, axis)


def np_xent(logits: np.ndarray, targets: np.ndarray, axis: int = -1) -> np.ndarray:
    return -np.sum(targets * np_log_softmax(logits, axis), axis=axis)


def np_sigmoid_bce(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    p = 1 / (1 + np.exp(-x))
    return -(z * np.log(p) + (1 - z) * np.log1p(-p))


def probabilities(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Rows of probabilities along the last axis (softmax of normal values)."""
    return np_softmax(rng.standard_normal(shape)).astype(dtype)


def logits_sampler(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    return (2 * rng.standard_normal(shape)).astype(dtype)


SPARSE_SAMPLERS = (logits_sampler, integers(0, 4))  # 4 classes below: labels 0..3

CASES: list[Case] = [
    Case("softmax", sg.nn.softmax, np_softmax, [((3, 5),), ((2, 3, 4),), ((4,),), ((0, 4),), ((3, 1),)], ref64=True),
    Case("softmax_axis0", lambda x: sg.nn.softmax(x, axis=0), lambda x: np_softmax(x, 0), [((3, 5),)], ref64=True),
    Case(
        "softmax_axis1_rank3",
        lambda x: sg.nn.softmax(x, axis=1),
        lambda x: np_softmax(x, 1),
        [((2, 3, 4),)],
        ref64=True,
    ),
    Case(
        "softmax_large",
        sg.nn.softmax,
        np_softmax,
        [((3, 5),)],
        samplers=uniform(-1e4, 1e4),
        grad_args=(),
        ref64=True,
    ),
    Case(
        "softmax_int",
        sg.nn.softmax,
        lambda x: np_softmax(x.astype(np.float64)),
        [((3, 5),)],
        dtypes="int32",
        ref64=True,
    ),
    Case("log_softmax", sg.nn.log_softmax, np_log_softmax, [((3, 5),), ((2, 3, 4),), ((4,),), ((0, 4),)], ref64=True),
    Case(
        "log_softmax_axis0",
        lambda x: sg.nn.log_softmax(x, axis=0),
        lambda x: np_log_softmax(x, 0),
        [((3, 5),), ((2, 3, 4),)],
        ref64=True,
    ),
    Case(
        "log_softmax_large",
        sg.nn.log_softmax,
        np_log_softmax,
        [((3, 5),)],
        samplers=uniform(-1e4, 1e4),
        grad_args=(),
        ref64=True,
        rtol=1e-6,
        atol=1e-3,
    ),
    Case(
        "sparse_softmax_cross_entropy",
        sg.nn.sparse_softmax_cross_entropy,
        np_sparse_xent,
        [((3, 4), (3,)), ((2, 3, 4), (2, 3)), ((4,), ()), ((0, 4), (0,))],
        dtypes=("float32", "int32"),
        samplers=SPARSE_SAMPLERS,
        ref64=True,
    ),
    Case(
        "sparse_softmax_cross_entropy_int64",
        sg.nn.sparse_softmax_cross_entropy,
        np_sparse_xent,
        [((5, 4), (5,))],
        dtypes=("float64", "int64"),
        samplers=SPARSE_SAMPLERS,
    ),
    Case(
        "sparse_softmax_cross_entropy_uint8",
        sg.nn.sparse_softmax_cross_entropy,
        np_sparse_xent,
        [((5, 4), (5,))],
        dtypes=("float32", "uint8"),
        samplers=SPARSE_SAMPLERS,
        ref64=True,
    ),
    Case(
        "sparse_softmax_cross_entropy_axis1",
        lambda logits, labels: sg.nn.sparse_softmax_cross_entropy(logits, labels, axis=1),
        lambda logits, labels: np_sparse_xent(logits, labels, 1),
        [((2, 4, 3), (2, 3)), ((3, 4), (3,))],
        dtypes=("float32", "int32"),
        samplers=SPARSE_SAMPLERS,
        ref64=True,
    ),
    Case(
        "softmax_cross_entropy",
        sg.nn.softmax_cross_entropy,
        np_xent,
        [((3, 5), (3, 5)), ((2, 3, 4), (2, 3, 4)), ((3, 5), (5,)), ((4,), (4,)), ((0, 4), (0, 4))],
        samplers=(logits_sampler, probabilities),
        ref64=True,
    ),
    Case(
        "softmax_cross_entropy_weights",  # targets need not sum to 1
        sg.nn.softmax_cross_entropy,
        np_xent,
        [((3, 5), (3, 5))],
        samplers=(logits_sampler, uniform(0.0, 2.0)),
        ref64=True,
    ),
    Case(
        "softmax_cross_entropy_axis0",
        lambda logits, targets: sg.nn.softmax_cross_entropy(logits, targets, axis=0),
        lambda logits, targets: np_xent(logits, targets, 0),
        [((5, 3), (5, 3))],
        samplers=(logits_sampler, uniform(0.0, 1.0)),
        ref64=True,
    ),
    Case(
        "sigmoid_binary_cross_entropy",
        sg.nn.sigmoid_binary_cross_entropy,
        np_sigmoid_bce,
        [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ()), ((2, 1, 5), (3, 1)), ((0, 4), (1, 4))],
        samplers=(logits_sampler, uniform(0.0, 1.0)),
        ref64=True,
    ),
    Case(
        "sigmoid_binary_cross_entropy_int_labels",
        sg.nn.sigmoid_binary_cross_entropy,
        np_sigmoid_bce,
        [((3, 4), (3, 4))],
        dtypes=("float32", "int32"),
        samplers=(logits_sampler, integers(0, 2)),
        ref64=True,
    ),
]
