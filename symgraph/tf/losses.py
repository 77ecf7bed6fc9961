"""``tf.losses``: the Keras loss functions and classes (symgraph.keras.losses); a function
called on data returns an eager tensor, as TensorFlow's does."""

from __future__ import annotations

import inspect
from typing import Any

from symgraph.keras import losses as _keras_losses
from symgraph.tf._wrap import eager_op, missing


def __getattr__(name: str) -> Any:
    try:
        value = getattr(_keras_losses, name)
    except AttributeError:
        raise missing("tf.losses", name) from None
    if inspect.isfunction(value):
        return eager_op(value)
    return value
