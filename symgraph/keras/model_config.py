"""Keras 3's ``config.json`` for Sequential and functional models, written and read.

Written (``model_to_config``) in Keras' own layout, so real Keras' ``load_model`` reads a
``.keras`` file saved here: every layer as ``{"module", "class_name", "config",
"registered_name", "build_config", "name", "inbound_nodes"}``, the layer calls as
``{"args", "kwargs"}`` with each KerasTensor as ``{"class_name": "__keras_tensor__",
"config": {"shape", "dtype", "keras_history": [layer, node, tensor]}}``.

Read (``model_from_config``) by building the built-in layer classes from their configs
and replaying the recorded calls. Nothing in the file is executed: a ``Lambda`` layer or
an unknown class is refused unless the caller passes it in ``custom_objects`` (or
``safe_mode=False`` for Lambda), which is how Keras' own CVE-2024-3660, CVE-2025-1550
and CVE-2025-8747 happened.
"""

from __future__ import annotations

import re
from typing import Any

from symgraph.keras import initializers
from symgraph.keras import layers as layers_module
from symgraph.keras.layers.core import Input, InputLayer
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.layers.layer import Layer
from symgraph.keras.models.functional import Functional
from symgraph.keras.models.sequential import Sequential
from symgraph.keras.tree import flatten, map_structure

# ---------------------------------------------------------------- writing


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _tensor_config(t: KerasTensor) -> dict:
    layer, node_index, tensor_index = t._keras_history
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(t.shape),
            "dtype": str(t.dtype),
            "keras_history": [layer.name, node_index, tensor_index],
        },
    }


def _history_triple(t: KerasTensor) -> list:
    layer, node_index, tensor_index = t._keras_history
    return [layer.name, node_index, tensor_index]


def layer_to_config(layer: Layer, nodes: list | None = None) -> dict:
    """One layer's entry; ``nodes`` are its calls inside the model being written."""
    if isinstance(layer, (Sequential, Functional)):
        entry = model_to_config(layer)
    elif isinstance(layer, InputLayer):
        entry = {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {
                "batch_shape": list(layer.batch_shape),
                "dtype": str(layer.dtype),
                "sparse": False,
                "ragged": False,
                "name": layer.name,
            },
            "registered_name": None,
        }
    else:
        entry = {
            "module": "keras.layers",
            "class_name": type(layer).__name__,
            "config": _jsonable(layer.get_config()),
            "registered_name": None,
        }
        shape = getattr(layer, "_build_input_shape", None)
        if shape is not None:
            entry["build_config"] = {"input_shape": _jsonable(shape)}
    entry["name"] = layer.name
    if nodes is not None:
        entry["inbound_nodes"] = [
            {
                "args": _jsonable(
                    map_structure(
                        lambda v: _tensor_config(v) if isinstance(v, KerasTensor) else v, list(node.call_args)
                    )
                ),
                "kwargs": _jsonable(
                    map_structure(
                        lambda v: _tensor_config(v) if isinstance(v, KerasTensor) else v,
                        {k: v for k, v in node.call_kwargs.items() if k != "training"},
                    )
                ),
            }
            for node in nodes
            if not isinstance(layer, InputLayer)
        ]
    return entry


def model_to_config(model: Any) -> dict:
    """The ``{"module", "class_name", "config", ...}`` entry of a Sequential or functional
    model (the top level of config.json, less compile_config)."""
    if isinstance(model, Sequential):
        layers = []
        if model._input_layer is not None:
            layers.append(layer_to_config(model._input_layer))
        layers += [layer_to_config(layer) for layer in model._seq_layers]
        config: dict = {"name": model.name, "trainable": model.trainable, "layers": layers}
        if model.built and model._build_input_shape is not None:
            config["build_input_shape"] = _jsonable(model._build_input_shape)
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": config,
            "registered_name": None,
            "build_config": {"input_shape": _jsonable(getattr(model, "_build_input_shape", None))},
        }
    node_ids = {id(node) for node in model._nodes}
    layers = []
    for layer in model.layers:
        nodes = [node for node in layer._inbound_nodes if id(node) in node_ids]
        layers.append(layer_to_config(layer, nodes))

    def ends(struct: Any) -> Any:
        if isinstance(struct, KerasTensor):
            return _history_triple(struct)
        if isinstance(struct, dict):
            return {k: ends(v) for k, v in struct.items()}
        return [ends(v) for v in struct]

    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": model.trainable,
            "layers": layers,
            "input_layers": ends(model._inputs_struct),
            "output_layers": ends(model._outputs_struct),
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


# ---------------------------------------------------------------- reading

_IGNORED_WHEN_UNKNOWN = re.compile(r"unexpected keyword argument '(\w+)'|Unrecognized keyword arguments?[^{]*\{'(\w+)'")


def _construct(cls: type, config: dict) -> Any:
    """``cls(**config)``, leaving out keys this facade does not know (Keras adds new
    ones, e.g. quantization_config) one at a time."""
    kwargs = dict(config)
    while True:
        try:
            return cls(**kwargs)
        except TypeError as exc:
            match = _IGNORED_WHEN_UNKNOWN.search(str(exc))
            key = match and (match.group(1) or match.group(2))
            if not key or key not in kwargs:
                raise
            kwargs.pop(key)


def layer_from_config(entry: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Layer:
    """A built-in layer (or a ``custom_objects`` class) from its config entry."""
    class_name = entry["class_name"]
    if class_name in ("Sequential", "Functional", "Model"):
        return model_from_config(entry, custom_objects, safe_mode)
    if class_name == "Lambda" and safe_mode:
        raise ValueError(
            "Requested the deserialization of a `Lambda` layer, whose Python code would have to be run from the "
            "file. This is refused by default (safe_mode=True); pass `safe_mode=False` to load_model only if you "
            "trust the file."
        )
    cls = (custom_objects or {}).get(class_name)
    if cls is None:
        cls = getattr(layers_module, class_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(
            f"Could not locate class '{class_name}'. Make sure custom classes are passed in `custom_objects` "
            "(files never import modules by themselves)."
        )
    config = dict(entry.get("config", {}))
    dtype = config.get("dtype")
    if isinstance(dtype, dict):  # Keras' DTypePolicy entry
        config["dtype"] = dtype.get("config", {}).get("name", "float32")
    for key in ("sparse", "ragged", "optional"):
        config.pop(key, None)
    for key, value in list(config.items()):
        if isinstance(value, dict) and str(value.get("module", "")).startswith("keras.initializers"):
            config[key] = _initializer_from_config(value)
    if isinstance(config.get("layer"), dict):  # a wrapper (Bidirectional, TimeDistributed)
        return cls.from_config(config)
    return _construct(cls, config)


def _initializer_from_config(entry: dict) -> Any:
    """An initializer from Keras' entry, leaving out arguments newer Keras versions
    added (e.g. GlorotUniform's input_axes)."""
    cls = getattr(initializers, entry.get("class_name", ""), None)
    if not isinstance(cls, type):
        return initializers.get(entry)
    return _construct(cls, dict(entry.get("config") or {}))


def _input_from_config(entry: dict) -> KerasTensor:
    config = entry["config"]
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    return Input(batch_shape=tuple(shape), dtype=config.get("dtype", "float32"), name=config.get("name"))


def model_from_config(config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Any:
    """A Sequential or functional model from its config entry (subclassed models need
    their code, so they are refused)."""
    class_name, inner = config["class_name"], config["config"]
    if class_name == "Sequential":
        layers: list[Any] = []
        for entry in inner["layers"]:
            if entry["class_name"] == "InputLayer":
                layers.append(_input_from_config(entry))
            else:
                layers.append(layer_from_config(entry, custom_objects, safe_mode))
        model = Sequential(layers, name=inner.get("name"), trainable=inner.get("trainable", True))
        shape = inner.get("build_input_shape")
        if not model.built and shape is not None:
            model.build(tuple(shape))
        return model
    if class_name not in ("Functional", "Model"):
        raise TypeError(
            f"Could not locate class '{class_name}': a subclassed model is rebuilt by its own code; pass the "
            "class in `custom_objects`, or rebuild it and use load_weights."
        )
    outputs_of: dict[str, list[list]] = {}
    created: dict[str, Layer] = {}
    pending = [(entry, 0) for entry in inner["layers"]]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = value["config"]["keras_history"]
            return outputs_of[name][node_index][tensor_index]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    def ready(value: Any) -> bool:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node_index, _ = value["config"]["keras_history"]
            return len(outputs_of.get(name, [])) > node_index
        if isinstance(value, dict):
            return all(ready(v) for v in value.values())
        if isinstance(value, list):
            return all(ready(v) for v in value)
        return True

    while pending:  # layers in Keras' order; a shared layer's later calls may wait
        progressed, waiting = False, []
        for entry, done in pending:
            name = entry.get("name") or entry["config"]["name"]
            if entry["class_name"] == "InputLayer":
                outputs_of[name] = [[_input_from_config(entry)]]
                progressed = True
                continue
            layer = created.get(name)
            if layer is None:
                layer = created[name] = layer_from_config(entry, custom_objects, safe_mode)
            nodes = entry.get("inbound_nodes", [])
            while done < len(nodes) and ready(nodes[done]):
                args = resolve(nodes[done].get("args", []))
                kwargs = resolve(nodes[done].get("kwargs", {}))
                out = layer(*args, **kwargs)
                outputs_of.setdefault(name, []).append(flatten(out))
                done, progressed = done + 1, True
            if done < len(nodes):
                waiting.append((entry, done))
        if waiting and not progressed:
            raise ValueError("The model config's layer calls refer to tensors no layer produces")
        pending = waiting

    def ends(struct: Any) -> Any:
        if isinstance(struct, dict):
            return {k: ends(v) for k, v in struct.items()}
        if isinstance(struct, list) and len(struct) == 3 and isinstance(struct[0], str):
            name, node_index, tensor_index = struct
            return outputs_of[name][node_index][tensor_index]
        return [ends(v) for v in struct]

    inputs, outputs = ends(inner["input_layers"]), ends(inner["output_layers"])
    model = Functional(inputs, outputs, name=inner.get("name"))
    model.trainable = inner.get("trainable", True)
    return model
