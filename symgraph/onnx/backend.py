"""symgraph as an ONNX backend (``onnx.backend.base.Backend``), so the onnx package's
own backend tests (``onnx.backend.test``) run through ``sg.onnx.load``.

``SymgraphBackend.mode`` picks the compiled function's mode ("c" by default; the node
tests run most cases in "py", the numpy interpreter, since each case is a new graph and
a C build takes about half a second)."""

from __future__ import annotations

from typing import Any

import numpy as np

from symgraph.onnx.import_ops import NeedsConstant
from symgraph.onnx.loader import OnnxGraph, load
from symgraph.onnx.opset import require

onnx = require("onnx")
_base = require("onnx.backend.base")


class SymgraphBackendRep(_base.BackendRep):
    """A loaded model, run on lists (or dicts) of arrays.

    A model that feeds an input to what symgraph needs at import time (a Reshape's
    shape, a Slice's bounds, ...: the node tests do) is loaded at ``run``, with those
    inputs bound to the values given (``load(..., constants=)``), once per value."""

    def __init__(self, model: Any, mode: str, graph: OnnxGraph | None):
        self.model = model
        self.mode = mode
        initializers = {t.name for t in model.graph.initializer}
        self.input_names = [vi.name for vi in model.graph.input if vi.name not in initializers]
        self.graph = graph
        self.bound: list[str] = []
        self.graphs: dict[bytes, OnnxGraph] = {}

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        else:
            arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
            feeds = dict(zip(self.input_names, arrays))
        if self.graph is not None:
            return tuple(self.graph.run(feeds))
        while True:  # which inputs must be bound: found by trying, with the values given
            constants = {name: np.asarray(feeds[name]) for name in self.bound}
            key = b"".join(
                name.encode() + a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()
                for name, a in constants.items()
            )
            graph = self.graphs.get(key)
            if graph is None:
                try:
                    graph = load(self.model, mode=self.mode, constants=constants)
                except NeedsConstant as exc:
                    if exc.value_name not in feeds or exc.value_name in self.bound:
                        raise
                    self.bound.append(exc.value_name)
                    continue
                self.graphs[key] = graph
            rest = {name: value for name, value in feeds.items() if name not in constants}
            return tuple(graph.run(rest))


class SymgraphBackend(_base.Backend):
    mode: str = "c"

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> SymgraphBackendRep:
        super().prepare(model, device, **kwargs)  # onnx.checker on the model
        mode = kwargs.get("mode", cls.mode)
        try:
            graph = load(model, mode=mode)
        except NeedsConstant as exc:
            if exc.value_name not in {vi.name for vi in model.graph.input}:
                raise
            graph = None  # loaded at run, with the inputs it needs bound
        return SymgraphBackendRep(model, mode, graph)

    @classmethod
    def run_model(cls, model: Any, inputs: Any, device: str = "CPU", **kwargs: Any) -> tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: Any,
        inputs: Any,
        device: str = "CPU",
        outputs_info: Any = None,
        **kwargs: Any,
    ) -> tuple[np.ndarray, ...]:
        """One node on arrays: a model of that node alone, with the inputs' types."""
        helper = onnx.helper
        arrays = [np.asarray(a) for a in inputs]
        graph_inputs = [
            helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for name, a in zip(node.input, arrays)
        ]
        graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output]
        graph = helper.make_graph([node], "run_node", graph_inputs, graph_outputs)
        opset = kwargs.pop("opset_version", onnx.defs.onnx_opset_version())
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return cls.run_model(model, arrays, device, **kwargs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


prepare = SymgraphBackend.prepare
run_model = SymgraphBackend.run_model
run_node = SymgraphBackend.run_node
supports_device = SymgraphBackend.supports_device
