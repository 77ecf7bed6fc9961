"""Functional models: a graph of layer calls from ``keras.Input`` tensors to outputs,
replayed on fresh symgraph tensors for each compiled step."""

from __future__ import annotations

import warnings
from typing import Any

from symgraph.graph.core import Tensor
from symgraph.keras import naming
from symgraph.keras.layers.core import InputLayer
from symgraph.keras.layers.keras_tensor import KerasTensor, Node
from symgraph.keras.layers.layer import Layer
from symgraph.keras.masking import get_mask, set_mask
from symgraph.keras.models.model import Model
from symgraph.keras.trainer import adjust_input_rank
from symgraph.keras.tree import flatten, map_structure, pack_like


def _topological_nodes(outputs: list[KerasTensor]) -> list[Node]:
    """Every node the outputs depend on, parents before children."""
    order: list[Node] = []
    state: dict[int, int] = {}

    def visit(node: Node) -> None:
        mark = state.get(id(node))
        if mark == 2:
            return
        if mark == 1:
            raise ValueError("The functional graph has a cycle")
        state[id(node)] = 1
        for parent in node.parent_nodes:
            visit(parent)
        state[id(node)] = 2
        order.append(node)

    for t in outputs:
        layer, node_index, _ = t._keras_history
        visit(layer._inbound_nodes[node_index])
    return order


def _keras_layer_order(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Layer]:
    """The layers in Keras' order (``keras.src.ops.function.map_graph``): deepest first
    (depth = the longest path to an output), ties in the order a depth-first walk from
    the outputs first meets them. This order is ``model.layers``, the weight order and
    the summary's row order."""
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    post_order: list[Node] = []
    first_seen: dict[int, int] = {}

    def walk(tensor: KerasTensor) -> None:
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if not isinstance(layer, InputLayer) and id(tensor) in input_ids:
            finished.add(id(node))
            return
        first_seen.setdefault(id(layer), len(first_seen))
        if not isinstance(layer, InputLayer):
            for parent_tensor in node.input_tensors:
                walk(parent_tensor)
        finished.add(id(node))
        post_order.append(node)

    for t in outputs:
        walk(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers_by_id: dict[int, Layer] = {}
    in_graph = {id(n) for n in post_order}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers_by_id[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # inputs no output depends on still belong to the model
        layer = t._keras_history[0]
        if id(layer) not in layer_depth and isinstance(layer, InputLayer):
            layer_depth[id(layer)] = 0
            first_seen[id(layer)] = -1
            layers_by_id[id(layer)] = layer
    return sorted(layers_by_id.values(), key=lambda lay: (-layer_depth[id(lay)], first_seen[id(lay)]))


class Functional(Model):
    """``Model(inputs, outputs)``: inputs and outputs may be single tensors, lists or dicts."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any):
        if "input" in kwargs:
            self._legacy("Model(input=...)", "Model(inputs=...)")
            inputs = kwargs.pop("input")
        if "output" in kwargs:
            self._legacy("Model(output=...)", "Model(outputs=...)")
            outputs = kwargs.pop("output")
        if inputs is None or outputs is None:
            raise ValueError("A functional Model needs `inputs` and `outputs`")
        trainable = kwargs.pop("trainable", True)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Model: {kwargs}")
        super().__init__(name=name or naming.unique_name("functional"), trainable=trainable)
        self._init_graph(inputs, outputs)

    @staticmethod
    def _legacy(old: str, new: str) -> None:
        warnings.warn(
            f"`{old}` is a Keras 1 spelling; use `{new}` (accepted here, rejected by Keras 3)",
            DeprecationWarning,
            stacklevel=4,
        )

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        for t in flatten([inputs, outputs]):
            if not isinstance(t, KerasTensor):
                raise ValueError(
                    f"All `inputs` and `outputs` of a functional Model must be KerasTensors (from keras.Input "
                    f"and layer calls); received {type(t).__name__}"
                )
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(outputs, dict):
            inputs = inputs[0] if isinstance(inputs, list) else inputs
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        self._nodes = _topological_nodes(self.outputs)
        known = {id(t) for t in self.inputs}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer) and id(node.output_tensors[0]) not in known:
                raise ValueError(
                    f"Graph disconnected: the output depends on the input {node.layer.name!r}, "
                    "which is not among the model's `inputs`"
                )
        layers = _keras_layer_order(self.inputs, self.outputs)
        object.__setattr__(self, "_layers", layers)
        for layer in layers:
            layer._parent_models = [*getattr(layer, "_parent_models", []), self]
        self.input_names = [t._keras_history[0].name for t in self.inputs]
        self.output_names = [t._keras_history[0].name for t in self.outputs]
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    def _flat_inputs(self, inputs: Any) -> list[Tensor]:
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"Missing data for input(s) {missing} of model {self.name!r}")
            return [inputs[n] for n in self.input_names]
        flat = flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(
                f"Model {self.name!r} expects {len(self.inputs)} input(s), but it received {len(flat)} input tensors."
            )
        return flat

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values: dict[int, Any] = {}
        flat = self._flat_inputs(inputs)
        for t, value, original in zip(self.inputs, adjust_input_rank(flat, self.inputs), flat):
            if value is not original and isinstance(original, Tensor) and get_mask(original) is not None:
                set_mask(value, get_mask(original))
            values[id(t)] = value
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue

            def lookup(v: Any) -> Any:
                return values[id(v)] if isinstance(v, KerasTensor) else v

            args = map_structure(lookup, list(node.call_args))
            kwargs = map_structure(lookup, dict(node.call_kwargs))
            if training is not None and "training" not in kwargs:
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, value in zip(flatten(node.outputs), flatten(out)):
                values[id(kt)] = value
        return pack_like(self._outputs_struct, [values[id(t)] for t in self.outputs])

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built by its graph (Keras' ``Functional.build``)."""
        self.built = True

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}
