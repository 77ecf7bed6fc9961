"""The older tutorials' spellings, accepted with a warning naming the modern one: ``lr=``
and ``decay=`` on the optimizers (decay as Keras 2's inverse-time decay, checked against
numpy), ModelCheckpoint's ``.ckpt`` / ``.h5`` / ``.hdf5`` weights paths, ``load_weights``
into a model not built yet (the values go in when it is built), and 1-D data for a model
whose input is ``(None, 1)`` (Keras 3's rank adjustment, checked against numpy)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from symgraph import keras
from symgraph.keras import optimizers, saving
from symgraph.keras.serialization import SavedFileError

h5py = pytest.importorskip("h5py")
L = keras.layers
RNG = np.random.default_rng(17)
X = RNG.standard_normal((12, 3)).astype("float32")
Y = RNG.standard_normal((12, 1)).astype("float32")


# --- lr= and decay= ------------------------------------------------------------------------

OPTIMIZERS = [cls for cls in optimizers.ALL_OBJECTS if cls is not optimizers.Optimizer]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda cls: cls.__name__)
def test_lr_is_learning_rate_with_a_warning_naming_it(cls):
    with pytest.warns(DeprecationWarning, match=r"`lr`.*use `learning_rate`") as caught:
        opt = cls(lr=0.05)
    assert caught[0].filename == __file__  # the warning points at the user's line
    assert opt.learning_rate == pytest.approx(0.05)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.05)


def _linear(optimizer):
    model = keras.Sequential([keras.Input((3,)), L.Dense(1, kernel_initializer="ones", bias_initializer="zeros")])
    model.compile(optimizer, "mse")
    return model


def test_decay_is_keras2_inverse_time_decay_inside_the_compiled_step():
    with pytest.warns(DeprecationWarning, match="InverseTimeDecay"), pytest.warns(DeprecationWarning, match="`lr`"):
        opt = optimizers.SGD(lr=0.1, momentum=0.9, decay=0.5)
    model = _linear(opt)
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # 6 steps
    # Keras 2's SGD: lr_t = lr / (1 + decay * iterations); m = mu*m - lr_t*g; w += m
    w, b = np.ones((3, 1)), np.zeros(1)
    mw, mb = np.zeros_like(w), np.zeros_like(b)
    for t in range(6):
        xb, yb = X[(t % 3) * 4 : (t % 3) * 4 + 4].astype(np.float64), Y[(t % 3) * 4 : (t % 3) * 4 + 4]
        err = xb @ w + b - yb
        gw, gb = 2 * xb.T @ err / len(xb), 2 * err.sum(0) / len(xb)
        lr_t = 0.1 / (1 + 0.5 * t)
        mw, mb = 0.9 * mw - lr_t * gw, 0.9 * mb - lr_t * gb
        w, b = w + mw, b + mb
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(bias, b, rtol=2e-5, atol=2e-6)
    assert int(opt.iterations.numpy()) == 6
    assert opt.learning_rate == pytest.approx(0.1)  # Keras 2 reports the undecayed rate


def test_decay_matches_the_inverse_time_schedule_keras3_names():
    with pytest.warns(DeprecationWarning):
        decayed = _linear(optimizers.Adam(lr=0.05, decay=0.25))
    scheduled = _linear(
        optimizers.Adam(learning_rate=optimizers.schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.25))
    )
    for model in (decayed, scheduled):
        model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(decayed.get_weights(), scheduled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_decay_round_trips_through_the_config_and_the_rate_stays_settable():
    with pytest.warns(DeprecationWarning):
        opt = optimizers.RMSprop(learning_rate=0.01, decay=1e-3)
    config = opt.get_config()
    assert config["decay"] == pytest.approx(1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a saved decay was warned about when it was made
        clone = optimizers.RMSprop.from_config(config)
    assert clone.decay == pytest.approx(1e-3)
    clone.learning_rate = 0.5
    assert clone.learning_rate == pytest.approx(0.5)
    assert "decay" not in optimizers.RMSprop().get_config()  # Keras 3's config, unchanged
    with pytest.raises(ValueError, match="decay cannot be less than 0"):
        optimizers.SGD(decay=-0.1)


# --- ModelCheckpoint with Keras 2 weights paths ------------------------------------------


def _trained_model(input_shape=True):
    layers = [L.Dense(4, activation="tanh"), L.Dense(1)]
    model = keras.Sequential([keras.Input((3,)), *layers] if input_shape else layers)
    model.compile(optimizers.SGD(learning_rate=0.05), "mse")
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("suffix", [".ckpt", ".h5", ".hdf5"])
def test_model_checkpoint_writes_keras2_paths_in_the_weights_h5_layout(tmp_path, suffix):
    path = tmp_path / f"best{suffix}"
    with pytest.warns(DeprecationWarning, match=r"\.weights\.h5"):
        checkpoint = keras.callbacks.ModelCheckpoint(str(path), monitor="loss", save_weights_only=True)
    model = _trained_model()
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint])
    with h5py.File(path, "r") as f:  # Keras 3's layout: layers/<name>/vars/<i>
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_weights()[0])
    other = keras.Sequential([keras.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(1)])
    with pytest.warns(DeprecationWarning, match=r"\.weights\.h5"):
        other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):  # other paths are still refused
        keras.callbacks.ModelCheckpoint(str(tmp_path / "w.pkl"), save_weights_only=True)


def test_a_keras2_layout_file_is_named_as_such(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f["dense/dense/kernel:0"] = np.zeros((3, 4), "float32")
    model = keras.Sequential([keras.Input((3,)), L.Dense(4)])
    for target in (model, keras.Sequential([L.Dense(4)])):  # built, and deferred
        with pytest.warns(DeprecationWarning), pytest.raises(SavedFileError, match="Keras 2's HDF5 weights layout"):
            target.load_weights(path)


# --- load_weights into a model not built yet ---------------------------------------------


@pytest.mark.parametrize("how", ["call", "predict", "fit", "build"])
def test_load_weights_into_an_unbuilt_sequential_restores_when_built(tmp_path, how):
    saved = _trained_model()
    path = tmp_path / "m.weights.h5"
    saved.save_weights(path)
    model = keras.Sequential([L.Dense(4, activation="tanh"), L.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=0.5), "mse")
    model.load_weights(path)
    assert not model.built and model.weights == []
    if how == "call":
        out = model(X)
    elif how == "predict":
        out = model.predict(X, verbose=0)
    elif how == "fit":  # resumes: the same epoch as the saved model's next one
        model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        saved.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        # the optimizer's state came with the weights: its step count, and its rate 0.05
        assert int(model.optimizer.iterations.numpy()) == 6
        assert model.optimizer.learning_rate == pytest.approx(0.05)
    else:
        model.build((None, 3))
    for a, b in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    if how in ("call", "predict"):
        np.testing.assert_allclose(np.asarray(out), saved.predict(X, verbose=0), rtol=1e-6)


class TwoDense(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = L.Dense(4, activation="tanh")
        self.out = L.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))


@pytest.mark.parametrize("how", ["call", "build"])
def test_load_weights_into_a_subclassed_model_before_its_first_call(tmp_path, how):
    saved = TwoDense()
    saved(X)
    saved.hidden.set_weights([RNG.standard_normal((3, 4)).astype("float32"), np.full(4, 0.5, "float32")])
    path = tmp_path / "net.weights.h5"
    saved.save_weights(path)
    model = TwoDense()
    model.load_weights(path)
    assert not model.built
    if how == "call":
        out = model(X)
        np.testing.assert_allclose(np.asarray(out), np.asarray(saved(X)), rtol=1e-6)
    else:
        model.build((None, 3))
    for a, b in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_deferred_load_that_does_not_fit_the_built_model_changes_nothing(tmp_path):
    path = tmp_path / "m.weights.h5"
    _trained_model().save_weights(path)
    model = keras.Sequential([L.Dense(4, activation="tanh"), L.Dense(1)])
    model.load_weights(path)
    with pytest.raises(SavedFileError, match=r"deferred.*\n.*\(3, 4\).*\(5, 4\)"):
        model.build((None, 5))
    # all or nothing: the second layer, whose shapes do match, kept its fresh values
    assert not np.any(model.get_weights()[3])  # its bias starts at zero; the file's is not
    assert model._deferred_weights is None  # the failed load is not retried at every call


def test_a_deferred_load_checks_the_file_when_it_is_called(tmp_path):
    good = tmp_path / "m.weights.h5"
    _trained_model().save_weights(good)
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["data"] = np.arange(12.0, dtype="float32").reshape(3, 4)
    linked = tmp_path / "linked.weights.h5"
    linked.write_bytes(good.read_bytes())
    with h5py.File(linked, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "/data")
    unbuilt = keras.Sequential([L.Dense(4, activation="tanh"), L.Dense(1)])
    with pytest.raises(SavedFileError, match="external link"):
        unbuilt.load_weights(linked)
    compressed = tmp_path / "zip.weights.h5"
    compressed.write_bytes(good.read_bytes())
    with h5py.File(compressed, "a") as f:
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", data=np.zeros((3, 4), "float32"), compression="gzip")
    with pytest.raises(SavedFileError, match="compressed"):
        unbuilt.load_weights(compressed)
    previous = saving.set_file_limits(weights_bytes=40)
    try:
        with pytest.raises(SavedFileError, match="FileLimits.weights_bytes"):
            unbuilt.load_weights(good)
    finally:
        saving.set_file_limits(previous)
    assert unbuilt._deferred_weights is None


# --- 1-D data for a (None, 1) input: Keras 3's rank adjustment ---------------------------


def _column_model(sequential):
    if sequential:
        model = keras.Sequential([keras.Input((1,)), L.Dense(2, kernel_initializer="ones")])
    else:
        inputs = keras.Input((1,))
        model = keras.Model(inputs, L.Dense(2, kernel_initializer="ones")(inputs))
    model.compile(optimizers.SGD(learning_rate=0.1), "mse", metrics=["mae"])
    return model


@pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "functional"])
def test_one_dimensional_x_gains_the_last_axis_everywhere(sequential):
    x = np.linspace(-1, 1, 8).astype("float32")
    y = np.stack([x * 2, -x], axis=1).astype("float32")
    model, column = _column_model(sequential), _column_model(sequential)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    column_history = column.fit(x[:, None], y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert history.history == column_history.history
    kernel, bias = model.get_weights()
    np.testing.assert_array_equal(kernel, column.get_weights()[0])
    expected = x[:, None] @ kernel + bias  # numpy on the (n, 1) column
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x, training=True)), expected, rtol=1e-6)
    mse = float(np.mean((expected - y) ** 2))
    loss, _ = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(mse, rel=1e-5)
    assert model.test_on_batch(x, y)[0] == pytest.approx(mse, rel=1e-5)
    assert model.train_on_batch(x, y)[0] == pytest.approx(mse, rel=1e-5)  # the loss before the update
    val = model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0).history["val_loss"][0]
    assert val == pytest.approx(float(np.mean((model.predict(x[:, None], verbose=0) - y) ** 2)), rel=1e-5)


def test_a_trailing_axis_of_one_is_squeezed_and_other_ranks_still_raise():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, L.Dense(1, kernel_initializer="ones")(inputs))
    x = RNG.standard_normal((5, 3, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x[..., 0].sum(axis=1, keepdims=True), rtol=1e-5)
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(RNG.standard_normal((5, 3, 2)).astype("float32"), verbose=0)
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(RNG.standard_normal(5).astype("float32"), verbose=0)  # (None, 3) does not end in 1
