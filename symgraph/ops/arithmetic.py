"""Elementwise arithmetic, comparisons, logic, ``where`` and ``clip``.

Each op's public function is an instance of its class (``sg.add = Add()``): calling it
promotes the operands and builds the node. Gradients of binary ops sum the output
gradient back over broadcast axes (``sum_to_shape``).
"""

from __future__ import annotations

import numpy as np

from symgraph import dtypes
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.ops import math as ops_math
from symgraph.ops import shape_ops
from symgraph.ops.c_api import c_math
from symgraph.ops.elementwise import (
    ANY,
    BOOL,
    FLOAT,
    NUMERIC,
    Elementwise,
    TensorLike,
    broadcast_shapes,
    c_const,
    c_maximum,
    c_minimum,
    c_negate,
    c_type,
    c_wrap,
    cast,
    promote,
    sum_to_shape,
)
from symgraph.ops.registry import register


def _float_grad(x: Tensor) -> bool:
    return dtypes.is_float(x.dtype)


def _c_float_floordiv(a: str, b: str, dtype: np.dtype) -> str:
    """numpy's float floor_divide (npy_floor_divide/npy_divmod) as one C expression:
    x // 0 is x / 0; else div = (a - fmod(a, b)) / b, one less when the remainder's sign
    differs from b's, snapped to the nearest integer (floor, plus one above .5); a zero
    quotient takes the sign of a / b."""
    mod = f"{c_math('fmod', dtype)}({a}, {b})"
    adjust = f"(({mod} != 0 && (({b} < 0) != ({mod} < 0))) ? {c_const(1, dtype)} : {c_const(0, dtype)})"
    div = f"((({a} - {mod}) / {b}) - {adjust})"
    floor = f"{c_math('floor', dtype)}({div})"
    snapped = f"({floor} + (({div} - {floor}) > {c_const(0.5, dtype)} ? {c_const(1, dtype)} : {c_const(0, dtype)}))"
    zero = f"{c_math('copysign', dtype)}({c_const(0, dtype)}, {a} / {b})"
    return f"({b} == 0 ? ({a} / {b}) : ({div} != 0 ? {snapped} : {zero}))"


def _c_float_mod(a: str, b: str, dtype: np.dtype) -> str:
    """numpy's float remainder (npy_remainder): fmod(a, b) moved to b's sign (a zero
    remainder is a zero of b's sign); x % 0 is fmod(x, 0), NaN."""
    mod = f"{c_math('fmod', dtype)}({a}, {b})"
    zero = f"{c_math('copysign', dtype)}({c_const(0, dtype)}, {b})"
    moved = f"((({b} < 0) != ({mod} < 0)) ? ({mod} + {b}) : {mod})"
    return f"({b} == 0 ? {mod} : ({mod} != 0 ? {moved} : {zero}))"


@register
class Add(Elementwise):
    """a + b"""

    name = "add"
    arity = 2

    def compute(self, a, b):
        return a + b if a.dtype != np.bool_ else a | b

    def c_expr(self, args, dtype):
        a, b = args
        if dtype.kind == "b":
            return f"({a} || {b})"
        return f"({a} + {b})" if dtype.kind == "f" else c_wrap(a, "+", b, dtype)

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

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} - {b})" if dtype.kind == "f" else c_wrap(a, "-", b, dtype)

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

    def c_expr(self, args, dtype):
        a, b = args
        if dtype.kind == "b":
            return f"({a} && {b})"
        return f"({a} * {b})" if dtype.kind == "f" else c_wrap(a, "*", b, dtype)

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

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} / {b})"

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

    def c_expr(self, args, dtype):
        a, b = args
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return _c_float_floordiv(a, b, dtype)
        ctype = c_type(dtype)
        if dtype.kind == "u":
            return f"(({ctype})({b} == 0 ? 0 : {a} / {b}))"
        # x // 0 is 0 and MIN // -1 wraps to MIN, as numpy gives (C: undefined, a trap)
        r = f"({a} % {b})"
        floor = f"({a} / {b} - ({r} != 0 && (({r} < 0) != ({b} < 0))))"
        return f"(({ctype})({b} == 0 ? 0 : ({b} == -1 ? {c_negate(a, dtype)} : {floor})))"

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        return [
            shape_ops.zeros_like(a) if _float_grad(a) else None,
            shape_ops.zeros_like(b) if _float_grad(b) else None,
        ]


@register
class Mod(Elementwise):
    """a % b with the sign of b (numpy's remainder)."""

    name = "mod"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        return np.remainder(a, b)

    def c_expr(self, args, dtype):
        a, b = args
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return _c_float_mod(a, b, dtype)
        ctype = c_type(dtype)
        if dtype.kind == "u":
            return f"(({ctype})({b} == 0 ? 0 : {a} % {b}))"
        # x % 0 is 0 (numpy), x % -1 is 0 (C's MIN % -1 traps)
        r = f"({a} % {b})"
        return f"(({ctype})(({b} == 0 || {b} == -1) ? 0 : {r} + (({r} != 0 && (({r} < 0) != ({b} < 0))) ? {b} : 0)))"

    def grad(self, inputs, outputs, output_grads):
        (a, b), (g,) = inputs, output_grads
        if not _float_grad(a):
            return [None, None]
        return [sum_to_shape(g, a.shape), sum_to_shape(neg(mul(g, ops_math.floor(true_divide(a, b)))), b.shape)]


@register
class Pow(Elementwise):
    """a ** b"""

    name = "power"
    arity = 2
    input_kind = NUMERIC

    def compute(self, a, b):
        # only an exponent that meets an element raises (numpy's rule: an empty result
        # computes nothing, and the C loop runs no element)
        if a.dtype.kind in "iu" and np.any(np.broadcast_to(b, np.broadcast_shapes(np.shape(a), np.shape(b))) < 0):
            raise ValueError("integers to negative integer powers are not allowed")
        out = np.power(a, b)
        if a.dtype.kind == "f" and np.any(b == 0.5):
            # C's pow in every case: numpy answers an exponent 0.5 given as one number
            # (0-d, or broadcast) with its sqrt, which differs at -inf and -0 (nan and -0
            # against pow's inf and +0)
            half = b == 0.5
            out = np.where(half & (a == -np.inf), np.inf, out)
            out = np.where(half & (a == 0), 0.0, out).astype(out.dtype)
        return out

    def c_expr(self, args, dtype):
        """Floats: C's pow, through ``sg_pow``/``sg_powf`` (csrc/symgraph_math.h), which
        keeps pow's answers for an exponent of 0.5 in vectorised loops too. Integers:
        exact power by squaring, wrapping around as numpy does, through
        ``sg_ipow_<ctype>`` (defined by ``c_support``: a loop is no expression). A
        negative exponent, which the reference rejects, raises the flag that
        ``c_loop_checks`` turns into an error after the loop."""
        a, b = args
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return f"{'sg_powf' if dtype == np.float32 else 'sg_pow'}({a}, {b})"
        return f"sg_ipow_{c_type(dtype)}({a}, {b})"

    def c_support(self, dtype):
        """C definitions ``c_expr`` needs: the integer power function for ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return ""
        ctype = c_type(dtype)
        work = "uint64_t" if dtype.itemsize == 8 else "uint32_t"
        guard = f"SG_IPOW_{ctype.upper()}"
        return (
            "#ifndef SG_IPOW_FLAG\n"
            "#define SG_IPOW_FLAG\n"
            "static int sg_ipow_negative_exponent; /* set by any thread; read and reset after the loop */\n"
            "#endif\n"
            f"#ifndef {guard}\n"
            f"#define {guard}\n"
            f"/* a ** b for {dtype.name}, wrapping around like numpy; b < 0 raises the flag */\n"
            f"static inline {ctype} sg_ipow_{ctype}({ctype} a, {ctype} b)\n"
            "{\n"
            f"    {work} base = ({work})a, r = 1;\n"
            "    if (b < 0) {\n"
            "        __atomic_store_n(&sg_ipow_negative_exponent, 1, __ATOMIC_RELAXED);\n"
            "        return 0;\n"
            "    }\n"
            "    while (b) {\n"
            "        if (b & 1) r *= base;\n"
            "        base *= base;\n"
            "        b >>= 1;\n"
            "    }\n"
            f"    return ({ctype})r;\n"
            "}\n"
            "#endif\n"
        )

    def c_loop_checks(self, dtype) -> list[str]:
        """Statements after the loop: the error ``compute`` raises, when an integer
        power met a negative exponent."""
        if np.dtype(dtype).kind == "f":
            return []
        return [
            "if (sg_ipow_negative_exponent) {",
            "    sg_ipow_negative_exponent = 0;",
            '    SG_FAIL(SG_ERR_VALUE, "integers to negative integer powers are not allowed");',
            "}",
        ]

    def grad(self, inputs, outputs, output_grads):
        (a, b), (out,), (g,) = inputs, outputs, output_grads
        if not _float_grad(a):
            return [None, None]
        ga = mul(g, mul(b, power(a, sub(b, 1))))
        # log(a) is taken where a != 0 only: there out is 0 (b > 0) and the term vanishes
        safe_a = where(equal(a, 0), 1, a)
        gb = mul(g, mul(out, ops_math.log(safe_a)))
        return [sum_to_shape(ga, a.shape), sum_to_shape(gb, b.shape)]


@register
class Neg(Elementwise):
    """-x"""

    name = "negative"
    input_kind = NUMERIC

    def compute(self, x):
        return -x

    def c_expr(self, args, dtype):
        return c_negate(args[0], dtype)

    def grad(self, inputs, outputs, output_grads):
        return [neg(output_grads[0])]


@register
class Identity(Elementwise):
    """x, as a value of its own (``tf.identity``). A traced ``read_value`` is one: the
    Variable's value at that point of the program, which a later assign does not change.
    Simplification removes it."""

    name = "identity"

    def compute(self, x):
        return np.copy(x)

    def c_expr(self, args, dtype):
        return args[0]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]


@register
class Abs(Elementwise):
    """|x|"""

    name = "abs"

    def compute(self, x):
        return np.abs(x)

    def c_expr(self, args, dtype):
        """|x|; abs(INT_MIN) wraps to INT_MIN, as in numpy."""
        (x,) = args
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return f"{c_math('fabs', dtype)}({x})"
        if dtype.kind in "bu":
            return f"({x})"
        return f"(({c_type(dtype)})({x} < 0 ? {c_negate(x, dtype)} : {x}))"

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

    def c_expr(self, args, dtype):
        """-1, 0 or 1; sign(-0.0) is 0.0 and sign(NaN) NaN, as in numpy."""
        (x,) = args
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            one, zero = c_const(1, dtype), c_const(0, dtype)
            return f"({x} > 0 ? {one} : ({x} < 0 ? (-{one}) : ({x} == 0 ? {zero} : {x})))"
        return f"(({c_type(dtype)})(({x} > 0) - ({x} < 0)))"

    def grad(self, inputs, outputs, output_grads):
        return [shape_ops.zeros_like(inputs[0]) if _float_grad(inputs[0]) else None]


@register
class Maximum(Elementwise):
    """maximum(a, b), NaN-propagating; at ties the gradient is split evenly."""

    name = "maximum"
    arity = 2

    def compute(self, a, b):
        return np.maximum(a, b)

    def c_expr(self, args, dtype):
        return c_maximum(*args, dtype)

    def grad(self, inputs, outputs, output_grads):
        return _minmax_grad(greater, inputs, output_grads)


@register
class Minimum(Elementwise):
    """minimum(a, b), NaN-propagating; at ties the gradient is split evenly."""

    name = "minimum"
    arity = 2

    def compute(self, a, b):
        return np.minimum(a, b)

    def c_expr(self, args, dtype):
        return c_minimum(*args, dtype)

    def grad(self, inputs, outputs, output_grads):
        return _minmax_grad(less, inputs, output_grads)


def _minmax_grad(wins, inputs, output_grads):
    (a, b), (g,) = inputs, output_grads
    if not _float_grad(a):
        return [None, None]
    share_a = add(cast_like(wins(a, b), g), mul(cast_like(equal(a, b), g), 0.5))
    return [sum_to_shape(mul(g, share_a), a.shape), sum_to_shape(mul(g, sub(1, share_a)), b.shape)]


def cast_like(x: Tensor, like: Tensor) -> Tensor:
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

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} == {b})"


@register
class NotEqual(Comparison):
    """a != b"""

    name = "not_equal"

    def compute(self, a, b):
        return a != b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} != {b})"


@register
class Less(Comparison):
    """a < b"""

    name = "less"

    def compute(self, a, b):
        return a < b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} < {b})"


@register
class LessEqual(Comparison):
    """a <= b"""

    name = "less_equal"

    def compute(self, a, b):
        return a <= b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} <= {b})"


@register
class Greater(Comparison):
    """a > b"""

    name = "greater"

    def compute(self, a, b):
        return a > b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} > {b})"


@register
class GreaterEqual(Comparison):
    """a >= b"""

    name = "greater_equal"

    def compute(self, a, b):
        return a >= b

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} >= {b})"


@register
class LogicalAnd(Comparison):
    """a and b, elementwise on truth values."""

    name = "logical_and"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_and(a, b)

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} && {b})"


@register
class LogicalOr(Comparison):
    """a or b, elementwise on truth values."""

    name = "logical_or"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_or(a, b)

    def c_expr(self, args, dtype):
        a, b = args
        return f"({a} || {b})"


@register
class LogicalXor(Comparison):
    """a xor b, elementwise on truth values."""

    name = "logical_xor"
    input_kind = BOOL

    def compute(self, a, b):
        return np.logical_xor(a, b)

    def c_expr(self, args, dtype):
        a, b = args
        return f"((!({a})) != (!({b})))"


@register
class LogicalNot(Elementwise):
    """not x, elementwise on truth values."""

    name = "logical_not"
    input_kind = BOOL
    output_kind = "bool"

    def compute(self, x):
        return np.logical_not(x)

    def c_expr(self, args, dtype):
        return f"(!({args[0]}))"

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class IsNan(Elementwise):
    """isnan(x)"""

    name = "isnan"
    output_kind = "bool"

    def compute(self, x):
        return np.isnan(x)

    def c_expr(self, args, dtype):
        return f"(isnan({args[0]}) != 0)" if np.dtype(dtype).kind == "f" else "0"

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class IsFinite(Elementwise):
    """isfinite(x)"""

    name = "isfinite"
    output_kind = "bool"

    def compute(self, x):
        return np.isfinite(x)

    def c_expr(self, args, dtype):
        return f"(isfinite({args[0]}) != 0)" if np.dtype(dtype).kind == "f" else "1"

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

    def c_expr(self, args, dtype):
        """(``dtype`` is the condition's, bool; a and b share the output's dtype.)"""
        cond, a, b = args
        return f"({cond} ? {a} : {b})"

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

    def c_expr(self, args, dtype):
        x, lo, hi = args
        return c_minimum(c_maximum(x, lo, dtype), hi, dtype)

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
identity = Identity()
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

    def c_expr(self, args, dtype):
        return f"({args[0]})"

    def grad(self, inputs, outputs, output_grads):
        return [shape_ops.zeros_like(inputs[0]) if _float_grad(inputs[0]) else None]


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
    "identity",
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
