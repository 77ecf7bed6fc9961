"""``Sequential``: a stack of layers, built as a functional graph once its input shape is
known (an ``Input`` first, ``input_shape``/``input_dim`` on the first layer, or the first
batch of data)."""

from __future__ import annotations

from typing import Any

from symgraph.keras import naming
from symgraph.keras.layers.call_context import name_scope
from symgraph.keras.layers.core import Input, InputLayer
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.layers.layer import Layer
from symgraph.keras.models.functional import Functional
from symgraph.keras.models.model import Model
from symgraph.keras.trainer import adjust_input_rank


class Sequential(Model):
    def __init__(self, layers: list | None = None, trainable: bool = True, name: str | None = None, **kwargs: Any):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Sequential: {kwargs}")
        super().__init__(name=name or naming.unique_name("sequential"), trainable=trainable)
        object.__setattr__(self, "_seq_layers", [])
        object.__setattr__(self, "_input_layer", None)
        object.__setattr__(self, "_functional", None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or an ``Input`` tensor, which sets the input shape)."""
        if isinstance(layer, KerasTensor):
            history_layer = layer._keras_history[0]
            if isinstance(history_layer, InputLayer):
                layer = history_layer
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Only instances of `keras.Layer` can be added to a Sequential model. Received: {layer} "
                f"(of type {type(layer)})"
            )
        if isinstance(layer, InputLayer):
            if self._seq_layers or self._input_layer is not None:
                raise ValueError("An InputLayer can only be added first to a Sequential model")
            object.__setattr__(self, "_input_layer", layer)
        else:
            if any(existing.name == layer.name for existing in self._seq_layers):
                raise ValueError(
                    f"All layers added to a Sequential model should have unique names. Name '{layer.name}' "
                    "is already the name of a layer in this model."
                )
            self._seq_layers.append(layer)
        layer._parent_models = [*getattr(layer, "_parent_models", []), self]
        object.__setattr__(self, "_functional", None)
        self.built = False
        self._invalidate_steps()
        if rebuild:
            self._maybe_rebuild()

    def pop(self) -> Layer:
        layer = self._seq_layers.pop()
        object.__setattr__(self, "_functional", None)
        self.built = False
        self._invalidate_steps()
        self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        if not self._seq_layers:  # Keras builds once there is a layer after the input
            return
        if self._input_layer is not None:
            self._build_graph(self._input_layer.batch_shape, self._input_layer.dtype)
        elif self._seq_layers and self._seq_layers[0]._batch_input_shape is not None:
            first = self._seq_layers[0]
            self._build_graph(first._batch_input_shape, first.dtype)

    def _build_graph(self, batch_shape: tuple, dtype: str = "float32") -> None:
        if self._input_layer is None:
            x = Input(batch_shape=batch_shape, dtype=dtype)
            object.__setattr__(self, "_input_layer", x._keras_history[0])
        x = self._input_layer.output_tensor
        inputs = x
        with name_scope(self.name):  # Keras builds a Sequential inside its name scope
            for layer in self._seq_layers:
                x = layer(x)
        functional = Functional.__new__(Functional)
        # Keras builds a Functional(inputs, outputs) here, which takes the next automatic
        # "functional" name; taking it too keeps later models' names equal to Keras'.
        Model.__init__(functional, name=naming.unique_name("functional"))
        functional._init_graph(inputs, x)
        object.__setattr__(self, "_functional", functional)
        self.inputs, self.outputs = functional.inputs, functional.outputs
        self.input_names, self.output_names = functional.input_names, functional.output_names
        self._build_input_shape = tuple(batch_shape)
        self.built = True
        self._restore_deferred_weights()

    def build(self, input_shape: Any = None) -> None:
        if self._functional is None:
            if input_shape is None:
                raise ValueError("You must provide an `input_shape` argument.")
            self._build_graph(tuple(input_shape))
        self.built = True

    def _build_from_data_shape(self, shape: tuple, dtype: str) -> None:
        if self._functional is None:
            self._build_graph((None, *shape[1:]), dtype)

    @property
    def _layers(self) -> list[Layer]:  # type: ignore[override]
        return list(getattr(self, "_seq_layers", []))

    @_layers.setter
    def _layers(self, value: list) -> None:
        pass

    @property
    def layers(self) -> list[Layer]:
        return list(self._seq_layers)

    @property
    def input_shape(self) -> Any:
        if self._functional is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined input shape yet")
        return self._functional.input_shape

    @property
    def output_shape(self) -> Any:
        if self._functional is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined output shape yet")
        return self._functional.output_shape

    @property
    def input(self) -> Any:
        return self._functional.input if self._functional is not None else None

    @property
    def output(self) -> Any:
        return self._functional.output if self._functional is not None else None

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        x = inputs
        if self._functional is not None and not isinstance(inputs, (list, tuple, dict)):
            x = adjust_input_rank([inputs], self._functional.inputs)[0]
        for layer in self._seq_layers:
            x = layer(x, training=training) if training is not None else layer(x)
        return x

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._seq_layers
            ],
        }
