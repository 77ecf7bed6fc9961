"""``keras.preprocessing.image.ImageDataGenerator``: Keras 2's augmenting batch
generator, as the older tutorials use it (``datagen.fit(x)``,
``model.fit(datagen.flow(x, y, batch_size=32), epochs=...)``).

Deprecated in Keras 3, and here: constructing one warns and names the layers that
replace it inside the model (``Rescaling``, ``RandomRotation``, ``RandomTranslation``,
``RandomZoom``, ``RandomFlip``, ``Normalization``). The random parameters are drawn
per image with numpy (the iterator's own generator, seeded by ``flow(seed=...)``, or
from numpy's global state, which ``keras.utils.set_random_seed`` seeds); each batch's
rotation, shift, shear, zoom and flips become one inverse-mapping matrix per image and
are applied in one call of the compiled ``symgraph.ops.image.affine_transform`` kernel
that the ``Random*`` layers also use.

Geometry, in (x = column, y = row) pixel coordinates about the image's center
((w - 1) / 2, (h - 1) / 2): the input point read by an output pixel is
center + R(theta) . shift(tx, ty) . shear . zoom(zx, zy) . (output - center), then
flips, as Keras' ``apply_affine_transform`` composes them. Two differences from Keras'
own code, both deliberate: ``width_shift_range`` shifts horizontally by a fraction of
the width and ``height_shift_range`` vertically by a fraction of the height, as their
documentation says (Keras' code applies the height shift to columns), and the center
is the image's for non-square images too. Pixels from outside the image follow
``fill_mode`` with the kernel's tap-by-tap rule (see symgraph/ops/image.py), which
differs from scipy's within half a pixel of the border. ``brightness_range`` (which
needs PIL in Keras) raises UnsupportedError: use ``layers.RandomBrightness``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError, user_stacklevel
from symgraph.keras import backend
from symgraph.keras.utils import PyDataset
from symgraph.ops.image import affine_transform

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
_REPLACEMENT = (
    "`keras.preprocessing.image.ImageDataGenerator` is deprecated (Keras 3): put the preprocessing layers in "
    "the model instead, `keras.layers.Rescaling` (rescale), `RandomRotation` (rotation_range), "
    "`RandomTranslation` (width/height_shift_range), `RandomZoom` (zoom_range), `RandomFlip` "
    "(horizontal/vertical_flip), `RandomBrightness` and `RandomContrast`, and `Normalization` with `adapt` "
    "(featurewise_center / featurewise_std_normalization); they run inside the compiled training step"
)

# one compiled warp per (interpolation, fill mode, fill value, dtype, data format),
# shared by every generator: symbolic sizes serve every batch and image size
_WARPS: dict[tuple, sg.Function] = {}


def _warp_function(interpolation: str, fill_mode: str, cval: float, dtype: str, data_format: str) -> sg.Function:
    key = (interpolation, fill_mode, float(cval), dtype, data_format)
    if key not in _WARPS:
        images = sg.placeholder((None, None, None, None), dtype, name="images")
        transform = sg.placeholder((None, 8), "float64", name="transform")
        warped = affine_transform(images, transform, interpolation, fill_mode, float(cval), data_format)
        _WARPS[key] = sg.function([images, transform], warped, name="image_data_generator_warp")
    return _WARPS[key]


def _transform_row(params: dict, height: int, width: int) -> np.ndarray:
    """The 8-entry inverse map of one image's parameters (Keras' transform convention)."""
    theta = np.deg2rad(params["theta"])
    shear = np.deg2rad(params["shear"])
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    shift = np.array([[1, 0, params["tx"]], [0, 1, params["ty"]], [0, 0, 1]])
    shearing = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[params["zx"], 0, 0], [0, params["zy"], 0], [0, 0, 1]])
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    to_center = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    from_center = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    matrix = to_center @ rotation @ shift @ shearing @ zoom @ from_center
    # the flips act on the output: the output pixel x reads the transformed image at w - 1 - x
    if params["flip_horizontal"]:
        matrix = matrix @ np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1]])
    if params["flip_vertical"]:
        matrix = matrix @ np.array([[1, 0, 0], [0, -1, height - 1], [0, 0, 1]])
    return np.array([*matrix[0], *matrix[1], 0.0, 0.0])


def _moves(params: dict) -> bool:
    """Whether the parameters move any pixel."""
    geometric = (params["theta"], params["tx"], params["ty"], params["shear"], params["zx"] - 1, params["zy"] - 1)
    return any(v != 0 for v in geometric) or params["flip_horizontal"] or params["flip_vertical"]


def _shift(rng: np.random.Generator, shift_range: Any, size: int) -> float:
    """One shift in pixels: a float range r is uniform in (-r, r), an int n an integer
    below n with a random sign, a list one of its values with a random sign; ranges
    below 1 are fractions of ``size`` (Keras' rule)."""
    if not shift_range:
        return 0.0
    if isinstance(shift_range, (list, tuple, np.ndarray)):
        value = float(rng.choice(np.asarray(shift_range))) * rng.choice([-1, 1])
    elif isinstance(shift_range, (int, np.integer)) and not isinstance(shift_range, bool):
        value = float(rng.integers(0, shift_range)) * rng.choice([-1, 1])
    else:
        value = rng.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        value *= size
    return float(value)


class ImageDataGenerator:
    """Keras 2's ``ImageDataGenerator`` (deprecated): random rotations, shifts, shears,
    zooms, channel shifts and flips, and ``rescale`` / sample- and feature-wise
    standardization / ZCA whitening, applied to batches that ``flow`` yields."""

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: Any = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = None,
    ):
        warnings.warn(_REPLACEMENT, DeprecationWarning, stacklevel=user_stacklevel())
        data_format = data_format or backend.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                '`data_format` should be `"channels_last"` (channel after row and column) or `"channels_first"` '
                f"(channel before row and column). Received: {data_format}"
            )
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"`fill_mode` must be one of {_FILL_MODES}, got {fill_mode!r}")
        if interpolation_order not in (0, 1):
            raise UnsupportedError(
                f"interpolation_order={interpolation_order}: symgraph interpolates with order 0 (nearest) or 1 "
                "(bilinear)"
            )
        if brightness_range is not None:
            raise UnsupportedError(
                "ImageDataGenerator(brightness_range=...) is not supported: use layers.RandomBrightness"
            )
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1.  Received: {validation_split}")
        if isinstance(zoom_range, (float, int)):
            zoom = [1 - zoom_range, 1 + zoom_range]
        elif isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2:
            zoom = [float(zoom_range[0]), float(zoom_range[1])]
        else:
            raise ValueError(f"`zoom_range` should be a float or a tuple or list of two floats. Received: {zoom_range}")
        self.featurewise_center = featurewise_center or zca_whitening or featurewise_std_normalization
        self.samplewise_center = samplewise_center or samplewise_std_normalization
        self.featurewise_std_normalization = featurewise_std_normalization and not zca_whitening
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.brightness_range = None
        self.shear_range = shear_range
        self.zoom_range = zoom
        self.channel_shift_range = channel_shift_range
        self.fill_mode, self.cval = fill_mode, float(cval)
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        self._validation_split = validation_split
        self.interpolation_order = interpolation_order
        self.dtype = np.dtype(dtype or backend.floatx()).name
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.zca_whitening_matrix: np.ndarray | None = None

    # -- random transforms
    def get_random_transform(self, img_shape: tuple, seed: int | None = None, rng: Any = None) -> dict:
        """The random parameters of one image of shape ``img_shape`` (h, w, c) or
        (c, h, w): theta and shear in degrees, tx / ty in pixels (columns / rows), zx /
        zy, the flips and the channel shift."""
        rng = rng if rng is not None else np.random.default_rng(seed if seed is not None else _global_seed())
        height, width = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0
        tx = _shift(rng, self.width_shift_range, width)
        ty = _shift(rng, self.height_shift_range, height)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1.0, 1.0
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = bool(rng.random() < 0.5) and self.horizontal_flip
        flip_vertical = bool(rng.random() < 0.5) and self.vertical_flip
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        return {
            "theta": float(theta),
            "tx": tx,
            "ty": ty,
            "shear": float(shear),
            "zx": float(zx),
            "zy": float(zy),
            "flip_horizontal": flip_horizontal,
            "flip_vertical": flip_vertical,
            "channel_shift_intensity": channel_shift,
            "brightness": None,
        }

    def apply_transforms(self, x: np.ndarray, params: list[dict]) -> np.ndarray:
        """A batch ``x`` with each image's parameters applied: one warp of the batch
        (the compiled kernel), then the channel shifts."""
        x = np.asarray(x, dtype=self.dtype)
        height, width = x.shape[self.row_axis], x.shape[self.col_axis]
        if any(_moves(p) for p in params):  # an identity row reproduces its image exactly
            transforms = np.stack([_transform_row(p, height, width) for p in params])
            interpolation = "bilinear" if self.interpolation_order == 1 else "nearest"
            warp = _warp_function(interpolation, self.fill_mode, self.cval, self.dtype, self.data_format)
            x = warp(x, transforms)
        out = np.array(x, copy=True)
        for i, p in enumerate(params):
            if p["channel_shift_intensity"] is not None:
                lo, hi = np.min(out[i]), np.max(out[i])
                out[i] = np.clip(out[i] + p["channel_shift_intensity"], lo, hi)
        return out

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """One image (rank 3) with ``transform_parameters`` applied."""
        return self.apply_transforms(np.asarray(x)[None], [transform_parameters])[0]

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One image (rank 3), randomly transformed."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    # -- standardization
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """``preprocessing_function``, ``rescale``, then the sample-wise and feature-wise
        statistics and ZCA whitening, in Keras' order, on one image or a batch."""
        x = np.asarray(x, dtype=self.dtype)
        if self.preprocessing_function:
            x = np.asarray(self.preprocessing_function(x), dtype=self.dtype)
        if self.rescale:
            x = x * np.asarray(self.rescale, dtype=self.dtype)
        image_axes = tuple(range(x.ndim - 3, x.ndim))
        if self.samplewise_center:
            x = x - np.mean(x, axis=image_axes, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (np.std(x, axis=image_axes, keepdims=True) + 1e-6)
        for wanted, value, what in (
            (self.featurewise_center, self.mean, "featurewise_center"),
            (self.featurewise_std_normalization, self.std, "featurewise_std_normalization"),
            (self.zca_whitening, self.zca_whitening_matrix, "zca_whitening"),
        ):
            if wanted and value is None:
                warnings.warn(
                    f"This ImageDataGenerator specifies `{what}`, but it hasn't been fit on any training data. "
                    "Fit it first by calling `.fit(numpy_data)`.",
                    stacklevel=user_stacklevel(),
                )
        if self.featurewise_center and self.mean is not None:
            x = x - self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x = x / (self.std + 1e-6)
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            flat = x.reshape(-1, math.prod(x.shape[-3:]))
            x = (flat @ self.zca_whitening_matrix).reshape(x.shape)
        return x.astype(self.dtype, copy=False)

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """The feature-wise statistics (mean, std per channel; the ZCA matrix) of the
        images ``x`` (rank 4), after ``rescale`` and, with ``augment``, over ``rounds``
        randomly transformed copies."""
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4. Got array with shape: {x.shape}")
        if self.rescale:
            x = x * np.asarray(self.rescale, dtype=self.dtype)
        if augment:
            rng = np.random.default_rng(seed if seed is not None else _global_seed())
            copies = []
            for _ in range(rounds):
                copies.append(self.apply_transforms(x, [self.get_random_transform(x.shape[1:], rng=rng) for _ in x]))
            x = np.concatenate(copies)
        axes = (0, self.row_axis, self.col_axis)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes).reshape(shape).astype(self.dtype)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes).reshape(shape).astype(self.dtype)
            x = x / (self.std + 1e-6)
        if self.zca_whitening:
            flat = x.reshape(len(x), -1).astype(np.float64)
            sigma = flat.T @ flat / flat.shape[0]
            u, s, _ = np.linalg.svd(sigma)
            self.zca_whitening_matrix = ((u * (1.0 / np.sqrt(s[np.newaxis] + self.zca_epsilon))) @ u.T).astype(
                self.dtype
            )

    # -- batches
    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: Any = None,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        ignore_class_split: bool = False,
        subset: str | None = None,
    ) -> NumpyArrayIterator:
        """Augmented, standardized batches of ``x`` (and ``y``, ``sample_weight``):
        ``len`` batches per epoch, ``it[i]`` the i-th, ``next(it)`` the next one
        forever; ``model.fit(it)`` trains on it."""
        if save_to_dir is not None:
            raise UnsupportedError("ImageDataGenerator.flow(save_to_dir=...) is not supported (it writes images)")
        return NumpyArrayIterator(self, x, y, batch_size, shuffle, sample_weight, seed, subset)


def _global_seed() -> int:
    """A seed from numpy's global generator (which keras.utils.set_random_seed seeds)."""
    return int(np.random.randint(0, 2**31 - 1))


class NumpyArrayIterator(PyDataset):
    """Batches of an ImageDataGenerator over arrays: ``(x,)``, ``(x, y)`` or ``(x, y,
    sample_weight)`` per batch; the order is reshuffled after every epoch when
    ``shuffle``; the random transforms come from the iterator's generator in the
    order batches are asked for."""

    def __init__(
        self,
        generator: ImageDataGenerator,
        x: Any,
        y: Any,
        batch_size: int,
        shuffle: bool,
        sample_weight: Any,
        seed: int | None,
        subset: str | None,
    ):
        super().__init__()
        x = np.asarray(x, dtype=generator.dtype)
        if x.ndim != 4:
            raise ValueError(
                f"Input data in `NumpyArrayIterator` should have rank 4. You passed an array with shape {x.shape}"
            )
        if y is not None and len(x) != len(y):
            raise ValueError(
                "`x` (images tensor) and `y` (labels) should have the same length. "
                f"Found: x.shape = {x.shape}, y.shape = {np.asarray(y).shape}"
            )
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(
                "`x` (images tensor) and `sample_weight` should have the same length. "
                f"Found: x.shape = {x.shape}, sample_weight.shape = {np.asarray(sample_weight).shape}"
            )
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"Invalid subset name: {subset}; expected 'training' or 'validation'")
            split = int(len(x) * (1 - generator._validation_split))
            part = slice(None, split) if subset == "training" else slice(split, None)
            x = x[part]
            y = None if y is None else np.asarray(y)[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.image_data_generator = generator
        self.x = x
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.n = len(x)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.rng = np.random.default_rng(seed if seed is not None else _global_seed())
        self.batch_index = 0
        self.total_batches_seen = 0
        self._set_index_array()

    def _set_index_array(self) -> None:
        self.index_array = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self) -> None:
        self._set_index_array()

    def reset(self) -> None:
        self.batch_index = 0

    def __getitem__(self, idx: int) -> Any:
        if idx >= len(self) or idx < -len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length {len(self)}")
        idx = idx % len(self)
        self.total_batches_seen += 1
        return self._batch(self.index_array[self.batch_size * idx : self.batch_size * (idx + 1)])

    def __iter__(self) -> NumpyArrayIterator:
        return self

    def __next__(self) -> Any:
        """The next batch, forever (a new shuffled order after each pass), as Keras'."""
        if self.batch_index == 0 and self.total_batches_seen > 0:
            self._set_index_array()
        index = self.batch_index
        self.batch_index = (self.batch_index + 1) % max(len(self), 1)
        self.total_batches_seen += 1
        return self._batch(self.index_array[self.batch_size * index : self.batch_size * (index + 1)])

    def _batch(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        x = self.x[index_array]
        params = [gen.get_random_transform(x.shape[1:], rng=self.rng) for _ in range(len(x))]
        batch_x = gen.standardize(gen.apply_transforms(x, params))
        if self.y is None and self.sample_weight is None:
            return batch_x
        output: tuple = (batch_x, None if self.y is None else self.y[index_array])
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


__all__ = ["ImageDataGenerator", "NumpyArrayIterator"]
