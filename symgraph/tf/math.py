"""``tf.math``: the element-wise and reduction names of ``tf`` under their ``tf.math``
spelling (TensorFlow has both), plus the few only ``tf.math`` has."""

from __future__ import annotations

from typing import Any

import symgraph as sg
from symgraph.tf import (
    abs,
    add,
    argmax,
    argmin,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    reduce_all,
    reduce_any,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    sigmoid,
    sqrt,
    square,
    subtract,
    tanh,
)
from symgraph.tf._wrap import eager_op, missing

log1p = eager_op(lambda x, name=None: sg.log1p(x))
softplus = eager_op(lambda features, name=None: sg.nn.softplus(features))
reciprocal = eager_op(lambda x, name=None: sg.true_divide(1.0, x))
floor = eager_op(lambda x, name=None: sg.floor(x))
round = eager_op(lambda x, name=None: sg.round(x))  # noqa: A001


def __getattr__(name: str) -> Any:
    raise missing("tf.math", name)


__all__ = [
    "abs", "add", "argmax", "argmin", "divide", "equal", "exp", "floor", "greater", "greater_equal", "less",
    "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or", "maximum", "minimum", "multiply",
    "negative", "not_equal", "pow", "reciprocal", "reduce_all", "reduce_any", "reduce_max", "reduce_mean",
    "reduce_min", "reduce_prod", "reduce_sum", "round", "sigmoid", "softplus", "sqrt", "square", "subtract", "tanh",
]  # fmt: skip
