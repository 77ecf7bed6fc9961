"""Test rows for convolution, pooling and normalisation (sg.nn.conv2d, conv1d, the
pools, moments, batch_norm) and their gradient ops.

The references here are plain loops over output pixels written independently of
symgraph's own (which loop over filter taps): each output pixel is the window of the
zero-padded input, dilated and strided, contracted with the filter per group.
"""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import Case

# --- plain numpy references --------------------------------------------------------------


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_pads(x_shape, w_shape, strides, padding, dilation):
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation)
    if padding == "same":
        return same_pads(x_shape[1], w_shape[0], sh, dh), same_pads(x_shape[2], w_shape[1], sw, dw)
    if padding == "valid":
        return (0, 0), (0, 0)
    return padding


def np_conv2d(x, w, strides=1, padding="valid", dilation=1, groups=1, data_format="NHWC"):
    """Loops over output pixels: y[b, p, q, :] from the window of the padded input."""
    if data_format == "NCHW":
        return np_conv2d(x.transpose(0, 2, 3, 1), w, strides, padding, dilation, groups).transpose(0, 3, 1, 2)
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation)
    kh, kw, cg, oc = w.shape
    (pt, pb), (pl, pr) = conv_pads(x.shape, w.shape, strides, padding, dilation)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    ocg = oc // groups
    y = np.zeros((x.shape[0], oh, ow, oc))
    for p in range(oh):
        for q in range(ow):
            window = xp[:, p * sh : p * sh + (kh - 1) * dh + 1 : dh, q * sw : q * sw + (kw - 1) * dw + 1 : dw, :]
            for g in range(groups):
                part = window[..., g * cg : (g + 1) * cg]  # (n, kh, kw, cg)
                y[:, p, q, g * ocg : (g + 1) * ocg] = np.tensordot(part, w[..., g * ocg : (g + 1) * ocg], 3)
    return y


def np_conv2d_grad_input(x, w, gy, **kw):
    """d sum(gy * conv2d(x, w)) / dx, by the chain rule through each pixel's window."""
    strides, padding, dilation = kw.get("strides", 1), kw.get("padding", "valid"), kw.get("dilation", 1)
    groups = kw.get("groups", 1)
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation)
    kh, kwid, cg, oc = w.shape
    (pt, pb), (pl, pr) = conv_pads(x.shape, w.shape, strides, padding, dilation)
    dxp = np.zeros((x.shape[0], x.shape[1] + pt + pb, x.shape[2] + pl + pr, x.shape[3]))
    ocg = oc // groups
    for p in range(gy.shape[1]):
        for q in range(gy.shape[2]):
            rows = slice(p * sh, p * sh + (kh - 1) * dh + 1, dh)
            cols = slice(q * sw, q * sw + (kwid - 1) * dw + 1, dw)
            for g in range(groups):
                wg = w[..., g * ocg : (g + 1) * ocg]  # (kh, kw, cg, ocg)
                dxp[:, rows, cols, g * cg : (g + 1) * cg] += np.tensordot(
                    gy[:, p, q, g * ocg : (g + 1) * ocg], wg, (1, 3)
                )
    return dxp[:, pt : pt + x.shape[1], pl : pl + x.shape[2], :]


def np_conv2d_grad_filter(x, w, gy, **kw):
    strides, padding, dilation = kw.get("strides", 1), kw.get("padding", "valid"), kw.get("dilation", 1)
    groups = kw.get("groups", 1)
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation)
    kh, kwid, cg, oc = w.shape
    (pt, pb), (pl, pr) = conv_pads(x.shape, w.shape, strides, padding, dilation)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dw_ = np.zeros(w.shape)
    ocg = oc // groups
    for p in range(gy.shape[1]):
        for q in range(gy.shape[2]):
            window = xp[:, p * sh : p * sh + (kh - 1) * dh + 1 : dh, q * sw : q * sw + (kwid - 1) * dw + 1 : dw, :]
            for g in range(groups):
                part = window[..., g * cg : (g + 1) * cg]
                dw_[..., g * ocg : (g + 1) * ocg] += np.tensordot(part, gy[:, p, q, g * ocg : (g + 1) * ocg], (0, 0))
    return dw_


def np_conv1d(x, w, strides=1, padding="valid", dilation=1, groups=1, data_format="NWC"):
    if data_format == "NCW":
        return np_conv1d(x.transpose(0, 2, 1), w, strides, padding, dilation, groups).transpose(0, 2, 1)
    if padding == "causal":
        x = np.pad(x, ((0, 0), (dilation * (w.shape[0] - 1), 0), (0, 0)))
        padding = "valid"
    pads = padding if isinstance(padding, str) else ((0, 0), tuple(padding))
    y = np_conv2d(x[:, None], w[None], (1, strides), pads, (1, dilation), groups)
    return y[:, 0]


def _pool_windows(x, pool_size, strides, padding):
    """(padded x with NaN padding, oh, ow, (ph, pw), (sh, sw))."""
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides if strides is not None else pool_size)
    if padding == "same":
        (pt, pb), (pl, pr) = same_pads(x.shape[1], ph, sh, 1), same_pads(x.shape[2], pw, sw, 1)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=np.nan)
    oh = (xp.shape[1] - ph) // sh + 1
    ow = (xp.shape[2] - pw) // sw + 1
    return xp, oh, ow, (ph, pw), (sh, sw), (pt, pl)


def np_max_pool2d(x, pool_size, strides=None, padding="valid", data_format="NHWC"):
    if data_format == "NCHW":
        return np_max_pool2d(x.transpose(0, 2, 3, 1), pool_size, strides, padding).transpose(0, 3, 1, 2)
    xp, oh, ow, (ph, pw), (sh, sw), _ = _pool_windows(x, pool_size, strides, padding)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for p in range(oh):
        for q in range(ow):
            y[:, p, q] = np.nanmax(xp[:, p * sh : p * sh + ph, q * sw : q * sw + pw], axis=(1, 2))
    return y


def np_avg_pool2d(x, pool_size, strides=None, padding="valid", data_format="NHWC"):
    if data_format == "NCHW":
        return np_avg_pool2d(x.transpose(0, 2, 3, 1), pool_size, strides, padding).transpose(0, 3, 1, 2)
    xp, oh, ow, (ph, pw), (sh, sw), _ = _pool_windows(x, pool_size, strides, padding)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for p in range(oh):
        for q in range(ow):
            y[:, p, q] = np.nanmean(xp[:, p * sh : p * sh + ph, q * sw : q * sw + pw], axis=(1, 2))
    return y


def np_max_pool2d_grad(x, gy, pool_size, strides=None, padding="valid"):
    """gy routed to each window's first maximum (row-major window order)."""
    xp, oh, ow, (ph, pw), (sh, sw), (pt, pl) = _pool_windows(x, pool_size, strides, padding)
    dx = np.zeros(xp.shape)
    for b in range(x.shape[0]):
        for p in range(oh):
            for q in range(ow):
                for ch in range(x.shape[3]):
                    window = np.nan_to_num(xp[b, p * sh : p * sh + ph, q * sw : q * sw + pw, ch], nan=-np.inf)
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    dx[b, p * sh + i, q * sw + j, ch] += gy[b, p, q, ch]
    return dx[:, pt : pt + x.shape[1], pl : pl + x.shape[2]]


def np_max_pool2d_gather(x, v, pool_size, strides=None, padding="valid"):
    """v read at each window's first maximum: the adjoint of np_max_pool2d_grad."""
    xp, oh, ow, (ph, pw), (sh, sw), (pt, pl) = _pool_windows(x, pool_size, strides, padding)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for b in range(x.shape[0]):
        for p in range(oh):
            for q in range(ow):
                for ch in range(x.shape[3]):
                    window = np.nan_to_num(xp[b, p * sh : p * sh + ph, q * sw : q * sw + pw, ch], nan=-np.inf)
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    y[b, p, q, ch] = v[b, p * sh + i - pt, q * sw + j - pl, ch]
    return y


def np_avg_pool2d_grad(x, gy, pool_size, strides=None, padding="valid"):
    xp, oh, ow, (ph, pw), (sh, sw), (pt, pl) = _pool_windows(x, pool_size, strides, padding)
    dx = np.zeros(xp.shape)
    inside = ~np.isnan(xp[0, :, :, 0])
    for p in range(oh):
        for q in range(ow):
            count = inside[p * sh : p * sh + ph, q * sw : q * sw + pw].sum()
            dx[:, p * sh : p * sh + ph, q * sw : q * sw + pw] += gy[:, p : p + 1, q : q + 1] / count
    return dx[:, pt : pt + x.shape[1], pl : pl + x.shape[2]]


def np_moments(x, axes, keepdims=False):
    return np.mean(x, axis=axes, keepdims=keepdims), np.var(x, axis=axes, keepdims=keepdims)


def np_batch_norm(x, mean, var, offset, scale, epsilon=1e-3, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    if scale is not None:
        y = y * scale.reshape(shape)
    if offset is not None:
        y = y + offset.reshape(shape)
    return y


def variances(rng, shape, dtype):
    return rng.uniform(0.2, 2.0, size=shape).astype(dtype)


def normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# --- rows -------------------------------------------------------------------------------


def conv_case(name: str, x_shape, w_shape, extra_shapes=(), dtype="float32", **kw) -> Case:
    """conv2d with keyword arguments ``kw`` on x_shape and w_shape (and more shape groups)."""
    return Case(
        name,
        lambda x, w: sg.nn.conv2d(x, w, **kw),
        lambda x, w: np_conv2d(x, w, **kw),
        [(x_shape, w_shape), *extra_shapes],
        dtypes=dtype,
        ref64=True,
        rtol=1e-5,
        atol=1e-5,
    )


def conv_grad_cases(name: str, x_shape, w_shape, **kw) -> list[Case]:
    """The gradient ops as rows: d sum(g * conv2d(x, w)) / dx and / dw; their own
    gradients (through the adjoint ops) are checked by finite differences."""

    def grads(x, w, g):
        return sg.grad(sg.sum(sg.nn.conv2d(x, w, **kw) * g), [x, w])

    gy_shape = np_conv2d(np.zeros(x_shape), np.zeros(w_shape), **kw).shape
    shapes = [(x_shape, w_shape, gy_shape)]
    return [
        Case(
            f"{name}_grad_input",
            lambda x, w, g: grads(x, w, g)[0],
            lambda x, w, g: np_conv2d_grad_input(x, w, g, **kw),
            shapes,
            ref64=True,
            rtol=1e-5,
            atol=1e-5,
            grad_args=(1, 2),
        ),
        Case(
            f"{name}_grad_filter",
            lambda x, w, g: grads(x, w, g)[1],
            lambda x, w, g: np_conv2d_grad_filter(x, w, g, **kw),
            shapes,
            ref64=True,
            rtol=1e-5,
            atol=1e-5,
            grad_args=(0, 2),
        ),
    ]


def pool_case(name: str, fn, ref, shapes, **kw) -> Case:
    return Case(name, lambda x: fn(x, **kw), lambda x: ref(x, **kw), shapes, ref64=True)


def pool_grad_case(name: str, pool_fn, ref_grad, x_shape, **kw) -> Case:
    y_shape = np_avg_pool2d(np.zeros(x_shape), **kw).shape
    return Case(
        name,
        lambda x, g: sg.grad(sg.sum(pool_fn(x, **kw) * g), x),
        lambda x, g: ref_grad(x, g, **kw),
        [(x_shape, y_shape)],
        ref64=True,
        grad_args=(1,),
    )


def max_pool_gather(x, g, v, **kw):
    """d sum(v * d sum(g * max_pool(x)) / dx) / dg: the gather op."""
    dx = sg.grad(sg.sum(sg.nn.max_pool2d(x, **kw) * g), x)
    return sg.grad(sg.sum(dx * v), g)


CASES: list[Case] = [
    conv_case("conv2d_valid", (2, 7, 6, 3), (3, 2, 3, 4), [((1, 5, 5, 1), (5, 5, 1, 2)), ((0, 4, 4, 2), (3, 3, 2, 2))]),
    conv_case("conv2d_same", (2, 7, 6, 3), (3, 4, 3, 2), [((1, 1, 1, 2), (3, 3, 2, 3))], padding="same"),
    conv_case(
        "conv2d_same_strided",
        (2, 7, 8, 3),
        (3, 4, 3, 2),
        [((1, 9, 5, 2), (2, 3, 2, 3))],
        strides=(2, 3),
        padding="same",
    ),
    conv_case("conv2d_valid_strided", (2, 9, 8, 2), (3, 3, 2, 3), strides=2),
    conv_case("conv2d_dilated", (2, 9, 8, 2), (3, 2, 2, 3), dilation=(2, 3)),
    conv_case("conv2d_dilated_same", (1, 7, 6, 2), (3, 3, 2, 2), dilation=2, padding="same", strides=(1, 2)),
    conv_case("conv2d_explicit_padding", (2, 5, 6, 2), (3, 3, 2, 3), padding=((1, 2), (0, 1))),
    conv_case("conv2d_groups", (2, 6, 5, 4), (3, 3, 2, 6), groups=2, padding="same"),
    conv_case("conv2d_depthwise", (1, 6, 6, 3), (3, 3, 1, 6), groups=3, strides=2),
    conv_case("conv2d_pointwise", (2, 4, 5, 6), (1, 1, 6, 3), [((2, 3, 3, 4), (1, 1, 4, 4))]),
    conv_case("conv2d_pointwise_groups", (2, 4, 5, 6), (1, 1, 3, 4), groups=2),
    conv_case("conv2d_nchw", (2, 3, 7, 6), (3, 3, 3, 4), data_format="NCHW", strides=2, padding="same"),
    conv_case("conv2d_float64", (2, 6, 5, 3), (2, 3, 3, 2), dtype="float64", padding="same", dilation=(1, 2)),
    *conv_grad_cases("conv2d", (2, 6, 5, 3), (3, 2, 3, 4), padding="same", strides=(2, 1)),
    *conv_grad_cases("conv2d_groups_dilated", (2, 7, 6, 4), (2, 3, 2, 4), groups=2, dilation=(2, 1)),
    *conv_grad_cases("conv2d_pointwise", (2, 3, 4, 4), (1, 1, 4, 3)),
    Case(
        "conv1d",
        lambda x, w: sg.nn.conv1d(x, w),
        lambda x, w: np_conv1d(x, w),
        [((2, 9, 3), (3, 3, 4)), ((1, 3, 2), (3, 2, 2))],
        ref64=True,
        rtol=1e-5,
    ),
    Case(
        "conv1d_same_strided",
        lambda x, w: sg.nn.conv1d(x, w, strides=2, padding="same"),
        lambda x, w: np_conv1d(x, w, strides=2, padding="same"),
        [((2, 9, 3), (4, 3, 2))],
        ref64=True,
        rtol=1e-5,
    ),
    Case(
        "conv1d_causal_dilated",
        lambda x, w: sg.nn.conv1d(x, w, padding="causal", dilation=2),
        lambda x, w: np_conv1d(x, w, padding="causal", dilation=2),
        [((2, 8, 2), (3, 2, 3))],
        ref64=True,
        rtol=1e-5,
        symbolic=False,  # causal padding needs a static filter width
    ),
    Case(
        "conv1d_ncw_groups",
        lambda x, w: sg.nn.conv1d(x, w, groups=2, data_format="NCW", padding=(1, 2)),
        lambda x, w: np_conv1d(x, w, groups=2, data_format="NCW", padding=(1, 2)),
        [((2, 4, 7), (3, 2, 4))],
        ref64=True,
        rtol=1e-5,
    ),
    pool_case("max_pool2d", sg.nn.max_pool2d, np_max_pool2d, [((2, 6, 7, 3),), ((1, 5, 5, 1),)], pool_size=2),
    pool_case(
        "max_pool2d_same",
        sg.nn.max_pool2d,
        np_max_pool2d,
        [((2, 7, 6, 3),), ((1, 1, 2, 2),)],
        pool_size=(3, 2),
        strides=(2, 1),
        padding="same",
    ),
    pool_case(
        "max_pool2d_nchw",
        sg.nn.max_pool2d,
        np_max_pool2d,
        [((2, 3, 7, 5),)],
        pool_size=3,
        strides=2,
        data_format="NCHW",
    ),
    pool_case("avg_pool2d", sg.nn.avg_pool2d, np_avg_pool2d, [((2, 6, 7, 3),), ((1, 5, 5, 1),)], pool_size=2),
    pool_case(
        "avg_pool2d_same",
        sg.nn.avg_pool2d,
        np_avg_pool2d,
        [((2, 7, 6, 3),), ((1, 1, 2, 2),)],
        pool_size=3,
        strides=(2, 1),
        padding="same",
    ),
    pool_case(
        "avg_pool2d_nchw",
        sg.nn.avg_pool2d,
        np_avg_pool2d,
        [((2, 3, 7, 5),)],
        pool_size=(2, 3),
        padding="same",
        data_format="NCHW",
    ),
    pool_grad_case(
        "max_pool2d_grad", sg.nn.max_pool2d, np_max_pool2d_grad, (2, 7, 6, 3), pool_size=3, strides=2, padding="same"
    ),
    pool_grad_case(
        "max_pool2d_grad_overlapping", sg.nn.max_pool2d, np_max_pool2d_grad, (2, 6, 6, 2), pool_size=3, strides=1
    ),
    pool_grad_case(
        "avg_pool2d_grad", sg.nn.avg_pool2d, np_avg_pool2d_grad, (2, 7, 6, 3), pool_size=3, strides=2, padding="same"
    ),
    Case(
        "max_pool2d_gather",
        lambda x, g, v: max_pool_gather(x, g, v, pool_size=2, strides=1, padding="same"),
        lambda x, g, v: np_max_pool2d_gather(x, v, pool_size=2, strides=1, padding="same"),
        [((2, 5, 4, 3), (2, 5, 4, 3), (2, 5, 4, 3))],
        ref64=True,
        grad_args=(2,),
    ),
    Case(
        "global_pools",
        lambda x: (sg.nn.global_avg_pool2d(x), sg.nn.global_max_pool2d(x, keepdims=True)),
        lambda x: (x.mean(axis=(1, 2)), x.max(axis=(1, 2), keepdims=True)),
        [((2, 4, 5, 3),)],
        ref64=True,
    ),
    Case(
        "global_pools_nchw",
        lambda x: (sg.nn.global_avg_pool2d(x, "NCHW", keepdims=True), sg.nn.global_max_pool2d(x, "NCHW")),
        lambda x: (x.mean(axis=(2, 3), keepdims=True), x.max(axis=(2, 3))),
        [((2, 3, 4, 5),)],
        ref64=True,
    ),
    Case(
        "moments",
        lambda x: sg.nn.moments(x, (0, 1, 2)),
        lambda x: np_moments(x, (0, 1, 2)),
        [((4, 3, 2, 5),)],
        ref64=True,
    ),
    Case(
        "moments_keepdims",
        lambda x: sg.nn.moments(x, 0, keepdims=True),
        lambda x: np_moments(x, 0, keepdims=True),
        [((6, 4),)],
        ref64=True,
    ),
    Case(
        "batch_norm",
        lambda x, m, v, b, s: sg.nn.batch_norm(x, m, v, b, s),
        lambda x, m, v, b, s: np_batch_norm(x, m, v, b, s),
        [((4, 3, 5), (5,), (5,), (5,), (5,))],
        samplers=(normal, normal, variances, normal, normal),
        ref64=True,
    ),
    Case(
        "batch_norm_axis1_no_affine",
        lambda x, m, v: sg.nn.batch_norm(x, m, v, None, None, epsilon=1e-5, axis=1),
        lambda x, m, v: np_batch_norm(x, m, v, None, None, epsilon=1e-5, axis=1),
        [((4, 3, 2, 2), (3,), (3,))],
        samplers=(normal, normal, variances),
        ref64=True,
    ),
    Case(
        "batch_norm_training",
        lambda x, s, b: sg.nn.batch_norm(x, *sg.nn.moments(x, (0, 1, 2)), b, s),
        lambda x, s, b: np_batch_norm(x, *np_moments(x, (0, 1, 2)), b, s),
        [((4, 3, 2, 5), (5,), (5,))],
        ref64=True,
        rtol=1e-5,
    ),
]
