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

A file may come from anyone, so loading trusts nothing in it: HDF5 links are followed
only while they stay inside the file, datasets with external, virtual or compressed
storage are refused, every dataset's shape and dtype is checked from the metadata before
any data is read, and no variable is set until all of them have been read (a failed load
changes nothing). A ``.keras`` zip is held to ``FileLimits`` (members and their sizes,
from its directory and again while reading); its config is checked by ``model_config``.

``load_weights`` into a model not built yet reads and checks the whole file at once
(every ``vars`` group, within ``FileLimits.weights_bytes``) and sets the values when the
model is built, still all or nothing. Keras 2's weights suffixes (``.h5``, ``.hdf5``,
``.ckpt``), which ``ModelCheckpoint`` writes in this layout, are read with a warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgraph.errors import user_stacklevel
from symgraph.keras import losses, metrics, naming, optimizers
from symgraph.keras.layers.layer import Layer
from symgraph.keras.model_config import compile_arguments, model_from_config, model_to_config
from symgraph.keras.models.functional import Functional
from symgraph.keras.models.sequential import Sequential
from symgraph.keras.serialization import SavedFileError


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


def write_weights_file(model: Any, filepath: str) -> None:
    """The ``.weights.h5`` layout written to ``filepath`` whatever its suffix: what
    ``ModelCheckpoint`` writes for Keras 2's ``.h5`` / ``.hdf5`` / ``.ckpt`` paths."""
    _write_h5(model, os.fspath(filepath))


def _write_h5(model: Any, target: Any) -> None:
    h5py = _h5py()
    with h5py.File(target, "w") as f:

        def visit(path: str, obj: Any) -> None:
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = _object_name(obj)
            for i, var in enumerate(_own_variables(obj)):
                group.create_dataset(str(i), data=np.asarray(var.get_value()))

        _walk(model, "", set(), visit)


# What Keras 2 named weights files (HDF5, or TensorFlow's checkpoint prefix): ModelCheckpoint
# writes such paths in the .weights.h5 layout, and load_weights reads them back.
LEGACY_WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".ckpt")


def is_legacy_weights_path(filepath: str) -> bool:
    """A weights path Keras 2 accepted and Keras 3 refuses (``.h5``, ``.hdf5``, ``.ckpt``)."""
    return filepath.endswith(LEGACY_WEIGHTS_SUFFIXES) and not filepath.endswith(".weights.h5")


def load_weights(model: Any, filepath: str, skip_mismatch: bool = False) -> None:
    """The model's variables (and its optimizer's, when the file holds them) from a
    ``.weights.h5`` file, all or nothing: every dataset is found and checked against its
    variable from the file's metadata, then read, and only then is any variable set.
    Links to other files, external or virtual storage and compressed data are refused
    (SavedFileError naming the dataset). ``skip_mismatch`` leaves the variables whose
    shape or dtype differs from the file's as they are.

    Keras 2's suffixes (``.h5``, ``.hdf5``, ``.ckpt``) are read in the same layout, with a
    warning. A model not built yet (a Sequential without an input shape, a subclassed
    model before its first call) has no variables to check: the file is read and checked
    now (every dataset's storage, at most ``file_limits().weights_bytes`` of data) and
    its values are set when the model is built (``build``, its first call, or ``fit``),
    checked against the variables then, still all or nothing."""
    filepath = os.fspath(filepath)
    if is_legacy_weights_path(filepath):
        warnings.warn(
            f"{filepath}: Keras 3 reads weights from `.weights.h5` paths only; this path is read in the "
            "`.weights.h5` layout (accepted here, rejected by Keras 3): name weights files `*.weights.h5`",
            DeprecationWarning,
            stacklevel=user_stacklevel(),
        )
    elif not filepath.endswith(".weights.h5"):
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports `.weights.h5` files.")
    if isinstance(model, Layer) and not model.built:
        object.__setattr__(model, "_deferred_weights", _read_h5_deferred(filepath, skip_mismatch))
        return
    _read_h5(model, filepath, skip_mismatch, filepath)


@dataclass(frozen=True)
class DeferredWeights:
    """A weights file read for a model not built yet: each ``vars`` group's arrays by
    group path (None where the file has no dataset), set when the model is built."""

    arrays: dict[str, list[np.ndarray | None]]
    skip_mismatch: bool
    source: str


# A bound on the links a deferred load walks (each group and dataset is one), so a file
# made of millions of empty groups cannot keep it busy; Keras writes a few per layer.
_MAX_DEFERRED_LINKS = 1_000_000


def _read_h5_deferred(filepath: str, skip_mismatch: bool) -> DeferredWeights:
    with _open_weights_h5(filepath, filepath) as (h5py, f):
        arrays = _read_vars_groups(h5py, f, filepath, file_limits().weights_bytes)
    return DeferredWeights(arrays, skip_mismatch, filepath)


def _read_vars_groups(h5py: Any, f: Any, source: str, max_bytes: int) -> dict[str, list[np.ndarray | None]]:
    """Every ``vars`` group of the file with its datasets ``0, 1, ...``, found one link at
    a time as ``_h5_lookup`` does (no link leaves the file; a group reached twice is
    walked once), each dataset's storage checked, the total declared size held to
    ``max_bytes``, all before any data is read."""
    found: dict[str, list[Any]] = {}
    visited: set[Any] = set()
    pending: list[tuple[str, Any]] = [("", f)]
    links, total = 0, 0
    while pending:
        path, group = pending.pop()
        if group.id in visited:
            continue
        visited.add(group.id)
        for name in sorted(group):
            links += 1
            if links > _MAX_DEFERRED_LINKS:
                raise SavedFileError(f"{source}: more than {_MAX_DEFERRED_LINKS} groups and datasets")
            child_path = f"{path}/{name}" if path else name
            child = _h5_lookup(h5py, f, child_path, source)
            if not isinstance(child, h5py.Group):
                continue
            if name != "vars":
                pending.append((child_path, child))
                continue
            datasets: list[Any] = []
            for i in range(len(child)):
                links += 1
                if links > _MAX_DEFERRED_LINKS:
                    raise SavedFileError(f"{source}: more than {_MAX_DEFERRED_LINKS} groups and datasets")
                dataset = _h5_lookup(h5py, f, f"{child_path}/{i}", source)
                if isinstance(dataset, h5py.Dataset):
                    _check_dataset_storage(dataset, f"{child_path}/{i}", source)
                    total += int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
                    if total > max_bytes:
                        raise SavedFileError(
                            f"{source}: the weights declare more than {max_bytes} bytes (FileLimits.weights_bytes; "
                            "raise it with saving.set_file_limits(weights_bytes=...) if you trust the file)"
                        )
                    datasets.append(dataset)
                else:
                    datasets.append(None)
            found[child_path] = datasets
    return {path: [None if d is None else np.asarray(d[()]) for d in datasets] for path, datasets in found.items()}


def apply_deferred_weights(model: Any) -> None:
    """Sets the values a ``load_weights`` on the unbuilt model read, now that it is
    built: checked against the variables first, all or nothing (SavedFileError naming
    the file and what differs). The pending load is dropped either way."""
    deferred = getattr(model, "_deferred_weights", None)
    if deferred is None:
        return
    object.__setattr__(model, "_deferred_weights", None)
    name = f"{deferred.source} (load_weights deferred until the model was built)"
    staged = _stage(model, _StagedGroups(deferred.arrays), deferred.skip_mismatch, name)
    for variable, value in staged:
        variable.set_value(value)


# HDF5's identifiers of the filters whose output is as large as their input; the others
# decompress, and HDF5 lets a compressed chunk inflate far past its declared size before
# it checks, so a small file could take gigabytes (Keras writes weights uncompressed).
_SIZE_PRESERVING_FILTERS = {2: "shuffle", 3: "fletcher32"}
_MAX_SOFT_LINKS = 16


def _h5_lookup(h5py: Any, f: Any, path: str, source: str) -> Any:
    """The object at ``path``, found one link at a time so that no link leaves the file:
    hard links are followed, soft links only while they stay inside it; external and
    user-defined links are refused. None when nothing is there."""
    node, here, parts, followed = f, [], path.strip("/").split("/"), 0
    while parts:
        name = parts.pop(0)
        if name in ("", "."):
            continue
        if name == ".." or not isinstance(node, h5py.Group) or not node.id.links.exists(name.encode()):
            return None
        kind = node.id.links.get_info(name.encode()).type
        if kind == h5py.h5l.TYPE_HARD:
            node, here = node[name], [*here, name]
        elif kind == h5py.h5l.TYPE_SOFT:
            followed += 1
            if followed > _MAX_SOFT_LINKS:
                raise SavedFileError(f"{source}: {path}: more than {_MAX_SOFT_LINKS} soft links (a loop?)")
            target = node.id.links.get_val(name.encode()).decode("utf-8", "replace")
            if target.startswith("/"):
                node, here = f, []
            parts = target.strip("/").split("/") + parts
        else:
            link = "/" + "/".join([*here, name])
            if kind != h5py.h5l.TYPE_EXTERNAL:
                raise SavedFileError(f"{source}: {path}: a user-defined link ({link}, type {kind}) is refused")
            file_name, object_name = (v.decode("utf-8", "replace") for v in node.id.links.get_val(name.encode()))
            raise SavedFileError(
                f"{source}: {path}: an external link ({link} -> {object_name!r} in the file {file_name!r}) is "
                "refused: a weights file must hold its data itself"
            )
    return node


def _check_dataset_storage(dataset: Any, path: str, source: str) -> None:
    """Refuses, from the metadata alone, a dataset whose data lives outside the file or
    would inflate when read, or that does not hold plain numbers."""
    if dataset.is_virtual:
        raise SavedFileError(
            f"{source}: {path}: a virtual dataset (its data is read from other datasets or files) is refused: a "
            "weights file must hold its data itself"
        )
    if dataset.external:
        file_name = dataset.external[0][0]
        raise SavedFileError(
            f"{source}: {path}: a dataset stored in an external file ({file_name!r}) is refused: a weights file must "
            "hold its data itself"
        )
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, filter_name = plist.get_filter(i)
        if code not in _SIZE_PRESERVING_FILTERS:
            shown = filter_name.decode("utf-8", "replace") if isinstance(filter_name, bytes) else filter_name
            raise SavedFileError(
                f"{source}: {path}: compressed data (filter {shown!r}, id {code}) is refused: a compressed chunk "
                "can inflate far beyond the dataset's size before HDF5 checks it, and Keras writes weights "
                "uncompressed (`h5repack -f NONE` decompresses a file)"
            )
    if dataset.dtype.kind not in "biuf":
        raise SavedFileError(f"{source}: {path}: holds {dataset.dtype} data, not numbers")


def _read_h5(model: Any, source: Any, skip_mismatch: bool, name: str) -> None:
    with _open_weights_h5(source, name) as (h5py, f):
        staged = _stage(model, _H5Groups(h5py, f, name), skip_mismatch, name)
    for variable, value in staged:  # every dataset checked and read: now nothing can fail halfway
        variable.set_value(value)


@contextlib.contextmanager
def _open_weights_h5(source: Any, name: str) -> Iterator[tuple[Any, Any]]:
    """``(h5py, file)`` for reading a weights file, Keras 2's layout refused; a file that
    is not HDF5, and damage met while reading it, become a SavedFileError naming ``name``."""
    h5py = _h5py()
    try:
        file = h5py.File(source, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SavedFileError(f"{name}: not a readable HDF5 file ({exc})") from exc
    with file as f:
        try:
            _refuse_keras2_layout(f, name)
            yield h5py, f
        except SavedFileError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise SavedFileError(f"{name}: the HDF5 data is damaged: {type(exc).__name__}: {exc}") from exc


def _refuse_keras2_layout(f: Any, source: str) -> None:
    """Keras 2's HDF5 layout (a ``layer_names`` attribute, at the root or in
    ``model_weights``) is not the one this loader reads: say so, rather than list every
    group it lacks."""
    if "layer_names" in f.attrs or f.id.links.exists(b"model_weights"):  # a link's name: nothing is followed
        raise SavedFileError(
            f"{source}: holds Keras 2's HDF5 weights layout (`layer_names`), which symgraph.keras does not read: "
            "load it with Keras 2 (or tf.keras) and save it again with `save_weights('*.weights.h5')`"
        )


class _H5Groups:
    """The ``vars`` groups of an open HDF5 file, looked up without leaving it."""

    def __init__(self, h5py: Any, f: Any, source: str):
        self.h5py, self.f, self.source = h5py, f, source

    def group(self, path: str) -> Any:
        """The group at ``path``; None when nothing is there, _NOT_A_GROUP for anything else."""
        node = _h5_lookup(self.h5py, self.f, path, self.source)
        if node is None:
            return None
        return node if isinstance(node, self.h5py.Group) else _NOT_A_GROUP

    def dataset(self, group_path: str, group: Any, index: int) -> Any:
        """Dataset ``index`` of the group, its storage checked; None when absent."""
        path = f"{group_path}/{index}"
        node = _h5_lookup(self.h5py, self.f, path, self.source)
        if not isinstance(node, self.h5py.Dataset):
            return None
        _check_dataset_storage(node, path, self.source)
        return node


class _StagedGroups:
    """The same lookups over the arrays a deferred load read (checked when read)."""

    def __init__(self, arrays: dict[str, list[np.ndarray | None]]):
        self.arrays = arrays

    def group(self, path: str) -> Any:
        return self.arrays.get(path)

    def dataset(self, group_path: str, group: Any, index: int) -> Any:
        return group[index] if index < len(group) else None


_NOT_A_GROUP = object()


def _stage(model: Any, groups: Any, skip_mismatch: bool, source: str) -> list[tuple[Any, np.ndarray]]:
    """(variable, value) for every variable the file sets: each dataset located and
    checked against its variable from the metadata first, then all of them read."""
    errors: list[str] = []
    planned: list[tuple[Any, Any]] = []

    def visit(path: str, obj: Any) -> None:
        variables = _own_variables(obj)
        group_path = f"{path}/vars" if path else "vars"
        group = groups.group(group_path)
        if group is None and (_is_optimizer(obj) or not variables):
            return  # a file saved before compile holds no optimizer state
        if group is None or group is _NOT_A_GROUP:
            errors.append(f"missing group {group_path!r} for {_object_name(obj)!r}")
            return
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
            dataset_path = f"{group_path}/{i}"
            dataset = groups.dataset(group_path, group, i)
            if dataset is None:
                errors.append(f"{dataset_path}: missing dataset for the variable {var.name!r}")
                continue
            shape, dtype = dataset.shape, dataset.dtype
            if shape != tuple(var.shape) or not np.can_cast(dtype, var.dtype, "same_kind"):
                if not skip_mismatch:
                    errors.append(
                        f"{dataset_path}: the file holds shape {shape} ({dtype}), the variable {var.name!r} has "
                        f"shape {tuple(var.shape)} ({var.dtype})"
                    )
                continue
            planned.append((var, dataset))

    _walk(model, "", set(), visit)
    if errors and not skip_mismatch:
        raise SavedFileError(f"A weights file does not match the model ({source}):\n" + "\n".join(errors))
    return [(var, np.asarray(dataset[()])) for var, dataset in planned]


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


# ---------------------------------------------------------------- .keras archives

_MIB, _GIB = 1 << 20, 1 << 30


@dataclass(frozen=True)
class FileLimits:
    """The most ``load_model`` accepts from a ``.keras`` zip: each member's uncompressed
    size is checked from the zip's directory before anything is decompressed, and again
    while the member is read (a directory may lie); so is the number of members."""

    config_bytes: int = 16 * _MIB  # config.json: the largest Keras configs are a few MB; JSON parses to ~20x
    metadata_bytes: int = 1 * _MIB  # metadata.json: about 100 bytes
    weights_bytes: int = 8 * _GIB  # model.weights.h5: the variables and the optimizer's
    other_member_bytes: int = 64 * _MIB  # assets and anything else (never read)
    members: int = 1000  # Keras writes 3, plus a layer's assets


DEFAULT_FILE_LIMITS = FileLimits()
_file_limits = DEFAULT_FILE_LIMITS
_MEMBER_LIMITS = {"config.json": "config_bytes", "metadata.json": "metadata_bytes", "model.weights.h5": "weights_bytes"}
_COPY_CHUNK = _MIB


def file_limits() -> FileLimits:
    """The limits ``load_model`` uses when it is given none."""
    return _file_limits


def set_file_limits(limits: FileLimits | None = None, **changes: int) -> FileLimits:
    """Sets the limits ``load_model`` uses when it is given none: ``limits``, or the
    current ones with ``changes`` (``set_file_limits(weights_bytes=32 * 2**30)``);
    ``set_file_limits(DEFAULT_FILE_LIMITS)`` restores the defaults. Returns the limits
    it replaced."""
    global _file_limits
    previous = _file_limits
    _file_limits = dataclasses.replace(limits or _file_limits, **changes)
    return previous


def _member_limit(name: str, limits: FileLimits) -> tuple[str, int]:
    field = _MEMBER_LIMITS.get(name, "other_member_bytes")
    return field, getattr(limits, field)


def _over_limit(filepath: str, name: str, size: str, field: str, limit: int) -> SavedFileError:
    return SavedFileError(
        f"{filepath}: the member {name!r} {size}, over the limit of {limit} bytes (FileLimits.{field}; raise it "
        f"with load_model(..., limits=FileLimits({field}=...)) or saving.set_file_limits({field}=...) if you trust "
        "the file)"
    )


def _open_archive(filepath: str, limits: FileLimits) -> zipfile.ZipFile:
    """The zip, once its directory is within the limits: the number of members, each
    member's declared size, no name twice."""
    try:
        archive = zipfile.ZipFile(filepath, "r")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SavedFileError(f"{filepath}: not a readable zip archive ({exc})") from exc
    try:
        members = archive.infolist()
        if len(members) > limits.members:
            raise SavedFileError(
                f"{filepath}: {len(members)} members, over the limit of {limits.members} (FileLimits.members)"
            )
        seen: set[str] = set()
        for info in members:
            if info.filename in seen:
                raise SavedFileError(f"{filepath}: the member {info.filename!r} appears twice")
            seen.add(info.filename)
            field, limit = _member_limit(info.filename, limits)
            if info.file_size > limit:
                raise _over_limit(filepath, info.filename, f"declares {info.file_size} bytes", field, limit)
    except BaseException:
        archive.close()
        raise
    return archive


def _copy_member(archive: zipfile.ZipFile, name: str, limits: FileLimits, sink: Any, filepath: str) -> None:
    """Decompresses a member into ``sink`` a chunk at a time, stopping as soon as more
    than its declared size or its limit comes out."""
    info = archive.getinfo(name)
    field, limit = _member_limit(name, limits)
    written = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise _over_limit(filepath, name, f"inflates past {limit} bytes", field, limit)
                if written > info.file_size:
                    raise SavedFileError(f"{filepath}: the member {name!r} inflates past its declared size")
                sink.write(chunk)
    except SavedFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise SavedFileError(f"{filepath}: the member {name!r} is damaged ({exc})") from exc


def _read_config(archive: zipfile.ZipFile, limits: FileLimits, filepath: str) -> Any:
    if "config.json" not in archive.NameToInfo:
        raise SavedFileError(f"{filepath}: the archive holds no config.json")
    buffer = io.BytesIO()
    _copy_member(archive, "config.json", limits, buffer, filepath)
    try:
        return json.loads(buffer.getvalue())
    except (ValueError, RecursionError) as exc:
        raise SavedFileError(f"{filepath}: config.json is not valid JSON ({exc})") from None


@contextlib.contextmanager
def _weights_member(archive: zipfile.ZipFile, limits: FileLimits, filepath: str) -> Iterator[Any]:
    """model.weights.h5 as a file h5py reads: a stored member in place (it cannot yield
    more than its declared size, which is within the limit), a compressed one copied to
    a temporary file under the limit first (h5py seeks, and seeking back in a compressed
    stream decompresses it again from the start)."""
    info = archive.getinfo("model.weights.h5")
    if info.compress_type == zipfile.ZIP_STORED:
        with archive.open(info) as stream:
            yield stream
        return
    with tempfile.TemporaryFile() as spool:
        _copy_member(archive, "model.weights.h5", limits, spool, filepath)
        spool.seek(0)
        yield spool


def load_model(
    filepath: str,
    custom_objects: dict | None = None,
    compile: bool = True,
    safe_mode: bool = True,
    *,
    limits: FileLimits | None = None,
) -> Any:
    """A model from a ``.keras`` file (this facade's or real Keras'): the Sequential or
    functional graph rebuilt from config.json with the built-in layers, compiled from its
    compile_config (compile=True), then the weights (and optimizer state) loaded. No code
    from the file runs: Lambda layers need safe_mode=False, custom classes
    ``custom_objects``. A file that is malformed, names a class or module the loader
    does not know, or exceeds ``limits`` (default: ``file_limits()``) raises
    SavedFileError (UnknownObjectError for unknown names) naming the member, the config
    position or the dataset at fault."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".weights.h5"):
        raise ValueError("A .weights.h5 file holds weights only: build the model, then call model.load_weights().")
    if not filepath.endswith(".keras") or not zipfile.is_zipfile(filepath):
        raise ValueError(f"File format not supported: filepath={filepath}. Keras 3 only supports `.keras` files.")
    limits = limits or _file_limits
    with _open_archive(filepath, limits) as archive:
        config = _read_config(archive, limits, filepath)
        compile_config = config.get("compile_config") if isinstance(config, dict) else None
        arguments = compile_arguments(compile_config, custom_objects) if compile and compile_config else None
        model = model_from_config(config, custom_objects, safe_mode)
        if arguments:
            try:
                model.compile(**arguments)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise SavedFileError(f"config.json, at compile_config: {type(exc).__name__}: {exc}") from exc
        if "model.weights.h5" in archive.NameToInfo:
            with _weights_member(archive, limits, filepath) as weights:
                _read_h5(model, weights, False, f"{filepath}: model.weights.h5")
    return model
