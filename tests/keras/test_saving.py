"""``.weights.h5`` round trips and the HDF5 layout Keras 3 writes (read off Keras 3.15)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from symgraph import keras

h5py = pytest.importorskip("h5py")
L = keras.layers


def _layout(path):
    entries = {}

    def visit(name, obj):
        entries[name] = (dict(obj.attrs), getattr(obj, "shape", None))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return entries


def _model():
    model = keras.Sequential([keras.Input((4,)), L.Dense(8, activation="relu"), L.BatchNormalization(), L.Dense(3)])
    model.compile("adam", "mse")
    return model


def test_sequential_layout_matches_keras(tmp_path):
    model = _model()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    model.fit(x, x[:, :3], epochs=1, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    entries = _layout(path)
    datasets = {name: shape for name, (_, shape) in entries.items() if shape is not None}
    # Keras 3.15 writes exactly these paths and shapes for this model after one fit.
    assert datasets == {
        "layers/dense/vars/0": (4, 8),
        "layers/dense/vars/1": (8,),
        "layers/batch_normalization/vars/0": (8,),
        "layers/batch_normalization/vars/1": (8,),
        "layers/batch_normalization/vars/2": (8,),
        "layers/batch_normalization/vars/3": (8,),
        "layers/dense_1/vars/0": (8, 3),
        "layers/dense_1/vars/1": (3,),
        "optimizer/vars/0": (),
        "optimizer/vars/1": (),
        "optimizer/vars/2": (4, 8),
        "optimizer/vars/3": (4, 8),
        "optimizer/vars/4": (8,),
        "optimizer/vars/5": (8,),
        "optimizer/vars/6": (8,),
        "optimizer/vars/7": (8,),
        "optimizer/vars/8": (8,),
        "optimizer/vars/9": (8,),
        "optimizer/vars/10": (8, 3),
        "optimizer/vars/11": (8, 3),
        "optimizer/vars/12": (3,),
        "optimizer/vars/13": (3,),
    }
    assert entries["vars"][0] == {"name": model.name}
    assert entries["layers/dense/vars"][0] == {"name": model.layers[0].name}
    assert entries["optimizer/vars"][0]["name"] == model.optimizer.name
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.layers[0].kernel.numpy())
        assert int(f["optimizer/vars/0"][()]) == 1  # one step taken


def test_round_trip_restores_predictions_and_optimizer(tmp_path):
    x = np.random.default_rng(1).random((16, 4)).astype("float32")
    model = _model()
    model.fit(x, x[:, :3], epochs=2, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    fresh = _model()
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(fresh.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.get_value(), b.get_value())


def test_names_count_by_class_not_layer_name(tmp_path):
    keras.backend.clear_session()
    L.Dense(1)  # takes the name "dense": the model's layers are dense_1, dense_2
    a = keras.Input((3,))
    model = keras.Model(a, L.Dense(2, name="second")(L.Dense(4)(a)))
    path = tmp_path / "f.weights.h5"
    model.save_weights(path)
    entries = _layout(path)
    assert "layers/input_layer/vars" in entries
    assert entries["layers/dense/vars/0"][1] == (3, 4)
    assert entries["layers/dense_1/vars/0"][1] == (4, 2)
    assert entries["layers/dense_1/vars"][0] == {"name": "second"}


def test_lstm_weights_live_under_the_cell(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)), L.LSTM(4), L.Dense(1)])
    path = tmp_path / "l.weights.h5"
    model.save_weights(path)
    entries = _layout(path)
    assert entries["layers/lstm/cell/vars/0"][1] == (3, 16)
    assert entries["layers/lstm/cell/vars/1"][1] == (4, 16)
    assert entries["layers/lstm/cell/vars/2"][1] == (16,)
    assert "layers/lstm/vars" in entries and entries["layers/lstm/cell/vars"][0] == {"name": "lstm_cell"}


def test_subclassed_model_by_attribute_name(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = L.Dense(3)
            self.head = L.Dense(1)

        def call(self, x):
            return self.head(self.encoder(x))

    net = Net()
    x = np.ones((2, 5), np.float32)
    y = net.predict(x, verbose=0)
    path = tmp_path / "s.weights.h5"
    net.save_weights(path)
    entries = _layout(path)
    assert entries["encoder/vars/0"][1] == (5, 3) and entries["head/vars/0"][1] == (3, 1)
    other = Net()
    other.predict(x, verbose=0)
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), y)


def test_mismatched_file_is_an_error_naming_the_shapes(tmp_path):
    path = tmp_path / "m.weights.h5"
    keras.Sequential([keras.Input((4,)), L.Dense(2)]).save_weights(path)
    other = keras.Sequential([keras.Input((5,)), L.Dense(2)])
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(5, 2\)"):
        other.load_weights(path)
    with pytest.raises(ValueError, match="weights.h5"):
        other.save_weights(tmp_path / "m.h5")


def test_save_keras_zip(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        config = json.loads(zf.read("config.json"))
        assert {"module", "class_name", "config", "registered_name", "build_config", "compile_config"} <= set(config)
        assert config["class_name"] == "Sequential"
        assert set(json.loads(zf.read("metadata.json"))) == {"keras_version", "date_saved"}
