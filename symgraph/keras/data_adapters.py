"""The data ``fit`` / ``evaluate`` / ``predict`` take, turned into batches (Keras 3's
``trainers/data_adapters``): numpy arrays (``ArrayDataAdapter``), a PyDataset / Sequence
(``PyDatasetAdapter``), a dataset or other re-iterable object such as
``symgraph.tf.data.Dataset`` (``DatasetAdapter``) or a generator
(``GeneratorDataAdapter``), each yielding
``(x, y, sample_weight)`` batches with numpy leaves for one epoch at a time; plus the
array helpers the trainer shares with them (``validation_split``'s cut, class weights,
the cardinality check).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from symgraph.keras.tree import flatten


def is_array_like(x: Any) -> bool:
    return isinstance(x, np.ndarray) or (hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype"))


def to_numpy(x: Any) -> Any:
    """``x`` with numpy leaves: a dict keeps its keys, a list or tuple of arrays becomes a
    list of arrays, anything else one array (nested Python lists included)."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(is_array_like(v) for v in x):
        return [np.asarray(v) for v in x]
    return np.asarray(x)


def data_cardinality_error(x: Any, y: Any, sw: Any) -> ValueError:
    def sizes(label: str, data: Any) -> str:
        leaves = [a for a in flatten(data) if a is not None]
        return f"'{label}' sizes: " + ", ".join(str(len(a)) for a in leaves)

    parts = [sizes("x", x)]
    if y is not None:
        parts.append(sizes("y", y))
    if sw is not None:
        parts.append(sizes("sample_weight", sw))
    return ValueError(
        "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples.\n" + "\n".join(parts)
    )


def check_data_cardinality(x: Any, y: Any, sw: Any) -> int:
    """The number of samples every array holds (Keras' message when they disagree)."""
    leaves = [a for a in flatten([x, y, sw]) if a is not None]
    counts = {len(a) for a in leaves}
    if len(counts) > 1:
        raise data_cardinality_error(x, y, sw)
    return counts.pop() if counts else 0


def slice_arrays(data: Any, index: Any) -> Any:
    """``data[index]`` on every leaf of a dict / list structure (None stays None)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: slice_arrays(v, index) for k, v in data.items()}
    if isinstance(data, list):
        return [slice_arrays(v, index) for v in data]
    return data[index]


def class_weight_to_sample_weights(y: Any, class_weight: dict) -> np.ndarray:
    """One weight per sample, its class's: the argmax of one-hot rows, else the label."""
    y = np.asarray(flatten(y)[0])
    if y.ndim == 2 and y.shape[1] > 1:
        classes = np.argmax(y, axis=1)
    elif y.ndim == 2:
        classes = np.rint(y[:, 0]).astype(np.int64)
    else:
        classes = np.rint(y).astype(np.int64)
    weights = np.ones(len(classes), np.float32)
    for c, w in class_weight.items():
        weights[classes == int(c)] = w
    return weights


class DataAdapter:
    """Batches of one epoch: ``(x, y, sample_weight)`` with numpy leaves."""

    steps: int | None = None

    def batches(self, epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        pass


class _StepsCarryOver:
    """Keras' EpochIterator with ``steps_per_epoch`` on finite data: one pass over the
    batches is shared by consecutive epochs (epoch 2 starts where epoch 1 stopped); an
    epoch that reaches the end of the pass stops there, with a warning, and the next
    epoch starts a fresh pass."""

    given_steps: int | None = None
    num_batches: int = 0

    def _fresh_pass(self) -> Iterator[tuple[Any, Any, Any]]:
        raise NotImplementedError

    def batches(self, epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        if self.given_steps is None:
            yield from self._fresh_pass()
            return
        if getattr(self, "_current", None) is None:
            self._current: Iterator | None = self._fresh_pass()
            self._seen = 0
        for _ in range(self.given_steps):
            if self._seen >= self.num_batches:
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                    "can generate at least `steps_per_epoch * epochs` batches.",
                    stacklevel=4,
                )
                break
            self._seen += 1
            yield next(self._current)
        if self._seen >= self.num_batches:
            self._current = None


class ArrayDataAdapter(_StepsCarryOver, DataAdapter):
    """Numpy arrays (or structures of them) cut into ``batch_size`` batches; ``shuffle``
    permutes the samples every pass, ``shuffle="batch"`` only the order of the batches."""

    def __init__(self, x: Any, y: Any, sw: Any, batch_size: int, shuffle: bool | str, steps: int | None = None):
        self.x, self.y, self.sw = x, y, sw
        self.n = check_data_cardinality(x, y, sw)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_batches = max(1, math.ceil(self.n / batch_size))
        self.given_steps = steps
        self.steps = self.num_batches if steps is None else steps

    def _fresh_pass(self) -> Iterator[tuple[Any, Any, Any]]:
        order = np.random.permutation(self.n) if self.shuffle and self.shuffle != "batch" else None
        if self.shuffle == "batch":
            starts = np.random.permutation(math.ceil(self.n / self.batch_size)) * self.batch_size
        else:
            starts = np.arange(0, self.n, self.batch_size)
        for start in starts:
            index = (
                order[start : start + self.batch_size] if order is not None else slice(start, start + self.batch_size)
            )
            yield slice_arrays(self.x, index), slice_arrays(self.y, index), slice_arrays(self.sw, index)


def unpack_x_y_sample_weight(batch: Any) -> tuple[Any, Any, Any]:
    """A batch as ``(x, y, sample_weight)``: tuples of 1 to 3 are spread, anything else is x."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
    return batch, None, None


class PyDatasetAdapter(_StepsCarryOver, DataAdapter):
    """A PyDataset / keras.utils.Sequence: ``len`` batches, ``ds[i]`` the i-th."""

    def __init__(self, dataset: Any, shuffle: bool, steps: int | None):
        self.dataset = dataset
        self.shuffle = shuffle
        self.num_batches = len(dataset)
        self.given_steps = steps
        self.steps = len(dataset) if steps is None else steps

    def _fresh_pass(self) -> Iterator[tuple[Any, Any, Any]]:
        order = np.random.permutation(len(self.dataset)) if self.shuffle else np.arange(len(self.dataset))
        for i in order:
            x, y, sw = unpack_x_y_sample_weight(self.dataset[int(i)])
            yield to_numpy(x), to_numpy(y), to_numpy(sw)

    def on_epoch_end(self) -> None:
        hook = getattr(self.dataset, "on_epoch_end", None)
        if hook is not None:
            hook()


class GeneratorDataAdapter(DataAdapter):
    """A Python generator / iterator of batches; ``steps`` per epoch (or until exhausted)."""

    def __init__(self, iterator: Any, steps: int | None):
        self.iterator = iter(iterator)
        self.steps = steps

    def batches(self, epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self.iterator)
            except StopIteration:
                if self.steps is not None:
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                        f"can generate at least `steps_per_epoch * epochs` batches ({self.steps} steps per epoch).",
                        stacklevel=4,
                    )
                self.exhausted = True
                return
            count += 1
            x, y, sw = unpack_x_y_sample_weight(batch)
            yield to_numpy(x), to_numpy(y), to_numpy(sw)


# tf.data's cardinality codes (symgraph.tf.data.INFINITE / UNKNOWN), read by duck typing
# so that this module does not import the tf package (any object with a ``cardinality()``
# answering them, TensorFlow's own datasets included, is understood).
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


def is_reiterable(x: Any) -> bool:
    """Whether ``x`` is a dataset-like object that starts a fresh pass at every ``iter()``
    (``symgraph.tf.data.Dataset``, a tf.data dataset, a DataLoader-like iterable), as
    opposed to an iterator / generator, which can be read only once, and to arrays."""
    return (
        hasattr(x, "__iter__")
        and not hasattr(x, "__next__")
        and not isinstance(x, (np.ndarray, list, tuple, dict, str, bytes))
        and not is_array_like(x)
    )


def dataset_cardinality(dataset: Any) -> int | None:
    """The number of batches a pass over ``dataset`` yields, INFINITE_CARDINALITY, or None
    when it is only known by iterating (no ``cardinality()``, or it answers UNKNOWN)."""
    method = getattr(dataset, "cardinality", None)
    if not callable(method):
        return None
    count = int(np.asarray(method()))
    return None if count == UNKNOWN_CARDINALITY else count


# what ``next`` answers when a pass is over (a dataset's element is never this object)
_END = object()


def _unpacked(element: Any) -> tuple[Any, Any, Any]:
    """One dataset element as the trainer's ``(x, y, sample_weight)`` with numpy leaves."""
    x, y, sw = unpack_x_y_sample_weight(element)
    return to_numpy(x), to_numpy(y), to_numpy(sw)


class DatasetAdapter(DataAdapter):
    """A dataset of batches (``symgraph.tf.data.Dataset`` or any re-iterable object):
    each element is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, already
    batched; without ``steps`` every epoch is one fresh pass. With ``steps`` an epoch
    takes that many batches and the next epoch goes on from there (Keras 3's
    EpochIterator); a pass that runs out ends its epoch early with a warning and the next
    epoch starts a fresh one. An infinite dataset needs ``steps``."""

    def __init__(self, dataset: Any, steps: int | None):
        self.dataset = dataset
        cardinality = dataset_cardinality(dataset)
        if cardinality == INFINITE_CARDINALITY and steps is None:
            raise ValueError(
                "When providing an infinite dataset, you must specify the number of steps to run "
                "(`steps_per_epoch` in fit, `steps` in evaluate / predict; if you did not intend to create an "
                "infinite dataset, make sure to not call `repeat()` on the dataset)."
            )
        # batches in one pass: None while unknown (learnt when a pass ends), and never
        # reached for an infinite dataset
        self.num_batches: int | None = None if cardinality is None or cardinality < 0 else cardinality
        self.given_steps = steps
        self.steps = steps if steps is not None else self.num_batches
        self._current: Iterator | None = None
        self._seen = 0

    def _fresh_pass(self) -> Iterator[Any]:
        # numpy leaves straight from the pipeline when it offers them (tf.data's own
        # as_numpy_iterator included), whatever its ``__iter__`` wraps them in
        numpy_pass = getattr(self.dataset, "as_numpy_iterator", None)
        return iter(numpy_pass() if callable(numpy_pass) else self.dataset)

    def batches(self, epoch: int) -> Iterator[tuple[Any, Any, Any]]:
        if self.given_steps is None:
            for element in self._fresh_pass():
                yield _unpacked(element)
            return
        count = 0
        while count < self.given_steps:
            if self._current is None:
                self._current, self._seen = self._fresh_pass(), 0
            counted_out = self.num_batches is not None and self._seen >= self.num_batches
            element = _END if counted_out else next(self._current, _END)
            if element is _END:
                if not counted_out:  # a dataset of unknown size: now its size is known
                    self.num_batches = self._seen
                self._current = None
                if count == 0 and self._seen > 0:
                    continue  # the last epoch ended exactly at the end of the pass: a new one
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                    "can generate at least `steps_per_epoch * epochs` batches.",
                    stacklevel=4,
                )
                return
            self._seen += 1
            count += 1
            yield _unpacked(element)
        if self.num_batches is not None and self._seen >= self.num_batches:
            self._current = None


def get_data_adapter(x: Any, y: Any, sw: Any, batch_size: int | None, shuffle: Any, steps: int | None) -> DataAdapter:
    """The adapter for ``x``: a PyDataset / Sequence, a dataset (re-iterable: a fresh pass
    per epoch), a generator or iterator (read once, across the epochs), or arrays."""
    if hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(x, (np.ndarray, list, tuple, dict)):
        if y is not None:
            raise ValueError("`y` argument is not supported when using a PyDataset / Sequence input.")
        return PyDatasetAdapter(x, bool(shuffle), steps)
    if is_reiterable(x):
        # Keras: the targets and weights come inside the dataset; ``batch_size`` (which
        # the validation pass always fills in) and ``shuffle`` are ignored, the dataset
        # being batched and shuffled already
        if y is not None:
            raise ValueError("`y` argument is not supported when using dataset as input.")
        if sw is not None:
            raise ValueError("`sample_weight` argument is not supported when using dataset as input.")
        return DatasetAdapter(x, steps)
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict))):
        if y is not None:
            raise ValueError("`y` argument is not supported when using a generator as input.")
        return GeneratorDataAdapter(x, steps)
    x, y, sw = to_numpy(x), to_numpy(y), to_numpy(sw)
    return ArrayDataAdapter(x, y, sw, batch_size or 32, shuffle, steps)


def train_validation_split(x: Any, y: Any, sample_weight: Any, validation_split: float) -> tuple[tuple, tuple]:
    """``(x, y, sample_weight)`` cut into a training part and the last
    ``validation_split`` of the samples for validation, before any shuffling (Keras' rule)."""
    if not (isinstance(x, (np.ndarray, list, tuple, dict)) or is_array_like(x)):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays")
    x, y, sample_weight = to_numpy(x), to_numpy(y), to_numpy(sample_weight)
    n = check_data_cardinality(x, y, sample_weight)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a validation and "
            f"training set as specified by `validation_split={validation_split}`."
        )
    train, validation = slice(0, split_at), slice(split_at, n)
    return (
        (slice_arrays(x, train), slice_arrays(y, train), slice_arrays(sample_weight, train)),
        (slice_arrays(x, validation), slice_arrays(y, validation), slice_arrays(sample_weight, validation)),
    )
