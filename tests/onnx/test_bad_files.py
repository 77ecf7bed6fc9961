"""sg.onnx.load on malformed, truncated and hostile files: each refused with a clear
symgraph error (OnnxFileError, an InputError, for the file; UnsupportedError naming the
op and the node for what symgraph does not convert) before anything is built, and no
byte read from outside the model's directory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import symgraph.onnx as sgonnx  # noqa: E402
from symgraph.errors import InputError, UnsupportedError  # noqa: E402
from symgraph.onnx.loader import LoadLimits, OnnxFileError  # noqa: E402

pytestmark = pytest.mark.onnx


def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _matmul_model(weight_tensor):
    return _model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [weight_tensor],
    )


def _declared(name: str, dims: list[int], raw: bytes | None = None) -> TensorProto:
    """A float tensor declaring ``dims`` whatever data it holds (helper.make_tensor checks)."""
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    return t


def _external(name: str, location: str, offset: int = 0, length: int = 16) -> TensorProto:
    t = _declared(name, [2, 2])
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


def _save(model, path) -> str:
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return str(path)


def _good_model():
    w = numpy_helper.from_array(np.arange(4, dtype="float32").reshape(2, 2), "w")
    return _matmul_model(w)


def test_a_good_model_loads(tmp_path):
    graph = sgonnx.load(_save(_good_model(), tmp_path / "good.onnx"))
    x = np.ones((3, 2), "float32")
    np.testing.assert_allclose(graph(x)[0], x @ np.arange(4, dtype="float32").reshape(2, 2))


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, I am a text file\n", bytes(range(256)) * 4, b"\x08\x08\x12\xff\xff\xff\xff\x0f"],
    ids=["empty", "text", "binary", "bad-length"],
)
def test_malformed_files(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxFileError, match="onnx load"):
        sgonnx.load(path)


def test_every_truncation_is_refused(tmp_path):
    data = _good_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    for cut in range(0, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(OnnxFileError):
            sgonnx.load(path)


def test_not_a_file(tmp_path):
    with pytest.raises(OnnxFileError, match="not a regular file"):
        sgonnx.load(tmp_path)
    with pytest.raises(OnnxFileError, match="cannot read"):
        sgonnx.load(tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="expected a path"):
        sgonnx.load(12)


def test_file_size_limit(tmp_path):
    path = _save(_good_model(), tmp_path / "m.onnx")
    with pytest.raises(OnnxFileError, match="over the limit"):
        sgonnx.load(path, limits=LoadLimits(max_file_bytes=32))


def test_huge_declared_sizes_allocate_nothing(tmp_path):
    # an initializer claiming 2**40 floats with 16 bytes of data
    huge = _declared("w", [1 << 20, 1 << 20], b"\0" * 16)
    with pytest.raises(OnnxFileError, match="over the limit"):
        sgonnx.load(_save(_matmul_model(huge), tmp_path / "huge.onnx"))
    # within the limit but not matching its data
    liar = _declared("w", [64, 64], b"\0" * 16)
    with pytest.raises(OnnxFileError, match="holds 16 bytes"):
        sgonnx.load(_save(_matmul_model(liar), tmp_path / "liar.onnx"))
    negative = _declared("w", [2, -2])
    with pytest.raises(OnnxFileError, match="negative size"):
        sgonnx.load(_save(_matmul_model(negative), tmp_path / "neg.onnx"))
    # a graph input of an absurd size
    model = _model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1 << 50])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 50])],
    )
    with pytest.raises(OnnxFileError, match="declares the size"):
        sgonnx.load(_save(model, tmp_path / "input.onnx"))
    # a ConstantOfShape of 10**12 elements is built as graph, never filled at load
    model = _model(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["big"]),
            helper.make_node("ReduceSum", ["big"], ["y"], keepdims=0),
        ],
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        [numpy_helper.from_array(np.array([10**6, 10**6], np.int64), "shape")],
    )
    graph = sgonnx.load(_save(model, tmp_path / "cos.onnx"))
    assert graph.outputs[0].shape == ()


def test_external_data_inside_the_directory_is_read(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0" * 8 + np.arange(4, dtype="<f4").tobytes())
    path = _save(_matmul_model(_external("w", "weights.bin", offset=8)), tmp_path / "ext.onnx")
    graph = sgonnx.load(path)
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(graph(x)[0], x @ np.arange(4, dtype="float32").reshape(2, 2))


@pytest.mark.parametrize(
    "location, message",
    [
        ("../secret.bin", "not a relative path inside"),
        ("sub/../../secret.bin", "not a relative path inside"),
        ("/etc/passwd", "not a relative path inside"),
        ("\\\\server\\share\\w.bin", "not a relative path inside"),
        ("C:/Windows/w.bin", "not a relative path inside"),
        ("link.bin", "leads outside"),
        ("missing.bin", "does not exist"),
        ("subdir", "not a regular file"),
    ],
)
def test_external_data_outside_the_directory_is_refused(tmp_path, location, message):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "subdir").mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype="<f4").tobytes())
    os.symlink(secret, model_dir / "link.bin")
    path = _save(_matmul_model(_external("w", location)), model_dir / "m.onnx")
    with pytest.raises(OnnxFileError, match=message):
        sgonnx.load(path)


def test_external_data_ranges_are_checked(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    for offset, length, message in ((8, 16, "outside the"), (0, 12, "external data is 12 bytes"), (-1, 16, "outside")):
        path = _save(_matmul_model(_external("w", "w.bin", offset, length)), tmp_path / "m.onnx")
        with pytest.raises(OnnxFileError, match=message):
            sgonnx.load(path)


def test_external_data_needs_a_directory(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    data = _matmul_model(_external("w", "w.bin")).SerializeToString()
    with pytest.raises(OnnxFileError, match="not loaded from a file"):
        sgonnx.load(data)
    sgonnx.load(data, base_dir=tmp_path)  # allowed where the caller names the directory


def test_external_data_in_a_constant_node_is_checked(tmp_path):
    value = _external("c", "../secret.bin")
    model = _model(
        [helper.make_node("Constant", [], ["c"], value=value), helper.make_node("Add", ["x", "c"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
    )
    with pytest.raises(OnnxFileError, match="not a relative path"):
        sgonnx.load(_save(model, tmp_path / "m.onnx"))


def _one_node(op_type: str, domain: str = "", name: str = "the_node", **attrs):
    node = helper.make_node(op_type, ["x"], ["y"], name=name, domain=domain, **attrs)
    model = _model(
        [node],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    if domain:
        model.opset_import.append(helper.make_opsetid(domain, 1))
    return model


def test_unknown_op_names_the_op_and_node(tmp_path):
    with pytest.raises(UnsupportedError, match=r"FooBar node 'the_node'.*'FooBar' is not supported"):
        sgonnx.load(_save(_one_node("FooBar"), tmp_path / "m.onnx"))


def test_unsupported_real_op_names_the_op_and_node(tmp_path):
    model = _model(
        [helper.make_node("NonZero", ["x"], ["y"], name="where_nonzero")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [2, None])],
    )
    with pytest.raises(UnsupportedError, match=r"NonZero node 'where_nonzero': the op 'NonZero' is not supported"):
        sgonnx.load(_save(model, tmp_path / "m.onnx"))


def test_other_domain_is_refused(tmp_path):
    with pytest.raises(UnsupportedError, match=r"domain 'com.microsoft'"):
        sgonnx.load(_save(_one_node("Gelu", domain="com.microsoft"), tmp_path / "m.onnx"))


def test_unsupported_attribute_names_the_node(tmp_path):
    model = _model(
        [helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], storage_order=1)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 3, 3])],
    )
    with pytest.raises(UnsupportedError, match=r"MaxPool node 'pool': storage_order=1"):
        sgonnx.load(_save(model, tmp_path / "m.onnx"))


def test_run_time_shape_names_the_input(tmp_path):
    model = _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])],
    )
    path = _save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedError, match=r"Reshape node 'r': input 1 \(shape, 'shape'\)"):
        sgonnx.load(path)
    graph = sgonnx.load(path, constants={"shape": np.array([3, 2], np.int64)})
    assert graph(np.ones((2, 3), "float32"))[0].shape == (3, 2)


def test_invalid_graph_is_refused(tmp_path):
    model = _model(
        [helper.make_node("Relu", ["nowhere"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(OnnxFileError, match="not valid ONNX"):
        sgonnx.load(_save(model, tmp_path / "m.onnx"))


def test_import_without_onnx_installed():
    """``import symgraph.onnx`` works without the extra; using it names the extra."""
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import symgraph, symgraph.onnx\n"
        "try:\n"
        "    symgraph.onnx.load('m.onnx')\n"
        "except symgraph.errors.UnsupportedError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert 'pip install -e ".[onnx]"' in out.stdout


def test_hostile_names_stay_text(tmp_path):
    """Names from the file reach the generated C only inside sanitized comments: a name
    that closes a comment or starts a directive compiles as text, and runs."""
    evil = 'x */ #error "injected" /*\n#include "/etc/passwd"'
    model = _model(
        [helper.make_node("Relu", [evil], ["y */ int z; /*"], name="n */ #error /*")],
        [helper.make_tensor_value_info(evil, TensorProto.FLOAT, ["b */ #error /*", 3])],
        [helper.make_tensor_value_info("y */ int z; /*", TensorProto.FLOAT, ["b */ #error /*", 3])],
    )
    model.graph.name = "../../../etc/g */ #error /*"
    graph = sgonnx.load(_save(model, tmp_path / "m.onnx"), mode="c")
    x = np.array([[-1.0, 0.5, 2.0]], "float32")
    np.testing.assert_array_equal(graph(x)[0], np.maximum(x, 0))
