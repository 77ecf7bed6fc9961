"""Numerical stabilisation: rewrite forms that overflow or lose precision.

Each rule below is one identity, matched on op names and attributes, returning the
stable form (of exactly the replaced tensor's dtype and shape) or None. The rules run
together, bottom-up, until none fires; since a rewritten subexpression is visited
before its users, ``log(softmax(x))`` has already become ``log_softmax(x)`` when the
cross-entropy rule looks at ``sum(targets * log_softmax(x))``.

Constants are matched by value (a ``constant`` node whose elements all equal 1, of
any dtype and shape), and the operands of commutative ops in either order, since
canonicalisation may reorder them.
"""

from __future__ import annotations

import numpy as np

from symgraph.errors import SymgraphError
from symgraph.graph.core import Node, Tensor
from symgraph.ops import arithmetic as ar
from symgraph.ops import shape_ops
from symgraph.ops.activations import softplus
from symgraph.ops.losses import log_softmax, softmax_cross_entropy, sparse_softmax_cross_entropy
from symgraph.ops.math import expm1, log1p
from symgraph.ops.reduction import logsumexp, reduced_shape
from symgraph.ops.reduction import sum as sum_
from symgraph.passes.rewrite import Rule, fixpoint

# ---------------------------------------------------------------- matching helpers


def _op(t: Tensor, *names: str) -> bool:
    return t.node.op.name in names


def _constant_value(t: Tensor) -> np.ndarray | None:
    """The value of a constant tensor: a ``constant`` node, or a reshaped ``arange``."""
    op = t.node.op
    if op.name == "constant":
        return op.value
    if op.name == "arange" and isinstance(op.length, int) and isinstance(op.start, (int, float)):
        return op.start + op.step * np.arange(op.length, dtype=op.dtype)
    if op.name == "reshape" and all(isinstance(d, int) for d in t.shape):
        inner = _constant_value(t.node.inputs[0])
        return None if inner is None else inner.reshape(t.shape)
    return None


def _is_all(t: Tensor, value: float) -> bool:
    v = _constant_value(t)
    return v is not None and v.size > 0 and bool(np.all(v == value))


def _other_than(node: Node, value: float) -> Tensor | None:
    """For a binary node with one operand constant ``value`` (either side): the other."""
    a, b = node.inputs
    if _is_all(b, value):
        return a
    if _is_all(a, value):
        return b
    return None


def _fits(new: Tensor, node: Node) -> list[Tensor] | None:
    """``[new]`` if it can replace the node's single output (same dtype and shape)."""
    (old,) = node.outputs
    return [new] if new.dtype == old.dtype and new.shape == old.shape else None


def _same_type(a: Tensor, b: Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape


def _unbroadcast(a: Tensor, out: Tensor) -> bool:
    """Whether operand ``a`` of an elementwise op with output ``out`` has out's dtype and
    is not broadcast to it (equal shapes, up to differently named symbolic sizes, which
    never broadcast)."""
    return (
        a.dtype == out.dtype
        and a.ndim == out.ndim
        and all(
            d == e or not isinstance(d, int) or d != 1 and not isinstance(e, int) for d, e in zip(a.shape, out.shape)
        )
    )


# ---------------------------------------------------------------- rules


def log_of_softmax(node: Node) -> list[Tensor] | None:
    """log(softmax(x, axis)) -> log_softmax(x, axis).

    softmax underflows to 0 for a logit far below the slice's maximum, and log(0) is
    -inf; log_softmax computes (x - max) - log(sum(exp(x - max))), finite for any
    finite logits."""
    if not _op(node.outputs[0], "log") or not _op(node.inputs[0], "softmax"):
        return None
    sm = node.inputs[0].node
    return _fits(log_softmax(sm.inputs[0], sm.op.axis), node)


def _labels_of_one_hot(t: Tensor, axis: int, depth: object) -> Tensor | None:
    """The integer labels y if ``t`` is one_hot(y, depth) along ``axis``, spelt as
    cast(equal(expand_dims(y, axis), arange(depth) shaped along axis)) (sg.one_hot)."""
    while _op(t, "cast") and t.dtype.kind == "f":
        t = t.node.inputs[0]
    if not _op(t, "equal") or not isinstance(depth, int):
        return None
    for labels, positions in (t.node.inputs, t.node.inputs[::-1]):
        values = _constant_value(positions)
        expected = np.arange(depth).reshape([depth if a == axis else 1 for a in range(t.ndim)])
        if values is None or values.shape != expected.shape or not np.array_equal(values, expected):
            continue
        if not _op(labels, "reshape") or labels.dtype.kind not in "iu":
            continue
        y = labels.node.inputs[0]
        if y.dtype.kind in "iu" and labels.shape == y.shape[:axis] + (1,) + y.shape[axis:]:
            return y
    return None


def sum_of_targets_times_log_softmax(node: Node) -> list[Tensor] | None:
    """sum(targets * log_softmax(x, a), axes) -> -softmax_cross_entropy(x, targets, a)
    (summed over the other axes), for axes holding a; with one_hot(y) targets along a:
    -sparse_softmax_cross_entropy(x, y, a).

    The fused op never forms 0 * log(0) (a zero target counts 0, where the written form
    gives NaN once a probability underflows), and its gradient is the exact
    softmax * sum(targets) - targets instead of the chain through log and softmax.
    The leading negation cancels with the user's (``-sum(...)``), see
    ``negated_cross_entropy``."""
    (out,) = node.outputs
    if not _op(out, "sum") or not _op(node.inputs[0], "mul"):
        return None
    product = node.inputs[0]
    for targets, lsm in (product.node.inputs, product.node.inputs[::-1]):
        if _op(lsm, "log_softmax") and _unbroadcast(lsm, product) and targets.dtype == product.dtype:
            break
    else:
        return None
    axis = lsm.node.op.axis
    axes = node.op.axes
    if axis not in axes:
        return None
    x = lsm.node.inputs[0]
    labels = _labels_of_one_hot(targets, axis, x.shape[axis])
    expected = reduced_shape(product.shape, (axis,), False)
    if labels is not None and _unbroadcast(targets, product):
        loss = sparse_softmax_cross_entropy(x, labels, axis)
    else:
        loss = softmax_cross_entropy(x, targets, axis)
    if loss.shape != expected:  # equal sizes, named by different symbols
        loss = shape_ops.reshape(loss, expected)
    rest = tuple(a - (a > axis) for a in axes if a != axis)
    if rest:
        loss = sum_(loss, rest)
    if node.op.keepdims:
        loss = shape_ops.reshape(loss, out.shape)
    return _fits(ar.neg(loss), node)


def negated_cross_entropy(node: Node) -> list[Tensor] | None:
    """-(-ce) -> ce, for ce a (sum of a) fused softmax cross-entropy: the negation the
    rule above introduces cancels against the one the user wrote, leaving the loss
    op itself (no extra loop; the identity is exact)."""
    (out,) = node.outputs
    if not _op(out, "negative") or not _op(node.inputs[0], "negative"):
        return None
    inner = node.inputs[0].node.inputs[0]
    core = inner
    while _op(core, "sum", "reshape"):
        core = core.node.inputs[0]
    if not _op(core, "softmax_cross_entropy", "sparse_softmax_cross_entropy"):
        return None
    return _fits(inner, node)


def log_of_one_plus(node: Node) -> list[Tensor] | None:
    """log(1 + x), log(x + 1) -> log1p(x).

    For |x| below the dtype's epsilon, 1 + x rounds to 1 and log gives 0 (or a
    relative error of order eps/|x|); log1p is accurate to an ulp for small x. Only
    where the 1 does not broadcast x to a larger shape."""
    if not _op(node.outputs[0], "log") or not _op(node.inputs[0], "add"):
        return None
    add = node.inputs[0]
    x = _other_than(add.node, 1)
    if x is None or not _same_type(x, add):
        return None
    return _fits(log1p(x), node)


def exp_minus_one(node: Node) -> list[Tensor] | None:
    """exp(x) - 1, exp(x) + (-1), (-1) + exp(x) -> expm1(x).

    For small |x|, exp(x) is within an ulp of 1 and the subtraction cancels nearly
    every significant digit; expm1 keeps full relative accuracy."""
    (out,) = node.outputs
    e = None
    if _op(out, "sub") and _is_all(node.inputs[1], 1):
        e = node.inputs[0]
    elif _op(out, "add"):
        e = _other_than(node, -1)
    if e is None or not _op(e, "exp") or not _same_type(e, out):
        return None
    return _fits(expm1(e.node.inputs[0]), node)


def log_of_sigmoid(node: Node) -> list[Tensor] | None:
    """log(sigmoid(x)) -> -softplus(-x).

    sigmoid(x) underflows to 0 for x below about -88 (float32) or -745 (float64), so
    log gives -inf where the true value is about x; softplus(-x) = max(-x, 0) +
    log1p(exp(-|x|)) never overflows or underflows."""
    if not _op(node.outputs[0], "log") or not _op(node.inputs[0], "sigmoid"):
        return None
    x = node.inputs[0].node.inputs[0]
    return _fits(ar.neg(softplus(ar.neg(x))), node)


def log_of_one_minus_sigmoid(node: Node) -> list[Tensor] | None:
    """log(1 - sigmoid(x)), log(1 + (-sigmoid(x))) -> -softplus(x).

    1 - sigmoid(x) cancels to 0 for x above about 17 (float32), and log gives -inf
    where the true value is about -x; -softplus(x) is exact there."""
    if not _op(node.outputs[0], "log"):
        return None
    inner = node.inputs[0]
    s = None
    if _op(inner, "sub") and _is_all(inner.node.inputs[0], 1):
        s = inner.node.inputs[1]
    elif _op(inner, "add"):
        other = _other_than(inner.node, 1)
        if other is not None and _op(other, "negative"):
            s = other.node.inputs[0]
    if s is None or not _op(s, "sigmoid") or not _same_type(s, inner):
        return None
    return _fits(ar.neg(softplus(s.node.inputs[0])), node)


def _is_shifted_by_max(t: Tensor) -> bool:
    """Whether ``t`` is x - m with m computed from max(x) (logsumexp's own inner form)."""
    if not _op(t, "sub"):
        return False
    x, m = t.node.inputs
    stack, seen = [m], 0
    while stack and seen < 16:
        s = stack.pop()
        seen += 1
        if _op(s, "max") and s.node.inputs[0] is x:
            return True
        stack.extend(s.node.inputs)
    return False


def log_of_sum_of_exp(node: Node) -> list[Tensor] | None:
    """log(sum(exp(x), axes, keepdims)) -> logsumexp(x, axes, keepdims).

    exp overflows to inf for x above about 88 (float32) and the sum of underflowed
    terms is 0 for x below about -103; logsumexp computes m + log(sum(exp(x - m))) with
    m the maximum, finite for any finite x. (Not applied to logsumexp's own shifted
    form, nor over an axis of static size 0, which logsumexp spells as this.)"""
    if not _op(node.outputs[0], "log") or not _op(node.inputs[0], "sum"):
        return None
    total = node.inputs[0]
    e = total.node.inputs[0]
    if not _op(e, "exp") or e.dtype != total.dtype:
        return None
    x = e.node.inputs[0]
    axes, keepdims = total.node.op.axes, total.node.op.keepdims
    if _is_shifted_by_max(x) or any(isinstance(x.shape[a], int) and x.shape[a] == 0 for a in axes):
        return None
    return _fits(logsumexp(x, axes, keepdims), node)


RULES: list[Rule] = [
    log_of_softmax,
    sum_of_targets_times_log_softmax,
    negated_cross_entropy,
    log_of_one_plus,
    exp_minus_one,
    log_of_sigmoid,
    log_of_one_minus_sigmoid,
    log_of_sum_of_exp,
]


def _any_rule(node: Node) -> list[Tensor] | None:
    """The first rule of RULES that rewrites ``node``."""
    if not node.inputs or len(node.outputs) != 1:  # every rule rewrites one value (scan has several)
        return None
    for rule in RULES:
        try:
            replacement = rule(node)
        except SymgraphError:  # the stable form does not build here: leave the node
            continue
        if replacement is not None:
            return replacement
    return None


_run = fixpoint(_any_rule)


def stabilize(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """log(softmax) -> log_softmax, hand-written cross-entropy -> the fused op,
    log(1+x) -> log1p, exp(x)-1 -> expm1, log(sigmoid) -> -softplus(-x),
    log(1-sigmoid) -> -softplus, log(sum(exp)) -> logsumexp (see RULES)."""
    return _run(outputs)
