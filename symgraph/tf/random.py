"""``tf.random``: seeded draws on symgraph's generator (Philox; our own numbers,
reproducible run to run after ``set_seed``, not TensorFlow's bits)."""

from __future__ import annotations

from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.tf import data
from symgraph.tf._wrap import eager_op, missing


def set_seed(seed: int) -> None:
    """Seed every draw without its own seed: sg.random's generator and tf.data's shuffles."""
    sg.random.seed(int(seed))
    data.set_global_seed(int(seed))


def _key(seed: Any) -> Any:
    return None if seed is None else sg.random.key(int(seed))


@eager_op
def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = "float32", seed: Any = None, name=None):
    return sg.random.normal(tuple(shape), mean, stddev, dtype=dtype, key=_key(seed))


@eager_op
def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = "float32", seed: Any = None, name=None):
    if np.dtype(dtype).kind != "f":
        raise UnsupportedError("tf.random.uniform: integer dtypes are not provided (draw floats and floor them)")
    return sg.random.uniform(tuple(shape), minval, 1.0 if maxval is None else maxval, dtype=dtype, key=_key(seed))


@eager_op
def truncated_normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = "float32", seed: Any = None, name=None
):
    return sg.random.truncated_normal(tuple(shape), mean, stddev, dtype=dtype, key=_key(seed))


def shuffle(value: Any, seed: Any = None, name: str | None = None) -> sg.Tensor:
    """``value`` permuted along its first axis (the order from symgraph's generator)."""
    if sg.trace.tracing():
        raise UnsupportedError("tf.random.shuffle inside tf.function: shuffle the data before the call (tf.data)")
    t = sg.eager_tensor(value)
    if not t.ndim:
        return t
    with sg.eager():
        order = np.argsort(sg.random.uniform((t.shape[0],), key=_key(seed)).numpy(), kind="stable")
    return sg.eager_tensor(t.value[order])


def __getattr__(name: str) -> Any:
    raise missing("tf.random", name)
