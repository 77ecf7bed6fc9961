"""Canonicalisation, constant folding and algebraic simplification.

Each rewrite is one small rule ``rule(node) -> replacement tensors | None`` whose
docstring states the identity it applies; a table per pass maps op names to the rules
tried on such a node, and the pass runs them to a fixpoint with the shared driver
(``symgraph.passes.rewrite``), which rebuilds nodes bottom-up, checks that every
replacement keeps the dtype and shape, and gives new nodes the replaced node's line.

Floating-point results stay as IEEE gives them: rules that would change a value for
some input (x - x is NaN for an infinite x, x * 0 is NaN for inf and NaN, x + 0.0 turns
-0.0 into +0.0, maximum/minimum pick the second operand on a tie of signed zeros) are
restricted to the dtypes where they are exact.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from symgraph.errors import SymgraphError
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor, apply
from symgraph.graph.sources import Constant, constant, dim_value
from symgraph.interpreter import evaluate_node
from symgraph.ops.arithmetic import add, mul
from symgraph.ops.elementwise import cast
from symgraph.ops.shape_ops import broadcast_to, reshape, transpose
from symgraph.passes.rewrite import fixpoint

Rule = Callable[[Node], "list[Tensor] | None"]

FOLD_LIMIT = 65536  # constant folding never materialises more elements than this


# ---------------------------------------------------------------- helpers


def _const(t: Tensor) -> np.ndarray | None:
    """The value of ``t`` when a Constant node computes it."""
    op = t.node.op
    return op.value if isinstance(op, Constant) else None


def _uniform(t: Tensor) -> np.ndarray | None:
    """The one value every element of ``t`` has (a 0-d array), when ``t`` is a constant
    or a broadcast of a constant whose elements are all equal; else None."""
    node = t.node
    if node.op.name == "broadcast_to":
        t = node.inputs[0]
    value = _const(t)
    if value is None or value.size == 0:
        return None
    first = value.reshape(-1)[0]
    if value.size > 1 and not np.array_equal(value, np.broadcast_to(first, value.shape)):
        return None
    return np.asarray(first)


def _is(t: Tensor, number: float) -> bool:
    """Whether every element of ``t`` is the constant ``number`` (exactly, any sign of zero)."""
    v = _uniform(t)
    return v is not None and bool(v == number)


def _is_neg_zero(t: Tensor) -> bool:
    v = _uniform(t)
    return v is not None and v.dtype.kind == "f" and v == 0 and bool(np.signbit(v))


def _exact(dtype: np.dtype) -> bool:
    """Integers and bools: arithmetic identities hold for every value (no NaN, inf, -0)."""
    return dtype.kind in "biu"


def _like(x: Tensor, out: Tensor) -> Tensor | None:
    """``x`` broadcast to ``out``'s shape (x itself when shapes agree); None when it has
    another dtype or does not broadcast."""
    if x.dtype != out.dtype:
        return None
    if x.shape == out.shape:
        return x
    try:
        return broadcast_to(x, out.shape)
    except SymgraphError:
        return None


def _zeros_like(out: Tensor) -> Tensor:
    """Zeros of ``out``'s dtype and shape: a broadcast scalar constant."""
    return broadcast_to(constant(np.zeros((), out.dtype)), out.shape)


def _run(table: dict[str, tuple[Rule, ...]], node: Node) -> list[Tensor] | None:
    """The first replacement a rule of ``table`` for the node's op returns."""
    for rule in table.get(node.op.name, ()):
        replacement = rule(node)
        if replacement is not None:
            return replacement
    return None


# ---------------------------------------------------------------- canonicalize

_COMMUTATIVE = {"add", "mul", "maximum", "minimum", "equal", "not_equal", "logical_and", "logical_or"}


def constant_operand_second(node: Node) -> list[Tensor] | None:
    """op(c, x) -> op(x, c) for commutative op and constant c (maximum and minimum only on
    integers and bools: on floats a tie of 0.0 and -0.0 returns the second operand)."""
    a, b = node.inputs
    if _const(a) is None or _const(b) is not None:
        return None
    if node.op.name in ("maximum", "minimum") and not _exact(a.dtype):
        return None
    return list(apply(node.op, b, a).outputs)


def sub_constant_to_add(node: Node) -> list[Tensor] | None:
    """x - c -> x + (-c) for a constant c (exact in IEEE; integers wrap alike)."""
    x, c = node.inputs
    value = _const(c)
    if value is None or _const(x) is not None:
        return None
    with np.errstate(all="ignore"):
        negated = np.negative(value)
    return list(apply(add, x, constant(negated)).outputs)


def divide_by_power_of_two(node: Node) -> list[Tensor] | None:
    """x / c -> x * (1/c) for a float constant c whose elements are all one power of two
    with an exact reciprocal (both round the same exact value: bit-identical)."""
    x, c = node.inputs
    value, v = _const(c), _uniform(c)
    if value is None or v is None or v.dtype.kind != "f" or _const(x) is not None or not np.isfinite(v) or v == 0:
        return None
    with np.errstate(all="ignore"):
        reciprocal = (np.ones((), v.dtype) / v).astype(v.dtype)
    if not np.isfinite(reciprocal) or np.frexp(v)[0] not in (0.5, -0.5) or np.frexp(reciprocal)[0] not in (0.5, -0.5):
        return None
    scale = constant(np.full(value.shape, reciprocal, v.dtype))
    return list(apply(mul, x, scale).outputs)


def negate_constant(node: Node) -> list[Tensor] | None:
    """-(c) -> the constant -c."""
    value = _const(node.inputs[0])
    if value is None:
        return None
    with np.errstate(all="ignore"):
        return [constant(np.negative(value).astype(value.dtype))]


_CANONICAL: dict[str, tuple[Rule, ...]] = {
    **{name: (constant_operand_second,) for name in _COMMUTATIVE},
    "sub": (sub_constant_to_add,),
    "true_divide": (divide_by_power_of_two,),
    "negative": (negate_constant,),
}


def canonical_rule(node: Node) -> list[Tensor] | None:
    """The canonical-form rules for this node's op."""
    return _run(_CANONICAL, node)


def canonicalize(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Put equivalent expressions in one form so that merging and later rules see them."""
    return fixpoint(canonical_rule)(outputs)


# ---------------------------------------------------------------- constant folding


def fold(node: Node) -> list[Tensor] | None:
    """op(c1, c2, ...) -> the constant op computes, through the op's numpy reference
    (not for sources, nor results larger than FOLD_LIMIT elements, nor ops whose shape
    is known only at call time)."""
    op = node.op
    if not node.inputs or not op.interned or any(_const(t) is None for t in node.inputs):
        return None
    for t in node.outputs:
        if not shp.is_static_shape(t.shape) or shp.prod(t.shape) > FOLD_LIMIT:
            return None
    try:
        values = evaluate_node(node, [_const(t) for t in node.inputs], {})
    except (SymgraphError, ArithmeticError, ValueError, NotImplementedError):
        return None  # the error is the call's to raise, with its line
    return [constant(v) for v in values]


def fold_constants(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Compute nodes whose inputs are all constants, through the ops' numpy references."""
    return fixpoint(fold)(outputs)


# ---------------------------------------------------------------- algebraic simplification


def mul_by_one(node: Node) -> list[Tensor] | None:
    """x * 1 -> x and 1 * x -> x (x broadcast to the product's shape)."""
    a, b = node.inputs
    out = node.outputs[0]
    for x, one in ((a, b), (b, a)):
        if _is(one, 1):
            y = _like(x, out)
            if y is not None:
                return [y]
    return None


def _computes_nothing(t: Tensor) -> bool:
    """Whether dropping ``t`` drops no computation: a leaf (placeholder, Variable,
    constant). A rule that removes a computed operand would also remove the call-time
    error it may raise (an index out of range, an integer power's negative exponent), so
    the answer would depend on the level."""
    return not t.node.inputs


def mul_by_zero(node: Node) -> list[Tensor] | None:
    """x * 0 -> 0 for integers and bools only (a float inf or NaN times 0 is NaN), and
    only where x computes nothing (its errors must be raised at every level)."""
    a, b = node.inputs
    if not _exact(a.dtype):
        return None
    if _is(a, 0) and _computes_nothing(b) or _is(b, 0) and _computes_nothing(a):
        return [_zeros_like(node.outputs[0])]
    return None


def add_zero(node: Node) -> list[Tensor] | None:
    """x + 0 -> x and 0 + x -> x for integers and bools, and x + (-0.0) -> x for floats
    (x + 0.0 turns -0.0 into +0.0, so it stays)."""
    a, b = node.inputs
    out = node.outputs[0]
    for x, zero in ((a, b), (b, a)):
        if _is_neg_zero(zero) if a.dtype.kind == "f" else _is(zero, 0):
            y = _like(x, out)
            if y is not None:
                return [y]
    return None


def sub_zero(node: Node) -> list[Tensor] | None:
    """x - 0 -> x (exact, -0.0 - 0.0 is -0.0)."""
    x, zero = node.inputs
    return [y] if _is(zero, 0) and (y := _like(x, node.outputs[0])) is not None else None


def sub_self(node: Node) -> list[Tensor] | None:
    """x - x -> 0 for integers only (a float inf or NaN minus itself is NaN), where x
    computes nothing (its errors must be raised at every level)."""
    a, b = node.inputs
    return [_zeros_like(node.outputs[0])] if a is b and _exact(a.dtype) and _computes_nothing(a) else None


def divide_by_one(node: Node) -> list[Tensor] | None:
    """x / 1 -> x."""
    x, one = node.inputs
    return [y] if _is(one, 1) and (y := _like(x, node.outputs[0])) is not None else None


def divide_self(node: Node) -> list[Tensor] | None:
    """x / x -> 1 where that is exact: x a constant (or a broadcast of one too large to
    fold) whose elements are all finite and nonzero. For any other x it is kept: 0/0
    and inf/inf are NaN, so a value known only at call time could make it wrong."""
    a, b = node.inputs
    if a is not b:
        return None
    value = _const(a.node.inputs[0] if a.node.op.name == "broadcast_to" else a)
    if value is None or value.size == 0 or not np.all(np.isfinite(value)) or np.any(value == 0):
        return None
    out = node.outputs[0]
    return [broadcast_to(constant(np.ones((), out.dtype)), out.shape)]


def double_negation(node: Node) -> list[Tensor] | None:
    """-(-x) -> x."""
    inner = node.inputs[0].node
    return [inner.inputs[0]] if inner.op.name == "negative" else None


def double_transpose(node: Node) -> list[Tensor] | None:
    """transpose(transpose(x, p), q) -> transpose(x, p[q]) (nothing when that is the identity)."""
    inner = node.inputs[0].node
    if inner.op.name != "transpose":
        return None
    return [transpose(inner.inputs[0], tuple(inner.op.perm[i] for i in node.op.perm))]


def reshape_chain(node: Node) -> list[Tensor] | None:
    """reshape(reshape(x, s), t) -> reshape(x, t) (x itself when it has shape t)."""
    inner = node.inputs[0].node
    if inner.op.name != "reshape":
        return None
    return [reshape(inner.inputs[0], node.op.shape)]


def reshape_to_same_shape(node: Node) -> list[Tensor] | None:
    """reshape(x, shape of x) -> x."""
    x = node.inputs[0]
    return [x] if x.shape == node.outputs[0].shape else None


def broadcast_chain(node: Node) -> list[Tensor] | None:
    """broadcast_to(broadcast_to(x, s), t) -> broadcast_to(x, t)."""
    inner = node.inputs[0].node
    if inner.op.name != "broadcast_to":
        return None
    try:
        return [broadcast_to(inner.inputs[0], node.op.shape)]
    except SymgraphError:
        return None


def broadcast_to_same_shape(node: Node) -> list[Tensor] | None:
    """broadcast_to(x, shape of x) -> x."""
    x = node.inputs[0]
    return [x] if x.shape == node.outputs[0].shape else None


def sum_of_broadcast(node: Node) -> list[Tensor] | None:
    """sum(broadcast_to(x, s), axes) -> x * n when every summed axis is one the broadcast
    added (n: the number of copies summed, a static count; floats need n >= 1, as inf * 0
    is NaN where the empty sum is 0)."""
    inner = node.inputs[0].node
    if inner.op.name != "broadcast_to":
        return None
    x, target, out = inner.inputs[0], inner.op.shape, node.outputs[0]
    padded = (1,) * (len(target) - x.ndim) + tuple(x.shape)
    axes = set(node.op.axes)
    if any(padded[a] != 1 for a in axes):
        return None
    n = shp.prod([target[a] for a in axes])
    if out.dtype.kind == "f" and not (isinstance(n, int) and n >= 1):
        return None
    kept = tuple(1 if a in axes else d for a, d in enumerate(padded) if a not in axes or node.op.keepdims)
    y = broadcast_to(reshape(cast(x, out.dtype), kept), out.shape)
    count = constant(np.array(n, out.dtype)) if isinstance(n, int) else cast(dim_value(n), out.dtype)
    return [y if isinstance(n, int) and n == 1 else apply(mul, y, count).outputs[0]]


def drop_identity(node: Node) -> list[Tensor] | None:
    """identity(x) -> x (a value of its own matters while a program is traced, not after)."""
    return [node.inputs[0]]


def cast_to_same_dtype(node: Node) -> list[Tensor] | None:
    """cast(x, dtype of x) -> x."""
    x = node.inputs[0]
    return [x] if x.dtype == node.op.dtype else None


def cast_of_widening_cast(node: Node) -> list[Tensor] | None:
    """cast(cast(x, w), d) -> cast(x, d) when w widens x within its kind (w holds every
    value of x exactly, so the outer cast sees the same numbers)."""
    inner = node.inputs[0].node
    if inner.op.name != "cast":
        return None
    x, wide = inner.inputs[0], inner.op.dtype
    if x.dtype.kind != wide.kind or wide.itemsize <= x.dtype.itemsize or x.dtype.kind == "b":
        return None
    return [cast(x, node.op.dtype)]


_ALGEBRA: dict[str, tuple[Rule, ...]] = {
    "mul": (mul_by_one, mul_by_zero),
    "add": (add_zero,),
    "sub": (sub_zero, sub_self),
    "true_divide": (divide_by_one, divide_self),
    "negative": (double_negation,),
    "identity": (drop_identity,),
    "transpose": (double_transpose,),
    "reshape": (reshape_to_same_shape, reshape_chain),
    "broadcast_to": (broadcast_to_same_shape, broadcast_chain),
    "sum": (sum_of_broadcast,),
    "cast": (cast_to_same_dtype, cast_of_widening_cast),
}


def algebra_rule(node: Node) -> list[Tensor] | None:
    """The algebraic simplifications for this node's op."""
    return _run(_ALGEBRA, node)


def simplify_algebra(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """x*1, x+0, x-x, neg(neg x), double transposes, reshape chains, ..."""
    return fixpoint(algebra_rule)(outputs)


__all__ = ["FOLD_LIMIT", "canonicalize", "fold_constants", "simplify_algebra"]
