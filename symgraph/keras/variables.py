"""``KerasVariable``: the weights layers create, a symgraph Variable with Keras 3's
``keras.Variable`` conveniences."""

from __future__ import annotations

from typing import Any

import numpy as np

from symgraph.graph.sources import Variable


class KerasVariable(Variable):
    """A symgraph Variable with Keras' conveniences: ``numpy()``, ``path``, ``value``, and
    the regularizer it carries; ``assign*`` are sg.Variable's (at once eagerly, a step of
    the program inside sg.jit)."""

    __slots__ = ("path", "regularizer", "constraint")

    def __init__(
        self,
        value: Any,
        name: str,
        path: str,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
    ):
        super().__init__(value, name=name, trainable=trainable)
        self.path = path
        self.regularizer = regularizer
        self.constraint = constraint

    def numpy(self) -> np.ndarray:
        return self.get_value()

    @property
    def value(self) -> np.ndarray:
        return self.get_value()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self.get_value()
        return value if dtype is None else value.astype(dtype)

    def __repr__(self) -> str:
        return f"<KerasVariable shape={self.shape}, dtype={self.dtype.name}, path={self.path}>"
