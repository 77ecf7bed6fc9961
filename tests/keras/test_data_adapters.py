"""The data adapters fit / evaluate / predict read their batches from, called directly."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph.keras import data_adapters as da
from symgraph.keras.utils import PyDataset


def _epoch(adapter, epoch=0):
    return list(adapter.batches(epoch))


def test_arrays_in_order_with_the_last_partial_batch():
    x = np.arange(14, dtype="float32").reshape(7, 2)
    y = np.arange(7)
    adapter = da.get_data_adapter(x, y, None, 3, False, None)
    assert isinstance(adapter, da.ArrayDataAdapter) and adapter.steps == 3
    batches = _epoch(adapter)
    assert [len(bx) for bx, _, _ in batches] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([by for _, by, _ in batches]), y)
    assert all(sw is None for _, _, sw in batches)


def test_shuffle_permutes_samples_and_batch_shuffle_permutes_whole_batches():
    x = np.arange(12, dtype="float32").reshape(12, 1)
    np.random.seed(0)
    shuffled = np.concatenate([bx for bx, _, _ in _epoch(da.get_data_adapter(x, x, None, 4, True, None))])
    assert sorted(shuffled[:, 0]) == list(range(12)) and list(shuffled[:, 0]) != list(range(12))
    np.random.seed(1)
    by_batch = [bx[:, 0].tolist() for bx, _, _ in _epoch(da.get_data_adapter(x, x, None, 4, "batch", None))]
    assert sorted(by_batch) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_steps_per_epoch_carries_the_pass_over_to_the_next_epoch():
    x = np.arange(5, dtype="float32").reshape(5, 1)
    adapter = da.get_data_adapter(x, x, None, 1, False, 2)
    seen = [[float(bx[0, 0]) for bx, _, _ in _epoch(adapter, epoch)] for epoch in range(2)]
    assert seen == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.warns(UserWarning, match="ran out of data"):
        assert [float(bx[0, 0]) for bx, _, _ in _epoch(adapter, 2)] == [4.0]
    assert [float(bx[0, 0]) for bx, _, _ in _epoch(adapter, 3)] == [0.0, 1.0]  # a fresh pass


def test_pydataset_and_generator_batches_are_unpacked():
    class Batches(PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.full((2, 1), index, "float32"), np.full((2,), index), np.ones(2, "float32")

    adapter = da.get_data_adapter(Batches(), None, None, None, False, None)
    assert isinstance(adapter, da.PyDatasetAdapter) and adapter.steps == 2
    assert [float(by[0]) for _, by, _ in _epoch(adapter)] == [0.0, 1.0]
    generator = da.get_data_adapter(((np.zeros((1, 1)),) for _ in range(3)), None, None, None, False, None)
    assert isinstance(generator, da.GeneratorDataAdapter)
    assert [(by, sw) for _, by, sw in _epoch(generator)] == [(None, None)] * 3
    with pytest.raises(ValueError, match="`y` argument is not supported"):
        da.get_data_adapter(Batches(), np.zeros(2), None, None, False, None)


def test_train_validation_split_cuts_the_tail():
    x = np.arange(10, dtype="float32").reshape(10, 1)
    sw = np.linspace(0, 1, 10).astype("float32")
    (tx, ty, tsw), (vx, vy, vsw) = da.train_validation_split(x, [x, x], sw, 0.3)
    np.testing.assert_array_equal(tx[:, 0], np.arange(7))
    np.testing.assert_array_equal(vy[1][:, 0], [7, 8, 9])
    np.testing.assert_array_equal(vsw, sw[7:])
    assert len(ty) == 2 and len(tsw) == 7 and len(vx) == 3
    with pytest.raises(ValueError, match="not sufficient to split"):
        da.train_validation_split(x[:1], x[:1], None, 0.5)
    with pytest.raises(ValueError, match="only supported for Tensors or NumPy arrays"):
        da.train_validation_split(iter([x]), None, None, 0.5)


def test_class_weights_and_the_cardinality_check():
    one_hot = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    np.testing.assert_array_equal(da.class_weight_to_sample_weights(one_hot, {2: 5.0}), [1, 5, 1, 5])
    np.testing.assert_array_equal(da.class_weight_to_sample_weights(np.array([[1], [0]]), {1: 3.0}), [3, 1])
    assert da.check_data_cardinality(np.zeros((4, 2)), [np.zeros(4)], None) == 4
    with pytest.raises(ValueError, match="'x' sizes: 4\n'y' sizes: 3"):
        da.check_data_cardinality(np.zeros((4, 2)), np.zeros(3), None)
