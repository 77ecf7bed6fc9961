"""Test rows for random ops (sg.random, sg.nn.dropout) and sg.nn.embedding.

A random op's reference is its numpy twin (symgraph/ops/random.py) on the same key, and
the C backend must match it bit for bit: the rows set rtol = atol = 0. The key is an
argument (a placeholder), so nothing is folded at compile time and C really runs. The
distributions themselves are tested in tests/test_random.py (known-answer vectors,
moments).
"""

from __future__ import annotations

import numpy as np

import symgraph as sg
from symgraph.ops import random as rnd
from tests.opcheck import Case, integers, normal, uniform


def key_sampler(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Random keys: words anywhere in [0, 2^32)."""
    return rng.integers(0, 2**32, size=shape).astype(dtype)


def np_draw(sample, key: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """The numpy twin's values for ``key`` (counter 0, stream 0)."""
    return sample(int(np.prod(shape)), np.dtype(dtype), rnd.key_words(key), 0).reshape(shape)


def np_keep_mask(key: np.ndarray, shape: tuple, rate: float) -> np.ndarray:
    return np_draw(rnd.sample_uniform, key, shape, np.float32) >= rate


def np_dropout(key: np.ndarray, x: np.ndarray, rate: float) -> np.ndarray:
    return np.where(np_keep_mask(key, x.shape, rate), x / x.dtype.type(1 - rate), 0).astype(x.dtype)


KEYED = ("int64", "float32")
KEYED64 = ("int64", "float64")
SAMPLERS = (key_sampler, normal)
SHAPES = [((2,), (3, 5)), ((2,), (7,)), ((2,), ()), ((2,), (0, 3)), ((2,), (2, 3, 5))]
EXACT = {"rtol": 0.0, "atol": 0.0}

CASES: list[Case] = [
    Case(
        "random_uniform",
        lambda k, x: sg.random.uniform(x.shape, key=k),
        lambda k, x: np_draw(rnd.sample_uniform, k, x.shape, np.float32),
        SHAPES,
        dtypes=KEYED,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_uniform_float64",
        lambda k, x: sg.random.uniform(x.shape, dtype="float64", key=k),
        lambda k, x: np_draw(rnd.sample_uniform, k, x.shape, np.float64),
        SHAPES,
        dtypes=KEYED64,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_uniform_range",  # gradients reach minval and maxval
        lambda k, lo, hi: sg.random.uniform(lo.shape, lo, hi, dtype=lo.dtype, key=k),
        lambda k, lo, hi: lo + (hi - lo) * np_draw(rnd.sample_uniform, k, lo.shape, lo.dtype),
        [((2,), (3, 4), (3, 4)), ((2,), (5,), (5,))],
        dtypes=("int64", "float32", "float32"),
        samplers=(key_sampler, uniform(-2, 0), uniform(1, 3)),
        grad_args=(1, 2),
    ),
    Case(
        "random_normal",
        lambda k, x: sg.random.normal(x.shape, key=k),
        lambda k, x: np_draw(rnd.sample_normal, k, x.shape, np.float32),
        SHAPES,
        dtypes=KEYED,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_normal_float64",
        lambda k, x: sg.random.normal(x.shape, dtype="float64", key=k),
        lambda k, x: np_draw(rnd.sample_normal, k, x.shape, np.float64),
        SHAPES,
        dtypes=KEYED64,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_normal_mean_stddev",
        lambda k, m, s: sg.random.normal(m.shape, m, s, dtype=m.dtype, key=k),
        lambda k, m, s: m + s * np_draw(rnd.sample_normal, k, m.shape, m.dtype),
        [((2,), (3, 4), (3, 4)), ((2,), (5,), (5,))],
        dtypes=("int64", "float32", "float32"),
        samplers=(key_sampler, normal, uniform(0.5, 2)),
        grad_args=(1, 2),
    ),
    Case(
        "random_truncated_normal",
        lambda k, x: sg.random.truncated_normal(x.shape, key=k),
        lambda k, x: np_draw(rnd.sample_truncated_normal, k, x.shape, np.float32),
        SHAPES,
        dtypes=KEYED,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_truncated_normal_float64",
        lambda k, x: sg.random.truncated_normal(x.shape, dtype="float64", key=k),
        lambda k, x: np_draw(rnd.sample_truncated_normal, k, x.shape, np.float64),
        [((2,), (3, 5)), ((2,), (0,))],
        dtypes=KEYED64,
        samplers=SAMPLERS,
        grad_args=(),
        **EXACT,
    ),
    Case(
        "random_split",
        lambda k: sg.random.split(k, 3),
        lambda k: rnd.split_keys(rnd.key_words(k), 3),
        [((2,),)],
        dtypes="int64",
        samplers=key_sampler,
    ),
    Case(
        "random_bernoulli",
        lambda k, p: sg.random.bernoulli(p, key=k),
        lambda k, p: np_draw(rnd.sample_uniform, k, p.shape, np.float32) < p,
        [((2,), (4, 5)), ((2,), (0,))],
        dtypes=KEYED,
        samplers=(key_sampler, uniform(0, 1)),
        grad_args=(),
    ),
    Case(
        "dropout",  # the gradient (through the mask, scaled) by finite differences
        lambda k, x: sg.nn.dropout(x, 0.3, key=k),
        lambda k, x: np_dropout(k, x, 0.3),
        [((2,), (4, 5)), ((2,), (3, 2, 4)), ((2,), (0, 3))],
        dtypes=KEYED,
        samplers=SAMPLERS,
        grad_args=(1,),
    ),
    Case(
        "dropout_noise_shape",
        lambda k, x: sg.nn.dropout(x, 0.5, key=k, noise_shape=(None, 1)),
        lambda k, x: np.where(np_keep_mask(k, (x.shape[0], 1), 0.5), x / x.dtype.type(0.5), 0).astype(x.dtype),
        [((2,), (6, 4))],
        dtypes=KEYED,
        samplers=SAMPLERS,
        grad_args=(1,),
    ),
    Case(
        "embedding",  # ids in [0, 4) of a 4-row table (a negative id raises: test_call_checks)
        lambda table, ids: sg.nn.embedding(ids, table),
        lambda table, ids: np.take(table, ids, axis=0),
        [((4, 3), (5,)), ((4, 3), (2, 3)), ((4,), (6,)), ((4, 2), (0,))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(0, 4)),
        grad_args=(0,),
    ),
]
