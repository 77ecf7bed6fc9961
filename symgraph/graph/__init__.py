"""The graph IR: tensors, nodes, ops, symbolic shapes and the graph's leaves."""

from symgraph.graph.core import Location, Node, Op, Tensor, TensorType, apply
from symgraph.graph.shape import Dim, DimExpr, Shape
from symgraph.graph.sources import EagerTensor, Variable, as_tensor, constant, dim, dim_value, placeholder
from symgraph.graph.traversal import leaves, replace, toposort

__all__ = [
    "Dim",
    "DimExpr",
    "EagerTensor",
    "Location",
    "Node",
    "Op",
    "Shape",
    "Tensor",
    "TensorType",
    "Variable",
    "apply",
    "as_tensor",
    "constant",
    "dim",
    "dim_value",
    "leaves",
    "placeholder",
    "replace",
    "toposort",
]
