"""ONNX import: a model file as a symgraph graph (``sg.onnx.load``).

The file is hostile until checked, and nothing in it runs (an ONNX protobuf holds no
code; the checks are about what it makes us read and allocate):

- its size is checked before it is read (``LoadLimits.max_file_bytes``), and a file
  that does not parse as a model, or parses as one without a graph or an opset (an
  empty, truncated or foreign file), is an ``OnnxFileError`` saying so;
- every tensor's declared shape is checked against the bytes it carries (and against
  ``max_tensor_bytes``) before anything is converted, so a huge declared size allocates
  nothing;
- external data (weights in a side file) is read only from a regular file inside the
  model's own directory: an absolute path, a ``..`` component, a link leading outside,
  a range past the file's end or a length that is not the tensor's is refused, all
  before any data is read; a model given as bytes may not name external data;
- an op symgraph does not convert, or one of another domain, is an UnsupportedError
  naming the op and the node, before anything is built.

Then ``onnx.checker`` validates the structure, and the nodes are converted in order by
``symgraph.onnx.import_ops``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import InputError, SymgraphError, UnsupportedError, plain_message
from symgraph.function import Function
from symgraph.graph.core import Tensor
from symgraph.graph.shape import DimExpr
from symgraph.onnx.import_ops import CONVERTERS, FOLDERS, Known, NodeContext, symbolic_tensor
from symgraph.onnx.opset import NUMPY_OF_ONNX, onnx_type_name, require
from symgraph.scan.trace import trace_scan

onnx = require("onnx")
numpy_helper = onnx.numpy_helper
_protobuf_message = require("google.protobuf.message")

_DEFAULT_DOMAINS = ("", "ai.onnx")
_TYPED_FIELDS = {
    1: "float_data",
    2: "int32_data",
    3: "int32_data",
    5: "int32_data",
    6: "int32_data",
    7: "int64_data",
    9: "int32_data",
    11: "double_data",
}


class OnnxFileError(InputError):
    """An ONNX file that is malformed, truncated, or asks for something refused
    (external data outside its directory, sizes beyond the limits)."""


@dataclass(frozen=True)
class LoadLimits:
    """What a model file may make the loader read or allocate."""

    max_file_bytes: int = 2 << 30  # protobuf's own limit
    max_tensor_bytes: int = 4 << 30  # one initializer or constant, inline or external
    max_total_bytes: int = 16 << 30  # all of them together
    max_nodes: int = 1 << 20
    max_rank: int = 64
    max_fold_elements: int = 1 << 20  # a value the import computes itself (ConstantOfShape, Range)


@dataclass
class OnnxGraph:
    """An imported ONNX model: placeholders in, tensors out, and a compiled function."""

    inputs: list[Tensor]
    outputs: list[Tensor]
    input_names: list[str]
    output_names: list[str]
    opset: int
    name: str = "onnx"
    mode: str | None = None
    _function: Function | None = field(default=None, repr=False)

    @property
    def function(self) -> Function:
        """The graph compiled by ``sg.function`` (with the load's ``mode``), built on first use;
        it returns the list of outputs."""
        if self._function is None:
            self._function = sg.function(self.inputs, list(self.outputs), mode=self.mode, name=self.name)
        return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """The outputs for arrays fed positionally or by input name."""
        return self.function(*args, **kwargs)

    def run(self, feeds: dict[str, Any]) -> list[np.ndarray]:
        """onnxruntime's spelling: the outputs for a dict of input name -> array."""
        return self.function(**feeds)


def load(
    source: str | os.PathLike | bytes | Any,
    mode: str | None = None,
    limits: LoadLimits | None = None,
    base_dir: str | os.PathLike | None = None,
    constants: dict[str, Any] | None = None,
) -> OnnxGraph:
    """An ONNX model (a path, its bytes, or an ``onnx.ModelProto``) as an OnnxGraph.

    ``base_dir``: where external data lives for a model given as bytes or a proto
    (a file's own directory otherwise). ``constants``: graph inputs bound to values
    (they are no longer inputs), for models that compute a shape, an axis or a
    padding from an input symgraph needs at import time."""
    limits = limits or LoadLimits()
    if isinstance(source, (bytes, bytearray, memoryview)):
        proto = _parse(bytes(source), limits, "the bytes")
        where = os.fspath(base_dir) if base_dir is not None else None
    elif isinstance(source, onnx.ModelProto):
        proto = source
        where = os.fspath(base_dir) if base_dir is not None else None
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        proto = _parse(_read_file(path, limits), limits, repr(path))
        where = os.fspath(base_dir) if base_dir is not None else os.path.dirname(os.path.abspath(path))
    else:
        raise InputError(f"onnx load: expected a path, bytes or an onnx.ModelProto, got {type(source).__name__}")
    _check_model(proto, limits)
    reader = _TensorReader(where, limits)
    reader.check_all(proto.graph)
    _check_ops(proto.graph)
    if not any(o.domain in _DEFAULT_DOMAINS for o in proto.opset_import):
        domains = sorted({o.domain for o in proto.opset_import})
        raise UnsupportedError(f"onnx load: the model imports only the domains {domains}, not ai.onnx")
    try:
        onnx.checker.check_model(_without_external_data(proto))
    except onnx.checker.ValidationError as exc:
        raise OnnxFileError(f"onnx load: the model is not valid ONNX: {str(exc).splitlines()[0]}") from None
    opset = max(o.version for o in proto.opset_import if o.domain in _DEFAULT_DOMAINS)
    return _Builder(proto.graph, reader, limits, mode, opset).build(constants or {})


def _without_external_data(proto: Any) -> Any:
    """The model for ``onnx.checker``, which opens external data files itself (relative
    to the working directory): external initializers become typed graph inputs, an
    external constant's value zeros of its (checked) size. The data was checked above."""
    graph = proto.graph
    external = [t for t in graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    constants = [
        a.t
        for node in graph.node
        for a in node.attribute
        if a.type == onnx.AttributeProto.TENSOR and a.t.data_location == onnx.TensorProto.EXTERNAL
    ]
    if not external and not constants:
        return proto
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    graph = copy.graph
    kept = [t for t in graph.initializer if t.data_location != onnx.TensorProto.EXTERNAL]
    declared = {vi.name for vi in graph.input}
    for t in external:
        if t.name not in declared:
            graph.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_location == onnx.TensorProto.EXTERNAL:
                dtype = NUMPY_OF_ONNX.get(a.t.data_type, np.dtype(np.uint8))
                count = int(np.prod(a.t.dims)) if a.t.dims else 1
                del a.t.external_data[:]
                a.t.data_location = onnx.TensorProto.DEFAULT
                a.t.raw_data = b"\0" * (count * dtype.itemsize)
    return copy


def _read_file(path: str, limits: LoadLimits) -> bytes:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise OnnxFileError(f"onnx load: cannot read {path!r}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OnnxFileError(f"onnx load: {path!r} is not a regular file")
    if info.st_size > limits.max_file_bytes:
        raise OnnxFileError(
            f"onnx load: {path!r} has {info.st_size} bytes, over the limit of {limits.max_file_bytes} (LoadLimits)"
        )
    with open(path, "rb") as f:
        return f.read(limits.max_file_bytes + 1)


def _parse(data: bytes, limits: LoadLimits, what: str) -> Any:
    if len(data) > limits.max_file_bytes:
        raise OnnxFileError(f"onnx load: {what} hold {len(data)} bytes, over the limit of {limits.max_file_bytes}")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except (_protobuf_message.DecodeError, ValueError, RuntimeError) as exc:
        raise OnnxFileError(
            f"onnx load: {what} are not an ONNX model (malformed or truncated protobuf: {exc})"
        ) from None
    if not proto.HasField("graph") or not proto.opset_import:
        raise OnnxFileError(
            f"onnx load: {what} hold no ONNX model (no graph or no opset: an empty, truncated or foreign file)"
        )
    return proto


def _check_model(proto: Any, limits: LoadLimits) -> None:
    if proto.ir_version <= 0:
        raise OnnxFileError("onnx load: the model has no IR version (a truncated or foreign file)")
    if len(proto.graph.node) > limits.max_nodes:
        raise OnnxFileError(f"onnx load: {len(proto.graph.node)} nodes, over the limit of {limits.max_nodes}")


def _node_label(node: Any, index: int) -> str:
    return f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node #{index}"


def _check_ops(graph: Any) -> None:
    """Every node an op symgraph converts (in Scan bodies too), before anything is built."""
    for index, node in enumerate(graph.node):
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH and node.op_type == "Scan":
                _check_ops(attr.g)
        if node.domain not in _DEFAULT_DOMAINS:
            raise UnsupportedError(
                f"onnx load: {_node_label(node, index)} is of domain {node.domain!r}; "
                "symgraph converts the ai.onnx ops only"
            )
        if node.op_type not in CONVERTERS and node.op_type != "Constant":
            raise UnsupportedError(
                f"onnx load: {_node_label(node, index)}: the op {node.op_type!r} is not supported by symgraph"
            )


class _TensorReader:
    """Tensor protos as numpy arrays, after checking their declared sizes and their
    external data (see the module docstring)."""

    def __init__(self, base_dir: str | None, limits: LoadLimits):
        self.base_dir = base_dir
        self.limits = limits
        self.total = 0

    def check_all(self, graph: Any, depth: int = 0) -> None:
        if depth > 8:
            raise OnnxFileError("onnx load: subgraphs nested more than 8 deep")
        for t in graph.initializer:
            self.check(t, f"initializer {t.name!r}")
        if graph.sparse_initializer:
            raise UnsupportedError("onnx load: sparse initializers are not supported")
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    self.check(attr.t, f"attribute {attr.name!r} of node {node.name!r}")
                elif attr.type == onnx.AttributeProto.TENSORS:
                    for t in attr.tensors:
                        self.check(t, f"attribute {attr.name!r} of node {node.name!r}")
                elif attr.type == onnx.AttributeProto.GRAPH:
                    self.check_all(attr.g, depth + 1)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        self.check_all(g, depth + 1)

    def _count(self, t: Any, what: str) -> int:
        if len(t.dims) > self.limits.max_rank:
            raise OnnxFileError(f"onnx load: {what} has rank {len(t.dims)}, over {self.limits.max_rank}")
        count = 1
        for d in t.dims:
            if d < 0:
                raise OnnxFileError(f"onnx load: {what} declares a negative size {d}")
            count *= int(d)
        return count

    def check(self, t: Any, what: str) -> None:
        count = self._count(t, what)
        dtype = NUMPY_OF_ONNX.get(t.data_type)
        itemsize = dtype.itemsize if dtype is not None else 8
        nbytes = count * itemsize
        if nbytes > self.limits.max_tensor_bytes:
            raise OnnxFileError(
                f"onnx load: {what} declares {count} elements ({nbytes} bytes), over the limit of "
                f"{self.limits.max_tensor_bytes} (LoadLimits.max_tensor_bytes)"
            )
        self.total += nbytes
        if self.total > self.limits.max_total_bytes:
            raise OnnxFileError(f"onnx load: the tensors hold more than {self.limits.max_total_bytes} bytes")
        if t.HasField("segment"):
            raise UnsupportedError(f"onnx load: {what} is a segment of a tensor")
        if t.data_location == onnx.TensorProto.EXTERNAL:
            self._external(t, what, nbytes)
            return
        if dtype is None:
            return  # refused with its type's name if a node reads it
        if t.HasField("raw_data") or not _typed_len(t):
            if len(t.raw_data) != nbytes:
                raise OnnxFileError(
                    f"onnx load: {what} declares shape {list(t.dims)} ({nbytes} bytes of {dtype.name}) "
                    f"but holds {len(t.raw_data)} bytes"
                )
        elif _typed_len(t) != count:
            raise OnnxFileError(
                f"onnx load: {what} declares shape {list(t.dims)} ({count} elements) but holds {_typed_len(t)}"
            )

    def _external(self, t: Any, what: str, nbytes: int) -> tuple[str, int, int]:
        """The checked (path, offset, length) of an external tensor."""
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        if self.base_dir is None:
            raise OnnxFileError(
                f"onnx load: {what} names external data ({location!r}), but the model was not loaded from a file "
                "(pass base_dir= to allow a directory)"
            )
        normalized = location.replace("\\", "/")
        if (
            not location
            or os.path.isabs(location)
            or normalized.startswith("/")
            or (len(normalized) > 1 and normalized[1] == ":")
            or ".." in normalized.split("/")
            or "\0" in location
        ):
            raise OnnxFileError(
                f"onnx load: {what} names external data at {location!r}, which is not a relative path inside the "
                "model's directory"
            )
        base = os.path.realpath(self.base_dir)
        path = os.path.realpath(os.path.join(base, normalized))
        if os.path.commonpath([base, path]) != base:
            raise OnnxFileError(
                f"onnx load: {what}: the external data {location!r} leads outside the model's directory"
            )
        try:
            info_stat = os.stat(path)
        except OSError:
            raise OnnxFileError(f"onnx load: {what}: the external data file {location!r} does not exist") from None
        if not stat.S_ISREG(info_stat.st_mode):
            raise OnnxFileError(f"onnx load: {what}: the external data {location!r} is not a regular file")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info.get("length", str(nbytes)))
        except ValueError:
            raise OnnxFileError(f"onnx load: {what}: the external data's offset or length is not a number") from None
        if offset < 0 or length < 0 or offset + length > info_stat.st_size:
            raise OnnxFileError(
                f"onnx load: {what}: the external data range [{offset}, {offset + length}) is outside the "
                f"{info_stat.st_size}-byte file {location!r}"
            )
        if length != nbytes:
            raise OnnxFileError(
                f"onnx load: {what} declares shape {list(t.dims)} ({nbytes} bytes) but its external data is "
                f"{length} bytes"
            )
        return path, offset, length

    def read(self, t: Any, what: str) -> np.ndarray:
        """The array of a checked tensor proto."""
        dtype = NUMPY_OF_ONNX.get(t.data_type)
        if dtype is None:
            raise UnsupportedError(
                f"onnx load: {what} is of element type {onnx_type_name(t.data_type)}, which symgraph lacks "
                "(bool, int8-64, uint8, float32/64)"
            )
        if t.data_location == onnx.TensorProto.EXTERNAL:
            path, offset, length = self._external(t, what, self._count(t, what) * dtype.itemsize)
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(length)
            if len(data) != length:
                raise OnnxFileError(f"onnx load: {what}: the external data file is shorter than declared")
            return np.frombuffer(data, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(tuple(t.dims))
        return np.array(numpy_helper.to_array(t), dtype=dtype)


def _typed_len(t: Any) -> int:
    name = _TYPED_FIELDS.get(t.data_type)
    return len(getattr(t, name)) if name else 0


class _Builder:
    """The walk over the nodes of a graph (the model's, or a Scan's body, whose
    ``parent`` holds the values it reads from outside), holding each value as a Tensor
    or a Known."""

    def __init__(
        self,
        graph: Any,
        reader: _TensorReader,
        limits: LoadLimits,
        mode: str | None,
        opset: int,
        parent: _Builder | None = None,
    ):
        self.graph = graph
        self.reader = reader
        self.limits = limits
        self.mode = mode
        self.opset = opset
        self.parent = parent
        self.tensors: dict[str, Tensor] = {}
        self.knowns: dict[str, Known] = {}
        self.index = 0

    # -- what converters read
    def known(self, name: str) -> Known | None:
        if name in self.knowns:
            return self.knowns[name]
        if name not in self.tensors and self.parent is not None:
            return self.parent.known(name)
        return None

    def tensor(self, name: str) -> Tensor:
        if name in self.tensors:
            return self.tensors[name]
        k = self.knowns.get(name)
        if k is None:
            if self.parent is not None:
                return self.parent.tensor(name)
            raise OnnxFileError(f"onnx load: the value {name!r} is read before any node writes it")
        t = symbolic_tensor(k) if k.symbolic else sg.constant(k.value)
        self.tensors[name] = t
        return t

    def convert_nodes(self) -> None:
        for index, node in enumerate(self.graph.node):
            self.index = index
            self._convert(node)

    def build(self, constants: dict[str, Any]) -> OnnxGraph:
        graph = self.graph
        declared = {vi.name for vi in graph.input}
        for name in constants:
            if name not in declared:
                raise InputError(f"onnx load: constants names {name!r}, which is not an input of the graph")
        for init in graph.initializer:
            value = self.reader.read(init, f"initializer {init.name!r}")
            self.knowns[init.name] = Known(value, value.dtype)
        placeholders, names = [], []
        symbols: dict[str, DimExpr] = {}
        for vi in graph.input:
            if vi.name in self.knowns:
                continue  # an initializer listed as an input (IR < 4): its value is the default
            if vi.name in constants:
                self.knowns[vi.name] = self._bound(vi, constants[vi.name])
                continue
            placeholder = self._placeholder(vi, symbols)
            self.tensors[vi.name] = placeholder
            placeholders.append(placeholder)
            names.append(vi.name)
        self.convert_nodes()
        outputs, out_names = [], []
        for vi in graph.output:
            if vi.name not in self.tensors and vi.name not in self.knowns:
                raise OnnxFileError(f"onnx load: the output {vi.name!r} is written by no node")
            t = self.tensor(vi.name)
            declared = vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else 0
            if declared in NUMPY_OF_ONNX and NUMPY_OF_ONNX[declared] != t.dtype:
                t = sg.cast(t, NUMPY_OF_ONNX[declared])
            outputs.append(t)
            out_names.append(vi.name)
        return OnnxGraph(placeholders, outputs, names, out_names, self.opset, graph.name or "onnx", self.mode)

    def _bound(self, vi: Any, value: Any) -> Known:
        """A graph input's value given to ``load``, checked against its declared type."""
        elem = vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else 0
        if elem not in NUMPY_OF_ONNX:
            raise UnsupportedError(f"onnx load: the input {vi.name!r} is of element type {onnx_type_name(elem)}")
        array = np.asarray(value)
        dtype = NUMPY_OF_ONNX[elem]
        if array.dtype != dtype:
            raise InputError(f"onnx load: constants[{vi.name!r}] is {array.dtype}, the input is {dtype.name}")
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != array.ndim or any(
            d.HasField("dim_value") and d.dim_value != s for d, s in zip(dims, array.shape)
        ):
            raise InputError(f"onnx load: constants[{vi.name!r}] has shape {array.shape}, not the input's")
        return Known(np.array(array), dtype)

    def _placeholder(self, vi: Any, symbols: dict[str, DimExpr]) -> Tensor:
        if not vi.type.HasField("tensor_type"):
            raise UnsupportedError(f"onnx load: the input {vi.name!r} is not a tensor (sequences, maps, optionals)")
        tt = vi.type.tensor_type
        if tt.elem_type not in NUMPY_OF_ONNX:
            raise UnsupportedError(
                f"onnx load: the input {vi.name!r} is of element type {onnx_type_name(tt.elem_type)}, "
                "which symgraph lacks (bool, int8-64, uint8, float32/64)"
            )
        if not tt.HasField("shape"):
            raise UnsupportedError(f"onnx load: the input {vi.name!r} has no declared rank")
        if len(tt.shape.dim) > self.limits.max_rank:
            raise OnnxFileError(f"onnx load: the input {vi.name!r} has rank {len(tt.shape.dim)}")
        dims: list[Any] = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                if d.dim_value < 0 or d.dim_value > 1 << 40:
                    raise OnnxFileError(f"onnx load: the input {vi.name!r} declares the size {d.dim_value}")
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param") and d.dim_param:
                dims.append(symbols.setdefault(d.dim_param, sg.dim(d.dim_param)))
            else:
                dims.append(None)
        return sg.placeholder(tuple(dims), NUMPY_OF_ONNX[tt.elem_type], name=vi.name)

    def _attributes(self, node: Any, label: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for a in node.attribute:
            if a.ref_attr_name:
                raise UnsupportedError(f"onnx load: {label}: attribute {a.name!r} refers to a function's attribute")
            if a.type == onnx.AttributeProto.TENSOR:
                attrs[a.name] = self.reader.read(a.t, f"attribute {a.name!r} of {label}")
            elif a.type == onnx.AttributeProto.GRAPH and node.op_type == "Scan":
                attrs[a.name] = a.g  # converted step by step (_scan)
            elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise UnsupportedError(f"onnx load: {label}: subgraph attributes are not supported")
            elif a.type in (onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS):
                raise UnsupportedError(f"onnx load: {label}: sparse tensor attributes are not supported")
            elif a.type == onnx.AttributeProto.TENSORS:
                raise UnsupportedError(f"onnx load: {label}: tensor-list attribute {a.name!r}")
            else:
                value = onnx.helper.get_attribute_value(a)
                if a.type == onnx.AttributeProto.STRING:
                    value = value.decode("utf-8", "replace")
                elif a.type == onnx.AttributeProto.STRINGS:
                    value = [v.decode("utf-8", "replace") for v in value]
                attrs[a.name] = value
        return attrs

    def _convert(self, node: Any) -> None:
        label = _node_label(node, self.index)
        attrs = self._attributes(node, label)
        if node.op_type == "Constant":
            results: list[Any] = [_constant(node, attrs, label)]
        else:
            context = NodeContext(self, node, attrs)
            results = None
            try:
                folder = FOLDERS.get(node.op_type)
                given = [i for i in range(len(node.input)) if node.input[i]]
                if folder is not None and all(self.known(node.input[i]) is not None for i in given):
                    results = folder(context, [self.known(name) if name else None for name in node.input])
                if results is None:
                    results = CONVERTERS[node.op_type](context)
            except (UnsupportedError, OnnxFileError):
                raise
            except SymgraphError as exc:
                message = plain_message(exc)
                if message.startswith("onnx load:"):
                    raise
                raise type(exc)(f"onnx load: {label}: {message}") from None
        for name, value in zip(node.output, results):
            if not name:
                continue
            if name in self.tensors or name in self.knowns:
                raise OnnxFileError(f"onnx load: {label} writes {name!r}, which is already defined")
            if isinstance(value, Known):
                self.knowns[name] = value
            elif isinstance(value, Tensor):
                self.tensors[name] = value
            else:
                raise UnsupportedError(f"onnx load: {label}: output {name!r} is not produced")
        for name in list(node.output)[len(results) :]:
            if name:
                raise UnsupportedError(f"onnx load: {label}: output {name!r} is not produced by symgraph's conversion")


def _scan(n: NodeContext) -> list[Any]:
    """ONNX's Scan (opset 9 on) as a symgraph scan: the body converted as the step, its
    reads of enclosing values lifted by the scan's tracing; states keep only their last
    value, the scan outputs their history."""
    if n.opset < 9:
        raise n.unsupported("Scan before opset 9 (with a batch axis)")
    body = n.attr("body")
    m = int(n.attr("num_scan_inputs"))
    given = list(n.inputs)
    if "" in given:
        raise n.unsupported("an omitted input")
    count = len(given) - m
    if count < 0 or m < 1:
        raise n.invalid(f"{len(given)} inputs for {m} scan inputs")
    if len(body.input) != len(given) or len(body.output) < count:
        raise n.invalid("the body's inputs and outputs do not match the node's")
    inits = [n.x(i) for i in range(count)]
    seqs = [n.x(count + j) for j in range(m)]
    in_axes = [int(a) for a in (n.attr("scan_input_axes") or [0] * m)]
    in_dirs = [int(d) for d in (n.attr("scan_input_directions") or [0] * m)]
    k_out = len(body.output) - count
    out_axes = [int(a) for a in (n.attr("scan_output_axes") or [0] * k_out)]
    out_dirs = [int(d) for d in (n.attr("scan_output_directions") or [0] * k_out)]
    if len(set(in_dirs)) > 1:
        raise n.unsupported(f"scan inputs in different directions {in_dirs}")
    reverse = bool(in_dirs and in_dirs[0])
    for j, axis in enumerate(in_axes):
        if axis % seqs[j].ndim:
            seqs[j] = sg.moveaxis(seqs[j], axis % seqs[j].ndim, 0)
    steps = seqs[0].shape[0]
    builder = n.builder

    def step(*args: Tensor) -> list[Tensor]:
        inner = _Builder(body, builder.reader, builder.limits, builder.mode, builder.opset, parent=builder)
        for vi, t in zip(body.input, [*args[m:], *args[:m]]):  # ONNX's order: states, then rows
            inner.tensors[vi.name] = t
        inner.convert_nodes()
        return [inner.tensor(vi.name) for vi in body.output]

    outs = trace_scan(
        step, seqs, [*inits, *[None] * k_out], [], steps, reverse, keep_history=[False] * count + [True] * k_out
    )
    results: list[Any] = list(outs[:count])
    for k, history in enumerate(outs[count:]):
        if bool(out_dirs[k]) != reverse:  # the history is in storage order: row j(t)
            history = sg.flip(history, 0)
        axis = out_axes[k] % history.ndim
        results.append(sg.moveaxis(history, 0, axis) if axis else history)
    return results


CONVERTERS["Scan"] = _scan


def _constant(node: Any, attrs: dict[str, Any], label: str) -> Known:
    """A Constant node's value (one of its value attributes)."""
    if "value" in attrs:
        value = attrs["value"]
    elif "value_float" in attrs:
        value = np.array(attrs["value_float"], np.float32)
    elif "value_floats" in attrs:
        value = np.array(attrs["value_floats"], np.float32)
    elif "value_int" in attrs:
        value = np.array(attrs["value_int"], np.int64)
    elif "value_ints" in attrs:
        value = np.array(attrs["value_ints"], np.int64)
    else:
        raise UnsupportedError(f"onnx load: {label}: a constant of {sorted(attrs)} (strings, sparse tensors)")
    return Known(value, value.dtype)


__all__: Sequence[str] = ["LoadLimits", "OnnxFileError", "OnnxGraph", "load"]
