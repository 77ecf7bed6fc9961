"""The data ``fit`` / ``evaluate`` / ``predict`` take, turned into batches (Keras 3's
``trainers/data_adapters``): numpy arrays (``ArrayDataAdapter``), a PyDataset / Sequence
(``PyDatasetAdapter``) or a generator (``GeneratorDataAdapter``), each yielding
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


def get_data_adapter(x: Any, y: Any, sw: Any, batch_size: int | None, shuffle: Any, steps: int | None) -> DataAdapter:
    """The adapter for ``x``: a PyDataset / Sequence, a generator or iterator, or arrays."""
    if hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(x, (np.ndarray, list, tuple, dict)):
        if y is not None:
            raise ValueError("`y` argument is not supported when using a PyDataset / Sequence input.")
        return PyDatasetAdapter(x, bool(shuffle), steps)
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
