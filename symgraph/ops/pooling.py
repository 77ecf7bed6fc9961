"""Pooling: ``sg.nn.max_pool2d``, ``avg_pool2d`` and the global pools.

``MaxPool2D`` and ``AvgPool2D`` work on channels-last data x (n, h, w, c) with a
(ph, pw) window moved by (sh, sw):

    max:  y[b, p, q, ch] = max over the window's in-bounds pixels of x[b, r, s, ch]
    avg:  y[b, p, q, ch] = mean over the window's in-bounds pixels

with r = p*sh - pt + i, s = q*sw - pl + j. "valid" has no padding; "same" pads as TF
(total max((out - 1)*stride + window - size, 0), the odd pixel at the bottom/right) and
the padding is never part of a window: the maximum skips it and the average divides by
the in-bounds count (as Keras). channels-first data is transposed in and out.

Gradients: the max routes each output's gradient to its window's first maximum
(row-major window order; the first NaN if there is one), ``MaxPool2DGrad``; its adjoint
``MaxPool2DGather`` reads a tensor at the same positions, which gives the second
derivative. The average's gradient spreads each output's gradient evenly over its
window, ``AvgPool2DGrad``, whose adjoint is the average pool itself.

The global pools are reductions (sg.mean / sg.max over the spatial axes).
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import DTypeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.conv import (
    Padding,
    Pair,
    check_window_fits,
    data_format_arg,
    fail,
    geometry_c,
    int_pair,
    output_size,
    padding_arg,
    resolve_pads,
    window_slice,
)
from symgraph.ops.elementwise import FLOAT, TensorLike, promote
from symgraph.ops.reduction import max as reduce_max
from symgraph.ops.reduction import mean
from symgraph.ops.registry import register
from symgraph.ops.shape_ops import transpose


class _Windows:
    """Concrete sizes of one pooling (for the references)."""

    def __init__(self, shape: tuple, op: PoolOp):
        self.n, self.h, self.w, self.c = shape
        pads = op.padding
        self.pads_h, self.oh = resolve_pads(self.h, op.pool[0], op.strides[0], 1, pads if pads == "same" else pads[0])
        self.pads_w, self.ow = resolve_pads(self.w, op.pool[1], op.strides[1], 1, pads if pads == "same" else pads[1])
        self.pool, self.strides = op.pool, op.strides

    def check_shape(self, a: np.ndarray, pooled: bool, what: str) -> None:
        expected = (self.n, self.oh, self.ow, self.c) if pooled else (self.n, self.h, self.w, self.c)
        if a.shape != expected:
            raise ShapeError(f"{what} has shape {a.shape}, expected {expected}")

    def padded(self, x: np.ndarray, fill: float) -> np.ndarray:
        xp = np.full((self.n, self.h + sum(self.pads_h), self.w + sum(self.pads_w), self.c), fill, dtype=np.float64)
        xp[:, self.pads_h[0] : self.pads_h[0] + self.h, self.pads_w[0] : self.pads_w[0] + self.w] = x
        return xp

    def taps(self):
        for i in range(self.pool[0]):
            for j in range(self.pool[1]):
                yield window_slice(i, self.strides[0], self.oh), window_slice(j, self.strides[1], self.ow)

    def crop(self, xp: np.ndarray) -> np.ndarray:
        return xp[:, self.pads_h[0] : self.pads_h[0] + self.h, self.pads_w[0] : self.pads_w[0] + self.w]

    def counts(self) -> np.ndarray:
        """The in-bounds pixel count of every window, (oh, ow, 1)."""
        inside = np.zeros((self.h + sum(self.pads_h), self.w + sum(self.pads_w)))
        inside[self.pads_h[0] : self.pads_h[0] + self.h, self.pads_w[0] : self.pads_w[0] + self.w] = 1
        total = np.zeros((self.oh, self.ow))
        for rows, cols in self.taps():
            total += inside[rows, cols]
        return np.maximum(total, 1)[:, :, None]

    def argmax(self, x: np.ndarray) -> np.ndarray:
        """The flat index into the padded input of each window's first maximum, (n, oh, ow, c)."""
        xp = self.padded(x, -np.inf)
        if self.oh * self.ow * self.n * self.c == 0:
            return np.zeros((self.n, self.oh, self.ow, self.c), dtype=np.int64)
        stacked = np.stack([xp[:, rows, cols, :] for rows, cols in self.taps()])  # (taps, n, oh, ow, c)
        which = np.argmax(stacked, axis=0)
        i, j = np.divmod(which, self.pool[1])
        b = np.arange(self.n)[:, None, None, None]
        p = np.arange(self.oh)[None, :, None, None]
        q = np.arange(self.ow)[None, None, :, None]
        ch = np.arange(self.c)[None, None, None, :]
        return np.ravel_multi_index((b + 0 * i, p * self.strides[0] + i, q * self.strides[1] + j, ch + 0 * i), xp.shape)


class PoolOp(CLinkerOp):
    """What the pooling ops share: attributes, the type rule, the C geometry."""

    def __init__(self, pool: Pair, strides: Pair, padding: Padding):
        self.pool = tuple(pool)
        self.strides = tuple(strides)
        self.padding = padding if padding == "same" else tuple(tuple(p) for p in padding)

    def output_shape(self, x: Tensor) -> tuple:
        if x.ndim != 4:
            raise ShapeError(f"x must have rank 4, got {shp.shape_str(x.shape)}")
        if x.dtype.kind != "f":
            raise DTypeError(f"x must be float, got {x.dtype.name}")
        n, h, w, c = x.shape
        pads = self.padding
        pads_h, pads_w = (pads, pads) if pads == "same" else pads
        check_window_fits(h, self.pool[0], 1, pads_h, "height")
        check_window_fits(w, self.pool[1], 1, pads_w, "width")
        return (
            n,
            output_size(h, self.pool[0], self.strides[0], 1, pads_h),
            output_size(w, self.pool[1], self.strides[1], 1, pads_w),
            c,
        )

    def check_pooled(self, y: Tensor, x: Tensor, what: str) -> None:
        expected = self.output_shape(x)
        if y.ndim != 4 or y.dtype != x.dtype:
            raise ShapeError(f"{what} must be {x.dtype.name}{shp.shape_str(expected)}, got {y.type}")
        for got, want in zip(y.shape, expected):
            if isinstance(got, int) and isinstance(want, int) and got != want:
                raise ShapeError(f"{what}'s shape {shp.shape_str(y.shape)} is not the pooled {shp.shape_str(expected)}")

    def geometry(self, x: CArray, y: CArray) -> list[str]:
        lines = geometry_c(
            x.shape,
            (str(self.pool[0]), str(self.pool[1])),
            x.shape[3],
            y.shape[1:3],
            self.strides,
            (1, 1),
            self.padding,
            1,
        )
        for what, a, b in (("batch size", y.shape[0], x.shape[0]), ("channel count", y.shape[3], x.shape[3])):
            if a != b:
                lines.append(
                    f"if (({a}) != ({b})) SG_FAIL(SG_ERR_SHAPE, "
                    f'"the pooled {what} %lld is not the input\'s (%lld)", (long long)({a}), (long long)({b}));'
                )
        return lines


def _sfx(x: CArray) -> str:
    return "f32" if x.ctype == "float" else "f64"


@register
class MaxPool2D(PoolOp):
    """y = max over each window's in-bounds pixels (channels-last)."""

    name = "max_pool2d"

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, self.output_shape(x))

    def reference(self, x):
        win = _Windows(x.shape, self)
        xp = win.padded(x, -np.inf)
        y = np.full((win.n, win.oh, win.ow, win.c), -np.inf)
        with np.errstate(invalid="ignore"):
            for rows, cols in win.taps():
                y = np.maximum(y, xp[:, rows, cols, :])  # NaN propagates
        return y.astype(x.dtype)

    def c_kernel(self, inputs, outputs):
        (x,), (y,) = inputs, outputs
        return "\n".join([*self.geometry(x, y), f"sg_pool_max_{_sfx(x)}(&cv, {x.ptr}, {y.ptr});"])

    def grad(self, inputs, outputs, output_grads):
        (x,), (gy,) = inputs, output_grads
        return [apply(MaxPool2DGrad(self.pool, self.strides, self.padding), x, gy).outputs[0]]


@register
class MaxPool2DGrad(PoolOp):
    """dx = max_pool2d_grad(x, gy): each gy[b, p, q, ch] added at its window's first
    maximum in x (the gradient of sum(gy * max_pool2d(x)))."""

    name = "max_pool2d_grad"

    def infer(self, x: Tensor, gy: Tensor) -> TensorType:
        self.check_pooled(gy, x, "the output gradient")
        return x.type

    def reference(self, x, gy):
        win = _Windows(x.shape, self)
        win.check_shape(gy, True, "the output gradient")
        dxp = np.zeros((win.n, win.h + sum(win.pads_h), win.w + sum(win.pads_w), win.c))
        np.add.at(dxp.reshape(-1), win.argmax(x).reshape(-1), gy.astype(np.float64).reshape(-1))
        return win.crop(dxp).astype(x.dtype)

    def c_kernel(self, inputs, outputs):
        (x, gy), (dx,) = inputs, outputs
        lines = self.geometry(x, gy)
        if self.strides[0] >= self.pool[0] and self.strides[1] >= self.pool[1]:
            # windows never overlap: one pass writes dx (symgraph_pool.h)
            return "\n".join([*lines, f"sg_pool_max_grad_disjoint_{_sfx(x)}(&cv, {x.ptr}, {gy.ptr}, {dx.ptr});"])
        return "\n".join(
            [*lines, f"SG_TRY(sg_max_pool_route_{_sfx(x)}(&cv, {x.ptr}, {gy.ptr}, {dx.ptr}, 0, SG_ERR_ARGS));"]
        )

    def grad(self, inputs, outputs, output_grads):
        # linear in gy; piecewise constant in x (no gradient flows to it)
        (x, _), (v,) = inputs, output_grads
        return [None, apply(MaxPool2DGather(self.pool, self.strides, self.padding), x, v).outputs[0]]


@register
class MaxPool2DGather(PoolOp):
    """y = max_pool2d_gather(x, v): v read at each window's first maximum in x
    (the adjoint of max_pool2d_grad in its gradient argument)."""

    name = "max_pool2d_gather"

    def infer(self, x: Tensor, v: Tensor) -> TensorType:
        if (
            v.dtype != x.dtype
            or v.ndim != 4
            or any(isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(v.shape, x.shape))
        ):
            raise ShapeError(f"v must have x's type {x.type}, got {v.type}")
        return TensorType(x.dtype, self.output_shape(x))

    def reference(self, x, v):
        win = _Windows(x.shape, self)
        win.check_shape(v, False, "v")
        vp = win.padded(v, 0.0)
        return vp.reshape(-1)[win.argmax(x)].astype(x.dtype)

    def c_kernel(self, inputs, outputs):
        (x, v), (y,) = inputs, outputs
        lines = self.geometry(x, y)
        for d, (a, b) in enumerate(zip(v.shape, x.shape)):
            if a != b:
                lines.append(
                    f"if (({a}) != ({b})) SG_FAIL(SG_ERR_SHAPE, "
                    f"\"v's axis {d} has size %lld, x's %lld\", (long long)({a}), (long long)({b}));"
                )
        return "\n".join(
            [*lines, f"SG_TRY(sg_max_pool_route_{_sfx(x)}(&cv, {x.ptr}, {v.ptr}, {y.ptr}, 1, SG_ERR_ARGS));"]
        )

    def grad(self, inputs, outputs, output_grads):
        (x, _), (g,) = inputs, output_grads
        return [None, apply(MaxPool2DGrad(self.pool, self.strides, self.padding), x, g).outputs[0]]


@register
class AvgPool2D(PoolOp):
    """y = mean over each window's in-bounds pixels (channels-last)."""

    name = "avg_pool2d"

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, self.output_shape(x))

    def reference(self, x):
        win = _Windows(x.shape, self)
        xp = win.padded(x, 0.0)
        y = np.zeros((win.n, win.oh, win.ow, win.c))
        for rows, cols in win.taps():
            y += xp[:, rows, cols, :]
        return (y / win.counts()).astype(x.dtype)

    def c_kernel(self, inputs, outputs):
        (x,), (y,) = inputs, outputs
        return "\n".join([*self.geometry(x, y), f"sg_avg_pool_{_sfx(x)}(&cv, {x.ptr}, {y.ptr});"])

    def grad(self, inputs, outputs, output_grads):
        (x,), (gy,) = inputs, output_grads
        return [apply(AvgPool2DGrad(self.pool, self.strides, self.padding), gy, x).outputs[0]]


@register
class AvgPool2DGrad(PoolOp):
    """dx = avg_pool2d_grad(gy, x): each gy[b, p, q, ch] / count spread over its window's
    in-bounds pixels (the gradient of sum(gy * avg_pool2d(x))). ``x`` gives the shape only."""

    name = "avg_pool2d_grad"

    def infer(self, gy: Tensor, x: Tensor) -> TensorType:
        self.check_pooled(gy, x, "the output gradient")
        return x.type

    def reference(self, gy, x):
        win = _Windows(x.shape, self)
        win.check_shape(gy, True, "the output gradient")
        dxp = np.zeros((win.n, win.h + sum(win.pads_h), win.w + sum(win.pads_w), win.c))
        share = gy.astype(np.float64) / win.counts()
        for rows, cols in win.taps():
            dxp[:, rows, cols, :] += share
        return win.crop(dxp).astype(x.dtype)

    def c_kernel(self, inputs, outputs):
        (gy, _), (dx,) = inputs, outputs
        return "\n".join([*self.geometry(dx, gy), f"sg_avg_pool_grad_{_sfx(gy)}(&cv, {gy.ptr}, {dx.ptr});"])

    def grad(self, inputs, outputs, output_grads):
        _, (v,) = inputs, output_grads
        return [apply(AvgPool2D(self.pool, self.strides, self.padding), v).outputs[0], None]


# --- the public functions --------------------------------------------------------------


def _pool(op_class: type[PoolOp], name: str, x: TensorLike, pool_size, strides, padding, data_format: str) -> Tensor:
    (x,) = promote((x,), FLOAT)
    inputs = (x,)
    pool = int_pair(pool_size, "pool_size", name, inputs)
    stride = pool if strides is None else int_pair(strides, "strides", name, inputs)
    pads = padding_arg(padding, name, inputs, explicit=False)
    channels_first = data_format_arg(data_format, ("NHWC", "NCHW"), name, inputs)
    if x.ndim != 4:
        raise fail(name, inputs, f"x must have rank 4 ({data_format})")
    if channels_first:
        x = transpose(x, (0, 2, 3, 1))
    y = apply(op_class(pool, stride, pads), x).outputs[0]
    return transpose(y, (0, 3, 1, 2)) if channels_first else y


def max_pool2d(
    x: TensorLike,
    pool_size: int | Pair,
    strides: int | Pair | None = None,
    padding: str = "valid",
    data_format: str = "NHWC",
) -> Tensor:
    """The maximum over each pool_size window, moved by ``strides`` (None: pool_size);
    padding "valid" or "same" (padding never wins the maximum)."""
    return _pool(MaxPool2D, "max_pool2d", x, pool_size, strides, padding, data_format)


def avg_pool2d(
    x: TensorLike,
    pool_size: int | Pair,
    strides: int | Pair | None = None,
    padding: str = "valid",
    data_format: str = "NHWC",
) -> Tensor:
    """The mean over each pool_size window, moved by ``strides`` (None: pool_size);
    with "same" padding the padded pixels are left out of the count (as Keras)."""
    return _pool(AvgPool2D, "avg_pool2d", x, pool_size, strides, padding, data_format)


def _spatial_axes(x: Tensor, data_format: str, name: str) -> tuple[int, int]:
    channels_first = data_format_arg(data_format, ("NHWC", "NCHW"), name, (x,))
    if x.ndim != 4:
        raise fail(name, (x,), f"x must have rank 4 ({data_format})")
    return (2, 3) if channels_first else (1, 2)


def global_avg_pool2d(x: TensorLike, data_format: str = "NHWC", keepdims: bool = False) -> Tensor:
    """The mean over the spatial axes: (n, c), or (n, 1, 1, c) / (n, c, 1, 1) with keepdims."""
    (x,) = promote((x,), FLOAT)
    return mean(x, axis=_spatial_axes(x, data_format, "global_avg_pool2d"), keepdims=keepdims)


def global_max_pool2d(x: TensorLike, data_format: str = "NHWC", keepdims: bool = False) -> Tensor:
    """The maximum over the spatial axes: (n, c), or (n, 1, 1, c) / (n, c, 1, 1) with keepdims."""
    (x,) = promote((x,), FLOAT)
    return reduce_max(x, axis=_spatial_axes(x, data_format, "global_max_pool2d"), keepdims=keepdims)


__all__ = ["avg_pool2d", "global_avg_pool2d", "global_max_pool2d", "max_pool2d"]
