"""fit / evaluate / predict semantics against numpy computations of Keras' rules."""

from __future__ import annotations

import io

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(2)


def _linear_model(features=3, units=2, lr=0.0):
    model = keras.Sequential([keras.Input((features,)), L.Dense(units)])
    model.compile(keras.optimizers.SGD(learning_rate=lr), "mse", metrics=["mae"])
    return model


def _mse_mae(model, x, y):
    kernel, bias = model.get_weights()
    pred = x @ kernel + bias
    return float(np.mean((pred - y) ** 2)), float(np.mean(np.abs(pred - y)))


def test_validation_split_takes_the_tail_before_shuffling():
    x = RNG.standard_normal((10, 3)).astype("float32")
    y = RNG.standard_normal((10, 2)).astype("float32")
    model = _linear_model(lr=0.0)  # weights never move: every number is a numpy computation
    history = model.fit(x, y, epochs=2, batch_size=3, validation_split=0.3, shuffle=True, verbose=0)
    split_at = int(np.floor(10 * (1 - 0.3)))
    val_mse, val_mae = _mse_mae(model, x[split_at:], y[split_at:])
    train_mse, train_mae = _mse_mae(model, x[:split_at], y[:split_at])
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert list(history.history) == sorted(history.history)
    np.testing.assert_allclose(history.history["val_loss"], [val_mse] * 2, rtol=1e-5)
    np.testing.assert_allclose(history.history["val_mae"], [val_mae] * 2, rtol=1e-5)
    # the epoch's loss is the sample-weighted mean of its batch losses = the mse over the train part
    np.testing.assert_allclose(history.history["loss"], [train_mse] * 2, rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], [train_mae] * 2, rtol=1e-5)
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.epoch == [0, 1]
    assert history.params["steps"] == 3 and history.params["epochs"] == 2
    assert model.history is history


def test_fit_sgd_steps_match_numpy():
    x = RNG.standard_normal((7, 3)).astype("float32")
    y = RNG.standard_normal((7, 1)).astype("float32")
    model = _linear_model(units=1, lr=0.1)
    w, b = [v.astype(np.float64) for v in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for start in (0, 4):  # ceil(7 / 4) = 2 steps, the last partial batch kept
        xb, yb = x[start : start + 4], y[start : start + 4]
        err = xb @ w + b - yb
        w = w - 0.1 * (2 / err.size) * xb.T @ err
        b = b - 0.1 * (2 / err.size) * err.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_evaluate_returns_loss_then_metrics():
    x = RNG.standard_normal((9, 3)).astype("float32")
    y = RNG.standard_normal((9, 2)).astype("float32")
    model = _linear_model()
    loss, mae = model.evaluate(x, y, batch_size=4, verbose=0)
    want = _mse_mae(model, x, y)
    np.testing.assert_allclose([loss, mae], want, rtol=1e-5)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(result) == ["loss", "mae"]


def test_accuracy_shape_rule_and_name():
    x = RNG.standard_normal((12, 4)).astype("float32")
    labels = RNG.integers(0, 3, 12)
    for loss, y, metric in [
        ("sparse_categorical_crossentropy", labels, "acc"),
        ("categorical_crossentropy", keras.utils.to_categorical(labels, 3), "accuracy"),
    ]:
        model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
        model.compile("sgd", loss, metrics=[metric])
        result = model.evaluate(x, y, verbose=0, return_dict=True)
        kernel, bias = model.get_weights()
        want = float(np.mean(np.argmax(x @ kernel + bias, 1) == labels))
        assert list(result) == [metric, "loss"] or list(result) == ["loss", metric]
        assert result[metric] == pytest.approx(want)
    binary = keras.Sequential([keras.Input((4,)), L.Dense(1, activation="sigmoid")])
    binary.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    y = (x[:, 0] > 0).astype("float32").reshape(-1, 1)
    acc = binary.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    kernel, bias = binary.get_weights()
    p = 1 / (1 + np.exp(-(x @ kernel + bias)))
    assert acc == pytest.approx(float(np.mean((p > 0.5) == y)))


def test_train_and_test_on_batch_reset_metrics_each_call():
    x = RNG.standard_normal((6, 3)).astype("float32")
    y = RNG.standard_normal((6, 2)).astype("float32")
    model = _linear_model()
    first = model.test_on_batch(x[:3], y[:3])
    second = model.test_on_batch(x[3:], y[3:])
    np.testing.assert_allclose(first, _mse_mae(model, x[:3], y[:3]), rtol=1e-5)
    np.testing.assert_allclose(second, _mse_mae(model, x[3:], y[3:]), rtol=1e-5)
    out = model.train_on_batch(x, y, return_dict=True)
    assert out["loss"] == pytest.approx(_mse_mae(model, x, y)[0], rel=1e-5)  # lr 0: weights unchanged


def test_sample_weight_and_class_weight():
    x = RNG.standard_normal((8, 3)).astype("float32")
    y = RNG.standard_normal((8, 1)).astype("float32")
    model = _linear_model(units=1)
    sw = np.array([1, 0, 2, 1, 0, 1, 3, 1], np.float32)
    loss = model.evaluate(x, y, sample_weight=sw, verbose=0, batch_size=8)[0]
    kernel, bias = model.get_weights()
    per_sample = ((x @ kernel + bias - y) ** 2).mean(1)
    assert loss == pytest.approx(float((per_sample * sw).sum() / 8), rel=1e-5)
    clf = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="softmax")])
    clf.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy")
    labels = np.array([0, 1, 1, 0, 1, 1, 1, 0])
    hist = clf.fit(x, labels, class_weight={0: 2.0, 1: 0.5}, batch_size=8, verbose=0, shuffle=False)
    kernel, bias = clf.get_weights()
    logits = x @ kernel + bias
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ce = -np.log(p[np.arange(8), labels])
    weights = np.where(labels == 0, 2.0, 0.5)
    assert hist.history["loss"][0] == pytest.approx(float((ce * weights).sum() / 8), rel=1e-5)


def test_validation_freq_and_initial_epoch():
    x = RNG.standard_normal((8, 3)).astype("float32")
    y = RNG.standard_normal((8, 2)).astype("float32")
    model = _linear_model()
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0, callbacks=[cb], initial_epoch=1)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert ["val_loss" in keys for _, keys in seen] == [True, False, True]


def test_generator_and_pydataset():
    x = RNG.standard_normal((12, 3)).astype("float32")
    y = RNG.standard_normal((12, 2)).astype("float32")
    model = _linear_model()

    def batches():
        while True:
            for i in range(0, 12, 4):
                yield x[i : i + 4], y[i : i + 4]

    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert history.history["loss"] == pytest.approx([_mse_mae(model, x, y)[0]] * 2, rel=1e-5)

    class Data(keras.utils.PyDataset):
        epochs_ended = 0

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 4 : (i + 1) * 4], y[i * 4 : (i + 1) * 4]

        def on_epoch_end(self):
            Data.epochs_ended += 1

    history = model.fit(Data(), epochs=2, verbose=0)
    assert Data.epochs_ended == 2
    assert history.history["loss"][0] == pytest.approx(_mse_mae(model, x, y)[0], rel=1e-5)
    with pytest.warns(DeprecationWarning, match="fit"):
        model.fit_generator(batches(), steps_per_epoch=1, epochs=1, verbose=0)


def test_nb_epoch_is_accepted_with_a_warning():
    model = _linear_model()
    with pytest.warns(DeprecationWarning, match="epochs"):
        history = model.fit(np.ones((4, 3)), np.ones((4, 2)), nb_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_batch_norm_moving_statistics_update_in_the_train_step():
    x = (RNG.standard_normal((16, 3)) * 2 + 5).astype("float32")
    model = keras.Sequential([keras.Input((3,)), L.BatchNormalization()])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    model.train_on_batch(x, x)
    _, _, mean, var = model.get_weights()
    np.testing.assert_allclose(mean, 0.01 * x.mean(0), rtol=1e-4)
    np.testing.assert_allclose(var, 0.99 + 0.01 * x.var(0), rtol=1e-4)
    model.evaluate(x, x, verbose=0)
    model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[2], mean)  # inference leaves them alone


def test_regularization_is_in_the_logged_loss():
    x = RNG.standard_normal((5, 3)).astype("float32")
    y = RNG.standard_normal((5, 2)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, kernel_regularizer="l2")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    kernel, bias = model.get_weights()
    want = float(np.mean((x @ kernel + bias - y) ** 2) + 0.01 * np.sum(kernel**2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_early_stopping_restores_best_weights():
    x = RNG.standard_normal((8, 3)).astype("float32")
    y = RNG.standard_normal((8, 1)).astype("float32")
    model = _linear_model(units=1, lr=5.0)  # diverges: the first epoch is the best
    start = model.get_weights()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=20, batch_size=8, callbacks=[stop], verbose=0, shuffle=False)
    assert len(history.history["loss"]) < 20
    best = int(np.argmin(history.history["loss"]))
    # the weights after the best epoch are restored: re-evaluating gives the best epoch's loss... after the step
    model2 = _linear_model(units=1, lr=5.0)
    model2.set_weights(start)
    model2.fit(x, y, epochs=best + 1, batch_size=8, verbose=0, shuffle=False)
    for got, want in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_progress_bar_format(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    model = _linear_model()
    x = RNG.standard_normal((8, 3)).astype("float32")
    model.fit(x, np.zeros((8, 2), np.float32), epochs=2, batch_size=4, verbose=1, validation_split=0.25)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert "\b" not in text and "\x1b" not in text  # not a terminal: whole lines, no escapes
    import re

    number = r"\d\.\d{4}(e-\d\d)?"
    pattern = rf"^2/2 ━{{20}} \d+s \d+(ms|us|s)/step - loss: {number} - mae: {number} - val_loss: .* - val_mae: .*$"
    assert re.match(pattern, lines[1]), lines[1]
    out.truncate(0)
    out.seek(0)
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, batch_size=4, verbose=2)
    assert re.match(r"^2/2 - \d+s - \d+(ms|us|s)/step - loss: .* - mae: .*$", out.getvalue().splitlines()[0])


def test_predict_concatenates_batches():
    model = _linear_model()
    x = RNG.standard_normal((10, 3)).astype("float32")
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), x @ kernel + bias, rtol=1e-5, atol=1e-6)


class _Terminal:
    """A stream that says it is a terminal, recording what is written."""

    def __init__(self):
        self.parts = []

    def isatty(self):
        return True

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass


def test_progress_bar_redraws_in_place_on_a_terminal():
    stream = _Terminal()
    bar = keras.utils.Progbar(target=4, stream=stream, interval=0.0)
    for step in range(1, 5):
        bar.update(step, [("loss", 0.5 / step)], finalize=step == 4)
    text = "".join(stream.parts)
    assert text.count("\r") == 4 and "\b" in text and text.endswith("\n")
    assert "\x1b[32m" in text  # the filled part of the bar is green
    assert "loss: 0.1250" in stream.parts[-1]
    assert "4/4" in stream.parts[-1]


def test_stateful_lstm_carries_state_between_batches():
    inputs = keras.Input(batch_shape=(2, 3, 4))
    lstm = L.LSTM(5, stateful=True)
    model = keras.Model(inputs, lstm(inputs))
    x = RNG.standard_normal((2, 3, 4)).astype("float32")
    first = model.predict(x, verbose=0)
    second = model.predict(x, verbose=0)
    assert np.abs(first - second).max() > 1e-6
    whole = keras.Sequential([keras.Input((6, 4)), L.LSTM(5)])
    whole.set_weights(model.get_weights())
    np.testing.assert_allclose(second, whole.predict(np.concatenate([x, x], 1), verbose=0), rtol=1e-5, atol=1e-6)
    lstm.reset_state()
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        keras.Sequential([keras.Input((3, 4)), L.LSTM(5, stateful=True)])


def test_freezing_a_layer_recompiles_the_train_step():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = L.Dense(3)
            self.second = L.Dense(1)

        def call(self, x):
            return self.second(self.first(x))

    net = Net()
    net.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    x = RNG.standard_normal((6, 2)).astype("float32")
    y = RNG.standard_normal((6, 1)).astype("float32")
    net.fit(x, y, verbose=0)
    net.first.trainable = False
    frozen = net.first.get_weights()
    net.fit(x, y, verbose=0)
    for got, want in zip(net.first.get_weights(), frozen):
        np.testing.assert_array_equal(got, want)
    net.optimizer.learning_rate = 0.0  # a Variable: no recompilation needed
    before = net.second.get_weights()
    net.fit(x, y, verbose=0)
    np.testing.assert_array_equal(net.second.get_weights()[0], before[0])
