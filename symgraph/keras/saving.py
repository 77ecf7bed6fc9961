"""``save_weights`` / ``load_weights`` in Keras 3's ``.weights.h5`` layout, and ``save``
to a ``.keras`` zip.

The layout follows Keras 3's ``saving_lib`` walk: each object writes its own variables
under ``<path>/vars/0, 1, ...`` (the group's ``name`` attribute is the object's name);
a Sequential or functional model lists its layers first under ``layers/<snake_case
class name>[_N]`` (N counts layers of that class in order, independent of layer.name),
then every other attribute holding a layer, list of layers or the optimizer, public
attributes first and in sorted order (``lstm/cell/vars`` for an LSTM's cell,
``optimizer/vars`` for the optimizer: iterations, learning_rate, then the slots).
Subclassed models are walked the same way, so their layers live under their attribute
names. Loading reads the same paths; nothing in the file is ever executed.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from symgraph.keras import losses, metrics, naming, optimizers
from symgraph.keras.layers.layer import Layer
from symgraph.keras.model_config import model_from_config, model_to_config
from symgraph.keras.models.functional import Functional
from symgraph.keras.models.sequential import Sequential


def _h5py() -> Any:
    try:
        import h5py  # deferred: a 0.16 s import that only saving and loading weights need
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise ImportError("save_weights/load_weights need h5py (pip install h5py)") from exc
    return h5py


def _children(obj: Any) -> list[tuple[str, Any]]:
    """(attribute path, child) in Keras' order: a model's ``layers`` first, then the
    public attributes sorted, then the private ones sorted."""
    result: list[tuple[str, Any]] = []
    if isinstance(obj, (Sequential, Functional)):
        result.append(("layers", list(obj.layers)))
    attributes = dict(vars(obj))
    skip = {
        "_layers",
        "_seq_layers",
        "_functional",
        "_input_layer",
        "_inbound_nodes",
        "_parent_models",
        "_steps",
        "_compiled_metrics",
        "_compiled_losses",
        "_outputs_struct",
        "_inputs_struct",
        "_nodes",
        "inputs",
        "outputs",
        "_compile_metrics_spec",
        "loss",
        "history",
    }
    names = sorted((k for k in attributes if k not in skip), key=lambda k: f"~{k}" if k.startswith("_") else k)
    for name in names:
        value = attributes[name]
        if isinstance(value, Layer) or _is_optimizer(value):
            result.append((name, value))
        elif isinstance(value, (list, tuple)) and value and any(isinstance(v, Layer) for v in value):
            result.append((name, list(value)))
        elif isinstance(value, dict) and value and any(isinstance(v, Layer) for v in value.values()):
            result.append((name, list(value.values())))
    return result


def _is_optimizer(value: Any) -> bool:
    return hasattr(value, "get_updates") and hasattr(value, "variables")


def _own_variables(obj: Any) -> list[Any]:
    if isinstance(obj, Layer):
        return obj._own_ordered()
    if _is_optimizer(obj):
        return list(obj.variables)
    return []


def _walk(obj: Any, path: str, visited: set[int], visit: Any) -> None:
    if id(obj) in visited:
        return
    visited.add(id(obj))
    visit(path, obj)
    for attr, child in _children(obj):
        child_path = f"{path}/{attr}" if path else attr
        if isinstance(child, list):
            used: dict[str, int] = {}
            for item in child:
                if not (isinstance(item, Layer) or _is_optimizer(item)):
                    continue
                base = naming.to_snake_case(type(item).__name__)
                count = used.get(base, 0)
                used[base] = count + 1
                name = base if count == 0 else f"{base}_{count}"
                _walk(item, f"{child_path}/{name}", visited, visit)
        else:
            _walk(child, child_path, visited, visit)


def weight_paths(model: Any) -> dict[str, list[Any]]:
    """{group path: the variables stored under ``<path>/vars``} in file order."""
    paths: dict[str, list[Any]] = {}
    _walk(model, "", set(), lambda path, obj: paths.__setitem__(path, _own_variables(obj)))
    return paths


def _object_name(obj: Any) -> str:
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) else naming.to_snake_case(type(obj).__name__)


def save_weights(model: Any, filepath: str, overwrite: bool = True) -> None:
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    _write_h5(model, filepath)


def _write_h5(model: Any, target: Any) -> None:
    h5py = _h5py()
    with h5py.File(target, "w") as f:

        def visit(path: str, obj: Any) -> None:
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = _object_name(obj)
            for i, var in enumerate(_own_variables(obj)):
                group.create_dataset(str(i), data=np.asarray(var.get_value()))

        _walk(model, "", set(), visit)


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False) -> None:
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports `.weights.h5` files.")
    _read_h5(model, filepath, skip_mismatch)


def _read_h5(model: Any, source: Any, skip_mismatch: bool) -> None:
    h5py = _h5py()
    with h5py.File(source, "r") as f:
        errors: list[str] = []

        def visit(path: str, obj: Any) -> None:
            variables = _own_variables(obj)
            group_path = f"{path}/vars" if path else "vars"
            if _is_optimizer(obj) and group_path not in f:
                return  # a file saved before compile holds no optimizer state
            if not variables and group_path not in f:
                return
            if group_path not in f:
                errors.append(f"missing group {group_path!r} for {_object_name(obj)!r}")
                return
            group = f[group_path]
            if _is_optimizer(obj) and len(group) and len(variables) <= 2 and len(group) > len(variables):
                build = getattr(obj, "build", None)
                if build is not None:
                    build(model.trainable_weights)
                    variables = _own_variables(obj)
            if len(group) != len(variables):
                errors.append(
                    f"Layer '{_object_name(obj)}' expected {len(variables)} variables, but received {len(group)} "
                    f"variables during loading ({group_path})."
                )
                return
            for i, var in enumerate(variables):
                value = np.asarray(group[str(i)])
                if value.shape != tuple(var.shape):
                    if skip_mismatch:
                        continue
                    errors.append(
                        f"{group_path}/{i}: the file holds shape {value.shape}, the variable {var.name!r} has "
                        f"shape {tuple(var.shape)}"
                    )
                    continue
                var.set_value(value)

        _walk(model, "", set(), visit)
        if errors and not skip_mismatch:
            raise ValueError("A weights file does not match the model:\n" + "\n".join(errors))


def save_model(model: Any, filepath: str, overwrite: bool = True) -> None:
    """``.keras``: an uncompressed zip of metadata.json, config.json and model.weights.h5;
    ``.weights.h5`` paths save the weights only."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        save_weights(model, filepath, overwrite)
        return
    if not filepath.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add either a `.keras` extension for the native Keras "
            f"format (recommended) or a `.h5` extension. Received: filepath={filepath}."
        )
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    metadata = {"keras_version": "3.15.0", "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    if isinstance(model, (Sequential, Functional)):
        config = model_to_config(model)
    else:  # a subclassed model: its code rebuilds it; the file keeps the weights
        config = {
            "module": type(model).__module__,
            "class_name": type(model).__name__,
            "config": model.get_config(),
            "registered_name": type(model).__name__,
            "build_config": {"input_shape": getattr(model, "_build_input_shape", None)},
        }
    config["compile_config"] = _compile_config(model)
    with tempfile.TemporaryDirectory() as tmp:
        weights_path = os.path.join(tmp, "model.weights.h5")
        _write_h5(model, weights_path)
        with zipfile.ZipFile(filepath, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("metadata.json", json.dumps(metadata))
            zf.writestr("config.json", json.dumps(config, default=_json_default))
            zf.write(weights_path, "model.weights.h5")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _serialize_spec(spec: Any, serialize: Any) -> Any:
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return {k: _serialize_spec(v, serialize) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(v, serialize) for v in spec]
    return serialize(spec)


def _compile_config(model: Any) -> dict | None:
    """Keras' compile_config: the optimizer serialized, losses and metrics as given."""
    if not getattr(model, "compiled", False):
        return None
    return {
        "optimizer": optimizers.serialize(model.optimizer) if model.optimizer is not None else None,
        "loss": _serialize_spec(model.loss, losses.serialize),
        "loss_weights": model._loss_weights,
        "metrics": _serialize_spec(model._compile_metrics_spec, metrics.serialize),
        "weighted_metrics": _serialize_spec(getattr(model, "_weighted_metrics_spec", None), metrics.serialize),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True) -> Any:
    """A model from a ``.keras`` file (this facade's or real Keras'): the Sequential or
    functional graph rebuilt from config.json with the built-in layers, compiled from its
    compile_config (compile=True), then the weights (and optimizer state) loaded. No code
    from the file runs: Lambda layers need safe_mode=False, custom classes
    ``custom_objects``."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        raise ValueError("A .weights.h5 file holds weights only: build the model, then call model.load_weights().")
    if not filepath.endswith(".keras") or not zipfile.is_zipfile(filepath):
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports `.keras` files.")
    with zipfile.ZipFile(filepath, "r") as zf:
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.weights.h5") if "model.weights.h5" in zf.namelist() else None
    model = model_from_config(config, custom_objects, safe_mode)
    compile_config = config.get("compile_config")
    if compile and compile_config:
        model.compile(
            optimizer=optimizers.get(compile_config.get("optimizer") or "rmsprop"),
            loss=compile_config.get("loss"),
            loss_weights=compile_config.get("loss_weights"),
            metrics=compile_config.get("metrics"),
            weighted_metrics=compile_config.get("weighted_metrics"),
        )
    if weights is not None:
        _read_h5(model, io.BytesIO(weights), skip_mismatch=False)
    return model
