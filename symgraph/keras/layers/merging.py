"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
and the functional spellings ``add([a, b])``, ``concatenate([a, b])``..."""

from __future__ import annotations

import warnings
from functools import reduce
from typing import Any

import symgraph as sg
from symgraph.errors import user_stacklevel
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
    """Keras' batch dot: the per-sample tensor product of two inputs over one axis of each
    (``axes``: an int for both, or a pair), the other axes of the first input, then of
    the second, in the result; a result with only the batch axis gets a trailing 1.
    ``normalize`` makes each input unit length along its axis first (cosine proximity)."""

    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def _axes(self, a: Tensor, b: Tensor) -> tuple[int, int]:
        pair = tuple(self.axes) if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        if len(pair) != 2:
            raise ValueError(f"Layer {self.name}: `axes` must be an int or a pair of ints, got {self.axes!r}")
        resolved = []
        for axis, t in zip(pair, (a, b)):
            axis = axis + t.ndim if axis < 0 else axis
            if not 1 <= axis < t.ndim:
                raise ValueError(f"Layer {self.name}: axis {axis} is the batch axis or out of range for rank {t.ndim}")
            resolved.append(axis)
        sa, sb = static_shape(a)[resolved[0]], static_shape(b)[resolved[1]]
        if sa is not None and sb is not None and sa != sb:
            raise ValueError(
                f"Incompatible input shapes: axis values {sa} (at axis {resolved[0]}) != {sb} (at axis "
                f"{resolved[1]}). Full input shapes: {static_shape(a)}, {static_shape(b)}"
            )
        return resolved[0], resolved[1]

    def call(self, inputs: Any) -> Tensor:
        a, b = inputs
        axis_a, axis_b = self._axes(a, b)
        if self.normalize:
            a = a / sg.sqrt(sg.maximum(sg.sum(a * a, axis=axis_a, keepdims=True), 1e-12))
            b = b / sg.sqrt(sg.maximum(sg.sum(b * b, axis=axis_b, keepdims=True), 1e-12))
        # a as (batch, rest of a, k), b as (batch, k, rest of b): one batched product
        a = sg.transpose(a, [i for i in range(a.ndim) if i != axis_a] + [axis_a])
        b = sg.transpose(b, [0, axis_b] + [i for i in range(1, b.ndim) if i != axis_b])
        rest_a, rest_b = a.shape[1:-1], b.shape[2:]
        k = a.shape[-1]
        flat_a = sg.reshape(a, (a.shape[0], _prod(rest_a), k))
        flat_b = sg.reshape(b, (b.shape[0], k, _prod(rest_b)))
        out = sg.reshape(sg.matmul(flat_a, flat_b), (a.shape[0], *rest_a, *rest_b))
        return sg.expand_dims(out, -1) if out.ndim == 1 else out

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _prod(dims: tuple) -> Any:
    return reduce(lambda x, y: x * y, dims, 1)


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


def dot(inputs: list, axes: int | tuple[int, int] = -1, normalize: bool = False, **kwargs: Any) -> Any:
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


_KERAS1_MODES = {
    "sum": ("Add", add),
    "mul": ("Multiply", multiply),
    "ave": ("Average", average),
    "max": ("Maximum", maximum),
}


def merge(inputs: list, mode: str = "sum", concat_axis: int = -1, dot_axes: int = -1, name: str | None = None) -> Any:
    """Keras 1's ``merge(inputs, mode=...)``, kept for the oldest tutorials, with a warning
    naming the Keras 3 layer that does the same."""
    kwargs = {} if name is None else {"name": name}
    if mode in _KERAS1_MODES:
        modern, fn = _KERAS1_MODES[mode]
        _warn_merge(mode, f"keras.layers.{modern}()(inputs)")
        return fn(inputs, **kwargs)
    if mode == "concat":
        _warn_merge(mode, f"keras.layers.Concatenate(axis={concat_axis})(inputs)")
        return concatenate(inputs, axis=concat_axis, **kwargs)
    if mode in ("dot", "cos"):
        _warn_merge(mode, f"keras.layers.Dot(axes={dot_axes}, normalize={mode == 'cos'})(inputs)")
        return dot(inputs, axes=dot_axes, normalize=mode == "cos", **kwargs)
    raise ValueError(f"merge: unknown mode {mode!r} (Keras 1's modes: sum, mul, concat, ave, max, dot, cos)")


def _warn_merge(mode: str, modern: str) -> None:
    warnings.warn(
        f"merge(mode={mode!r}) is Keras 1's spelling; use {modern}", DeprecationWarning, stacklevel=user_stacklevel()
    )
