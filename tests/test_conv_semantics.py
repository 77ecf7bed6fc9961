"""Convolution, pooling and normalisation semantics the op table cannot express:
agreement with a scalar loop written here, Keras' conventions (filter layout,
cross-correlation, TF's "same" rule), symbolic sizes, tie-breaking, second
derivatives, and errors that name the op and the user's line."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

import symgraph as sg
from symgraph.errors import ShapeError, UnsupportedError
from tests.cases.conv import CASES
from tests.opcheck import check_grad

THIS_FILE = os.path.basename(__file__)
MODES = ("py", "c")


def loop_conv2d(x, w, strides, padding, dilation, groups):
    """Scalar loops over every output element and every tap (NHWC, float64)."""
    n, h, wd, c = x.shape
    kh, kw, cg, oc = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    if padding == "same":
        oh, ow = -(-h // sh), -(-wd // sw)
        pt = max((oh - 1) * sh + (kh - 1) * dh + 1 - h, 0) // 2
        pl = max((ow - 1) * sw + (kw - 1) * dw + 1 - wd, 0) // 2
    else:
        (pt, pb), (pl, pr) = padding
        oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
        ow = (wd + pl + pr - (kw - 1) * dw - 1) // sw + 1
    ocg = oc // groups
    y = np.zeros((n, oh, ow, oc))
    for b, p, q, o in itertools.product(range(n), range(oh), range(ow), range(oc)):
        g = o // ocg
        total = 0.0
        for i, j, ci in itertools.product(range(kh), range(kw), range(cg)):
            r, s = p * sh - pt + i * dh, q * sw - pl + j * dw
            if 0 <= r < h and 0 <= s < wd:
                total += x[b, r, s, g * cg + ci] * w[i, j, ci, o]
        y[b, p, q, o] = total
    return y


CONFIGS = [
    # x shape (NHWC), filter shape, strides, padding, dilation, groups
    ((2, 7, 6, 4), (3, 2, 2, 6), (2, 1), "same", (1, 2), 2),
    ((2, 9, 8, 3), (3, 3, 3, 4), (2, 3), ((0, 0), (0, 0)), (1, 1), 1),
    ((1, 5, 6, 2), (2, 2, 2, 2), (1, 1), ((1, 0), (2, 1)), (1, 1), 1),
    ((2, 6, 6, 3), (4, 4, 1, 3), (3, 3), "same", (1, 1), 3),
    ((1, 8, 5, 2), (2, 3, 2, 1), (1, 2), "same", (3, 1), 1),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_conv2d_matches_scalar_loops_with_a_symbolic_batch(config, data_format, mode):
    x_shape, w_shape, strides, padding, dilation, groups = config
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    expected = loop_conv2d(x, w, strides, padding, dilation, groups)
    if data_format == "NCHW":
        x, expected = x.transpose(0, 3, 1, 2), expected.transpose(0, 3, 1, 2)
    xs = sg.placeholder((None, *x.shape[1:]))
    ws = sg.placeholder(w.shape)
    y = sg.nn.conv2d(xs, ws, strides, padding, dilation, groups, data_format)
    got = sg.function([xs, ws], y, mode=mode)(x, w)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_filter_layout_is_keras_and_the_op_is_a_cross_correlation(mode):
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    w = np.zeros((2, 2, 1, 1), np.float32)
    w[0, 1, 0, 0] = 1.0  # the tap at filter row 0, column 1 reads x[p, q + 1]
    xs, ws = sg.placeholder(x.shape), sg.placeholder(w.shape)
    got = sg.function([xs, ws], sg.nn.conv2d(xs, ws), mode=mode)(x, w)
    np.testing.assert_array_equal(got[0, :, :, 0], x[0, :2, 1:, 0])


@pytest.mark.parametrize("mode", MODES)
def test_same_padding_puts_the_odd_pixel_at_the_bottom_right(mode):
    x = np.ones((1, 4, 4, 1), np.float32)
    w = np.ones((2, 2, 1, 1), np.float32)
    xs, ws = sg.placeholder(x.shape), sg.placeholder(w.shape)
    got = sg.function([xs, ws], sg.nn.conv2d(xs, ws, padding="same"), mode=mode)(x, w)[0, :, :, 0]
    assert got[0, 0] == 4.0  # the first window is all inside: no padding on top or left
    assert got[3, 3] == 1.0 and got[3, 0] == 2.0 and got[0, 3] == 2.0


@pytest.mark.parametrize("size,stride", [(28, 2), (7, 2), (5, 3), (1, 2), (6, 4)])
def test_same_output_size_is_ceil_of_size_over_stride(size, stride):
    x = sg.placeholder((2, size, size + 1, 3))
    y = sg.nn.conv2d(x, sg.placeholder((3, 4, 3, 5)), strides=stride, padding="same")
    assert y.shape == (2, -(-size // stride), -(-(size + 1) // stride), 5)
    pooled = sg.nn.max_pool2d(x, 3, stride, padding="same")
    assert pooled.shape == (2, -(-size // stride), -(-(size + 1) // stride), 3)


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_spatial_sizes_serve_several_image_sizes(mode):
    xs = sg.placeholder((None, None, None, 2))
    ws = sg.placeholder((3, 3, 2, 4))
    y = sg.nn.max_pool2d(sg.nn.conv2d(xs, ws, strides=2, padding="same"), 2, padding="same")
    gx, gw = sg.grad(sg.sum(y * y), [xs, ws])
    f = sg.function([xs, ws], [y, gx, gw], mode=mode)
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    for shape in [(2, 9, 7, 2), (1, 16, 16, 2)]:
        x = rng.standard_normal(shape).astype(np.float32)
        out, dx, dw = f(x, w)
        conv = loop_conv2d(x, w, (2, 2), "same", (1, 1), 1)
        assert out.shape == (shape[0], -(-conv.shape[1] // 2), -(-conv.shape[2] // 2), 4)
        assert dx.shape == x.shape and dw.shape == w.shape


@pytest.mark.parametrize("mode", MODES)
def test_a_symbolic_input_smaller_than_the_filter_fails_at_call_time(mode):
    xs = sg.placeholder((None, None, None, 1))
    ws = sg.placeholder((3, 3, 1, 1))
    f = sg.function([xs, ws], sg.nn.conv2d(xs, ws), mode=mode)
    assert f(np.zeros((1, 3, 3, 1), np.float32), np.zeros((3, 3, 1, 1), np.float32)).shape == (1, 1, 1, 1)
    with pytest.raises(ShapeError, match=r"conv2d(.|\n)*smaller than the window(.|\n)*" + THIS_FILE):
        f(np.zeros((1, 2, 5, 1), np.float32), np.zeros((3, 3, 1, 1), np.float32))


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_channels_that_disagree_with_the_filter_fail_at_call_time(mode):
    xs = sg.placeholder((None, 5, 5, None))
    ws = sg.placeholder((3, 3, 2, 4))
    f = sg.function([xs, ws], sg.nn.conv2d(xs, ws), mode=mode)
    with pytest.raises(ShapeError, match=r"conv2d(.|\n)*channels(.|\n)*" + THIS_FILE):
        f(np.zeros((1, 5, 5, 3), np.float32), np.zeros((3, 3, 2, 4), np.float32))


@pytest.mark.parametrize(
    "make,error,words",
    [
        (lambda x, w: sg.nn.conv2d(x, w[:, :, :2]), ShapeError, ["conv2d", "3 channels", "filter expects 2"]),
        (lambda x, w: sg.nn.conv2d(x, w, padding="full"), ShapeError, ["conv2d", "padding", "'full'"]),
        (lambda x, w: sg.nn.conv2d(x, w, strides=0), ShapeError, ["conv2d", "strides"]),
        (lambda x, w: sg.nn.conv2d(x[0], w), ShapeError, ["conv2d", "rank 4"]),
        (lambda x, w: sg.nn.conv2d(x, w, groups=2), ShapeError, ["conv2d", "groups"]),
        (lambda x, w: sg.nn.conv2d(x, w, data_format="NWHC"), ShapeError, ["conv2d", "data_format"]),
        (lambda x, w: sg.nn.conv2d(x[:, :2], w), ShapeError, ["conv2d", "smaller than the window"]),
        (lambda x, w: sg.nn.max_pool2d(x, 7), ShapeError, ["max_pool2d", "smaller than the window"]),
        (lambda x, w: sg.nn.avg_pool2d(x, 2, padding=((1, 1), (1, 1))), ShapeError, ["avg_pool2d", "padding"]),
        (lambda x, w: sg.nn.batch_norm(x, w[0, 0, 0], w[0, 0, 0], None, None), ShapeError, ["batch_norm", "channels"]),
    ],
)
def test_build_errors_name_the_op_and_the_user_line(make, error, words):
    x = sg.placeholder((2, 6, 6, 3))
    w = sg.placeholder((3, 3, 3, 4))
    with pytest.raises(error) as info:
        make(x, w)  # this line is the one the message must name
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert THIS_FILE in message, message


def test_causal_padding_needs_a_static_filter_width():
    x = sg.placeholder((2, 8, 3))
    w = sg.placeholder((None, 3, 4))
    with pytest.raises(UnsupportedError, match=r"conv1d(.|\n)*causal"):
        sg.nn.conv1d(x, w, padding="causal")


@pytest.mark.parametrize("mode", MODES)
def test_max_pool_never_takes_the_padding_and_routes_ties_to_the_first_maximum(mode):
    x = -np.ones((1, 3, 3, 1), np.float32)
    xs = sg.placeholder(x.shape)
    y = sg.nn.max_pool2d(xs, 2, 1, padding="same")
    dx = sg.grad(sg.sum(y), xs)
    out, grad = sg.function([xs], [y, dx], mode=mode)(x)
    np.testing.assert_array_equal(out, -np.ones((1, 3, 3, 1)))
    # every window's maximum is a tie: each of the 9 windows sends its 1 to its top-left pixel
    np.testing.assert_array_equal(grad[0, :, :, 0], np.ones((3, 3)))


@pytest.mark.parametrize("mode", MODES)
def test_same_average_pool_leaves_the_padding_out_of_the_count(mode):
    x = np.ones((1, 5, 4, 2), np.float32)
    xs = sg.placeholder(x.shape)
    out = sg.function([xs], sg.nn.avg_pool2d(xs, 3, 2, padding="same"), mode=mode)(x)
    np.testing.assert_allclose(out, np.ones((1, 3, 2, 2)), rtol=1e-6)


@pytest.mark.parametrize("name", ["conv2d_same_strided", "conv2d_groups", "max_pool2d_same", "avg_pool2d_same"])
def test_second_derivatives_by_finite_differences(name):
    case = next(c for c in CASES if c.name == name)
    check_grad(case, case.shapes[0], order=2)


@pytest.mark.parametrize("mode", MODES)
def test_training_batch_norm_matches_keras_formula(mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 4, 4, 3)).astype(np.float32) * 3 + 1
    gamma = rng.standard_normal(3).astype(np.float32)
    beta = rng.standard_normal(3).astype(np.float32)
    xs = sg.placeholder((None, 4, 4, 3))
    mean, var = sg.nn.moments(xs, (0, 1, 2))
    y = sg.nn.batch_norm(xs, mean, var, beta, gamma, epsilon=1e-3)
    got_y, got_mean, got_var = sg.function([xs], [y, mean, var], mode=mode)(x)
    m, v = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(got_mean, m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_var, v, rtol=1e-5)
    np.testing.assert_allclose(got_y, (x - m) / np.sqrt(v + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)


def test_tutorial_cnn_trains_in_c_like_numpy():
    """One SGD step of conv -> relu -> max pool -> conv -> global average -> dense in
    "c" equals the same step in "py" (the numpy references)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 12, 12, 1))
    params = [rng.standard_normal(s) * 0.3 for s in [(3, 3, 1, 4), (3, 3, 4, 6), (6, 3)]]
    xs = sg.placeholder((None, 12, 12, 1), "float64")
    ps = [sg.placeholder(p.shape, "float64") for p in params]
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(xs, ps[0], padding="same")), 2)
    h = sg.nn.global_avg_pool2d(sg.nn.relu(sg.nn.conv2d(h, ps[1], strides=2)))
    loss = sg.mean(sg.square(h @ ps[2]))
    grads = sg.grad(loss, ps)
    in_c = sg.function([xs, *ps], [loss, *grads], mode="c")(x, *params)
    in_py = sg.function([xs, *ps], [loss, *grads], mode="py")(x, *params)
    for c, p in zip(in_c, in_py):
        np.testing.assert_allclose(c, p, rtol=1e-10, atol=1e-12)
    assert all(np.abs(g).max() > 0 for g in in_c[1:])


@pytest.mark.parametrize("mode", MODES)
def test_max_pool_propagates_nan_and_routes_its_gradient_to_the_first_nan(mode):
    x = np.array([[1, np.nan, 3, 2], [0, 5, 1, 1]], np.float32).reshape(1, 2, 4, 1)
    xs = sg.placeholder(x.shape)
    y = sg.nn.max_pool2d(xs, 2)
    out, grad = sg.function([xs], [y, sg.grad(sg.sum(y), xs)], mode=mode)(x)
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 1, 0] == 3.0
    np.testing.assert_array_equal(grad[0, :, :, 0], [[0, 1, 1, 0], [0, 0, 0, 0]])


def test_max_pool_gradient_in_c_over_several_scratch_blocks():
    """20000 channels: the C kernel routes gradients in blocks of 3 output pixels."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 20000)).astype(np.float32)
    xs = sg.placeholder(x.shape)
    y = sg.nn.max_pool2d(xs, 2, 1)
    w = rng.standard_normal((2, 3, 4, 20000)).astype(np.float32)
    dx = sg.grad(sg.sum(y * w), xs)
    in_c, in_py = (sg.function([xs], [y, dx], mode=mode)(x) for mode in ("c", "py"))
    np.testing.assert_array_equal(in_c[0], in_py[0])
    # up to 4 overlapping windows add into one pixel: float32 sums in another order
    np.testing.assert_allclose(in_c[1], in_py[1], rtol=1e-6, atol=2e-6)
    assert np.count_nonzero(in_c[1]) > 0


@pytest.mark.parametrize(
    "x_shape, w_shape, strides, padding, dilation, groups, dtype",
    [
        ((16, 9, 8, 4), (3, 3, 2, 6), 2, "same", 1, 2, np.float32),  # im2col blocks, groups
        ((16, 12, 11, 1), (5, 5, 1, 64), 1, "valid", 1, 1, np.float32),  # one channel: direct, vector chunks
        ((6, 9, 10, 1), (3, 4, 1, 37), (2, 1), "same", (1, 2), 1, np.float32),  # direct: a chunk and a tail
        ((5, 8, 7, 1), (3, 3, 1, 40), 1, ((2, 0), (1, 3)), 1, 1, np.float64),  # direct, double lanes
        ((8, 16, 17, 64), (1, 1, 32, 48), 1, "valid", 1, 2, np.float64),  # 1x1: products shared by sg_gemm
        # 1x1, one channel per group: every group's products have one column, which go to
        # GEMV with the output's row stride (symgraph_blas.h's sg_gemv_case)
        ((3, 5, 6, 4), (1, 1, 1, 4), 1, "valid", 1, 4, np.float32),
    ],
)
def test_conv_kernels_split_over_batch_blocks_match_the_reference(
    x_shape, w_shape, strides, padding, dilation, groups, dtype
):
    """Batches run as several blocks (im2col) or rows (one input channel) on the OpenMP
    threads; forward, both gradients, and the filter gradient's per-thread partials
    agree with the py mode, and a second call gives the same bits."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    xs, ws = sg.placeholder(x.shape, dtype), sg.placeholder(w.shape, dtype)
    y = sg.nn.conv2d(xs, ws, strides=strides, padding=padding, dilation=dilation, groups=groups)
    g = rng.standard_normal(y.shape).astype(dtype)
    dx, dw = sg.grad(sg.sum(y * g), [xs, ws])
    f = sg.function([xs, ws], [y, dx, dw])
    in_c, again = f(x, w), f(x, w)
    in_py = sg.function([xs, ws], [y, dx, dw], mode="py")(x, w)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for c, c2, p in zip(in_c, again, in_py):
        np.testing.assert_allclose(c, p, rtol=tol, atol=tol * 10)
        np.testing.assert_array_equal(c, c2)


@pytest.mark.parametrize(
    "shape, pool, strides, padding",
    [
        ((3, 9, 7, 70), 2, 2, "same"),  # odd sizes: the last window is partly padding
        ((2, 10, 9, 5), (2, 3), (3, 4), "valid"),  # strides > pool: pixels in no window
        ((2, 8, 8, 3), 2, 2, "valid"),  # windows tile the image exactly
    ],
)
def test_max_pool_gradient_of_disjoint_windows_matches_the_loops(shape, pool, strides, padding):
    """Windows that never overlap take the C kernel's single-pass route: the gradient is
    exactly the reference's (ties to the first maximum, NaN first, 0 outside windows)."""
    from tests.cases.conv import np_max_pool2d_grad

    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, shape).astype(np.float32)  # many ties
    gy_shape = sg.nn.max_pool2d(sg.placeholder(shape), pool, strides, padding=padding).shape
    gy = rng.standard_normal(gy_shape).astype(np.float32)
    xs, gs = sg.placeholder(shape), sg.placeholder(gy_shape)
    dx = sg.grad(sg.sum(sg.nn.max_pool2d(xs, pool, strides, padding=padding) * gs), xs)
    in_c, in_py = sg.function([xs, gs], dx), sg.function([xs, gs], dx, mode="py")
    got = in_c(x, gy)
    np.testing.assert_array_equal(got, np_max_pool2d_grad(x, gy, pool, strides, padding).astype(np.float32))
    assert np.count_nonzero(got) > 0
    x[0, 1, 1, :3] = np.nan  # the first NaN of a window takes the gradient (the loops above skip NaN)
    np.testing.assert_array_equal(in_c(x, gy), in_py(x, gy))
