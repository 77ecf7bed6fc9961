"""The neural-network, linear-algebra and signal halves of ``keras.ops`` (Keras'
``keras.ops.nn``, ``keras.ops.linalg``, the FFTs and ``keras.ops.image``), on symgraph's
ops through the dispatch of symgraph/keras/ops_numpy.py.

Composed where symgraph has no op of its own: convolutions of rank 3 from 2-D ones,
transposed convolutions as convolutions of the stride-dilated input, the FFTs as
products with DFT matrices (exact, O(n^2): for the frame sizes of audio features and
tests, not for long signals), and the small dense linear algebra (Cholesky, LU,
Gauss-Jordan, triangular solves, Gram-Schmidt QR) unrolled over a matrix size known
when the graph is built. Eigen- and singular-value decompositions are not provided.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras import backend
from symgraph.keras.ops_numpy import (
    EXPORTS,
    axes_tuple,
    cast_to,
    einsum,
    floatx_of,
    keras_op,
    not_provided,
    pair,
    result_type,
    standardize_dtype,
    static_size,
    to_tensor,
)
from symgraph.ops.elementwise import broadcast_shapes

_t = to_tensor
_BOOL = np.dtype("bool")
_INT32 = np.dtype("int32")

__all__: list[str] = []
_FIRST = set(EXPORTS)  # the names ops_numpy.py registered, so __all__ lists only these below

# ---------------------------------------------------------------------------- activations


def _activation(name: str, fn: Callable[..., Tensor]) -> Callable[..., Any]:
    def op(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return fn(floatx_of(_t(x)), *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"Keras' ``ops.{name}`` activation."
    return keras_op(op)


relu = _activation("relu", lambda x: sg.nn.relu(x))
relu6 = _activation("relu6", lambda x: sg.clip(x, 0.0, 6.0))
sigmoid = _activation("sigmoid", lambda x: sg.nn.sigmoid(x))
softplus = _activation("softplus", lambda x: sg.nn.softplus(x))
softsign = _activation("softsign", lambda x: sg.nn.softsign(x))
silu = _activation("silu", lambda x: sg.nn.silu(x))
swish = _activation("swish", lambda x: sg.nn.swish(x))
log_sigmoid = _activation("log_sigmoid", lambda x: -sg.nn.softplus(-x))
hard_sigmoid = _activation("hard_sigmoid", lambda x: sg.clip(x / 6.0 + 0.5, 0.0, 1.0))
hard_silu = _activation("hard_silu", lambda x: x * sg.clip(x / 6.0 + 0.5, 0.0, 1.0))
hard_swish = _activation("hard_swish", lambda x: x * sg.clip(x / 6.0 + 0.5, 0.0, 1.0))
hard_tanh = _activation("hard_tanh", lambda x: sg.clip(x, -1.0, 1.0))
tanh_shrink = _activation("tanh_shrink", lambda x: x - sg.tanh(x))
selu = _activation("selu", lambda x: sg.nn.selu(x))
sparse_plus = _activation(
    "sparse_plus", lambda x: sg.where(x <= -1.0, 0.0, sg.where(x >= 1.0, x, sg.square(x + 1.0) / 4.0))
)
sparse_sigmoid = _activation(
    "sparse_sigmoid", lambda x: sg.where(x <= -1.0, 0.0, sg.where(x >= 1.0, 1.0, (x + 1.0) / 2.0))
)


@keras_op
def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    return sg.nn.leaky_relu(floatx_of(_t(x)), negative_slope)


@keras_op
def elu(x: Any, alpha: float = 1.0) -> Tensor:
    return sg.nn.elu(floatx_of(_t(x)), alpha)


@keras_op
def celu(x: Any, alpha: float = 1.0) -> Tensor:
    x = floatx_of(_t(x))
    return sg.maximum(x, 0.0) + sg.minimum(0.0, alpha * sg.expm1(x / alpha))


@keras_op
def gelu(x: Any, approximate: bool = True) -> Tensor:
    """Keras' ops default is the tanh approximation (``approximate=True``)."""
    return sg.nn.gelu(floatx_of(_t(x)), approximate=approximate)


@keras_op
def glu(x: Any, axis: int = -1) -> Tensor:
    x = floatx_of(_t(x))
    n = static_size(x.shape[axis], "glu")
    if n % 2:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape={x.shape} with axis={axis}")
    a, b = sg.split(x, 2, axis=axis)
    return a * sg.nn.sigmoid(b)


@keras_op
def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    x = floatx_of(_t(x))
    return sg.where(sg.abs(x) > threshold, x, 0.0)


@keras_op
def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    x = floatx_of(_t(x))
    return sg.where(x > threshold, x - threshold, sg.where(x < -threshold, x + threshold, 0.0))


@keras_op
def squareplus(x: Any, b: float = 4) -> Tensor:
    x = floatx_of(_t(x))
    return (x + sg.sqrt(sg.square(x) + b)) / 2.0


@keras_op
def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    x = _t(x)
    return sg.where(x > threshold, x, default_value)


def _over_axes(x: Tensor, axis: Any, fn: Callable[[Tensor, int], Tensor]) -> Tensor:
    """``fn`` along one axis, or along several merged into one (moved last, flattened)."""
    if axis is None or isinstance(axis, (tuple, list)):
        axes = axes_tuple(axis, x.ndim)
        if len(axes) == 1:
            return fn(x, axes[0])
        kept = [a for a in range(x.ndim) if a not in axes]
        perm = (*kept, *axes)
        moved = sg.transpose(x, perm)
        merged = sg.reshape(moved, (*(x.shape[a] for a in kept), -1))
        out = sg.reshape(fn(merged, -1), moved.shape)
        return sg.transpose(out, tuple(np.argsort(perm)))
    return fn(x, axis)


@keras_op
def softmax(x: Any, axis: Any = -1) -> Tensor:
    return _over_axes(floatx_of(_t(x)), axis, lambda t, a: sg.nn.softmax(t, axis=a))


@keras_op
def log_softmax(x: Any, axis: Any = -1) -> Tensor:
    return _over_axes(floatx_of(_t(x)), axis, lambda t, a: sg.nn.log_softmax(t, axis=a))


@keras_op
def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """The Euclidean projection onto the simplex (Martins & Astudillo): a threshold tau
    from the sorted values, then max(x - tau, 0)."""
    x = floatx_of(_t(x))
    ax = axis % x.ndim
    z = sg.moveaxis(x, ax, -1)
    n = static_size(z.shape[-1], "sparsemax")
    ordered = sg.sort(z, axis=-1, descending=True)
    csum = sg.cumsum(ordered, axis=-1)
    k = sg.constant(np.arange(1, n + 1, dtype=x.dtype))
    support = sg.cast(1.0 + k * ordered > csum, x.dtype)
    k_max = sg.sum(support, axis=-1, keepdims=True)
    idx = sg.cast(k_max, "int64") - 1
    tau = (sg.take_along_axis(csum, idx, axis=-1) - 1.0) / k_max
    return sg.moveaxis(sg.maximum(z - tau, 0.0), -1, ax)


# ---------------------------------------------------------------------------- encodings


@keras_op
def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """Out-of-range classes (negative ones included) give a row of zeros, as Keras'."""
    if sparse:
        raise not_provided("one_hot", "sparse=True (symgraph has no sparse tensors)")
    x = _t(x)
    if x.dtype.kind not in "iu":
        x = sg.cast(x, "int64")
    dt = standardize_dtype(dtype) or np.dtype(backend.floatx())
    inside = sg.logical_and(x >= 0, x < num_classes)
    hot = sg.one_hot(sg.where(inside, x, -1), num_classes, dtype=dt)
    if axis != -1 and axis != x.ndim:
        hot = sg.moveaxis(hot, -1, axis)
    return hot


@keras_op
def multi_hot(
    inputs: Any, num_classes: int | None = None, axis: int = -1, dtype: Any = None, sparse: bool = False, **kwargs: Any
) -> Tensor:
    """1 for each class present in a row of ``inputs`` (the last axis for 2-D inputs)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    x = _t(inputs)
    hot = one_hot(x, num_classes, axis=-1, dtype=dtype, sparse=sparse)
    out = sg.max(hot, axis=-2) if x.ndim >= 1 else hot
    if axis != -1 and out.ndim > 1:
        out = sg.moveaxis(out, -1, axis)
    return out


# ---------------------------------------------------------------------------- normalization


@keras_op
def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[Tensor, Tensor]:
    x = floatx_of(_t(x))
    axes_ = axes_tuple(axes, x.ndim)
    centre = sg.mean(x, axes_, keepdims=True)
    variance = sg.mean(sg.square(x - centre), axes_, keepdims=True)
    if not keepdims:
        centre, variance = sg.squeeze(centre, axes_), sg.squeeze(variance, axes_)
    return centre, variance


@keras_op
def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    axis: int,
    offset: Any = None,
    scale: Any = None,
    epsilon: float = 1e-3,
) -> Tensor:
    x = floatx_of(_t(x))
    ax = axis % x.ndim
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]

    def along(v: Any) -> Tensor:
        t = cast_to(_t(v), x.dtype)
        return sg.reshape(t, tuple(shape)) if t.ndim == 1 else t

    inv = sg.rsqrt(along(variance) + epsilon)
    if scale is not None:
        inv = inv * along(scale)
    out = (x - along(mean)) * inv
    return out + along(offset) if offset is not None else out


def _broadcast_along(v: Any, x: Tensor, axes: tuple[int, ...]) -> Tensor:
    t = cast_to(_t(v), x.dtype)
    if t.ndim == x.ndim or axes == (x.ndim - 1,):
        return t
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    return sg.reshape(t, tuple(shape))


@keras_op
def layer_normalization(
    x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, epsilon: float | None = None, **kwargs: Any
) -> Tensor:
    if kwargs.pop("rms_scaling", False):
        raise not_provided("layer_normalization", "rms_scaling=True (deprecated in Keras: use rms_normalization)")
    eps = backend.epsilon() if epsilon is None else epsilon
    x = _t(x)
    original = x.dtype
    x = floatx_of(x)
    axes = tuple(sorted(axes_tuple(axis, x.ndim)))
    centre = sg.mean(x, axes, keepdims=True)
    variance = sg.mean(sg.square(x - centre), axes, keepdims=True)
    inv = sg.rsqrt(variance + eps)
    if gamma is not None:
        inv = inv * _broadcast_along(gamma, x, axes)
    out = (x - centre) * inv
    if beta is not None:
        out = out + _broadcast_along(beta, x, axes)
    return cast_to(out, original) if original.kind == "f" else out


@keras_op
def rms_normalization(x: Any, scale: Any = None, axis: Any = -1, epsilon: float | None = None) -> Tensor:
    eps = backend.epsilon() if epsilon is None else epsilon
    x = floatx_of(_t(x))
    if x.ndim == 0:
        x = sg.reshape(x, (1,))
    axes = tuple(sorted(axes_tuple(axis, x.ndim)))
    out = x * sg.rsqrt(sg.mean(sg.square(x), axes, keepdims=True) + eps)
    return out * cast_to(_t(scale), x.dtype) if scale is not None else out


@keras_op
def normalize(x: Any, axis: Any = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    eps = backend.epsilon() if epsilon is None else epsilon
    x = floatx_of(_t(x))
    if x.ndim == 0:
        x = sg.reshape(x, (1,))
    ax = axis_tuple = axes_tuple(axis, x.ndim)
    if order == 2:
        inv = sg.minimum(sg.rsqrt(sg.sum(sg.square(x), ax, keepdims=True)), 1.0 / eps)
        return x * inv
    n = _vector_norm(x, order, axis_tuple, keepdims=True)
    return x / sg.maximum(n, eps)


@keras_op
def psnr(x1: Any, x2: Any, max_val: float) -> Tensor:
    a, b = pair(x1, x2)
    a, b = floatx_of(_t(a)), floatx_of(_t(b))
    if a.shape != b.shape:
        raise ValueError(f"Input shapes {a.shape} and {b.shape} must match for PSNR calculation.")
    mse = sg.mean(sg.square(a - b))
    return 20.0 * sg.log(cast_to(_t(max_val), a.dtype)) / math.log(10.0) - 10.0 * sg.log(mse) / math.log(10.0)


# ---------------------------------------------------------------------------- losses


@keras_op
def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise, unreduced. From logits by the stable formula (Keras' JAX and TF
    backends); from probabilities clipped to [eps, 1 - eps]."""
    t, o = floatx_of(_t(target)), floatx_of(_t(output))
    if t.shape != o.shape:
        raise ValueError(
            f"Arguments `target` and `output` must have the same shape. Received: target.shape={t.shape}, "
            f"output.shape={o.shape}"
        )
    t = cast_to(t, o.dtype)
    if from_logits:
        return sg.nn.sigmoid_binary_cross_entropy(o, t)
    eps = backend.epsilon()
    o = sg.clip(o, eps, 1.0 - eps)
    return -(t * sg.log(o) + (1.0 - t) * sg.log(1.0 - o))


def _log_probs(o: Tensor, axis: int, from_logits: bool) -> Tensor:
    if from_logits:
        return sg.nn.log_softmax(o, axis=axis)
    eps = backend.epsilon()
    o = o / sg.sum(o, axis, keepdims=True)
    return sg.log(sg.clip(o, eps, 1.0 - eps))


@keras_op
def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    t, o = floatx_of(_t(target)), floatx_of(_t(output))
    if t.shape != o.shape:
        raise ValueError(
            f"Arguments `target` and `output` must have the same shape. Received: target.shape={t.shape}, "
            f"output.shape={o.shape}"
        )
    if t.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1.")
    return -sg.sum(cast_to(t, o.dtype) * _log_probs(o, axis, from_logits), axis=axis)


@keras_op
def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    t, o = _t(target), floatx_of(_t(output))
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = sg.squeeze(t, -1)
    if t.ndim != o.ndim - 1:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last dimension: "
            f"target.shape={t.shape}, output.shape={o.shape}"
        )
    if t.dtype.kind not in "iu":
        t = sg.cast(t, _INT32)
    hot = one_hot(t, static_size(o.shape[axis], "sparse_categorical_crossentropy"), axis=axis, dtype=o.dtype)
    return -sg.sum(hot * _log_probs(o, axis, from_logits), axis=axis)


@keras_op
def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0) -> Tensor:
    """CTC's negative log-likelihood per sequence: the forward (alpha) recursion in log
    space over the extended label sequence (blank, l1, blank, l2, ..., blank), one
    ``sg.scan`` step per frame; ``output`` holds logits (batch, time, classes)."""
    labels = cast_to(_t(target), "int64")
    logits = floatx_of(_t(output))
    t_len = cast_to(_t(target_length), "int64")
    o_len = cast_to(_t(output_length), "int64")
    dt = logits.dtype
    log_probs = sg.nn.log_softmax(logits, axis=-1)
    n_label = static_size(labels.shape[1], "ctc_loss")
    n_ext = 2 * n_label + 1
    neg_inf = sg.constant(np.asarray(-1e30, dt))  # finite: -inf - -inf would give NaN
    blank = mask_index
    # extended sequence: blanks at even positions, labels at odd
    ext = sg.concatenate(
        [
            sg.reshape(
                sg.stack([sg.full_like(labels, blank), labels], axis=-1),
                (labels.shape[0], 2 * n_label),
            ),
            sg.full_like(labels[:, :1], blank),
        ],
        axis=1,
    )  # (batch, n_ext)
    # a skip from s-2 to s is allowed for a label differing from the label two back
    prev2 = sg.concatenate([sg.full_like(ext[:, :2], -1), ext[:, :-2]], axis=1)
    skip_ok = sg.logical_and(sg.not_equal(ext, blank), sg.not_equal(ext, prev2))
    valid_len = 2 * t_len + 1  # (batch,)
    positions = sg.constant(np.arange(n_ext, dtype=np.int64))
    in_seq = positions < sg.expand_dims(valid_len, 1)
    emit = sg.take_along_axis(log_probs, sg.broadcast_to(sg.expand_dims(ext, 1), (*log_probs.shape[:2], n_ext)), -1)
    emit_t = sg.moveaxis(emit, 1, 0)  # (time, batch, n_ext)
    first_allowed = positions < 2
    alpha0 = sg.where(sg.logical_and(first_allowed, in_seq), emit_t[0], neg_inf)
    steps = sg.constant(np.arange(1, static_size(emit_t.shape[0], "ctc_loss"), dtype=np.int64))

    def step(emit_row: Tensor, t: Tensor, alpha: Tensor) -> Tensor:
        a1 = sg.concatenate([sg.full_like(alpha[:, :1], -1e30), alpha[:, :-1]], axis=1)
        a2 = sg.concatenate([sg.full_like(alpha[:, :2], -1e30), alpha[:, :-2]], axis=1)
        a2 = sg.where(skip_ok, a2, neg_inf)
        big = sg.maximum(sg.maximum(alpha, a1), a2)
        total = big + sg.log(sg.exp(alpha - big) + sg.exp(a1 - big) + sg.exp(a2 - big))
        new = sg.where(in_seq, total + emit_row, neg_inf)
        active = sg.expand_dims(t < o_len, 1)  # frames past a sequence's length keep its alpha
        return sg.where(active, new, alpha)

    if steps.shape[0]:
        alphas, _ = sg.scan(step, sequences=[emit_t[1:], steps], outputs_info=[alpha0])
        alpha = alphas[-1]
    else:
        alpha = alpha0
    last = sg.expand_dims(valid_len - 1, 1)
    end1 = sg.take_along_axis(alpha, last, axis=1)[:, 0]
    end2 = sg.take_along_axis(alpha, sg.maximum(last - 1, 0), axis=1)[:, 0]
    end2 = sg.where(t_len > 0, end2, neg_inf)
    big = sg.maximum(end1, end2)
    return -(big + sg.log(sg.exp(end1 - big) + sg.exp(end2 - big)))


@keras_op
def ctc_decode(
    inputs: Any,
    sequence_lengths: Any,
    strategy: str = "greedy",
    beam_width: int = 100,
    top_paths: int = 1,
    merge_repeated: bool = True,
    mask_index: int = 0,
) -> tuple[Tensor, Tensor]:
    """Greedy CTC decoding: the best class per frame, repeats merged, blanks dropped and
    the labels moved to the front (-1 after them), shape (1, batch, time); and minus the
    sum of the chosen scores, (batch, 1). Beam search is not provided."""
    if strategy != "greedy":
        if strategy == "beam_search":
            raise not_provided("ctc_decode", "strategy='beam_search' (only the greedy decoder is provided)")
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and 'beam_search'.")
    x = floatx_of(_t(inputs))
    lengths = cast_to(_t(sequence_lengths), "int64")
    time = static_size(x.shape[1], "ctc_decode")
    blank = mask_index if mask_index is not None else static_size(x.shape[2], "ctc_decode") - 1
    labels = sg.cast(sg.argmax(x, axis=-1), "int64")
    scores = sg.max(x, axis=-1)
    steps = sg.constant(np.arange(time, dtype=np.int64))
    past_end = steps >= sg.expand_dims(lengths, 1)
    labels = sg.where(past_end, blank, labels)
    scores = sg.where(past_end, 0.0, scores)
    if merge_repeated and time > 1:
        repeat = sg.concatenate([sg.zeros_like(labels[:, :1], _BOOL), sg.equal(labels[:, 1:], labels[:, :-1])], axis=1)
        labels = sg.where(repeat, blank, labels)
    dropped = sg.equal(labels, blank)
    labels = sg.where(dropped, -1, labels)
    order = sg.argsort(sg.where(dropped, time, sg.broadcast_to(steps, labels.shape)), axis=-1)
    decoded = sg.take_along_axis(labels, order, axis=-1)
    return sg.expand_dims(cast_to(decoded, _INT32), 0), sg.expand_dims(-sg.sum(scores, axis=1), 1)


# ---------------------------------------------------------------------------- convolution


def _channels_first(data_format: str | None) -> bool:
    return backend.standardize_data_format(data_format) == "channels_first"


def _tuple(value: Any, n: int, what: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"`{what}` must have {n} entries, got {value!r}")
    return out


def _to_last(x: Tensor, channels_first: bool) -> Tensor:
    return sg.moveaxis(x, 1, -1) if channels_first else x


def _from_last(x: Tensor, channels_first: bool) -> Tensor:
    return sg.moveaxis(x, -1, 1) if channels_first else x


def _same_pads(size: int, k_eff: int, stride: int) -> tuple[int, int]:
    """TF's "same": output ceil(size / stride), the odd pixel after."""
    out = -(-size // stride)
    total = builtins.max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def _explicit_pads(
    x: Tensor, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int], padding: str
) -> list[tuple[int, int]]:
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same', got {padding!r}")
    pads = []
    for i, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
        if padding == "valid":
            pads.append((0, 0))
        else:
            pads.append(_same_pads(static_size(x.shape[1 + i], "conv"), (k - 1) * d + 1, s))
    return pads


def _conv_last(
    x: Tensor,
    w: Tensor,
    strides: tuple[int, ...],
    pads: list[tuple[int, int]],
    dilation: tuple[int, ...],
    groups: int,
) -> Tensor:
    """A channels-last convolution of rank 1, 2 or 3 with explicit zero padding; rank 3
    sums one 2-D convolution per kernel depth over the strided depth slices."""
    rank = x.ndim - 2
    if rank == 1:
        x4, w4 = sg.expand_dims(x, 1), sg.expand_dims(w, 0)
        y = sg.nn.conv2d(x4, w4, (1, strides[0]), ((0, 0), pads[0]), (1, dilation[0]), groups)
        return sg.squeeze(y, 1)
    if rank == 2:
        return sg.nn.conv2d(x, w, strides, (pads[0], pads[1]), dilation, groups)
    if rank != 3:
        raise not_provided("conv", f"convolutions of rank {rank} (1, 2 and 3 are provided)")
    xp = sg.pad(x, [(0, 0), pads[0], (0, 0), (0, 0), (0, 0)]) if builtins.any(pads[0]) else x
    depth = static_size(xp.shape[1], "conv")
    kd = w.shape[0]
    out_d = (depth - ((kd - 1) * dilation[0] + 1)) // strides[0] + 1
    total = None
    for i in range(kd):
        start = i * dilation[0]
        sl = xp[:, start : start + (out_d - 1) * strides[0] + 1 : strides[0]]
        merged = sg.reshape(sl, (-1, *sl.shape[2:]))
        y = sg.nn.conv2d(merged, w[i], strides[1:], (pads[1], pads[2]), dilation[1:], groups)
        total = y if total is None else total + y
    return sg.reshape(total, (x.shape[0], out_d, *total.shape[1:]))


def _conv_args(inputs: Any, kernel: Any) -> tuple[Tensor, Tensor]:
    x, w = _t(inputs), _t(kernel)
    dt = result_type(x.dtype, w.dtype)
    if dt.kind != "f":
        dt = np.dtype(backend.floatx())
    return cast_to(x, dt), cast_to(w, dt)


@keras_op
def conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """N-D convolution (1, 2 or 3 spatial axes); the kernel is (*spatial, in // groups,
    out), the groups inferred from the channels, as Keras'."""
    x, w = _conv_args(inputs, kernel)
    cf = _channels_first(data_format)
    rank = x.ndim - 2
    x = _to_last(x, cf)
    channels = static_size(x.shape[-1], "conv")
    if channels % w.shape[-2]:
        raise ValueError(
            f"The number of input channels ({channels}) must be divisible by the kernel's input channels "
            f"({w.shape[-2]})"
        )
    groups = channels // w.shape[-2]
    s, d = _tuple(strides, rank, "strides"), _tuple(dilation_rate, rank, "dilation_rate")
    pads = _explicit_pads(x, w.shape[:rank], s, d, padding)
    return _from_last(_conv_last(x, w, s, pads, d, groups), cf)


@keras_op
def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """Each input channel convolved by its own ``multiplier`` filters: a grouped
    convolution, kernel (*spatial, in, multiplier)."""
    x, w = _conv_args(inputs, kernel)
    cf = _channels_first(data_format)
    rank = x.ndim - 2
    x = _to_last(x, cf)
    channels, mult = w.shape[-2], w.shape[-1]
    w = sg.reshape(w, (*w.shape[:rank], 1, channels * mult))
    s, d = _tuple(strides, rank, "strides"), _tuple(dilation_rate, rank, "dilation_rate")
    pads = _explicit_pads(x, w.shape[:rank], s, d, padding)
    return _from_last(_conv_last(x, w, s, pads, d, channels), cf)


@keras_op
def separable_conv(
    inputs: Any,
    depthwise_kernel: Any,
    pointwise_kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


@keras_op
def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> Tensor:
    """The adjoint of ``conv`` (kernel (*spatial, out, in)): the input dilated by the
    stride (zeros between its pixels), padded, and convolved with the flipped kernel."""
    x, w = _conv_args(inputs, kernel)
    cf = _channels_first(data_format)
    rank = x.ndim - 2
    x = _to_last(x, cf)
    s, d = _tuple(strides, rank, "strides"), _tuple(dilation_rate, rank, "dilation_rate")
    op = None if output_padding is None else _tuple(output_padding, rank, "output_padding")
    pad_mode = padding.lower()
    pads = []
    for i in range(rank):
        size = static_size(x.shape[1 + i], "conv_transpose")
        k_eff = (w.shape[i] - 1) * d[i] + 1
        if op is None:
            out = size * s[i] if pad_mode == "same" else (size - 1) * s[i] + builtins.max(k_eff, s[i])
            before_fwd = _same_pads(out, k_eff, s[i])[0] if pad_mode == "same" else 0
        else:
            before_fwd = k_eff // 2 if pad_mode == "same" else 0
            out = (size - 1) * s[i] + k_eff - 2 * before_fwd + op[i]
        before = k_eff - 1 - before_fwd
        after = out + k_eff - 1 - ((size - 1) * s[i] + 1) - before
        pads.append((before, after))
    # dilate by the strides: interleave zeros, then drop the trailing ones
    for i in range(rank):
        if s[i] > 1:
            axis = 1 + i
            n = x.shape[axis]
            spread = sg.concatenate(
                [
                    sg.expand_dims(x, axis + 1),
                    sg.zeros((*x.shape[: axis + 1], s[i] - 1, *x.shape[axis + 1 :]), x.dtype),
                ],
                axis=axis + 1,
            )
            x = sg.reshape(spread, (*x.shape[:axis], n * s[i], *x.shape[axis + 1 :]))
            index = [slice(None)] * x.ndim
            index[axis] = slice(0, (n - 1) * s[i] + 1)
            x = x[tuple(index)]
    # negative padding crops
    crop = [slice(None)] * x.ndim
    for i, (b, a) in enumerate(pads):
        if b < 0 or a < 0:
            n = x.shape[1 + i]
            crop[1 + i] = slice(builtins.max(-b, 0), n - builtins.max(-a, 0))
    x = x[tuple(crop)]
    pads = [(builtins.max(b, 0), builtins.max(a, 0)) for b, a in pads]
    flipped = sg.flip(w, tuple(range(rank)))
    wt = sg.swapaxes(flipped, -1, -2)  # (*spatial, in, out)
    y = _conv_last(x, wt, (1,) * rank, pads, d, 1)
    return _from_last(y, cf)


# ---------------------------------------------------------------------------- pooling


def _window_reduce(x: Tensor, axis: int, k: int, stride: int, pads: tuple[int, int], kind: str) -> Tensor:
    """Max or mean over windows along one axis (pooling is separable: a box's max is the
    max over axes in turn, and its mean over the valid pixels the product of the means)."""
    n = static_size(x.shape[axis], "pool")
    fill = -np.inf if kind == "max" else 0.0
    if builtins.any(pads):
        widths = [(0, 0)] * x.ndim
        widths[axis] = pads
        x = sg.pad(x, widths, constant_values=fill)
    size = n + pads[0] + pads[1]
    out = (size - k) // stride + 1
    acc = None
    for j in range(k):
        index = [slice(None)] * x.ndim
        index[axis] = slice(j, j + (out - 1) * stride + 1, stride)
        part = x[tuple(index)]
        acc = part if acc is None else (sg.maximum(acc, part) if kind == "max" else acc + part)
    if kind == "max":
        return acc
    valid = np.zeros(size)
    valid[pads[0] : pads[0] + n] = 1
    counts = np.array([valid[i * stride : i * stride + k].sum() for i in range(out)], dtype=x.dtype)
    shape = [1] * x.ndim
    shape[axis] = out
    return acc / sg.constant(counts.reshape(shape))


def _pool(kind: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: str | None) -> Tensor:
    x = _t(inputs)
    if kind == "avg":
        x = floatx_of(x)
    cf = _channels_first(data_format)
    rank = x.ndim - 2
    k = _tuple(pool_size, rank, "pool_size")
    s = k if strides is None else _tuple(strides, rank, "strides")
    pad_mode = padding.lower()
    if pad_mode not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same', got {padding!r}")
    x = _to_last(x, cf)
    if rank in (1, 2):
        fn = sg.nn.max_pool2d if kind == "max" else sg.nn.avg_pool2d
        if rank == 1:
            y = sg.squeeze(fn(sg.expand_dims(x, 1), (1, k[0]), (1, s[0]), pad_mode), 1)
        else:
            y = fn(x, k, s, pad_mode)
        return _from_last(y, cf)
    y = x
    for i in range(rank):
        size = static_size(x.shape[1 + i], "pool")
        pads = _same_pads(size, k[i], s[i]) if pad_mode == "same" else (0, 0)
        y = _window_reduce(y, 1 + i, k[i], s[i], pads, kind)
    return _from_last(y, cf)


@keras_op
def max_pool(
    inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None
) -> Tensor:
    return _pool("max", inputs, pool_size, strides, padding, data_format)


@keras_op
def average_pool(
    inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None
) -> Tensor:
    return _pool("avg", inputs, pool_size, strides, padding, data_format)


def _adaptive(kind: str, inputs: Any, output_size: Any, data_format: str | None) -> Tensor:
    """Output cell i of an axis of size n pools [floor(i n / out), ceil((i + 1) n / out))."""
    x = _t(inputs)
    if kind == "avg":
        x = floatx_of(x)
    cf = _channels_first(data_format)
    rank = x.ndim - 2
    sizes = _tuple(output_size, rank, "output_size")
    y = _to_last(x, cf)
    for i, out in enumerate(sizes):
        axis = 1 + i
        n = static_size(y.shape[axis], "adaptive pooling")
        cells = []
        for j in range(out):
            lo, hi = (j * n) // out, -(-((j + 1) * n) // out)
            index = [slice(None)] * y.ndim
            index[axis] = slice(lo, hi)
            part = y[tuple(index)]
            cells.append(sg.max(part, axis, keepdims=True) if kind == "max" else sg.mean(part, axis, keepdims=True))
        y = sg.concatenate(cells, axis=axis)
    return _from_last(y, cf)


@keras_op
def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    return _adaptive("avg", inputs, output_size, data_format)


@keras_op
def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    return _adaptive("max", inputs, output_size, data_format)


@keras_op
def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    x = _t(x)
    cf = _channels_first(data_format)
    x = _to_last(x, cf)
    n, h, w, c = x.shape
    b = block_size
    if static_size(c, "depth_to_space") % (b * b):
        raise ValueError(f"The number of channels ({c}) must be divisible by block_size**2 ({b * b})")
    oc = c // (b * b)
    y = sg.reshape(x, (n, h, w, b, b, oc))
    y = sg.transpose(y, (0, 1, 3, 2, 4, 5))
    y = sg.reshape(y, (n, h * b, w * b, oc))
    return _from_last(y, cf)


@keras_op
def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    x = _t(x)
    cf = _channels_first(data_format)
    x = _to_last(x, cf)
    n, h, w, c = x.shape
    b = block_size
    if static_size(h, "space_to_depth") % b or static_size(w, "space_to_depth") % b:
        raise ValueError(f"The height and width ({h}, {w}) must be divisible by block_size ({b})")
    y = sg.reshape(x, (n, h // b, b, w // b, b, c))
    y = sg.transpose(y, (0, 1, 3, 2, 4, 5))
    y = sg.reshape(y, (n, h // b, w // b, b * b * c))
    return _from_last(y, cf)


def _pair2(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else (int(value[0]), int(value[1]))


@keras_op
def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col on channels-first (N, C, H, W) images: (N, C * kh * kw, L), one column per
    window, rows ordered channel, then kernel row, then kernel column (torch's unfold)."""
    x = _t(x)
    if x.ndim != 4:
        raise ValueError(f"Input must be a 4D tensor. Received: input.shape={x.shape}")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair2(v) for v in (kernel_size, dilation, padding, stride))
    n, c, h, w = x.shape
    xp = sg.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)]) if ph or pw else x
    hp, wp = static_size(h, "unfold") + 2 * ph, static_size(w, "unfold") + 2 * pw
    oh = (hp - ((kh - 1) * dh + 1)) // sh + 1
    ow = (wp - ((kw - 1) * dw + 1)) // sw + 1
    pieces = []
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            win = xp[:, :, r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw]
            pieces.append(sg.reshape(win, (n, c, oh * ow)))
    cols = sg.stack(pieces, axis=2)  # (n, c, kh*kw, L)
    return sg.reshape(cols, (n, c * kh * kw, oh * ow))


@keras_op
def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """The adjoint of ``unfold``: each column added back into its window (overlaps sum)."""
    x = _t(x)
    (oh_, ow_), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (
        _pair2(v) for v in (output_size, kernel_size, dilation, padding, stride)
    )
    n = x.shape[0]
    c = static_size(x.shape[1], "fold") // (kh * kw)
    hp, wp = oh_ + 2 * ph, ow_ + 2 * pw
    oh = (hp - ((kh - 1) * dh + 1)) // sh + 1
    ow = (wp - ((kw - 1) * dw + 1)) // sw + 1
    cols = sg.reshape(x, (n, c, kh * kw, oh, ow))
    total = None
    for i in range(kh):
        for j in range(kw):
            block = cols[:, :, i * kw + j]  # (n, c, oh, ow)
            if sh > 1 or sw > 1:  # place the window samples at their strides
                spread = sg.reshape(
                    sg.pad(sg.reshape(block, (n, c, oh, 1, ow, 1)), [(0, 0)] * 3 + [(0, sh - 1), (0, 0), (0, sw - 1)]),
                    (n, c, oh * sh, ow * sw),
                )
                block = spread[:, :, : (oh - 1) * sh + 1, : (ow - 1) * sw + 1]
            r0, c0 = i * dh, j * dw
            bh, bw = (oh - 1) * sh + 1, (ow - 1) * sw + 1
            placed = sg.pad(block, [(0, 0), (0, 0), (r0, hp - r0 - bh), (c0, wp - c0 - bw)])
            total = placed if total is None else total + placed
    return total[:, :, ph : ph + oh_, pw : pw + ow_]


# ---------------------------------------------------------------------------- attention


@keras_op
def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    scale: float | None = None,
    is_causal: bool = False,
    flash_attention: bool | None = None,
    attn_logits_soft_cap: float | None = None,
) -> Tensor:
    """softmax(q k^T * scale + bias, masked) v over (batch, time, heads, head_dim) inputs
    (a key/value with fewer heads is shared by groups of query heads)."""
    if flash_attention:
        raise not_provided("dot_product_attention", "flash_attention=True (there is no fused attention kernel)")
    q, k, v = (floatx_of(_t(a)) for a in (query, key, value))
    dt = result_type(q.dtype, k.dtype, v.dtype)
    q, k, v = cast_to(q, dt), cast_to(k, dt), cast_to(v, dt)
    if q.ndim != 4:
        raise ValueError(f"`dot_product_attention` only supports 4D inputs. Received: query.shape={q.shape}")
    nq, nk = static_size(q.shape[2], "attention"), static_size(k.shape[2], "attention")
    if nq != nk:
        if nq % nk:
            raise ValueError(f"The number of query heads ({nq}) must be a multiple of the key heads ({nk})")
        k = sg.repeat(k, nq // nk, axis=2)
        v = sg.repeat(v, nq // nk, axis=2)
    h = static_size(k.shape[3], "attention")
    s = (1.0 / math.sqrt(h)) if scale is None else scale
    logits = einsum("BTNH,BSNH->BNTS", q, k) * s
    if bias is not None:
        logits = logits + cast_to(_t(bias), dt)
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * sg.tanh(logits / attn_logits_soft_cap)
    keep = None
    if mask is not None:
        keep = sg.cast(_t(mask), _BOOL)
    if is_causal:
        t_len = static_size(logits.shape[2], "attention")
        s_len = static_size(logits.shape[3], "attention")
        causal = sg.constant(np.tril(np.ones((t_len, s_len), dtype=bool)))
        keep = causal if keep is None else sg.logical_and(keep, causal)
    if keep is not None:
        logits = sg.where(keep, logits, sg.constant(np.asarray(-0.7 * np.finfo(dt).max, dt)))
    probs = sg.nn.softmax(logits, axis=-1)
    return einsum("BNTS,BSNH->BTNH", probs, v)


# ---------------------------------------------------------------------------- linear algebra


def _square(x: Any, name: str) -> Tensor:
    x = floatx_of(_t(x))
    if x.ndim < 2:
        raise ValueError(f"keras.ops.{name}: expected a matrix (..., n, n), got shape {x.shape}")
    n = static_size(x.shape[-1], name)
    if x.shape[-2] != n:
        raise ValueError(f"keras.ops.{name}: expected square matrices, got shape {x.shape}")
    return x


def _outer(col: Tensor, row: Tensor) -> Tensor:
    return sg.expand_dims(col, -1) * sg.expand_dims(row, -2)


def _eye_like(x: Tensor, n: int) -> Tensor:
    return sg.constant(np.eye(n, dtype=x.dtype))


def _lu(a: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """LU with partial pivoting, unrolled over the columns: the packed factors (L's unit
    diagonal implied), the pivot row chosen at each step (LAPACK's ipiv, 0-based) and the
    sign of the permutation. The pivot is the first largest |value|, LAPACK's choice."""
    n = a.shape[-1]
    m = a
    pivots = []
    sign = None
    rows = sg.constant(np.arange(n, dtype=np.int64))
    for k in range(n):
        col = sg.abs(m[..., :, k])
        masked = sg.where(rows >= k, col, -1.0)
        p = sg.argmax(masked, axis=-1)  # (...)
        pivots.append(p)
        hot_p = sg.cast(sg.equal(sg.expand_dims(p, -1), rows), m.dtype)  # (..., n)
        e_k = sg.constant(np.eye(n, dtype=m.dtype)[k])
        row_p = sg.sum(sg.expand_dims(hot_p, -1) * m, axis=-2)
        row_k = m[..., k, :]
        m = m + _outer(sg.broadcast_to(e_k, hot_p.shape), row_p - row_k) + _outer(hot_p, row_k - row_p)
        flip_ = sg.where(sg.equal(p, k), 1.0, -1.0)
        sign = flip_ if sign is None else sign * flip_
        pivot = m[..., k, k]
        safe = sg.where(sg.equal(pivot, 0), 1.0, pivot)
        below = sg.cast(rows > k, m.dtype)
        factors = m[..., :, k] / sg.expand_dims(safe, -1) * below  # L's column k
        upper_row = m[..., k, :] * sg.constant((np.arange(n) > k).astype(m.dtype))
        m = m - _outer(factors, upper_row)
        # store the factors in column k below the diagonal
        keep = 1.0 - sg.expand_dims(below, -1) * sg.constant(np.eye(n, dtype=m.dtype)[k])
        m = m * keep + sg.expand_dims(factors, -1) * sg.constant(np.eye(n, dtype=m.dtype)[k])
    return m, sg.stack(pivots, axis=-1), cast_to(sign, a.dtype)


@keras_op
def lu_factor(x: Any) -> tuple[Tensor, Tensor]:
    a = _square(x, "lu_factor")
    lu, piv, _ = _lu(a)
    return lu, sg.cast(piv, _INT32)


def _diag(m: Tensor) -> Tensor:
    n = m.shape[-1]
    return sg.sum(m * sg.constant(np.eye(n, dtype=m.dtype)), axis=-1)


@keras_op
def det(x: Any) -> Tensor:
    a = _square(x, "det")
    lu, _, sign = _lu(a)
    return sign * sg.prod(_diag(lu), axis=-1)


@keras_op
def slogdet(x: Any) -> tuple[Tensor, Tensor]:
    a = _square(x, "slogdet")
    lu, _, sign = _lu(a)
    d = _diag(lu)
    s = sign * sg.prod(sg.sign(d), axis=-1)
    return s, sg.sum(sg.log(sg.abs(d)), axis=-1)


@keras_op
def logdet(x: Any) -> Tensor:
    """log(det(x)) (NaN for a negative determinant)."""
    a = _square(x, "logdet")
    lu, _, sign = _lu(a)
    d = _diag(lu)
    s = sign * sg.prod(sg.sign(d), axis=-1)
    return sg.log(s) + sg.sum(sg.log(sg.abs(d)), axis=-1)


def _gauss_jordan(a: Tensor, b: Tensor) -> Tensor:
    """a^-1 b by Gauss-Jordan elimination with partial pivoting on [a | b], unrolled."""
    n = a.shape[-1]
    m = sg.concatenate([a, b], axis=-1)
    rows = sg.constant(np.arange(n, dtype=np.int64))
    for k in range(n):
        col = sg.abs(m[..., :, k])
        p = sg.argmax(sg.where(rows >= k, col, -1.0), axis=-1)
        hot_p = sg.cast(sg.equal(sg.expand_dims(p, -1), rows), m.dtype)
        e_k = sg.broadcast_to(sg.constant(np.eye(n, dtype=m.dtype)[k]), hot_p.shape)
        row_p = sg.sum(sg.expand_dims(hot_p, -1) * m, axis=-2)
        row_k = m[..., k, :]
        m = m + _outer(e_k, row_p - row_k) + _outer(hot_p, row_k - row_p)
        pivot_row = m[..., k, :] / m[..., k, k : k + 1]
        factors = m[..., :, k] * (1.0 - e_k)
        m = m - _outer(factors, pivot_row)
        m = m + _outer(e_k, pivot_row - m[..., k, :])
    return m[..., :, n:]


@keras_op
def inv(x: Any) -> Tensor:
    a = _square(x, "inv")
    n = a.shape[-1]
    eye = sg.broadcast_to(_eye_like(a, n), a.shape)
    return _gauss_jordan(a, eye)


@keras_op
def solve(a: Any, b: Any) -> Tensor:
    """a x = b; b is a vector when it is 1-D (numpy 2's rule), else (..., n, k)."""
    m = _square(a, "solve")
    rhs = cast_to(floatx_of(_t(b)), m.dtype)
    if rhs.ndim == 1:
        out = _gauss_jordan(m, sg.broadcast_to(sg.expand_dims(rhs, -1), (*m.shape[:-1], 1)))
        return out[..., 0]
    lead = broadcast_shapes(m.shape[:-2], rhs.shape[:-2])
    m = sg.broadcast_to(m, (*lead, *m.shape[-2:]))
    rhs = sg.broadcast_to(rhs, (*lead, *rhs.shape[-2:]))
    return _gauss_jordan(m, rhs)


def _triangular(a: Tensor, b: Tensor, lower: bool) -> Tensor:
    """a x = b for triangular a by substitution, one row of x per step."""
    n = a.shape[-1]
    xs: list[Tensor | None] = [None] * n
    order = range(n) if lower else range(n - 1, -1, -1)
    for i in order:
        acc = b[..., i, :]
        done = [j for j in range(n) if xs[j] is not None]
        for j in done:
            acc = acc - sg.expand_dims(a[..., i, j], -1) * xs[j]
        xs[i] = acc / sg.expand_dims(a[..., i, i], -1)
    return sg.stack(xs, axis=-2)


@keras_op
def solve_triangular(a: Any, b: Any, lower: bool = False) -> Tensor:
    m = _square(a, "solve_triangular")
    rhs = cast_to(floatx_of(_t(b)), m.dtype)
    if rhs.ndim == m.ndim - 1:
        return _triangular(m, sg.expand_dims(rhs, -1), lower)[..., 0]
    return _triangular(m, rhs, lower)


def _cholesky(a: Tensor) -> Tensor:
    """The lower factor, one column per step (NaN where a is not positive definite)."""
    n = a.shape[-1]
    cols: list[Tensor] = []
    for j in range(n):
        s = a[..., :, j]
        if cols:
            built = sg.stack(cols, axis=-1)  # (..., n, j)
            s = s - sg.sum(built * sg.expand_dims(built[..., j, :], -2), axis=-1)
        d = sg.sqrt(s[..., j])
        below = sg.constant((np.arange(n) >= j).astype(a.dtype))
        cols.append(s / sg.expand_dims(d, -1) * below)
    return sg.stack(cols, axis=-1)


@keras_op
def cholesky(x: Any, upper: bool = False) -> Tensor:
    low = _cholesky(_square(x, "cholesky"))
    return sg.swapaxes(low, -1, -2) if upper else low


@keras_op
def cholesky_inverse(x: Any, upper: bool = False) -> Tensor:
    """The inverse of the matrix whose Cholesky factor is ``x``: (L L^T)^-1."""
    factor = _square(x, "cholesky_inverse")
    low = sg.swapaxes(factor, -1, -2) if upper else factor
    n = low.shape[-1]
    inv_low = _triangular(low, sg.broadcast_to(_eye_like(low, n), low.shape), lower=True)
    return sg.matmul(sg.swapaxes(inv_low, -1, -2), inv_low)


@keras_op
def qr(x: Any, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """Householder-free QR by modified Gram-Schmidt (R's diagonal made non-negative;
    LAPACK may choose other signs: Q R is the same matrix)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"Expected one of ('reduced', 'complete'). Received: mode={mode}")
    a = floatx_of(_t(x))
    m_, n = static_size(a.shape[-2], "qr"), static_size(a.shape[-1], "qr")
    if mode == "complete" and m_ > n:
        raise not_provided("qr", "mode='complete' for a tall matrix (it needs an orthogonal complement)")
    k = builtins.min(m_, n)
    qs: list[Tensor] = []
    for j in range(k):
        v = a[..., :, j]
        for q in qs:
            v = v - sg.expand_dims(sg.sum(q * v, axis=-1), -1) * q
        norm = sg.sqrt(sg.sum(v * v, axis=-1))
        q = v / sg.expand_dims(sg.where(sg.equal(norm, 0), 1.0, norm), -1)
        qs.append(q)
    qm = sg.stack(qs, axis=-1)  # (..., m, k)
    r = sg.matmul(sg.swapaxes(qm, -1, -2), a)  # (..., k, n)
    r = r * sg.constant(np.triu(np.ones((k, n), dtype=a.dtype)))
    return qm, r


@keras_op
def lstsq(a: Any, b: Any, rcond: float | None = None) -> Tensor:
    """The least-squares solution by the normal equations (a^T a) x = a^T b: a must
    have full column rank."""
    m = floatx_of(_t(a))
    rhs = cast_to(floatx_of(_t(b)), m.dtype)
    at = sg.swapaxes(m, -1, -2)
    vector = rhs.ndim == 1
    if vector:
        rhs = sg.expand_dims(rhs, -1)
    x = _gauss_jordan(sg.matmul(at, m), sg.matmul(at, rhs))
    return x[..., 0] if vector else x


def _vector_norm(x: Tensor, order: Any, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    ab = sg.abs(x)
    if order is None or order == 2:
        return sg.sqrt(sg.sum(sg.square(x), axes, keepdims=keepdims))
    if order == np.inf or order == "inf":
        return sg.max(ab, axes, keepdims=keepdims)
    if order == -np.inf or order == "-inf":
        return sg.min(ab, axes, keepdims=keepdims)
    if order == 0:
        return sg.sum(sg.cast(sg.not_equal(x, 0), x.dtype), axes, keepdims=keepdims)
    if order == 1:
        return sg.sum(ab, axes, keepdims=keepdims)
    if isinstance(order, str):
        raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={order}")
    return sg.power(sg.sum(sg.power(ab, float(order)), axes, keepdims=keepdims), 1.0 / float(order))


@keras_op
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002  (Keras' name)
    """Vector norms (any order) and the matrix norms that need no singular values
    ('fro', 1, -1, inf, -inf)."""
    x = floatx_of(_t(x))
    if axis is None:
        axes = tuple(range(x.ndim))
        if ord is None:
            return sg.sqrt(sg.sum(sg.square(x), axes, keepdims=keepdims))
        if x.ndim > 2:
            raise ValueError("Improper number of dimensions to norm.")
    else:
        axes = axes_tuple(axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) != 2:
        raise ValueError(f"Improper number of axes for norm: {axis}")
    r, c = axes
    if ord is None or ord == "fro":
        return sg.sqrt(sg.sum(sg.square(x), axes, keepdims=keepdims))
    ab = sg.abs(x)
    if ord in (1, -1):
        col = sg.sum(ab, r, keepdims=True)
        out = sg.max(col, c, keepdims=True) if ord == 1 else sg.min(col, c, keepdims=True)
    elif ord in (np.inf, -np.inf):
        row = sg.sum(ab, c, keepdims=True)
        out = sg.max(row, r, keepdims=True) if ord == np.inf else sg.min(row, r, keepdims=True)
    else:
        raise not_provided("norm", f"the matrix norm ord={ord!r} (it needs singular values)")
    return out if keepdims else sg.squeeze(out, axes)


# ---------------------------------------------------------------------------- FFT and signal


def _dft(n: int, dtype: np.dtype, half: bool = False) -> tuple[Tensor, Tensor]:
    """cos and sin of 2 pi j k / n as (n, n) (or (n, n // 2 + 1)) constants, computed in
    float64 so the rounding is the dtype's, not the angle's."""
    k = np.arange(n // 2 + 1 if half else n)
    j = np.arange(n)
    angle = np.mod(np.outer(j, k), n) * (2.0 * np.pi / n)  # reduced first: exact angles
    return sg.constant(np.cos(angle).astype(dtype)), sg.constant(np.sin(angle).astype(dtype))


def _complex_pair(x: Any, name: str) -> tuple[Tensor, Tensor]:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            f"keras.ops.{name}: expects a tuple of two tensors (real, imaginary), as Keras does; got {type(x).__name__}"
        )
    re, im = floatx_of(_t(x[0])), floatx_of(_t(x[1]))
    if re.shape != im.shape:
        raise ValueError(
            f"Both the real and imaginary parts should have the same shape. Received: {re.shape}, {im.shape}"
        )
    dt = result_type(re.dtype, im.dtype)
    return cast_to(re, dt), cast_to(im, dt)


def _fft_last(re: Tensor, im: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
    n = static_size(re.shape[-1], "fft")
    c, s = _dft(n, re.dtype)
    if not inverse:
        return sg.matmul(re, c) + sg.matmul(im, s), sg.matmul(im, c) - sg.matmul(re, s)
    return (sg.matmul(re, c) - sg.matmul(im, s)) / n, (sg.matmul(im, c) + sg.matmul(re, s)) / n


@keras_op
def fft(x: Any) -> tuple[Tensor, Tensor]:
    """The DFT along the last axis of (real, imaginary), as (real, imaginary)."""
    return _fft_last(*_complex_pair(x, "fft"), inverse=False)


def _fft2(x: Any, name: str, inverse: bool) -> tuple[Tensor, Tensor]:
    re, im = _complex_pair(x, name)
    re, im = _fft_last(re, im, inverse)
    re, im = sg.swapaxes(re, -1, -2), sg.swapaxes(im, -1, -2)
    re, im = _fft_last(re, im, inverse)
    return sg.swapaxes(re, -1, -2), sg.swapaxes(im, -1, -2)


@keras_op
def fft2(x: Any) -> tuple[Tensor, Tensor]:
    return _fft2(x, "fft2", inverse=False)


@keras_op
def ifft2(x: Any) -> tuple[Tensor, Tensor]:
    return _fft2(x, "ifft2", inverse=True)


def _fit_length(x: Tensor, n: int) -> Tensor:
    """The last axis cropped or zero-padded to ``n``."""
    m = static_size(x.shape[-1], "fft")
    if m > n:
        return x[..., :n]
    if m < n:
        return sg.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - m)])
    return x


@keras_op
def rfft(x: Any, fft_length: int | None = None) -> tuple[Tensor, Tensor]:
    x = floatx_of(_t(x))
    n = static_size(x.shape[-1], "rfft") if fft_length is None else int(fft_length)
    x = _fit_length(x, n)
    c, s = _dft(n, x.dtype, half=True)
    return sg.matmul(x, c), -sg.matmul(x, s)


@keras_op
def irfft(x: Any, fft_length: int | None = None) -> Tensor:
    """The real signal of a half spectrum (Hermitian symmetry fills the other half)."""
    re, im = _complex_pair(x, "irfft")
    m = static_size(re.shape[-1], "irfft")
    n = 2 * (m - 1) if fft_length is None else int(fft_length)
    half = n // 2 + 1
    re, im = _fit_length(re, half), _fit_length(im, half)
    k = np.arange(half)
    weight = np.full(half, 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    angle = np.mod(np.outer(k, np.arange(n)), n) * (2.0 * np.pi / n)
    c = sg.constant((np.cos(angle) * weight[:, None] / n).astype(re.dtype))
    s = sg.constant((np.sin(angle) * weight[:, None] / n).astype(re.dtype))
    return sg.matmul(re, c) - sg.matmul(im, s)


def _frames(x: Tensor, length: int, stride: int) -> Tensor:
    """Frames of ``length`` every ``stride`` along the last axis: (..., count, length)."""
    n = static_size(x.shape[-1], "frames")
    count = (n - length) // stride + 1
    if count <= 0:
        return sg.zeros((*x.shape[:-1], 0, length), x.dtype)
    index = np.arange(count)[:, None] * stride + np.arange(length)[None, :]
    return sg.take(x, sg.constant(index.astype(np.int64)), axis=-1)


@keras_op
def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Tensor:
    return _frames(_t(x), int(sequence_length), int(sequence_stride))


def _stft_window(window: Any, sequence_length: int, fft_length: int, dtype: np.dtype) -> np.ndarray:
    if window is None:  # Keras: a flat window over the whole fft_length
        return np.ones(fft_length, dtype=dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(
                f'If a string is passed to `window`, it must be one of "hann", "hamming". Received: {window}'
            )
        # scipy's get_window: the periodic (DFT-even) window
        n = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1.0 - a) * np.cos(2.0 * np.pi * n / sequence_length)
    else:
        win = np.asarray(window.numpy() if isinstance(window, Tensor) else window, dtype=np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(f"The shape of `window` must be equal to [sequence_length]. Received: {win.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left)).astype(dtype)


@keras_op
def stft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    window: Any = "hann",
    center: bool = True,
) -> tuple[Tensor, Tensor]:
    """The short-time Fourier transform: windowed frames of the (reflect-padded, when
    centred) signal, each rfft'd: (real, imaginary) of shape (..., frames, fft_length // 2 + 1)."""
    x = _t(x)
    if x.dtype.kind != "f":
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: input type={x.dtype}")
    if fft_length < sequence_length:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`.")
    if center:
        x = sg.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)], mode="reflect")
    win = _stft_window(window, sequence_length, fft_length, x.dtype)
    frames = _frames(x, fft_length, sequence_stride) * sg.constant(win)
    c, s = _dft(fft_length, x.dtype, half=True)
    return sg.matmul(frames, c), -sg.matmul(frames, s)


@keras_op
def istft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    length: int | None = None,
    window: Any = "hann",
    center: bool = True,
) -> Tensor:
    """The inverse of ``stft``: each frame's irfft times the window, overlap-added and
    divided by the overlap-added squared window (where it is not ~0), as scipy's istft."""
    re, im = _complex_pair(x, "istft")
    frames = irfft((re, im), fft_length)  # (..., count, fft_length)
    win = _stft_window(window, sequence_length, fft_length, re.dtype)
    frames = frames * sg.constant(win)
    count = static_size(frames.shape[-2], "istft")
    total_len = fft_length + sequence_stride * (count - 1)
    out = None
    norm_ = np.zeros(total_len)
    for i in range(count):
        start = i * sequence_stride
        placed = sg.pad(frames[..., i, :], [(0, 0)] * (frames.ndim - 2) + [(start, total_len - start - fft_length)])
        out = placed if out is None else out + placed
        norm_[start : start + fft_length] += win.astype(np.float64) ** 2
    norm_ = np.where(norm_ > 1e-10, norm_, 1.0).astype(re.dtype)
    out = out / sg.constant(norm_)
    if window is None:  # Keras' scaling for a flat window
        out = out * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = total_len - fft_length // 2
    else:
        end = total_len
    return out[..., start:end]


# ---------------------------------------------------------------------------- image

IMAGE_EXPORTS: dict[str, Callable[..., Any]] = {}


def _image_op(fn: Callable[..., Any]) -> Callable[..., Any]:
    run = keras_op(fn)
    del EXPORTS[run.__name__]  # keras.ops.image.<name>, not a top-level keras.ops name
    IMAGE_EXPORTS[run.__name__] = run
    return run


@_image_op
def rgb_to_grayscale(images: Any, data_format: str | None = None) -> Tensor:
    """ITU-R 601 luma (0.2989, 0.5870, 0.1140), one channel kept."""
    x = _t(images)
    cf = _channels_first(data_format)
    axis = -3 if cf else -1
    weights = np.array([0.2989, 0.5870, 0.1140])
    shape = [1] * x.ndim
    shape[axis] = 3
    xf = floatx_of(x)
    y = sg.sum(xf * sg.constant(weights.astype(xf.dtype).reshape(shape)), axis=axis, keepdims=True)
    return cast_to(y, x.dtype) if x.dtype.kind == "f" else y


@_image_op
def crop_images(
    images: Any,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    x = _t(images)
    cf = _channels_first(data_format)
    h_axis = x.ndim - 2 if cf else x.ndim - 3
    h = static_size(x.shape[h_axis], "image.crop_images")
    w = static_size(x.shape[h_axis + 1], "image.crop_images")
    top = top_cropping or 0
    left = left_cropping or 0
    height = target_height if target_height is not None else h - top - (bottom_cropping or 0)
    width = target_width if target_width is not None else w - left - (right_cropping or 0)
    if bottom_cropping is not None and top_cropping is None:
        top = h - height - bottom_cropping
    if right_cropping is not None and left_cropping is None:
        left = w - width - right_cropping
    if height <= 0 or width <= 0 or top < 0 or left < 0:
        raise ValueError(f"crop_images: the crop does not fit an image of {h}x{w}")
    index = [slice(None)] * x.ndim
    index[h_axis] = slice(top, top + height)
    index[h_axis + 1] = slice(left, left + width)
    return x[tuple(index)]


@_image_op
def pad_images(
    images: Any,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> Tensor:
    x = _t(images)
    cf = _channels_first(data_format)
    h_axis = x.ndim - 2 if cf else x.ndim - 3
    h = static_size(x.shape[h_axis], "image.pad_images")
    w = static_size(x.shape[h_axis + 1], "image.pad_images")
    top = top_padding if top_padding is not None else (target_height - h - (bottom_padding or 0))
    left = left_padding if left_padding is not None else (target_width - w - (right_padding or 0))
    bottom = bottom_padding if bottom_padding is not None else (target_height - h - top)
    right = right_padding if right_padding is not None else (target_width - w - left)
    widths = [(0, 0)] * x.ndim
    widths[h_axis] = (top, bottom)
    widths[h_axis + 1] = (left, right)
    return sg.pad(x, widths)


@_image_op
def resize(
    images: Any,
    size: Any,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Nearest or bilinear resizing with half-pixel centres (no antialiasing, no aspect
    crops or pads), by gathering rows and columns."""
    if antialias or crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise not_provided("image.resize", "antialias, crop_to_aspect_ratio or pad_to_aspect_ratio")
    if interpolation not in ("nearest", "bilinear"):
        raise not_provided("image.resize", f"interpolation={interpolation!r} (nearest and bilinear are provided)")
    x = _t(images)
    cf = _channels_first(data_format)
    h_axis = x.ndim - 2 if cf else x.ndim - 3
    out = x if interpolation == "nearest" else floatx_of(x)
    for axis, new in ((h_axis, int(size[0])), (h_axis + 1, int(size[1]))):
        old = static_size(out.shape[axis], "image.resize")
        centre = (np.arange(new) + 0.5) * old / new - 0.5
        if interpolation == "nearest":
            idx = np.clip(np.floor((np.arange(new) + 0.5) * old / new), 0, old - 1).astype(np.int64)
            out = sg.take(out, sg.constant(idx), axis=axis)
            continue
        centre = np.clip(centre, 0, old - 1)
        lo = np.floor(centre).astype(np.int64)
        hi = np.minimum(lo + 1, old - 1)
        frac = (centre - lo).astype(out.dtype)
        shape = [1] * out.ndim
        shape[axis] = new
        f = sg.constant(frac.reshape(shape))
        a = sg.take(out, sg.constant(lo), axis=axis)
        b = sg.take(out, sg.constant(hi), axis=axis)
        out = a + (b - a) * f
    return out


# ---------------------------------------------------------------------------- not provided

NOT_PROVIDED: dict[str, str] = {
    "eig": "eigendecomposition of general matrices (complex results; symgraph has no complex dtype)",
    "eigh": "symmetric eigendecomposition (no eigenvalue op)",
    "svd": "singular value decomposition (no SVD op)",
    "pinv": "the pseudo-inverse (it needs an SVD)",
    "matrix_rank": "the matrix rank (it needs an SVD)",
    "view_as_complex": "complex tensors (symgraph has no complex dtype)",
    "view_as_real": "complex tensors (symgraph has no complex dtype)",
    "polar": "complex tensors (symgraph has no complex dtype)",
    "custom_gradient": "user-defined gradients (symgraph's gradients come from its op table)",
}

__all__ += sorted(set(EXPORTS) - _FIRST)
