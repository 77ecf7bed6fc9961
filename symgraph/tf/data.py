"""``tf.data`` for symgraph: an input pipeline over numpy arrays.

TensorFlow tutorials feed their models through ``tf.data.Dataset``::

    ds = Dataset.from_tensor_slices((x, y)).shuffle(10000, seed=1).batch(32)
    for xb, yb in ds: ...
    model.fit(ds, epochs=2)

This module gives those programs the same elements TensorFlow's documented semantics
describe, without TensorFlow: a ``Dataset`` is an immutable, lazily evaluated recipe;
every ``iter()`` starts a fresh pass (an epoch), and every transformation returns a new
``Dataset``. Elements are nested structures of tuples (namedtuples included) and dicts
whose leaves are numpy arrays; as in ``tf.data`` (and unlike ``tf.nest``) a Python
*list* is a leaf, converted to one array, not a structure. Python numbers become float32
/ int32 arrays, as TensorFlow converts them. Everything runs eagerly, in Python, one
element at a time; ``prefetch``, ``num_parallel_calls`` and ``deterministic`` are
accepted for compatibility and change nothing.

Random numbers (``shuffle``) come from numpy's PCG64 generator seeded from the op seed,
the global seed (``set_global_seed``, which ``tf.random.set_seed`` calls) and the pass
number, so the orders are reproducible run to run but are our own numbers, not
TensorFlow's.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

import symgraph as sg

__all__ = [
    "AUTOTUNE",
    "INFINITE",
    "INFINITE_CARDINALITY",
    "UNKNOWN",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "set_global_seed",
]

#: ``tf.data.AUTOTUNE``: let the runtime pick a degree of parallelism or a buffer size.
#: Accepted by ``prefetch`` and ``map(num_parallel_calls=)``; this pipeline is sequential.
AUTOTUNE = -1
#: ``Dataset.cardinality()`` of a dataset that never ends (``repeat()``).
INFINITE_CARDINALITY = INFINITE = -1
#: ``Dataset.cardinality()`` when the size is only known by iterating (``filter``, ``unbatch``).
UNKNOWN_CARDINALITY = UNKNOWN = -2

# The op-level seed TensorFlow pairs with a global seed when only the op seed is given
# (its DEFAULT_GRAPH_SEED), so ``shuffle(n, seed=s)`` is reproducible without set_seed.
_DEFAULT_GLOBAL_SEED = 87654321
_global_seed: int | None = None
# Numbers the unseeded shuffles made after set_global_seed, so that two such shuffles
# differ from each other but the program's sequence of them repeats run to run.
_op_counter = itertools.count()


def set_global_seed(seed: int | None) -> None:
    """Set (or, with None, clear) the global seed unseeded ``shuffle`` ops derive theirs
    from, and restart the op counter, so a program that sets it and then builds its
    pipeline gets the same orders every run (``tf.random.set_seed``'s contract)."""
    global _global_seed, _op_counter
    _global_seed = None if seed is None else operator.index(seed)
    _op_counter = itertools.count()


def _as_output(leaf: Any) -> Any:
    """The value iteration hands the user for one leaf of an element.

    Every leaf leaving ``__iter__`` (and going into a ``map`` / ``filter`` function)
    passes through here, so that one place decides what users see: an eager tensor, as
    TensorFlow yields (``.numpy()``, printing; ``as_numpy_iterator`` gives the arrays)."""
    if isinstance(leaf, (np.ndarray, np.generic)):
        return sg.EagerTensor(np.asarray(leaf))
    return leaf


# -- nested structures: tuples (namedtuples too) and dicts are structure, the rest leaves


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _flatten(structure: Any) -> list:
    """The leaves in order (dicts by sorted key, so equal structures flatten alike)."""
    if isinstance(structure, tuple):
        return [leaf for item in structure for leaf in _flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    return [structure]


def _pack_like(structure: Any, leaves: Iterable) -> Any:
    """``leaves`` (in ``_flatten`` order) put into the shape of ``structure``."""
    it = iter(leaves)

    def rebuild(s: Any) -> Any:
        if isinstance(s, tuple):
            items = [rebuild(item) for item in s]
            return type(s)(*items) if _is_namedtuple(s) else tuple(items)
        if isinstance(s, dict):
            rebuilt = {key: rebuild(s[key]) for key in sorted(s)}
            return {key: rebuilt[key] for key in s}
        return next(it)

    return rebuild(structure)


def _map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    return _pack_like(structure, [fn(leaf) for leaf in _flatten(structure)])


def _paths(structure: Any, prefix: str = "") -> list[str]:
    """A readable name per leaf (``[0]``, ``['image']``, ``[1]['a']``), in ``_flatten``
    order, for error messages that must say which component was wrong."""
    if isinstance(structure, tuple):
        return [p for i, item in enumerate(structure) for p in _paths(item, f"{prefix}[{i}]")]
    if isinstance(structure, dict):
        return [p for key in sorted(structure) for p in _paths(structure[key], f"{prefix}[{key!r}]")]
    return [prefix or "<element>"]


def _skeleton(structure: Any) -> Any:
    """The structure without its leaves, comparable with ``==``."""
    if isinstance(structure, tuple):
        return (type(structure), tuple(_skeleton(item) for item in structure))
    if isinstance(structure, dict):
        return (dict, tuple((key, _skeleton(structure[key])) for key in sorted(structure)))
    return None


def _describe(structure: Any) -> str:
    """The structure with each leaf written as its dtype and shape."""
    leaves = [f"{np.asarray(leaf).dtype}{list(np.shape(leaf))}" for leaf in _flatten(structure)]
    return repr(_pack_like(structure, leaves))


def _to_array(value: Any) -> np.ndarray | np.generic:
    """One leaf as numpy. Numpy values keep their dtype (as a numpy array keeps its dtype
    in ``tf.constant``); Python floats become float32 and ints int32 (int64 past int32's
    range), TensorFlow's conversions of Python values."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    python_value = not hasattr(value, "__array__")
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(
            f"a dataset element's leaf must be an array, a number or a (nested) list of numbers; got "
            f"{type(value).__name__}: {value!r:.80}"
        )
    if python_value and array.dtype == np.float64:
        array = array.astype(np.float32)
    elif python_value and array.dtype.kind == "i" and array.dtype.itemsize > 4:
        info = np.iinfo(np.int32)
        if array.size == 0 or (array.min() >= info.min and array.max() <= info.max):
            array = array.astype(np.int32)
    return array


def _normalize(structure: Any) -> Any:
    return _map_structure(_to_array, structure)


def _frozen(value: Any) -> np.ndarray:
    """A read-only copy: the dataset owns its data (as TensorFlow copies an array into
    a constant), so later writes to the caller's array, or to a yielded element, cannot
    change what the next pass yields."""
    array = np.array(_to_array(value), copy=True)
    array.flags.writeable = False
    return array


def _unpack_call(fn: Callable[..., Any], element: Any) -> Any:
    """``fn`` on an element as ``tf.data`` calls it: a plain tuple is spread over the
    positional arguments, anything else (a dict, a namedtuple, one array) is one argument."""
    element = _map_structure(_as_output, element)
    if type(element) is tuple:
        return fn(*element)
    return fn(element)


# -- argument checks


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer, got the bool {value}")
    try:
        number = operator.index(value)
    except TypeError:
        # a 0-d integer array or tensor (``tf.constant(32)``) counts as an integer too
        array = np.asarray(value) if hasattr(value, "__array__") else None
        if array is None or array.shape != () or array.dtype.kind not in "iu":
            raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}: {value!r:.80}") from None
        number = int(array)
    if number < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {number}")
    return number


def _check_parallelism(name: str, value: Any) -> None:
    if value is None or value == AUTOTUNE:
        return
    _check_int(name, value, 1)


def _check_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"`{name}` must be callable, got {type(fn).__name__}: {fn!r:.80}")


def _seed_entropy(seed: int | None) -> tuple[int, ...]:
    """The entropy a shuffle derives every pass's generator from, fixed when the op is
    built: (global seed, op seed) as TensorFlow pairs them; a global seed alone pairs
    with the op counter; neither draws from the OS, so unseeded runs differ."""
    mask = (1 << 64) - 1
    if seed is not None:
        global_seed = _DEFAULT_GLOBAL_SEED if _global_seed is None else _global_seed
        return (global_seed & mask, operator.index(seed) & mask)
    if _global_seed is not None:
        return (_global_seed & mask, next(_op_counter))
    return (int(np.random.SeedSequence().entropy),)


class Dataset:
    """A sequence of elements, re-iterable and lazily computed (``tf.data.Dataset``).

    Build one with ``from_tensor_slices``, ``from_tensors``, ``range`` or ``zip``; every
    method returns a new Dataset and leaves this one as it was. ``iter(ds)`` runs the
    pipeline from the start, so a ``for`` loop per epoch sees every element once per
    epoch (a ``shuffle`` in the pipeline reshuffles per pass unless told not to).
    """

    def __init__(self, make_iterator: Callable[[], Iterator[Any]], cardinality: int, name: str = "Dataset"):
        """Internal: use the ``from_*`` constructors. ``make_iterator`` starts one pass and
        yields numpy structures; ``cardinality`` is its length or INFINITE / UNKNOWN."""
        self._make_iterator = make_iterator
        self._cardinality = int(cardinality)
        self._name = name

    # -- sources

    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """One element per index of the first axis: element ``i`` is ``tensors`` with every
        leaf replaced by ``leaf[i]``. Every leaf must have rank >= 1 and the same first
        dimension, since they are cut together."""
        structure = _map_structure(_frozen, tensors)
        leaves = _flatten(structure)
        if not leaves:
            raise ValueError("from_tensor_slices needs at least one array; got an empty structure")
        paths = _paths(structure)
        scalars = [p for p, leaf in zip(paths, leaves) if leaf.ndim == 0]
        if scalars:
            raise ValueError(
                f"from_tensor_slices cuts every array along its first axis, but these are scalars (rank 0): "
                f"{', '.join(scalars)}"
            )
        sizes = [leaf.shape[0] for leaf in leaves]
        if len(set(sizes)) > 1:
            listed = ", ".join(f"{p}: {n}" for p, n in zip(paths, sizes))
            raise ValueError(
                f"from_tensor_slices needs every array to have the same size in its first dimension; got {listed}"
            )
        count = sizes[0]

        def slices() -> Iterator[Any]:
            for i in range(count):
                yield _pack_like(structure, [leaf[i] for leaf in leaves])

        return Dataset(slices, count, "TensorSliceDataset")

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset of one element, ``tensors`` itself (whole arrays, no slicing)."""
        structure = _map_structure(_frozen, tensors)
        return Dataset(lambda: iter([structure]), 1, "TensorDataset")

    @staticmethod
    def range(*args: Any, output_type: Any = np.int64, name: str | None = None) -> Dataset:
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)`` as a
        dataset of scalars (int64 unless ``output_type`` says otherwise), as Python's range."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 positional arguments (stop / start, stop, step), got {args}")
        bounds = [_check_int(label, value, -(1 << 63)) for label, value in zip(("start", "stop", "step"), args)]
        numbers = range(*bounds) if len(bounds) > 1 else range(bounds[0])
        scalar = np.dtype(output_type).type

        def counting() -> Iterator[Any]:
            for i in numbers:
                yield scalar(i)

        return Dataset(counting, len(numbers), "RangeDataset")

    @staticmethod
    def zip(*datasets: Any, name: str | None = None) -> Dataset:
        """Elements of several datasets side by side: ``zip(a, b)`` or ``zip((a, b))``
        yields ``(a_i, b_i)``; a dict (or nested tuple) of datasets yields that structure,
        and ``zip(a)`` yields ``a``'s own elements. Stops with the shortest. (A static
        method, as in TensorFlow: ``a.zip(b)`` is ``zip(b)``, not ``zip(a, b)``.)"""
        structure = datasets[0] if len(datasets) == 1 else datasets
        members = _flatten(structure)
        bad = [f"{p}: {type(d).__name__}" for p, d in zip(_paths(structure), members) if not isinstance(d, Dataset)]
        if bad or not members:
            raise TypeError(
                "Dataset.zip takes Datasets, as arguments or as one tuple / dict of them; "
                + (f"got {', '.join(bad)}" if bad else "got none")
            )
        cards = [d._cardinality for d in members]
        if UNKNOWN in cards:
            cardinality = UNKNOWN
        else:
            finite = [c for c in cards if c >= 0]
            cardinality = min(finite) if finite else INFINITE

        def zipped() -> Iterator[Any]:
            for row in zip(*(d._make_iterator() for d in members)):
                yield _pack_like(structure, row)

        return Dataset(zipped, cardinality, "ZipDataset")

    # -- iteration

    def __iter__(self) -> Iterator[Any]:
        """A fresh pass over the elements (numpy leaves, through ``_as_output``)."""
        for element in self._make_iterator():
            yield _map_structure(_as_output, element)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """A fresh pass yielding the elements with numpy leaves, whatever ``__iter__``
        wraps them in (Keras' ``fit`` reads datasets through this)."""
        return self._make_iterator()

    def cardinality(self) -> Any:
        """The number of elements, or INFINITE (-1) / UNKNOWN (-2), known without iterating."""
        return _as_output(np.int64(self._cardinality))

    def __len__(self) -> int:
        """The cardinality; a TypeError when it is infinite or unknown, as TensorFlow's."""
        if self._cardinality == INFINITE:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    def __bool__(self) -> bool:
        # defined so that ``if ds:`` does not fall back to __len__, which raises for
        # infinite and unknown sizes (TensorFlow's datasets are always truthy too)
        return True

    def __repr__(self) -> str:
        size = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._cardinality, str(self._cardinality))
        return f"<{self._name} cardinality={size}>"

    # -- transformations

    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Consecutive ``batch_size`` elements stacked leaf by leaf (``np.stack``) into one
        element of the same structure with a new first axis. The last batch is smaller
        unless ``drop_remainder``, which drops it so that every batch has the same shape."""
        size = _check_int("batch_size", batch_size, 1)
        _check_parallelism("num_parallel_calls", num_parallel_calls)
        source = self._make_iterator
        n = self._cardinality
        if n < 0:
            cardinality = n
        else:
            cardinality = n // size if drop_remainder else -(-n // size)

        def batches() -> Iterator[Any]:
            pending: list = []
            for element in source():
                pending.append(element)
                if len(pending) == size:
                    yield _stack(pending)
                    pending = []
            if pending and not drop_remainder:
                yield _stack(pending)

        return Dataset(batches, cardinality, "BatchDataset")

    def unbatch(self, name: str | None = None) -> Dataset:
        """The inverse of ``batch``: every element split along its first axis into
        elements (all leaves must share that axis' size)."""
        source = self._make_iterator

        def rows() -> Iterator[Any]:
            for element in source():
                leaves = [np.asarray(leaf) for leaf in _flatten(element)]
                paths = _paths(element)
                if any(leaf.ndim == 0 for leaf in leaves):
                    scalars = ", ".join(p for p, leaf in zip(paths, leaves) if leaf.ndim == 0)
                    raise ValueError(f"unbatch needs every component to have rank >= 1; scalar: {scalars}")
                sizes = {leaf.shape[0] for leaf in leaves}
                if len(sizes) > 1:
                    listed = ", ".join(f"{p}: {leaf.shape[0]}" for p, leaf in zip(paths, leaves))
                    raise ValueError(f"unbatch needs every component to have the same first dimension; got {listed}")
                for i in range(sizes.pop()):
                    yield _pack_like(element, [leaf[i] for leaf in leaves])

        return Dataset(rows, UNKNOWN if self._cardinality != INFINITE else INFINITE, "UnbatchDataset")

    def shuffle(
        self,
        buffer_size: int,
        seed: int | None = None,
        reshuffle_each_iteration: bool = True,
        name: str | None = None,
    ) -> Dataset:
        """The elements in random order through a buffer of ``buffer_size``: the buffer is
        filled from the input, each output is a uniformly drawn element of the buffer, and
        its slot is refilled with the next input element. A buffer as large as the dataset
        gives a uniform permutation; a smaller one only moves elements so far forward
        (element ``i`` cannot come out before position ``i - buffer_size + 1``), which is why
        tutorials pass the dataset's size.

        With ``seed`` (or a global seed from ``set_global_seed``) the sequence of orders is
        the same every run; ``reshuffle_each_iteration`` draws a new order every pass, the
        pass number being part of the seed, else every pass repeats the first order."""
        size = _check_int("buffer_size", buffer_size, 1)
        if seed is not None:
            _check_int("seed", seed, -(1 << 63))
        entropy = _seed_entropy(seed)
        passes = itertools.count()
        source = self._make_iterator

        def shuffled() -> Iterator[Any]:
            pass_number = next(passes) if reshuffle_each_iteration else 0
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(pass_number,))))
            upstream = source()
            buffer = list(itertools.islice(upstream, size))
            for element in upstream:
                slot = int(rng.integers(len(buffer)))
                yield buffer[slot]
                buffer[slot] = element
            while buffer:
                slot = int(rng.integers(len(buffer)))
                buffer[slot], buffer[-1] = buffer[-1], buffer[slot]
                yield buffer.pop()

        return Dataset(shuffled, self._cardinality, "ShuffleDataset")

    def map(
        self,
        map_func: Callable[..., Any],
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """``map_func`` on every element, eagerly, in order. A tuple element is passed as
        positional arguments (``lambda x, y: ...``), a dict or single array as one; what it
        returns (numbers and lists included) becomes the new element."""
        _check_callable("map_func", map_func)
        _check_parallelism("num_parallel_calls", num_parallel_calls)
        source = self._make_iterator

        def mapped() -> Iterator[Any]:
            for element in source():
                result = _unpack_call(map_func, element)
                if result is None:
                    raise TypeError(f"the map function {_fn_name(map_func)} returned None; it must return the element")
                yield _normalize(result)

        return Dataset(mapped, self._cardinality, "MapDataset")

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """The elements for which ``predicate`` (called as ``map`` calls its function)
        returns a scalar boolean True."""
        _check_callable("predicate", predicate)
        source = self._make_iterator

        def kept() -> Iterator[Any]:
            for element in source():
                verdict = _unpack_call(predicate, element)
                array = np.asarray(verdict)
                if array.shape != () or array.dtype != np.bool_:
                    raise TypeError(
                        f"the filter predicate {_fn_name(predicate)} must return a scalar boolean; got "
                        f"{array.dtype} with shape {array.shape}"
                    )
                if bool(array):
                    yield element

        infinite = self._cardinality == INFINITE
        return Dataset(kept, INFINITE if infinite else UNKNOWN, "FilterDataset")

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """The dataset ``count`` times over (None or -1: forever), each repetition a fresh
        pass (so an upstream ``shuffle`` reshuffles per repetition)."""
        times = None if count is None else _check_int("count", count, -1)
        if times == -1:
            times = None
        source = self._make_iterator
        n = self._cardinality
        if times == 0 or n == 0:
            cardinality = 0
        elif times is None:
            cardinality = INFINITE
        else:
            cardinality = n if n < 0 else n * times

        def repeated() -> Iterator[Any]:
            for _ in itertools.count() if times is None else range(times):
                produced = False
                for element in source():
                    produced = True
                    yield element
                if not produced:  # an empty input repeated forever is still empty
                    return

        return Dataset(repeated, cardinality, "RepeatDataset")

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first ``count`` elements (-1: all of them)."""
        k = _check_int("count", count, -1)
        source = self._make_iterator
        n = self._cardinality
        if k == -1:
            cardinality = n
        elif n == INFINITE:
            cardinality = k
        elif n == UNKNOWN:
            cardinality = UNKNOWN
        else:
            cardinality = min(n, k)

        def taken() -> Iterator[Any]:
            return source() if k == -1 else itertools.islice(source(), k)

        return Dataset(taken, cardinality, "TakeDataset")

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (-1: skips everything)."""
        k = _check_int("count", count, -1)
        source = self._make_iterator
        n = self._cardinality
        if n < 0:
            cardinality = n
        else:
            cardinality = 0 if k == -1 else max(0, n - k)

        def rest() -> Iterator[Any]:
            upstream = source()
            if k == -1:
                for _ in upstream:
                    pass
                return
            yield from itertools.islice(upstream, k, None)

        return Dataset(rest, cardinality, "SkipDataset")

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """``(index, element)`` pairs, the index an int64 counting from ``start``."""
        first = _check_int("start", start, -(1 << 63))
        source = self._make_iterator

        def counted() -> Iterator[Any]:
            for i, element in enumerate(source(), first):
                yield (np.int64(i), element)

        return Dataset(counted, self._cardinality, "EnumerateDataset")

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements, then ``dataset``'s; both must have elements of the same
        structure and dtypes."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate takes a Dataset, got {type(dataset).__name__}")
        first, second = self._make_iterator, dataset._make_iterator
        a, b = self._cardinality, dataset._cardinality
        if INFINITE in (a, b):
            cardinality = INFINITE
        elif UNKNOWN in (a, b):
            cardinality = UNKNOWN
        else:
            cardinality = a + b

        def chained() -> Iterator[Any]:
            reference = None
            for element in first():
                if reference is None:
                    reference = element
                yield element
            checked = reference is None
            for element in second():
                if not checked:
                    _check_compatible(reference, element)
                    checked = True
                yield element

        return Dataset(chained, cardinality, "ConcatenateDataset")

    def prefetch(self, buffer_size: int, name: str | None = None) -> Dataset:
        """Accepted for compatibility and does nothing: TensorFlow overlaps producing the
        next elements with the training step; this pipeline produces each element when it
        is asked for. ``buffer_size`` is checked (AUTOTUNE or >= 0) and otherwise unused."""
        if buffer_size != AUTOTUNE:
            _check_int("buffer_size", buffer_size, 0)
        return Dataset(self._make_iterator, self._cardinality, "PrefetchDataset")

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """The elements of the first complete pass, kept in memory and replayed by every
        later pass, so upstream work (and upstream randomness: a ``shuffle`` before
        ``cache`` keeps its first order) happens once. A pass stopped early caches nothing.
        ``filename`` is accepted but the cache always lives in memory."""
        source = self._make_iterator
        stored: list[list] = []

        def cached() -> Iterator[Any]:
            if stored:
                yield from stored[0]
                return
            recording = []
            for element in source():
                recording.append(element)
                yield element
            if not stored:
                stored.append(recording)

        return Dataset(cached, self._cardinality, "CacheDataset")


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _check_compatible(reference: Any, element: Any) -> None:
    """Raise when ``element`` cannot follow ``reference`` in one dataset (concatenate):
    another structure, or other dtypes."""
    same = _skeleton(reference) == _skeleton(element) and all(
        np.asarray(a).dtype == np.asarray(b).dtype for a, b in zip(_flatten(reference), _flatten(element))
    )
    if not same:
        raise TypeError(
            f"concatenate needs datasets with compatible elements; the first yields {_describe(reference)}, "
            f"the second {_describe(element)}"
        )


def _stack(elements: list) -> Any:
    """Elements of one structure stacked leaf by leaf along a new first axis."""
    reference = elements[0]
    skeleton = _skeleton(reference)
    columns = [[leaf] for leaf in _flatten(reference)]
    for index, element in enumerate(elements[1:], 1):
        if _skeleton(element) != skeleton:
            raise ValueError(
                f"batch: element {index} of the batch has the structure {_describe(element)}, "
                f"element 0 has {_describe(reference)}"
            )
        for column, leaf in zip(columns, _flatten(element)):
            column.append(leaf)
    stacked = []
    for path, column in zip(_paths(reference), columns):
        shapes = {np.shape(leaf) for leaf in column}
        if len(shapes) > 1:
            first = np.shape(column[0])
            index, other = next((i, np.shape(leaf)) for i, leaf in enumerate(column) if np.shape(leaf) != first)
            raise ValueError(
                f"Cannot batch tensors with different shapes in component {path}: element 0 has shape "
                f"{list(first)} and element {index} has shape {list(other)}"
            )
        stacked.append(np.stack(column))
    return _pack_like(reference, stacked)
