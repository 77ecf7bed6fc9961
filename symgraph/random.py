"""``sg.random``: random numbers as explicit state, and dropout.

Two ways to draw, as in JAX and in Keras:

- With an explicit ``key`` (``sg.random.key(seed)``, a row of ``sg.random.split``, or
  any int tensor of shape (2,), e.g. a Variable the caller updates itself): the values
  are a pure function of the key, the shape and the dtype. The same key gives the same
  numbers in every mode ("c", "py") and process, and two draws with one key are the
  same numbers (split the key for independent draws, as in JAX).
- With ``key=None``: the global generator. The draw reads two Variables, the global key
  (set by ``sg.random.seed``) and a call counter, and ``sg.function`` advances the
  counter on every call of a function that reads it, so each call draws new numbers.
  Each such draw also gets a stream number of its own when it is built (1, 2, ...), so
  two draws in one graph are two different nodes with independent numbers (equal nodes
  would otherwise merge into one). ``seed(n)`` resets the key, the counter and the
  stream numbering, so a graph built again after ``seed(n)``, or an already built
  function called again after ``seed(n)``, repeats its numbers. Until ``seed`` is called
  the seed is 0 (fixed, as Theano's and PyTorch's defaults, not drawn from the OS).

Shapes may hold symbolic sizes (``uniform(x.shape)``); the distribution's parameters
(``minval``, ``maxval``, ``mean``, ``stddev``, ``p``) may be tensors, and gradients flow
to them (``minval + (maxval - minval) * u``), never to the key.

Generator: Philox-4x32-10 (symgraph/ops/random.py, csrc/symgraph_random.h).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, InputError
from symgraph.graph.core import Tensor, apply
from symgraph.graph.sources import as_tensor, constant
from symgraph.ops import arithmetic as ar
from symgraph.ops import random as rnd
from symgraph.ops.shape_ops import as_shape

__all__ = ["seed", "key", "split", "uniform", "normal", "truncated_normal", "bernoulli", "dropout"]


_streams = itertools.count(1)


def seed(n: int) -> None:
    """Seed the global generator (used by every draw with ``key=None``): its key becomes
    ``key(n)``, its call counter 0, and the stream numbering of draws built from now on
    starts again at 1."""
    global _streams
    rnd.GLOBAL_KEY.set_value(rnd.seed_key(n))
    rnd.GLOBAL_COUNTER.set_value(np.array(0, dtypes.DEFAULT_INT))
    _streams = itertools.count(1)


def key(seed: int) -> Tensor:
    """A constant key from an integer seed (modulo 2^64): the int64 tensor
    ``[seed >> 32, seed & 0xffffffff]``, as JAX's ``PRNGKey``."""
    if isinstance(seed, Tensor):
        raise InputError("sg.random.key takes a Python int; a key tensor is already a key")
    return constant(rnd.seed_key(seed))


def split(key: Any, num: int = 2) -> Tensor:
    """``num`` new independent keys from ``key``, as an int64 (num, 2) tensor (index it,
    or unpack it: ``k1, k2 = sg.random.split(k)``)."""
    return apply(rnd.RandomSplit(num), _as_key(key)).outputs[0]


def _as_key(key: Any) -> Tensor:
    k = as_tensor(key) if isinstance(key, Tensor) else constant(np.asarray(key, dtypes.DEFAULT_INT))
    if not dtypes.is_integer(k.dtype):
        raise DTypeError(f"a random key is an integer tensor of shape (2,) (see sg.random.key), got {k.type}")
    return k


def _state(key: Any) -> tuple[Tensor, Tensor, int]:
    """(key, counter, stream) for a draw: an explicit key with counter 0 and stream 0, or
    the global generator with a new stream."""
    if key is None:
        return rnd.GLOBAL_KEY, rnd.GLOBAL_COUNTER, next(_streams)
    return _as_key(key), constant(np.array(0, dtypes.DEFAULT_INT)), 0


def _float_dtype(dtype: object) -> np.dtype:
    resolved = dtypes.as_dtype(dtype)
    if not dtypes.is_float(resolved):
        raise DTypeError(f"random values are drawn as float32 or float64, got {resolved.name}")
    return resolved


def _draw(op_class: type, shape: Any, dtype: object, key: Any) -> Tensor:
    shape, dtype = as_shape(shape), _float_dtype(dtype)  # checked before a stream is taken
    k, counter, stream = _state(key)
    return apply(op_class(shape, dtype, stream), k, counter).outputs[0]


def _is_value(x: Any, value: float) -> bool:
    return not isinstance(x, Tensor) and np.ndim(x) == 0 and float(x) == value


def uniform(shape: Any, minval: Any = 0.0, maxval: Any = 1.0, dtype: object = "float32", key: Any = None) -> Tensor:
    """Values uniform in [minval, maxval): ``minval + (maxval - minval) * u`` for u
    uniform in [0, 1) on the grid of 2^-24 (float32) or 2^-53 (float64). The result has
    ``shape`` broadcast with the parameters' shapes."""
    u = _draw(rnd.RandomUniform, shape, dtype, key)
    if _is_value(minval, 0.0) and _is_value(maxval, 1.0):
        return u
    return ar.add(minval, ar.mul(ar.sub(maxval, minval), u))


def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: object = "float32", key: Any = None) -> Tensor:
    """Normal values: ``mean + stddev * z`` for z standard normal (Box-Muller)."""
    z = _draw(rnd.RandomNormal, shape, dtype, key)
    if _is_value(mean, 0.0) and _is_value(stddev, 1.0):
        return z
    return ar.add(mean, ar.mul(stddev, z))


def truncated_normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: object = "float32", key: Any = None
) -> Tensor:
    """Normal values with those beyond two standard deviations drawn again (TensorFlow's
    and Keras' rule): ``mean + stddev * z`` for z standard normal restricted to
    [-2, 2] (whose standard deviation is 0.8796, not 1)."""
    z = _draw(rnd.RandomTruncatedNormal, shape, dtype, key)
    if _is_value(mean, 0.0) and _is_value(stddev, 1.0):
        return z
    return ar.add(mean, ar.mul(stddev, z))


def bernoulli(p: Any = 0.5, shape: Any = None, key: Any = None) -> Tensor:
    """Booleans, True with probability ``p``: ``u < p`` for u uniform in [0, 1)
    (float32, so p is resolved to 2^-24). ``shape`` None takes ``p``'s shape."""
    if shape is None:
        shape = as_tensor(p).shape if isinstance(p, Tensor) else np.shape(p)
    return ar.less(uniform(shape, key=key), p)


def dropout(x: Any, rate: Any, training: Any = True, key: Any = None, noise_shape: Any = None) -> Tensor:
    """Inverted dropout: each value is zeroed with probability ``rate`` and the kept
    ones are scaled by 1 / (1 - rate), so the expectation is unchanged; ``x`` itself
    when ``training`` is False (a tensor ``training`` chooses at call time).

    ``noise_shape`` (default ``x.shape``) is the shape of the keep mask, broadcast
    against ``x``; None entries take ``x``'s size, as in Keras. A value is kept when
    u >= rate for u uniform in [0, 1) (TensorFlow's rule). The gradient flows through
    the kept values (times the same scale) and is zero at the dropped ones."""
    x = as_tensor(x)
    if training is False or _is_value(training, 0.0):
        return x
    if not isinstance(rate, Tensor):
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise InputError(f"dropout: rate must be in [0, 1), got {rate}")
        if rate == 0.0:
            return x
    if noise_shape is None:
        noise_shape = x.shape
    else:
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != x.ndim:
            raise InputError(f"dropout: noise_shape {noise_shape} must have the rank of x, {x.ndim}")
        noise_shape = tuple(x.shape[a] if d is None else d for a, d in enumerate(noise_shape))
    keep = ar.greater_equal(uniform(noise_shape, key=key), rate)
    # x / keep_probability where kept, as Keras writes it (not x * (1 / keep_probability),
    # which rounds differently)
    dropped = ar.where(keep, ar.true_divide(x, ar.sub(1.0, rate) if isinstance(rate, Tensor) else 1.0 - rate), 0.0)
    if isinstance(training, Tensor):
        return ar.where(training, dropped, x)
    return dropped


__all__ = ["seed", "key", "split", "uniform", "normal", "truncated_normal", "bernoulli", "dropout"]
