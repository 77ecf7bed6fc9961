"""How a TensorFlow name runs a symgraph op: eagerly outside a traced function (the op's
inputs have values now, so it returns an eager tensor, as TensorFlow's eager mode does),
as graph inside one; and what a name symgraph does not have raises."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.trace import tracing


def eager_op(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run in an ``sg.eager()`` block; a result that is a graph with a value now
    (a constant: ``tf.zeros``) becomes an eager tensor outside a trace."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with sg.eager():
            result = fn(*args, **kwargs)
        return to_eager(result)

    return run


def to_eager(result: Any) -> Any:
    """Graph results with a value now, and arrays (a Keras function run on data), as eager
    tensors (outside a trace)."""
    if isinstance(result, np.ndarray):
        return sg.EagerTensor(result)
    if isinstance(result, sg.Tensor) and type(result) is not sg.EagerTensor:
        if not tracing() and result.bound and not isinstance(result, sg.Variable):
            return sg.eager_tensor(result)
    return result


def missing(module: str, name: str) -> UnsupportedError:
    """The error for a TensorFlow name symgraph does not map."""
    return UnsupportedError(
        f"{module}.{name} is not provided by symgraph.tf (it maps the TensorFlow names the tutorials use onto "
        "symgraph; see symgraph/tf/__init__.py for the list). Write it with symgraph's ops, or open an issue"
    )
