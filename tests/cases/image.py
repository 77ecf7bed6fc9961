"""Test rows for image resampling (symgraph.ops.image: affine_transform, resize) and
their gradient ops.

The references here are written independently of symgraph's (which find each pixel's
taps and fold their indices): every output pixel becomes one row of a dense weight
matrix over the input pixels, found by reading the source point's neighbours in the
input padded far out with numpy's own np.pad modes (Keras' fill modes are np.pad's
"symmetric", "wrap", "edge" and "constant"). The forward pass is then a matrix product
plus fill_value times the weight that fell outside, and the gradient w.r.t. the image
is the transposed product.
"""

from __future__ import annotations

import math

import numpy as np

import symgraph as sg
from symgraph.ops.image import affine_transform, resize
from tests.opcheck import Case, normal

PAD_MODES = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def _pixel_lookup(h: int, w: int, fill_mode: str, margin: int) -> np.ndarray:
    """Which input pixel (flat index, -1 for fill_value) each position of the image
    padded by ``margin`` reads."""
    index = np.arange(h * w).reshape(h, w)
    if fill_mode == "constant":
        return np.pad(index, margin, mode="constant", constant_values=-1)
    return np.pad(index, margin, mode=PAD_MODES[fill_mode])


def _row(
    lookup: np.ndarray, margin: int, points: list[tuple[float, float, float]], size: int
) -> tuple[np.ndarray, float]:
    """One output pixel's weights over the input pixels, and its fill weight, from
    (row, col, weight) points."""
    weights, fill = np.zeros(size), 0.0
    for r, s, wt in points:
        r, s = int(r) + margin, int(s) + margin
        assert 0 <= r < lookup.shape[0] and 0 <= s < lookup.shape[1], "a test transform reaches past the margin"
        source = lookup[r, s]
        if source < 0:
            fill += wt
        else:
            weights[source] += wt
    return weights, fill


def _bilinear_points(sy: float, sx: float) -> list[tuple[float, float, float]]:
    y0, x0 = math.floor(sy), math.floor(sx)
    fy, fx = sy - y0, sx - x0
    return [
        (y0, x0, (1 - fy) * (1 - fx)),
        (y0, x0 + 1, (1 - fy) * fx),
        (y0 + 1, x0, fy * (1 - fx)),
        (y0 + 1, x0 + 1, fy * fx),
    ]


def affine_matrices(t: np.ndarray, h: int, w: int, oh: int, ow: int, interpolation: str, fill_mode: str):
    """Per image: the (oh*ow, h*w) weights and (oh*ow,) fill weights of affine_transform."""
    margin = 4 * max(h, w, oh, ow) + 4
    lookup = _pixel_lookup(h, w, fill_mode, margin)
    result = []
    for row in t.astype(np.float64):
        a0, a1, a2, b0, b1, b2, c0, c1 = row
        mat, fills = np.zeros((oh * ow, h * w)), np.zeros(oh * ow)
        for y in range(oh):
            for x in range(ow):
                k = c0 * x + c1 * y + 1.0
                sx, sy = (a0 * x + a1 * y + a2) / k, (b0 * x + b1 * y + b2) / k
                if interpolation == "nearest":
                    points = [(math.floor(sy + 0.5), math.floor(sx + 0.5), 1.0)]
                else:
                    points = _bilinear_points(sy, sx)
                mat[y * ow + x], fills[y * ow + x] = _row(lookup, margin, points, h * w)
        result.append((mat, fills))
    return result


def np_affine(x, t, interpolation="bilinear", fill_mode="constant", fill_value=0.0, output_size=None):
    n, h, w, c = x.shape
    oh, ow = output_size or (h, w)
    t = np.broadcast_to(t.reshape(-1, 8), (n, 8))
    y = np.zeros((n, oh * ow, c))
    for b, (mat, fills) in enumerate(affine_matrices(t, h, w, oh, ow, interpolation, fill_mode)):
        y[b] = mat @ x[b].reshape(h * w, c).astype(np.float64) + fills[:, None] * fill_value
    return y.reshape(n, oh, ow, c)


def np_affine_grad(x, t, g, interpolation="bilinear", fill_mode="constant", output_size=None):
    """d sum(g * affine_transform(x, t)) / dx: the transposed weights."""
    n, h, w, c = x.shape
    oh, ow = output_size or (h, w)
    t = np.broadcast_to(t.reshape(-1, 8), (n, 8))
    dx = np.zeros((n, h * w, c))
    for b, (mat, _) in enumerate(affine_matrices(t, h, w, oh, ow, interpolation, fill_mode)):
        dx[b] = mat.T @ g[b].reshape(oh * ow, c).astype(np.float64)
    return dx.reshape(n, h, w, c)


def resize_axis(size: int, out: int, interpolation: str) -> np.ndarray:
    """(out, size) weights of one axis, as TensorFlow's resize kernels write them:
    half-pixel centers, neighbours clamped; nearest floor((o + 0.5) * scale)."""
    weights = np.zeros((out, size))
    scale = size / out
    for o in range(out):
        if interpolation == "nearest":
            weights[o, min(math.floor((o + 0.5) * scale), size - 1)] = 1.0
            continue
        src = (o + 0.5) * scale - 0.5
        lower, upper = max(math.floor(src), 0), min(math.ceil(src), size - 1)
        lerp = src - math.floor(src)
        weights[o, lower] += 1.0 - lerp
        weights[o, upper] += lerp
    return weights


def np_resize(x, size, interpolation="bilinear"):
    ry, rx = resize_axis(x.shape[1], size[0], interpolation), resize_axis(x.shape[2], size[1], interpolation)
    return np.einsum("ph,qw,nhwc->npqc", ry, rx, x.astype(np.float64))


def np_resize_grad(x, g, size, interpolation="bilinear"):
    ry, rx = resize_axis(x.shape[1], size[0], interpolation), resize_axis(x.shape[2], size[1], interpolation)
    return np.einsum("ph,qw,npqc->nhwc", ry, rx, g.astype(np.float64))


def transforms(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Rows of Keras' transform convention: a rotation by any angle and a zoom of 0.7 to
    1.3 about the point (2.5, 2.5), a shift of up to 2 pixels, and a slight projective
    part."""
    assert shape[-1] == 8, shape
    n, center = shape[0], 2.5
    theta = rng.uniform(-np.pi, np.pi, n)
    zoom = rng.uniform(0.7, 1.3, (2, n))
    shift = rng.uniform(-2.0, 2.0, (2, n))
    projective = rng.uniform(-0.02, 0.02, (2, n))
    a0, a1 = zoom[0] * np.cos(theta), -zoom[0] * np.sin(theta)
    b0, b1 = zoom[1] * np.sin(theta), zoom[1] * np.cos(theta)
    a2 = center - center * (a0 + a1) + shift[0]
    b2 = center - center * (b0 + b1) + shift[1]
    return np.stack([a0, a1, a2, b0, b1, b2, *projective], axis=-1).astype(dtype)


def affine_case(name: str, shapes, **kw) -> Case:
    return Case(
        name,
        lambda x, t: affine_transform(x, t, **kw),
        lambda x, t: np_affine(x, t, **kw),
        shapes,
        samplers=(normal, transforms),
        grad_args=(0,),
        ref64=True,
    )


def affine_grad_case(name: str, x_shape, t_shape, **kw) -> Case:
    out = kw.get("output_size") or x_shape[1:3]
    fill = {k: v for k, v in kw.items() if k != "fill_value"}
    return Case(
        name,
        lambda x, t, g: sg.grad(sg.sum(affine_transform(x, t, **kw) * g), x),
        lambda x, t, g: np_affine_grad(x, t, g, **fill),
        [(x_shape, t_shape, (x_shape[0], *out, x_shape[3]))],
        samplers=(normal, transforms, normal),
        grad_args=(2,),
        ref64=True,
    )


def resize_case(name: str, shapes, size, interpolation) -> Case:
    return Case(
        name,
        lambda x: resize(x, size, interpolation),
        lambda x: np_resize(x, size, interpolation),
        shapes,
        ref64=True,
    )


def resize_grad_case(name: str, x_shape, size, interpolation) -> Case:
    return Case(
        name,
        lambda x, g: sg.grad(sg.sum(resize(x, size, interpolation) * g), x),
        lambda x, g: np_resize_grad(x, g, size, interpolation),
        [(x_shape, (x_shape[0], *size, x_shape[3]))],
        grad_args=(1,),
        ref64=True,
    )


CASES: list[Case] = [
    affine_case(
        "affine_bilinear_constant",
        [((2, 5, 6, 3), (2, 8)), ((3, 4, 4, 2), (1, 8)), ((0, 3, 4, 2), (1, 8))],
        fill_value=0.5,
    ),
    affine_case("affine_bilinear_reflect", [((2, 5, 6, 3), (2, 8)), ((1, 1, 3, 2), (1, 8))], fill_mode="reflect"),
    affine_case("affine_bilinear_wrap", [((2, 5, 6, 3), (2, 8)), ((1, 3, 1, 1), (1, 8))], fill_mode="wrap"),
    affine_case("affine_bilinear_nearest", [((2, 5, 6, 3), (2, 8))], fill_mode="nearest"),
    affine_case("affine_nearest_constant", [((2, 5, 6, 3), (2, 8))], interpolation="nearest", fill_value=-1.0),
    affine_case("affine_nearest_reflect", [((2, 6, 5, 2), (2, 8))], interpolation="nearest", fill_mode="reflect"),
    affine_case("affine_nearest_wrap", [((2, 6, 5, 2), (1, 8))], interpolation="nearest", fill_mode="wrap"),
    affine_case("affine_output_size", [((2, 5, 6, 3), (2, 8))], fill_mode="reflect", output_size=(4, 8)),
    affine_grad_case("affine_grad_bilinear", (2, 5, 6, 3), (2, 8), fill_mode="reflect"),
    affine_grad_case(
        "affine_grad_nearest_resized",
        (2, 5, 4, 2),
        (1, 8),
        interpolation="nearest",
        fill_mode="wrap",
        output_size=(6, 3),
    ),
    affine_grad_case("affine_grad_constant", (2, 4, 5, 2), (2, 8), fill_value=3.0),
    resize_case("resize_bilinear", [((2, 5, 6, 3),), ((1, 1, 1, 2),)], (7, 4), "bilinear"),
    resize_case("resize_bilinear_down", [((2, 9, 8, 2),), ((0, 9, 8, 2),)], (4, 3), "bilinear"),
    resize_case("resize_nearest", [((2, 5, 6, 3),), ((1, 9, 2, 1),)], (7, 4), "nearest"),
    resize_grad_case("resize_grad_bilinear", (2, 5, 6, 3), (7, 4), "bilinear"),
    resize_grad_case("resize_grad_nearest", (2, 9, 7, 2), (4, 10), "nearest"),
]
