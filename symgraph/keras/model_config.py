"""Keras 3's ``config.json`` for Sequential and functional models, written and read.

Written (``model_to_config``) in Keras' own layout, so real Keras' ``load_model`` reads a
``.keras`` file saved here: every layer as ``{"module", "class_name", "config",
"registered_name", "build_config", "name", "inbound_nodes"}``, the layer calls as
``{"args", "kwargs"}`` with each KerasTensor as ``{"class_name": "__keras_tensor__",
"config": {"shape", "dtype", "keras_history": [layer, node, tensor]}}``.

Read (``model_from_config``) by building the built-in layer classes from their configs
and replaying the recorded calls; ``compile_arguments`` reads the compile_config. Nothing
in the file is executed: a ``Lambda`` layer or an unknown class is refused unless the
caller passes it in ``custom_objects`` (or ``safe_mode=False`` for Lambda), which is how
Keras' own CVE-2024-3660, CVE-2025-1550 and CVE-2025-8747 happened. The whole config is
checked before anything is built: a class, function or module the loader does not know,
in any position (layers, initializers, regularizers, constraints, activations, dtype
policies, optimizers and their schedules, losses, metrics), raises UnknownObjectError,
a malformed entry SavedFileError, each naming the position ("config.layers[2].config.
kernel_initializer", "compile_config.metrics[0]").
"""

from __future__ import annotations

import contextvars
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from symgraph.keras import activations, initializers, losses, metrics, optimizers, regularizers
from symgraph.keras import layers as layers_module
from symgraph.keras.layers.core import Input, InputLayer
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.layers.layer import Layer
from symgraph.keras.models.functional import Functional
from symgraph.keras.models.sequential import Sequential
from symgraph.keras.optimizers import schedules
from symgraph.keras.serialization import SavedFileError, UnknownObjectError
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
#
# A config comes from a file anyone may have written, so reading it is two walks. The
# first (``_check_*``) builds nothing: it refuses a malformed entry or a class, function
# or module the loader does not know, naming the position ("config.layers[2].config.
# kernel_initializer"). The second (``_build_*``) constructs what the first accepted and
# turns any error a constructor raises into a SavedFileError naming the same position.

_CONFIG = "config.json"
# Keras' constraint classes (and their function names): layers accept and ignore them.
_CONSTRAINTS = frozenset(
    {"Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg", "unit_norm"}
)
_DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy"})
_LAYER_ARGUMENTS = frozenset({"layer", "backward_layer", "cell"})  # wrappers and RNNs hold a layer's entry
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
_SHAPE_RESOLVED_METRICS = frozenset({"accuracy", "acc", "crossentropy", "ce"})
_CONSTRUCTION_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError)
_IGNORED_WHEN_UNKNOWN = re.compile(r"unexpected keyword argument '(\w+)'|Unrecognized keyword arguments?[^{]*\{'(\w+)'")


@dataclass(frozen=True)
class _Reader:
    """What a read may use beyond the built-ins: the caller's classes, and whether
    Lambda layers (code in the file) are allowed."""

    custom_objects: dict
    safe_mode: bool


# the read a wrapper's from_config runs inside (Bidirectional, TimeDistributed): the
# layers it rebuilds through layer_from_config use the same custom objects and safe mode
_ACTIVE_READER: contextvars.ContextVar[_Reader | None] = contextvars.ContextVar("keras_active_reader", default=None)


def _reader(custom_objects: dict | None, safe_mode: bool) -> _Reader:
    active = _ACTIVE_READER.get()
    if custom_objects is None and active is not None:
        return active
    return _Reader(dict(custom_objects or {}), safe_mode)


def _within(reader: _Reader, build: Callable[[], Any]) -> Any:
    token = _ACTIVE_READER.set(reader)
    try:
        return build()
    finally:
        _ACTIVE_READER.reset(token)


def _refuse(where: str, message: str, unknown: bool = False) -> NoReturn:
    error = UnknownObjectError if unknown else SavedFileError
    raise error(f"{_CONFIG}, at {where.lstrip('.') or 'the top level'}: {message}")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


def _expect(value: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        _refuse(where, f"expected {what}, got {_json_kind(value)}")
    return value


def _is_keras_module(module: str) -> bool:
    return module == "keras" or module.startswith("keras.")


def _custom_object(entry: dict, reader: _Reader) -> Any:
    """The caller's object an entry names (by class name or Keras' registered name)."""
    for key in ("class_name", "registered_name"):
        name = entry.get(key)
        if isinstance(name, str) and name in reader.custom_objects:
            return reader.custom_objects[name]
    return None


def _entry_class_name(entry: Any, where: str, kind: str, reader: _Reader) -> str:
    """The class name of a serialized ``{"module", "class_name", "config"}`` entry, once
    its shape is right and its module is Keras' own (or the class is the caller's)."""
    entry = _expect(entry, dict, where, f"a serialized {kind} (an object with a class_name)")
    class_name = entry.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        _refuse(where, f"a serialized {kind} needs a class_name string, got {_json_kind(class_name)}")
    module = entry.get("module")
    if module is not None and not isinstance(module, str):
        _refuse(where, f"the module of {kind} {class_name!r} must be a string, got {_json_kind(module)}")
    if module is not None and not _is_keras_module(module) and _custom_object(entry, reader) is None:
        _refuse(
            where,
            f"{kind} {class_name!r} names module {module!r}: a file may name only Keras' own modules (nothing is "
            "ever imported from a file); pass a custom class in `custom_objects`",
            unknown=True,
        )
    return class_name


def _check_shape(value: Any, where: str) -> None:
    """A shape (a list of sizes and nulls), or a list or dict of shapes (several inputs)."""
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_shape(item, f"{where}.{key}")
        return
    _expect(value, list, where, "a shape (an array of sizes)")
    if all(item is None or isinstance(item, (int, list, dict)) and not isinstance(item, bool) for item in value):
        for i, item in enumerate(value):
            if isinstance(item, int) and item < 0:
                _refuse(f"{where}[{i}]", f"a size must be >= 0, got {item}")
            if isinstance(item, (list, dict)):
                _check_shape(item, f"{where}[{i}]")
        return
    _refuse(where, "expected a shape: an array of non-negative integers and nulls")


def _known(lookup: Any, name: str) -> bool:
    try:
        lookup(name)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _is_layer_class(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Layer)


def _named_class(module: Any, name: str, base: type) -> Any:
    """``module.<name>`` when it is a subclass of ``base`` (never any other attribute)."""
    cls = getattr(module, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, base) else None


def _function_name(entry: dict, where: str, kind: str) -> str:
    """The function a Keras ``{"class_name": "function", "config": "<name>"}`` entry names."""
    name = entry.get("config")
    if not isinstance(name, str):
        _refuse(where, f"a serialized {kind} function needs its name as config, got {_json_kind(name)}")
    return name


def _activation_name(value: Any, where: str, reader: _Reader) -> Any:
    """The activation a layer argument names, as the name ``activations.get`` takes."""
    if isinstance(value, dict):
        class_name = _entry_class_name(value, where, "activation", reader)
        if _custom_object(value, reader) is not None:
            return _custom_object(value, reader)
        config = value.get("config")
        name = (
            _function_name(value, where, "activation")
            if class_name == "function"
            else config.get("name", class_name)
            if isinstance(config, dict)
            else class_name
        )
    else:
        name = _expect(value, str, where, "an activation name")
    if isinstance(name, str) and name in reader.custom_objects:
        return reader.custom_objects[name]
    if not isinstance(name, str) or not _known(activations.get, name):
        _refuse(where, f"unknown activation {name!r}", unknown=True)
    return name


def _constraint(name: str) -> str:
    if name not in _CONSTRAINTS:
        raise KeyError(name)
    return name


def _check_named_argument(value: Any, where: str, kind: str, reader: _Reader) -> None:
    """An initializer, regularizer or constraint argument: a known name or entry."""
    lookups = {"initializer": initializers.get, "regularizer": regularizers.get, "constraint": _constraint}
    if isinstance(value, str):
        if value not in reader.custom_objects and not _known(lookups[kind], value):
            _refuse(where, f"unknown {kind} {value!r}", unknown=True)
        return
    class_name = _entry_class_name(value, where, kind, reader)
    if _custom_object(value, reader) is not None:
        return
    if not _known(lookups[kind], class_name):
        _refuse(where, f"unknown {kind} class {class_name!r}", unknown=True)
    if value.get("config") is not None:
        _check_plain(_expect(value["config"], dict, f"{where}.config", f"the {kind}'s arguments"), f"{where}.config")


def _check_plain(value: Any, where: str) -> None:
    """Plain data (numbers, strings, arrays, objects) holding no serialized object."""
    if isinstance(value, dict):
        if "class_name" in value:
            name = value.get("class_name")
            _refuse(where, f"a serialized object ({name!r}) where only plain values belong", unknown=True)
        for key, item in value.items():
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")


def _check_layer_argument(key: str, value: Any, where: str, reader: _Reader, custom: bool = False) -> None:
    """One argument of a layer's config; a caller's class (``custom``) may take
    serialized objects of its own in arguments the built-in layers do not have."""
    if value is None:
        return
    if key in _LAYER_ARGUMENTS:
        _check_layer(value, where, reader, None)
    elif key == "cells" and isinstance(value, list):
        for i, cell in enumerate(value):
            _check_layer(cell, f"{where}[{i}]", reader, None)
    elif key == "dtype":
        if isinstance(value, dict):
            class_name = _entry_class_name(value, where, "dtype policy", reader)
            if class_name not in _DTYPE_POLICIES:
                _refuse(where, f"unknown dtype policy {class_name!r}", unknown=True)
            config = _expect(value.get("config"), dict, f"{where}.config", "the dtype policy's arguments")
            _expect(config.get("name"), str, f"{where}.config.name", "a dtype name")
        else:
            _expect(value, str, where, "a dtype name")
    elif key.endswith("activation"):
        _activation_name(value, where, reader)
    elif key.endswith(("initializer", "regularizer", "constraint")):
        kind = next(kind for kind in ("initializer", "regularizer", "constraint") if key.endswith(kind))
        _check_named_argument(value, where, kind, reader)
    elif not custom:
        _check_plain(value, where)


def _layer_class(entry: dict, reader: _Reader) -> Any:
    custom = _custom_object(entry, reader)
    if custom is not None:
        return custom if _is_layer_class(custom) else None
    return _named_class(layers_module, entry["class_name"], Layer)


def _layer_name(entry: dict) -> Any:
    config = entry.get("config")
    return entry.get("name") or (config.get("name") if isinstance(config, dict) else None)


def _check_layer(entry: Any, where: str, reader: _Reader, layer_names: set | None) -> None:
    """One layer's entry; ``layer_names`` (inside a functional model) are the names its
    recorded calls may refer to."""
    class_name = _entry_class_name(entry, where, "layer", reader)
    if class_name in _MODEL_CLASSES:
        _check_model(entry, where, reader)
    else:
        config = _expect(entry.get("config", {}), dict, f"{where}.config", "the layer's arguments (an object)")
        name = _layer_name(entry)
        if name is not None:
            _expect(name, str, f"{where}.name", "a layer name")
        if class_name == "InputLayer":
            shape_key = "batch_shape" if "batch_shape" in config else "batch_input_shape"
            _expect(config.get(shape_key), list, f"{where}.config.{shape_key}", "the input's shape")
            _check_shape(config[shape_key], f"{where}.config.{shape_key}")
            _check_layer_argument("dtype", config.get("dtype"), f"{where}.config.dtype", reader)
        elif class_name == "Lambda" and reader.safe_mode and "Lambda" not in reader.custom_objects:
            _refuse(
                where,
                "requested the deserialization of a `Lambda` layer, whose Python code would have to be run from the "
                "file. This is refused by default (safe_mode=True); pass `safe_mode=False` to load_model only if you "
                "trust the file.",
            )
        elif _layer_class(entry, reader) is None:
            module = entry.get("module")
            _refuse(
                where,
                f"could not locate layer class {class_name!r}" + (f" (module {module!r})" if module else "") + ". "
                "Make sure custom classes are passed in `custom_objects` (files never import modules by themselves).",
                unknown=True,
            )
        else:
            custom = _custom_object(entry, reader) is not None
            for key, value in config.items():
                _check_layer_argument(key, value, f"{where}.config.{key}", reader, custom)
    build_config = entry.get("build_config")
    if build_config is not None:
        _expect(build_config, dict, f"{where}.build_config", "an object")
        _check_shape(build_config.get("input_shape"), f"{where}.build_config.input_shape")
    if layer_names is not None and class_name != "InputLayer":
        nodes = _expect(entry.get("inbound_nodes", []), list, f"{where}.inbound_nodes", "the layer's calls")
        for k, node in enumerate(nodes):
            node_where = f"{where}.inbound_nodes[{k}]"
            _expect(node, dict, node_where, 'a layer call ({"args", "kwargs"})')
            _expect(node.get("args", []), list, f"{node_where}.args", "the call's positional arguments")
            _expect(node.get("kwargs", {}), dict, f"{node_where}.kwargs", "the call's keyword arguments")
            _check_call_value(node.get("args", []), f"{node_where}.args", layer_names)
            _check_call_value(node.get("kwargs", {}), f"{node_where}.kwargs", layer_names)


def _check_history(value: Any, where: str, layer_names: set) -> None:
    """A ``[layer name, node index, tensor index]`` triple naming a layer of the model."""
    triple = _expect(value, list, where, "a [layer name, node index, tensor index] triple")
    if len(triple) != 3 or not isinstance(triple[0], str) or not all(_is_index(v) for v in triple[1:]):
        _refuse(where, f"expected a [layer name, node index, tensor index] triple, got {triple!r:.200}")
    if triple[0] not in layer_names:
        _refuse(where, f"refers to layer {triple[0]!r}, which the model does not hold")


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_call_value(value: Any, where: str, layer_names: set) -> None:
    if isinstance(value, dict) and "class_name" in value:
        if value["class_name"] != "__keras_tensor__":
            _refuse(where, f"a layer call's argument names {value['class_name']!r:.100}; only tensors", unknown=True)
        config = _expect(value.get("config"), dict, f"{where}.config", "the tensor's description")
        _check_history(config.get("keras_history"), f"{where}.config.keras_history", layer_names)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_call_value(item, f"{where}.{key}", layer_names)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_call_value(item, f"{where}[{i}]", layer_names)


def _check_ends(value: Any, where: str, layer_names: set) -> None:
    """input_layers / output_layers: a triple, or a list or dict of them."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_ends(item, f"{where}.{key}", layer_names)
    elif isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        _check_history(value, where, layer_names)
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            _check_ends(item, f"{where}[{i}]", layer_names)
    else:
        _refuse(where, "expected [layer name, node index, tensor index] triples (or an array or object of them)")


def _check_model(entry: Any, where: str, reader: _Reader) -> None:
    class_name = _entry_class_name(entry, where, "model", reader)
    inner = _expect(entry.get("config"), dict, f"{where}.config", "the model's config (an object)")
    layers = _expect(inner.get("layers"), list, f"{where}.config.layers", "the model's layers (an array)")
    if inner.get("name") is not None:
        _expect(inner["name"], str, f"{where}.config.name", "a model name")
    if class_name == "Sequential":
        for i, layer in enumerate(layers):
            _check_layer(layer, f"{where}.config.layers[{i}]", reader, None)
        _check_shape(inner.get("build_input_shape"), f"{where}.config.build_input_shape")
        return
    if class_name not in ("Functional", "Model"):
        _refuse(
            where,
            f"could not locate model class {class_name!r}: a subclassed model is rebuilt by its own code; pass the "
            "class in `custom_objects`, or rebuild it and use load_weights.",
            unknown=True,
        )
    names: set = set()
    for i, layer in enumerate(layers):
        layer_where = f"{where}.config.layers[{i}]"
        name = _layer_name(_expect(layer, dict, layer_where, "a layer's entry (an object)"))
        _expect(name, str, f"{layer_where}.name", "a layer name")
        if name in names:
            _refuse(f"{layer_where}.name", f"two layers are named {name!r}")
        names.add(name)
    for i, layer in enumerate(layers):
        _check_layer(layer, f"{where}.config.layers[{i}]", reader, names)
    for key in ("input_layers", "output_layers"):
        _check_ends(inner.get(key), f"{where}.config.{key}", names)


def _guarded(step: Any, *args: Any) -> Any:
    """``step(*args)``, a config nested past Python's recursion limit refused."""
    try:
        return step(*args)
    except RecursionError:
        raise SavedFileError(f"{_CONFIG}: the config is nested too deeply to be a model") from None


# -- building what the checks accepted


def _at(where: str, build: Any) -> Any:
    """``build()``, with a constructor's error turned into one naming the position."""
    try:
        return build()
    except SavedFileError:
        raise
    except _CONSTRUCTION_ERRORS as exc:
        position = where.lstrip(".") or "the top level"
        raise SavedFileError(f"{_CONFIG}, at {position}: {type(exc).__name__}: {exc}") from exc


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
    """A built-in layer (or a ``custom_objects`` class) from its config entry; refuses
    (SavedFileError, UnknownObjectError) an entry that is malformed or names anything
    the loader does not know."""
    reader = _reader(custom_objects, safe_mode)
    _guarded(_check_layer, entry, "", reader, None)
    return _guarded(_build_layer, entry, "", reader)


def _build_layer(entry: dict, where: str, reader: _Reader) -> Layer:
    if entry["class_name"] in _MODEL_CLASSES:
        return _build_model(entry, where, reader)
    cls = _layer_class(entry, reader)
    config = dict(entry.get("config", {}))
    dtype = config.get("dtype")
    if isinstance(dtype, dict):  # Keras' DTypePolicy entry
        config["dtype"] = dtype["config"]["name"]
    for key in ("sparse", "ragged", "optional"):
        config.pop(key, None)
    for key, value in list(config.items()):
        if key.endswith("activation") and isinstance(value, dict):
            config[key] = _activation_name(value, f"{where}.config.{key}", reader)
        elif isinstance(value, dict) and key.endswith("initializer") and _custom_object(value, reader) is None:
            config[key] = _at(f"{where}.config.{key}", lambda value=value: _initializer_from_config(value))
    if isinstance(config.get("layer"), dict):  # a wrapper (Bidirectional, TimeDistributed)
        return _at(where, lambda: _within(reader, lambda: cls.from_config(config)))
    return _at(where, lambda: _construct(cls, config))


def _initializer_from_config(entry: dict) -> Any:
    """An initializer from Keras' entry, leaving out arguments newer Keras versions
    added (e.g. GlorotUniform's input_axes)."""
    cls = _named_class(initializers, entry["class_name"], initializers.Initializer)
    if cls is None:
        return initializers.get(entry)
    return _construct(cls, dict(entry.get("config") or {}))


def _input_from_config(entry: dict) -> KerasTensor:
    config = entry["config"]
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    dtype = config.get("dtype") or "float32"
    if isinstance(dtype, dict):
        dtype = dtype["config"]["name"]
    return Input(batch_shape=tuple(shape), dtype=dtype, name=config.get("name"))


def model_from_config(config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Any:
    """A Sequential or functional model from its config entry (subclassed models need
    their code, so they are refused). The whole config is checked before anything is
    built: a malformed entry raises SavedFileError, a class, function or module the
    loader does not know UnknownObjectError, each naming the position in the config."""
    reader = _reader(custom_objects, safe_mode)
    _guarded(_check_model, config, "", reader)
    return _guarded(_build_model, config, "", reader)


def _build_model(config: dict, where: str, reader: _Reader) -> Any:
    class_name, inner = config["class_name"], config["config"]
    if class_name == "Sequential":
        layers: list[Any] = []
        for i, entry in enumerate(inner["layers"]):
            layer_where = f"{where}.config.layers[{i}]"
            if entry["class_name"] == "InputLayer":
                layers.append(_at(layer_where, lambda entry=entry: _input_from_config(entry)))
            else:
                layers.append(_build_layer(entry, layer_where, reader))
        model = _at(where, lambda: Sequential(layers, name=inner.get("name"), trainable=inner.get("trainable", True)))
        shape = inner.get("build_input_shape")
        if not model.built and shape is not None:
            _at(f"{where}.config.build_input_shape", lambda: model.build(tuple(shape)))
        return model
    outputs_of: dict[str, list[list]] = {}
    created: dict[str, Layer] = {}
    pending = [(i, entry, 0) for i, entry in enumerate(inner["layers"])]

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

    def call(layer: Layer, node: dict) -> list:
        return flatten(layer(*resolve(node.get("args", [])), **resolve(node.get("kwargs", {}))))

    while pending:  # layers in Keras' order; a shared layer's later calls may wait
        progressed, waiting = False, []
        for i, entry, done in pending:
            layer_where = f"{where}.config.layers[{i}]"
            name = _layer_name(entry)
            if entry["class_name"] == "InputLayer":
                outputs_of[name] = [[_at(layer_where, lambda entry=entry: _input_from_config(entry))]]
                progressed = True
                continue
            layer = created.get(name)
            if layer is None:
                layer = created[name] = _build_layer(entry, layer_where, reader)
            nodes = entry.get("inbound_nodes", [])
            while done < len(nodes) and ready(nodes[done]):
                node = nodes[done]
                out = _at(f"{layer_where}.inbound_nodes[{done}]", lambda layer=layer, node=node: call(layer, node))
                outputs_of.setdefault(name, []).append(out)
                done, progressed = done + 1, True
            if done < len(nodes):
                waiting.append((i, entry, done))
        if waiting and not progressed:
            _refuse(f"{where}.config.layers", "the layer calls refer to tensors no layer produces")
        pending = waiting

    def ends(struct: Any) -> Any:
        if isinstance(struct, dict):
            return {k: ends(v) for k, v in struct.items()}
        if isinstance(struct, list) and len(struct) == 3 and isinstance(struct[0], str):
            name, node_index, tensor_index = struct
            return outputs_of[name][node_index][tensor_index]
        return [ends(v) for v in struct]

    inputs = _at(f"{where}.config.input_layers", lambda: ends(inner["input_layers"]))
    outputs = _at(f"{where}.config.output_layers", lambda: ends(inner["output_layers"]))
    model = _at(where, lambda: Functional(inputs, outputs, name=inner.get("name")))
    model.trainable = bool(inner.get("trainable", True))
    return model


# -- compile_config


def compile_arguments(compile_config: Any, custom_objects: dict | None = None) -> dict | None:
    """``model.compile``'s arguments from a config.json's compile_config, every loss,
    metric and optimizer checked and built (names stay names, as compile was given
    them): a malformed entry raises SavedFileError, an unknown class, function or module
    UnknownObjectError, each naming its position ("compile_config.metrics[1]")."""
    if compile_config is None:
        return None
    reader = _reader(custom_objects, True)
    where = "compile_config"
    _expect(compile_config, dict, where, "an object")
    try:
        return {
            "optimizer": _optimizer_argument(compile_config.get("optimizer"), f"{where}.optimizer", reader),
            "loss": _each_leaf(compile_config.get("loss"), f"{where}.loss", reader, _loss_argument),
            "loss_weights": _loss_weights(compile_config.get("loss_weights"), f"{where}.loss_weights"),
            "metrics": _each_leaf(compile_config.get("metrics"), f"{where}.metrics", reader, _metric_argument),
            "weighted_metrics": _each_leaf(
                compile_config.get("weighted_metrics"), f"{where}.weighted_metrics", reader, _metric_argument
            ),
        }
    except RecursionError:
        raise SavedFileError(f"{_CONFIG}: the compile_config is nested too deeply") from None


def _each_leaf(value: Any, where: str, reader: _Reader, leaf: Any) -> Any:
    """``leaf`` applied to every loss or metric of a compile argument: one, or an array
    or an object (by output name) of them."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_each_leaf(item, f"{where}[{i}]", reader, leaf) for i, item in enumerate(value)]
    if isinstance(value, dict) and "class_name" not in value and "module" not in value:
        return {key: _each_leaf(item, f"{where}.{key}", reader, leaf) for key, item in value.items()}
    return leaf(value, where, reader)


def _loss_weights(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [_loss_weights(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _loss_weights(item, f"{where}.{key}") for key, item in value.items()}
    _refuse(where, f"expected a number (or an array or object of numbers), got {_json_kind(value)}")


def _optimizer_argument(value: Any, where: str, reader: _Reader) -> Any:
    if value is None:
        value = "rmsprop"
    if isinstance(value, str):
        try:
            return optimizers.get(value)
        except ValueError:
            _refuse(where, f"unknown optimizer {value!r}", unknown=True)
    class_name = _entry_class_name(value, where, "optimizer", reader)
    if _custom_object(value, reader) is None and class_name.lower() not in optimizers.ALL_OBJECTS_DICT:
        _refuse(where, f"unknown optimizer class {class_name!r}", unknown=True)
    config = _expect(value.get("config") or {}, dict, f"{where}.config", "the optimizer's arguments (an object)")
    for key, item in config.items():
        if key == "learning_rate" and isinstance(item, dict):
            schedule = _entry_class_name(item, f"{where}.config.{key}", "learning rate schedule", reader)
            known = _named_class(schedules, schedule, schedules.LearningRateSchedule) is not None
            if not known and _custom_object(item, reader) is None:
                _refuse(f"{where}.config.{key}", f"unknown learning rate schedule {schedule!r}", unknown=True)
            _check_plain(item.get("config"), f"{where}.config.{key}.config")
        else:
            _check_plain(item, f"{where}.config.{key}")
    return _at(where, lambda: optimizers.deserialize(value, reader.custom_objects))


def _loss_argument(value: Any, where: str, reader: _Reader) -> Any:
    def known(name: str) -> bool:
        return _known(losses.check_identifier, name)

    return _compile_argument(value, where, reader, "loss", known, losses.ALL_OBJECTS_DICT, drop=("fn",))


def _compile_argument(
    value: Any,
    where: str,
    reader: _Reader,
    kind: str,
    known: Callable[[str], bool],
    table: dict,
    drop: tuple[str, ...] = (),
) -> Any:
    """A loss or metric of compile_config: a name ``known`` accepts (or a custom
    object's), Keras' ``{"class_name": "function"}`` form of one, or a class entry of
    ``table`` built from its config (``drop``: arguments left out)."""
    if isinstance(value, str):
        if value not in reader.custom_objects and not known(value):
            _refuse(where, f"unknown {kind} {value!r}", unknown=True)
        return reader.custom_objects.get(value, value)
    class_name = _entry_class_name(value, where, kind, reader)
    if class_name == "function":
        return _compile_argument(_function_name(value, where, kind), where, reader, kind, known, table, drop)
    config = _expect(value.get("config") or {}, dict, f"{where}.config", f"the {kind}'s arguments (an object)")
    _check_plain(config, f"{where}.config")
    config = {key: item for key, item in config.items() if key not in drop}
    return _built_from_config(value, class_name, config, where, reader, table, kind)


def _built_from_config(
    entry: dict, class_name: str, config: dict, where: str, reader: _Reader, table: dict, kind: str
) -> Any:
    """The loss or metric an entry names, built from its config (a caller's function
    as is), leaving out arguments newer Keras versions added."""
    cls = _custom_object(entry, reader)
    if cls is None:
        cls = table.get(class_name)
        if not inspect.isclass(cls):
            _refuse(where, f"unknown {kind} class {class_name!r}", unknown=True)
    return _at(where, lambda: _construct(cls, config) if inspect.isclass(cls) else cls)


def _metric_argument(value: Any, where: str, reader: _Reader) -> Any:
    def known(name: str) -> bool:
        return name.lower() in _SHAPE_RESOLVED_METRICS or name in metrics.ALL_OBJECTS_DICT

    return _compile_argument(value, where, reader, "metric", known, metrics.ALL_OBJECTS_DICT)
