"""Image resampling: ``affine_transform`` (rotation, zoom, translation, shear, flips and
projective maps, one 8-entry matrix per image) and ``resize`` (bilinear with half-pixel
centers, nearest), on NHWC float images, with their gradients w.r.t. the image.

Both ops compute each output pixel as a weighted sum of at most four input pixels (its
taps) plus ``fill_value`` times the weight of the taps outside the image in constant
mode; csrc/symgraph_image.h says how the taps are found and the numpy references below
find them with the same double arithmetic in the same order, so "c" and "py" pick the
same pixels even where ``nearest`` rounds at a half.

- ``affine_transform(images, transform)``: Keras' convention (``keras.ops.image.
  affine_transform``, TensorFlow's ImageProjectiveTransformV3): transform row
  [a0, a1, a2, b0, b1, b2, c0, c1] maps output pixel (x, y) (column, row) to the input
  point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, an
  inverse map. One row per image, or one row for all. Bilinear or nearest, fill mode
  constant / reflect / wrap / nearest (Keras' meanings). Taps outside the image are
  mapped one by one (as Keras' numpy and JAX backends do; TensorFlow maps the point,
  which differs within half a pixel of the border for wrap).
- ``resize(images, size)``: TensorFlow's ``tf.image.resize`` (Keras' ``Resizing``)
  without antialiasing: bilinear reads around (o + 0.5) * in / out - 0.5 with the
  neighbours clamped to the image, nearest reads floor((o + 0.5) * in / out).

Gradients: both are linear in the image, so the gradient is the transposed map
(``*_grad``: every output gradient scattered back to its taps with the same weights;
nothing flows to fill values), whose own gradient is the forward map again. No
gradient flows to the transform: Keras has none (its transforms are random draws).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from symgraph.errors import DTypeError, InputError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import Dim
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.conv import fail
from symgraph.ops.elementwise import FLOAT, TensorLike, promote
from symgraph.ops.registry import register
from symgraph.ops.shape_ops import expand_dims, reshape, squeeze, transpose

INTERPOLATIONS = {"bilinear": 0, "nearest": 1}  # enum sg_image_interpolation
FILL_MODES = {"constant": 0, "reflect": 1, "wrap": 2, "nearest": 3}  # enum sg_image_fill_mode
FAR = 2.0**60  # SG_IMAGE_FAR: source coordinates are clamped to +-FAR

_INCLUDE = '#include "symgraph_image.h"\n'


# ---------------------------------------------------------------- the numpy references


def _fold(i: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Indices of an axis of n > 0 pixels mapped inside by the fill mode; -1 outside in
    constant mode (sg_image_fold)."""
    inside = (i >= 0) & (i < n)
    if fill_mode == "reflect":
        r = np.mod(i, 2 * n)
        folded = np.where(r < n, r, 2 * n - 1 - r)
    elif fill_mode == "wrap":
        folded = np.mod(i, n)
    elif fill_mode == "nearest":
        folded = np.clip(i, 0, n - 1)
    else:
        folded = np.full_like(i, -1)
    return np.where(inside, i, folded)


class _Taps:
    """Every output pixel's taps as arrays over (n, oh, ow): the row, column and weight
    of each of up to four taps (in sg_image_taps' order), whether it reads the image,
    and the weight of fill_value."""

    def __init__(self, shape: tuple[int, int, int]):
        self.shape = shape
        self.taps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.fill = np.zeros(shape)

    def add(self, row: np.ndarray, col: np.ndarray, weight: np.ndarray, h: int, w: int, fill_mode: str) -> None:
        r, s = _fold(row, h, fill_mode), _fold(col, w, fill_mode)
        valid = (r >= 0) & (s >= 0)
        self.fill = self.fill + np.where(valid, 0.0, weight)
        self.taps.append(
            tuple(np.broadcast_to(a, self.shape) for a in (np.where(valid, r, 0), np.where(valid, s, 0), weight, valid))
        )

    def sample(self, sy: np.ndarray, sx: np.ndarray, h: int, w: int, interpolation: str, fill_mode: str) -> None:
        """The taps at source points (sy, sx) (sg_image_sample_taps)."""
        with np.errstate(invalid="ignore"):
            dead = ~(np.isfinite(sy) & np.isfinite(sx))
        if h == 0 or w == 0:
            self.fill = np.ones(self.shape)
            return
        sy = np.clip(np.where(dead, 0.0, sy), -FAR, FAR)
        sx = np.clip(np.where(dead, 0.0, sx), -FAR, FAR)
        if interpolation == "nearest":
            self.add(np.floor(sy + 0.5).astype(np.int64), np.floor(sx + 0.5).astype(np.int64), 1.0, h, w, fill_mode)
        else:
            y0, x0 = np.floor(sy), np.floor(sx)
            fy, fx = sy - y0, sx - x0
            r, s = y0.astype(np.int64), x0.astype(np.int64)
            self.add(r, s, (1.0 - fy) * (1.0 - fx), h, w, fill_mode)
            self.add(r, s + 1, (1.0 - fy) * fx, h, w, fill_mode)
            self.add(r + 1, s, fy * (1.0 - fx), h, w, fill_mode)
            self.add(r + 1, s + 1, fy * fx, h, w, fill_mode)
        self.kill(dead)

    def kill(self, dead: np.ndarray) -> None:
        """The pixels of ``dead`` read fill_value alone."""
        if not np.any(dead):
            return
        self.taps = [(r, s, wt, valid & ~dead) for r, s, wt, valid in self.taps]
        self.fill = np.where(dead, 1.0, self.fill)

    def gather(self, x: np.ndarray, fill_value: float) -> np.ndarray:
        """The output: fill term, then each tap's contribution, summed in tap order."""
        b = np.arange(self.shape[0])[:, None, None]
        acc = np.where(self.fill != 0.0, self.fill * fill_value, 0.0)[..., None]
        acc = np.broadcast_to(acc, (*self.shape, x.shape[3]))
        x64 = x.astype(np.float64)
        for r, s, weight, valid in self.taps:
            acc = acc + np.where(valid[..., None], weight[..., None] * x64[b, r, s], 0.0)
        return acc.astype(x.dtype)

    def scatter(self, gy: np.ndarray, like: np.ndarray) -> np.ndarray:
        """The transposed map: each output gradient added to its taps' pixels with their weights."""
        dx = np.zeros(like.shape)
        b = np.broadcast_to(np.arange(self.shape[0])[:, None, None], self.shape)
        g64 = gy.astype(np.float64)
        for r, s, weight, valid in self.taps:
            np.add.at(dx, (b, r, s), np.where(valid[..., None], weight[..., None] * g64, 0.0))
        return dx.astype(like.dtype)


def _affine_taps(transform: np.ndarray, n: int, h: int, w: int, oh: int, ow: int, op: Any) -> _Taps:
    """The taps of an affine_transform (sg_image_affine_taps), with its shape checks."""
    tb = transform.shape[0]
    if transform.shape[1] != 8:
        raise ShapeError(f"a transform has 8 entries per image, got {transform.shape[1]}")
    if tb not in (1, n):
        raise ShapeError(f"{tb} transforms for {n} images (one per image, or one for all)")
    m = np.broadcast_to(transform.astype(np.float64), (n, 8))
    col = np.arange(ow, dtype=np.float64)[None, None, :]
    row = np.arange(oh, dtype=np.float64)[None, :, None]

    def entry(k: int) -> np.ndarray:
        return m[:, k, None, None]

    taps = _Taps((n, oh, ow))
    with np.errstate(all="ignore"):
        k = entry(6) * col + entry(7) * row + 1.0
        sx = (entry(0) * col + entry(1) * row + entry(2)) / k
        sy = (entry(3) * col + entry(4) * row + entry(5)) / k
    sx, sy = np.broadcast_to(sx, (n, oh, ow)), np.broadcast_to(sy, (n, oh, ow))
    taps.sample(sy, sx, h, w, op.interpolation, op.fill_mode)
    taps.kill(np.broadcast_to(k == 0.0, (n, oh, ow)))
    return taps


def _resize_taps(n: int, h: int, w: int, oh: int, ow: int, interpolation: str) -> _Taps:
    """The taps of a resize (sg_image_resize_taps)."""
    if (h == 0 and oh > 0) or (w == 0 and ow > 0):
        raise ShapeError(f"cannot resize an empty {h}x{w} image to {oh}x{ow}")
    taps = _Taps((n, oh, ow))
    if n * oh * ow == 0:
        return taps
    scale_y, scale_x = h / oh, w / ow
    oy = np.broadcast_to(np.arange(oh, dtype=np.float64)[None, :, None], (n, oh, ow))
    ox = np.broadcast_to(np.arange(ow, dtype=np.float64)[None, None, :], (n, oh, ow))
    if interpolation == "nearest":
        ny, nx = np.floor((oy + 0.5) * scale_y), np.floor((ox + 0.5) * scale_x)
        taps.add(ny.astype(np.int64), nx.astype(np.int64), np.ones((n, oh, ow)), h, w, "nearest")
        return taps
    sy, sx = (oy + 0.5) * scale_y - 0.5, (ox + 0.5) * scale_x - 0.5
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = sy - y0, sx - x0
    r, s = y0.astype(np.int64), x0.astype(np.int64)
    taps.add(r, s, (1.0 - fy) * (1.0 - fx), h, w, "nearest")
    taps.add(r, s + 1, (1.0 - fy) * fx, h, w, "nearest")
    taps.add(r + 1, s, fy * (1.0 - fx), h, w, "nearest")
    taps.add(r + 1, s + 1, fy * fx, h, w, "nearest")
    return taps


# ---------------------------------------------------------------- C


def _c_double(value: float) -> str:
    """A C double literal of ``value``, exactly."""
    if math.isnan(value):
        return "((double)NAN)"
    if math.isinf(value):
        return "((double)INFINITY)" if value > 0 else "(-(double)INFINITY)"
    return f"({float(value).hex()})"


def _c_sizes(x: CArray, y: CArray) -> str:
    """The image sizes as locals: n, h, w, c of the input, oh, ow of the output."""
    n, h, w, c = x.shape
    return f"const int64_t n = {n}, h = {h}, w = {w}, c = {c}, oh = {y.shape[1]}, ow = {y.shape[2]};"


def _c_same(what: str, a: str, b: str) -> str:
    return (
        f"if (({a}) != ({b})) SG_FAIL(SG_ERR_SHAPE, "
        f'"the {what} %lld is not the image\'s (%lld)", (long long)({a}), (long long)({b}));'
    )


def _c_transform(t: CArray) -> list[str]:
    """Checks of the transform's shape (8 entries, one row per image or one for all)."""
    return [
        f"const int64_t tb = {t.shape[0]};",
        f"if (({t.shape[1]}) != 8) SG_FAIL(SG_ERR_SHAPE, "
        f'"a transform has 8 entries per image, got %lld", (long long)({t.shape[1]}));',
        'if (tb != 1 && tb != n) SG_FAIL(SG_ERR_SHAPE, "%lld transforms for %lld images '
        '(one per image, or one for all)", (long long)tb, (long long)n);',
    ]


def _c_matrix(t: CArray) -> list[str]:
    """The transform of image b as doubles, m[8]."""
    return [
        "double m[8];",
        f"for (int k = 0; k < 8; k++) m[k] = (double)({t.ptr})[(tb == 1 ? 0 : b) * 8 + k];",
    ]


def _c_gather(x: CArray, y: CArray, taps_call: str, per_image: list[str], fill: str) -> list[str]:
    """The forward loop: every output row (image b, row oy) on some thread, each pixel's
    taps from ``taps_call``, then its channels summed in tap order."""
    t = x.ctype
    return [
        "#pragma omp parallel for schedule(static) if (n * oh * ow * c >= SG_PARALLEL_MIN)",
        "for (int64_t row = 0; row < n * oh; row++) {",
        "    const int64_t b = row / oh, oy = row % oh;",
        *("    " + line for line in per_image),
        f"    const {t} *src = {x.ptr} + b * h * w * c;",
        f"    {t} *dst = {y.ptr} + row * ow * c;",
        "    for (int64_t ox = 0; ox < ow; ox++) {",
        "        sg_image_taps taps;",
        f"        {taps_call};",
        f"        const double fill_term = taps.fill_weight != 0.0 ? taps.fill_weight * {fill} : 0.0;",
        "        for (int64_t ch = 0; ch < c; ch++) {",
        "            double acc = fill_term;",
        "            for (int k = 0; k < taps.count; k++) acc += taps.weight[k] * (double)src[taps.offset[k] + ch];",
        f"            dst[ox * c + ch] = ({t})acc;",
        "        }",
        "    }",
        "}",
    ]


def _c_scatter(gy: CArray, dx: CArray, taps_call: str, per_image: list[str]) -> list[str]:
    """The transposed loop: dx zeroed, then every image on some thread (images write
    disjoint parts of dx), each output gradient added to its taps' pixels."""
    t = dx.ctype
    return [
        f"if (n * h * w * c > 0) memset({dx.ptr}, 0, sizeof({t}) * (size_t)(n * h * w * c));",
        "#pragma omp parallel for schedule(static) if (n * oh * ow * c >= SG_PARALLEL_MIN)",
        "for (int64_t b = 0; b < n; b++) {",
        *("    " + line for line in per_image),
        f"    const {t} *g = {gy.ptr} + b * oh * ow * c;",
        f"    {t} *d = {dx.ptr} + b * h * w * c;",
        "    for (int64_t oy = 0; oy < oh; oy++) {",
        "        for (int64_t ox = 0; ox < ow; ox++) {",
        "            sg_image_taps taps;",
        f"            {taps_call};",
        f"            const {t} *gp = g + (oy * ow + ox) * c;",
        "            for (int k = 0; k < taps.count; k++) {",
        "                const double weight = taps.weight[k];",
        f"                {t} *dp = d + taps.offset[k];",
        f"                for (int64_t ch = 0; ch < c; ch++) dp[ch] += ({t})(weight * (double)gp[ch]);",
        "            }",
        "        }",
        "    }",
        "}",
    ]


# ---------------------------------------------------------------- the ops


def _check_image(x: Tensor, what: str) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{what} must have rank 4 (batch, height, width, channels), got {shp.shape_str(x.shape)}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{what} must be float, got {x.dtype.name}")


def _check_transform(t: Tensor, n: Dim) -> None:
    if t.ndim != 2 or t.dtype.kind != "f":
        raise ShapeError(f"the transform must be a float (batch, 8) tensor, got {t.type}")
    rows, entries = t.shape
    if isinstance(entries, int) and entries != 8:
        raise ShapeError(f"a transform has 8 entries per image, got {entries}")
    if isinstance(rows, int) and isinstance(n, int) and rows not in (1, n):
        raise ShapeError(f"{rows} transforms for {n} images (one per image, or one for all)")


def _check_pair(got: tuple, want: tuple, what: str) -> None:
    for a, b in zip(got, want):
        if isinstance(a, int) and isinstance(b, int) and a != b:
            raise ShapeError(f"{what} {shp.shape_str(got)} is not {shp.shape_str(want)}")


class _ImageOp(CLinkerOp):
    """What the image ops share: the header with the tap helpers."""

    def c_support(self, dtype: np.dtype | None) -> str:
        return _INCLUDE


@register
class ImageAffineTransform(_ImageOp):
    """y = affine_transform(images, transform): each output pixel sampled at its
    transform's inverse-mapped point (the module's docstring)."""

    name = "image_affine_transform"
    needs_sizes = True  # the output size may be symbolic (the gradient of the gradient)

    def __init__(
        self, interpolation: str, fill_mode: str, fill_value: float, output_size: tuple[Dim, Dim] | None = None
    ):
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.output_size = None if output_size is None else tuple(output_size)

    def infer(self, images: Tensor, transform: Tensor) -> TensorType:
        _check_image(images, "images")
        n, h, w, c = images.shape
        _check_transform(transform, n)
        oh, ow = (h, w) if self.output_size is None else self.output_size
        return TensorType(images.dtype, (n, oh, ow, c))

    def reference(self, images, transform, *, sizes):
        n, h, w, _ = images.shape
        oh, ow = (h, w) if self.output_size is None else shp.evaluate_shape(self.output_size, sizes)
        return _affine_taps(transform, n, h, w, oh, ow, self).gather(images, self.fill_value)

    def c_kernel(self, inputs, outputs):
        (x, t), (y,) = inputs, outputs
        call = (
            f"sg_image_affine_taps(m, oy, ox, h, w, c, {INTERPOLATIONS[self.interpolation]}, "
            f"{FILL_MODES[self.fill_mode]}, &taps)"
        )
        body = _c_gather(x, y, call, _c_matrix(t), _c_double(self.fill_value))
        return "\n".join(["{", _c_sizes(x, y), *_c_transform(t), *body, "}"])

    def grad(self, inputs, outputs, output_grads):
        (images, transform), (gy,) = inputs, output_grads
        dx = apply(ImageAffineTransformGrad(self.interpolation, self.fill_mode), gy, transform, images).outputs[0]
        return [dx, None]


@register
class ImageAffineTransformGrad(_ImageOp):
    """dx = image_affine_transform_grad(gy, transform, images): the gradient of
    sum(gy * affine_transform(images, transform)) w.r.t. the images (each gy pixel
    added to its taps with their weights). ``images`` gives the shape only."""

    name = "image_affine_transform_grad"

    def __init__(self, interpolation: str, fill_mode: str):
        self.interpolation = interpolation
        self.fill_mode = fill_mode

    def infer(self, gy: Tensor, transform: Tensor, images: Tensor) -> TensorType:
        _check_image(images, "images")
        _check_image(gy, "the output gradient")
        _check_transform(transform, images.shape[0])
        if gy.dtype != images.dtype:
            raise DTypeError(f"the output gradient must be {images.dtype.name}, got {gy.dtype.name}")
        _check_pair((gy.shape[0], gy.shape[3]), (images.shape[0], images.shape[3]), "the gradient's batch and channels")
        return images.type

    def reference(self, gy, transform, images):
        n, h, w, c = images.shape
        if (gy.shape[0], gy.shape[3]) != (n, c):
            raise ShapeError(f"the output gradient {gy.shape} does not fit the images {images.shape}")
        return _affine_taps(transform, n, h, w, gy.shape[1], gy.shape[2], self).scatter(gy, images)

    def c_kernel(self, inputs, outputs):
        (gy, t, x), (dx,) = inputs, outputs
        call = (
            f"sg_image_affine_taps(m, oy, ox, h, w, c, {INTERPOLATIONS[self.interpolation]}, "
            f"{FILL_MODES[self.fill_mode]}, &taps)"
        )
        checks = [
            _c_same("gradient's batch size", gy.shape[0], "n"),
            _c_same("gradient's channel count", gy.shape[3], "c"),
        ]
        body = _c_scatter(gy, dx, call, _c_matrix(t))
        return "\n".join(["{", _c_sizes(x, gy), *checks, *_c_transform(t), *body, "}"])

    def grad(self, inputs, outputs, output_grads):
        # linear in gy: its gradient is the forward map (fill 0: fill values carry none)
        (gy, transform, _), (v,) = inputs, output_grads
        forward = ImageAffineTransform(self.interpolation, self.fill_mode, 0.0, tuple(gy.shape[1:3]))
        return [apply(forward, v, transform).outputs[0], None, None]


@register
class ImageResize(_ImageOp):
    """y = resize(images) to ``size`` (oh, ow): TensorFlow's half-pixel bilinear or
    nearest (the module's docstring)."""

    name = "image_resize"
    needs_sizes = True  # the size may be symbolic (the gradient of the gradient)

    def __init__(self, size: tuple[Dim, Dim], interpolation: str):
        self.size = tuple(size)
        self.interpolation = interpolation

    def infer(self, images: Tensor) -> TensorType:
        _check_image(images, "images")
        n, h, w, c = images.shape
        for have, want in zip((h, w), self.size):
            if isinstance(have, int) and have == 0 and isinstance(want, int) and want > 0:
                raise ShapeError(f"cannot resize an empty {h}x{w} image to {self.size[0]}x{self.size[1]}")
        return TensorType(images.dtype, (n, *self.size, c))

    def reference(self, images, *, sizes):
        n, h, w, _ = images.shape
        oh, ow = shp.evaluate_shape(self.size, sizes)
        return _resize_taps(n, h, w, oh, ow, self.interpolation).gather(images, 0.0)

    def c_kernel(self, inputs, outputs):
        (x,), (y,) = inputs, outputs
        call = f"sg_image_resize_taps(oy, ox, h, w, oh, ow, c, {INTERPOLATIONS[self.interpolation]}, &taps)"
        return "\n".join(["{", _c_sizes(x, y), *_c_empty_check(), *_c_gather(x, y, call, [], "0.0"), "}"])

    def grad(self, inputs, outputs, output_grads):
        (images,), (gy,) = inputs, output_grads
        return [apply(ImageResizeGrad(self.interpolation), gy, images).outputs[0]]


def _c_empty_check() -> list[str]:
    return [
        "if ((h == 0 && oh > 0) || (w == 0 && ow > 0)) SG_FAIL(SG_ERR_SHAPE, "
        '"cannot resize an empty %lldx%lld image to %lldx%lld", (long long)h, (long long)w, '
        "(long long)oh, (long long)ow);"
    ]


@register
class ImageResizeGrad(_ImageOp):
    """dx = image_resize_grad(gy, images): the gradient of sum(gy * resize(images))
    w.r.t. the images; the output size is gy's. ``images`` gives the shape only."""

    name = "image_resize_grad"

    def __init__(self, interpolation: str):
        self.interpolation = interpolation

    def infer(self, gy: Tensor, images: Tensor) -> TensorType:
        _check_image(images, "images")
        _check_image(gy, "the output gradient")
        if gy.dtype != images.dtype:
            raise DTypeError(f"the output gradient must be {images.dtype.name}, got {gy.dtype.name}")
        _check_pair((gy.shape[0], gy.shape[3]), (images.shape[0], images.shape[3]), "the gradient's batch and channels")
        return images.type

    def reference(self, gy, images):
        n, h, w, c = images.shape
        if (gy.shape[0], gy.shape[3]) != (n, c):
            raise ShapeError(f"the output gradient {gy.shape} does not fit the images {images.shape}")
        return _resize_taps(n, h, w, gy.shape[1], gy.shape[2], self.interpolation).scatter(gy, images)

    def c_kernel(self, inputs, outputs):
        (gy, x), (dx,) = inputs, outputs
        call = f"sg_image_resize_taps(oy, ox, h, w, oh, ow, c, {INTERPOLATIONS[self.interpolation]}, &taps)"
        checks = [
            _c_same("gradient's batch size", gy.shape[0], "n"),
            _c_same("gradient's channel count", gy.shape[3], "c"),
        ]
        body = _c_scatter(gy, dx, call, [])
        return "\n".join(["{", _c_sizes(x, gy), *checks, *_c_empty_check(), *body, "}"])

    def grad(self, inputs, outputs, output_grads):
        (gy, _), (v,) = inputs, output_grads
        return [apply(ImageResize(tuple(gy.shape[1:3]), self.interpolation), v).outputs[0], None]


# ---------------------------------------------------------------- the public functions


def _choice(value: Any, allowed: dict, what: str, name: str, inputs: Sequence[Tensor]) -> str:
    if value not in allowed:
        raise fail(name, inputs, f"{what} must be one of {sorted(allowed)}, got {value!r}", InputError)
    return value


def _channels_last(data_format: str, name: str, inputs: Sequence[Tensor]) -> bool:
    if data_format not in ("channels_last", "channels_first"):
        raise fail(
            name, inputs, f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}", InputError
        )
    return data_format == "channels_last"


def _as_batch(images: Tensor, channels_last: bool, name: str) -> tuple[Tensor, bool]:
    """Images as NHWC rank 4, and whether a single image was given."""
    if images.ndim not in (3, 4):
        raise fail(name, (images,), "images must have rank 3 (one image) or 4 (a batch)")
    single = images.ndim == 3
    x = expand_dims(images, 0) if single else images
    return (x if channels_last else transpose(x, (0, 2, 3, 1))), single


def _restore(y: Tensor, channels_last: bool, single: bool) -> Tensor:
    y = y if channels_last else transpose(y, (0, 3, 1, 2))
    return squeeze(y, 0) if single else y


def _size_pair(value: Any, what: str, name: str, inputs: Sequence[Tensor]) -> tuple[int, int]:
    try:
        pair = tuple(int(v) for v in value)
        ok = len(pair) == 2 and all(not isinstance(v, bool) for v in value) and min(pair) >= 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise fail(name, inputs, f"{what} must be a pair of ints >= 0 (height, width), got {value!r}", InputError)
    return pair  # type: ignore[return-value]


def affine_transform(
    images: TensorLike,
    transform: TensorLike,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str = "channels_last",
    output_size: tuple[int, int] | None = None,
) -> Tensor:
    """Images resampled under one projective map per image (Keras'
    ``ops.image.affine_transform``): ``transform`` is (batch, 8) or (8,) for every image,
    rows [a0, a1, a2, b0, b1, b2, c0, c1] mapping each output pixel (x, y) to the input
    point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1.
    ``images``: (batch, h, w, c), or one (h, w, c) image; integers are computed in
    float32. ``output_size`` (height, width): the input's by default."""
    (x,) = promote((images,), FLOAT)
    (t,) = promote((transform,), FLOAT)
    name, inputs = "affine_transform", (x, t)
    _choice(interpolation, INTERPOLATIONS, "interpolation", name, inputs)
    _choice(fill_mode, FILL_MODES, "fill_mode", name, inputs)
    if not isinstance(fill_value, (int, float, np.number)) or isinstance(fill_value, bool):
        raise fail(name, inputs, f"fill_value must be a number, got {fill_value!r}", InputError)
    size = None if output_size is None else _size_pair(output_size, "output_size", name, inputs)
    channels_last = _channels_last(data_format, name, inputs)
    x, single = _as_batch(x, channels_last, name)
    if t.ndim == 1:
        t = reshape(t, (1, t.shape[0]))
    elif t.ndim != 2:
        raise fail(name, inputs, "transform must have rank 1 (one for every image) or 2 (batch, 8)")
    op = ImageAffineTransform(interpolation, fill_mode, float(fill_value), size)
    return _restore(apply(op, x, t).outputs[0], channels_last, single)


def resize(
    images: TensorLike,
    size: tuple[int, int],
    interpolation: str = "bilinear",
    data_format: str = "channels_last",
) -> Tensor:
    """Images resized to ``size`` (height, width) as ``tf.image.resize`` / Keras'
    ``Resizing`` (no antialiasing): "bilinear" with half-pixel centers, or "nearest".
    ``images``: (batch, h, w, c), or one (h, w, c) image; integers are computed in float32."""
    (x,) = promote((images,), FLOAT)
    name = "resize"
    _choice(interpolation, INTERPOLATIONS, "interpolation", name, (x,))
    pair = _size_pair(size, "size", name, (x,))
    channels_last = _channels_last(data_format, name, (x,))
    x, single = _as_batch(x, channels_last, name)
    return _restore(apply(ImageResize(pair, interpolation), x).outputs[0], channels_last, single)


__all__ = ["affine_transform", "resize"]
