"""Behaviours found by comparing symgraph.keras with real Keras 3.15 on tutorial programs;
each test checks the Keras rule against a numpy computation (no Keras needed)."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(7)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _classifier(**compile_kwargs):
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy", **compile_kwargs)
    return model


def test_sample_weight_reaches_weighted_metrics_only():
    # Keras: `metrics` are unweighted, `weighted_metrics` see sample_weight; the loss is weighted.
    x = RNG.standard_normal((12, 4)).astype("float32")
    y = RNG.integers(0, 3, 12)
    sw = np.linspace(0.1, 3.0, 12).astype("float32")
    model = _classifier(metrics=["accuracy"], weighted_metrics=["accuracy"])
    history = model.fit(x, y, sample_weight=sw, batch_size=5, epochs=1, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    prob = _softmax(x @ kernel + bias)
    hit = (prob.argmax(-1) == y).astype("float32")
    ce = -np.log(np.clip(prob[np.arange(12), y], 1e-7, 1 - 1e-7))
    assert sorted(history.history) == ["accuracy", "loss", "weighted_accuracy"]
    np.testing.assert_allclose(history.history["accuracy"][0], hit.mean(), rtol=1e-6)
    np.testing.assert_allclose(history.history["weighted_accuracy"][0], (hit * sw).sum() / sw.sum(), rtol=1e-6)
    batches = [slice(0, 5), slice(5, 10), slice(10, 12)]
    batch_losses = [(ce[b] * sw[b]).sum() / len(ce[b]) for b in batches]
    expected_loss = sum(loss * len(ce[b]) for loss, b in zip(batch_losses, batches)) / 12
    np.testing.assert_allclose(history.history["loss"][0], expected_loss, rtol=1e-5)


def test_class_weight_leaves_plain_metrics_unweighted():
    x = RNG.standard_normal((10, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    model = _classifier(metrics=["accuracy"])
    history = model.fit(x, y, class_weight={0: 5.0, 1: 0.1, 2: 1.0}, epochs=1, verbose=0)
    kernel, bias = model.get_weights()
    hit = (_softmax(x @ kernel + bias).argmax(-1) == y).mean()
    np.testing.assert_allclose(history.history["accuracy"][0], hit, rtol=1e-6)


def test_result_lists_follow_keras_order():
    # Keras' _flatten_metrics_in_order: loss, then the compiled metrics in order.
    x = RNG.standard_normal((6, 4)).astype("float32")
    y = RNG.integers(0, 3, 6)
    model = _classifier(metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    kernel, bias = model.get_weights()
    prob = _softmax(x @ kernel + bias)
    loss = float(np.mean(-np.log(prob[np.arange(6), y])))
    acc = float((prob.argmax(-1) == y).mean())
    for result in (model.train_on_batch(x, y), model.test_on_batch(x, y), model.evaluate(x, y, verbose=0)):
        assert len(result) == 3
        np.testing.assert_allclose(result[:2], [loss, acc], rtol=1e-5)
        assert result[2] == pytest.approx(1.0)  # top-5 of 3 classes always hits


def test_multi_output_results_put_the_output_losses_first_in_loss_dict_order():
    inp = keras.Input((3,))
    hidden = L.Dense(4, name="shared")(inp)
    model = keras.Model(inp, {"zeta": L.Dense(1, name="zeta")(hidden), "alpha": L.Dense(1, name="alpha")(hidden)})
    model.compile("sgd", loss={"zeta": "mae", "alpha": "mse"}, metrics={"zeta": ["mse"], "alpha": ["mae"]})
    model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
    x = np.ones((4, 3), "float32")
    y = {"zeta": np.full((4, 1), 3.0, "float32"), "alpha": np.full((4, 1), 7.0, "float32")}
    hidden_value = 3 * 1.0 * 0.1 + 0.1  # every hidden unit: x = 1, weights and biases 0.1
    pred = 4 * hidden_value * 0.1 + 0.1
    zeta_mae, alpha_mse = abs(3.0 - pred), (7.0 - pred) ** 2
    assert list(model.predict(x, verbose=0)) == ["alpha", "zeta"]  # dict outputs come back key-sorted
    result = model.evaluate(x, y, verbose=0)
    # loss, then zeta_loss and alpha_loss (the loss dict's order), then the rest sorted
    np.testing.assert_allclose(
        result, [zeta_mae + alpha_mse, zeta_mae, alpha_mse, abs(7.0 - pred), (3.0 - pred) ** 2], rtol=1e-5
    )


def test_functional_layers_follow_keras_depth_order():
    a = keras.Input((6,), name="in_a")
    b = keras.Input((6,), name="in_b")
    joined = L.Concatenate(name="join")([a, b])
    deep = L.Dense(8, name="deep")(joined)
    side = L.Dense(8, name="side")(a)  # created after "deep", listed before it
    product = L.Multiply(name="product")([side, deep])
    model = keras.Model([a, b], [L.Dense(1, name="reg")(product), L.Dense(1, name="cls")(deep)])
    # keras.src.ops.function.map_graph: by depth (longest path to an output), then first
    # reached by a depth-first walk from the outputs.
    assert [layer.name for layer in model.layers] == ["in_a", "in_b", "join", "side", "deep", "product", "reg", "cls"]
    shapes = [w.shape for w in model.get_weights()]
    assert shapes[:4] == [(6, 8), (8,), (12, 8), (8,)]


def test_masked_sequence_loss_and_accuracy_skip_padding():
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 0], [1, 2, 3, 4]], np.int32)
    labels = np.array([[0, 1, 2, 2], [1, 1, 0, 0], [2, 0, 1, 1]])
    model = keras.Sequential(
        [keras.Input((4,)), L.Embedding(10, 3, mask_zero=True), L.LSTM(5, return_sequences=True), L.Dense(3)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    logits = model.predict(ids, verbose=0)
    log_prob = np.log(_softmax(logits))
    ce = -np.take_along_axis(log_prob, labels[..., None], -1)[..., 0]
    valid = ids != 0
    loss, acc = model.evaluate(ids, labels, verbose=0)
    np.testing.assert_allclose(loss, ce[valid].mean(), rtol=1e-5)
    np.testing.assert_allclose(acc, (logits.argmax(-1) == labels)[valid].mean(), rtol=1e-6)


def test_return_sequences_passes_the_mask_to_the_next_rnn():
    ids = np.array([[3, 4, 0, 0], [5, 0, 0, 0], [1, 2, 3, 4]], np.int32)
    embedding = L.Embedding(10, 3, mask_zero=True)
    first, second = L.LSTM(4, return_sequences=True), L.GRU(5)
    out = np.asarray(second(first(embedding(ids))))
    table = embedding.get_weights()[0]
    for row, length in enumerate([2, 1, 4]):  # the same as running the unpadded prefix alone
        alone = np.asarray(second(first(table[ids[row : row + 1, :length]])))
        np.testing.assert_allclose(out[row], alone[0], atol=1e-6)


def test_subclassed_summary_shows_the_shapes_layers_were_built_with():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = L.Dense(8, activation="relu")
            self.drop = L.Dropout(0.1)
            self.out = L.Dense(1)

        def call(self, x, training=None):
            return self.out(self.drop(self.hidden(x), training=training))

    model = Net()
    model(np.zeros((2, 6), "float32"))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        model.summary()
    rows = [line for line in buffer.getvalue().splitlines() if line.startswith("│")]
    # Keras: compute_output_shape(build shape, batch included) for layers with a build();
    # "?" for the ones built at construction (Dropout).
    assert "(2, 8)" in rows[0] and "?" in rows[1] and "(2, 1)" in rows[2]


def test_compute_output_shape_takes_a_shape_tuple():
    assert L.Dense(8).compute_output_shape((None, 6)) == (None, 8)
    assert L.Add().compute_output_shape([(None, 3), (None, 3)]) == (None, 3)


def test_conv2d_strides_by_keyword_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = L.Conv2D(6, 3, strides=2, padding="same")
    assert layer.strides == (2, 2)
    with pytest.warns(UserWarning, match="third positional argument is `strides`"):
        L.Conv2D(6, 3, 2)


def test_sequential_builds_take_a_functional_name_as_in_keras():
    keras.backend.clear_session()
    inner = keras.Sequential([L.Dense(2)], name="block")  # no input: not built yet
    inp = keras.Input((3,))
    inner(inp)  # builds its graph: Keras names that graph "functional"
    outer = keras.Model(inp, L.Dense(1)(inner(inp)))
    assert outer.name == "functional_1"
    keras.backend.clear_session()
    keras.Sequential([keras.Input((3,)), L.Dense(2)])  # built at once: takes "functional"
    inp = keras.Input((1,))
    assert keras.Model(inp, L.Dense(1)(inp)).name == "functional_1"


def test_steps_per_epoch_on_arrays_carries_the_pass_over_epochs():
    # Keras' EpochIterator: epoch 2 goes on from where epoch 1 stopped; an epoch that
    # reaches the end of the data stops there (with a warning); the next starts afresh.
    x = np.arange(7, dtype="float32").reshape(7, 1)
    y = np.zeros((7, 1), "float32")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = keras.Sequential([keras.Input((1,)), L.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    model.set_weights([np.ones((1, 1), "float32")])
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(
            x, y, batch_size=2, steps_per_epoch=3, epochs=3, shuffle=False, verbose=0, callbacks=[Record()]
        )
    # 4 batches: epoch 1 = batches 0..2, epoch 2 = batch 3 then the data ends, epoch 3 = 0..2
    assert seen == [0, 1, 2, 0, 0, 1, 2]
    epoch_means = [np.mean(x[:6] ** 2), np.mean(x[6:] ** 2), np.mean(x[:6] ** 2)]
    np.testing.assert_allclose(history.history["loss"], epoch_means, rtol=1e-6)


def test_legacy_layer_spellings_warn_with_the_modern_name():
    with pytest.warns(DeprecationWarning, match=r"Dropout\(rate=\.\.\.\)"):
        assert L.Dropout(p=0.25).rate == 0.25
    for cls in (L.LSTM, L.GRU, L.SimpleRNN):
        with pytest.warns(DeprecationWarning, match=rf"{cls.__name__}\(units=\.\.\.\)"):
            assert cls(output_dim=3).units == 3
    with pytest.raises(TypeError, match="units"):
        L.LSTM()


def test_predict_classes_warns_and_matches_argmax():
    x = RNG.standard_normal((5, 4)).astype("float32")
    model = _classifier()
    kernel, bias = model.get_weights()
    with pytest.warns(DeprecationWarning, match="np.argmax"):
        classes = model.predict_classes(x)
    np.testing.assert_array_equal(classes, (x @ kernel + bias).argmax(-1))
    binary = keras.Sequential([keras.Input((4,)), L.Dense(1, activation="sigmoid")])
    w, b = binary.get_weights()
    with pytest.warns(DeprecationWarning):
        got = binary.predict_classes(x)
    np.testing.assert_array_equal(got[:, 0], (1 / (1 + np.exp(-(x @ w + b)[:, 0])) > 0.5).astype("int32"))


def test_unknown_optimizer_name_is_named_in_the_error():
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: foo$"):
        keras.Sequential([keras.Input((2,)), L.Dense(1)]).compile("foo", "mse")


def test_summary_lines_are_cropped_to_the_console_width(monkeypatch, capsys):
    # Keras prints through rich, which crops each line at the console width ($COLUMNS,
    # else the terminal's, else 80): a line_length of 100 loses its right edge.
    monkeypatch.setenv("COLUMNS", "70")
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    model.summary(line_length=100)
    lines = capsys.readouterr().out.splitlines()
    table = [line for line in lines if line.startswith(("┏", "┃", "│"))]
    assert table and all(len(line) == 70 for line in table)
    assert not table[0].endswith("┓")  # the corner was cropped away
    monkeypatch.setenv("COLUMNS", "200")
    model.summary(line_length=100)
    assert capsys.readouterr().out.splitlines()[1].endswith("┓")


def test_masked_steps_repeat_the_previous_output_in_sequences():
    # Keras' rnn loop: output_t = where(mask_t, output_t, output_{t-1}) (zeros before any
    # valid step), and the state is carried unchanged.
    ids = np.array([[0, 3, 0, 4], [5, 6, 0, 0]], np.int32)
    embedding = L.Embedding(10, 3, mask_zero=True)
    lstm = L.LSTM(4, return_sequences=True)
    out = np.asarray(lstm(embedding(ids)))
    table = embedding.get_weights()[0]
    kernel, recurrent, bias = lstm.get_weights()
    for row in range(2):
        h = np.zeros(4)
        c = np.zeros(4)
        for t in range(4):
            if ids[row, t] != 0:
                i, f, g, o = np.split(table[ids[row, t]] @ kernel + bias + h @ recurrent, 4)
                c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
                h = 1 / (1 + np.exp(-o)) * np.tanh(c)
            np.testing.assert_allclose(out[row, t], h, atol=1e-6)
    np.testing.assert_array_equal(out[0, 0], np.zeros(4))


def test_variable_paths_name_the_enclosing_model_and_layer():
    keras.backend.clear_session()
    seq = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    assert [w.path for w in seq.weights] == ["sequential/dense/kernel", "sequential/dense/bias"]
    inp = keras.Input((4, 3))
    functional = keras.Model(inp, L.LSTM(2)(inp))  # called outside any model: no prefix
    assert [w.path for w in functional.weights][0] == "lstm/lstm_cell/kernel"

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = L.Dense(2)

        def call(self, x):
            return self.inner(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    assert [w.path for w in net.weights] == ["net/dense_1/kernel", "net/dense_1/bias"]
