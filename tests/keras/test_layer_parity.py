"""Every layer of symgraph.keras.layers against real Keras 3 (numpy backend, inference
only), table-driven (layer_parity_cases.py).

For each case both layers are built with the same config and called once; the real
layer's weights are drawn at random (so biases and moving statistics are not trivial)
and copied into ours with ``set_weights``; then the outputs are compared eagerly
(``ours(x)``), through a compiled functional model (``predict``), and the masks, the
``get_config`` keys and ``compute_output_shape``. A check that shows a symgraph bug is
strict-xfail in the table with the exact difference.
"""

from __future__ import annotations

import inspect
import json
import os
import zlib
from typing import Any

import numpy as np
import pytest

import symgraph as sg

os.environ.setdefault("KERAS_BACKEND", "numpy")
real = pytest.importorskip("keras", reason="real Keras 3 (the `keras` package, numpy backend) is not installed")
if not real.__version__.startswith("3.") or real.backend.backend() != "numpy":
    pytest.skip(
        f"needs real Keras 3 on its numpy backend, found keras {real.__version__} on {real.backend.backend()!r} "
        "(KERAS_BACKEND was set before this module imported keras)",
        allow_module_level=True,
    )

from symgraph import errors as ours_errors  # noqa: E402
from symgraph import keras as ours  # noqa: E402 (after the backend choice above)
from symgraph.keras import model_config  # noqa: E402
from tests.keras.layer_parity_cases import (  # noqa: E402
    CASES,
    CHECKS,
    CONFIG_GAPS,
    KERAS_ACTIVATION_BUGS,
    MISSING_ACTIVATIONS,
    NOT_COMPARED,
    PENDING,
    Case,
)

pytestmark = [
    # Real Keras' own: KerasVariable.numpy() (behind get_weights) is np.array(self).
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
    # Real Keras warns that LayerNormalization(rms_scaling=True) is deprecated; the case keeps it.
    pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning"),
    # Real Keras' compute_output_shape runs a Lambda's function on uninitialized arrays.
    pytest.mark.filterwarnings("ignore:(overflow|invalid value) encountered:RuntimeWarning"),
]


# ---------------------------------------------------------------- building


def _rng(case: Case, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case.id}/{salt}".encode()))


def _shapes(case: Case) -> list[tuple]:
    return list(case.shape) if isinstance(case.shape, list) else [case.shape]


def _draw(case: Case, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    if case.data == "ids":
        ids = rng.integers(1, case.kwargs["input_dim"], shape)
        ids[:, -2:] = 0  # padding at the end, so mask_zero masks something
        ids[0, 1] = 0  # and a zero inside a row
        return ids.astype(case.dtype)
    if case.data == "image":
        return rng.uniform(0, 255, shape).astype(case.dtype)
    if case.data == "ints":
        return rng.integers(-3, 4, shape).astype(case.dtype)
    if case.data == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(case.dtype)
    return rng.standard_normal(shape).astype(case.dtype)


def _inputs(case: Case) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The case's input arrays, and the (batch, time) mask of a masked case."""
    rng = _rng(case, "inputs")
    xs = [_draw(case, s, rng) for s in _shapes(case)]
    if not case.masked and case.data != "zero_steps":
        return xs, None
    x = xs[0]
    # The first row keeps every step, the later ones lose a growing tail (to half).
    batch, steps = x.shape[:2]
    lengths = np.linspace(steps, max(1, steps // 2), batch).round().astype(int)
    for i, n in enumerate(lengths):
        x[i, n:] = 0  # Masking(0.0) masks the zeroed trailing steps
    return xs, (np.any(x != 0, axis=-1) if case.masked else None)


def _make(case: Case, layers: Any) -> Any:
    if case.make is not None:
        return case.make(layers)
    return getattr(layers, case.layer)(**case.kwargs)


def _call(case: Case, layer: Any, xs: list, mask: Any = None) -> Any:
    """The case's call of ``layer``; an input ``mask`` goes in as ``mask=``: ours takes
    it on any layer (and hands it on as Keras does), real Keras only where the layer's
    call has a mask argument (on the numpy backend a mask cannot ride on the array as
    ``_keras_mask``; real's compute_mask gives the mask it hands on)."""
    inputs = xs if isinstance(case.shape, list) else xs[0]
    if case.call is not None:
        return case.call(layer, inputs)
    kwargs = dict(case.call_kwargs)
    takes_mask = isinstance(layer, ours.layers.Layer) or "mask" in inspect.signature(layer.call).parameters
    if mask is not None and takes_mask:
        kwargs["mask"] = mask
    return layer(inputs, **kwargs)


def _as_list(outputs: Any) -> list[np.ndarray]:
    """Outputs (one array, or a list/tuple nesting of them) as a flat list of arrays."""
    if isinstance(outputs, (list, tuple)):
        return [a for item in outputs for a in _as_list(item)]
    return [np.asarray(outputs)]


def _random_weights(case: Case, layer: Any) -> None:
    """Weights drawn at random in place of the initializers' (zero biases, unit
    variances), so the comparison sees each weight's role."""
    rng = _rng(case, "weights")
    values = []
    for w in layer.weights:
        value = np.array(w.value)  # (KerasVariable.numpy() warns on numpy 2: np.array(self))
        if value.dtype.kind != "f":
            values.append(value)
        elif "variance" in w.name:
            values.append(rng.uniform(0.5, 2.0, value.shape).astype(value.dtype))
        else:
            values.append((0.5 * rng.standard_normal(value.shape)).astype(value.dtype))
    layer.set_weights(values)


class Built:
    """The real and our layer of a case, built, with the same weights, and the inputs."""

    def __init__(self, case: Case):
        self.case = case
        self.xs, self.mask = _inputs(case)
        self.real = _make(case, real.layers)
        self.ours = _make(case, ours.layers)
        if case.adapt:
            self.real.adapt(self.xs[0])
            self.ours.adapt(self.xs[0])
        _call(case, self.real, self.xs, self.mask)
        if case.randomize:
            _random_weights(case, self.real)
        _call(case, self.ours, self.xs)  # builds ours (the weights are replaced below)
        self.ours.set_weights(self.real.get_weights())

    def real_outputs(self) -> list[np.ndarray]:
        return _as_list(_call(self.case, self.real, self.xs, self.mask))


_BUILT: dict[str, Built] = {}


def _built(case: Case) -> Built:
    """One build per case, shared by its checks (the checks only read the layers)."""
    if case.id not in _BUILT:
        _BUILT[case.id] = Built(case)
    return _BUILT[case.id]


def _marks(case: Case, check: str) -> list[Any]:
    if not hasattr(ours.layers, case.layer):
        return [pytest.mark.skip(reason=f"symgraph.keras.layers has no {case.layer} yet")]
    if check in case.skip:
        return [pytest.mark.skip(reason=case.skip[check])]
    reason = case.xfail.get(check)
    if reason is None and check == "config" and case.layer in CONFIG_GAPS:
        reason = f"get_config lacks keys real Keras writes: {sorted(CONFIG_GAPS[case.layer])}"
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _params(check: str) -> list[Any]:
    return [pytest.param(case, id=case.id, marks=_marks(case, check)) for case in CASES + PENDING]


def _assert_outputs_close(case: Case, got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want), f"{len(got)} outputs, real Keras gives {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {i}: shape {g.shape}, real Keras {w.shape}"
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype}, real Keras {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol, err_msg=f"output {i}")


# ---------------------------------------------------------------- the checks


def test_every_public_layer_class_is_compared_or_excused():
    public = {
        name
        for name, obj in vars(ours.layers).items()
        if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, ours.layers.Layer)
    }
    named = {case.layer for case in CASES} | {name for case in CASES for name in case.covers}
    # Aliases (AvgPool2D is AveragePooling2D) are covered by the class they name.
    covered_classes = {getattr(ours.layers, name) for name in named if hasattr(ours.layers, name)}
    missing = sorted(name for name in public - set(NOT_COMPARED) if getattr(ours.layers, name) not in covered_classes)
    assert not missing, f"layer classes neither in CASES nor in NOT_COMPARED: {missing}"
    absent = sorted(name for name in named | set(NOT_COMPARED) if not hasattr(ours.layers, name))
    assert not absent, f"CASES name classes symgraph.keras.layers lacks (PENDING is their place): {absent}"
    unknown = sorted({case.layer for case in CASES + PENDING} - set(dir(real.layers)))
    assert not unknown, f"the table names classes real Keras lacks: {unknown}"


def test_case_table_is_well_formed():
    ids = [case.id for case in CASES + PENDING]
    assert len(ids) == len(set(ids)), "case ids repeat"
    for case in CASES + PENDING:
        assert set(case.xfail) | set(case.skip) <= set(CHECKS), (
            f"{case.id}: unknown checks {(set(case.xfail) | set(case.skip)) - set(CHECKS)}"
        )


@pytest.mark.parametrize("case", _params("weights"))
def test_weights_line_up(case: Case):
    # set_weights copies by position: the names and shapes must match in order.
    b = _built(case)
    real_layout = [(w.name, tuple(w.shape)) for w in b.real.weights]
    ours_layout = [(w.name, tuple(w.shape)) for w in b.ours.weights]
    assert ours_layout == real_layout


@pytest.mark.parametrize("case", _params("eager"))
def test_eager_forward_matches(case: Case):
    b = _built(case)
    got = _as_list(_call(case, b.ours, b.xs, b.mask))
    _assert_outputs_close(case, got, b.real_outputs())


@pytest.mark.parametrize("case", _params("mask"))
def test_output_mask_matches(case: Case):
    b = _built(case)
    inputs = b.xs if isinstance(case.shape, list) else b.xs[0]
    # Keras' Layer.__call__ sets the outputs' mask from compute_mask only where the layer
    # supports masking (a plain Layer's compute_mask returns the input's mask, dropped).
    want = b.real.compute_mask(inputs, b.mask) if b.real.supports_masking else None
    out = _call(case, b.ours, b.xs, b.mask)
    first = out[0] if isinstance(out, (list, tuple)) else out
    got = getattr(first, "_keras_mask", None)
    if want is None or (isinstance(want, (list, tuple)) and all(m is None for m in want)):
        assert got is None, f"our output carries a mask, real Keras computes none: {got}"
        return
    if isinstance(want, (list, tuple)):
        want = want[0]
    assert got is not None, "real Keras computes an output mask, ours carries none"
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("case", _params("compiled"))
def test_compiled_forward_matches(case: Case):
    b = _built(case)
    inputs = [ours.Input(s[1:], dtype=case.dtype) for s in _shapes(case)]
    feed = inputs
    if case.masked:
        feed = [ours.layers.Masking(0.0)(inputs[0]), *inputs[1:]]
    outputs = _call(case, b.ours, feed)
    model = ours.Model(inputs if len(inputs) > 1 else inputs[0], outputs)
    got = _as_list(model.predict(b.xs if len(b.xs) > 1 else b.xs[0], verbose=0))
    _assert_outputs_close(case, got, b.real_outputs())


@pytest.mark.parametrize("case", _params("config"))
def test_config_keys_cover_real_keras(case: Case):
    b = _built(case)
    # "dtype" is a DTypePolicy dict in Keras, a dtype name in ours: compared as a key only.
    real_keys = set(b.real.get_config())
    ours_keys = set(b.ours.get_config())
    assert not sorted(real_keys - ours_keys), f"keys real Keras writes that ours lacks: {sorted(real_keys - ours_keys)}"


def _shape_tree(shape: Any) -> Any:
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        return tuple(None if d is None else int(d) for d in shape)
    return [_shape_tree(s) for s in shape]


@pytest.mark.parametrize("case", _params("shape"))
def test_compute_output_shape_matches(case: Case):
    b = _built(case)
    shapes = [(None, *s[1:]) for s in _shapes(case)]
    arg = shapes if isinstance(case.shape, list) else shapes[0]
    assert _shape_tree(b.ours.compute_output_shape(arg)) == _shape_tree(b.real.compute_output_shape(arg))


def test_input_layer_config_keys_cover_real_keras():
    real_keys = set(real.layers.InputLayer(shape=(3, 4)).get_config())
    ours_keys = set(ours.layers.InputLayer(shape=(3, 4)).get_config())
    assert not sorted(real_keys - ours_keys), f"keys real Keras writes that ours lacks: {sorted(real_keys - ours_keys)}"


# Every activation real Keras names, through the Activation layer (the table compares the
# common ones inside Dense too). "threshold" needs arguments a layer cannot pass.
_ACTIVATIONS = sorted(
    name
    for name in dir(real.activations)
    if not name.startswith("_")
    and callable(getattr(real.activations, name))
    and name not in ("get", "serialize", "deserialize", "threshold")
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason=f"symgraph.keras.activations has no {name!r}")]
            if name in MISSING_ACTIVATIONS
            else [pytest.mark.xfail(strict=True, reason=KERAS_ACTIVATION_BUGS[name])]
            if name in KERAS_ACTIVATION_BUGS
            else [],
        )
        for name in _ACTIVATIONS
    ],
)
def test_activation_layer_matches(name: str):
    x = 3.0 * np.random.default_rng(11).standard_normal((3, 8)).astype("float32")
    # (sparsemax comes back float64 from real Keras' numpy backend: values compared)
    want = np.asarray(real.layers.Activation(name)(x), dtype="float32")
    layer = ours.layers.Activation(name)
    eager = np.asarray(layer(x))
    model = ours.Sequential([ours.Input((8,)), layer])
    compiled = model.predict(x, verbose=0)
    for got in (eager, compiled):
        assert got.dtype == np.float32
        # exp/log/erf chains: numpy's float32 and symgraph's C differ by a few ulp
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# Keras 3's augmentation layers default to training=True in call(), so calling one
# directly (keras.io's augmentation tutorial plots `data_augmentation(images)`)
# augments; fit's inference steps pass training=False.
DIRECT_CALL_AUGMENTS = [
    ("RandomFlip", {"mode": "horizontal"}),
    ("RandomRotation", {"factor": (0.1, 0.2)}),
    ("RandomZoom", {"height_factor": (0.2, 0.3)}),
    ("RandomTranslation", {"height_factor": (0.2, 0.3), "width_factor": 0.0}),
    ("RandomContrast", {"factor": 0.5}),
    ("RandomBrightness", {"factor": (0.2, 0.3)}),
]


@pytest.mark.parametrize(("name", "kwargs"), DIRECT_CALL_AUGMENTS, ids=[n for n, _ in DIRECT_CALL_AUGMENTS])
def test_augmentation_layer_called_directly_augments(name: str, kwargs: dict):
    x = np.random.default_rng(5).uniform(0, 255, (8, 5, 5, 3)).astype("float32")
    assert np.abs(getattr(real.layers, name)(seed=3, **kwargs)(x) - x).max() > 1.0  # real Keras augments
    got = np.asarray(getattr(ours.layers, name)(seed=3, **kwargs)(x))
    assert np.abs(got - x).max() > 1.0, f"{name}(x) returned x unchanged"


@pytest.mark.parametrize("name", ["SimpleRNNCell", "GRUCell"])
def test_cell_called_with_a_bare_state_returns_a_bare_state(name: str):
    # Keras' cells hand the states back in the form they came in: a tensor for a tensor.
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((3, 2)).astype("float32"), rng.standard_normal((3, 4)).astype("float32")
    real_cell, our_cell = getattr(real.layers, name)(4), getattr(ours.layers, name)(4)
    want_out, want_state = real_cell(x, h)
    our_cell(x, h)
    our_cell.set_weights(real_cell.get_weights())
    got_out, got_state = our_cell(x, h)
    assert not isinstance(got_state, (list, tuple)), f"{name}(x, h) returned its state as {type(got_state).__name__}"
    np.testing.assert_allclose(np.asarray(got_out), want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_state), want_state, rtol=1e-5, atol=1e-5)


def test_cell_dropout_applies_only_when_training():
    x = np.ones((64, 8), "float32")
    h = np.zeros((64, 4), "float32")
    small = ours.initializers.Constant(0.01)
    cell = ours.layers.SimpleRNNCell(4, dropout=0.5, kernel_initializer=small, use_bias=False)
    inference, _ = cell(x, [h])
    trained, _ = cell(x, [h], training=True)
    np.testing.assert_allclose(np.asarray(inference), np.tanh(0.08), rtol=1e-6)
    # Each kept input is doubled: the pre-activation is 0.02 * (inputs kept), not all 4 of 8.
    kept = np.arctanh(np.asarray(trained, dtype="float64")) / 0.02
    np.testing.assert_allclose(kept, np.round(kept), atol=1e-3)
    assert len(np.unique(np.round(kept))) > 1


def test_layer_norm_rms_scaling_warns_as_keras_does():
    with pytest.warns(UserWarning, match="rms_scaling=True`, which is deprecated"):
        ours.layers.LayerNormalization(rms_scaling=True)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32"])
def test_eager_call_keeps_an_integer_input_dtype(dtype: str):
    x = np.arange(12).reshape(3, 4).astype(dtype)
    want = np.asarray(real.layers.Flatten()(x))
    got = np.asarray(ours.layers.Flatten()(x))
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)


def test_eager_call_widens_the_unsigned_dtypes_symgraph_lacks():
    # symgraph has no uint16: a 16-bit image comes in as int32, every value kept
    x = np.array([[0, 1000, 65535]], dtype="uint16")
    got = np.asarray(ours.layers.Flatten()(x))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, x)


def test_global_average_pooling1d_masks_channels_first_steps():
    # channels_first: the steps are the last axis, the mask is (batch, steps)
    x = np.random.default_rng(4).standard_normal((2, 3, 5)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    want = real.layers.GlobalAveragePooling1D(data_format="channels_first")(x, mask=mask)
    got = ours.layers.GlobalAveragePooling1D(data_format="channels_first")(x, mask=mask)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)


def _probes(layers: Any) -> dict:
    """Layers of a layers namespace (real or ours) that record the ``training`` their
    ``call`` receives: with a True, a False and a None default, and a container."""
    seen: list = []

    def probe(default: Any) -> type:
        class Probe(layers.Layer):
            def call(self, x, training=default):
                seen.append(training)
                return x

        return Probe

    class Outer(layers.Layer):
        def __init__(self, default: Any, **kwargs: Any):
            super().__init__(**kwargs)
            self.inner = probe(True)()

        def call(self, x, training=False):
            return self.inner(x)

    return {"seen": seen, "true": probe(True), "false": probe(False), "none": probe(None), "outer": Outer}


# (how the probe is built, the call's keyword arguments): Keras' order is the argument,
# then an enclosing call's resolved value, then a non-None default of the layer's call
TRAINING_RESOLUTION = {
    "default_true": ("true", {}),
    "default_false": ("false", {}),
    "default_none": ("none", {}),
    "explicit_false_over_default_true": ("true", {"training": False}),
    "explicit_true_over_default_false": ("false", {"training": True}),
    "outer_default_false_over_inner_default_true": ("outer", {}),
    "outer_explicit_true": ("outer", {"training": True}),
}


@pytest.mark.parametrize(("kind", "kwargs"), TRAINING_RESOLUTION.values(), ids=TRAINING_RESOLUTION.keys())
def test_training_resolves_as_in_keras(kind: str, kwargs: dict):
    x = np.ones((2, 3), "float32")
    results = []
    for layers in (real.layers, ours.layers):
        probes = _probes(layers)
        layer = probes[kind](None) if kind == "outer" else probes[kind]()
        layer(x, **kwargs)
        results.append(probes["seen"][-1])  # (real Keras traces a layer once first: the last call counts)
    assert results[1] == results[0], f"ours receives training={results[1]}, real Keras {results[0]}"


def test_training_inside_predict_and_fit_overrides_a_true_default():
    probes = _probes(ours.layers)
    model = ours.Sequential([ours.Input((3,)), probes["true"](), ours.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    model.predict(x, verbose=0)
    assert probes["seen"][-1] is False
    model.fit(x, y, epochs=1, verbose=0)
    assert probes["seen"][-1] is True


# ---------------------------------------------------------------- configs through files

_FILE_CASES = [case for case in CASES if case.layer != "Lambda"]  # a Lambda's code never loads from a file


def _through_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else list(v)))


def _without_build(config: Any) -> Any:
    if isinstance(config, dict):
        return {k: _without_build(v) for k, v in config.items() if k != "build_config"}
    return config


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in _FILE_CASES])
def test_config_round_trips_through_the_file_loader(case: Case):
    # what save writes for the layer, read back by load_model's layer reader
    b = _built(case)
    entry = _through_json(model_config.layer_to_config(b.ours))
    loaded = model_config.layer_from_config(entry)
    assert type(loaded) is type(b.ours)
    # (a wrapped layer's entry records its build shape; the loaded one builds on its first call)
    assert _without_build(_through_json(loaded.get_config())) == _without_build(_through_json(b.ours.get_config()))


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in _FILE_CASES])
def test_real_keras_config_loads_and_computes_the_same(case: Case):
    # the entry real Keras writes for the layer, loaded by ours: same weights, same outputs
    b = _built(case)
    entry = _through_json(
        {
            "module": "keras.layers",
            "class_name": type(b.real).__name__,
            "config": b.real.get_config(),
            "registered_name": None,
        }
    )
    loaded = model_config.layer_from_config(entry)
    if case.adapt:
        loaded.adapt(b.xs[0])
    _call(case, loaded, b.xs)
    loaded.set_weights(b.real.get_weights())
    _assert_outputs_close(case, _as_list(_call(case, loaded, b.xs, b.mask)), b.real_outputs())


def _configured_model(layers: Any, keras: Any) -> Any:
    """A functional model whose layers carry non-default values of the config keys the
    parity table found missing, built the same way from either namespace."""
    inputs = keras.Input((6, 3))
    x = layers.Masking(0.0)(inputs)
    x = layers.LSTM(4, return_sequences=True, zero_output_for_mask=True, unit_forget_bias=False, seed=2)(x)
    x = layers.RNN(layers.GRUCell(3, kernel_regularizer="l2"), return_sequences=True)(x)
    x = layers.LayerNormalization(rms_scaling=True, gamma_regularizer="l1")(x)
    x = layers.MaxPooling1D(pool_size=3, strides=1, padding="same")(x)
    x = layers.Conv1D(2, 2, kernel_constraint="max_norm", bias_regularizer="l2", activity_regularizer="l1")(x)
    x = layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.05)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.RepeatVector(2)(x)
    x = layers.Softmax(axis=1)(x)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    outputs = layers.Dense(2, kernel_regularizer="l1", bias_constraint="non_neg")(x)
    return keras.Model(inputs, outputs)


def test_keras_file_round_trips_the_config_keys(tmp_path):
    x = np.random.default_rng(8).standard_normal((3, 6, 3)).astype("float32")
    x[1, 4:] = 0.0  # masked steps
    model = _configured_model(ours.layers, ours)
    want = model.predict(x, verbose=0)
    path = tmp_path / "configured.keras"
    model.save(path)
    loaded = ours.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)
    for original, again in zip(model.layers, loaded.layers):
        assert _without_build(_through_json(again.get_config())) == _without_build(
            _through_json(original.get_config())
        ), original.name


# Real Keras warns that MaxPooling1D drops the mask the recurrent layers hand on (ours drops it too).
@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")
def test_keras_file_written_here_computes_as_real_keras(tmp_path):
    # the same file read by real Keras: the keys it needs are there, and it computes the same
    x = np.random.default_rng(8).standard_normal((3, 6, 3)).astype("float32")
    x[1, 4:] = 0.0
    model = _configured_model(ours.layers, ours)
    path = tmp_path / "configured.keras"
    model.save(path)
    theirs = real.models.load_model(path)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda: ours.layers.Dense(2, quantization_config={"mode": "int8"}), "quantization_config"),
        (lambda: ours.layers.Embedding(4, 2, quantization_config={"mode": "int8"}), "quantization_config"),
        (lambda: ours.layers.BatchNormalization(renorm=True), "renorm"),
        (lambda: ours.layers.BatchNormalization(synchronized=True), "synchronized"),
        (lambda: ours.layers.InputLayer(shape=(3,), sparse=True), "sparse"),
        (lambda: ours.layers.InputLayer(shape=(3,), ragged=True), "ragged"),
        (lambda: ours.Input((3,), optional=True), "optional"),
    ],
    ids=["dense_quantized", "embedding_quantized", "renorm", "synchronized", "sparse", "ragged", "optional"],
)
def test_features_symgraph_lacks_are_refused_not_ignored(make: Any, what: str):
    with pytest.raises(ours_errors.UnsupportedError, match=what):
        make()


# ---------------------------------------------------------------- the activations Keras 3 added


def _sparsemax_reference(x: np.ndarray) -> np.ndarray:
    """Martins & Astudillo (2016), Algorithm 1, along the last axis, in float64."""
    z = np.sort(x, axis=-1)[..., ::-1]
    k = np.arange(1, x.shape[-1] + 1)
    cumsum = np.cumsum(z, axis=-1)
    k_max = np.sum(1.0 + k * z > cumsum, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumsum, k_max - 1, axis=-1) - 1.0) / k_max
    return np.maximum(x - tau, 0.0)


def test_sparsemax_is_the_simplex_projection():
    x = 3.0 * np.random.default_rng(11).standard_normal((6, 8))
    for axis in (-1, 0):
        got = np.asarray(ours.layers.Activation(lambda t, axis=axis: ours.activations.sparsemax(t, axis))(x))
        want = np.moveaxis(_sparsemax_reference(np.moveaxis(x, axis, -1)), -1, axis)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-5)
    # where one value alone is in the support, Keras' formula is right and agrees
    peaked = np.array([[5.0, 0.1, -0.3, 0.2]], "float32")
    np.testing.assert_allclose(
        np.asarray(ours.layers.Activation("sparsemax")(peaked)), real.activations.sparsemax(peaked), atol=1e-6
    )


# Points away from every kink (0, +-0.5, +-1) of the piecewise ones, so finite
# differences see one piece.
_FD_POINTS = np.array([[-2.7, -1.6, -0.8, -0.3, 0.2, 0.7, 1.3, 2.4], [1.9, -0.65, 0.35, -1.2, 2.2, 0.85, -0.15, -3.1]])
_ADDED_ACTIVATIONS = [
    "celu",
    "glu",
    "hard_shrink",
    "hard_tanh",
    "log_sigmoid",
    "mish",
    "soft_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
]


@pytest.mark.parametrize("name", _ADDED_ACTIVATIONS)
def test_added_activation_gradients_by_finite_differences_in_float64(name: str):
    fn = ours.activations.get(name)
    weights = np.random.default_rng(3).standard_normal(fn(sg.constant(_FD_POINTS)).shape)
    ph = sg.placeholder(_FD_POINTS.shape, "float64")
    cost = sg.sum(fn(ph) * weights)
    f = sg.function([ph], cost)
    (grad,) = sg.function([ph], sg.grad(cost, [ph]))(_FD_POINTS)
    eps = 1e-6
    numeric = np.zeros_like(_FD_POINTS)
    for index in np.ndindex(_FD_POINTS.shape):
        up, down = _FD_POINTS.copy(), _FD_POINTS.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (float(f(up)) - float(f(down))) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)
