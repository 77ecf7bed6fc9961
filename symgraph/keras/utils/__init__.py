"""``keras.utils``: to_categorical, set_random_seed, PyDataset / Sequence, Progbar."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.keras import initializers
from symgraph.keras.utils.progbar import Progbar


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot float32 rows for integer class labels (a trailing axis of 1 is dropped)."""
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(np.max(x)) + 1
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in [0, {num_classes}), got {x.min()}..{x.max()}")
    categorical = np.zeros((x.shape[0], num_classes), dtype="float32")
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape((*input_shape, num_classes))


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype="float32")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def set_random_seed(seed: int) -> None:
    """Seeds Python's, numpy's and symgraph's generators, and the weight initializers."""
    random.seed(seed)
    np.random.seed(seed)
    initializers.set_seed(seed)
    rng = getattr(sg, "random", None)
    if rng is not None and hasattr(rng, "seed"):
        rng.seed(seed)


class PyDataset:
    """Batches by index: subclasses define ``__len__`` and ``__getitem__(i)`` returning
    ``(x, y)`` or ``(x, y, sample_weight)``; ``on_epoch_end`` runs after each epoch."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self.workers = workers

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        pass


Sequence = PyDataset

__all__ = ["Progbar", "PyDataset", "Sequence", "normalize", "set_random_seed", "to_categorical"]
