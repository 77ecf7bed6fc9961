"""``sg.nn.embedding``: rows of a table looked up by integer ids."""

from __future__ import annotations

from symgraph import dtypes
from symgraph.errors import DTypeError
from symgraph.graph.core import Tensor
from symgraph.graph.sources import as_tensor
from symgraph.ops.elementwise import TensorLike
from symgraph.ops.indexing import gather


def embedding(ids: TensorLike, table: TensorLike) -> Tensor:
    """``table[ids]``: the rows of ``table`` (vocabulary, ...) at the integer ``ids``, a
    result of shape ``ids.shape + table.shape[1:]``.

    An id outside ``[0, vocabulary)`` raises IndexOutOfRangeError (when the graph is
    built for constant ids, else when it is called, in C too), a negative one included:
    as TensorFlow's Keras has it, a -1 (a padding id, say) is a bug, not the last row
    (``sg.take(table, ids, axis=0)`` is numpy's rule, where it counts from the end).
    The gradient with respect to ``table`` is a scatter-add of the output gradient into
    zeros (rows looked up several times accumulate); ids get none."""
    ids = as_tensor(ids)
    if not dtypes.is_integer(ids.dtype):
        raise DTypeError(f"embedding: ids must be integers, got {ids.type}")
    return gather(as_tensor(table), (0,), [ids], wrap_negative=False)


__all__ = ["embedding"]
