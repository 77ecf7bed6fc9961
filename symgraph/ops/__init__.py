"""The op table and the numpy-named functions that build graph.

Importing this package registers every op and installs Tensor's operators.
"""

from symgraph.ops import (  # noqa: F401 - imported to register their ops
    activations,
    arithmetic,
    conv,
    elementwise,
    image,
    indexing,
    linalg,
    losses,
    math,
    normalization,
    pooling,
    random,
    reduction,
    shape_ops,
)
from symgraph.ops import operators as _operators
from symgraph.ops.registry import OP_TABLE, register

_operators.install()

__all__ = ["OP_TABLE", "register"]
