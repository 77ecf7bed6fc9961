"""Convolutions (``sg.nn.conv2d``, ``sg.nn.conv1d``) and their two gradients as ops.

One primitive, ``Conv2D``, works on channels-last data: x (n, h, w, c) and a Keras
filter (kh, kw, c // groups, oc) give y (n, oh, ow, oc) with

    y[b, p, q, g*ocg + o] = sum_{i, j, ci} xp[b, p*sh + i*dh, q*sw + j*dw, g*cg + ci]
                                           * w[i, j, ci, g*ocg + o]

where xp is x zero-padded by (pt, pb) rows and (pl, pr) columns, cg = c // groups and
ocg = oc // groups. Output sizes: "valid" / explicit padding gives
oh = (h + pt + pb - ((kh - 1)*dh + 1)) // sh + 1; "same" gives oh = ceil(h / sh) with
TF's rule: total padding max((oh - 1)*sh + (kh - 1)*dh + 1 - h, 0), the odd pixel at
the bottom (right). channels-first data (NCHW) is transposed on the way in and out.
conv1d is conv2d over a unit height.

The gradient w.r.t. x (``Conv2DGradInput``) and w.r.t. the filter
(``Conv2DGradFilter``) are ops of their own; each takes the tensor whose gradient it
computes as a last input for its shape only (so symbolic sizes flow through). The three
are bilinear adjoints of each other, which gives every second derivative.

C: im2col + BLAS gemm (csrc/symgraph_conv.h), chosen by measurement: on the tutorial
CNN's layers (batch 64, float32, "valid", one thread, best of 60, 2-core development
machine) x (64,28,28,1) * w (5,5,1,32) took 2.5 ms forward by im2col + sgemm against
3.5 ms by a direct loop register-blocked over 32 output channels (18 ms unblocked), and
x (64,12,12,32) * w (5,5,32,64) 4.9 ms (about 80 GFLOP/s) against 23-33 ms. The
direct loop is not kept, except for one input channel (a grayscale first layer: K = kh*kw
= 25 leaves gemm packing more than computing), where a loop over 32 output channels in
vector registers beat im2col + sgemm, forward 1.2-2x and filter gradient 1.3-1.4x for
x (64,28,28,1) * w (5,5,1,32) (interleaved A/B, best of 80, 2 pinned cores). The kernels
run blocks of the batch on OpenMP's threads with BLAS on one thread: see the header.

A bias add and activation after ``Conv2D`` (any elementwise loop reading per element,
per channel or one element) run inside its forward kernel: the fusion pass makes a
``FusedConv2D`` (ops/fused.py) whose epilogue the kernel calls on each block of output
pixels, on the thread that computed it (``sg_conv_epilogue`` in the header).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from symgraph.errors import DTypeError, ShapeError, UnsupportedError, user_location
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply, describe_failure
from symgraph.graph.shape import Dim
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.elementwise import FLOAT, TensorLike, promote
from symgraph.ops.registry import register
from symgraph.ops.shape_ops import expand_dims, squeeze, transpose

Pair = tuple[int, int]
# "same", or explicit ((top, bottom), (left, right)) zero padding
Padding = Union[str, tuple[Pair, Pair]]


# --- arguments ---------------------------------------------------------------------


def fail(op_name: str, inputs: Sequence[Tensor], message: str, error: type[Exception] = ShapeError) -> Exception:
    """An error naming the public function, its inputs' types and the user's line (the
    format of errors raised while a node is built)."""
    return error(describe_failure(_Named(op_name), tuple(inputs), user_location(), message))  # type: ignore[arg-type]


class _Named:
    """What describe_failure reads of an op: its name."""

    def __init__(self, name: str):
        self.name = name


def int_pair(value: Any, what: str, op_name: str, inputs: Sequence[Tensor], minimum: int = 1) -> Pair:
    """An int or a pair of ints, as a pair, each at least ``minimum``."""
    items = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        pair = tuple(int(v) for v in items)
        ok = len(pair) == 2 and all(not isinstance(v, bool) for v in items)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(pair) < minimum:
        raise fail(op_name, inputs, f"{what} must be an int or a pair of ints >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def padding_arg(padding: Any, op_name: str, inputs: Sequence[Tensor], explicit: bool = True) -> Padding:
    """The padding as ops hold it: "same", or explicit ((top, bottom), (left, right))
    ("valid" is all zeros)."""
    if isinstance(padding, str):
        if padding.lower() == "same":
            return "same"
        if padding.lower() == "valid":
            return ((0, 0), (0, 0))
    elif explicit:
        try:
            (t, b), (left, right) = padding
            pads = ((int(t), int(b)), (int(left), int(right)))
            if min(min(p) for p in pads) >= 0:
                return pads
        except (TypeError, ValueError):
            pass
    allowed = '"valid", "same" or ((top, bottom), (left, right))' if explicit else '"valid" or "same"'
    raise fail(op_name, inputs, f"padding must be {allowed}, got {padding!r}")


def data_format_arg(data_format: str, allowed: tuple[str, str], op_name: str, inputs: Sequence[Tensor]) -> bool:
    """True for channels-first (the second of ``allowed``), False for channels-last."""
    if data_format not in allowed:
        raise fail(op_name, inputs, f"data_format must be {allowed[0]!r} or {allowed[1]!r}, got {data_format!r}")
    return data_format == allowed[1]


# --- geometry ----------------------------------------------------------------------


def output_size(size: Dim, kernel: Dim, stride: int, dilation: int, pads: Pair | str) -> Dim:
    """The output length of one spatial axis (may be negative when static: the caller checks)."""
    if pads == "same":
        return shp.ceildiv(size, stride)
    effective = (kernel - 1) * dilation + 1
    out = shp.floordiv(size + pads[0] + pads[1] - effective, stride) + 1
    return out if isinstance(out, int) else shp.nonneg(out)


def check_window_fits(size: Dim, kernel: Dim, dilation: int, pads: Pair | str, axis: str) -> None:
    """ShapeError when a static padded input is shorter than the (dilated) window."""
    if pads == "same":
        return
    effective = (kernel - 1) * dilation + 1
    padded = size + pads[0] + pads[1]
    if isinstance(padded, int) and isinstance(effective, int) and padded < effective:
        raise ShapeError(
            f"the input {axis} ({size}, padded {padded}) is smaller than the window's ({effective}"
            f"{f' = ({kernel}-1)*{dilation}+1' if dilation != 1 else ''})"
        )


def resolve_pads(size: int, kernel: int, stride: int, dilation: int, pads: Pair | str) -> tuple[Pair, int]:
    """((before, after), output size) for concrete sizes (the references)."""
    effective = (kernel - 1) * dilation + 1
    if pads == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return (total // 2, total - total // 2), out
    if size + pads[0] + pads[1] < effective:
        raise ShapeError(
            f"the input ({size}, padded {size + pads[0] + pads[1]}) is smaller than the window ({effective})"
        )
    return (pads[0], pads[1]), (size + pads[0] + pads[1] - effective) // stride + 1


def window_slice(offset: int, stride: int, count: int) -> slice:
    """The padded-input positions that ``count`` outputs read at window offset ``offset``."""
    return slice(offset, offset + (count - 1) * stride + 1, stride)


def geometry_c(
    x: tuple[str, str, str, str],
    kernel: tuple[str, str],
    oc: str,
    out: tuple[str, str],
    strides: Pair,
    dilation: Pair,
    padding: Padding,
    groups: int,
) -> list[str]:
    """C statements declaring ``sg_conv_geom cv`` for the kernels of csrc/symgraph_conv.h,
    with the call-time checks that static shapes made at build time: the padded input
    holds a window, and the output sizes are the ones the geometry implies."""
    n, h, w, c = x
    lines = [
        "sg_conv_geom cv;",
        f"cv.n = {n}; cv.h = {h}; cv.w = {w}; cv.c = {c};",
        f"cv.kh = {kernel[0]}; cv.kw = {kernel[1]}; cv.oc = {oc};",
        f"cv.oh = {out[0]}; cv.ow = {out[1]};",
        f"cv.sh = {strides[0]}; cv.sw = {strides[1]}; cv.dh = {dilation[0]}; cv.dw = {dilation[1]};",
        f"cv.groups = {groups};",
    ]
    for axis, (size, k, o, s, d, pad) in enumerate(
        (("cv.h", "cv.kh", "cv.oh", "cv.sh", "cv.dh", "cv.pt"), ("cv.w", "cv.kw", "cv.ow", "cv.sw", "cv.dw", "cv.pl"))
    ):
        name = ("height", "width")[axis]
        effective = f"(({k} - 1)*{d} + 1)"
        if padding == "same":
            expected = f"(({size} + {s} - 1) / {s})"
            lines.append(f"{pad} = sg_max_i64(({o} - 1)*{s} + {effective} - {size}, 0) / 2;")
        else:
            before, after = padding[axis]
            lines += [
                f"{pad} = {before};",
                f"if ({size} + {before + after} < {effective}) SG_FAIL(SG_ERR_SHAPE, "
                f'"the input {name} (%lld, padded %lld) is smaller than the window\'s (%lld)", '
                f"(long long){size}, (long long)({size} + {before + after}), (long long){effective});",
            ]
            expected = f"(({size} + {before + after} - {effective}) / {s} + 1)"
        lines.append(
            f"if ({o} != {expected}) SG_FAIL(SG_ERR_SHAPE, "
            f'"output {name} %lld does not match the input\'s (%lld)", '
            f"(long long){o}, (long long){expected});"
        )
    return lines


def _suffix(x: CArray) -> str:
    return "f32" if x.ctype == "float" else "f64"


# --- the numpy references (NHWC, computed in float64) --------------------------------


class _Geometry:
    """Concrete sizes of one convolution, for the references."""

    def __init__(self, x_shape: tuple, w_shape: tuple, op: ConvOp):
        self.n, self.h, self.w, self.c = x_shape
        self.kh, self.kw, self.cg, self.oc = w_shape
        self.groups = op.groups
        self.ocg = self.oc // self.groups
        pads = op.padding
        (self.pads_h, self.oh) = resolve_pads(
            self.h, self.kh, op.strides[0], op.dilation[0], pads if pads == "same" else pads[0]
        )
        (self.pads_w, self.ow) = resolve_pads(
            self.w, self.kw, op.strides[1], op.dilation[1], pads if pads == "same" else pads[1]
        )
        self.strides, self.dilation = op.strides, op.dilation
        if self.c != self.cg * self.groups or self.oc % self.groups:
            raise ShapeError(
                f"x has {self.c} channels and the filter {self.cg} per group x {self.groups} groups "
                f"with {self.oc} outputs: they do not fit"
            )

    def check_output_grad(self, gy: np.ndarray) -> None:
        if gy.shape != (self.n, self.oh, self.ow, self.oc):
            raise ShapeError(f"the output gradient's shape {gy.shape} is not y's {(self.n, self.oh, self.ow, self.oc)}")

    def padded_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.h + sum(self.pads_h), self.w + sum(self.pads_w), self.c)

    def windows(self):
        """(row slice, column slice, i, j) of every filter tap over the padded input."""
        for i in range(self.kh):
            for j in range(self.kw):
                rows = window_slice(i * self.dilation[0], self.strides[0], self.oh)
                cols = window_slice(j * self.dilation[1], self.strides[1], self.ow)
                yield rows, cols, i, j

    def grouped_filter(self, tap: np.ndarray) -> np.ndarray:
        """w[i, j] (cg, oc) as (groups, cg, ocg)."""
        return tap.reshape(self.cg, self.groups, self.ocg).transpose(1, 0, 2)

    def interior(self) -> tuple[slice, slice]:
        return slice(self.pads_h[0], self.pads_h[0] + self.h), slice(self.pads_w[0], self.pads_w[0] + self.w)


def conv2d_reference(x: np.ndarray, w: np.ndarray, op: ConvOp) -> np.ndarray:
    geo = _Geometry(x.shape, w.shape, op)
    y = np.zeros((geo.n, geo.oh, geo.ow, geo.groups, geo.ocg))
    if y.size and geo.c:
        xp = np.zeros(geo.padded_shape())
        xp[(slice(None), *geo.interior())] = x
        for rows, cols, i, j in geo.windows():
            patch = xp[:, rows, cols, :].reshape(geo.n, geo.oh, geo.ow, geo.groups, geo.cg)
            y += np.einsum("nhwgc,gco->nhwgo", patch, geo.grouped_filter(w[i, j].astype(np.float64)))
    return y.reshape(geo.n, geo.oh, geo.ow, geo.oc).astype(x.dtype)


def conv2d_grad_input_reference(gy: np.ndarray, w: np.ndarray, x_like: np.ndarray, op: ConvOp) -> np.ndarray:
    geo = _Geometry(x_like.shape, w.shape, op)
    geo.check_output_grad(gy)
    dxp = np.zeros(geo.padded_shape())
    if gy.size and geo.c:
        g = gy.astype(np.float64).reshape(geo.n, geo.oh, geo.ow, geo.groups, geo.ocg)
        for rows, cols, i, j in geo.windows():
            contribution = np.einsum("nhwgo,gco->nhwgc", g, geo.grouped_filter(w[i, j].astype(np.float64)))
            dxp[:, rows, cols, :] += contribution.reshape(geo.n, geo.oh, geo.ow, geo.c)
    return dxp[(slice(None), *geo.interior())].astype(x_like.dtype)


def conv2d_grad_filter_reference(x: np.ndarray, gy: np.ndarray, w_like: np.ndarray, op: ConvOp) -> np.ndarray:
    geo = _Geometry(x.shape, w_like.shape, op)
    geo.check_output_grad(gy)
    dw = np.zeros(w_like.shape)
    if gy.size and geo.c:
        xp = np.zeros(geo.padded_shape())
        xp[(slice(None), *geo.interior())] = x
        g = gy.astype(np.float64).reshape(geo.n, geo.oh, geo.ow, geo.groups, geo.ocg)
        for rows, cols, i, j in geo.windows():
            patch = xp[:, rows, cols, :].reshape(geo.n, geo.oh, geo.ow, geo.groups, geo.cg)
            tap = np.einsum("nhwgc,nhwgo->gco", patch, g)  # (groups, cg, ocg)
            dw[i, j] = tap.transpose(1, 0, 2).reshape(geo.cg, geo.oc)
    return dw.astype(w_like.dtype)


# --- the ops ---------------------------------------------------------------------------


class ConvOp(CLinkerOp):
    """What the three convolution ops share: attributes, type checks, C geometry."""

    def __init__(self, strides: Pair, dilation: Pair, padding: Padding, groups: int):
        self.strides = tuple(strides)
        self.dilation = tuple(dilation)
        self.padding = padding if padding == "same" else tuple(tuple(p) for p in padding)
        self.groups = int(groups)

    def output_shape(self, x: Tensor, w: Tensor) -> tuple[Dim, ...]:
        """Checks x (n, h, w, c) against the filter (kh, kw, c // groups, oc): y's shape."""
        for t, what in ((x, "x"), (w, "filter")):
            if t.ndim != 4:
                raise ShapeError(f"{what} must have rank 4, got {shp.shape_str(t.shape)}")
            if t.dtype.kind != "f":
                raise DTypeError(f"{what} must be float, got {t.dtype.name}")
        if x.dtype != w.dtype:
            raise DTypeError(f"x and the filter must share a dtype, got {x.dtype.name} and {w.dtype.name}")
        n, h, wd, c = x.shape
        kh, kw, cin, oc = w.shape
        expected_c = cin * self.groups
        if isinstance(c, int) and isinstance(expected_c, int) and c != expected_c:
            raise ShapeError(
                f"x has {c} channels but the filter expects {cin} per group x {self.groups} groups = {expected_c} "
                "(filter layout: (kh, kw, in_channels // groups, out_channels))"
            )
        if isinstance(oc, int) and oc % self.groups:
            raise ShapeError(f"the filter's {oc} output channels do not split into {self.groups} groups")
        pads = self.padding
        check_window_fits(h, kh, self.dilation[0], pads if pads == "same" else pads[0], "height")
        check_window_fits(wd, kw, self.dilation[1], pads if pads == "same" else pads[1], "width")
        oh = output_size(h, kh, self.strides[0], self.dilation[0], pads if pads == "same" else pads[0])
        ow = output_size(wd, kw, self.strides[1], self.dilation[1], pads if pads == "same" else pads[1])
        return (n, oh, ow, oc)

    def check_output_grad(self, gy: Tensor, x: Tensor, w: Tensor) -> None:
        expected = self.output_shape(x, w)
        if gy.ndim != 4 or gy.dtype != x.dtype:
            raise ShapeError(f"the output gradient must be {x.dtype.name}{shp.shape_str(expected)}, got {gy.type}")
        for got, want in zip(gy.shape, expected):
            if isinstance(got, int) and isinstance(want, int) and got != want:
                raise ShapeError(
                    f"the output gradient's shape {shp.shape_str(gy.shape)} is not y's {shp.shape_str(expected)}"
                )

    def geometry(self, x: CArray, w: CArray, y: CArray, checks: bool = True) -> list[str]:
        lines = geometry_c(
            x.shape,
            w.shape[:2],
            w.shape[3],
            y.shape[1:3],
            self.strides,
            self.dilation,
            self.padding,
            self.groups,
        )
        lines.append(
            f"if (({w.shape[2]})*{self.groups} != cv.c) SG_FAIL(SG_ERR_SHAPE, "
            f'"x has %lld channels but the filter expects %lld per group x {self.groups} groups", '
            f"(long long)cv.c, (long long)({w.shape[2]}));"
        )
        if checks:
            for what, a, b in (("batch size", y.shape[0], x.shape[0]), ("channel count", y.shape[3], w.shape[3])):
                if a != b:
                    lines.append(
                        f"if (({a}) != ({b})) SG_FAIL(SG_ERR_SHAPE, "
                        f"\"the output gradient's {what} %lld is not y's (%lld)\", (long long)({a}), (long long)({b}));"
                    )
        return lines


@register
class Conv2D(ConvOp):
    """y = conv2d(x, w), channels-last (see the module's docstring for the formula)."""

    name = "conv2d"

    def infer(self, x: Tensor, w: Tensor) -> TensorType:
        return TensorType(x.dtype, self.output_shape(x, w))

    def reference(self, x, w):
        return conv2d_reference(x, w, self)

    def c_kernel(self, inputs, outputs, epilogue: str = "NULL"):
        """``epilogue``: a pointer to the ``sg_conv_epilogue`` run on each block of output
        pixels (a fused node's: symgraph/ops/fused.py FusedConv2D)."""
        (x, w), (y,) = inputs, outputs
        lines = self.geometry(x, w, y, checks=False)
        lines.append(
            f"SG_TRY(sg_conv2d_forward_{_suffix(x)}(&cv, {x.ptr}, {w.ptr}, {y.ptr}, {epilogue}, SG_ERR_ARGS));"
        )
        return "\n".join(lines)

    def grad(self, inputs, outputs, output_grads):
        (x, w), (gy,) = inputs, output_grads
        gx = apply(Conv2DGradInput(*self._args()), gy, w, x).outputs[0]
        gw = apply(Conv2DGradFilter(*self._args()), x, gy, w).outputs[0]
        return [gx, gw]

    def _args(self) -> tuple:
        return (self.strides, self.dilation, self.padding, self.groups)


@register
class Conv2DGradInput(ConvOp):
    """dx = conv2d_grad_input(gy, w, x): the gradient of sum(gy * conv2d(x, w)) w.r.t. x,
    dx[b, r, s, g*cg + ci] = sum over (p, q, i, j) with r = p*sh + i*dh - pt and
    s = q*sw + j*dw - pl of sum_o gy[b, p, q, g*ocg + o] * w[i, j, ci, g*ocg + o].
    ``x`` is used for its shape only."""

    name = "conv2d_grad_input"

    def infer(self, gy: Tensor, w: Tensor, x: Tensor) -> TensorType:
        self.check_output_grad(gy, x, w)
        return x.type

    def reference(self, gy, w, x):
        return conv2d_grad_input_reference(gy, w, x, self)

    def c_kernel(self, inputs, outputs):
        (gy, w, _), (dx,) = inputs, outputs
        lines = self.geometry(dx, w, gy)
        lines.append(f"SG_TRY(sg_conv2d_grad_input_{_suffix(gy)}(&cv, {gy.ptr}, {w.ptr}, {dx.ptr}, SG_ERR_ARGS));")
        return "\n".join(lines)

    def grad(self, inputs, outputs, output_grads):
        # dx is bilinear in (gy, w) and adjoint to conv2d in x
        (gy, w, _), (v,) = inputs, output_grads
        args = (self.strides, self.dilation, self.padding, self.groups)
        g_gy = apply(Conv2D(*args), v, w).outputs[0]
        g_w = apply(Conv2DGradFilter(*args), v, gy, w).outputs[0]
        return [g_gy, g_w, None]


@register
class Conv2DGradFilter(ConvOp):
    """dw = conv2d_grad_filter(x, gy, w): the gradient of sum(gy * conv2d(x, w)) w.r.t. w,
    dw[i, j, ci, g*ocg + o] = sum_{b, p, q} xp[b, p*sh + i*dh, q*sw + j*dw, g*cg + ci]
    * gy[b, p, q, g*ocg + o]. ``w`` is used for its shape only."""

    name = "conv2d_grad_filter"

    def infer(self, x: Tensor, gy: Tensor, w: Tensor) -> TensorType:
        self.check_output_grad(gy, x, w)
        return w.type

    def reference(self, x, gy, w):
        return conv2d_grad_filter_reference(x, gy, w, self)

    def c_kernel(self, inputs, outputs):
        (x, gy, _), (dw,) = inputs, outputs
        lines = self.geometry(x, dw, gy)
        lines.append(f"SG_TRY(sg_conv2d_grad_filter_{_suffix(x)}(&cv, {x.ptr}, {gy.ptr}, {dw.ptr}, SG_ERR_ARGS));")
        return "\n".join(lines)

    def grad(self, inputs, outputs, output_grads):
        (x, gy, _), (v,) = inputs, output_grads
        args = (self.strides, self.dilation, self.padding, self.groups)
        g_x = apply(Conv2DGradInput(*args), gy, v, x).outputs[0]
        g_gy = apply(Conv2D(*args), x, v).outputs[0]
        return [g_x, g_gy, None]


# --- the public functions --------------------------------------------------------------


def conv2d(
    x: TensorLike,
    w: TensorLike,
    strides: int | Pair = 1,
    padding: str | tuple[Pair, Pair] = "valid",
    dilation: int | Pair = 1,
    groups: int = 1,
    data_format: str = "NHWC",
) -> Tensor:
    """2-D convolution (cross-correlation, as TF and Keras) of x by the filter w.

    x is (n, h, w, c) for data_format "NHWC" or (n, c, h, w) for "NCHW"; w is
    (kh, kw, c // groups, out_channels) as Keras stores it. ``strides`` and
    ``dilation``: an int or a (rows, columns) pair. ``padding``: "valid", "same" (TF's:
    output ceil(size / stride), the odd padding pixel at the bottom/right) or explicit
    ((top, bottom), (left, right)). No bias: add it. Batch and spatial sizes may be
    symbolic. Integer operands are converted to float.
    """
    x, w = promote((x, w), FLOAT)
    inputs = (x, w)
    strides_ = int_pair(strides, "strides", "conv2d", inputs)
    dilation_ = int_pair(dilation, "dilation", "conv2d", inputs)
    padding_ = padding_arg(padding, "conv2d", inputs)
    channels_first = data_format_arg(data_format, ("NHWC", "NCHW"), "conv2d", inputs)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise fail("conv2d", inputs, f"groups must be a positive int, got {groups!r}")
    if x.ndim != 4 or w.ndim != 4:
        raise fail(
            "conv2d", inputs, f"x and the filter must have rank 4 (x {data_format}, filter (kh, kw, in // groups, out))"
        )
    if channels_first:
        x = transpose(x, (0, 2, 3, 1))
    y = apply(Conv2D(strides_, dilation_, padding_, int(groups)), x, w).outputs[0]
    return transpose(y, (0, 3, 1, 2)) if channels_first else y


def conv1d(
    x: TensorLike,
    w: TensorLike,
    strides: int = 1,
    padding: str | Pair = "valid",
    dilation: int = 1,
    groups: int = 1,
    data_format: str = "NWC",
) -> Tensor:
    """1-D convolution: conv2d over a unit height. x is (n, w, c) ("NWC") or (n, c, w)
    ("NCW"); w is (kw, c // groups, out_channels). ``padding``: "valid", "same",
    "causal" (dilation*(kw - 1) zeros on the left only: output t sees inputs <= t) or an
    explicit (left, right) pair."""
    x, w = promote((x, w), FLOAT)
    inputs = (x, w)
    channels_first = data_format_arg(data_format, ("NWC", "NCW"), "conv1d", inputs)
    if x.ndim != 3 or w.ndim != 3:
        raise fail(
            "conv1d", inputs, f"x and the filter must have rank 3 (x {data_format}, filter (kw, in // groups, out))"
        )
    stride = int_pair(strides, "strides", "conv1d", inputs)
    rate = int_pair(dilation, "dilation", "conv1d", inputs)
    if stride[0] != stride[1] or rate[0] != rate[1]:
        raise fail("conv1d", inputs, f"strides and dilation must be ints, got {strides!r} and {dilation!r}")
    if isinstance(padding, str) and padding.lower() == "causal":
        kw = w.shape[0]
        if not isinstance(kw, int):
            raise fail("conv1d", inputs, "causal padding needs a static filter width", UnsupportedError)
        pads: Any = ((0, 0), (rate[0] * (kw - 1), 0))
    elif isinstance(padding, str):
        pads = padding
    else:
        try:
            left, right = padding
            pads = ((0, 0), (int(left), int(right)))
        except (TypeError, ValueError):
            raise fail(
                "conv1d", inputs, f'padding must be "valid", "same", "causal" or (left, right), got {padding!r}'
            ) from None
    if channels_first:
        x = transpose(x, (0, 2, 1))
    y = conv2d(expand_dims(x, 1), expand_dims(w, 0), (1, stride[0]), pads, (1, rate[0]), groups, "NHWC")
    y = squeeze(y, 1)
    return transpose(y, (0, 2, 1)) if channels_first else y


__all__ = ["conv1d", "conv2d"]
