"""``keras.Model``: a layer with compile/fit/evaluate/predict.

``Model(inputs, outputs)`` builds a functional model (``Functional``); a subclass with its
own ``call(self, x, training=None)`` is a subclassed model. The training machinery lives
in ``symgraph.keras.trainer`` (``Trainer``): one compiled symgraph function per model for
the training step (forward, loss, gradients, optimizer, metric and batch-norm updates),
one for the evaluation step and one for inference, each cached and rebuilt only when the
compile settings, the trainable flags or the data's signature change.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.export import is_valid_name
from symgraph.keras import naming
from symgraph.keras.layers.call_context import graph_scope
from symgraph.keras.layers.layer import Layer
from symgraph.keras.trainer import Trainer


class Model(Trainer, Layer):
    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        functional_args = args or any(k in kwargs for k in ("inputs", "outputs", "input", "output"))
        if cls is Model and functional_args:
            # Cycle: functional.py defines Functional as a subclass of this Model.
            from symgraph.keras.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        if args or kwargs:
            raise TypeError(f"Unrecognized arguments passed to Model: {args} {kwargs}")
        Layer.__init__(
            self,
            name=name or naming.unique_name(naming.to_snake_case(type(self).__name__)),
            trainable=trainable,
            dtype=dtype,
        )
        Trainer.__init__(self)
        object.__setattr__(self, "_building_in_call", False)
        object.__setattr__(self, "_deferred_weights", None)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    # -- building
    def build(self, input_shape: Any = None) -> None:
        """Creates the weights of a subclassed model before it sees data, as tf.keras 2
        did: ``call`` is traced once on a symbolic input of ``input_shape`` (a shape
        tuple, batch None; or a list or dict of them for several inputs), which builds
        every sublayer it calls, so ``summary()`` and ``count_params()`` show the real
        counts. Keras 3 only marks the model built here (with a warning) and leaves its
        layers unbuilt until the first call. A ``load_weights`` made before the build is
        applied now."""
        if getattr(self, "_building_in_call", False):  # the first call builds the layers itself, on its real inputs
            self.built = True
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        shapes = _as_shapes(input_shape)
        if not self.built or any(not layer.built for layer in self._layers):
            self._build_by_tracing(shapes)
        self._build_input_shape = shapes
        self.built = True
        self._restore_deferred_weights()

    def _build_by_tracing(self, shapes: Any) -> None:
        placeholders = _placeholders(shapes, self.dtype)
        was_built = self.built
        self.built = True  # the traced call must not come back to build
        try:
            with graph_scope(False, collect=False):
                Layer._graph_call(self, (placeholders,), {})
        except Exception as exc:
            self.built = was_built
            raise ValueError(
                f"Model {self.name!r}: build(input_shape={shapes}) traces `call` on a symbolic input of that shape "
                f"to create the weights, and the call failed ({type(exc).__name__}: {exc}); build the model by "
                "calling it on a batch of data instead"
            ) from exc

    def _maybe_build(self, inputs: Any) -> None:
        object.__setattr__(self, "_building_in_call", True)
        try:
            super()._maybe_build(inputs)
        finally:
            object.__setattr__(self, "_building_in_call", False)

    def _graph_call(self, args: tuple, kwargs: dict) -> Any:
        outputs = super()._graph_call(args, kwargs)
        if getattr(self, "_deferred_weights", None) is not None and self.built:
            self._restore_deferred_weights()  # the first call built the layers: the loaded values go in now
        return outputs

    def _restore_deferred_weights(self) -> None:
        if getattr(self, "_deferred_weights", None) is None:
            return
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import apply_deferred_weights

        apply_deferred_weights(self)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    def summary(
        self,
        line_length: int | None = None,
        positions: list | None = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        # Cycle: summary.py imports models.functional, which subclasses this Model.
        from symgraph.keras.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, **kwargs: Any) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def save(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        # Cycle: saving.py imports models.functional and models.sequential (subclasses of Model).
        from symgraph.keras.saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def export(
        self,
        filepath: str | os.PathLike[str],
        format: str = "tf_saved_model",
        verbose: bool | None = None,
        input_signature: Any = None,
        **kwargs: Any,
    ) -> Any:
        """The model's inference step (what ``predict`` runs on each batch) written out to
        run without Python: ``format="c"`` writes C, a static library and a command with
        a Makefile into the directory ``filepath`` (``Function.export_c``; keywords
        ``name``, ``weights="embed"|"file"``, ``overwrite``), ``format="onnx"`` an ONNX
        file (symgraph.onnx). Keras 3's default, ``"tf_saved_model"``, and its other
        formats need TensorFlow, OpenVINO or PyTorch and are refused."""
        if format == "onnx":
            # optional extra (`pip install symgraph[onnx]`): imported only when asked for
            from symgraph.onnx import export_model

            if verbose is not None:
                kwargs["verbose"] = verbose
            if input_signature is not None:
                kwargs["input_signature"] = input_signature
            return export_model(self, filepath, **kwargs)
        if format in _KERAS_ONLY_EXPORT_FORMATS:
            raise UnsupportedError(
                f"model.export: format={format!r} is a TensorFlow/OpenVINO/PyTorch artifact, which symgraph does not "
                f"write; the formats symgraph writes are {list(EXPORT_FORMATS)}: 'c' (C source, a static library and "
                "a command built with make, no Python needed) and 'onnx' (for onnxruntime and other runtimes)"
            )
        if format != "c":
            raise ValueError(f"Unrecognized format={format}. Supported formats are: {list(EXPORT_FORMATS)}.")
        unknown = set(kwargs) - {"name", "weights", "overwrite"}
        if unknown:
            raise TypeError(
                f"model.export(format='c') got unexpected keyword arguments {sorted(unknown)} "
                "(it takes name, weights and overwrite)"
            )
        step = self._step("predict", _example_inputs(self, input_signature), None)
        name = kwargs.get("name")
        if name is None:
            name = self.name if is_valid_name(self.name) else "model"
        path = step.export_c(
            filepath, name=name, weights=kwargs.get("weights", "embed"), overwrite=kwargs.get("overwrite", False)
        )
        if verbose:
            print(f"Saved the model {self.name!r} as C in {path} (build it with `make -C {path}`)")
        return path

    def to_json(self, **kwargs: Any) -> str:
        """The model's config as Keras' JSON (``json.dumps`` keywords pass through);
        Sequential and functional models only, as their graph is what the config holds."""
        # Cycle: model_config.py imports models.functional and models.sequential.
        from symgraph.keras.model_config import model_to_config

        if not hasattr(self, "_seq_layers") and not hasattr(self, "_nodes"):
            raise NotImplementedError(
                f"to_json() describes Sequential and functional models; {type(self).__name__} is a subclassed "
                "model, whose code is its description"
            )
        return json.dumps(model_to_config(self), **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)


def _placeholders(shapes: Any, dtype: str) -> Any:
    """A symbolic input for each shape of ``_as_shapes``' structure."""
    if isinstance(shapes, tuple):
        return sg.placeholder(shapes, dtype, name="build_input")
    if isinstance(shapes, dict):
        return {key: _placeholders(value, dtype) for key, value in shapes.items()}
    return [_placeholders(value, dtype) for value in shapes]


def _as_shapes(input_shape: Any) -> Any:
    """``build``'s argument as shape tuples: one shape, or a list, tuple or dict of them."""
    if _is_shape(input_shape):
        return tuple(input_shape)
    if isinstance(input_shape, dict):
        return {key: _as_shapes(value) for key, value in input_shape.items()}
    if isinstance(input_shape, (list, tuple)) and input_shape:
        return [_as_shapes(value) for value in input_shape]
    raise ValueError(
        f"`input_shape` must be a shape tuple (e.g. (None, 4)), or a list or dict of them; received {input_shape!r}"
    )


EXPORT_FORMATS = ("c", "onnx")
_KERAS_ONLY_EXPORT_FORMATS = ("tf_saved_model", "openvino", "litert", "torch")


def _example_inputs(model: Model, input_signature: Any) -> Any:
    """Zero-row arrays of the model's inputs (dtype, sizes past the batch) for building its
    inference step: from the declared inputs (their unknown sizes stay symbolic in the
    step), else ``input_signature`` (objects with ``shape`` and ``dtype``, or shape
    tuples), else the shape the model was built for."""
    declared = getattr(model, "inputs", None) or []
    if declared and all(hasattr(kt, "shape") for kt in declared):
        specs = [(tuple(kt.shape), kt.dtype) for kt in declared]
    else:
        given = input_signature if input_signature is not None else getattr(model, "_build_input_shape", None)
        if given is None:
            raise ValueError(
                f"model.export: the model {model.name!r} has no known input shape yet: call it on data, build it "
                "(model.build(input_shape)) or pass input_signature"
            )
        items = [given] if _is_shape(given) or hasattr(given, "shape") else list(given)
        specs = []
        for item in items:
            shape = tuple(item.shape) if hasattr(item, "shape") else tuple(item)
            dtype = getattr(item, "dtype", None) or model.dtype or "float32"
            if any(d is None for d in shape[1:]):
                raise UnsupportedError(
                    f"model.export: the input shape {shape} has an unknown size past the batch axis; a model without "
                    "declared inputs (keras.Input) exports with fixed sizes there: give them in input_signature"
                )
            specs.append((shape, dtype))
    arrays = [np.zeros((0, *(d if d is not None else 1 for d in shape[1:])), np.dtype(dtype)) for shape, dtype in specs]
    return arrays[0] if len(arrays) == 1 else arrays
