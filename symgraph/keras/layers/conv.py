"""Conv1D / Conv2D: kernel (k..., in // groups, filters) for either data format, bias
(filters,); output size "same" -> ceil(n / s), "valid" -> floor((n - k) / s) + 1
(with the dilated kernel size)."""

from __future__ import annotations

import warnings
from typing import Any

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras import activations, backend, initializers, regularizers
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.layer import (
    KERNEL_LAYER_LEGACY_KEYWORDS,
    Layer,
    pop_legacy_keywords,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
    warn_legacy,
)


def _tuple(value: Any, rank: int, what: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise ValueError(f"The `{what}` argument must be a tuple of {rank} integers. Received: {what}={value}")
    return value


class _Conv(Layer):
    rank = 2

    def __init__(
        self,
        filters: int | None = None,
        kernel_size: Any = None,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        legacy = pop_legacy_keywords(
            kwargs,
            {
                "nb_filter": "filters",
                "border_mode": "padding",
                "subsample": "strides",
                **KERNEL_LAYER_LEGACY_KEYWORDS,
                "subsample_length": "strides",
                "filter_length": "kernel_size",
            },
            type(self).__name__,
        )
        filters = legacy.get("filters", filters)
        padding = legacy.get("padding", padding)
        strides = legacy.get("strides", strides)
        kernel_initializer = legacy.get("kernel_initializer", kernel_initializer)
        kernel_regularizer = legacy.get("kernel_regularizer", kernel_regularizer)
        bias_regularizer = legacy.get("bias_regularizer", bias_regularizer)
        use_bias = legacy.get("use_bias", use_bias)
        kernel_size = legacy.get("kernel_size", kernel_size)
        if "nb_row" in kwargs or "nb_col" in kwargs:
            warn_legacy("Convolution2D(nb_filter, nb_row, nb_col)", "Conv2D(filters, kernel_size=(rows, cols))")
            kernel_size = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
        if "dim_ordering" in kwargs:
            ordering = kwargs.pop("dim_ordering")
            warn_legacy("dim_ordering=", "data_format=")
            data_format = {"th": "channels_first", "tf": "channels_last"}.get(ordering, data_format)
        if filters is None or kernel_size is None:
            raise TypeError(f"{type(self).__name__}() needs `filters` and `kernel_size`")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same") and not (self.rank == 1 and self.padding == "causal"):
            raise ValueError(f"Invalid padding: {padding}")
        self.data_format = backend.standardize_data_format(data_format)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate")
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError(f"Layer {self.name}: the channel axis of the input {input_shape} must be known")
        if channels % self.groups or self.filters % self.groups:
            raise ValueError(
                f"Layer {self.name}: input channels ({channels}) and filters ({self.filters}) must be divisible "
                f"by groups ({self.groups})"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis(): channels})
        self.built = True

    def _convolve(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs if inputs.dtype == self.kernel.dtype else sg.cast(inputs, self.kernel.dtype)
        y = self._convolve(x)
        if self.bias is not None:
            if self.data_format == "channels_last":
                y = y + self.bias
            else:
                y = y + sg.reshape(self.bias, (1, self.filters) + (1,) * self.rank)
        return self.activation(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "kernel_regularizer": serialize_regularizer(self.kernel_regularizer),
            "bias_regularizer": serialize_regularizer(self.bias_regularizer),
            "activity_regularizer": serialize_regularizer(self.activity_regularizer),
            "kernel_constraint": serialize_constraint(self.kernel_constraint),
            "bias_constraint": serialize_constraint(self.bias_constraint),
        }


class Conv2D(_Conv):
    rank = 2

    def __init__(self, filters: int | None = None, kernel_size: Any = None, *args: Any, **kwargs: Any):
        # Only a positional third int is the Keras 1 pitfall; strides=2 by keyword is plain Keras 3.
        positional = len(args) == 1
        strides = args[0] if args else kwargs.pop("strides", 1)
        args = args[1:]
        if positional and isinstance(strides, int) and strides > 1 and isinstance(kernel_size, int):
            warnings.warn(
                f"Conv2D({filters}, {kernel_size}, {strides}): the third positional argument is `strides` in "
                f"Keras 2 and 3 (Keras 1's Convolution2D(nb_filter, nb_row, nb_col) read it as a kernel size). "
                f"Using strides={strides}; for a {kernel_size}x{strides} kernel write kernel_size=({kernel_size}, "
                f"{strides}).",
                UserWarning,
                stacklevel=2,
            )
        super().__init__(filters, kernel_size, strides, *args, **kwargs)

    def _convolve(self, x: Tensor) -> Tensor:
        fmt = "NHWC" if self.data_format == "channels_last" else "NCHW"
        return sg.nn.conv2d(
            x,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            groups=self.groups,
            data_format=fmt,
        )


class Conv1D(_Conv):
    rank = 1

    def _convolve(self, x: Tensor) -> Tensor:
        fmt = "NWC" if self.data_format == "channels_last" else "NCW"
        return sg.nn.conv1d(
            x,
            self.kernel,
            strides=self.strides[0],
            padding=self.padding,
            dilation=self.dilation_rate[0],
            groups=self.groups,
            data_format=fmt,
        )


class Convolution2D(Conv2D):
    """Keras 1's name: ``Convolution2D(nb_filter, nb_row, nb_col, ...)`` reads the two
    ints after the filters as the kernel size (with a warning naming Conv2D)."""

    def __init__(self, filters: int | None = None, *args: Any, **kwargs: Any):
        if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], int):
            warn_legacy("Convolution2D(nb_filter, nb_row, nb_col)", "Conv2D(filters, kernel_size=(rows, cols))")
            kwargs["kernel_size"] = (args[0], args[1])
            args = args[2:]
        super().__init__(filters, *args, **kwargs)


class Convolution1D(Conv1D):
    pass
