"""softmax, log_softmax and the cross-entropies (``sg.nn.*``).

Each is one primitive, so the C backend emits one kernel for it (a max, a sum of
exponentials and a normalisation over the class axis) and the stabilisation pass can
fuse ``log(softmax(x))`` into ``log_softmax(x)`` and a softmax followed by a
cross-entropy into the fused loss. Every reference subtracts the maximum over the
class axis first, so no logit magnitude overflows.

The losses return one value per example (no reduction over the batch), like TF's
``*_with_logits``: reduce with ``sg.mean`` or ``sg.sum``.

``axis`` is the class axis (default the last), negative counting from the end; it is
normalised when the node is built.
"""

from __future__ import annotations

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, IndexOutOfRangeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import Dim
from symgraph.graph.sources import as_tensor, constant
from symgraph.ops import arithmetic as ar
from symgraph.ops import reduction, shape_ops
from symgraph.ops.activations import c_log1p_exp_neg_abs, sigmoid
from symgraph.ops.c_api import CArray, CLinkerOp, c_math
from symgraph.ops.elementwise import (
    FLOAT,
    Elementwise,
    TensorLike,
    broadcast_shapes,
    c_const,
    c_maximum,
    cast,
    promote,
    sum_to_shape,
)
from symgraph.ops.math import exp
from symgraph.ops.registry import register


def _class_axis(axis: int, ndim: int, op: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= int(axis) < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}")
    return int(axis) % ndim


def _float_tensor(x: TensorLike) -> Tensor:
    x = as_tensor(x)
    return cast(x, dtypes.float_result(x.dtype))


def _stable_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        shifted = x - m
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# --- C kernels --------------------------------------------------------------------------
#
# Every op here works slice by slice along the class axis: ``_class_loops`` runs one
# body per position outside that axis (C order, so the position's flat index is the
# index of a per-example output or label), with each operand's offset of the slice's
# first class and its class stride. Static size-1 axes broadcast (stride 0). Slices are
# split across OpenMP threads from SG_PARALLEL_MIN elements on (symgraph_sizes.h). Each slice
# takes its maximum (a vectorised max and a NaN flag: NaN if the slice holds one), then
# sums exp(x - max) in double, closer to exact than the references (whose float32 sums
# round in float32).


def _class_loops(full: list[CArray], axis: int, body: list[str], op: str) -> list[str]:
    """C statements running ``body`` once per slice along ``axis`` of the operands
    ``full`` (of one rank, broadcast together). In ``body``: ``sm_r`` is the slice's
    flat index, ``sm_b{k}`` operand k's element offset of class 0, ``sm_cs{k}`` its
    class stride, ``sm_C`` the class count. Symbolic sizes of the operands that differ
    are checked equal at call time (they never broadcast)."""
    ndim = full[0].ndim

    def broadcast(x: CArray, d: int) -> bool:
        return x.static_shape[d] == 1 and any(y.static_shape[d] != 1 for y in full)

    def size(d: int) -> str:
        return next((f"({x.shape[d]})" for x in full if x.static_shape[d] != 1), "1")

    lines = []
    for d in range(ndim):
        sizes = {x.shape[d] for x in full if x.static_shape[d] != 1}
        if len(sizes) > 1:
            first, *rest = sorted(sizes)
            for other in rest:
                lines.append(
                    f"if (({first}) != ({other})) SG_FAIL(SG_ERR_SHAPE, "
                    f'"{op}: the operands\' sizes on axis {d} differ (%lld != %lld)", '
                    f"(long long)({first}), (long long)({other}));"
                )
    # runs of non-class axes, merged where no operand broadcasts: (size, operand strides)
    runs: list[tuple[str, list[str]]] = []
    mergeable = False
    for d in range(ndim):
        if d == axis:
            mergeable = False
            continue
        if all(x.static_shape[d] == 1 for x in full):
            continue
        plain = not any(broadcast(x, d) for x in full)
        strides = ["0" if broadcast(x, d) else x.stride(d) for x in full]
        if plain and mergeable:
            runs[-1] = (f"{runs[-1][0]}*{size(d)}", strides)
        else:
            runs.append((size(d), strides))
        mergeable = plain
    lines.append(f"const int64_t sm_C = {size(axis)};")
    lines += [f"const int64_t sm_n{j} = {n};" for j, (n, _) in enumerate(runs)]
    lines.append(f"const int64_t sm_rows = {'*'.join(f'sm_n{j}' for j in range(len(runs))) or '1'};")
    loop = []
    if len(runs) == 1:
        index = ["sm_r"]
    else:
        index = [f"sm_q{j}" for j in range(len(runs))]
        if runs:
            loop.append("int64_t sm_rest = sm_r;")
            for j in reversed(range(1, len(runs))):
                loop.append(f"const int64_t sm_q{j} = sm_rest % sm_n{j}; sm_rest /= sm_n{j};")
            loop.append("const int64_t sm_q0 = sm_rest;")
    for k, x in enumerate(full):
        terms = [f"{index[j]}*{strides[k]}" for j, (_, strides) in enumerate(runs) if strides[k] != "0"]
        loop.append(f"const int64_t sm_b{k} = {' + '.join(terms) or '0'};")
        loop.append(f"const int64_t sm_cs{k} = {'0' if broadcast(x, axis) else x.stride(axis)};")
    loop = ["for (int64_t sm_r = 0; sm_r < sm_rows; sm_r++) {", *["    " + line for line in loop + body], "}"]
    lines += ["if (sm_rows*sm_C >= SG_PARALLEL_MIN) {", "    #pragma omp parallel for schedule(static)"]
    lines += ["    " + line for line in loop] + ["} else {"] + ["    " + line for line in loop] + ["}"]
    return lines


def _slice_max(x: CArray) -> list[str]:
    """sm_m: the maximum of the slice sm_x (stride sm_xs); NaN if it holds one."""
    return [
        f"{x.ctype} sm_m = (-INFINITY);",
        "int sm_nan = 0;",
        "#pragma omp simd reduction(max:sm_m) reduction(|:sm_nan)",
        "for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) {",
        f"    const {x.ctype} sm_v = sm_x[sm_c*sm_xs];",
        "    sm_m = sm_v > sm_m ? sm_v : sm_m;",
        "    sm_nan |= sm_v != sm_v;",
        "}",
        f"if (sm_nan) sm_m = ({x.ctype})NAN;",
    ]


def _slice_log_sum(x: CArray) -> list[str]:
    """sm_m as _slice_max, and sm_l = log(sum(exp(x - sm_m))) summed in double."""
    c_exp = c_math("exp", x.dtype)
    return _slice_max(x) + [
        "double sm_s = 0.0;",
        "#pragma omp simd reduction(+:sm_s)",
        f"for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) sm_s += (double){c_exp}(sm_x[sm_c*sm_xs] - sm_m);",
        "const double sm_l = log(sm_s);",
    ]


def _shifted(x: CArray, c: str) -> str:
    """log_softmax of class ``c`` of the slice, in double: (x - m) - log(sum)."""
    return f"(((double)sm_x[({c})*sm_xs] - (double)sm_m) - sm_l)"


class _AlongClasses(CLinkerOp):
    """Base of the ops normalising over the class axis ``axis`` (non-negative)."""

    def __init__(self, axis: int):
        self.axis = int(axis)

    def check_logits(self, x: Tensor) -> None:
        if not dtypes.is_float(x.dtype):
            raise DTypeError(f"logits must be float, got {x.dtype.name}")
        if not 0 <= self.axis < x.ndim:
            raise ShapeError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")


@register
class Softmax(_AlongClasses):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) along ``axis``, m = max_j x_j
    (the shift changes nothing mathematically and keeps exp from overflowing);
    dx = y * (g - sum(g * y)) with y the output. A slice of all -inf (or holding +inf)
    is NaN, as in numpy, scipy and JAX."""

    name = "softmax"

    def infer(self, x: Tensor) -> TensorType:
        self.check_logits(x)
        return TensorType(x.dtype, x.shape)

    def reference(self, x):
        with np.errstate(all="ignore"):
            m = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)
            e = np.exp(x - m)
            return np.asarray(e / np.sum(e, axis=self.axis, keepdims=True), x.dtype)

    def c_kernel(self, inputs, outputs):
        """Per slice: the max, exp(x - max) stored and summed in double, then scaled by
        the sum's reciprocal (in double: within an ulp of dividing)."""
        (x,), (y,) = inputs, outputs
        c_exp = c_math("exp", x.dtype)
        body = [
            f"const {x.ctype} *sm_x = {x.ptr} + sm_b0;",
            "const int64_t sm_xs = sm_cs0;",
            f"{y.ctype} *sm_y = {y.ptr} + sm_b1;",
            "const int64_t sm_ys = sm_cs1;",
            *_slice_max(x),
            "double sm_s = 0.0;",
            "#pragma omp simd reduction(+:sm_s)",
            "for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) {",
            f"    const {x.ctype} sm_e = {c_exp}(sm_x[sm_c*sm_xs] - sm_m);",
            "    sm_y[sm_c*sm_ys] = sm_e;",
            "    sm_s += sm_e;",
            "}",
            "const double sm_inv = 1.0 / sm_s;",
            f"for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) sm_y[sm_c*sm_ys] = ({y.ctype})(sm_y[sm_c*sm_ys] * sm_inv);",
        ]
        return "\n".join(_class_loops([x, y], self.axis, body, self.name))

    def grad(self, inputs, outputs, output_grads):
        (y,), (g,) = outputs, output_grads
        return [ar.mul(y, ar.sub(g, reduction.sum(ar.mul(g, y), self.axis, keepdims=True)))]


@register
class LogSoftmax(_AlongClasses):
    """log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)) along ``axis``, m = max_j x_j
    (finite for any finite logits); dx = g - exp(y) * sum(g) with y the output. A slice
    of all -inf (or holding +inf) is NaN, like softmax."""

    name = "log_softmax"

    def infer(self, x: Tensor) -> TensorType:
        self.check_logits(x)
        return TensorType(x.dtype, x.shape)

    def reference(self, x):
        return np.asarray(_stable_log_softmax(x, self.axis), x.dtype)

    def c_kernel(self, inputs, outputs):
        """Per slice: the max, log of the sum of exp(x - max) in double, (x - max) - log."""
        (x,), (y,) = inputs, outputs
        body = [
            f"const {x.ctype} *sm_x = {x.ptr} + sm_b0;",
            "const int64_t sm_xs = sm_cs0;",
            f"{y.ctype} *sm_y = {y.ptr} + sm_b1;",
            "const int64_t sm_ys = sm_cs1;",
            *_slice_log_sum(x),
            f"for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) sm_y[sm_c*sm_ys] = ({y.ctype}){_shifted(x, 'sm_c')};",
        ]
        return "\n".join(_class_loops([x, y], self.axis, body, self.name))

    def grad(self, inputs, outputs, output_grads):
        (y,), (g,) = outputs, output_grads
        return [ar.sub(g, ar.mul(exp(y), reduction.sum(g, self.axis, keepdims=True)))]


def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """Softmax along ``axis`` (exp(x) normalised to sum to 1), computed stably;
    integer inputs compute in floatx."""
    x = _float_tensor(x)
    return apply(Softmax(_class_axis(axis, x.ndim, "softmax")), x).outputs[0]


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably as x - logsumexp(x);
    integer inputs compute in floatx."""
    x = _float_tensor(x)
    return apply(LogSoftmax(_class_axis(axis, x.ndim, "log_softmax")), x).outputs[0]


def _one_hot_along(labels: Tensor, depth: Dim, axis: int, dtype: np.dtype) -> Tensor:
    """onehot[..., c, ...] = (labels[...] == c), with the class axis c inserted at ``axis``."""
    ndim = labels.ndim + 1
    if isinstance(depth, int):
        iota = constant(np.arange(depth, dtype=dtypes.DEFAULT_INT))
    else:  # 0, 1, ..., depth-1 for a size known only at call time
        iota = reduction.cumsum(shape_ops.ones((depth,), dtypes.DEFAULT_INT), exclusive=True)
    iota = shape_ops.reshape(iota, tuple(depth if i == axis else 1 for i in range(ndim)))
    hits = ar.equal(shape_ops.expand_dims(cast(labels, dtypes.DEFAULT_INT), axis), iota)
    return cast(hits, dtype)


def _check_labels(labels: np.ndarray, classes: int, axis: int) -> None:
    if labels.size == 0:
        return
    low, high = labels.min(), labels.max()
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise IndexOutOfRangeError(
            f"label {int(bad)} is out of range for {classes} classes (axis {axis}): labels must lie in [0, {classes})"
        )


@register
class SparseSoftmaxCrossEntropy(_AlongClasses):
    """loss = -log_softmax(logits)[label] per example: logits (..., C, ...) with the
    classes on ``axis``, integer labels shaped like logits without that axis, each in
    [0, C) (one outside raises IndexOutOfRangeError when the function runs).
    d/dlogits = (softmax(logits) - onehot(labels)) * g; labels get no gradient."""

    name = "sparse_softmax_cross_entropy"

    def infer(self, logits: Tensor, labels: Tensor) -> TensorType:
        self.check_logits(logits)
        if not dtypes.is_integer(labels.dtype):
            raise DTypeError(f"labels must be integers (class indices), got {labels.dtype.name}")
        expected = logits.shape[: self.axis] + logits.shape[self.axis + 1 :]
        if labels.ndim != len(expected):
            raise ShapeError(
                f"labels must have the logits' shape without the class axis {self.axis}: "
                f"{shp.shape_str(expected)}, got {shp.shape_str(labels.shape)}"
            )
        shape = []
        for d_logits, d_labels in zip(expected, labels.shape):
            if isinstance(d_logits, int) and isinstance(d_labels, int) and d_logits != d_labels:
                raise ShapeError(
                    f"labels must have the logits' shape without the class axis {self.axis}: "
                    f"{shp.shape_str(expected)}, got {shp.shape_str(labels.shape)}"
                )
            shape.append(d_labels if isinstance(d_labels, int) else d_logits)  # static if either is
        return TensorType(logits.dtype, tuple(shape))

    def reference(self, logits, labels):
        expected = logits.shape[: self.axis] + logits.shape[self.axis + 1 :]
        if labels.shape != expected:
            raise ShapeError(f"labels have shape {labels.shape}; the logits need {expected}")
        _check_labels(labels, logits.shape[self.axis], self.axis)
        lsm = _stable_log_softmax(logits, self.axis)
        index = np.expand_dims(labels.astype(np.intp), self.axis)
        picked = np.take_along_axis(lsm, index, axis=self.axis)
        return np.asarray(-np.squeeze(picked, self.axis), logits.dtype)

    def c_kernel(self, inputs, outputs):
        """Labels are checked first, with the reference's errors (a symbolic labels size
        that differs from the logits': ShapeError; a label outside [0, C): IndexError,
        naming the smallest label if negative, else the largest); then per example
        -((x[label] - max) - log(sum(exp(x - max)))) in double."""
        (x, labels), (out,) = inputs, outputs
        expected = x.shape[: self.axis] + x.shape[self.axis + 1 :]
        lines = []
        if any(e != d for e, d in zip(expected, labels.shape)):
            fmt = lambda n: "(" + ", ".join(["%lld"] * n) + ("," if n == 1 else "") + ")"  # noqa: E731
            args = ", ".join(f"(long long)({d})" for d in labels.shape + expected)
            differ = " || ".join(f"({e}) != ({d})" for e, d in zip(expected, labels.shape) if e != d)
            lines.append(
                f"if ({differ}) SG_FAIL(SG_ERR_SHAPE, "
                f'"labels have shape {fmt(labels.ndim)}; the logits need {fmt(len(expected))}", {args});'
            )
        classes = f"({x.shape[self.axis]})"
        lines += [
            f"if ({labels.size} > 0) {{",
            f"    int64_t sm_lo = (int64_t){labels.ptr}[0], sm_hi = sm_lo;",
            f"    for (int64_t sm_i = 1; sm_i < {labels.size}; sm_i++) {{",
            f"        const int64_t sm_k = (int64_t){labels.ptr}[sm_i];",
            "        sm_lo = sm_k < sm_lo ? sm_k : sm_lo;",
            "        sm_hi = sm_k > sm_hi ? sm_k : sm_hi;",
            "    }",
            f"    if (sm_lo < 0 || sm_hi >= {classes}) SG_FAIL(SG_ERR_INDEX, "
            f'"label %lld is out of range for %lld classes (axis {self.axis}): labels must lie in [0, %lld)", '
            f"(long long)(sm_lo < 0 ? sm_lo : sm_hi), (long long){classes}, (long long){classes});",
            "}",
        ]
        body = [
            f"const {x.ctype} *sm_x = {x.ptr} + sm_b0;",
            "const int64_t sm_xs = sm_cs0;",
            *_slice_log_sum(x),
            f"{out.ptr}[sm_r] = ({out.ctype})(-{_shifted(x, f'(int64_t){labels.ptr}[sm_r]')});",
        ]
        return "\n".join(lines + _class_loops([x], self.axis, body, self.name))

    def grad(self, inputs, outputs, output_grads):
        (logits, labels), (g,) = inputs, output_grads
        onehot = _one_hot_along(labels, logits.shape[self.axis], self.axis, logits.dtype)
        d_logits = ar.mul(ar.sub(softmax(logits, self.axis), onehot), shape_ops.expand_dims(g, self.axis))
        return [d_logits, None]


def sparse_softmax_cross_entropy(logits: TensorLike, labels: TensorLike, axis: int = -1) -> Tensor:
    """Cross-entropy between softmax(logits) along ``axis`` and integer class
    ``labels`` (shaped like logits without ``axis``), one value per example: TF's
    sparse_softmax_cross_entropy_with_logits. Computed stably; a label outside
    [0, classes) raises IndexOutOfRangeError when the function runs."""
    logits = _float_tensor(logits)
    labels = as_tensor(labels)
    ax = _class_axis(axis, logits.ndim, "sparse_softmax_cross_entropy")
    return apply(SparseSoftmaxCrossEntropy(ax), logits, labels).outputs[0]


@register
class SoftmaxCrossEntropy(_AlongClasses):
    """loss = -sum_c targets_c * log_softmax(logits)_c along ``axis``, per example, for
    targets of the logits' shape (probabilities, or any weights); a term with
    targets_c = 0 counts 0 even where log_softmax is -inf (masked logits).
    d/dlogits = (softmax(logits) * sum_c targets_c - targets) * g (the familiar
    softmax - targets when targets sum to 1); d/dtargets = -log_softmax(logits) * g."""

    name = "softmax_cross_entropy"

    def infer(self, logits: Tensor, targets: Tensor) -> TensorType:
        self.check_logits(logits)
        if targets.dtype != logits.dtype:
            raise DTypeError("logits and targets must share one dtype (sg promotes them on the way in)")
        shape = broadcast_shapes(logits.shape, targets.shape)
        if len(shape) != logits.ndim or len(shape) != targets.ndim:
            raise ShapeError("logits and targets must have the same shape (sg broadcasts them on the way in)")
        return TensorType(logits.dtype, shape[: self.axis] + shape[self.axis + 1 :])

    def reference(self, logits, targets):
        logits, targets = np.broadcast_arrays(logits, targets)
        lsm = _stable_log_softmax(logits, self.axis)
        with np.errstate(all="ignore"):
            terms = np.where(targets == 0, 0, targets * lsm)
        return np.asarray(-np.sum(terms, axis=self.axis), logits.dtype)

    def c_kernel(self, inputs, outputs):
        """Per example -sum(t * ((x - max) - log(sum(exp(x - max))))) in double over the
        classes with t != 0 (a zero target counts 0 even against a -inf or NaN term, as
        the reference's where); static size-1 axes of either operand broadcast."""
        (x, t), (out,) = inputs, outputs
        body = [
            f"const {x.ctype} *sm_x = {x.ptr} + sm_b0;",
            "const int64_t sm_xs = sm_cs0;",
            f"const {t.ctype} *sm_t = {t.ptr} + sm_b1;",
            "const int64_t sm_ts = sm_cs1;",
            *_slice_log_sum(x),
            "double sm_acc = 0.0;",
            "for (int64_t sm_c = 0; sm_c < sm_C; sm_c++) {",
            f"    const {t.ctype} sm_w = sm_t[sm_c*sm_ts];",
            f"    if (sm_w != 0) sm_acc += (double)sm_w*{_shifted(x, 'sm_c')};",
            "}",
            f"{out.ptr}[sm_r] = ({out.ctype})(-sm_acc);",
        ]
        return "\n".join(_class_loops([x, t], self.axis, body, self.name))

    def grad(self, inputs, outputs, output_grads):
        (logits, targets), (g,) = inputs, output_grads
        g = shape_ops.expand_dims(g, self.axis)
        total = reduction.sum(targets, self.axis, keepdims=True)
        d_logits = ar.mul(ar.sub(ar.mul(softmax(logits, self.axis), total), targets), g)
        d_targets = ar.mul(ar.neg(log_softmax(logits, self.axis)), g)
        return [sum_to_shape(d_logits, logits.shape), sum_to_shape(d_targets, targets.shape)]


def softmax_cross_entropy(logits: TensorLike, targets: TensorLike, axis: int = -1) -> Tensor:
    """Cross-entropy -sum(targets * log_softmax(logits)) along ``axis``, one value per
    example, for dense targets (probabilities, e.g. one-hot or smoothed labels): TF's
    softmax_cross_entropy_with_logits. Differentiable in both arguments; the operands
    are promoted to one float dtype and broadcast to one shape."""
    logits, targets = promote((logits, targets), FLOAT)
    shape = broadcast_shapes(logits.shape, targets.shape)
    logits, targets = shape_ops.broadcast_to(logits, shape), shape_ops.broadcast_to(targets, shape)
    ax = _class_axis(axis, len(shape), "softmax_cross_entropy")
    return apply(SoftmaxCrossEntropy(ax), logits, targets).outputs[0]


@register
class SigmoidBinaryCrossEntropy(Elementwise):
    """loss = -(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))) for logits x and labels
    z (probabilities), elementwise, computed as max(x, 0) - x z + log1p(exp(-|x|)),
    which never overflows; d/dx = sigmoid(x) - z, d/dz = -x."""

    name = "sigmoid_binary_cross_entropy"
    arity = 2
    input_kind = FLOAT

    def compute(self, x, z):
        return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))

    def c_expr(self, args, dtype):
        x, z = args
        return f"(({c_maximum(x, c_const(0, dtype), dtype)} - {x} * {z}) + {c_log1p_exp_neg_abs(x, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x, z), (g,) = inputs, output_grads
        return [
            sum_to_shape(ar.mul(g, ar.sub(sigmoid(x), z)), x.shape),
            sum_to_shape(ar.mul(g, ar.neg(x)), z.shape),
        ]


_sigmoid_binary_cross_entropy = SigmoidBinaryCrossEntropy()


def sigmoid_binary_cross_entropy(logits: TensorLike, labels: TensorLike) -> Tensor:
    """Binary cross-entropy between sigmoid(logits) and ``labels`` (0/1 or
    probabilities), elementwise with broadcasting: TF's
    sigmoid_cross_entropy_with_logits. Stable for any logit magnitude."""
    return _sigmoid_binary_cross_entropy(logits, labels)


__all__ = [
    "softmax",
    "log_softmax",
    "sparse_softmax_cross_entropy",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
]
