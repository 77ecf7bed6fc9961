"""Bidirectional and TimeDistributed (layer wrappers), and the small Rescaling and
Masking layers tutorials put in front of models.

Bidirectional(layer, merge_mode="concat"): a forward copy and a backward copy (the
same config with go_backwards flipped) of an RNN, named forward_<name> and
backward_<name>; the backward sequence output is flipped back along time before the
merge (concat, sum, mul, ave, or None for a list). Weights: forward's then backward's.
TimeDistributed(layer): the layer applied to every time step, as one call on the
(batch * time, ...) reshaped input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras.layers.layer import Layer


class Bidirectional(Layer):
    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Layer | None = None,
        **kwargs: Any,
    ):
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        super().__init__(**kwargs)
        forward_config = layer.get_config()
        forward_config["name"] = f"forward_{layer.name}"
        self.forward_layer = type(layer).from_config(forward_config)
        if backward_layer is None:
            backward_config = layer.get_config()
            backward_config["name"] = f"backward_{layer.name}"
            backward_config["go_backwards"] = not backward_config.get("go_backwards", False)
            backward_layer = type(layer).from_config(backward_config)
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = getattr(layer, "return_sequences", False)
        # Keras' rule: returning sequences, masked steps come out as zeros from both
        # directions (the backward sequence is flipped back, so its carried-over outputs
        # would land on the wrong steps), whatever the wrapped layer's own setting.
        for inner in (self.forward_layer, self.backward_layer):
            if getattr(inner, "zero_output_for_mask", None) is not None:
                inner.zero_output_for_mask = getattr(inner, "return_sequences", False)
        self.return_state = getattr(layer, "return_state", False)
        self.supports_masking = True
        self._initial_weights = weights

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Tensor, training: bool | None = None, mask: Any = None, initial_state: Any = None) -> Any:
        kwargs: dict[str, Any] = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, **kwargs)
        states: list = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = sg.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output: Any = sg.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2.0
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return ([*output] if isinstance(output, list) else [output]) + states
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask if self.return_sequences and not self.return_state else None

    def get_config(self) -> dict:
        # Cycle: model_config.py imports the layers package (which imports this module).
        from symgraph.keras.model_config import layer_to_config

        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": layer_to_config(self.forward_layer),
            "backward_layer": layer_to_config(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict) -> Bidirectional:
        # Cycle: model_config.py imports the layers package (which imports this module).
        from symgraph.keras.model_config import layer_from_config

        config = dict(config)
        layer = layer_from_config(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        backward_layer = layer_from_config(backward) if isinstance(backward, dict) else None
        if isinstance(layer.name, str) and layer.name.startswith("forward_"):
            layer.name = layer.name[len("forward_") :]
        return cls(layer, backward_layer=backward_layer, **config)


class TimeDistributed(Layer):
    """``layer`` on every time step: (batch, time, ...) -> (batch * time, ...) -> layer ->
    (batch, time, ...)."""

    def __init__(self, layer: Layer, **kwargs: Any):
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Tensor, training: bool | None = None, mask: Any = None) -> Tensor:
        batch, steps = inputs.shape[0], inputs.shape[1]
        inner = sg.reshape(inputs, (-1, *inputs.shape[2:]))
        out = self.layer(inner, training=training)
        return sg.reshape(out, (batch, steps, *out.shape[1:]))

    def get_config(self) -> dict:
        # Cycle: model_config.py imports the layers package (which imports this module).
        from symgraph.keras.model_config import layer_to_config

        return {**super().get_config(), "layer": layer_to_config(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> TimeDistributed:
        # Cycle: model_config.py imports the layers package (which imports this module).
        from symgraph.keras.model_config import layer_from_config

        config = dict(config)
        return cls(layer_from_config(config.pop("layer")), **config)


class Rescaling(Layer):
    """``x * scale + offset`` (the input cast to float32 first)."""

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs if inputs.dtype == np.float32 else sg.cast(inputs, "float32")
        return x * np.float32(self.scale) + np.float32(self.offset)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Masking(Layer):
    """Time steps whose features all equal ``mask_value`` are masked (and zeroed)."""

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return sg.any(sg.not_equal(inputs, np.float32(self.mask_value)), axis=-1)

    def call(self, inputs: Tensor) -> Tensor:
        keep = sg.any(sg.not_equal(inputs, np.float32(self.mask_value)), axis=-1, keepdims=True)
        return inputs * sg.cast(keep, inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Bidirectional", "Masking", "Rescaling", "TimeDistributed"]
