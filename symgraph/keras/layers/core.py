"""Core layers: InputLayer, Dense, Activation, Flatten, Reshape, Permute, Dropout,
Embedding, Lambda (Keras 3's definitions and weight layouts)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.graph.core import Tensor
from symgraph.keras import activations, backend, initializers, regularizers
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.keras_tensor import KerasTensor, Node, static_shape
from symgraph.keras.layers.layer import (
    KERNEL_LAYER_LEGACY_KEYWORDS,
    Layer,
    pop_legacy_keywords,
    refuse_unsupported,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
    warn_legacy,
)

# Keras' quantized layers (int8, float8, int4 kernels) are not implemented.
_NO_QUANTIZATION = "symgraph does not quantize layers (no int8/float8/int4 kernels)"


class InputLayer(Layer):
    """The layer behind ``keras.Input``: it owns the placeholder the model's inputs are
    inferred from, and does nothing when called."""

    def __init__(
        self,
        shape: tuple | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        batch_shape: tuple | None = None,
        input_tensor: Any = None,
        name: str | None = None,
        input_shape: tuple | None = None,
        batch_input_shape: tuple | None = None,
        ragged: bool | None = None,
        optional: bool = False,
        **kwargs: Any,
    ):
        refuse_unsupported("InputLayer", "sparse", bool(sparse), False, "symgraph tensors are dense")
        refuse_unsupported("InputLayer", "ragged", bool(ragged), False, "symgraph tensors are dense, not ragged")
        refuse_unsupported("InputLayer", "optional", optional, False, "every model input must be given")
        if input_shape is not None and shape is None:
            shape = input_shape
        if batch_input_shape is not None and batch_shape is None:
            batch_shape = batch_input_shape
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument.")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self._batch_input_shape = self.batch_shape
        placeholder = sg.placeholder(self.batch_shape, self.dtype, name=self.name)
        self.built = True
        self.output_tensor = KerasTensor(placeholder, (self, 0, 0), name=self.name)
        self._inbound_nodes.append(Node(self, (), {}, self.output_tensor))

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict:
        return {
            "batch_shape": self.batch_shape,
            "dtype": self.dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": False,
        }


def Input(  # noqa: N802 (Keras' spelling)
    shape: tuple | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    batch_shape: tuple | None = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> KerasTensor:
    """A symbolic input of a functional model: ``shape`` excludes the batch axis."""
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        optional=optional,
    )
    return layer.output_tensor


class Dense(Layer):
    """y = activation(x @ kernel + bias); kernel (in, units), bias (units,)."""

    def __init__(
        self,
        units: int | None = None,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ):
        legacy = pop_legacy_keywords(
            kwargs,
            {"output_dim": "units", **KERNEL_LAYER_LEGACY_KEYWORDS},
            "Dense",
        )
        refuse_unsupported("Dense", "quantization_config", quantization_config, None, _NO_QUANTIZATION)
        units = legacy.get("units", units)
        kernel_initializer = legacy.get("kernel_initializer", kernel_initializer)
        kernel_regularizer = legacy.get("kernel_regularizer", kernel_regularizer)
        bias_regularizer = legacy.get("bias_regularizer", bias_regularizer)
        use_bias = legacy.get("use_bias", use_bias)
        if units is None:
            raise TypeError("Dense() missing 1 required positional argument: 'units'")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. Received: units={units}"
            )
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer {self.name}: the last axis of its input must be known, got shape {input_shape}")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs if inputs.dtype == self.kernel.dtype else sg.cast(inputs, self.kernel.dtype)
        y = sg.matmul(x, self.kernel) if x.ndim == 2 else sg.tensordot(x, self.kernel, axes=1)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=serialize_initializer(self.kernel_initializer),
            bias_initializer=serialize_initializer(self.bias_initializer),
            kernel_regularizer=serialize_regularizer(self.kernel_regularizer),
            bias_regularizer=serialize_regularizer(self.bias_regularizer),
            kernel_constraint=serialize_constraint(self.kernel_constraint),
            bias_constraint=serialize_constraint(self.bias_constraint),
            quantization_config=None,
        )
        return config


class Activation(Layer):
    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    def __init__(
        self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs: Tensor) -> Tensor:
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class Softmax(Layer):
    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: Tensor) -> Tensor:
        return sg.nn.softmax(inputs, axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class LeakyReLU(Layer):
    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, inputs: Tensor) -> Tensor:
        return sg.nn.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


def _flatten_rest(x: Tensor) -> Tensor:
    rest = x.shape[1:]
    if all(isinstance(d, int) for d in rest):
        return sg.reshape(x, (x.shape[0], math.prod(rest)))
    return sg.reshape(x, (x.shape[0], -1))


class Flatten(Layer):
    """(batch, ...) -> (batch, prod(...)); channels_first input is moved to channels_last
    first, so the flattened order matches a channels_last model."""

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs
        if x.ndim == 1:
            return sg.expand_dims(x, 1)
        if self.data_format == "channels_first" and x.ndim > 2:
            x = sg.transpose(x, (0, *range(2, x.ndim), 1))
        return _flatten_rest(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry may be -1."""

    def __init__(self, target_shape: tuple, **kwargs: Any):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs: Tensor) -> Tensor:
        target = list(self.target_shape)
        if -1 in target:
            rest = inputs.shape[1:]
            if not all(isinstance(d, int) for d in rest):
                return sg.reshape(inputs, (inputs.shape[0], *target))
            known = math.prod(d for d in target if d != -1)
            total = math.prod(rest)
            if known == 0 or total % known:
                raise ValueError(
                    f"Layer {self.name}: the total size of the input {static_shape(inputs)} cannot be "
                    f"reshaped to {self.target_shape}"
                )
            target[target.index(-1)] = total // known
        elif all(isinstance(d, int) for d in inputs.shape[1:]) and math.prod(inputs.shape[1:]) != math.prod(target):
            raise ValueError(
                f"Layer {self.name}: the total size of the input {static_shape(inputs)} "
                f"does not match target_shape {self.target_shape}"
            )
        return sg.reshape(inputs, (inputs.shape[0], *target))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is 1-based (``Permute((2, 1))``)."""

    def __init__(self, dims: tuple, **kwargs: Any):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. Received: dims={dims}")

    def call(self, inputs: Tensor) -> Tensor:
        return sg.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, inputs: Tensor) -> Tensor:
        return sg.repeat(sg.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Dropout(Layer):
    """Inverted dropout: while training, each value is zeroed with probability ``rate``
    and the kept ones scaled by 1/(1-rate); the identity at inference."""

    def __init__(
        self, rate: float | None = None, noise_shape: tuple | None = None, seed: int | None = None, **kwargs: Any
    ):
        if "p" in kwargs:
            warn_legacy("Dropout(p=...)", "Dropout(rate=...)")
            rate = kwargs.pop("p")
        if rate is None:
            raise TypeError("Dropout.__init__() missing 1 required positional argument: 'rate'")
        super().__init__(**kwargs)
        self.supports_masking = True
        if not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                f"Received: rate={rate}"
            )
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0:
            return inputs
        if not hasattr(sg.nn, "dropout"):
            raise UnsupportedError(f"Layer {self.name}: dropout needs sg.nn.dropout, not available in this build")
        noise_shape = None
        if self.noise_shape is not None:
            noise_shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        return sg.nn.dropout(inputs, self.rate, training=True, noise_shape=noise_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Embedding(Layer):
    """Rows of an (input_dim, output_dim) table picked by integer ids."""

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        quantization_config: Any = None,
        **kwargs: Any,
    ):
        refuse_unsupported("Embedding", "quantization_config", quantization_config, None, _NO_QUANTIZATION)
        if "input_length" in kwargs:
            warn_legacy("Embedding(input_length=...)", "keras.Input(shape=(length,))")
            kwargs.pop("input_length")
        if "init" in kwargs:
            warn_legacy("init=", "embeddings_initializer=")
            embeddings_initializer = kwargs.pop("init")
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = mask_zero

    def build(self, input_shape: tuple | None = None) -> None:
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
        )
        self.built = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """mask_zero=True: id 0 is padding, masked out of the layers that read masks (RNNs)."""
        if not self.mask_zero:
            return None
        return sg.not_equal(inputs, 0)

    def call(self, inputs: Tensor) -> Tensor:
        ids = inputs if inputs.dtype.kind in "iu" else sg.cast(inputs, "int32")
        if hasattr(sg.nn, "embedding"):
            return sg.nn.embedding(ids, self.embeddings)
        return sg.take(self.embeddings, ids, axis=0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
            "embeddings_regularizer": serialize_regularizer(self.embeddings_regularizer),
            "activity_regularizer": serialize_regularizer(self.activity_regularizer),
            "embeddings_constraint": serialize_constraint(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        }


class Lambda(Layer):
    """A Python function of the inputs as a layer (built in code; never loaded from files)."""

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs: Any) -> Any:
        return self.function(inputs, **self.arguments)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "function": getattr(self.function, "__name__", "lambda"),
            "arguments": self.arguments,
        }


def numpy_dtype(x: Any) -> np.dtype:
    return np.asarray(x).dtype
