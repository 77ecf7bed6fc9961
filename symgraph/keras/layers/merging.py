"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
and the functional spellings ``add([a, b])``, ``concatenate([a, b])``..."""

from __future__ import annotations

from functools import reduce
from typing import Any

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras.layers.keras_tensor import static_shape
from symgraph.keras.layers.layer import Layer, MultiInput


class Merge(MultiInput, Layer):
    """Elementwise merge of a list of at least two tensors of broadcastable shapes."""

    def _check(self, inputs: Any) -> list[Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(f"A merge layer should be called on a list of at least 2 inputs. Got {count} inputs.")
        shapes = [static_shape(t) for t in inputs]
        for s in shapes[1:]:
            if len(s) == len(shapes[0]):
                for a, b in zip(s[1:], shapes[0][1:]):
                    if a is not None and b is not None and a != b and 1 not in (a, b):
                        raise ValueError(
                            f"Layer {self.name}: inputs must have equal shapes (or broadcast). Received: "
                            f"input_shape={shapes}"
                        )
        return list(inputs)

    def call(self, inputs: Any) -> Tensor:
        return self._merge(self._check(inputs))

    def _merge(self, inputs: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a + b, inputs)


class Subtract(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a * b, inputs)


class Average(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(lambda a, b: a + b, inputs) / float(len(inputs))


class Maximum(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(sg.maximum, inputs)


class Minimum(Merge):
    def _merge(self, inputs: list[Tensor]) -> Tensor:
        return reduce(sg.minimum, inputs)


class Concatenate(MultiInput, Layer):
    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 1:
            raise ValueError("A `Concatenate` layer should be called on a list of inputs.")
        shapes = [static_shape(t) for t in inputs]
        rank = len(shapes[0])
        axis = self.axis % rank
        for s in shapes:
            if len(s) != rank or any(
                a is not None and b is not None and a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis
            ):
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
                    f"Received: input_shape={shapes}"
                )
        return sg.concatenate(list(inputs), axis=axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(MultiInput, Layer):
    """Batched dot product along ``axes`` of two (batch, n) tensors."""

    def __init__(self, axes: int, normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def call(self, inputs: Any) -> Tensor:
        a, b = inputs
        if self.normalize:
            a = a / sg.sqrt(sg.sum(a * a, axis=-1, keepdims=True) + 1e-12)
            b = b / sg.sqrt(sg.sum(b * b, axis=-1, keepdims=True) + 1e-12)
        return sg.sum(a * b, axis=-1, keepdims=True)


def add(inputs: list, **kwargs: Any) -> Any:
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> Any:
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> Any:
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> Any:
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> Any:
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> Any:
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> Any:
    return Concatenate(axis=axis, **kwargs)(inputs)
