"""Row scatters (symgraph/ops/indexing.py ``_c_scatter_rows``): scatter_add of whole
rows along axis 0, the embedding gradient, split over threads by parts of the output's
rows. Each element receives its additions in index order, as np.add.at: the C result
is bit-identical to numpy's, repeated and negative ids included."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import IndexOutOfRangeError


def _ids(rng, shape, vocab):
    ids = rng.integers(-vocab, vocab, shape)
    ids.reshape(-1)[: ids.size // 3] = vocab // 2  # one row updated many times
    return ids


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "vocab, ids_shape, row",
    [
        (10000, (64, 80), (64,)),  # W6's embedding gradient
        (3, (7001,), (5,)),  # fewer rows than parts
        (1001, (37, 29), (3, 11)),  # a row of several axes
        (9, (1,), (4,)),  # below the threshold: one part
    ],
)
def test_embedding_gradient_is_numpys_add_at(vocab, ids_shape, row, dtype):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((vocab, *row)).astype(dtype)
    ids = _ids(rng, ids_shape, vocab).astype(np.int32)
    weights = rng.standard_normal((*ids_shape, *row)).astype(dtype)
    ts, ids_s = sg.placeholder(table.shape, dtype), sg.placeholder(ids.shape, np.int32)
    looked_up = sg.nn.embedding(ids_s, ts)
    grad = sg.grad(sg.sum(looked_up * weights), ts)
    got = sg.function([ts, ids_s], grad)(table, ids)
    want = np.zeros_like(table)
    np.add.at(want, ids, weights)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == dtype


def test_scatter_add_of_rows_keeps_the_base_and_accumulates_in_order():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((500, 70)).astype(np.float32)
    ids = _ids(rng, (3000,), 500).astype(np.int64)
    updates = (rng.standard_normal((3000, 70)) * 1e4).astype(np.float32)  # rounding shows the order
    xs, is_, us = sg.placeholder(base.shape), sg.placeholder(ids.shape, np.int64), sg.placeholder(updates.shape)
    got = sg.function([xs, is_, us], sg.scatter_add(xs, is_, us))(base, ids, updates)
    want = base.copy()
    np.add.at(want, ids, updates)
    np.testing.assert_array_equal(got, want)


def test_an_out_of_range_id_raises_before_anything_is_written():
    table = np.zeros((100, 400), np.float32)
    ids = np.zeros(200, np.int32)
    ids[150] = 100
    ts, ids_s = sg.placeholder(table.shape), sg.placeholder(ids.shape, np.int32)
    grad = sg.grad(sg.sum(sg.nn.embedding(ids_s, ts)), ts)
    f = sg.function([ts, ids_s], grad)
    with pytest.raises(IndexOutOfRangeError, match="index 100 is out of bounds"):
        f(table, ids)
    ids[150] = -100
    np.testing.assert_array_equal(f(table, ids)[0], np.full(400, 200.0, np.float32))


def test_the_gradient_of_take_scatters_into_zeros_without_a_zero_table():
    """The table's values never matter: no zero-filled table is built and copied."""
    ts, ids_s = sg.placeholder((50, 8)), sg.placeholder((30,), np.int32)
    grad = sg.grad(sg.sum(sg.take(ts, ids_s, axis=0) * 2.0), ts)
    f = sg.function([ts, ids_s], grad)
    assert "into_zeros=True" in f.c_source and "broadcast_to" not in f.c_source
    ids = np.arange(30, dtype=np.int32) % 7
    table = np.full((50, 8), np.nan, np.float32)  # NaN in the table does not leak into its gradient
    want = np.zeros((50, 8), np.float32)
    np.add.at(want, ids, np.full((30, 8), 2.0, np.float32))
    np.testing.assert_array_equal(f(table, ids), want)
    np.testing.assert_array_equal(sg.function([ts, ids_s], grad, mode="py")(table, ids), want)


@pytest.mark.parametrize(
    "table_shape, ids_shape",
    [((10000, 64), (64, 80)), ((50007,), (40000,)), ((7, 3, 2000), (5, 3)), ((5, 4), (0,))],
)
def test_row_gathers_are_numpys_take(table_shape, ids_shape):
    rng = np.random.default_rng(2)
    table = rng.standard_normal(table_shape).astype(np.float32)
    ids = rng.integers(-table_shape[0], table_shape[0], ids_shape).astype(np.int32)
    ts, ids_s = sg.placeholder(table.shape), sg.placeholder(ids.shape, np.int32)
    got = sg.function([ts, ids_s], sg.take(ts, ids_s, axis=0))(table, ids)
    np.testing.assert_array_equal(got, np.take(table, ids, axis=0))
