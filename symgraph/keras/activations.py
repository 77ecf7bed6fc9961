"""``keras.activations``: the activation functions by name, each a function of a Tensor."""

from __future__ import annotations

from collections.abc import Callable

import symgraph as sg
from symgraph.graph.core import Tensor


def linear(x: Tensor) -> Tensor:
    """The identity."""
    return x


def relu(x: Tensor, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Tensor:
    """max(x, 0), optionally leaky below ``threshold`` and capped at ``max_value`` (Keras' relu)."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return sg.nn.relu(x)
    shifted = x - threshold if threshold else x
    y = sg.where(x >= threshold, x, negative_slope * shifted) if negative_slope else sg.where(x >= threshold, x, 0.0)
    if max_value is not None:
        y = sg.minimum(y, max_value)
    return y


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6)."""
    return sg.clip(x, 0.0, 6.0)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return sg.nn.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return sg.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``."""
    return sg.nn.softmax(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return sg.nn.log_softmax(x, axis=axis)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return sg.nn.elu(x, alpha)


def selu(x: Tensor) -> Tensor:
    return sg.nn.selu(x)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return sg.nn.gelu(x, approximate=approximate)


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x))."""
    return sg.nn.softplus(x)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return sg.nn.softsign(x)


def swish(x: Tensor) -> Tensor:
    """x * sigmoid(x)."""
    return sg.nn.swish(x)


silu = swish


def hard_sigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6, Keras 3's definition."""
    return sg.clip(x / 6.0 + 0.5, 0.0, 1.0)


def hard_silu(x: Tensor) -> Tensor:
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    return sg.nn.leaky_relu(x, negative_slope)


def exponential(x: Tensor) -> Tensor:
    return sg.exp(x)


_BY_NAME: dict[str, Callable[..., Tensor]] = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "softplus": softplus,
    "softsign": softsign,
    "swish": swish,
    "silu": silu,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "leaky_relu": leaky_relu,
    "exponential": exponential,
}


def get(identifier: object) -> Callable[..., Tensor]:
    """An activation from its name, a callable (returned as is) or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier}")
        return fn
    if isinstance(identifier, dict) and "class_name" in identifier:
        return get(identifier.get("config", {}).get("name", identifier["class_name"]))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier}")


def serialize(activation: Callable[..., Tensor]) -> str | Callable[..., Tensor]:
    """The name under which ``get`` finds ``activation`` (or the callable itself)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", activation)
