"""Keras 3's preprocessing and image augmentation layers, compiled into the step like
any other layer: ``Normalization`` (with ``adapt``), ``Resizing``, ``CenterCrop``,
``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``,
``RandomContrast`` and ``RandomBrightness`` (``Rescaling`` is in wrappers.py).

The geometric layers build one inverse-mapping matrix per image (Keras' 8-entry
transform convention) and resample with ``symgraph.ops.image.affine_transform``; the
resizing layers use ``symgraph.ops.image.resize``; both run as C kernels inside the
compiled step.

Randomness follows Keras' rules on symgraph's generator (``sg.random``, Philox): the
random layers change their input when training (``fit``, ``training=True``, or a
direct call with neither, whose ``call`` default is True as in Keras 3) and are the
identity at inference (``predict``, ``evaluate``, ``training=False``), cast to the
layer's float dtype, except RandomContrast and RandomBrightness, which hand an integer
image back as it came, as Keras' do. Each draw is a uniform value per image. Without
``seed`` it comes from the global generator (``keras.utils.set_random_seed`` /
``sg.random.seed``), a stream of its own per draw;
with ``seed`` from that seed's key and the global call counter, so layers built with
one seed draw the same numbers (as Keras' per-layer seed generators) while every
compiled call still draws new ones. Each layer offers Keras' two halves of ``call`` as
well: ``get_random_transformation(images, training)`` (the drawn parameters, as graph)
and ``transform_images(images, transformation, training)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.graph.core import Tensor, apply
from symgraph.graph.shape import Dim
from symgraph.graph.sources import constant, dim_value
from symgraph.keras import backend
from symgraph.keras.layers.layer import Layer
from symgraph.ops import random as rnd
from symgraph.ops.image import affine_transform, resize
from symgraph.ops.shape_ops import as_shape

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
# Keras' other resize interpolations, which symgraph does not compile
_UNSUPPORTED_RESIZE = ("bicubic", "lanczos3", "lanczos5", "area")


# ---------------------------------------------------------------- shared helpers


def draw_uniform(seed: int | None, draw: int, shape: tuple, minval: float, maxval: float, dtype: str) -> Tensor:
    """Uniform values in [minval, maxval): from the global generator without ``seed``,
    else from ``seed``'s key with stream ``draw`` (1, 2, ... per draw of one layer) and
    the global call counter, which every compiled call advances."""
    if seed is None:
        return sg.random.uniform(shape, minval, maxval, dtype=dtype)
    key = constant(rnd.seed_key(int(seed)))
    op = rnd.RandomUniform(as_shape(shape), np.dtype(dtype), draw)
    u = apply(op, key, rnd.GLOBAL_COUNTER).outputs[0]
    return minval + (maxval - minval) * u


def _factor_range(factor: Any, bounds: tuple[float, float], name: str = "factor") -> tuple[float, float]:
    """Keras' ``_set_factor``: a number f gives (max(-|f|, lower bound), |f|), a pair its
    sorted values; anything else, or values outside ``bounds``, raise ValueError."""
    message = (
        f"The `{name}` argument should be a number (or a list of two numbers) in the range "
        f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, (int, float)) for f in factor):
            raise ValueError(message)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(message)
        factor = abs(float(factor))
        return max(-factor, bounds[0]), factor
    raise ValueError(message)


def _axis_factor(factor: Any, name: str, low_open: bool) -> tuple[float, float]:
    """RandomZoom's and RandomTranslation's ``_set_factor``: each value in [-1, 1]
    ((-1, 1] for zoom, ``low_open``); a number f gives (-|f|, |f|)."""
    message = (
        f"The `{name}` argument should be a number (or a list of two numbers) in the range "
        f"{'(' if low_open else '['}-1.0, 1.0]. Received: {name}={factor}"
    )

    def check(v: Any) -> float:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v > 1.0 or v < -1.0 or (low_open and v == -1.0):
            raise ValueError(message)
        return float(v)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        lower, upper = sorted(check(v) for v in factor)
        return lower, upper
    value = abs(check(factor))
    return -value, value


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise NotImplementedError(f"Unknown `{what}` {value}. Expected of one {allowed}.")
    return value


def _image_axes(x: Tensor, data_format: str) -> tuple[int, int]:
    """The (height, width) axes of a rank-3 or rank-4 image tensor."""
    if x.ndim not in (3, 4):
        raise ValueError(
            "Expected image tensor to have rank 3 (single image) or 4 (batch of images). "
            f"Received: data.shape={tuple(x.shape)}"
        )
    base = 0 if x.ndim == 3 else 1
    return (base, base + 1) if data_format == "channels_last" else (base + 1, base + 2)


def _batch(x: Tensor) -> Dim:
    return x.shape[0] if x.ndim == 4 else 1


def _size(d: Dim, dtype: str) -> Any:
    """A size as a float: a Python float when static, a 0-d tensor when symbolic."""
    return float(d) if isinstance(d, int) else sg.cast(dim_value(d), dtype)


def _as_float(x: Tensor, dtype: str) -> Tensor:
    return x if x.dtype == np.dtype(dtype) else sg.cast(x, dtype)


def _matrix(entries: list[Any], like: Tensor) -> Tensor:
    """(n, 8) transforms from eight (n,) tensors or numbers (numbers fill every row)."""
    columns = [e if isinstance(e, Tensor) else sg.full_like(like, e) for e in entries]
    return sg.stack(columns, axis=1)


class _ImageLayer(Layer):
    """What the image layers share: ``data_format`` and Keras' split of ``call`` into
    ``get_random_transformation`` and ``transform_images``."""

    def __init__(self, data_format: str | None = None, bounding_box_format: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if bounding_box_format is not None:
            raise UnsupportedError(f"{type(self).__name__}: bounding boxes are not supported (images only)")
        self.data_format = backend.standardize_data_format(data_format)

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        return None

    def transform_images(self, images: Tensor, transformation: Any, training: bool = True) -> Tensor:
        raise NotImplementedError

    # Keras 3's default: an image layer called directly (no enclosing fit or predict,
    # no training argument) augments, as keras.io's augmentation tutorial plots it.
    def call(self, inputs: Tensor, training: bool = True) -> Tensor:
        transformation = self.get_random_transformation(inputs, training=training)
        return self.transform_images(inputs, transformation, training=training)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


# ---------------------------------------------------------------- Normalization


def _extract_batch(batch: Any) -> Any:
    """The inputs of a batch that may be ``(x, y)`` or ``(x, y, sample_weight)``."""
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), epsilon)`` with the statistics given or
    computed by ``adapt`` per position of ``axis`` (the last by default; None: one
    mean and variance over everything); ``invert=True`` maps back,
    ``mean + x * max(sqrt(variance), epsilon)``. Adapted statistics are the weights
    ``mean``, ``variance`` and ``count`` (non-trainable, as Keras stores them)."""

    def __init__(
        self,
        axis: int | tuple | list | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        if (mean is not None) != (variance is not None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "When setting values directly, `mean` and `variance` must have the same shape. "
                    f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    "The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}"
                )

    def build(self, input_shape: tuple) -> None:
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                "All `axis` values must be in the range [-ndim, ndim). "
                f"Received inputs with ndim={ndim}, while axis={self.axis}"
            )
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(
                    "All `axis` values to be kept must have a known shape. Received axis="
                    f"{self.axis}, inputs.shape={tuple(input_shape)}, with unknown axis at index {d}"
                )
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._adapt_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean", shape=self._mean_and_var_shape, initializer="zeros", trainable=False
            )
            self.adapt_variance = self.add_weight(
                name="variance", shape=self._mean_and_var_shape, initializer="ones", trainable=False
            )
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
        self.built = True

    def _given(self, value: Any) -> np.ndarray:
        """A ``mean`` / ``variance`` argument broadcast to the input's rank, Keras' way
        (its axes line up with the last kept axes)."""
        value = np.asarray(value, dtype=self.dtype)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            expanded[self._keep_axis[-i]] = value.shape[-i]
        return np.broadcast_to(value.reshape(expanded), self._broadcast_shape)

    def _statistics(self) -> tuple[Any, Any]:
        if self.input_mean is not None:
            return constant(self._given(self.input_mean)), constant(self._given(self.input_variance))
        return (
            sg.reshape(self.adapt_mean, self._broadcast_shape),
            sg.reshape(self.adapt_variance, self._broadcast_shape),
        )

    def adapt(self, data: Any) -> None:
        """Computes the mean and variance of ``data`` along every axis but ``axis``: a
        numpy array or eager tensor (at once), or batches (a dataset, a PyDataset, a list
        or generator of arrays; ``(x, y)`` batches use x), combined batch by batch as
        Keras does."""
        if isinstance(data, (np.ndarray, sg.EagerTensor)):
            array = np.asarray(data)
            self._build_for(array.shape)
            mean = np.mean(array, axis=self._reduce_axis)
            var = np.var(array, axis=self._reduce_axis)
        else:
            mean, var = self._adapt_batches(self._batches(data))
        self.adapt_mean.set_value(np.asarray(mean, self.adapt_mean.dtype).reshape(self._mean_and_var_shape))
        self.adapt_variance.set_value(np.asarray(var, self.adapt_variance.dtype).reshape(self._mean_and_var_shape))

    def _build_for(self, shape: tuple) -> None:
        if self.input_mean is not None:
            raise ValueError("adapt() cannot be used on a Normalization layer given `mean` and `variance`")
        if not self.built:
            self.build(tuple(shape))
            self._build_input_shape = tuple(shape)
            return
        for d in self._keep_axis:
            if shape[d] != self._adapt_shape[d]:
                raise ValueError(
                    f"The layer was built with input_shape={self._adapt_shape}, but adapt() is being called "
                    f"with data with an incompatible shape, data.shape={tuple(shape)}"
                )

    @staticmethod
    def _batches(data: Any) -> Iterable[Any]:
        if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (list, tuple)):
            return (data[i] for i in range(len(data)))  # a PyDataset
        if hasattr(data, "as_numpy_iterator"):
            return data.as_numpy_iterator()
        if hasattr(data, "__iter__"):
            return data
        raise TypeError(
            f"Unsupported data type: {type(data)}. `adapt` supports `np.ndarray`, eager tensors, datasets, "
            "`keras.utils.PyDataset`, and iterables of batches (e.g. list, generator)."
        )

    def _adapt_batches(self, batches: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            array = np.asarray(_extract_batch(batch), dtype=np.float64)
            self._build_for(array.shape)
            batch_mean = np.mean(array, axis=self._reduce_axis)
            batch_var = np.var(array, axis=self._reduce_axis)
            batch_count = math.prod(array.shape[d] for d in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var = np.zeros_like(batch_mean), np.zeros_like(batch_var)
            total_count += batch_count
            batch_weight = batch_count / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            total_var = (total_var + (total_mean - new_mean) ** 2) * existing_weight + (
                batch_var + (batch_mean - new_mean) ** 2
            ) * batch_weight
            total_mean = new_mean
        if total_mean is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch.")
        return total_mean, total_var

    def call(self, inputs: Tensor) -> Tensor:
        x = _as_float(inputs, self.dtype)
        mean, variance = self._statistics()
        scale = sg.maximum(sg.sqrt(variance), backend.epsilon())
        if self.invert:
            return mean + x * scale
        return (x - mean) / scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


# ---------------------------------------------------------------- Resizing, CenterCrop


def _resize_images(
    x: Tensor,
    size: tuple[int, int],
    interpolation: str,
    data_format: str,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_value: float = 0.0,
) -> Tensor:
    """Keras' ``ops.image.resize`` (no antialiasing) with its aspect-ratio crop or pad."""
    h_axis, w_axis = _image_axes(x, data_format)
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        height, width = x.shape[h_axis], x.shape[w_axis]
        if not (isinstance(height, int) and isinstance(width, int)):
            raise UnsupportedError(
                "crop_to_aspect_ratio / pad_to_aspect_ratio need the image's height and width known when the "
                f"graph is built, got {height}x{width}"
            )
        target_h, target_w = size
        if crop_to_aspect_ratio:
            crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
            crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
            top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
            index = [slice(None)] * x.ndim
            index[h_axis], index[w_axis] = slice(top, top + crop_h), slice(left, left + crop_w)
            x = x[tuple(index)]
        else:
            pad_h = max(height, int(float(width * target_h) / target_w))
            pad_w = max(width, int(float(height * target_w) / target_h))
            top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
            widths = [(0, 0)] * x.ndim
            if top > 0:  # Keras pads the top and the bottom by the same amount
                widths[h_axis] = (top, top)
            elif left > 0:
                widths[w_axis] = (left, left)
            x = sg.pad(x, widths, constant_values=fill_value)
    return resize(x, size, interpolation, data_format=data_format)


class Resizing(_ImageLayer):
    """Images resized to (height, width) as Keras' ``Resizing``: bilinear with
    half-pixel centers or nearest, optionally after a centered crop
    (``crop_to_aspect_ratio``) or padding (``pad_to_aspect_ratio``, with ``fill_value``)
    to the target's aspect ratio. Integer images come back rounded to their dtype."""

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)
        if interpolation in _UNSUPPORTED_RESIZE:
            raise UnsupportedError(
                f"Resizing: interpolation={interpolation!r} is not supported; use 'bilinear' or 'nearest'"
            )
        self.interpolation = _check_choice(interpolation, _INTERPOLATIONS, "interpolation")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        if fill_mode != "constant":
            raise ValueError(
                "Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
                f"Received: fill_mode={fill_mode}"
            )
        if antialias:
            raise UnsupportedError("Resizing: antialias=True is not supported (symgraph resizes without antialiasing)")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = False

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = images if images.dtype.kind == "f" else sg.cast(images, self.dtype)
        resized = _resize_images(
            x,
            (self.height, self.width),
            self.interpolation,
            self.data_format,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
        )
        if images.dtype.kind in "iu":  # Keras rounds and saturates back to the input's dtype
            info = np.iinfo(images.dtype)
            return sg.cast(sg.clip(sg.round(resized), float(info.min), float(info.max)), images.dtype)
        return resized

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        h_axis, w_axis = (len(shape) - 3, len(shape) - 2) if self.data_format == "channels_last" else (-2, -1)
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


class CenterCrop(_ImageLayer):
    """The central (height, width) part of each image; an image smaller than that is
    first cropped to the target's aspect ratio and resized up (bilinear), as Keras'
    ``smart_resize``. The output has the layer's float dtype."""

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = _as_float(images, self.dtype)
        h_axis, w_axis = _image_axes(x, self.data_format)
        height, width = x.shape[h_axis], x.shape[w_axis]
        small = (isinstance(height, int) and height < self.height) or (isinstance(width, int) and width < self.width)
        if small:
            return _resize_images(x, (self.height, self.width), "bilinear", self.data_format, crop_to_aspect_ratio=True)
        index = [slice(None)] * x.ndim
        top, left = (height - self.height) // 2, (width - self.width) // 2
        index[h_axis], index[w_axis] = slice(top, top + self.height), slice(left, left + self.width)
        return x[tuple(index)]

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        h_axis, w_axis = (len(shape) - 3, len(shape) - 2) if self.data_format == "channels_last" else (-2, -1)
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


# ---------------------------------------------------------------- random augmentation

HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL = "horizontal", "vertical", "horizontal_and_vertical"


class RandomFlip(_ImageLayer):
    """While training, each image is flipped with probability 1/2: left-right
    ("horizontal"), upside down ("vertical"), or both at once
    ("horizontal_and_vertical", one draw for both, as Keras 3)."""

    def __init__(
        self, mode: str = HORIZONTAL_AND_VERTICAL, seed: int | None = None, data_format: str | None = None, **kwargs
    ):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(
                f"RandomFlip layer {self.name} received an unknown mode argument {mode}; expected one of "
                f"{HORIZONTAL!r}, {VERTICAL!r}, {HORIZONTAL_AND_VERTICAL!r}"
            )
        self.mode = mode
        self.seed = seed

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        _image_axes(images, self.data_format)
        shape = (1, 1, 1) if images.ndim == 3 else (images.shape[0], 1, 1, 1)
        return {"flips": sg.less_equal(draw_uniform(self.seed, 1, shape, 0.0, 1.0, "float32"), 0.5)}

    def transform_images(self, images: Tensor, transformation: Any, training: bool = True) -> Tensor:
        x = _as_float(images, self.dtype)
        if not training or transformation is None:
            return x
        flips = transformation["flips"]
        h_axis, w_axis = _image_axes(x, self.data_format)
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            x = sg.where(flips, sg.flip(x, axis=w_axis), x)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            x = sg.where(flips, sg.flip(x, axis=h_axis), x)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class _AffineLayer(_ImageLayer):
    """A random geometric layer: its transformation carries (n, 8) inverse maps under
    "matrix", applied with ``fill_mode``, ``interpolation`` and ``fill_value``."""

    def __init__(
        self,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.fill_mode = _check_choice(fill_mode, _FILL_MODES, "fill_mode")
        self.interpolation = _check_choice(interpolation, _INTERPOLATIONS, "interpolation")
        self.seed = seed
        self.fill_value = float(fill_value)

    def _draw(self, draw: int, images: Tensor, minval: float, maxval: float) -> Tensor:
        """One value per image, uniform in [minval, maxval)."""
        return draw_uniform(self.seed, draw, (_batch(images),), minval, maxval, "float32")

    def _sizes(self, images: Tensor) -> tuple[Any, Any]:
        h_axis, w_axis = _image_axes(images, self.data_format)
        return _size(images.shape[h_axis], "float32"), _size(images.shape[w_axis], "float32")

    def transform_images(self, images: Tensor, transformation: Any, training: bool = True) -> Tensor:
        x = _as_float(images, self.dtype)
        if not training or transformation is None:
            return x
        matrix = _as_float(transformation["matrix"], self.dtype)
        y = affine_transform(x, matrix, self.interpolation, self.fill_mode, self.fill_value, self.data_format)
        return y

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }


def rotation_matrix(angle_degrees: Tensor, height: Any, width: Any) -> Tensor:
    """Keras' ``_compute_affine_matrix`` for a rotation about the image's center
    ((w - 1) / 2, (h - 1) / 2) by ``angle_degrees`` (counter-clockwise when positive)."""
    theta = angle_degrees * (math.pi / 180.0)
    cx, cy = 0.5 * (width - 1.0), 0.5 * (height - 1.0)
    a0, a1 = sg.cos(theta), -sg.sin(theta)
    b0, b1 = sg.sin(theta), sg.cos(theta)
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    return _matrix([a0, a1, a2, b0, b1, b2, 0.0, 0.0], angle_degrees)


def zoom_matrix(height_zoom: Tensor, width_zoom: Tensor, height: Any, width: Any) -> Tensor:
    """Keras' zoom about the image's center: a zoom factor above 1 shows more of the
    image (zooms out)."""
    x_offset = (width - 1.0) / 2.0 * (1.0 - width_zoom)
    y_offset = (height - 1.0) / 2.0 * (1.0 - height_zoom)
    return _matrix([width_zoom, 0.0, x_offset, 0.0, height_zoom, y_offset, 0.0, 0.0], width_zoom)


def translation_matrix(width_shift: Tensor, height_shift: Tensor) -> Tensor:
    """The content moves right by ``width_shift`` and down by ``height_shift`` pixels."""
    return _matrix([1.0, 0.0, -width_shift, 0.0, 1.0, -height_shift, 0.0, 0.0], width_shift)


class RandomRotation(_AffineLayer):
    """While training, each image rotates about its center by an angle uniform in
    [factor[0], factor[1]] x 360 degrees (a number f: [-f, f]), counter-clockwise when
    positive; points from outside the image follow ``fill_mode``."""

    def __init__(
        self,
        factor: Any,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_range(factor, (-1.0, 1.0))

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        height, width = self._sizes(images)
        angle = self._draw(1, images, self.factor[0] * 360.0, self.factor[1] * 360.0)
        return {"angle": angle, "matrix": rotation_matrix(angle, height, width)}

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """While training, each image is zoomed about its center by 1 + a factor uniform
    in ``height_factor``'s range (a number f: [-f, f]); positive zooms out, negative
    zooms in. ``width_factor`` None zooms both axes by the same amount."""

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _axis_factor(height_factor, "height_factor", low_open=True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _axis_factor(width_factor, "width_factor", low_open=True)

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        height, width = self._sizes(images)
        height_zoom = self._draw(1, images, 1.0 + self.height_lower, 1.0 + self.height_upper)
        if self.width_factor is None:
            width_zoom = height_zoom
        else:
            width_zoom = self._draw(2, images, 1.0 + self.width_lower, 1.0 + self.width_upper)
        return {
            "height_zoom": height_zoom,
            "width_zoom": width_zoom,
            "matrix": zoom_matrix(height_zoom, width_zoom, height, width),
        }

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """While training, each image shifts by a fraction of its height uniform in
    ``height_factor``'s range (a number f: [-f, f]; positive moves it down) and a
    fraction of its width in ``width_factor``'s (positive moves it right)."""

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _axis_factor(height_factor, "height_factor", low_open=False)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _axis_factor(width_factor, "width_factor", low_open=False)

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        height, width = self._sizes(images)
        height_shift = self._draw(1, images, self.height_lower, self.height_upper) * height
        width_shift = self._draw(2, images, self.width_lower, self.width_upper) * width
        return {
            "translations": sg.stack([width_shift, height_shift], axis=1),
            "matrix": translation_matrix(width_shift, height_shift),
        }

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


def _value_range(value_range: Any) -> list[float]:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(
            f"The `value_range` argument should be a list of two numbers. Received: value_range={value_range}"
        )
    return sorted(value_range)


class RandomContrast(_ImageLayer):
    """While training, each image's contrast is scaled about its per-channel mean by a
    factor uniform in [1 - lower, 1 + upper] and clipped to ``value_range``. Keras 3
    reads ``factor`` with bounds [0, 1], so a number f gives [1, 1 + f]."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = _factor_range(factor, (0.0, 1.0))
        self.value_range = value_range
        self.seed = seed

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        _image_axes(images, self.data_format)
        shape = (1, 1, 1) if images.ndim == 3 else (images.shape[0], 1, 1, 1)
        if not training:
            return None
        factor = draw_uniform(self.seed, 1, shape, 1.0 - self.factor[0], 1.0 + self.factor[1], self.dtype)
        return {"contrast_factor": factor}

    def transform_images(self, images: Tensor, transformation: Any, training: bool = True) -> Tensor:
        if not training or transformation is None:
            return images  # Keras hands the input back untouched, an integer image too
        x = _as_float(images, self.dtype)
        h_axis, w_axis = _image_axes(x, self.data_format)
        mean = sg.mean(sg.mean(x, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
        y = (x - mean) * transformation["contrast_factor"] + mean
        return sg.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomBrightness(_ImageLayer):
    """While training, each image gets a random delta, uniform in [factor[0],
    factor[1]] x (value_range[1] - value_range[0]) (a number f: [-f, f]), added to every
    pixel, then clipped to ``value_range``."""

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = _factor_range(factor, (-1.0, 1.0))
        self.value_range = _value_range(value_range)
        self.seed = seed

    def get_random_transformation(self, images: Tensor, training: bool = True, seed: Any = None) -> Any:
        _image_axes(images, self.data_format)
        shape = (1, 1, 1) if images.ndim == 3 else (images.shape[0], 1, 1, 1)
        if not training:
            return None
        delta = draw_uniform(self.seed, 1, shape, self.factor[0], self.factor[1], self.dtype)
        return {"rgb_delta": delta * float(self.value_range[1] - self.value_range[0])}

    def transform_images(self, images: Tensor, transformation: Any, training: bool = True) -> Tensor:
        if not training or transformation is None:
            return images  # Keras hands the input back untouched, an integer image too
        x = _as_float(images, self.dtype)
        y = x + transformation["rgb_delta"]
        return sg.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


__all__ = [
    "CenterCrop",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Resizing",
]
