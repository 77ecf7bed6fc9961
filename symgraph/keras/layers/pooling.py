"""Pooling layers: Max/Average 1D and 2D (strides default to the pool size; "same" average
pooling counts only the real values), and the global poolings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras import backend
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.layer import Layer, warn_legacy


def _int_pool(pool: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``pool`` of an integer ``x`` in ``x``'s dtype, as Keras' max pooling keeps it.
    symgraph's pooling ops compute in floats only: int8/uint8/int16 go through float32
    exactly, wider integers through float64 (exact up to 2**53)."""
    if x.dtype.kind not in "iu":
        return pool(x)
    wide = sg.cast(x, "float64" if x.dtype.itemsize >= 4 else "float32")
    return sg.cast(pool(wide), x.dtype)


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)  # type: ignore[return-value]


class _Pool2D(Layer):
    _op = "max_pool2d"

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        if "border_mode" in kwargs:
            warn_legacy("border_mode=", "padding=")
            padding = kwargs.pop("border_mode")
        if "dim_ordering" in kwargs:
            warn_legacy("dim_ordering=", "data_format=")
            data_format = {"th": "channels_first", "tf": "channels_last"}.get(kwargs.pop("dim_ordering"))
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = padding.lower()
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        fmt = "NHWC" if self.data_format == "channels_last" else "NCHW"

        def pool(x: Tensor) -> Tensor:
            return getattr(sg.nn, self._op)(x, self.pool_size, self.strides, self.padding, data_format=fmt)

        return _int_pool(pool, inputs) if self._op == "max_pool2d" else pool(inputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling2D(_Pool2D):
    _op = "max_pool2d"


class AveragePooling2D(_Pool2D):
    _op = "avg_pool2d"

    def __init__(
        self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None, **kwargs: Any
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _Pool1D(Layer):
    """1-D pooling as 2-D pooling over a height of 1."""

    _op = "max_pool2d"

    def __init__(
        self,
        pool_size: int = 2,
        strides: int | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        if "pool_length" in kwargs:
            warn_legacy("pool_length=", "pool_size=")
            pool_size = kwargs.pop("pool_length")
        super().__init__(**kwargs)
        self.pool_size = int(pool_size if isinstance(pool_size, int) else pool_size[0])
        self.strides = (
            int(strides if isinstance(strides, int) else strides[0]) if strides is not None else self.pool_size
        )
        self.padding = padding.lower()
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        # A unit spatial axis before the steps makes the 1-D pool a 2-D one.
        unit_axis, fmt = (1, "NHWC") if self.data_format == "channels_last" else (2, "NCHW")

        def pool(x: Tensor) -> Tensor:
            y = getattr(sg.nn, self._op)(
                sg.expand_dims(x, unit_axis), (1, self.pool_size), (1, self.strides), self.padding, data_format=fmt
            )
            return sg.squeeze(y, unit_axis)

        return _int_pool(pool, inputs) if self._op == "max_pool2d" else pool(inputs)

    def get_config(self) -> dict:
        # Keras writes the 1-D sizes as 1-tuples
        return {
            **super().get_config(),
            "pool_size": (self.pool_size,),
            "padding": self.padding,
            "strides": (self.strides,),
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pool1D):
    _op = "max_pool2d"


class AveragePooling1D(_Pool1D):
    _op = "avg_pool2d"


class _GlobalPool(Layer):
    _reduce = "mean"
    _rank = 2
    # The sg.nn op doing the whole pooling in one kernel, where there is one.
    _fused_op: str | None = None

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.keepdims = keepdims

    def call(self, inputs: Tensor) -> Tensor:
        fused = getattr(sg.nn, self._fused_op, None) if self._fused_op else None
        # (the fused ops compute in floats; sg.max keeps an integer input's dtype, as Keras)
        if fused is not None and not (self._reduce == "max" and inputs.dtype.kind in "iu"):
            fmt = "NHWC" if self.data_format == "channels_last" else "NCHW"
            return fused(inputs, data_format=fmt, keepdims=self.keepdims)
        if self.data_format == "channels_last":
            axes = tuple(range(1, inputs.ndim - 1))
        else:
            axes = tuple(range(2, inputs.ndim))
        fn = sg.mean if self._reduce == "mean" else sg.max
        return fn(inputs, axis=axes, keepdims=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    _reduce = "mean"
    _fused_op = "global_avg_pool2d"


class GlobalMaxPooling2D(_GlobalPool):
    _reduce = "max"
    _fused_op = "global_max_pool2d"


class GlobalAveragePooling1D(_GlobalPool):
    """The mean over the steps; with a (batch, steps) mask (Embedding(mask_zero=True),
    Masking) the mean of the unmasked steps only, Keras' rule (a row with every step
    masked gives 0/0, NaN, as in Keras). The output carries no mask."""

    _reduce = "mean"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        if mask is None:
            return super().call(inputs)
        steps_axis = 1 if self.data_format == "channels_last" else 2
        keep = sg.expand_dims(sg.cast(mask, "bool"), 2 if self.data_format == "channels_last" else 1)
        kept = sg.where(keep, inputs, sg.zeros_like(inputs))
        total = sg.sum(kept, axis=steps_axis, keepdims=self.keepdims)
        count_dtype = total.dtype if total.dtype.kind == "f" else "float32"
        return total / sg.sum(sg.cast(keep, count_dtype), axis=steps_axis, keepdims=self.keepdims)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


class GlobalMaxPooling1D(_GlobalPool):
    _reduce = "max"


MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D = MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
