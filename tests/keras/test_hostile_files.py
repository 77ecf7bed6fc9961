"""Files written by someone else: ``.weights.h5`` and ``.keras`` files crafted to reach
outside themselves, to take far more memory than their size, to half-load a model, or to
name what the loader must not build. Each is refused with an error that names the
dataset, member or config position at fault, and reading stops before the harm."""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from symgraph import keras
from symgraph.keras import saving
from symgraph.keras.model_config import model_from_config
from symgraph.keras.saving import FileLimits
from symgraph.keras.serialization import SavedFileError, UnknownObjectError

h5py = pytest.importorskip("h5py")
L = keras.layers
REPO = Path(__file__).resolve().parents[2]
SECRET = np.arange(1000.0, 1008.0, dtype="float32").reshape(4, 2)  # what a file must never pull in
KERNEL = "layers/dense/vars/0"


def _dense():
    return keras.Sequential([keras.Input((4,)), L.Dense(2, name="dense")])


def _weights_file(tmp_path, replace=None):
    """A Dense(4 -> 2) weights file whose kernel dataset ``replace(group, "0")`` rewrote."""
    path = tmp_path / "m.weights.h5"
    _dense().save_weights(path)
    if replace is not None:
        with h5py.File(path, "a") as f:
            group = f["layers/dense/vars"]
            del group["0"]
            replace(group, "0")
    return path


def _secret_h5(tmp_path):
    path = tmp_path / "secret.h5"
    with h5py.File(path, "w") as f:
        f["data"] = SECRET
    return path


def _secret_bytes(tmp_path):
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET.tobytes())
    return path


def _refused_and_untouched(path, match):
    model = _dense()
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(SavedFileError, match=match):
        model.load_weights(path)
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)
    assert not np.isin(SECRET, model.weights[0].numpy()).any()


# ---------------------------------------------------------------- 9: nothing from outside the file


def test_external_link_is_refused(tmp_path):
    secret = _secret_h5(tmp_path)
    path = _weights_file(tmp_path, lambda g, name: g.__setitem__(name, h5py.ExternalLink(str(secret), "/data")))
    _refused_and_untouched(path, rf"{KERNEL}: an external link .*secret\.h5")


def test_soft_link_leaving_the_file_is_refused(tmp_path):
    secret = _secret_h5(tmp_path)

    def replace(group, name):
        group.file["elsewhere"] = h5py.ExternalLink(str(secret), "/")
        group[name] = h5py.SoftLink("/elsewhere/data")

    _refused_and_untouched(_weights_file(tmp_path, replace), rf"{KERNEL}: an external link \(/elsewhere -> '/' in")


def test_soft_link_inside_the_file_still_loads(tmp_path):
    def replace(group, name):
        group.file["stash/kernel"] = SECRET  # a soft link within the file is the file's own data
        group[name] = h5py.SoftLink("/stash/kernel")

    model = _dense()
    model.load_weights(_weights_file(tmp_path, replace))
    np.testing.assert_array_equal(model.weights[0].numpy(), SECRET)


def test_external_storage_is_refused(tmp_path):
    secret = _secret_bytes(tmp_path)

    def replace(group, name):
        group.create_dataset(name, shape=(4, 2), dtype="f4", external=[(str(secret), 0, SECRET.nbytes)])

    _refused_and_untouched(_weights_file(tmp_path, replace), rf"{KERNEL}: a dataset stored in an external file")


def test_virtual_dataset_is_refused(tmp_path):
    secret = _secret_h5(tmp_path)

    def replace(group, name):
        layout = h5py.VirtualLayout(shape=(4, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(str(secret), "data", shape=(4, 2))
        group.create_virtual_dataset(name, layout)

    _refused_and_untouched(_weights_file(tmp_path, replace), rf"{KERNEL}: a virtual dataset")


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_external_storage_inside_a_keras_file_is_refused(tmp_path):
    secret = _secret_bytes(tmp_path)
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    weights = tmp_path / "inner.weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "a") as f:
        del f[KERNEL]
        f.create_dataset(KERNEL, shape=(4, 2), dtype="f4", external=[(str(secret), 0, SECRET.nbytes)])
    members["model.weights.h5"] = weights.read_bytes()
    with pytest.raises(SavedFileError, match=rf"model\.weights\.h5: {KERNEL}: a dataset stored in an external file"):
        keras.models.load_model(_write_zip(path, members))


# ---------------------------------------------------------------- 10: metadata checked before any data is read

_MEASURE = textwrap.dedent(
    """
    import resource, sys
    import h5py
    from symgraph import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        model.load_weights(sys.argv[1])
        print("loaded")
    except ValueError as exc:
        print("refused:", " ".join(str(exc).split()))
    print("grew_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """
)


def _load_in_child(path):
    """(what the load said, how much the child's peak memory grew in MiB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert out.returncode == 0, out.stderr
    said, grew = out.stdout.strip().splitlines()[-2:]
    return said, int(grew.split()[1]) / 1024


def test_huge_declared_dataset_is_refused_before_it_is_read(tmp_path):
    path = _weights_file(tmp_path, lambda g, name: g.create_dataset(name, shape=(20000, 20000), dtype="f4"))
    assert path.stat().st_size < 100_000  # declares 1.6 GB, stores nothing
    said, grew_mib = _load_in_child(path)
    assert said.startswith("refused:") and "(20000, 20000)" in said and KERNEL in said
    assert grew_mib < 100, f"the load took {grew_mib:.0f} MiB"


def test_compressed_chunk_that_inflates_is_refused_before_it_is_read(tmp_path):
    def replace(group, name):
        dataset = group.create_dataset(name, shape=(4, 2), dtype="f4", chunks=(4, 2), compression="gzip")
        dataset.id.write_direct_chunk((0, 0), zlib.compress(bytes(200 * 2**20), 9))  # 32 bytes declared

    path = _weights_file(tmp_path, replace)
    assert path.stat().st_size < 1_000_000
    said, grew_mib = _load_in_child(path)
    assert said.startswith("refused:") and "compressed data" in said and KERNEL in said
    assert grew_mib < 100, f"the load took {grew_mib:.0f} MiB"


def test_dataset_of_non_numbers_is_refused(tmp_path):
    array_of_blocks = np.dtype(("f4", (1000, 1000)))  # (4, 2) elements of 4 MB each
    path = _weights_file(tmp_path, lambda g, name: g.create_dataset(name, shape=(4, 2), dtype=array_of_blocks))
    _refused_and_untouched(path, rf"{KERNEL}: holds .* data, not numbers")


# ---------------------------------------------------------------- 11: all or nothing


def _two_dense(units):
    return keras.Sequential([keras.Input((4,)), L.Dense(3, name="a"), L.Dense(units, name="b")])


def test_failed_load_changes_no_variable(tmp_path):
    path = tmp_path / "m.weights.h5"
    _two_dense(2).save_weights(path)
    target = _two_dense(5)  # "a" fits the file, "b" does not
    before = [w.numpy().copy() for w in target.weights]
    with pytest.raises(SavedFileError, match=r"layers/dense_1/vars/0.*\(3, 2\).*\(3, 5\)"):
        target.load_weights(path)
    for weight, value in zip(target.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), value)
    target.load_weights(path, skip_mismatch=True)  # the fitting layer loads, the other is left as it was
    np.testing.assert_array_equal(target.weights[0].numpy(), _weights_of(path, "layers/dense/vars/0"))
    np.testing.assert_array_equal(target.weights[2].numpy(), before[2])


def _weights_of(path, dataset):
    with h5py.File(path, "r") as f:
        return f[dataset][()]


def _trained():
    model = _two_dense(2)
    model.compile("adam", "mse")
    x = np.random.default_rng(0).standard_normal((8, 4)).astype("float32")
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    return model


def test_failed_optimizer_load_changes_neither_layers_nor_optimizer(tmp_path):
    path = tmp_path / "m.weights.h5"
    _trained().save_weights(path)
    with h5py.File(path, "a") as f:
        del f["optimizer/vars/0"]
        f["optimizer/vars/0"] = np.float32(7.5)  # iterations as a float: it does not cast to int64
    target = _trained()
    state = [v.get_value() for v in [*target.weights, *target.optimizer.variables]]
    with pytest.raises(SavedFileError, match=r"optimizer/vars/0.*float32"):
        target.load_weights(path)
    for variable, value in zip([*target.weights, *target.optimizer.variables], state, strict=True):
        np.testing.assert_array_equal(variable.get_value(), value)


# ---------------------------------------------------------------- 12: the .keras zip


def _padded_config_file(tmp_path, padding):
    """A .keras file whose config.json is valid JSON followed by ``padding`` spaces,
    deflated (it compresses a thousandfold)."""
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    members["config.json"] += b" " * padding
    return _write_zip(path, members, zipfile.ZIP_DEFLATED)


def _peak_mib(load):
    tracemalloc.start()
    try:
        load()
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return peak


def test_config_bomb_is_refused_before_it_is_decompressed(tmp_path):
    path = _padded_config_file(tmp_path, 64 * 2**20)
    assert path.stat().st_size < 1_000_000

    def load():
        with pytest.raises(SavedFileError, match=r"'config\.json' declares \d+ bytes, over the limit of 16777216"):
            keras.models.load_model(path)

    assert _peak_mib(load) < 16
    loaded = keras.models.load_model(path, limits=FileLimits(config_bytes=128 * 2**20))  # a raised limit lets it in
    assert [layer.name for layer in loaded.layers] == ["dense"]


def _lie_about_size(path, name, size):
    """Rewrites the uncompressed size of ``name`` in the zip's local header and central
    directory (the data stays as it is)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(name).header_offset
    struct.pack_into("<I", data, local + 22, size)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def test_member_whose_directory_lies_about_its_size_is_refused_while_read(tmp_path):
    path = _padded_config_file(tmp_path, 64 * 2**20)
    _lie_about_size(path, "config.json", 1000)  # within every limit; the data inflates to 64 MiB

    def load():
        with pytest.raises(SavedFileError, match=r"'config\.json' is damaged"):
            keras.models.load_model(path)

    assert _peak_mib(load) < 16


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    members.update({f"assets/{i}": b"" for i in range(1500)})
    with pytest.raises(SavedFileError, match=r"1503 members, over the limit of 1000"):
        keras.models.load_model(_write_zip(path, members))


def test_a_member_twice_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("config.json", members["config.json"])
    with pytest.raises(SavedFileError, match=r"'config\.json' appears twice"):
        keras.models.load_model(path)


def test_limits_are_configurable(tmp_path):
    path = tmp_path / "m.keras"
    _dense().save(path)
    with pytest.raises(SavedFileError, match=r"'model\.weights\.h5' declares \d+ bytes, over the limit of 1000 .*"):
        keras.models.load_model(path, limits=FileLimits(weights_bytes=1000))
    previous = saving.set_file_limits(config_bytes=100)
    try:
        assert saving.file_limits().config_bytes == 100 and previous == saving.DEFAULT_FILE_LIMITS
        with pytest.raises(SavedFileError, match=r"'config\.json' declares \d+ bytes, over the limit of 100 "):
            keras.models.load_model(path)
    finally:
        saving.set_file_limits(previous)
    assert saving.file_limits() == saving.DEFAULT_FILE_LIMITS
    keras.models.load_model(path)


# -- config positions: unknown names are refused, wherever they are


def _hostile(module="os", class_name="system", config=None):
    return {"module": module, "class_name": class_name, "config": {} if config is None else config}


def _sequential_file(tmp_path, mutate):
    """A compiled Sequential model's .keras file, its config.json changed by ``mutate``."""
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, name="dense"), L.Dense(2, name="head")])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    model.compile(keras.optimizers.Adam(schedule), "mse", metrics=["mae"])
    path = tmp_path / "m.keras"
    model.save(path)
    return _rewrite_config(path, mutate)


def _functional_file(tmp_path, mutate):
    inputs = keras.Input((4,), name="x")
    outputs = L.Dense(2, name="head")(L.Dense(3, name="dense")(inputs))
    path = tmp_path / "f.keras"
    keras.Model(inputs, outputs).save(path)
    return _rewrite_config(path, mutate)


def _rewrite_config(path, mutate):
    members = _members(path)
    config = json.loads(members["config.json"])
    mutate(config)
    members["config.json"] = json.dumps(config).encode()
    return _write_zip(path, members)


def _dense_config(config):
    return config["config"]["layers"][1]["config"]


def _set(getter, key, value):
    return lambda config: getter(config).__setitem__(key, value)


def _compile_config(config):
    return config["compile_config"]


def _layer(config):
    return config["config"]["layers"][1]


UNKNOWN = {
    "layer class": (_set(_layer, "class_name", "system"), "config.layers[1]", "'system'"),
    "layer module": (_set(_layer, "module", "os"), "config.layers[1]", "module 'os'"),
    "initializer": (_set(_dense_config, "kernel_initializer", _hostile()), "kernel_initializer", "module 'os'"),
    "initializer class": (
        _set(_dense_config, "kernel_initializer", _hostile("keras.initializers")),
        "config.layers[1].config.kernel_initializer",
        "initializer class 'system'",
    ),
    "regularizer": (_set(_dense_config, "kernel_regularizer", _hostile()), "kernel_regularizer", "module 'os'"),
    "constraint": (
        _set(_dense_config, "kernel_constraint", _hostile("keras.constraints")),
        "kernel_constraint",
        "constraint class 'system'",
    ),
    "activation function": (
        _set(_dense_config, "activation", _hostile("os", "function", "system")),
        "activation",
        "module 'os'",
    ),
    "activation name": (_set(_dense_config, "activation", "system"), "activation", "'system'"),
    "dtype policy": (
        _set(_dense_config, "dtype", _hostile("keras", "system", {"name": "float32"})),
        "config.layers[1].config.dtype",
        "dtype policy 'system'",
    ),
    "plain argument": (_set(_dense_config, "units", _hostile()), "config.layers[1].config.units", "'system'"),
    "optimizer": (_set(_compile_config, "optimizer", _hostile()), "compile_config.optimizer", "module 'os'"),
    "optimizer name": (_set(_compile_config, "optimizer", "system"), "compile_config.optimizer", "'system'"),
    "schedule": (
        lambda c: c["compile_config"]["optimizer"]["config"].__setitem__("learning_rate", _hostile()),
        "compile_config.optimizer.config.learning_rate",
        "module 'os'",
    ),
    "loss": (_set(_compile_config, "loss", _hostile()), "compile_config.loss", "module 'os'"),
    "loss name": (_set(_compile_config, "loss", "system"), "compile_config.loss", "'system'"),
    "loss function": (
        _set(_compile_config, "loss", _hostile("keras.losses", "function", "system")),
        "compile_config.loss",
        "'system'",
    ),
    "metric": (
        _set(_compile_config, "metrics", [_hostile(config="echo owned")]),
        "compile_config.metrics[0]",
        "module 'os'",
    ),
    "metric module": (
        _set(_compile_config, "metrics", ["mae", _hostile("os", "Accuracy")]),
        "compile_config.metrics[1]",
        "module 'os'",
    ),
    "metric name": (_set(_compile_config, "metrics", ["system"]), "compile_config.metrics[0]", "'system'"),
    "weighted metric": (
        _set(_compile_config, "weighted_metrics", {"head": [_hostile()]}),
        "compile_config.weighted_metrics.head[0]",
        "module 'os'",
    ),
    "wrapped layer": (
        _set(_dense_config, "layer", _hostile()),
        "config.layers[1].config.layer",
        "module 'os'",
    ),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN))
def test_unknown_names_are_refused_naming_the_position(tmp_path, monkeypatch, case):
    mutate, position, named = UNKNOWN[case]
    if case == "wrapped layer":
        mutate = _wrapped_in_bidirectional(mutate)
    ran = []
    monkeypatch.setattr(os, "system", lambda *args: ran.append(args))
    with pytest.raises(UnknownObjectError) as caught:
        keras.models.load_model(_sequential_file(tmp_path, mutate))
    message = str(caught.value)
    assert position in message and named in message, message
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)
    assert ran == []  # nothing from the file ever runs


def _wrapped_in_bidirectional(mutate):
    def wrap(config):
        config["config"]["layers"][1] = {
            "module": "keras.layers",
            "class_name": "Bidirectional",
            "config": {"name": "bi", "merge_mode": "concat"},
        }
        mutate(config)

    return wrap


def test_unknown_object_in_a_layer_call_is_refused(tmp_path):
    def mutate(config):
        config["config"]["layers"][1]["inbound_nodes"][0]["args"][0] = _hostile()

    with pytest.raises(UnknownObjectError, match=r"config\.layers\[1\]\.inbound_nodes\[0\]\.args\[0\].*'system'"):
        keras.models.load_model(_functional_file(tmp_path, mutate))


# -- malformed configs: a SavedFileError (a ValueError) naming what and where, never a raw error


def _functional_layer(i):
    return lambda config: config["config"]["layers"][i]


MALFORMED_SEQUENTIAL = {
    "top level a list": (lambda c: c.clear() or c.update({"class_name": []}), "class_name"),
    "no config": (lambda c: c.pop("config"), "at config: expected the model's config"),
    "layers a string": (lambda c: c["config"].__setitem__("layers", "abc"), "at config.layers: expected"),
    "layer a string": (lambda c: c["config"]["layers"].__setitem__(1, "dense"), "at config.layers[1]: expected"),
    "class name a number": (_set(_layer, "class_name", 7), "at config.layers[1]: a serialized layer needs a class"),
    "layer config a list": (_set(_layer, "config", [1, 2]), "at config.layers[1].config: expected"),
    "units a word": (_set(_dense_config, "units", "many"), "at config.layers[1]: ValueError"),
    "units missing": (_set(_dense_config, "units", None), "at config.layers[1]: TypeError"),
    "units negative": (_set(_dense_config, "units", -3), "at config.layers[1]: ValueError"),
    "units infinite": (_set(_dense_config, "units", float("inf")), "at config.layers[1]: OverflowError"),
    "input shape a word": (
        lambda c: c["config"]["layers"][0]["config"].__setitem__("batch_shape", "abc"),
        "at config.layers[0].config.batch_shape: expected",
    ),
    "build shape of words": (
        lambda c: c["config"].__setitem__("build_input_shape", ["a"]),
        "at config.build_input_shape: expected a shape",
    ),
    "negative size": (
        lambda c: c["config"].__setitem__("build_input_shape", [None, -4]),
        "at config.build_input_shape[1]: a size must be >= 0",
    ),
    "compile config a string": (lambda c: c.__setitem__("compile_config", "adam"), "at compile_config: expected"),
    "loss weights a word": (
        _set(_compile_config, "loss_weights", "heavy"),
        "at compile_config.loss_weights: expected a number",
    ),
    "metric config a list": (
        _set(_compile_config, "metrics", [{"class_name": "AUC", "config": [1]}]),
        "at compile_config.metrics[0].config: expected",
    ),
    "metric argument unknown type": (
        _set(_compile_config, "metrics", [{"class_name": "AUC", "config": {"num_thresholds": "many"}}]),
        "at compile_config.metrics[0]:",
    ),
    "argument nested deeply": (_set(_dense_config, "units", json.loads("[" * 900 + "]" * 900)), "config.json, "),
    "optimizer config a list": (
        lambda c: c["compile_config"]["optimizer"].__setitem__("config", [1]),
        "at compile_config.optimizer.config: expected",
    ),
}

MALFORMED_FUNCTIONAL = {
    "history to no layer": (
        lambda c: c["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].__setitem__(
            "keras_history", ["ghost", 0, 0]
        ),
        "at config.layers[2].inbound_nodes[0].args[0].config.keras_history: refers to layer 'ghost'",
    ),
    "history not a triple": (
        lambda c: c["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].__setitem__(
            "keras_history", "dense"
        ),
        "keras_history: expected a [layer name",
    ),
    "node index out of range": (
        lambda c: c["config"].__setitem__("output_layers", ["head", 7, 0]),
        "at config.output_layers: IndexError",
    ),
    "outputs a number": (lambda c: c["config"].__setitem__("output_layers", 5), "at config.output_layers: expected"),
    "calls a string": (_set(_functional_layer(1), "inbound_nodes", "x"), "at config.layers[1].inbound_nodes: expected"),
    "two layers one name": (_set(_functional_layer(2), "name", "dense"), "two layers are named 'dense'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_SEQUENTIAL))
def test_malformed_sequential_config_is_a_clear_error(tmp_path, case):
    mutate, expected = MALFORMED_SEQUENTIAL[case]
    with pytest.raises(SavedFileError) as caught:
        keras.models.load_model(_sequential_file(tmp_path, mutate))
    assert expected in str(caught.value), str(caught.value)
    assert not isinstance(caught.value, UnknownObjectError)


@pytest.mark.parametrize("case", sorted(MALFORMED_FUNCTIONAL))
def test_malformed_functional_config_is_a_clear_error(tmp_path, case):
    mutate, expected = MALFORMED_FUNCTIONAL[case]
    with pytest.raises(SavedFileError) as caught:
        keras.models.load_model(_functional_file(tmp_path, mutate))
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    "text", [b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe\x00garbage", b"[]", b'"a string"']
)
def test_config_that_is_not_a_model_is_a_clear_error(tmp_path, text):
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    members["config.json"] = text
    with pytest.raises(SavedFileError, match=r"config\.json"):
        keras.models.load_model(_write_zip(path, members))


def test_keras_file_without_config_is_a_clear_error(tmp_path):
    path = tmp_path / "m.keras"
    _dense().save(path)
    members = _members(path)
    del members["config.json"]
    with pytest.raises(SavedFileError, match="holds no config.json"):
        keras.models.load_model(_write_zip(path, members))


# -- what real Keras writes still loads


def _real_keras_config():
    """config.json as Keras 3.x writes a compiled Sequential model: DTypePolicy entries,
    null regularizers and constraints, arguments this facade does not know, a loss as
    a serialized function and a metric as a serialized class."""
    dtype = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    dense = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": "dense",
            "trainable": True,
            "dtype": dtype,
            "units": 2,
            "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "bias_initializer": {
                "module": "keras.initializers",
                "class_name": "Zeros",
                "config": {},
                "registered_name": None,
            },
            "kernel_regularizer": {
                "module": "keras.regularizers",
                "class_name": "L2",
                "config": {"l2": 0.01},
                "registered_name": None,
            },
            "bias_regularizer": None,
            "kernel_constraint": {
                "module": "keras.constraints",
                "class_name": "MaxNorm",
                "config": {"max_value": 2.0, "axis": 0},
                "registered_name": None,
            },
            "bias_constraint": None,
            "quantization_config": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": dtype,
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"},
                    "registered_name": None,
                },
                dense,
            ],
            "build_input_shape": [None, 4],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
        "compile_config": {
            "optimizer": {
                "module": "keras.optimizers",
                "class_name": "Adam",
                "config": {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07},
                "registered_name": None,
            },
            "loss": {
                "module": "keras.losses",
                "class_name": "function",
                "config": "mean_squared_error",
                "registered_name": "function",
            },
            "loss_weights": None,
            "metrics": [
                {
                    "module": "keras.metrics",
                    "class_name": "MeanAbsoluteError",
                    "config": {"name": "mean_absolute_error", "dtype": "float32"},
                    "registered_name": None,
                },
            ],
            "weighted_metrics": None,
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        },
    }


def test_real_keras_layout_loads(tmp_path):
    source = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="relu", name="dense")])
    weights = io.BytesIO()
    saving._write_h5(source, weights)
    path = _write_zip(
        tmp_path / "real.keras",
        {
            "metadata.json": b'{"keras_version": "3.15.0"}',
            "config.json": json.dumps(_real_keras_config()).encode(),
            "model.weights.h5": weights.getvalue(),
        },
    )
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), source.predict(x, verbose=0))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"


def test_config_checks_leave_the_callers_config_alone():
    config = _real_keras_config()
    kept = copy.deepcopy(config)
    model_from_config(config)
    assert config == kept


class Triple(keras.Layer):
    def call(self, x):
        return x * 3.0


def test_a_callers_class_may_live_in_any_module(tmp_path):
    def mutate(config):  # as Keras writes a custom layer: its own module and registered name
        config["config"]["layers"][1].update(
            {"module": "my_project.layers", "class_name": "Triple", "registered_name": "my_project>Triple"}
        )

    path = tmp_path / "m.keras"
    keras.Sequential([keras.Input((2,)), Triple(name="triple")]).save(path)
    path = _rewrite_config(path, mutate)
    with pytest.raises(UnknownObjectError, match=r"config\.layers\[1\]: layer 'Triple' names module 'my_project"):
        keras.models.load_model(path)
    for custom_objects in ({"Triple": Triple}, {"my_project>Triple": Triple}):
        loaded = keras.models.load_model(path, custom_objects=custom_objects)
        np.testing.assert_allclose(loaded.predict(np.ones((1, 2), "float32"), verbose=0), [[3.0, 3.0]])


def test_a_custom_layer_inside_a_wrapper_loads_with_custom_objects_and_only_with_them(tmp_path):
    """TimeDistributed's from_config rebuilds its layer with the load's custom objects
    (it was refused at the top level even when the caller passed the class)."""

    class ScaledDense(keras.layers.Dense):
        pass

    model = keras.Sequential([keras.Input((3, 4)), keras.layers.TimeDistributed(ScaledDense(2))])
    path = tmp_path / "wrapped.keras"
    model.save(path)
    x = np.random.default_rng(3).random((2, 3, 4)).astype("float32")
    loaded = keras.saving.load_model(path, custom_objects={"ScaledDense": ScaledDense})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(UnknownObjectError, match="ScaledDense"):
        keras.saving.load_model(path)
