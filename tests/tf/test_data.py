"""symgraph.tf.data.Dataset against numpy expectations worked out by hand from
TensorFlow's documented semantics, and Keras' fit / evaluate / predict reading a Dataset."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from symgraph import keras
from symgraph.keras import data_adapters as da
from symgraph.tf import data as tfdata
from symgraph.tf.data import AUTOTUNE, INFINITE, UNKNOWN, Dataset

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _no_global_seed():
    tfdata.set_global_seed(None)
    yield
    tfdata.set_global_seed(None)


def _values(ds):
    """The scalar elements of a pass as Python numbers."""
    return [np.asarray(v).item() for v in ds]


# -- sources


def test_from_tensor_slices_tuple_keeps_structure_and_dtypes():
    x = RNG.standard_normal((5, 3)).astype("float32")
    y = np.arange(5, dtype="int64")
    elements = list(Dataset.from_tensor_slices((x, y)))
    assert len(elements) == 5
    for i, (xi, yi) in enumerate(elements):
        np.testing.assert_array_equal(xi, x[i])
        assert xi.shape == (3,) and xi.dtype == np.float32
        assert yi == y[i] and np.asarray(yi).dtype == np.int64


def test_from_tensor_slices_dict_and_nested():
    a = np.arange(8, dtype="float32").reshape(4, 2)
    b = np.arange(4, dtype="int32")
    y = np.arange(4, dtype="float64") * 10
    elements = list(Dataset.from_tensor_slices(({"b": b, "a": a}, y)))
    assert len(elements) == 4
    for i, element in enumerate(elements):
        features, label = element
        assert isinstance(element, tuple) and list(features) == ["b", "a"]  # the caller's key order
        np.testing.assert_array_equal(features["a"], a[i])
        assert features["b"] == b[i] and label == y[i]
    Point = collections.namedtuple("Point", "u v")
    points = list(Dataset.from_tensor_slices(Point(u=a, v=b)))
    assert isinstance(points[2], Point) and points[2].v == 2
    np.testing.assert_array_equal(points[2].u, a[2])


def test_python_lists_become_float32_and_int32_arrays_and_a_list_is_one_tensor():
    floats = list(Dataset.from_tensor_slices([1.5, 2.5]))
    assert [np.asarray(v).dtype for v in floats] == [np.float32] * 2 and _values(floats) == [1.5, 2.5]
    ints = list(Dataset.from_tensor_slices([[1, 2], [3, 4], [5, 6]]))
    assert [v.numpy().tolist() for v in ints] == [[1, 2], [3, 4], [5, 6]] and ints[0].dtype == np.int32
    assert np.asarray(next(iter(Dataset.from_tensor_slices([2**40])))).dtype == np.int64  # past int32
    # tf.data treats a Python list as one tensor, not as a structure: two arrays stack
    stacked = list(Dataset.from_tensor_slices([np.zeros(3), np.ones(3)]))
    assert len(stacked) == 2 and stacked[1].numpy().tolist() == [1.0, 1.0, 1.0]


def test_from_tensor_slices_errors_name_the_components():
    with pytest.raises(ValueError, match=r"same size in its first dimension; got \[0\]: 5, \[1\]\['y'\]: 4"):
        Dataset.from_tensor_slices((np.zeros(5), {"y": np.zeros(4)}))
    with pytest.raises(ValueError, match=r"scalars \(rank 0\): \[1\]"):
        Dataset.from_tensor_slices((np.zeros(3), 1.0))
    with pytest.raises(ValueError, match="empty structure"):
        Dataset.from_tensor_slices(())
    with pytest.raises(TypeError, match="must be an array"):
        Dataset.from_tensor_slices([object(), object()])


def test_the_dataset_owns_a_copy_of_its_arrays():
    x = np.arange(4, dtype="float32")
    ds = Dataset.from_tensor_slices(x)
    x[:] = -1
    assert _values(ds) == [0.0, 1.0, 2.0, 3.0]
    row = next(iter(Dataset.from_tensor_slices(np.zeros((2, 2)))))
    with pytest.raises(TypeError):  # an eager tensor is immutable
        row[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(row)[0] = 5.0


def test_from_tensors_and_range():
    x = np.arange(6).reshape(2, 3)
    (only,) = list(Dataset.from_tensors((x, 1.0)))
    np.testing.assert_array_equal(only[0], x)
    assert np.asarray(only[1]).dtype == np.float32
    assert Dataset.from_tensors(x).cardinality() == 1
    assert _values(Dataset.range(4)) == [0, 1, 2, 3]
    assert _values(Dataset.range(2, 5)) == [2, 3, 4]
    assert _values(Dataset.range(10, 0, -3)) == [10, 7, 4, 1]
    assert all(np.asarray(v).dtype == np.int64 for v in Dataset.range(3))
    assert np.asarray(next(iter(Dataset.range(3, output_type=np.int32)))).dtype == np.int32
    assert len(Dataset.range(10, 0, -3)) == 4 and len(Dataset.range(0)) == 0
    with pytest.raises(TypeError, match="1 to 3 positional"):
        Dataset.range()


def test_iteration_is_lazy_fresh_each_pass_and_transformations_leave_the_source_alone():
    calls = []

    def record(v):
        calls.append(int(v))
        return v

    ds = Dataset.range(5).map(record)
    assert calls == []  # nothing runs before iteration
    batched = ds.batch(2)
    assert _values(ds) == [0, 1, 2, 3, 4] and _values(ds) == [0, 1, 2, 3, 4]
    assert calls == [0, 1, 2, 3, 4] * 2
    assert [b.numpy().tolist() for b in batched] == [[0, 1], [2, 3], [4]]
    assert len(ds) == 5 and len(batched) == 3
    taken = list(itertools.islice(iter(Dataset.range(5).repeat()), 3))  # an infinite one, read lazily
    assert _values(taken) == [0, 1, 2]


# -- batch


def test_batch_stacks_leaf_by_leaf_with_a_short_last_batch():
    x = np.arange(14, dtype="float32").reshape(7, 2)
    y = np.arange(7, dtype="int32")
    batches = list(Dataset.from_tensor_slices({"x": x, "y": y}).batch(3))
    assert [b["x"].shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    assert [b["y"].shape for b in batches] == [(3,), (3,), (1,)]
    for i, b in enumerate(batches):
        np.testing.assert_array_equal(b["x"], x[3 * i : 3 * i + 3])
        np.testing.assert_array_equal(b["y"], y[3 * i : 3 * i + 3])
        assert b["x"].dtype == np.float32 and b["y"].dtype == np.int32
    dropped = list(Dataset.from_tensor_slices((x, y)).batch(3, drop_remainder=True))
    assert [type(b) for b in dropped] == [tuple, tuple] and [b[0].shape for b in dropped] == [(3, 2), (3, 2)]
    assert Dataset.from_tensor_slices(x).batch(3).cardinality() == 3
    assert Dataset.from_tensor_slices(x).batch(3, drop_remainder=True).cardinality() == 2
    assert Dataset.from_tensor_slices(x).batch(7, drop_remainder=True).cardinality() == 1
    nested = list(Dataset.range(4).batch(2).batch(2))
    assert nested[0].numpy().tolist() == [[0, 1], [2, 3]]


def test_batch_rejects_bad_sizes_and_ragged_elements():
    ds = Dataset.range(3)
    for bad in (0, -2):
        with pytest.raises(ValueError, match="`batch_size` must be >= 1"):
            ds.batch(bad)
    with pytest.raises(TypeError, match="`batch_size` must be an integer"):
        ds.batch(2.5)
    with pytest.raises(TypeError, match="bool"):
        ds.batch(True)
    ragged = Dataset.range(1, 3).map(lambda n: np.zeros(int(n))).batch(2)
    with pytest.raises(ValueError, match=r"different shapes in component <element>: element 0 has shape \[1\]"):
        list(ragged)


def test_unbatch_inverts_batch():
    x = np.arange(10, dtype="float32").reshape(5, 2)
    y = np.arange(5)
    ds = Dataset.from_tensor_slices((x, y)).batch(2).unbatch()
    rows = list(ds)
    assert len(rows) == 5
    for i, (xi, yi) in enumerate(rows):
        np.testing.assert_array_equal(xi, x[i])
        assert yi == y[i]
    assert ds.cardinality() == UNKNOWN
    with pytest.raises(ValueError, match="same first dimension"):
        list(Dataset.from_tensors((np.zeros(2), np.zeros(3))).unbatch())


# -- shuffle


def _order(ds):
    return _values(ds)


def test_shuffle_is_a_permutation_and_seeded_orders_repeat_across_objects():
    n = 50
    ds = Dataset.range(n).shuffle(n, seed=3)
    first, second = _order(ds), _order(ds)
    assert sorted(first) == list(range(n)) and sorted(second) == list(range(n))
    assert first != list(range(n))
    assert first != second  # reshuffle_each_iteration: each epoch a new order
    again = Dataset.range(n).shuffle(n, seed=3)
    assert [_order(again), _order(again)] == [first, second]  # the same sequence of orders
    assert _order(Dataset.range(n).shuffle(n, seed=4)) != first


def test_shuffle_without_reshuffle_repeats_its_order_every_pass():
    ds = Dataset.range(30).shuffle(30, seed=1, reshuffle_each_iteration=False)
    orders = [_order(ds) for _ in range(3)]
    assert orders[0] == orders[1] == orders[2] and sorted(orders[0]) == list(range(30))
    unseeded = Dataset.range(30).shuffle(30, reshuffle_each_iteration=False)
    assert _order(unseeded) == _order(unseeded)


def test_shuffle_then_repeat_reshuffles_each_repetition():
    passes = _order(Dataset.range(20).shuffle(20, seed=9).repeat(2))
    first, second = passes[:20], passes[20:]
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    frozen = _order(Dataset.range(20).shuffle(20, seed=9, reshuffle_each_iteration=False).repeat(2))
    assert frozen[:20] == frozen[20:]


def test_shuffle_seeds_from_the_global_seed_and_the_op_counter():
    tfdata.set_global_seed(5)
    a, b = Dataset.range(40).shuffle(40), Dataset.range(40).shuffle(40)
    order_a, order_b = _order(a), _order(b)
    assert order_a != order_b  # two ops, two counter values
    tfdata.set_global_seed(5)  # resets the counter: the program's orders repeat
    assert _order(Dataset.range(40).shuffle(40)) == order_a
    assert _order(Dataset.range(40).shuffle(40)) == order_b
    tfdata.set_global_seed(6)
    assert _order(Dataset.range(40).shuffle(40)) != order_a
    # an op seed pairs with the global one, when there is one
    tfdata.set_global_seed(None)
    unpaired = _order(Dataset.range(40).shuffle(40, seed=1))
    tfdata.set_global_seed(5)
    assert _order(Dataset.range(40).shuffle(40, seed=1)) != unpaired
    tfdata.set_global_seed(None)
    assert _order(Dataset.range(40).shuffle(40, seed=1)) == unpaired
    # neither seed: OS entropy, so two datasets almost surely differ
    assert _order(Dataset.range(40).shuffle(40)) != _order(Dataset.range(40).shuffle(40))


def test_buffer_of_one_keeps_the_order():
    assert _order(Dataset.range(25).shuffle(1, seed=0)) == list(range(25))


def test_a_small_buffer_only_moves_elements_a_bounded_distance_forward():
    # Before output position p the buffer has taken in elements 0 .. p + B - 1 (B to fill
    # it, one more per output), so the element at position p is at most p + B - 1: element
    # i cannot come out before position i - B + 1. Nothing bounds how late it comes out.
    n, buffer = 40, 4
    reached_bound = late = False
    for seed in range(200):
        order = _order(Dataset.range(n).shuffle(buffer, seed=seed))
        assert sorted(order) == list(range(n))
        assert all(value <= position + buffer - 1 for position, value in enumerate(order))
        reached_bound |= any(value == position + buffer - 1 for position, value in enumerate(order))
        late |= any(position - value > 2 * buffer for position, value in enumerate(order))
    assert reached_bound and late


def test_buffered_shuffle_distribution_by_hand():
    # range(3) through a buffer of 2: the first output is 0 or 1 (1/2 each), then the
    # buffer holds the other one and 2, each next with probability 1/2. Four orders, each
    # 1/4; an order starting with 2 is impossible.
    counts = collections.Counter(tuple(_order(Dataset.range(3).shuffle(2, seed=s))) for s in range(4000))
    assert set(counts) == {(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0)}
    for order, count in counts.items():
        assert abs(count / 4000 - 0.25) < 0.03, (order, count)
    # a buffer as large as the data: every permutation of 4 elements, near-uniformly
    full = collections.Counter(tuple(_order(Dataset.range(4).shuffle(4, seed=s))) for s in range(4800))
    assert len(full) == 24 and all(abs(c / 4800 - 1 / 24) < 0.02 for c in full.values())


def test_shuffle_rejects_bad_buffers():
    with pytest.raises(ValueError, match="`buffer_size` must be >= 1"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(TypeError, match="`seed` must be an integer"):
        Dataset.range(3).shuffle(3, seed="one")


# -- map, filter


def test_map_unpacks_tuples_and_passes_dicts_whole():
    x = np.arange(6, dtype="float32").reshape(3, 2)
    y = np.arange(3, dtype="int32")
    mapped = list(Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b + 1)))
    for i, (a, b) in enumerate(mapped):
        np.testing.assert_array_equal(a, x[i] * 2)
        assert b == y[i] + 1
    from_dict = list(Dataset.from_tensor_slices({"x": x, "y": y}).map(lambda d: d["x"].sum() + d["y"]))
    np.testing.assert_allclose(_values(from_dict), x.sum(axis=1) + y)
    one = Dataset.from_tensor_slices(x).map(lambda row: {"first": row[0], "n": 1})
    element = next(iter(one))
    assert list(element) == ["first", "n"] and np.asarray(element["n"]).dtype == np.int32
    Pair = collections.namedtuple("Pair", "a b")
    whole = Dataset.from_tensor_slices(Pair(x, y)).map(lambda p: p.b)  # a namedtuple is one argument
    assert _values(whole) == [0, 1, 2]
    floats = next(iter(Dataset.range(2).map(lambda n: 0.5)))
    assert np.asarray(floats).dtype == np.float32
    assert Dataset.range(3).map(lambda n: n, num_parallel_calls=AUTOTUNE).cardinality() == 3


def test_map_errors():
    with pytest.raises(TypeError, match="`map_func` must be callable"):
        Dataset.range(3).map(5)
    with pytest.raises(ValueError, match="`num_parallel_calls` must be >= 1"):
        Dataset.range(3).map(lambda n: n, num_parallel_calls=0)

    def forgets_return(n):
        n + 1

    with pytest.raises(TypeError, match="forgets_return returned None"):
        list(Dataset.range(3).map(forgets_return))


def test_filter_keeps_what_the_predicate_accepts():
    x = np.arange(10, dtype="int64")
    ds = Dataset.from_tensor_slices((x, x * 10)).filter(lambda a, b: a % 3 == 0)
    assert [(int(a), int(b)) for a, b in ds] == [(0, 0), (3, 30), (6, 60), (9, 90)]
    assert ds.cardinality() == UNKNOWN
    with pytest.raises(TypeError, match="length is unknown"):
        len(ds)
    with pytest.raises(TypeError, match="must be callable"):
        Dataset.range(3).filter(None)
    with pytest.raises(TypeError, match="scalar boolean; got int64"):
        list(Dataset.range(3).filter(lambda n: n))
    assert Dataset.range(3).repeat().filter(lambda n: n > 0).cardinality() == INFINITE


# -- repeat, take, skip, enumerate, zip, concatenate


def test_repeat_take_and_skip():
    assert _values(Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert _values(Dataset.range(3).repeat(0)) == []
    forever = Dataset.range(3).repeat()
    assert forever.cardinality() == INFINITE and Dataset.range(3).repeat(-1).cardinality() == INFINITE
    assert _values(forever.take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert _values(Dataset.range(0).repeat()) == []  # nothing repeated forever is nothing
    assert _values(Dataset.range(5).take(2)) == [0, 1]
    assert _values(Dataset.range(5).take(-1)) == [0, 1, 2, 3, 4]
    assert _values(Dataset.range(5).take(9)) == [0, 1, 2, 3, 4]
    assert _values(Dataset.range(5).skip(2)) == [2, 3, 4]
    assert _values(Dataset.range(5).skip(-1)) == []
    assert _values(Dataset.range(5).skip(8)) == []
    assert _values(forever.skip(4).take(3)) == [1, 2, 0]
    cards = [
        Dataset.range(3).repeat(2),
        Dataset.range(5).take(2),
        Dataset.range(5).take(9),
        forever.take(4),
        Dataset.range(5).skip(2),
        Dataset.range(5).skip(-1),
        forever.skip(2),
        Dataset.range(0).repeat(),
        Dataset.range(4).filter(lambda n: n > 1).take(3),
    ]
    assert [int(d.cardinality()) for d in cards] == [6, 2, 5, 4, 3, 0, INFINITE, 0, UNKNOWN]
    with pytest.raises(ValueError, match="`count` must be >= -1"):
        Dataset.range(3).take(-2)


def test_enumerate():
    elements = list(Dataset.from_tensor_slices(np.array([5.0, 6.0])).enumerate(start=10))
    assert [(int(i), float(v)) for i, v in elements] == [(10, 5.0), (11, 6.0)]
    assert np.asarray(elements[0][0]).dtype == np.int64


def test_zip_structures_and_shortest_length():
    a, b = Dataset.range(4), Dataset.range(10, 13)
    pairs = [(int(u), int(v)) for u, v in Dataset.zip(a, b)]
    assert pairs == [(0, 10), (1, 11), (2, 12)]
    assert [(int(u), int(v)) for u, v in Dataset.zip((a, b))] == pairs
    as_dict = list(Dataset.zip({"a": a, "b": b.map(lambda n: n * 2)}))
    assert list(as_dict[1]) == ["a", "b"] and (int(as_dict[1]["a"]), int(as_dict[1]["b"])) == (1, 22)
    nested = next(iter(Dataset.zip((a, (b, a)))))
    assert isinstance(nested[1], tuple) and int(nested[1][0]) == 10
    assert _values(Dataset.zip(b)) == [10, 11, 12]  # one dataset: its own elements
    assert Dataset.zip(a, b).cardinality() == 3
    assert Dataset.zip(a.repeat(), b).cardinality() == 3
    assert Dataset.zip(a.repeat(), b.repeat()).cardinality() == INFINITE
    assert Dataset.zip(a.filter(lambda n: n > 0), b).cardinality() == UNKNOWN
    with pytest.raises(TypeError, match=r"got \[1\]: ndarray"):
        Dataset.zip((a, np.zeros(3)))


def test_concatenate():
    ds = Dataset.range(3).concatenate(Dataset.range(10, 12))
    assert _values(ds) == [0, 1, 2, 10, 11] and len(ds) == 5
    assert Dataset.range(3).concatenate(Dataset.range(2).repeat()).cardinality() == INFINITE
    assert Dataset.range(3).filter(lambda n: n > 0).concatenate(Dataset.range(2)).cardinality() == UNKNOWN
    clash = Dataset.range(2).concatenate(Dataset.from_tensor_slices((np.zeros(2), np.zeros(2))))
    with pytest.raises(TypeError, match="compatible elements"):
        list(clash)
    with pytest.raises(TypeError, match="concatenate takes a Dataset"):
        Dataset.range(2).concatenate([1, 2])


# -- cardinality, len, prefetch, cache, outputs


def test_cardinality_and_len():
    assert INFINITE == -1 and UNKNOWN == -2 and AUTOTUNE == -1
    ds = Dataset.from_tensor_slices(np.zeros((10, 2))).shuffle(10).batch(4)
    assert ds.cardinality() == 3 and len(ds) == 3
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(ds.repeat())
    assert bool(ds.repeat()) and bool(Dataset.range(0))  # truthy without asking __len__


def test_prefetch_is_accepted_and_changes_nothing():
    ds = Dataset.range(5).prefetch(AUTOTUNE).prefetch(2)
    assert _values(ds) == [0, 1, 2, 3, 4] and len(ds) == 5
    with pytest.raises(ValueError, match="`buffer_size` must be >= 0"):
        Dataset.range(5).prefetch(-3)


def test_cache_replays_the_first_complete_pass():
    calls = []
    ds = Dataset.range(4).map(lambda n: calls.append(1) or n).cache()
    assert _values(ds) == [0, 1, 2, 3] and _values(ds) == [0, 1, 2, 3] and len(calls) == 4
    frozen = Dataset.range(20).shuffle(20, seed=2).cache()
    assert _order(frozen) == _order(frozen)  # the shuffle upstream ran once
    partial = Dataset.range(4).map(lambda n: calls.append(1) or n).cache()
    calls.clear()
    assert _values(partial.take(2)) == [0, 1]
    assert _values(partial) == [0, 1, 2, 3] and len(calls) == 6  # a stopped pass cached nothing


def test_every_yielded_leaf_goes_through_as_output(monkeypatch):
    class Wrapped:
        def __init__(self, value):
            self.value = value

    monkeypatch.setattr(tfdata, "_as_output", Wrapped)
    ds = Dataset.from_tensor_slices((np.arange(3.0), {"k": np.arange(3)}))
    first = next(iter(ds))
    assert isinstance(first[0], Wrapped) and isinstance(first[1]["k"], Wrapped)
    seen = []
    list(ds.map(lambda a, b: seen.append((a, b)) or (np.asarray(a.value), b["k"].value)))
    assert isinstance(seen[0][0], Wrapped) and isinstance(seen[0][1]["k"], Wrapped)
    raw = next(ds.as_numpy_iterator())
    assert isinstance(raw[0], np.floating) and isinstance(raw[1]["k"], np.integer)


# -- Keras


L = keras.layers


def _model(lr=0.1, features=3, units=2):
    model = keras.Sequential([keras.Input((features,)), L.Dense(units)])
    model.compile(keras.optimizers.SGD(learning_rate=lr), "mse", metrics=["mae"])
    return model


def _data(n=10, features=3, units=2):
    x = RNG.standard_normal((n, features)).astype("float32")
    y = RNG.standard_normal((n, units)).astype("float32")
    return x, y


def _assert_weights_close(a, b):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_fit_on_a_dataset_matches_fit_on_arrays():
    x, y = _data(10)
    xv, yv = _data(6)
    model = _model()
    initial = model.get_weights()
    arrays = model.fit(x, y, batch_size=4, shuffle=False, epochs=2, validation_data=(xv, yv), verbose=0)
    want = model.get_weights()
    model.set_weights(initial)
    ds = Dataset.from_tensor_slices((x, y)).batch(4)
    ds_val = Dataset.from_tensor_slices((xv, yv)).batch(4)
    history = model.fit(ds, epochs=2, validation_data=ds_val, verbose=0)
    _assert_weights_close(model.get_weights(), want)
    assert sorted(history.history) == sorted(arrays.history) == ["loss", "mae", "val_loss", "val_mae"]
    for key in arrays.history:
        np.testing.assert_allclose(history.history[key], arrays.history[key], rtol=1e-5)
    assert history.params["steps"] == 3
    # a second fit iterates the same dataset afresh
    model.set_weights(initial)
    model.fit(ds, epochs=2, verbose=0)
    _assert_weights_close(model.get_weights(), want)


def test_fit_with_sample_weights_inside_the_dataset():
    x, y = _data(8)
    w = RNG.uniform(0.1, 2.0, 8).astype("float32")
    model = _model()
    initial = model.get_weights()
    model.fit(x, y, sample_weight=w, batch_size=3, shuffle=False, epochs=1, verbose=0)
    want = model.get_weights()
    model.set_weights(initial)
    model.fit(Dataset.from_tensor_slices((x, y, w)).batch(3), epochs=1, verbose=0)
    _assert_weights_close(model.get_weights(), want)


def test_steps_per_epoch_with_repeat_continues_the_stream_across_epochs():
    x, y = _data(8)
    model = _model()
    initial = model.get_weights()
    model.fit(x, y, batch_size=4, shuffle=False, epochs=3, verbose=0)  # 6 batches: b0 b1 b0 b1 b0 b1
    want = model.get_weights()
    model.set_weights(initial)
    history = model.fit(Dataset.from_tensor_slices((x, y)).batch(4).repeat(), steps_per_epoch=3, epochs=2, verbose=0)
    _assert_weights_close(model.get_weights(), want)
    assert history.params["steps"] == 3 and len(history.history["loss"]) == 2


def test_dataset_errors_in_fit():
    x, y = _data(8)
    model = _model()
    forever = Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    with pytest.raises(ValueError, match="infinite dataset, you must specify the number of steps"):
        model.fit(forever, epochs=1, verbose=0)
    ds = Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.raises(ValueError, match="`y` argument is not supported when using dataset as input"):
        model.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` argument is not supported when using dataset"):
        model.fit(ds, sample_weight=np.ones(8), verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported for Tensors or NumPy arrays"):
        model.fit(ds, validation_split=0.5, verbose=0)


def test_evaluate_and_predict_on_a_dataset():
    x, y = _data(9)
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(4)
    np.testing.assert_allclose(model.evaluate(ds, verbose=0), model.evaluate(x, y, batch_size=4, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(ds, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(
        model.predict(Dataset.from_tensor_slices(x).batch(2), verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )
    two_batches = model.evaluate(ds.repeat(), steps=2, verbose=0)
    np.testing.assert_allclose(two_batches, model.evaluate(x[:8], y[:8], batch_size=4, verbose=0), rtol=1e-6)


def test_dataset_adapter_steps_on_finite_and_unknown_sizes():
    x = np.arange(5, dtype="float32").reshape(5, 1)
    adapter = da.get_data_adapter(Dataset.from_tensor_slices((x, x)).batch(1), None, None, 32, True, 2)
    assert isinstance(adapter, da.DatasetAdapter) and adapter.steps == 2

    def epoch(a, e):
        return [float(bx[0, 0]) for bx, _, _ in a.batches(e)]

    assert [epoch(adapter, 0), epoch(adapter, 1)] == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.warns(UserWarning, match="ran out of data"):
        assert epoch(adapter, 2) == [4.0]
    assert epoch(adapter, 3) == [0.0, 1.0]  # a fresh pass
    # unknown size (filter): learnt when a pass ends
    odd = Dataset.from_tensor_slices((x, x)).filter(lambda a, b: a[0] % 2 == 1).batch(1)
    adapter = da.get_data_adapter(odd, None, None, None, False, 3)
    assert adapter.steps == 3 and adapter.num_batches is None
    with pytest.warns(UserWarning, match="ran out of data"):
        assert epoch(adapter, 0) == [1.0, 3.0]
    assert adapter.num_batches == 2
    with pytest.warns(UserWarning, match="ran out of data"):
        assert epoch(adapter, 1) == [1.0, 3.0]
    # without steps: a fresh pass per epoch, its size unknown until then
    adapter = da.get_data_adapter(odd, None, None, None, False, None)
    assert adapter.steps is None and epoch(adapter, 0) == epoch(adapter, 1) == [1.0, 3.0]


def test_any_reiterable_object_is_read_afresh_each_epoch():
    x, y = _data(6)

    class Loader:  # DataLoader-like: re-iterable, no cardinality()
        def __iter__(self):
            for start in range(0, 6, 3):
                yield x[start : start + 3], y[start : start + 3]

    adapter = da.get_data_adapter(Loader(), None, None, None, True, None)
    assert isinstance(adapter, da.DatasetAdapter) and adapter.steps is None
    assert len(list(adapter.batches(0))) == len(list(adapter.batches(1))) == 2
    model = _model()
    initial = model.get_weights()
    model.fit(x, y, batch_size=3, shuffle=False, epochs=2, verbose=0)
    want = model.get_weights()
    model.set_weights(initial)
    model.fit(Loader(), epochs=2, verbose=0)
    _assert_weights_close(model.get_weights(), want)
    # a generator is still read once, across the epochs
    generator = da.get_data_adapter(iter(Loader()), None, None, None, False, None)
    assert isinstance(generator, da.GeneratorDataAdapter)
