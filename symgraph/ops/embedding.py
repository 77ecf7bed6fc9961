"""``sg.nn.embedding``: rows of a table looked up by integer ids."""

from __future__ import annotations

from symgraph import dtypes
from symgraph.errors import DTypeError
from symgraph.graph.core import Tensor
from symgraph.graph.sources import as_tensor
from symgraph.ops.elementwise import TensorLike
from symgraph.ops.indexing import take


def embedding(ids: TensorLike, table: TensorLike) -> Tensor:
    """``table[ids]``: the rows of ``table`` (vocabulary, ...) at the integer ``ids``, a
    result of shape ``ids.shape + table.shape[1:]``; exactly ``sg.take(table, ids,
    axis=0)``.

    Ids follow take's (numpy's and JAX's) rule: a negative id counts from the end of the
    vocabulary, and an id outside ``[-vocabulary, vocabulary)`` raises
    IndexOutOfRangeError (when the graph is built for constant ids, else when it is
    called, in C too). TensorFlow's Keras instead rejects negative ids; check
    ``ids >= 0`` first where a negative id means a bug (a padding -1, say). The gradient
    with respect to ``table`` is a scatter-add of the output gradient into zeros (rows
    looked up several times accumulate); ids get none."""
    ids = as_tensor(ids)
    if not dtypes.is_integer(ids.dtype):
        raise DTypeError(f"embedding: ids must be integers, got {ids.type}")
    return take(table, ids, axis=0)


__all__ = ["embedding"]
