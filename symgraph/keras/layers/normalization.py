"""BatchNormalization and LayerNormalization, with Keras 3's weights and formulas."""

from __future__ import annotations

import warnings
from typing import Any

import symgraph as sg
from symgraph.errors import user_stacklevel
from symgraph.graph.core import Tensor
from symgraph.keras import initializers, regularizers
from symgraph.keras.layers.call_context import add_update
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.layer import (
    Layer,
    refuse_unsupported,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
)


def _moments(x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Mean and biased variance over ``axes`` (sg.nn.moments when the build has it)."""
    if hasattr(sg.nn, "moments"):
        return sg.nn.moments(x, axes)
    mean = sg.mean(x, axis=axes)
    return mean, sg.var(x, axis=axes)


def _broadcast(v: Tensor | None, ndim: int, axis: int) -> Tensor | None:
    if v is None:
        return None
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return sg.reshape(v, tuple(shape))


def _normalize(
    x: Tensor, mean: Tensor, var: Tensor, offset: Tensor | None, scale: Tensor | None, epsilon: float, axis: int
) -> Tensor:
    """(x - mean) / sqrt(var + epsilon) * scale + offset, statistics of shape (C,) along ``axis``."""
    if hasattr(sg.nn, "batch_norm"):
        return sg.nn.batch_norm(x, mean, var, offset, scale, epsilon=epsilon, axis=axis)
    inv = sg.rsqrt(var + epsilon)
    if scale is not None:
        inv = inv * scale
    y = (x - _broadcast(mean, x.ndim, axis)) * _broadcast(inv, x.ndim, axis)
    if offset is not None:
        y = y + _broadcast(offset, x.ndim, axis)
    return y


class BatchNormalization(Layer):
    """Training (and trainable): batch mean and biased variance over every axis but
    ``axis``; moving = moving * momentum + batch * (1 - momentum), written by the train
    step. Inference: the moving statistics. Weights: gamma, beta, moving_mean,
    moving_variance."""

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: dict | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ):
        if "mode" in kwargs:
            kwargs.pop("mode")
        refuse_unsupported("BatchNormalization", "renorm", renorm, False, "batch renormalization is not implemented")
        refuse_unsupported("BatchNormalization", "synchronized", synchronized, False, "symgraph trains on one device")
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        # written back as given (they only matter with renorm=True, refused above)
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, renorm_momentum

    def build(self, input_shape: tuple) -> None:
        axis = self.axis % len(input_shape)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"Layer {self.name}: axis {self.axis} of the input {input_shape} must be known")
        self._axis = axis
        self.gamma = (
            self.add_weight(
                shape=(channels,), name="gamma", initializer=self.gamma_initializer, regularizer=self.gamma_regularizer
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(
                shape=(channels,), name="beta", initializer=self.beta_initializer, regularizer=self.beta_regularizer
            )
            if self.center
            else None
        )
        self.moving_mean = self.add_weight(
            shape=(channels,), name="moving_mean", initializer=self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            shape=(channels,), name="moving_variance", initializer=self.moving_variance_initializer, trainable=False
        )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: channels})
        self.built = True

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        x = inputs if inputs.dtype == self.moving_mean.dtype else sg.cast(inputs, self.moving_mean.dtype)
        if training and self.trainable:
            reduce_axes = tuple(i for i in range(x.ndim) if i != self._axis)
            mean, var = _moments(x, reduce_axes)
            m = self.momentum
            add_update(self.moving_mean, self.moving_mean * m + mean * (1.0 - m))
            add_update(self.moving_variance, self.moving_variance * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        return _normalize(x, mean, var, self.beta, self.gamma, self.epsilon, self._axis)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "moving_mean_initializer": serialize_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": serialize_initializer(self.moving_variance_initializer),
            "beta_regularizer": serialize_regularizer(self.beta_regularizer),
            "gamma_regularizer": serialize_regularizer(self.gamma_regularizer),
            "beta_constraint": serialize_constraint(self.beta_constraint),
            "gamma_constraint": serialize_constraint(self.gamma_constraint),
            "synchronized": False,
            "renorm": False,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(Layer):
    """y = (x - mean) / sqrt(var + epsilon) * gamma + beta, statistics over ``axis``
    (the last by default) per sample. Weights: gamma, beta."""

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        if rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the input by "
                "the variance, not the root mean square. To correctly use RMS Normalization, please use "
                "`keras.layers.RMSNormalization` instead.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = center, scale, rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def build(self, input_shape: tuple) -> None:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        self._axes = tuple(sorted(a % len(input_shape) for a in axes))
        param_shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = (
            self.add_weight(
                name="gamma", shape=param_shape, initializer=self.gamma_initializer, regularizer=self.gamma_regularizer
            )
            if self.scale or self.rms_scaling
            else None
        )
        self.beta = (
            self.add_weight(
                name="beta", shape=param_shape, initializer=self.beta_initializer, regularizer=self.beta_regularizer
            )
            if self.center and not self.rms_scaling
            else None
        )
        self.built = True

    def _param(self, p: Tensor, ndim: int) -> Tensor:
        shape = [1] * ndim
        for a, d in zip(self._axes, p.shape):
            shape[a] = d
        return sg.reshape(p, tuple(shape))

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs if inputs.dtype.kind == "f" else sg.cast(inputs, "float32")
        if self.rms_scaling:
            # Keras 3.15's formula, quirk included: it divides by the variance about the
            # mean, not by the root mean square its name promises (Keras documents this and
            # deprecates the argument in favour of RMSNormalization); a model saved from
            # Keras must compute what it computed there.
            mean = sg.mean(x, axis=self._axes, keepdims=True)
            var = sg.mean(sg.square(x - mean), axis=self._axes, keepdims=True)
            y = x * sg.rsqrt(var + self.epsilon)
            return y * self._param(self.gamma, x.ndim) if self.gamma is not None else y
        mean = sg.mean(x, axis=self._axes, keepdims=True)
        var = sg.mean(sg.square(x - mean), axis=self._axes, keepdims=True)
        y = (x - mean) * sg.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self._param(self.gamma, x.ndim)
        if self.beta is not None:
            y = y + self._param(self.beta, x.ndim)
        return y

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "beta_regularizer": serialize_regularizer(self.beta_regularizer),
            "gamma_regularizer": serialize_regularizer(self.gamma_regularizer),
            "beta_constraint": serialize_constraint(self.beta_constraint),
            "gamma_constraint": serialize_constraint(self.gamma_constraint),
        }
