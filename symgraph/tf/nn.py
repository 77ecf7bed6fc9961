"""``tf.nn``: TensorFlow's activation and loss names on symgraph's ``sg.nn``."""

from __future__ import annotations

from typing import Any

import symgraph as sg
from symgraph.tf._wrap import eager_op, missing

relu = eager_op(lambda features, name=None: sg.nn.relu(features))
sigmoid = eager_op(lambda x, name=None: sg.nn.sigmoid(x))
tanh = eager_op(lambda x, name=None: sg.tanh(x))
softmax = eager_op(lambda logits, axis=None, name=None: sg.nn.softmax(logits, axis=-1 if axis is None else axis))
log_softmax = eager_op(
    lambda logits, axis=None, name=None: sg.nn.log_softmax(logits, axis=-1 if axis is None else axis)
)
leaky_relu = eager_op(lambda features, alpha=0.2, name=None: sg.nn.leaky_relu(features, negative_slope=alpha))


@eager_op
def dropout(x: Any, rate: float, noise_shape: Any = None, seed: Any = None, name: str | None = None) -> sg.Tensor:
    """Zero each element with probability ``rate`` and scale the rest by 1/(1 - rate)."""
    key = None if seed is None else sg.random.key(int(seed))
    return sg.nn.dropout(x, rate, training=True, key=key, noise_shape=noise_shape)


@eager_op
def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1, name: str | None = None) -> sg.Tensor:
    """Per example: -sum(labels * log_softmax(logits))."""
    return sg.nn.softmax_cross_entropy(logits, labels, axis=axis)


@eager_op
def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Any, name: str | None = None) -> sg.Tensor:
    """Per example: -log_softmax(logits)[label]."""
    return sg.nn.sparse_softmax_cross_entropy(logits, labels)


@eager_op
def sigmoid_cross_entropy_with_logits(labels: Any, logits: Any, name: str | None = None) -> sg.Tensor:
    """Per element: the binary cross-entropy of sigmoid(logits) against labels, stable."""
    return sg.nn.sigmoid_binary_cross_entropy(logits, labels)


def __getattr__(name: str) -> Any:
    raise missing("tf.nn", name)
