"""ONNX export (sg.onnx.export, sg.onnx.export_model): Keras-facade models and
functions written as ONNX, checked by ``onnx.checker`` (with shape inference) and run by
onnxruntime against ``model.predict``; then loaded back with ``sg.onnx.load``.

The batch axis is symbolic: the models are exported without any batch, predicted on
batches of 5 and run by onnxruntime on batches of 3 and 11 (and symgraph's own load on
other sizes). Tolerance: float32 results agree to rtol 1e-5 / atol 1e-5 (the same
arithmetic in a different order: BLAS blocking, onnxruntime's fused kernels).
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import symgraph as sg  # noqa: E402
import symgraph.onnx as sgonnx  # noqa: E402
from symgraph import keras  # noqa: E402
from symgraph.errors import InputError, UnsupportedError  # noqa: E402

pytestmark = pytest.mark.onnx

L = keras.layers
RTOL = ATOL = 1e-5


def _session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _inputs(specs, batch: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, dtype, high in specs:
        if np.dtype(dtype).kind == "i":
            arrays.append(rng.integers(0, high, (batch, *shape)).astype(dtype))
        else:
            arrays.append(rng.normal(size=(batch, *shape)).astype(dtype))
    return arrays


def _randomize(model: keras.Model, seed: int = 0) -> None:
    """Weights away from their initial values (batch norm statistics included), so a
    wrong gate order or a dropped shift shows."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = w.numpy()
        if "variance" in w.name:
            w.assign(rng.uniform(0.5, 1.5, value.shape).astype(value.dtype))
        else:
            w.assign((value + rng.normal(scale=0.1, size=value.shape)).astype(value.dtype))


def _check(model: keras.Model, specs, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.onnx"
    proto = sgonnx.export_model(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for vi in proto.graph.input:
        assert vi.type.tensor_type.shape.dim[0].dim_param == "batch"
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    for batch, seed in ((3, 1), (11, 2)):
        xs = _inputs(specs, batch, seed)
        want = model.predict(xs if len(xs) > 1 else xs[0], batch_size=5, verbose=0)
        want = want if isinstance(want, list) else [want]
        got = session.run(None, dict(zip(names, xs)))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, np.asarray(w), rtol=RTOL, atol=ATOL)
    # round trip: symgraph reads its own file and computes the same
    loaded = sgonnx.load(path)
    assert [t.name for t in loaded.inputs] == names
    xs = _inputs(specs, 6, 3)
    want = model.predict(xs if len(xs) > 1 else xs[0], batch_size=4, verbose=0)
    want = want if isinstance(want, list) else [want]
    for g, w in zip(loaded(*xs), want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=RTOL, atol=ATOL)


def test_mlp(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((20,)),
            L.Dense(32, activation="relu"),
            L.Dropout(0.5),
            L.Dense(16, activation="tanh"),
            L.Dense(16, activation="elu"),
            L.Dense(16, activation="selu"),
            L.Dense(16, activation="gelu"),
            L.Dense(16, activation="swish"),
            L.Dense(16, activation="softplus"),
            L.Dense(16, activation="hard_sigmoid"),
            L.LeakyReLU(0.1),
            L.Dense(10, activation="softmax"),
        ]
    )
    _randomize(model)
    _check(model, [((20,), "float32", None)], tmp_path, "mlp")


def test_mnist_cnn_with_batch_normalization(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(8, 5, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Conv2D(16, 3, padding="same", strides=2, activation="relu"),
            L.AveragePooling2D(3, strides=2, padding="same"),
            L.Conv2D(8, 3, dilation_rate=2, padding="same"),
            L.BatchNormalization(),
            L.GlobalMaxPooling2D(),
            L.Dense(32, activation="relu"),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )
    _randomize(model)
    _check(model, [((28, 28, 1), "float32", None)], tmp_path, "cnn")


def test_conv1d_and_pooling(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((30, 4)),
            L.Conv1D(6, 3, activation="tanh", padding="causal"),
            L.MaxPooling1D(2),
            L.Conv1D(5, 3, padding="same", strides=2),
            L.AveragePooling1D(2, padding="same"),
            L.GlobalAveragePooling1D(),
            L.Dense(3),
            L.Softmax(),
        ]
    )
    _randomize(model)
    _check(model, [((30, 4), "float32", None)], tmp_path, "conv1d")


def test_embedding_lstm_classifier(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((12,), dtype="int32"),
            L.Embedding(50, 8),
            L.LSTM(6, return_sequences=True),
            L.LSTM(5, go_backwards=True),
            L.Dense(2, activation="softmax"),
        ]
    )
    _randomize(model)
    _check(model, [((12,), "int32", 50)], tmp_path, "lstm")


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_classifier(tmp_path, reset_after):
    model = keras.Sequential(
        [
            keras.Input((9, 3)),
            L.GRU(7, reset_after=reset_after, return_sequences=True),
            L.GRU(4, reset_after=reset_after),
            L.Dense(2),
        ]
    )
    _randomize(model)
    _check(model, [((9, 3), "float32", None)], tmp_path, f"gru_{reset_after}")


def test_simple_rnn_and_bidirectional(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((8,), dtype="int32"),
            L.Embedding(20, 4),
            L.Bidirectional(L.SimpleRNN(5, return_sequences=True)),
            L.SimpleRNN(3, activation="relu"),
            L.Dense(2, activation="sigmoid"),
        ]
    )
    _randomize(model)
    _check(model, [((8,), "int32", 20)], tmp_path, "rnn")


def test_variable_length_sequences(tmp_path):
    """A time axis of no fixed length stays a named dimension next to the batch: the
    convolutions pad by auto_pad, the scans run as many steps as the input has."""
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            L.Conv1D(4, 3, padding="same", activation="relu"),
            L.MaxPooling1D(2, padding="same"),
            L.Conv1D(4, 3, strides=2, padding="same"),
            L.LSTM(5, return_sequences=True),
            L.GRU(3),
            L.Dense(2),
        ]
    )
    _randomize(model)
    path = tmp_path / "var.onnx"
    proto = sgonnx.export_model(model, path)
    onnx.checker.check_model(proto, full_check=True)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_param and dims[2].dim_value == 3
    session = _session(path)
    loaded = sgonnx.load(path)
    rng = np.random.default_rng(0)
    for batch, steps in ((2, 5), (3, 13)):
        x = rng.normal(size=(batch, steps, 3)).astype("float32")
        want = model.predict(x, verbose=0)
        np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], want, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(loaded(x)[0], want, rtol=RTOL, atol=ATOL)


def test_merges_two_inputs_two_outputs(tmp_path):
    a = keras.Input((6,), name="left")
    b = keras.Input((6,), name="right")
    da, db = L.Dense(6)(a), L.Dense(6, activation="relu")(b)
    merged = [
        L.Add()([da, db]),
        L.Subtract()([da, db]),
        L.Multiply()([da, db]),
        L.Average()([da, db]),
        L.Maximum()([da, db]),
        L.Minimum()([da, db]),
        L.Dot(axes=1)([da, db]),
    ]
    joined = L.Concatenate()(merged)
    reshaped = L.Flatten()(L.Reshape((7, 7))(L.Dense(49)(joined)))
    model = keras.Model(
        [a, b], [L.Dense(3, activation="softmax", name="probs")(reshaped), L.Dense(1, name="value")(joined)]
    )
    _randomize(model)
    _check(model, [((6,), "float32", None), ((6,), "float32", None)], tmp_path, "merges")
    proto = onnx.load(str(tmp_path / "merges.onnx"))
    assert [o.name for o in proto.graph.output] == ["probs", "value"]


def test_model_export_method(tmp_path):
    """model.export(path, format="onnx") (Keras' spelling) goes through export_model."""
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", opset_version=18)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 18
    x = np.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    got = _session(path).run(None, {proto.graph.input[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


def test_subclassed_model_needs_a_shape(tmp_path):
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(3)

        def call(self, x):
            return self.dense(x) * 2.0

    model = Tiny()
    with pytest.raises(InputError, match="input_shape"):
        sgonnx.export_model(model, tmp_path / "t.onnx")
    sgonnx.export_model(model, tmp_path / "t.onnx", input_shape=(None, 5))
    x = np.ones((2, 5), "float32")
    got = _session(tmp_path / "t.onnx").run(None, {"input0": x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


def test_function_with_symbolic_shapes(tmp_path):
    """A graph whose shapes are computed from the inputs' at run time: a reshape with
    two symbolic sizes, a broadcast, reversed and strided slices of a symbolic axis,
    sizes as values, reductions, argmax, cumsum, where, integer floor division."""
    x = sg.placeholder((None, None, 4), "float32", name="x")
    k = sg.placeholder((None,), "int32", name="k")
    n, t = x.shape[0], x.shape[1]
    flat = sg.reshape(x, (n * t, 4))
    back = sg.reshape(flat * 2.0, (n, t * 4))
    rows = sg.broadcast_to(sg.sum(x, axis=(1, 2))[:, None], (n, 3))
    rev = x[:, ::-2, 1:3]
    size = sg.cast(t, "float32") + sg.zeros_like(rows)
    mask = sg.where(x > 0, x, -x)
    out = [
        back,
        rows,
        rev,
        size,
        sg.argmax(x, axis=2),
        sg.cumsum(x, axis=1),
        sg.max(mask, axis=1, keepdims=True),
        sg.floor_divide(k, 3),
        sg.mod(k, -4),
        sg.exp(sg.log1p(sg.abs(x))) - sg.sqrt(sg.square(x) + 1.0),
        sg.concatenate([x, -x], axis=2),
        sg.transpose(x, (2, 0, 1)),
        sg.clip(x, -0.5, 0.5),
        sg.mean(x, axis=-1),
    ]
    fn = sg.function([x, k], out, mode="py")
    path = tmp_path / "f.onnx"
    sgonnx.export(fn, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = _session(path)
    rng = np.random.default_rng(0)
    for shape in ((2, 5, 4), (3, 8, 4), (1, 1, 4)):
        xv = rng.normal(size=shape).astype("float32")
        kv = rng.integers(-20, 20, shape[0]).astype("int32")
        got = session.run(None, {"x": xv, "k": kv})
        for g, w in zip(got, fn(xv, kv)):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


def test_outputs_and_inputs_given_as_tensors(tmp_path):
    x = sg.placeholder((None, 3), "float32", name="x")
    w = sg.Variable(np.arange(6, dtype="float32").reshape(3, 2), name="w")
    y = x @ w
    proto = sgonnx.export([y, x], None, output_names=["y", "same_x"])
    assert [o.name for o in proto.graph.output] == ["y", "same_x"]
    assert [i.name for i in proto.graph.input] == ["x"]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    xv = np.ones((4, 3), "float32")
    got_y, got_x = session.run(None, {"x": xv})
    np.testing.assert_allclose(got_y, xv @ w.get_value())
    np.testing.assert_array_equal(got_x, xv)


def test_unsupported_op_names_the_op_and_line():
    x = sg.placeholder((None, 3), "float32", name="x")
    noisy = x + sg.random.uniform((3,), key=sg.random.key(0))
    with pytest.raises(UnsupportedError, match=r"random_uniform.*test_export\.py"):
        sgonnx.export(noisy, None, inputs=[x])


def test_bad_arguments():
    x = sg.placeholder((None, 3), "float32", name="x")
    with pytest.raises(InputError, match="opset"):
        sgonnx.export(x * 2.0, None, opset=12)
    with pytest.raises(InputError, match="placeholder"):
        sgonnx.export(x * 2.0, None, inputs=[])
    with pytest.raises(InputError, match="output_names"):
        sgonnx.export(x * 2.0, None, output_names=["a", "b"])
    with pytest.raises(InputError, match="export takes"):
        sgonnx.export("nonsense", None)
