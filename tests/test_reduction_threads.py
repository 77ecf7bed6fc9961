"""Reductions over leading axes (the streaming order of symgraph/ops/reduction.py) on
OpenMP threads: tiles of reduced-row blocks, column chunks and blocks of a kept first
group, merged in a fixed order. Sizes reach _BLOCKS_MIN (2**19 elements) and divide
into nothing evenly; the result must not depend on the thread count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg

BLOCKS = 1 << 19  # reduction.py's _BLOCKS_MIN: blocks on threads from this many elements


def compiled(fn, *arrays, symbolic=False):
    phs = [sg.placeholder((None,) * a.ndim if symbolic else a.shape, a.dtype) for a in arrays]
    return sg.function(phs, fn(*phs))(*arrays)


LAYOUTS = [
    # (shape, axes): the last axis kept
    ((15013, 37), (0,)),  # bias gradient: blocks of rows
    ((61, 23, 29, 32), (0, 1, 2)),  # W5's conv bias gradient, smaller
    ((37, 3001, 5), (1,)),  # kept, reduced, kept: blocks of the reduced axis
    ((25001, 3, 8), (1,)),  # few reduced rows, many outputs: blocks of the kept first axis
    ((53, 10007), (0,)),  # a wide last axis: chunks of columns
    ((3, 2500, 7, 11), (0, 2)),  # two reduced groups between kept ones
    ((1, 600001), (0,)),  # a size-1 reduced axis
]


@pytest.mark.parametrize("symbolic", [False, True])
@pytest.mark.parametrize("shape, axes", LAYOUTS)
def test_float_sums_match_a_double_sum(shape, axes, symbolic):
    assert np.prod(shape) >= BLOCKS
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    got = compiled(lambda a: sg.sum(a, axis=axes), x, symbolic=symbolic)
    want = np.sum(x.astype(np.float64), axis=axes)
    # double accumulation: within one float32 rounding of the exact sum (a lost or doubled
    # block would be off by whole rows)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-7, atol=1e-6)
    assert got.dtype == np.float32
    mean = compiled(lambda a: sg.mean(a, axis=axes), x, symbolic=symbolic)
    np.testing.assert_allclose(mean, np.mean(x.astype(np.float64), axis=axes), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape, axes", LAYOUTS)
def test_integer_bool_and_product_reductions_are_exact(shape, axes):
    rng = np.random.default_rng(1)
    ints = rng.integers(-(2**31), 2**31 - 1, shape, dtype=np.int64).astype(np.int32)
    np.testing.assert_array_equal(compiled(lambda a: sg.sum(a, axis=axes), ints), np.sum(ints, axis=axes))
    big = rng.integers(-(2**62), 2**62, shape, dtype=np.int64)  # int64 sums wrap as numpy's
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(compiled(lambda a: sg.sum(a, axis=axes), big), np.sum(big, axis=axes))
    flags = rng.random(shape) < 0.001
    np.testing.assert_array_equal(compiled(lambda a: sg.any(a, axis=axes), flags), np.any(flags, axis=axes))
    np.testing.assert_array_equal(compiled(lambda a: sg.all(a, axis=axes), ~flags), np.all(~flags, axis=axes))
    near_one = (1 + rng.standard_normal(shape) * 1e-4).astype(np.float64)
    np.testing.assert_allclose(
        compiled(lambda a: sg.prod(a, axis=axes), near_one), np.prod(near_one, axis=axes), rtol=1e-12
    )
    np.testing.assert_array_equal(compiled(lambda a: sg.max(a, axis=axes), ints), np.max(ints, axis=axes))
    np.testing.assert_array_equal(compiled(lambda a: sg.min(a, axis=axes), ints), np.min(ints, axis=axes))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_min_see_a_nan_or_an_extreme_in_any_block(dtype):
    x = np.random.default_rng(2).standard_normal((60007, 11)).astype(dtype)
    x[59990, 3] = np.nan  # in the last block
    x[4, 4] = np.nan  # in the first
    x[30001, 5] = 1e30  # in a middle block
    x[60006, 6] = -1e30
    for fn, ref in ((sg.max, np.max), (sg.min, np.min)):
        got = compiled(lambda a, fn=fn: fn(a, axis=0), x)
        np.testing.assert_array_equal(got, ref(x, axis=0))  # NaN where numpy has NaN


@pytest.mark.parametrize("fn, ref", [(sg.argmax, np.argmax), (sg.argmin, np.argmin)])
def test_argmax_over_a_leading_axis_keeps_the_first_winner_across_blocks(fn, ref):
    rng = np.random.default_rng(3)
    x = rng.integers(-5, 6, (50001, 13)).astype(np.float32)  # ties in every block
    x[45000, 2] = np.nan  # a late NaN wins
    x[100, 2] = x[30000, 2] = 99.0
    x[:, 7] = 4.0  # all tied: index 0
    got = compiled(lambda a: fn(a, axis=0), x)
    np.testing.assert_array_equal(got, ref(x, axis=0))
    ints = rng.integers(-3, 4, (50001, 13)).astype(np.int32)
    np.testing.assert_array_equal(compiled(lambda a: fn(a, axis=0), ints), ref(ints, axis=0))
    blocks = np.full((300000, 1, 2), -np.inf, np.float32)  # the first block holds only -inf
    blocks[299999, 0, 1] = 1.0
    np.testing.assert_array_equal(compiled(lambda a: fn(a, axis=0), blocks), ref(blocks, axis=0))


def test_a_fused_expression_reduces_on_threads():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 16001, 33)).astype(np.float32)
    got = compiled(lambda p, q: sg.sum(p * q + 1.0, axis=0), a, b)
    want = np.sum(a.astype(np.float64) * b + 1.0, axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


ROW_LAYOUTS = [
    # (shape, axes): the last axis reduced, few outputs: each output cut into blocks
    ((2000, 301), None),  # everything
    ((3, 200003), (1,)),  # three rows
    ((3, 4, 80021), (0, 2)),  # reduced, kept, reduced
]


@pytest.mark.parametrize("symbolic", [False, True])
@pytest.mark.parametrize("shape, axes", ROW_LAYOUTS)
def test_few_row_reductions_on_threads_match_numpy(shape, axes, symbolic):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    got = compiled(lambda a: sg.sum(a, axis=axes), x, symbolic=symbolic)
    np.testing.assert_allclose(got, np.sum(x.astype(np.float64), axis=axes).astype(np.float32), rtol=2e-7, atol=1e-5)
    x.reshape(-1)[x.size - 3] = np.nan  # in the last block
    x.reshape(-1)[7] = 1e30  # in the first
    for fn, ref in ((sg.max, np.max), (sg.min, np.min)):
        np.testing.assert_array_equal(
            compiled(lambda a, fn=fn: fn(a, axis=axes), x, symbolic=symbolic), ref(x, axis=axes)
        )
    ints = rng.integers(-(2**31), 2**31 - 1, shape, dtype=np.int64).astype(np.int32)
    np.testing.assert_array_equal(compiled(lambda a: sg.sum(a, axis=axes), ints), np.sum(ints, axis=axes))
    flags = rng.random(shape) < 1e-5
    np.testing.assert_array_equal(compiled(lambda a: sg.any(a, axis=axes), flags), np.any(flags, axis=axes))
    np.testing.assert_array_equal(compiled(lambda a: sg.all(a, axis=axes), ~flags), np.all(~flags, axis=axes))
    near_one = 1 + rng.standard_normal(shape) * 1e-5
    np.testing.assert_allclose(compiled(lambda a: sg.prod(a, axis=axes), near_one), np.prod(near_one, axis=axes))
    # argmax keeps its own search (the first winner): unchanged, still right
    if axes != (0, 2):
        np.testing.assert_array_equal(compiled(lambda a: sg.argmax(a, axis=-1), ints), np.argmax(ints, axis=-1))


@pytest.mark.parametrize("shape", [(0, 50000), (50000, 0), (0, 7, 9000)])
def test_empty_inputs_give_identities(shape):
    x = np.zeros(shape, np.float32)
    got = compiled(lambda a: sg.sum(a, axis=0), x, symbolic=True)
    np.testing.assert_array_equal(got, np.zeros(shape[1:], np.float32))
    got = compiled(lambda a: sg.any(a, axis=0), x.astype(bool), symbolic=True)
    np.testing.assert_array_equal(got, np.zeros(shape[1:], bool))


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import symgraph as sg
    x = np.random.default_rng(5).standard_normal((20011, 37)).astype(np.float32) * 1e3
    y = np.random.default_rng(6).standard_normal((13, 5001, 9)).astype(np.float32)
    px, py = sg.placeholder(x.shape), sg.placeholder(y.shape)
    outs = [sg.sum(px, axis=0), sg.sum(py, axis=(0, 1)), sg.sum(py, axis=1), sg.sum(px), sg.sum(py, axis=(0, 2))]
    f = sg.function([px, py], outs)
    print(json.dumps([o.tobytes().hex() for o in f(x, y)]))
    """
)


def test_float_sums_give_the_same_bits_on_one_and_two_threads():
    results = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        run = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1]
