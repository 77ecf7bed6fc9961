"""``.keras`` files in Keras 3's layout: config.json with the layer graph, read back by
load_model without running code from the file."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from symgraph import keras

L = keras.layers
RNG = np.random.default_rng(3)


def _functional():
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = L.Dense(3, activation="relu", name="shared")
    joined = L.Add(name="add")([shared(a), shared(b)])
    out = L.Dense(2, activation="softmax", name="head")(L.BatchNormalization(name="bn")(joined))
    model = keras.Model([a, b], out, name="two_inputs")
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_functional_model_round_trip(tmp_path):
    model = _functional()
    x = [RNG.standard_normal((8, 4)).astype("float32") for _ in range(2)]
    y = np.arange(8) % 2
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer).__name__ == "Adam" and loaded.loss == "sparse_categorical_crossentropy"
    assert int(loaded.optimizer.iterations.numpy()) == 2  # the optimizer state came back too
    # both continue training identically
    h1 = model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history["loss"]
    h2 = loaded.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-6)


def test_config_json_has_keras_layout(tmp_path):
    path = tmp_path / "model.keras"
    _functional().save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
    assert (config["module"], config["class_name"]) == ("keras.src.models.functional", "Functional")
    inner = config["config"]
    assert inner["input_layers"] == [["a", 0, 0], ["b", 0, 0]] and inner["output_layers"] == ["head", 0, 0]
    shared = next(entry for entry in inner["layers"] if entry["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2  # called on both inputs
    arg = shared["inbound_nodes"][1]["args"][0]
    assert arg["class_name"] == "__keras_tensor__" and arg["config"]["keras_history"] == ["b", 0, 0]
    add = next(entry for entry in inner["layers"] if entry["name"] == "add")
    histories = [t["config"]["keras_history"] for t in add["inbound_nodes"][0]["args"][0]]
    assert histories == [["shared", 0, 0], ["shared", 1, 0]]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"


def test_sequential_round_trip_with_rnn(tmp_path):
    model = keras.Sequential([keras.Input((5,)), L.Embedding(12, 3), L.LSTM(4), L.Dense(1)])
    model.compile("rmsprop", "mse")
    path = tmp_path / "seq.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    ids = RNG.integers(0, 12, (3, 5))
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert not loaded.compiled


def test_lambda_layers_are_refused_unless_safe_mode_is_off(tmp_path):
    model = keras.Sequential([keras.Input((2,)), L.Lambda(lambda t: t * 2.0, name="double"), L.Dense(1)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(path)


def test_unknown_class_needs_custom_objects(tmp_path):
    class Scale(keras.Layer):
        def call(self, x):
            return x * 3.0

    model = keras.Sequential([keras.Input((2,)), Scale(name="scale")])
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(TypeError, match="custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2), "float32"), verbose=0), [[3.0, 3.0]])


def test_wrapped_layers_round_trip(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            L.Embedding(9, 3),
            L.Bidirectional(L.GRU(2, return_sequences=True)),
            L.TimeDistributed(L.Dense(2)),
            L.SimpleRNN(2),
        ]
    )
    path = tmp_path / "wrapped.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Embedding",
        "Bidirectional",
        "TimeDistributed",
        "SimpleRNN",
    ]
    ids = RNG.integers(0, 9, (2, 6))
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
