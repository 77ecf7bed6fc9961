"""The "crossentropy"/"ce" loss and "accuracy"/"acc" metric shortcuts, resolved from the
target and output shapes: through compile + fit (the path training takes) and through
``losses.resolve`` / ``metrics.resolve`` directly, which must be that same path."""

from __future__ import annotations

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(7)
N = 10
EPS = 1e-7


def _softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def _labels():
    return RNG.integers(0, 3, N)


# (target builder, output units, expected loss class, expected accuracy class)
CASES = {
    "binary": (
        lambda labels: (labels > 0).astype("float32").reshape(-1, 1),
        1,
        keras.losses.BinaryCrossentropy,
        keras.metrics.BinaryAccuracy,
    ),
    "sparse": (
        lambda labels: labels,
        3,
        keras.losses.SparseCategoricalCrossentropy,
        keras.metrics.SparseCategoricalAccuracy,
    ),
    "sparse_last_axis_1": (
        lambda labels: labels.reshape(-1, 1),
        3,
        keras.losses.SparseCategoricalCrossentropy,
        keras.metrics.SparseCategoricalAccuracy,
    ),
    "categorical": (
        lambda labels: keras.utils.to_categorical(labels, 3),
        3,
        keras.losses.CategoricalCrossentropy,
        keras.metrics.CategoricalAccuracy,
    ),
}


def _numpy_loss_and_accuracy(kind, probs, y):
    clipped = np.clip(probs, EPS, 1 - EPS)
    if kind == "binary":
        per_sample = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean(1)
        accuracy = np.mean((probs > 0.5) == y)
    else:
        one_hot = y if kind == "categorical" else np.eye(3)[np.asarray(y).reshape(-1)]
        per_sample = -(one_hot * np.log(clipped / clipped.sum(1, keepdims=True))).sum(1)
        accuracy = np.mean(probs.argmax(1) == one_hot.argmax(1))
    return float(per_sample.mean()), float(accuracy)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize(("loss_id", "metric_id"), [("crossentropy", "accuracy"), ("ce", "acc")])
def test_fit_resolves_the_shortcuts_from_the_shapes(kind, loss_id, metric_id):
    make_y, units, loss_cls, accuracy_cls = CASES[kind]
    x = RNG.standard_normal((N, 4)).astype("float32")
    y = make_y(_labels())
    activation = "sigmoid" if units == 1 else "softmax"
    model = keras.Sequential([keras.Input((4,)), L.Dense(units, activation=activation)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), loss_id, metrics=[metric_id])
    history = model.fit(x, y, epochs=1, batch_size=N, shuffle=False, verbose=0)

    ((loss_fn, _),) = model._compiled_losses
    assert type(loss_fn) is loss_cls
    (metric,) = model.metrics
    assert type(metric) is accuracy_cls and metric.name == metric_id
    # The direct call answers as training did, for the shapes training saw.
    target_shape = (None, *np.shape(y)[1:])
    assert type(keras.losses.resolve(loss_id, output_shape=(None, units), target_shape=target_shape)) is loss_cls
    direct = keras.metrics.resolve(metric_id, loss_fn, output_shape=(None, units), target_shape=target_shape)
    assert type(direct) is accuracy_cls

    kernel, bias = model.get_weights()
    logits = x @ kernel + bias
    probs = _sigmoid(logits) if units == 1 else _softmax(logits)
    want_loss, want_accuracy = _numpy_loss_and_accuracy(kind, probs, y)
    assert history.history["loss"][0] == pytest.approx(want_loss, rel=1e-5)
    assert history.history[metric_id][0] == pytest.approx(want_accuracy)


def test_training_calls_the_resolution_of_the_losses_and_metrics_modules(monkeypatch):
    calls = []

    def spy(module):
        real = module.resolve

        def recording(identifier, *args, **kwargs):
            result = real(identifier, *args, **kwargs)
            calls.append((module.__name__.rsplit(".", 1)[-1], identifier, type(result).__name__))
            return result

        monkeypatch.setattr(module, "resolve", recording)

    spy(keras.losses)
    spy(keras.metrics)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile("sgd", "ce", metrics=["acc", "crossentropy"])
    model.fit(RNG.standard_normal((N, 4)).astype("float32"), _labels(), batch_size=N, verbose=0)
    assert calls == [
        ("losses", "ce", "SparseCategoricalCrossentropy"),
        ("metrics", "acc", "SparseCategoricalAccuracy"),
        ("metrics", "crossentropy", "SparseCategoricalCrossentropy"),
    ]


def test_crossentropy_metric_in_fit_logs_the_loss_value():
    x = RNG.standard_normal((N, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy", metrics=["ce"])
    history = model.fit(x, _labels(), batch_size=N, verbose=0)
    assert history.history["ce"][0] == pytest.approx(history.history["loss"][0], rel=1e-6)


def test_each_output_resolves_the_shortcuts_from_its_own_shapes():
    inputs = keras.Input((4,))
    binary = L.Dense(1, activation="sigmoid", name="binary")(inputs)
    classes = L.Dense(3, activation="softmax", name="classes")(inputs)
    model = keras.Model(inputs, [binary, classes])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "crossentropy", metrics=["accuracy"])
    x = RNG.standard_normal((N, 4)).astype("float32")
    labels = _labels()
    y_binary = (labels > 0).astype("float32").reshape(-1, 1)
    history = model.fit(x, [y_binary, labels], batch_size=N, verbose=0)
    assert [type(loss_fn) for loss_fn, _ in model._compiled_losses] == [
        keras.losses.BinaryCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
    ]
    assert [type(m) for m in model.metrics] == [keras.metrics.BinaryAccuracy, keras.metrics.SparseCategoricalAccuracy]
    kb, bb, kc, bc = model.get_weights()
    p_binary = _sigmoid(x @ kb + bb)
    p_classes = _softmax(x @ kc + bc)
    assert history.history["binary_accuracy"][0] == pytest.approx(np.mean((p_binary > 0.5) == y_binary))
    assert history.history["classes_accuracy"][0] == pytest.approx(np.mean(p_classes.argmax(1) == labels))
    binary_loss, _ = _numpy_loss_and_accuracy("binary", p_binary, y_binary)
    classes_loss, _ = _numpy_loss_and_accuracy("sparse", p_classes, labels)
    assert history.history["binary_loss"][0] == pytest.approx(binary_loss, rel=1e-5)
    assert history.history["loss"][0] == pytest.approx(binary_loss + classes_loss, rel=1e-5)


def test_compile_checks_loss_names_but_leaves_the_shortcuts_to_the_shapes():
    model = keras.Sequential([keras.Input((4,)), L.Dense(3)])
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile("sgd", "crossentropyy")
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        keras.losses.check_identifier("no_such_loss")
    for shortcut in ("crossentropy", "CE", None):
        keras.losses.check_identifier(shortcut)
    model.compile("sgd", {"output": "ce"})  # names inside a dict are checked the same way
