"""The symbolic tensors of functional models (``KerasTensor``) and the layer calls that
link them (``Node``).

A layer called on KerasTensors runs ``call`` on the symgraph tensors behind them (so
symgraph's shape rules give the output shapes) and records a Node; a functional model
replays its Nodes on fresh placeholders for each compiled step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from symgraph.graph.core import Tensor
from symgraph.keras import naming
from symgraph.keras.tree import flatten

if TYPE_CHECKING:  # annotations only: layer.py imports this module
    from symgraph.keras.layers.layer import Layer


def static_shape(t: Tensor) -> tuple:
    """A tensor's shape with None for every size known only at call time."""
    return tuple(d if isinstance(d, int) else None for d in t.shape)


def _operation(fn: Callable[..., Tensor], name: str, inputs: Any) -> KerasTensor:
    """``fn`` of KerasTensors as a node: an OperationLayer called on ``inputs``."""
    # Cycle: layer.py imports KerasTensor and Node from here, and OperationLayer is a Layer.
    from symgraph.keras.layers.layer import OperationLayer

    return OperationLayer(fn, name=naming.unique_name(name))(inputs)


class KerasTensor:
    """A symbolic tensor of a functional model: shape (None for the batch), dtype, and the
    layer call that made it (``_keras_history``: layer, node index, tensor index)."""

    def __init__(self, tensor: Tensor, history: tuple | None = None, name: str | None = None):
        self.tensor = tensor
        self._keras_history = history
        self.name = name

    @property
    def shape(self) -> tuple:
        return static_shape(self.tensor)

    @property
    def dtype(self) -> str:
        return self.tensor.dtype.name

    @property
    def ndim(self) -> int:
        return self.tensor.ndim

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self) -> bool:
        raise TypeError("A symbolic KerasTensor has no truth value")

    # Arithmetic between KerasTensors becomes a node (as Keras 3's operations).
    def _op(self, fn: Callable[..., Tensor], *others: Any, name: str) -> KerasTensor:
        return _operation(fn, name, [self, *others])

    def __add__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a + b, other, name="add")

    def __radd__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b + a, other, name="add")

    def __sub__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a - b, other, name="subtract")

    def __rsub__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b - a, other, name="subtract")

    def __mul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a * b, other, name="multiply")

    def __rmul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b * a, other, name="multiply")

    def __truediv__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a / b, other, name="divide")

    def __rtruediv__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b / a, other, name="divide")

    def __matmul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a @ b, other, name="matmul")

    def __neg__(self) -> KerasTensor:
        return _operation(lambda a: -a, "negative", self)

    def __pow__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a**b, other, name="power")

    def __getitem__(self, index: Any) -> KerasTensor:
        return _operation(lambda a: a[index], "get_item", self)


class Node:
    """One call of a layer on KerasTensors: the arguments (with the KerasTensors in
    place), and the output KerasTensors."""

    def __init__(self, layer: Layer, call_args: tuple, call_kwargs: dict, outputs: Any):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in flatten([call_args, call_kwargs]) if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]

    @property
    def parent_nodes(self) -> list[Node]:
        parents = []
        for t in self.input_tensors:
            layer, node_index, _ = t._keras_history
            node = layer._inbound_nodes[node_index]
            if node not in parents:
                parents.append(node)
        return parents
