"""``keras.activations``: the activation functions by name, each a function of a Tensor."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))."""
    return sg.maximum(x, 0.0) + sg.minimum(0.0, alpha * sg.expm1(x / alpha))


def glu(x: Tensor, axis: int = -1) -> Tensor:
    """a * sigmoid(b), ``x`` split in halves a, b along ``axis`` (its size must be even)."""
    size = x.shape[axis]
    if isinstance(size, int) and size % 2:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape={tuple(x.shape)} with axis={axis}")
    a, b = sg.split(x, 2, axis=axis)
    return a * sg.nn.sigmoid(b)


def hard_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """x where |x| > threshold, else 0."""
    return sg.where(sg.abs(x) > threshold, x, sg.zeros_like(x))


def hard_tanh(x: Tensor) -> Tensor:
    """clip(x, -1, 1)."""
    return sg.clip(x, -1.0, 1.0)


def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for large negative x."""
    return -sg.nn.softplus(-x)


def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x))."""
    return x * sg.tanh(sg.nn.softplus(x))


def soft_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """x - threshold above it, x + threshold below -threshold, 0 between."""
    zero = sg.zeros_like(x)
    return sg.where(x > threshold, x - threshold, sg.where(x < -threshold, x + threshold, zero))


def sparse_plus(x: Tensor) -> Tensor:
    """0 for x <= -1, (x + 1)**2 / 4 between, x for x >= 1."""
    zero = sg.zeros_like(x)
    return sg.where(x <= -1.0, zero, sg.where(x >= 1.0, x, sg.square(x + 1.0) / 4.0))


def sparse_sigmoid(x: Tensor) -> Tensor:
    """0 for x <= -1, (x + 1) / 2 between, 1 for x >= 1."""
    return sg.clip((x + 1.0) / 2.0, 0.0, 1.0)


def sparsemax(x: Tensor, axis: int = -1) -> Tensor:
    """The Euclidean projection onto the probability simplex along ``axis`` (Martins &
    Astudillo 2016): max(x - tau, 0), tau from the values sorted in descending order,
    (sum of the k largest - 1) / k for the largest k with 1 + k * x_(k) > that sum."""
    ax = axis % x.ndim
    z = sg.moveaxis(x, ax, -1)
    n = z.shape[-1]
    if not isinstance(n, int):
        raise ValueError(f"sparsemax needs the size of axis {axis} known when the graph is built, got {n}")
    ordered = sg.sort(z, axis=-1, descending=True)
    csum = sg.cumsum(ordered, axis=-1)
    k = sg.constant(np.arange(1, n + 1, dtype=x.dtype))
    k_max = sg.sum(sg.cast(1.0 + k * ordered > csum, x.dtype), axis=-1, keepdims=True)
    tau = (sg.take_along_axis(csum, sg.cast(k_max, "int64") - 1, axis=-1) - 1.0) / k_max
    return sg.moveaxis(sg.maximum(z - tau, 0.0), -1, ax)


def squareplus(x: Tensor, b: float = 4) -> Tensor:
    """(x + sqrt(x**2 + b)) / 2, a smooth relu."""
    return (x + sg.sqrt(sg.square(x) + b)) / 2.0


def tanh_shrink(x: Tensor) -> Tensor:
    """x - tanh(x)."""
    return x - sg.tanh(x)


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
    "celu": celu,
    "glu": glu,
    "hard_shrink": hard_shrink,
    "hard_tanh": hard_tanh,
    "log_sigmoid": log_sigmoid,
    "mish": mish,
    "soft_shrink": soft_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "squareplus": squareplus,
    "tanh_shrink": tanh_shrink,
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
