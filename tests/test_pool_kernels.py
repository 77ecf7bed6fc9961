"""The threaded max pooling kernels (csrc/symgraph_pool.h) against the numpy
loops of tests/cases/conv.py: shapes that split unevenly over threads and channel
chunks, channel counts above the kernel's chunk, doubles, padding, NaN and ties."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from tests.cases.conv import np_max_pool2d, np_max_pool2d_grad

SHAPES = [
    # (x shape, pool, strides, padding)
    ((3, 11, 13, 37), 2, 2, "valid"),  # rows and channels that divide nothing evenly
    ((2, 9, 7, 5), 3, 2, "same"),  # overlapping windows, padding at both ends
    ((2, 9, 10, 3), (2, 3), (3, 4), "same"),  # strides > pool, padding: pixels in no window
    ((1, 4, 6, 2500), 2, 2, "valid"),  # channels above the kernel's chunk (2048)
    ((2, 3, 700, 4), (1, 2), (1, 2), "valid"),  # a row wider than one chunk of pixels
    ((5, 2, 2, 1), 2, 2, "valid"),  # one window per item, one channel
    ((0, 4, 4, 3), 2, 2, "valid"),  # an empty batch
]


def _data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(dtype)  # small integers: many ties
    if x.size:
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, max(1, flat.size // 50), replace=False)] = np.nan
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, pool, strides, padding", SHAPES)
def test_max_pool_and_its_gradient_match_the_loops(shape, pool, strides, padding, dtype):
    xs = sg.placeholder(shape, dtype)
    y = sg.nn.max_pool2d(xs, pool, strides, padding=padding)
    gs = sg.placeholder(y.shape, dtype)
    dx = sg.grad(sg.sum(y * gs), xs)
    gy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    in_c, in_py = sg.function([xs, gs], [y, dx]), sg.function([xs, gs], [y, dx], mode="py")
    disjoint = bool(np.all(np.array(strides) >= np.array(pool)))
    # without NaN: the numpy loops (they skip NaN, as they skip the padding)
    x = np.nan_to_num(_data(shape, dtype, 1), nan=-10.0)
    got_y, got_dx = in_c(x, gy)
    np.testing.assert_array_equal(got_y, np_max_pool2d(x, pool, strides, padding).astype(dtype))
    want_dx = np_max_pool2d_grad(x, gy, pool, strides, padding).astype(dtype)
    if disjoint:  # each pixel written once: exact
        np.testing.assert_array_equal(got_dx, want_dx)
    else:
        np.testing.assert_allclose(got_dx, want_dx, rtol=1e-6, atol=1e-6)
    # with NaN: the op's reference (a NaN is the maximum; its first one takes the gradient)
    x = _data(shape, dtype, 1)
    (got_y, got_dx), (want_y, want_dx) = in_c(x, gy), in_py(x, gy)
    np.testing.assert_array_equal(got_y, want_y)
    if x.size:
        assert np.isnan(got_y).any() and not np.isnan(got_y).all()
    if disjoint:
        np.testing.assert_array_equal(got_dx, want_dx)
    else:
        np.testing.assert_allclose(got_dx, want_dx, rtol=1e-6, atol=1e-6)


def test_max_pool_keeps_a_nan_whatever_follows_it():
    """A NaN in any tap of a window, first or last, gives NaN; infinities are numbers."""
    x = np.full((1, 2, 2, 6), 1.0, np.float32)
    for tap in range(4):
        x[0, tap // 2, tap % 2, tap] = np.nan
    x[0, 1, 1, 4] = np.inf
    x[0, 0, 0, 5] = -np.inf
    xs = sg.placeholder(x.shape)
    out = sg.function([xs], sg.nn.max_pool2d(xs, 2))(x)
    np.testing.assert_array_equal(out.reshape(-1), [np.nan] * 4 + [np.inf, 1.0])


def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window():
    """Ties: the first maximum in row-major window order takes the whole gradient."""
    x = np.zeros((1, 4, 4, 3), np.float32)
    x[0, 2:, 2:, 1] = [[1, 5], [5, 5]]
    xs = sg.placeholder(x.shape)
    dx = sg.function([xs], sg.grad(sg.sum(sg.nn.max_pool2d(xs, 2) * 2.0), xs))(x)
    expected = np.zeros_like(x)
    expected[0, ::2, ::2, :] = 2.0  # all-zero windows: the first pixel
    expected[0, 2, 2, 1], expected[0, 2, 3, 1] = 0.0, 2.0
    np.testing.assert_array_equal(dx, expected)
