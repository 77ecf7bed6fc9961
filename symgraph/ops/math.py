"""Unary elementwise math: exponentials and logarithms, roots, trigonometric and
hyperbolic functions, erf, rounding.

Float math on integer or bool inputs computes in floatx (float32), see symgraph.dtypes
(``input_kind = FLOAT``). ``square`` keeps integer dtypes (as numpy does), and the
rounding ops (``floor``, ``ceil``, ``round``) return integer inputs unchanged, in their
own dtype; a bool input to either computes in int64.

Each class's docstring states the function and d/dx; its ``grad`` gives d/dx times the
output gradient, reusing the op's output where that is cheaper than the input.
"""

from __future__ import annotations

import math as _math

import numpy as np

from symgraph.ops import arithmetic as ar
from symgraph.ops import shape_ops
from symgraph.ops.c_api import c_math
from symgraph.ops.elementwise import FLOAT, NUMERIC, Elementwise, c_const, c_wrap
from symgraph.ops.registry import register


def _zero_grad(x):
    """The gradient of a piecewise-constant op: zeros for float inputs, none otherwise."""
    return shape_ops.zeros_like(x) if x.dtype.kind == "f" else None


# ---------------------------------------------------------------- exponentials, logs


@register
class Exp(Elementwise):
    """exp(x); d/dx = exp(x)"""

    name = "exp"
    input_kind = FLOAT

    def compute(self, x):
        return np.exp(x)

    def c_expr(self, args, dtype):
        return f"{c_math('exp', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.mul(output_grads[0], outputs[0])]


@register
class Expm1(Elementwise):
    """exp(x) - 1, accurate for small |x|; d/dx = exp(x) = expm1(x) + 1"""

    name = "expm1"
    input_kind = FLOAT

    def compute(self, x):
        return np.expm1(x)

    def c_expr(self, args, dtype):
        return f"{c_math('expm1', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.mul(output_grads[0], ar.add(outputs[0], 1))]


@register
class Log(Elementwise):
    """log(x) (natural); d/dx = 1/x"""

    name = "log"
    input_kind = FLOAT

    def compute(self, x):
        return np.log(x)

    def c_expr(self, args, dtype):
        return f"{c_math('log', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.true_divide(output_grads[0], inputs[0])]


@register
class Log1p(Elementwise):
    """log(1 + x), accurate for small |x|; d/dx = 1/(1 + x)"""

    name = "log1p"
    input_kind = FLOAT

    def compute(self, x):
        return np.log1p(x)

    def c_expr(self, args, dtype):
        return f"{c_math('log1p', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.true_divide(output_grads[0], ar.add(inputs[0], 1))]


# ---------------------------------------------------------------- powers and roots


@register
class Sqrt(Elementwise):
    """sqrt(x); d/dx = 1/(2 sqrt(x))"""

    name = "sqrt"
    input_kind = FLOAT

    def compute(self, x):
        return np.sqrt(x)

    def c_expr(self, args, dtype):
        return f"{c_math('sqrt', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.true_divide(ar.mul(output_grads[0], 0.5), outputs[0])]


@register
class Rsqrt(Elementwise):
    """1/sqrt(x); d/dx = -1/(2 x sqrt(x)) = -rsqrt(x)^3 / 2"""

    name = "rsqrt"
    input_kind = FLOAT

    def compute(self, x):
        return 1 / np.sqrt(x)

    def c_expr(self, args, dtype):
        return f"({c_const(1, dtype)} / {c_math('sqrt', dtype)}({args[0]}))"

    def grad(self, inputs, outputs, output_grads):
        (out,), (g,) = outputs, output_grads
        return [ar.mul(ar.mul(g, -0.5), ar.mul(out, ar.mul(out, out)))]


@register
class Square(Elementwise):
    """x * x (integers stay integers); d/dx = 2x"""

    name = "square"
    input_kind = NUMERIC

    def compute(self, x):
        return np.square(x)

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({x} * {x})" if np.dtype(dtype).kind == "f" else c_wrap(x, "*", x, dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if x.dtype.kind != "f":
            return [None]
        return [ar.mul(g, ar.mul(x, 2))]


@register
class Reciprocal(Elementwise):
    """1/x, in floatx for integer inputs (numpy's integer reciprocal truncates; this
    one does not); d/dx = -1/x^2 = -reciprocal(x)^2"""

    name = "reciprocal"
    input_kind = FLOAT

    def compute(self, x):
        return np.reciprocal(x)

    def c_expr(self, args, dtype):
        return f"({c_const(1, dtype)} / {args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (out,), (g,) = outputs, output_grads
        return [ar.neg(ar.mul(g, ar.mul(out, out)))]


# ---------------------------------------------------------------- trigonometric


@register
class Sin(Elementwise):
    """sin(x); d/dx = cos(x)"""

    name = "sin"
    input_kind = FLOAT

    def compute(self, x):
        return np.sin(x)

    def c_expr(self, args, dtype):
        return f"{c_math('sin', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.mul(output_grads[0], cos(inputs[0]))]


@register
class Cos(Elementwise):
    """cos(x); d/dx = -sin(x)"""

    name = "cos"
    input_kind = FLOAT

    def compute(self, x):
        return np.cos(x)

    def c_expr(self, args, dtype):
        return f"{c_math('cos', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.neg(ar.mul(output_grads[0], sin(inputs[0])))]


@register
class Tan(Elementwise):
    """tan(x); d/dx = 1 + tan(x)^2"""

    name = "tan"
    input_kind = FLOAT

    def compute(self, x):
        return np.tan(x)

    def c_expr(self, args, dtype):
        return f"{c_math('tan', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (out,), (g,) = outputs, output_grads
        return [ar.mul(g, ar.add(ar.mul(out, out), 1))]


@register
class Arcsin(Elementwise):
    """arcsin(x), for x in [-1, 1]; d/dx = 1/sqrt(1 - x^2)"""

    name = "arcsin"
    input_kind = FLOAT

    def compute(self, x):
        return np.arcsin(x)

    def c_expr(self, args, dtype):
        return f"{c_math('asin', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [ar.mul(g, rsqrt(ar.sub(1, ar.mul(x, x))))]


@register
class Arccos(Elementwise):
    """arccos(x), for x in [-1, 1]; d/dx = -1/sqrt(1 - x^2)"""

    name = "arccos"
    input_kind = FLOAT

    def compute(self, x):
        return np.arccos(x)

    def c_expr(self, args, dtype):
        return f"{c_math('acos', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [ar.neg(ar.mul(g, rsqrt(ar.sub(1, ar.mul(x, x)))))]


@register
class Arctan(Elementwise):
    """arctan(x); d/dx = 1/(1 + x^2)"""

    name = "arctan"
    input_kind = FLOAT

    def compute(self, x):
        return np.arctan(x)

    def c_expr(self, args, dtype):
        return f"{c_math('atan', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [ar.true_divide(g, ar.add(ar.mul(x, x), 1))]


# ---------------------------------------------------------------- hyperbolic


@register
class Sinh(Elementwise):
    """sinh(x); d/dx = cosh(x)"""

    name = "sinh"
    input_kind = FLOAT

    def compute(self, x):
        return np.sinh(x)

    def c_expr(self, args, dtype):
        return f"{c_math('sinh', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.mul(output_grads[0], cosh(inputs[0]))]


@register
class Cosh(Elementwise):
    """cosh(x); d/dx = sinh(x)"""

    name = "cosh"
    input_kind = FLOAT

    def compute(self, x):
        return np.cosh(x)

    def c_expr(self, args, dtype):
        return f"{c_math('cosh', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [ar.mul(output_grads[0], sinh(inputs[0]))]


@register
class Tanh(Elementwise):
    """tanh(x); d/dx = 1 - tanh(x)^2"""

    name = "tanh"
    input_kind = FLOAT

    def compute(self, x):
        return np.tanh(x)

    def c_expr(self, args, dtype):
        return f"{c_math('tanh', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (out,), (g,) = outputs, output_grads
        return [ar.mul(g, ar.sub(1, ar.mul(out, out)))]


# ---------------------------------------------------------------- special


_erf = np.frompyfunc(_math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2 / _math.sqrt(_math.pi)


@register
class Erf(Elementwise):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt; d/dx = 2/sqrt(pi) exp(-x^2)

    numpy has no erf: the reference applies Python's ``math.erf`` (double precision)
    to each element and rounds to the dtype.
    """

    name = "erf"
    input_kind = FLOAT

    def compute(self, x):
        return np.asarray(_erf(x), dtype=np.float64).astype(x.dtype)

    def c_expr(self, args, dtype):
        """erff in float32: within an ulp of the reference (double erf rounded)."""
        return f"{c_math('erf', dtype)}({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [ar.mul(g, ar.mul(exp(ar.neg(ar.mul(x, x))), _TWO_OVER_SQRT_PI))]


# ---------------------------------------------------------------- rounding


@register
class Floor(Elementwise):
    """floor(x), the largest integer <= x (integer inputs unchanged); zero gradient"""

    name = "floor"
    input_kind = NUMERIC

    def compute(self, x):
        return np.floor(x) if x.dtype.kind == "f" else x

    def c_expr(self, args, dtype):
        (x,) = args
        return f"{c_math('floor', dtype)}({x})" if np.dtype(dtype).kind == "f" else f"({x})"

    def grad(self, inputs, outputs, output_grads):
        return [_zero_grad(inputs[0])]


@register
class Ceil(Elementwise):
    """ceil(x), the smallest integer >= x (integer inputs unchanged); zero gradient"""

    name = "ceil"
    input_kind = NUMERIC

    def compute(self, x):
        return np.ceil(x) if x.dtype.kind == "f" else x

    def c_expr(self, args, dtype):
        (x,) = args
        return f"{c_math('ceil', dtype)}({x})" if np.dtype(dtype).kind == "f" else f"({x})"

    def grad(self, inputs, outputs, output_grads):
        return [_zero_grad(inputs[0])]


@register
class Round(Elementwise):
    """round(x) to the nearest integer, halves to even (numpy's ``round`` with 0
    decimals, C's ``nearbyint``: round(0.5) = 0, round(1.5) = 2, round(-2.5) = -2);
    integer inputs unchanged; zero gradient"""

    name = "round"
    input_kind = NUMERIC

    def compute(self, x):
        return np.round(x) if x.dtype.kind == "f" else x

    def c_expr(self, args, dtype):
        """rint: halves to even under the default rounding mode, like numpy."""
        (x,) = args
        return f"{c_math('rint', dtype)}({x})" if np.dtype(dtype).kind == "f" else f"({x})"

    def grad(self, inputs, outputs, output_grads):
        return [_zero_grad(inputs[0])]


exp = Exp()
expm1 = Expm1()
log = Log()
log1p = Log1p()
sqrt = Sqrt()
rsqrt = Rsqrt()
square = Square()
reciprocal = Reciprocal()
sin = Sin()
cos = Cos()
tan = Tan()
arcsin = Arcsin()
arccos = Arccos()
arctan = Arctan()
sinh = Sinh()
cosh = Cosh()
tanh = Tanh()
erf = Erf()
floor = Floor()
ceil = Ceil()
round = Round()  # noqa: A001 - numpy's name

__all__ = [
    "exp",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "erf",
    "floor",
    "ceil",
    "round",
]
