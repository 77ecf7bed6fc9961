"""Preprocessing and augmentation layers and the legacy ImageDataGenerator.

Geometry is checked against a numpy reference written here (inverse mapping, bilinear
interpolation, each fill mode by its textbook definition: reflection loops until the
index is inside, wrap is a modulo); resizing against hand-computed half-pixel values;
the forward passes against real Keras 3 (numpy backend) when it is importable; the
random layers for Keras' rules (identity unless training, draws within the factor
ranges, seeded repeatability, also through ``fit``).
"""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph import keras
from symgraph.errors import InputError, ShapeError, UnsupportedError
from symgraph.keras.preprocessing.image import ImageDataGenerator
from symgraph.ops.image import affine_transform, resize

L = keras.layers
RNG = np.random.default_rng(11)
FILL_MODES = ["reflect", "wrap", "constant", "nearest"]


# ---------------------------------------------------------------- the numpy reference


def _fold(i: int, n: int, fill_mode: str) -> int | None:
    """Index i of an axis of n pixels under Keras' fill modes; None: fill_value."""
    if fill_mode == "constant":
        return i if 0 <= i < n else None
    if fill_mode == "nearest":
        return min(max(i, 0), n - 1)
    if fill_mode == "wrap":
        return i % n
    while not 0 <= i < n:  # reflect: (d c b a | a b c d | d c b a)
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def np_warp(image, inverse, fill_mode, fill_value=0.0, interpolation="bilinear"):
    """One (h, w, c) image resampled: output pixel (x, y) reads the input at
    ``inverse(x, y)`` (a column, a row)."""
    h, w, c = image.shape
    out = np.zeros((h, w, c))
    for y in range(h):
        for x in range(w):
            sx, sy = inverse(x, y)
            if interpolation == "nearest":
                taps = [(math.floor(sy + 0.5), math.floor(sx + 0.5), 1.0)]
            else:
                y0, x0 = math.floor(sy), math.floor(sx)
                fy, fx = sy - y0, sx - x0
                taps = [
                    (y0, x0, (1 - fy) * (1 - fx)),
                    (y0, x0 + 1, (1 - fy) * fx),
                    (y0 + 1, x0, fy * (1 - fx)),
                    (y0 + 1, x0 + 1, fy * fx),
                ]
            for r, s, weight in taps:
                rr, ss = _fold(r, h, fill_mode), _fold(s, w, fill_mode)
                out[y, x] += weight * (fill_value if rr is None or ss is None else image[rr, ss].astype(np.float64))
    return out


def rotation(angle_degrees, h, w):
    """The inverse map of a counter-clockwise rotation about the image's center."""
    theta = math.radians(angle_degrees)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return lambda x, y: (
        cx + math.cos(theta) * (x - cx) - math.sin(theta) * (y - cy),
        cy + math.sin(theta) * (x - cx) + math.cos(theta) * (y - cy),
    )


def zoom(height_zoom, width_zoom, h, w):
    """The inverse map of a zoom about the center (a factor above 1 shows more)."""
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return lambda x, y: (cx + width_zoom * (x - cx), cy + height_zoom * (y - cy))


def _images(n=3, h=7, w=9, c=2):
    return RNG.random((n, h, w, c)).astype("float32")


def _compiled(fn, x, mode="c"):
    """``fn`` of a placeholder like ``x`` (batch and spatial sizes symbolic), compiled."""
    ph = sg.placeholder((None, None, None, x.shape[-1]), "float32", name="images")
    out = fn(ph)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return sg.function([ph], outs, mode=mode)


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_random_rotation_is_the_inverse_mapped_rotation(fill_mode):
    layer = L.RandomRotation(0.2, fill_mode=fill_mode, fill_value=0.7)
    x = _images()

    def graph(ph):
        transformation = layer.get_random_transformation(ph, training=True)
        return layer.transform_images(ph, transformation), transformation["angle"]

    y, angles = _compiled(graph, x)(x)
    assert np.all(np.abs(angles) <= 72.0) and len(set(angles.tolist())) == 3  # 0.2 x 360 degrees, one per image
    for image, out, angle in zip(x, y, angles):
        expected = np_warp(image, rotation(float(angle), 7, 9), fill_mode, 0.7)
        np.testing.assert_allclose(out, expected, atol=2e-5)


def test_rotation_turns_counter_clockwise_and_nearest_keeps_values():
    x = np.zeros((1, 5, 5, 1), "float32")
    x[0, 0, 2, 0] = 1.0  # top center
    layer = L.RandomRotation((0.25, 0.25), fill_mode="constant", interpolation="nearest")  # exactly 90 degrees
    (y,) = _compiled(lambda ph: layer(ph, training=True), x)(x)
    assert np.argwhere(y[0, :, :, 0] == 1.0).tolist() == [[2, 0]]  # now at the left
    assert set(np.unique(y).tolist()) == {0.0, 1.0}


def test_random_zoom_and_translation_follow_the_reference():
    x = _images(4, 8, 6, 1)
    zoom_layer = L.RandomZoom((-0.3, 0.2), width_factor=(0.1, 0.4), fill_mode="reflect")
    shift_layer = L.RandomTranslation(0.25, (-0.1, 0.3), fill_mode="constant", fill_value=-1.0)

    def graph(ph):
        z = zoom_layer.get_random_transformation(ph, training=True)
        t = shift_layer.get_random_transformation(ph, training=True)
        zoomed = zoom_layer.transform_images(ph, z)
        shifted = shift_layer.transform_images(ph, t)
        return zoomed, z["height_zoom"], z["width_zoom"], shifted, t["translations"]

    zoomed, hz, wz, shifted, shifts = _compiled(graph, x)(x)
    assert np.all((hz >= 0.7) & (hz < 1.2)) and np.all((wz >= 1.1) & (wz < 1.4))
    assert np.all(np.abs(shifts[:, 1]) <= 0.25 * 8) and np.all((shifts[:, 0] >= -0.6) & (shifts[:, 0] < 1.8))
    for i in range(4):
        expected = np_warp(x[i], zoom(float(hz[i]), float(wz[i]), 8, 6), "reflect")
        np.testing.assert_allclose(zoomed[i], expected, atol=2e-5)
        tx, ty = (float(v) for v in shifts[i])
        expected = np_warp(x[i], lambda col, row, tx=tx, ty=ty: (col - tx, row - ty), "constant", -1.0)
        np.testing.assert_allclose(shifted[i], expected, atol=2e-5)


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_is_exact(mode):
    x = _images(16, 4, 5, 2)
    (y,) = _compiled(lambda ph: L.RandomFlip(mode)(ph, training=True), x)(x)
    flipped = {"horizontal": x[:, :, ::-1], "vertical": x[:, ::-1], "horizontal_and_vertical": x[:, ::-1, ::-1]}[mode]
    same = np.all(y == x, axis=(1, 2, 3))
    turned = np.all(y == flipped, axis=(1, 2, 3))
    assert np.all(same | turned) and same.any() and turned.any()


def test_random_contrast_and_brightness():
    x = (_images(6, 5, 4, 3) * 255).astype("float32")
    contrast = L.RandomContrast(0.5)  # Keras 3: factor in [1, 1.5]
    brightness = L.RandomBrightness((-0.2, 0.1), value_range=(0, 255))

    def graph(ph):
        c = contrast.get_random_transformation(ph, training=True)
        b = brightness.get_random_transformation(ph, training=True)
        return (
            contrast.transform_images(ph, c),
            c["contrast_factor"],
            brightness.transform_images(ph, b),
            b["rgb_delta"],
        )

    yc, factor, yb, delta = _compiled(graph, x)(x)
    assert np.all((factor >= 1.0) & (factor < 1.5)) and factor.shape == (6, 1, 1, 1)
    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(yc, np.clip((x - mean) * factor + mean, 0, 255), rtol=1e-5, atol=1e-3)
    assert np.all((delta >= -0.2 * 255) & (delta < 0.1 * 255))
    np.testing.assert_allclose(yb, np.clip(x + delta, 0, 255), rtol=1e-6, atol=1e-4)


# ---------------------------------------------------------------- Keras' rules for random layers


def _random_layers():
    return [
        L.RandomFlip(),
        L.RandomRotation(0.3),
        L.RandomZoom(0.3),
        L.RandomTranslation(0.2, 0.2),
        L.RandomContrast(0.4),
        L.RandomBrightness(0.3),
    ]


def test_random_layers_are_the_identity_unless_training():
    x = (_images(2, 6, 6, 3) * 255).astype("uint8")
    for layer in _random_layers():
        out = np.asarray(layer(x, training=False))  # a direct call without it augments (Keras 3's default)
        keeps = isinstance(layer, (L.RandomContrast, L.RandomBrightness))  # Keras hands integer images back
        assert out.dtype == (np.uint8 if keeps else np.float32) and np.array_equal(out, x), type(layer).__name__
        (compiled,) = _compiled(lambda ph, layer=layer: layer(ph, training=False), x.astype("float32"))(x.astype("f4"))
        assert np.array_equal(compiled, x.astype("float32"))
        assert not np.array_equal(np.asarray(layer(x, training=True)), x)


def test_same_seed_same_draws_and_every_call_draws_anew():
    x = _images(4, 6, 6, 1)

    def run():
        keras.utils.set_random_seed(5)
        f = _compiled(lambda ph: [layer(ph, training=True) for layer in _random_layers()[:4]], x)
        return [f(x), f(x)]

    first, second = run(), run()
    for a, b in zip(first, second):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    assert not any(np.array_equal(u, v) for u, v in zip(first[0][1:], first[1][1:]))  # a second call differs

    # a layer seed: equal seeds draw equal numbers, whatever the global seed
    seeded = [L.RandomRotation(0.3, seed=17), L.RandomRotation(0.3, seed=17), L.RandomRotation(0.3, seed=18)]
    a, b, c = _compiled(lambda ph: [layer(ph, training=True) for layer in seeded], x)(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_factor_ranges_and_arguments_are_checked_as_keras():
    assert L.RandomRotation(0.2).factor == (-0.2, 0.2)
    assert L.RandomRotation((0.3, -0.1)).factor == (-0.1, 0.3)
    assert L.RandomContrast(0.5).factor == (0.0, 0.5)
    assert L.RandomBrightness(0.2).factor == (-0.2, 0.2)
    for bad in (lambda: L.RandomRotation(1.5), lambda: L.RandomContrast((0.1, 0.2, 0.3)), lambda: L.RandomZoom(-1.0)):
        with pytest.raises(ValueError, match="factor"):
            bad()
    with pytest.raises(NotImplementedError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(NotImplementedError, match="interpolation"):
        L.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(UnsupportedError, match="bicubic"):
        L.Resizing(3, 3, interpolation="bicubic")
    with pytest.raises(ValueError, match="rank 3"):
        L.RandomFlip()(np.zeros((2, 3), "float32"), training=True)


# ---------------------------------------------------------------- the ops: resize by hand, C, gradients


def test_resize_against_hand_computed_half_pixel_values():
    x = np.array([[0.0, 1.0], [2.0, 3.0]], "float32").reshape(1, 2, 2, 1)
    # 2 -> 4: sources -0.25, 0.25, 0.75, 1.25 (clamped): weights [1, 0], [.75, .25], [.25, .75], [0, 1]
    row = np.array([0.0, 0.25, 0.75, 1.0])
    expected = np.array([row, row + 0.5, row + 1.5, row + 2.0])
    up = sg.function([], resize(sg.constant(x), (4, 4)))()
    np.testing.assert_allclose(up[0, :, :, 0], expected, atol=1e-6)
    nearest = sg.function([], resize(sg.constant(x), (4, 3), "nearest"))()
    # rows floor((o + 0.5) / 2) = 0, 0, 1, 1; columns floor((o + 0.5) * 2 / 3) = 0, 1, 1
    np.testing.assert_array_equal(nearest[0, :, :, 0], [[0, 1, 1], [0, 1, 1], [2, 3, 3], [2, 3, 3]])
    big = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    down = sg.function([], resize(sg.constant(big), (2, 2)))()  # sources 0.5 and 2.5: means of 2x2 blocks
    np.testing.assert_allclose(down[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_ops_in_c_equal_their_references():
    x = RNG.standard_normal((3, 6, 7, 2)).astype("float32")
    t = np.tile(np.array([1.1, 0.2, -1.5, -0.3, 0.9, 2.0, 0.01, -0.02], "float32"), (3, 1))
    t[1] = [0.5, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, -0.5]  # k = 0 on row 2: that row reads fill_value
    t[2, 0] = np.nan  # a NaN transform reads fill_value everywhere
    images = sg.placeholder((None, None, None, 2), "float32")
    transform = sg.placeholder((None, 8), "float32")
    outs = [
        affine_transform(images, transform, interp, mode, 0.25)
        for interp in ("bilinear", "nearest")
        for mode in FILL_MODES
    ]
    outs += [resize(images, (9, 4)), resize(images, (2, 11), "nearest"), affine_transform(images, t[0], "bilinear")]
    in_c = sg.function([images, transform], outs, mode="c")(x, t)
    in_py = sg.function([images, transform], outs, mode="py")(x, t)
    for c, p in zip(in_c, in_py):
        np.testing.assert_array_equal(c, p)
    assert np.all(in_c[0][1, 2] == np.float32(0.25)) and np.all(in_c[0][2] == np.float32(0.25))


@pytest.mark.parametrize("op", ["resize_bilinear", "resize_nearest", "affine_bilinear", "affine_nearest"])
def test_gradients_by_finite_differences_in_float64(op):
    x = RNG.standard_normal((2, 4, 5, 2))
    weights = RNG.standard_normal((2, 6, 3, 2) if op.startswith("resize") else (2, 4, 5, 2))
    t = np.array([[0.9, -0.3, 1.0, 0.35, 1.1, -0.4, 0.0, 0.0], [1.2, 0.1, -0.5, -0.2, 0.8, 0.9, 0.02, 0.0]])
    ph = sg.placeholder(x.shape, "float64")
    if op.startswith("resize"):
        y = resize(ph, (6, 3), op.split("_")[1])
    else:
        y = affine_transform(ph, t, op.split("_")[1], "reflect")
    cost = sg.sum(y * weights)
    f = sg.function([ph], cost)
    (grad,) = sg.function([ph], sg.grad(cost, [ph]))(x)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (float(f(plus)) - float(f(minus))) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_op_errors_name_the_problem():
    images = sg.placeholder((None, 5, 5, 1), "float32")
    with pytest.raises(InputError, match="interpolation"):
        affine_transform(images, np.zeros(8, "float32"), interpolation="cubic")
    with pytest.raises(InputError, match="fill_mode"):
        affine_transform(images, np.zeros(8, "float32"), fill_mode="mirror")
    with pytest.raises(ShapeError, match="8 entries"):
        affine_transform(images, np.zeros((1, 7), "float32"))
    with pytest.raises(ShapeError, match="rank 3"):
        resize(sg.placeholder((5, 5), "float32"), (2, 2))
    with pytest.raises(InputError, match="size"):
        resize(images, (2, -1))
    transform = sg.placeholder((None, 8), "float32")
    f = sg.function([images, transform], affine_transform(images, transform))
    with pytest.raises(ShapeError, match="2 transforms for 3 images"):
        f(np.zeros((3, 5, 5, 1), "float32"), np.zeros((2, 8), "float32"))
    with pytest.raises(ShapeError, match="empty"):
        resize(sg.placeholder((1, 0, 3, 1), "float32"), (2, 2))


# ---------------------------------------------------------------- Normalization


def test_normalization_adapt_on_arrays_and_batches():
    x = (RNG.standard_normal((40, 3)) * [1.0, 5.0, 0.1] + [2.0, -1.0, 0.0]).astype("float32")
    layer = L.Normalization()
    layer.adapt(x)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["mean", "variance", "count"]
    assert all(not w.trainable for w in layer.weights)
    np.testing.assert_allclose(layer.get_weights()[0], x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(x)), (x - x.mean(0)) / x.std(0), rtol=1e-4, atol=1e-5)
    batched = L.Normalization()
    batched.adapt([x[:15], x[15:32], x[32:]])  # Keras' running combination of batch statistics
    np.testing.assert_allclose(batched.get_weights()[0], x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched.get_weights()[1], x.var(0), rtol=1e-5)
    inverse = L.Normalization(invert=True)
    inverse.adapt(x)
    np.testing.assert_allclose(np.asarray(inverse(layer(x))), x, rtol=1e-5, atol=1e-5)
    scalar = L.Normalization(axis=None)
    scalar.adapt(x)
    np.testing.assert_allclose(np.asarray(scalar(x)), (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)
    given = L.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    np.testing.assert_allclose(np.asarray(given(x)), (x - [1, 2, 3]) / [2.0, 1.0, 0.5], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)


def test_preprocessing_layers_save_and_load(tmp_path):
    x = (_images(4, 8, 8, 3) * 255).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Resizing(6, 6),
            L.CenterCrop(4, 5),
            norm,
            L.RandomFlip("horizontal", seed=1),
            L.RandomRotation((-0.1, 0.2), fill_mode="nearest"),
            L.RandomZoom(0.1, (0.0, 0.2)),
            L.RandomTranslation(0.1, 0.1, interpolation="nearest"),
            L.RandomContrast(0.2, value_range=(-5, 5)),
            L.RandomBrightness(0.1, value_range=(-5, 5)),
            L.Flatten(),
            L.Dense(2),
        ]
    )
    path = tmp_path / "pre.keras"
    model.save(path)
    loaded = keras.models.load_model(path)

    def configs(m):
        return [json.loads(json.dumps(layer.get_config())) for layer in m.layers]  # tuples as lists

    assert configs(loaded) == configs(model)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert model.layers[1].compute_output_shape((None, 6, 6, 3)) == (None, 4, 5, 3)


# ---------------------------------------------------------------- training


def _augmenting_model():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.RandomFlip("horizontal"),
            L.RandomRotation(0.1),
            L.Rescaling(1 / 255),
            L.Conv2D(3, 3, activation="relu"),
            L.Flatten(),
            L.Dense(2, activation="softmax"),
        ]
    )


def _train(random_seed: int | None = None):
    keras.utils.set_random_seed(3)
    model = _augmenting_model()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    if random_seed is not None:
        sg.random.seed(random_seed)  # other augmentations, the same initial weights and batch order
    data = np.random.default_rng(0)
    x = (data.random((24, 8, 8, 1)) * 255).astype("float32")
    y = data.integers(0, 2, 24)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model.get_weights()


def test_fit_with_augmentation_is_repeatable_with_the_same_seeds():
    first, second = _train(), _train()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = _train(random_seed=99)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))  # the draws took part in training


# ---------------------------------------------------------------- ImageDataGenerator


def test_image_data_generator_flow_fit_and_warning():
    x = (RNG.random((20, 6, 6, 1)) * 255).astype("float32")
    y = np.arange(20) % 2
    with pytest.warns(DeprecationWarning, match="RandomRotation"):
        plain = ImageDataGenerator(rescale=1 / 255)
    flow = plain.flow(x, y, batch_size=8, shuffle=False)
    assert len(flow) == 3
    bx, by = flow[2]
    assert bx.shape == (4, 6, 6, 1) and by.tolist() == y[16:].tolist()
    np.testing.assert_allclose(bx, x[16:] * np.float32(1 / 255), rtol=1e-6)
    assert plain.flow(x, batch_size=32)[0].shape == (20, 6, 6, 1)  # no y: images alone
    _, _, sw = plain.flow(x, y, sample_weight=np.ones(20), batch_size=5)[0]
    assert sw.shape == (5,)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        augmenting = ImageDataGenerator(
            rescale=1 / 255,
            rotation_range=30,
            width_shift_range=0.1,
            height_shift_range=0.1,
            zoom_range=0.2,
            horizontal_flip=True,
            featurewise_center=True,
        )
    augmenting.fit(x)
    assert augmenting.mean.shape == (1, 1, 1)
    np.testing.assert_allclose(augmenting.mean.ravel(), [x.mean() / 255], rtol=1e-5)
    a, b = augmenting.flow(x, y, batch_size=8, seed=4), augmenting.flow(x, y, batch_size=8, seed=4)
    first = next(a)
    np.testing.assert_array_equal(first[0], next(b)[0])  # one seed, the same augmented batches
    assert first[0].shape == (8, 6, 6, 1) and not np.allclose(first[0], x[:8] / 255 - augmenting.mean)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(augmenting.flow(x, y, batch_size=8), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))


def test_image_data_generator_geometry_matches_the_reference():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gen = ImageDataGenerator(fill_mode="reflect")
    image = RNG.random((7, 9, 2)).astype("float32")
    params = gen.get_random_transform(image.shape, seed=0)
    params.update(theta=25.0, zx=1.2, zy=0.9, tx=0.0, ty=0.0, shear=0.0, flip_horizontal=True)
    out = gen.apply_transform(image, params)
    rotate, scale = rotation(25.0, 7, 9), zoom(0.9, 1.2, 7, 9)

    def inverse(x, y):
        # flip the output, then zoom, then rotate: input = R . Z . F(output)
        zx, zy = scale(8 - x, y)
        return rotate(zx, zy)

    np.testing.assert_allclose(out, np_warp(image, inverse, "reflect"), atol=2e-5)


# ---------------------------------------------------------------- against real Keras


@pytest.fixture(scope="module")
def real_keras():
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    try:
        import keras as real  # noqa: PLC0415 - optional: only these parity tests need it
    except ImportError as exc:
        pytest.skip(f"real Keras is not importable: {exc}")
    if real.config.backend() != "numpy":
        pytest.skip(f"real Keras runs the {real.config.backend()} backend; these checks need numpy")
    return real


def test_forward_passes_match_real_keras(real_keras):
    x = (_images(3, 10, 12, 3) * 255).astype("float32")
    small = (_images(2, 5, 4, 3) * 255).astype("float32")
    cases = [
        ("Resizing", (5, 7), {}),
        ("Resizing", (15, 9), {"interpolation": "nearest"}),
        ("Resizing", (5, 5), {"crop_to_aspect_ratio": True}),
        ("Resizing", (5, 5), {"pad_to_aspect_ratio": True, "fill_value": 3.0}),
        ("CenterCrop", (6, 8), {}),
        ("CenterCrop", (12, 12), {}),
        ("Rescaling", (1 / 255,), {"offset": -0.5}),
    ]
    for name, args, kwargs in cases:
        for data in (x, small):
            ours = np.asarray(getattr(L, name)(*args, **kwargs)(data))
            theirs = np.asarray(getattr(real_keras.layers, name)(*args, **kwargs)(data))
            assert ours.shape == theirs.shape, (name, kwargs)
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4, err_msg=f"{name} {kwargs}")
    for kwargs in ({}, {"axis": None}, {"invert": True}, {"axis": (1, 3)}):
        ours, theirs = L.Normalization(**kwargs), real_keras.layers.Normalization(**kwargs)
        ours.adapt(x)
        theirs.adapt(x)
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-4)
    ours = L.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 9.0])
    theirs = real_keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 9.0])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    for name, args in [("RandomRotation", (0.2,)), ("RandomZoom", (0.2,)), ("RandomContrast", (0.3,))]:
        assert (
            getattr(L, name)(*args).get_config().keys() == getattr(real_keras.layers, name)(*args).get_config().keys()
        )


def test_affine_transform_matches_real_keras_ops(real_keras):
    x = RNG.standard_normal((2, 9, 8, 3)).astype("float32")
    theta = 0.7
    t = np.array(
        [
            [np.cos(theta), -np.sin(theta), 1.3, np.sin(theta), 1.2 * np.cos(theta), -0.5, 0, 0],
            [1.3, 0.1, -2.0, 0.2, 0.8, 3.1, 0, 0],
        ],
        "float32",
    )
    for fill_mode in FILL_MODES:
        ours = sg.function([], affine_transform(sg.constant(x), sg.constant(t), "bilinear", fill_mode, 0.5))()
        theirs = real_keras.ops.image.affine_transform(x, t, "bilinear", fill_mode, 0.5)
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-5, err_msg=fill_mode)
    for size, interpolation in [((4, 3), "bilinear"), ((17, 13), "bilinear"), ((9, 20), "nearest")]:
        ours = sg.function([], resize(sg.constant(x), size, interpolation))()
        theirs = real_keras.ops.image.resize(x, size, interpolation)
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-5)


def test_an_augmentation_model_called_on_images_augments_and_predict_does_not():
    # keras.io's augmentation tutorial plots data_augmentation(images): a Sequential of
    # Random* layers called without training augments, as in Keras 3; predict never does
    x = (_images(8, 6, 6, 3)).astype("float32")
    pipeline = keras.Sequential([keras.Input((6, 6, 3)), L.RandomFlip("horizontal_and_vertical")])
    flipped = [np.asarray(pipeline(x)) for _ in range(4)]
    assert any(not np.array_equal(f, x) for f in flipped)
    np.testing.assert_array_equal(pipeline.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(pipeline(x, training=False)), x)
