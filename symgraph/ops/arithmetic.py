"""Elementwise arithmetic, comparisons, logic, ``where`` and ``clip``.

Each op's public function is an instance of its class (``sg.add = Add()``): calling it
promotes the operands and builds the node. Gradients of binary ops sum the output
gradient back over broadcast axes (``sum_to_shape``).
"""

from __future__ import annotations

import numpy as np

from symgraph import dtypes
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.ops.elementwise import (
    ANY,
    BOOL,
    FLOAT,
    NUMERIC,
    Elementwise,
    TensorLike,
    broadcast_shapes,
    promote,
    sum_to_shape,
)
from symgraph.ops.registry import register


def _float_grad(x: Tensor) -> bool:
    return dtypes.is_float(x.dtype)


@register
class Add(Elementwise):
    """a + b"""

    name = "add"
    arity = 2

    def compute(self, a, b):
        return a + b if a.dtype != np.bool_ else a | b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} || {b})" if dtype.kind == "b" else f"({a} + {b})"

    def grad(self, inputs, outputs, output_grads):
        (a, b), (g,) = inputs, output_grads
        return [sum_to_shape(g, a.shape), sum_to_shape(g, b.shape)]


@register
class Sub(Elementwise):
    """a - b"""

    name = "sub"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        return a - b

    def grad(self, inputs, outputs, output_grads):
        (a, b), (g,) = inputs, output_grads
        return [sum_to_shape(g, a.shape), sum_to_shape(neg(g), b.shape)]


@register
class Mul(Elementwise):
    """a * b"""

    name = "mul"
    arity = 2

    def compute(self, a, b):
        return a * b if a.dtype != np.bool_ else a & b

    def grad(self, inputs, outputs, output_grads):
        (a, b), (g,) = inputs, output_grads
        return [sum_to_shape(mul(g, b), a.shape), sum_to_shape(mul(g, a), b.shape)]


@register
class TrueDiv(Elementwise):
    """a / b; integer operands divide in floatx."""

    name = "true_divide"
    arity = 2
    input_kind = FLOAT

    def compute(self, a, b):
        return a / b

    def grad(self, inputs, outputs, output_grads):
        (a, b), (out,), (g,) = inputs, outputs, output_grads
        return [sum_to_shape(true_divide(g, b), a.shape), sum_to_shape(neg(mul(g, true_divide(out, b))), b.shape)]


@register
class FloorDiv(Elementwise):
    """a // b (numpy's floor division; integer division by zero gives 0)."""

    name = "floor_divide"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        return np.floor_divide(a, b)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.shape_ops import zeros_like

        a, b = inputs
        return [zeros_like(a) if _float_grad(a) else None, zeros_like(b) if _float_grad(b) else None]


@register
class Mod(Elementwise):
    """a % b with the sign of b (numpy's remainder)."""

    name = "mod"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        return np.remainder(a, b)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.math import floor

        (a, b), (g,) = inputs, output_grads
        if not _float_grad(a):
            return [None, None]
        return [sum_to_shape(g, a.shape), sum_to_shape(neg(mul(g, floor(true_divide(a, b)))), b.shape)]


@register
class Pow(Elementwise):
    """a ** b"""

    name = "power"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        if a.dtype.kind in "iu" and np.any(b < 0):
            raise ValueError("integers to negative integer powers are not allowed")
        return np.power(a, b)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.math import log

        (a, b), (out,), (g,) = inputs, outputs, output_grads
        if not _float_grad(a):
            return [None, None]
        ga = mul(g, mul(b, power(a, sub(b, 1))))
        # log(a) is taken where a != 0 only: there out is 0 (b > 0) and the term vanishes
        safe_a = where(equal(a, 0), 1, a)
        gb = mul(g, mul(out, log(safe_a)))
        return [sum_to_shape(ga, a.shape), sum_to_shape(gb, b.shape)]


@register
class Neg(Elementwise):
    """-x"""

    name = "negative"
    input_kind = NUMERIC

    def compute(self, x):
        return -x

    def grad(self, inputs, outputs, output_grads):
        return [neg(output_grads[0])]


@register
class Abs(Elementwise):
    """|x|"""

    name = "abs"

    def compute(self, x):
        return np.abs(x)

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [mul(g, sign(x))]


@register
class Sign(Elementwise):
    """sign(x): -1, 0 or 1 (NaN for NaN)."""

    name = "sign"
    input_kind = NUMERIC

    def compute(self, x):
        return np.sign(x)

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.shape_ops import zeros_like

        return [zeros_like(inputs[0]) if _float_grad(inputs[0]) else None]


@register
class Maximum(Elementwise):
    """maximum(a, b), NaN-propagating; at ties the gradient is split evenly."""

    name = "maximum"
    arity = 2

    def compute(self, a, b):
        return np.maximum(a, b)

    def grad(self, inputs, outputs, output_grads):
        return _minmax_grad(greater, inputs, output_grads)


@register
class Minimum(Elementwise):
    """minimum(a, b), NaN-propagating; at ties the gradient is split evenly."""

    name = "minimum"
    arity = 2

    def compute(self, a, b):
        return np.minimum(a, b)

    def grad(self, inputs, outputs, output_grads):
        return _minmax_grad(less, inputs, output_grads)


def _minmax_grad(wins, inputs, output_grads):
    (a, b), (g,) = inputs, output_grads
    if not _float_grad(a):
        return [None, None]
    share_a = add(cast_like(wins(a, b), g), mul(cast_like(equal(a, b), g), 0.5))
    return [sum_to_shape(mul(g, share_a), a.shape), sum_to_shape(mul(g, sub(1, share_a)), b.shape)]


def cast_like(x: Tensor, like: Tensor) -> Tensor:
    from symgraph.ops.elementwise import cast

    return cast(x, like.dtype)


class Comparison(Elementwise):
    """A comparison: bool output, no gradient."""

    arity = 2
    output_kind = "bool"

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


@register
class Equal(Comparison):
    """a == b"""

    name = "equal"

    def compute(self, a, b):
        return a == b


@register
class NotEqual(Comparison):
    """a != b"""

    name = "not_equal"

    def compute(self, a, b):
        return a != b


@register
class Less(Comparison):
    """a < b"""

    name = "less"

    def compute(self, a, b):
        return a < b


@register
class LessEqual(Comparison):
    """a <= b"""

    name = "less_equal"

    def compute(self, a, b):
        return a <= b


@register
class Greater(Comparison):
    """a > b"""

    name = "greater"

    def compute(self, a, b):
        return a > b


@register
class GreaterEqual(Comparison):
    """a >= b"""

    name = "greater_equal"

    def compute(self, a, b):
        return a >= b


@register
class LogicalAnd(Comparison):
    """a and b, elementwise on truth values."""

    name = "logical_and"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_and(a, b)


@register
class LogicalOr(Comparison):
    """a or b, elementwise on truth values."""

    name = "logical_or"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_or(a, b)


@register
class LogicalXor(Comparison):
    """a xor b, elementwise on truth values."""

    name = "logical_xor"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_xor(a, b)


@register
class LogicalNot(Elementwise):
    """not x, elementwise on truth values."""

    name = "logical_not"
    input_kind = BOOL
    output_kind = "bool"

    def compute(self, x):
        return np.logical_not(x)

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class IsNan(Elementwise):
    """isnan(x)"""

    name = "isnan"
    output_kind = "bool"

    def compute(self, x):
        return np.isnan(x)

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class IsFinite(Elementwise):
    """isfinite(x)"""

    name = "isfinite"
    output_kind = "bool"

    def compute(self, x):
        return np.isfinite(x)

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class Where(Elementwise):
    """where(condition, a, b): a where condition holds, else b (all broadcast)."""

    name = "where"
    arity = 3

    def __call__(self, condition: TensorLike, a: TensorLike, b: TensorLike) -> Tensor:
        (cond,) = promote((condition,), BOOL)
        a, b = promote((a, b), ANY)
        return apply(self, cond, a, b).outputs[0]

    def infer(self, cond, a, b):
        return TensorType(a.dtype, broadcast_shapes(cond.shape, a.shape, b.shape))

    def reference(self, cond, a, b):
        return np.asarray(np.where(cond, a, b), dtype=a.dtype)

    def grad(self, inputs, outputs, output_grads):
        (cond, a, b), (g,) = inputs, output_grads
        if not _float_grad(a):
            return [None, None, None]
        return [None, sum_to_shape(where(cond, g, 0), a.shape), sum_to_shape(where(cond, 0, g), b.shape)]


@register
class Clip(Elementwise):
    """clip(x, lo, hi) = minimum(maximum(x, lo), hi); the gradient flows to x inside [lo, hi]."""

    name = "clip"
    arity = 3

    def compute(self, x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    def grad(self, inputs, outputs, output_grads):
        (x, lo, hi), (g,) = inputs, output_grads
        if not _float_grad(x):
            return [None, None, None]
        below, above = less(x, lo), greater(x, hi)
        inside = logical_not(logical_or(below, above))
        return [
            sum_to_shape(where(inside, g, 0), x.shape),
            sum_to_shape(where(logical_and(below, less_equal(lo, hi)), g, 0), lo.shape),
            sum_to_shape(where(logical_or(above, greater(lo, hi)), g, 0), hi.shape),
        ]


add = Add()
subtract = sub = Sub()
multiply = mul = Mul()
true_divide = divide = TrueDiv()
floor_divide = FloorDiv()
mod = remainder = Mod()
power = Pow()
negative = neg = Neg()
abs = Abs()  # noqa: A001 - numpy's name
sign = Sign()
maximum = Maximum()
minimum = Minimum()
equal = Equal()
not_equal = NotEqual()
less = Less()
less_equal = LessEqual()
greater = Greater()
greater_equal = GreaterEqual()
logical_and = LogicalAnd()
logical_or = LogicalOr()
logical_xor = LogicalXor()
logical_not = LogicalNot()
isnan = IsNan()
isfinite = IsFinite()
where = Where()
_clip = Clip()


def clip(x: TensorLike, a_min: TensorLike = None, a_max: TensorLike = None) -> Tensor:
    """x limited to [a_min, a_max]; either bound may be None (numpy's clip)."""
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    if a_min is None:
        return minimum(x, a_max)
    if a_max is None:
        return maximum(x, a_min)
    return _clip(x, a_min, a_max)


@register
class StopGradient(Elementwise):
    """x, through which no gradient flows (its gradient is zero)."""

    name = "stop_gradient"

    def compute(self, x):
        return x

    def grad(self, inputs, outputs, output_grads):
        from symgraph.ops.shape_ops import zeros_like

        return [zeros_like(inputs[0]) if _float_grad(inputs[0]) else None]


stop_gradient = StopGradient()

__all__ = [
    "add",
    "subtract",
    "sub",
    "multiply",
    "mul",
    "true_divide",
    "divide",
    "floor_divide",
    "mod",
    "remainder",
    "power",
    "negative",
    "neg",
    "abs",
    "sign",
    "maximum",
    "minimum",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "isnan",
    "isfinite",
    "where",
    "clip",
    "stop_gradient",
]
