"""Unary elementwise math: exponentials and logarithms, roots, trigonometric and
hyperbolic functions, erf, rounding.

Float math on integer or bool inputs computes in floatx (float32), see symgraph.dtypes.
Each class's docstring states the function; its ``grad`` gives d/dx times the output
gradient.
"""

from __future__ import annotations

import numpy as np

from symgraph.ops.arithmetic import mul, true_divide
from symgraph.ops.elementwise import FLOAT, NUMERIC, Elementwise
from symgraph.ops.registry import register


@register
class Exp(Elementwise):
    """exp(x); d/dx = exp(x)"""

    name = "exp"
    input_kind = FLOAT

    def compute(self, x):
        return np.exp(x)

    def grad(self, inputs, outputs, output_grads):
        return [mul(output_grads[0], outputs[0])]


@register
class Log(Elementwise):
    """log(x) (natural); d/dx = 1/x"""

    name = "log"
    input_kind = FLOAT

    def compute(self, x):
        return np.log(x)

    def grad(self, inputs, outputs, output_grads):
        return [true_divide(output_grads[0], inputs[0])]


@register
class Floor(Elementwise):
    """floor(x); zero gradient"""

    name = "floor"
    input_kind = NUMERIC

    def compute(self, x):
        return np.floor(x)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.shape_ops import zeros_like

        return [zeros_like(inputs[0]) if inputs[0].dtype.kind == "f" else None]


exp = Exp()
log = Log()
floor = Floor()

__all__ = [
    "exp",
    "log",
    "floor",
]
