"""``keras.datasets.mnist.load_data()``: symgraph's own loader (local copy, cache, or
Keras' download location), returning ``((x_train, y_train), (x_test, y_test))`` uint8."""

from __future__ import annotations

import os
from typing import Any

from symgraph.datasets import mnist as _mnist


def load_data(path: str | None = None) -> Any:
    """MNIST as Keras returns it. ``path`` (Keras' argument is a file name inside its own
    cache) is honoured here when it names an existing ``.npz`` file or directory."""
    if path is not None and path != "mnist.npz" and os.path.exists(path):
        return _mnist.load_data(path=path)
    return _mnist.load_data()
