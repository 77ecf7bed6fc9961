"""Keras with eager and traced code: model(x) on data, Variables with assign*, optimizers,
loss and metric objects eagerly and under tf.function; a custom loop equals fit."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph import keras, tf

RNG = np.random.default_rng(4)
X = RNG.standard_normal((48, 6)).astype("float32")
Y = RNG.integers(0, 3, 48).astype("int32")


def _model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    return model


def test_model_on_data_returns_eager_tensors():
    model = _model()
    out = model(sg.eager_tensor(X))
    assert type(out) is sg.EagerTensor and out.shape == (48, 3)
    np.testing.assert_allclose(out.numpy(), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    # on numpy alone: arrays with .numpy() (Keras' eager values), the same numbers
    on_numpy = model(X, training=False)
    np.testing.assert_allclose(on_numpy.numpy(), out.numpy(), rtol=1e-6)
    # under a recording tape numpy data gives eager tensors too, so the tape sees the ops
    with sg.GradientTape() as tape:
        taped = model(X)
        total = sg.sum(taped)
    assert type(taped) is sg.EagerTensor
    assert all(g is not None for g in tape.gradient(total, model.trainable_variables))


def test_trainable_variables_are_variables_with_assign():
    model = _model()
    kernel = model.trainable_variables[0]
    assert isinstance(kernel, sg.Variable) and kernel.trainable
    before = kernel.numpy()
    kernel.assign_sub(np.ones_like(before))
    np.testing.assert_allclose(kernel.numpy(), before - 1)
    kernel.assign_add(sg.eager_tensor(np.ones_like(before)))
    np.testing.assert_allclose(kernel.numpy(), before, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("traced", [False, True])
def test_a_custom_training_loop_equals_fit(optimizer, traced):
    """The tutorials' loop (tape, loss object, apply_gradients) takes the same steps as
    fit with the same loss, optimizer and batches, eagerly and under tf.function."""
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def make_optimizer():
        return keras.optimizers.SGD(0.1) if optimizer == "sgd" else keras.optimizers.Adam(0.01)

    reference = _model()
    reference.compile(optimizer=make_optimizer(), loss=loss_object)
    reference.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    model = _model()
    opt = make_optimizer()
    train_loss = keras.metrics.Mean()
    train_accuracy = keras.metrics.SparseCategoricalAccuracy()

    def train_step(x, y):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True)
            loss = loss_object(y, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(gradients, model.trainable_variables))
        train_loss(loss)
        train_accuracy(y, predictions)

    step = tf.function(train_step) if traced else train_step
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    for _ in range(2):
        for x, y in dataset:
            step(x, y)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    assert int(opt.iterations.numpy()) == 6
    if traced:
        assert step.trace_count == 1
    # the metric objects saw every batch: their results are the loop's
    assert 0.0 <= float(train_accuracy.result()) <= 1.0 and float(train_loss.result()) > 0


def test_metric_objects_eager_and_traced_agree():
    y_pred = RNG.standard_normal((10, 3)).astype("float32")

    def run(update):
        acc, mean = keras.metrics.SparseCategoricalAccuracy(), keras.metrics.Mean()
        update(acc, mean)
        return float(acc.result()), float(mean.result())

    def eager(acc, mean):
        acc(Y[:10], y_pred)
        mean(sg.eager_tensor(y_pred).numpy().sum(axis=1))

    @tf.function
    def traced_update(acc, mean, y, p):
        acc.update_state(y, p)
        mean.update_state(tf.reduce_sum(p, axis=1))
        return acc.result()

    def traced(acc, mean):
        inside = traced_update(acc, mean, Y[:10], y_pred)
        assert float(inside) == float(acc.result())

    assert run(eager) == pytest.approx(run(traced))
    expected = np.mean(y_pred.argmax(1) == Y[:10])
    assert run(eager)[0] == pytest.approx(expected)


def test_loss_object_on_eager_tensors_and_traced():
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = RNG.standard_normal((5, 3)).astype("float32")
    eager = loss_object(sg.eager_tensor(Y[:5]), sg.eager_tensor(logits))
    assert type(eager) is sg.EagerTensor
    traced = tf.function(lambda y, p: loss_object(y, p))(Y[:5], logits)
    z = logits - logits.max(1, keepdims=True)
    expected = -np.mean((z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(5), Y[:5]])
    assert float(eager) == pytest.approx(expected, rel=1e-5) and float(traced) == pytest.approx(expected, rel=1e-5)


def test_apply_gradients_skips_missing_gradients_with_a_warning():
    model = _model()
    opt = keras.optimizers.SGD(0.1)
    variables = model.trainable_variables
    grads = [np.ones_like(v.numpy()) for v in variables]
    grads[1] = None
    bias_before = variables[1].numpy()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients(zip(grads, variables))
    np.testing.assert_array_equal(variables[1].numpy(), bias_before)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients(zip([None] * len(variables), variables))
