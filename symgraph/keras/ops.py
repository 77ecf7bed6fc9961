"""``keras.ops``: Keras 3's backend-neutral ops, on symgraph.

    from symgraph.keras import ops          # for ``from keras import ops``

    class Dense(keras.layers.Layer):
        def call(self, x):
            return ops.relu(ops.matmul(x, self.w) + self.b)

The same function runs where its arguments live: in a layer's ``call`` while ``fit``
builds the compiled step it builds graph (so the op is part of the one C call), on eager
tensors, numpy arrays and Python data it runs now and returns eager tensors, and on the
KerasTensors of a functional model under construction it adds a node to the model
(symgraph/keras/ops_numpy.py's ``dispatch`` says exactly when).

The names are those of Keras 3.15 (``keras.ops`` and its ``numpy``, ``nn``, ``linalg`` and
``image`` namespaces) with Keras' signatures and defaults; tests/keras/test_ops.py checks
each against real Keras. This module holds the core ones (conversion, control flow,
scatter/segment ops); the numpy ones are in ops_numpy.py, the others in ops_nn.py. A
name symgraph does not provide raises ``UnsupportedError`` naming it (``NOT_PROVIDED``
says why for the known ones).

Control flow, where Keras' backends differ, is defined so:

- ``cond`` with a Python or eager predicate calls the chosen branch; with a symbolic
  predicate it calls **both** branches and selects the results elementwise (``sg.where``),
  which is right for pure branches (Keras' JAX backend compiles small branches to a
  select too), and runs any side effects of both.
- ``while_loop`` on eager values is a Python loop; with a symbolic condition it needs
  ``maximum_iterations`` and then is an ``sg.scan`` of that many steps whose state stops
  changing once the condition fails (the body runs every step: keep it pure).
- ``fori_loop`` unrolls short static ranges and is an ``sg.scan`` otherwise; ``scan``,
  ``map`` and ``vectorized_map`` are ``sg.scan`` in a graph and Python loops on eager values.
"""

from __future__ import annotations

import builtins
import math
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError
from symgraph.graph.core import Tensor
from symgraph.keras.layers.keras_tensor import KerasTensor
from symgraph.keras.ops_nn import *  # noqa: F403  (the nn, linalg and signal names)
from symgraph.keras.ops_nn import IMAGE_EXPORTS, NOT_PROVIDED
from symgraph.keras.ops_numpy import *  # noqa: F403  (the numpy names)
from symgraph.keras.ops_numpy import (
    EXPORTS,
    _leaves,
    _walk,
    cast_to,
    count_true,
    dispatch,
    floatx_of,
    keras_array,
    keras_op,
    not_provided,
    standardize_dtype,
    static_size,
    to_tensor,
    value_now,
)
from symgraph.trace import graph as _graph_scope
from symgraph.trace import tracing

_t = to_tensor
_BOOL = np.dtype("bool")
_INT32 = np.dtype("int32")

# ---------------------------------------------------------------------------- conversion


@keras_op
def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None) -> Tensor:
    """``x`` as a tensor: data becomes an eager tensor (a constant in a graph), Python
    floats floatx and ints int32 as in Keras; a tensor is cast if ``dtype`` differs."""
    if sparse or ragged:
        raise not_provided("convert_to_tensor", "sparse or ragged tensors")
    return _t(x, dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """The value of ``x`` as a new numpy array (a symbolic tensor has none)."""
    if isinstance(x, KerasTensor):
        raise ValueError("A KerasTensor is symbolic: it has no value to convert to numpy")
    if isinstance(x, Tensor):
        return x.numpy()
    return np.array(x)


def is_tensor(x: Any) -> bool:
    return isinstance(x, (Tensor, KerasTensor))


def shape(x: Any) -> tuple:
    """The shape as a tuple: ints, and symgraph's symbolic sizes where only the call
    fixes them (None for a KerasTensor's batch), usable in ``reshape`` and ``zeros``."""
    if isinstance(x, KerasTensor):
        return x.shape
    if isinstance(x, Tensor):
        return tuple(x.shape)
    return np.shape(x)


def dtype(x: Any) -> str:
    """The standardized dtype name (``"float32"``)."""
    if isinstance(x, (Tensor, KerasTensor)):
        return str(np.dtype(x.dtype).name)
    return keras_array(x).dtype.name


@keras_op
def cast(x: Any, dtype: Any) -> Tensor:
    return cast_to(_t(x), standardize_dtype(dtype))


@keras_op
def saturate_cast(x: Any, dtype: Any) -> Tensor:
    """A cast that clips to the target's range first (no wrap-around)."""
    x = _t(x)
    target = standardize_dtype(dtype)
    if target.kind in "iu" or (target.kind == "f" and x.dtype.kind == "f" and target.itemsize < x.dtype.itemsize):
        info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
        lo, hi = info.min, info.max
        if x.dtype.kind in "iu":
            src = np.iinfo(x.dtype)
            lo, hi = builtins.max(lo, src.min), builtins.min(hi, src.max)
        elif target.kind in "iu":
            # a bound the float type rounds outwards (2**31 - 1 in float32) moves one step in
            hi_f, lo_f = np.asarray(hi, x.dtype), np.asarray(lo, x.dtype)
            if float(hi_f) > hi:
                hi_f = np.nextafter(hi_f, np.asarray(0, x.dtype))
            if float(lo_f) < lo:
                lo_f = np.nextafter(lo_f, np.asarray(0, x.dtype))
            hi, lo = hi_f, lo_f
        x = sg.clip(x, sg.constant(np.asarray(lo, x.dtype)), sg.constant(np.asarray(hi, x.dtype)))
    return cast_to(x, target)


@keras_op
def stop_gradient(variable: Any) -> Tensor:
    return sg.stop_gradient(_t(variable))


@keras_op
def rsqrt(x: Any) -> Tensor:
    return sg.rsqrt(floatx_of(_t(x)))


@keras_op
def erf(x: Any) -> Tensor:
    return sg.erf(floatx_of(_t(x)))


@keras_op
def erfc(x: Any) -> Tensor:
    return 1.0 - sg.erf(floatx_of(_t(x)))


@keras_op
def erfinv(x: Any) -> Tensor:
    """Giles' approximation ("Approximating the erfinv function", 2010) refined by two
    Newton steps on erf, in the input's float dtype; +-inf at +-1, NaN outside."""
    y = floatx_of(_t(x))
    w = -sg.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    wl = sg.sqrt(sg.maximum(w, 5.0)) - 3.0
    p_small = [
        2.81022636e-08,
        3.43273939e-07,
        -3.5233877e-06,
        -4.39150654e-06,
        0.00021858087,
        -0.00125372503,
        -0.00417768164,
        0.246640727,
        1.50140941,
    ]
    p_large = [
        -0.000200214257,
        0.000100950558,
        0.00134934322,
        -0.00367342844,
        0.00573950773,
        -0.0076224613,
        0.00943887047,
        1.00167406,
        2.83297682,
    ]
    ps = p_small[0]
    pl = p_large[0]
    for a, b in zip(p_small[1:], p_large[1:]):
        ps = ps * ws + a
        pl = pl * wl + b
    guess = sg.where(small, ps, pl) * y
    for _ in range(2):
        err = sg.erf(guess) - y
        guess = guess - err / (2.0 / math.sqrt(math.pi) * sg.exp(-sg.square(guess)))
    edge = sg.where(y > 0, np.inf, -np.inf)
    return sg.where(sg.equal(sg.abs(y), 1.0), edge, guess)


@keras_op
def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return sg.logsumexp(floatx_of(_t(x)), ax, keepdims=keepdims)


@keras_op
def cdist(x: Any, y: Any) -> Tensor:
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d)."""
    a, b = floatx_of(_t(x)), floatx_of(_t(y))
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError("`cdist` inputs must have rank >= 2")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError("Last dimension of inputs to `cdist` must match")
    diff = sg.expand_dims(a, -2) - sg.expand_dims(b, -3)
    return sg.sqrt(sg.sum(diff * diff, axis=-1))


# ---------------------------------------------------------------------------- top-k, slices


@keras_op
def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002  (Keras' name)
    """The k largest along the last axis, largest first (also with ``sorted=False``, which
    allows any order), and their indices (int32)."""
    values, indices = sg.top_k(_t(x), int(k))
    return values, cast_to(indices, _INT32)


@keras_op
def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """Whether each target's score is among the k largest of its row (ties at the
    boundary count as in, as TensorFlow's)."""
    p = floatx_of(_t(predictions))
    t = _t(targets)
    if t.dtype.kind not in "iu":
        t = sg.cast(t, "int64")
    score = sg.take_along_axis(p, sg.expand_dims(t, -1), axis=-1)
    return count_true(p > score, -1) < k


@keras_op
def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[Tensor]:
    x = _t(x)
    n = static_size(x.shape[axis], "unstack")
    if num is not None and num != n:
        raise ValueError(f"unstack: num={num} does not match the axis size {n}")
    moved = sg.moveaxis(x, axis, 0)
    return [moved[i] for i in range(n)]


def _starts(start_indices: Any, rank: int) -> list[Any]:
    """Start indices as Python ints where they are known now, else 0-d int64 tensors."""
    if isinstance(start_indices, Tensor):
        value = value_now(start_indices)
        if value is not None:
            return [int(v) for v in np.asarray(value).reshape(-1)]
        return [sg.cast(start_indices[i], "int64") for i in range(rank)]
    out: list[Any] = []
    for s in start_indices:
        if isinstance(s, Tensor):
            value = value_now(s)
            out.append(int(value) if value is not None else sg.cast(s, "int64"))
        else:
            out.append(int(s))
    return out


@keras_op
def slice(inputs: Any, start_indices: Any, shape: Any) -> Tensor:  # noqa: A001  (Keras' name)
    """``shape`` elements from ``start_indices`` (a start may be a tensor computed in the
    graph: then it is clamped so the slice fits, as JAX's dynamic_slice)."""
    x = _t(inputs)
    sizes = [int(s) for s in shape]
    if len(sizes) != x.ndim:
        raise ValueError(f"slice: {len(sizes)} sizes for a tensor of rank {x.ndim}")
    starts = _starts(start_indices, x.ndim)
    for axis, (start, size) in enumerate(zip(starts, sizes)):
        if isinstance(start, int):
            index = [builtins.slice(None)] * x.ndim
            index[axis] = builtins.slice(start, start + size)
            x = x[tuple(index)]
        else:
            n = static_size(x.shape[axis], "slice")
            first = sg.clip(start, 0, n - size)
            x = sg.take(x, first + sg.constant(np.arange(size, dtype=np.int64)), axis=axis)
    return x


@keras_op
def slice_update(inputs: Any, start_indices: Any, updates: Any) -> Tensor:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``: each
    element reads the update it lies under (by index arithmetic per axis), so the starts
    may be tensors."""
    x = _t(inputs)
    u = cast_to(_t(updates), x.dtype)
    starts = _starts(start_indices, x.ndim)
    inside = None
    picked = u
    for axis, start in enumerate(starts):
        n = static_size(x.shape[axis], "slice_update")
        m = static_size(u.shape[axis], "slice_update")
        pos = sg.constant(np.arange(n, dtype=np.int64)) - start
        ok = sg.logical_and(pos >= 0, pos < m)
        shape_ = [1] * x.ndim
        shape_[axis] = n
        ok = sg.reshape(ok, tuple(shape_))
        inside = ok if inside is None else sg.logical_and(inside, ok)
        picked = sg.take(picked, sg.clip(pos, 0, builtins.max(m - 1, 0)), axis=axis)
    return sg.where(inside, picked, x) if inside is not None else x


def _flat_index(indices: Tensor, shape: Sequence[int]) -> Tensor:
    """Row-major positions of index tuples (..., k) into the first k axes of ``shape``."""
    k = static_size(indices.shape[-1], "scatter")
    strides = np.cumprod([1, *shape[:k][::-1]])[:-1][::-1].astype(np.int64)
    return sg.sum(sg.cast(indices, "int64") * sg.constant(strides), axis=-1)


def _scatter_flat(base: Tensor, indices: Tensor, values: Tensor) -> Tensor:
    """``base`` with ``values`` added at index tuples ``indices`` (duplicates add)."""
    shape_ = tuple(static_size(d, "scatter") for d in base.shape)
    k = static_size(indices.shape[-1], "scatter")
    rows = math.prod(shape_[:k])
    flat_base = sg.reshape(base, (rows, *shape_[k:]))
    pos = sg.reshape(_flat_index(indices, shape_), (-1,))
    vals = sg.reshape(cast_to(values, base.dtype), (-1, *shape_[k:]))
    return sg.reshape(sg.scatter_add(flat_base, pos, vals, axis=0), shape_)


@keras_op
def scatter(indices: Any, values: Any, shape: Any) -> Tensor:
    """A tensor of ``shape``, zero but for ``values`` at ``indices`` (duplicates add)."""
    v = _t(values)
    return _scatter_flat(sg.zeros(tuple(int(s) for s in shape), v.dtype), _t(indices), v)


@keras_op
def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None) -> Tensor:
    """``inputs`` with ``updates`` written at ``indices`` (index tuples into the leading
    axes); ``reduction`` "add", "max", "min" or "mul" combines with what is there. For a
    plain update a repeated index takes the sum of its updates (numpy: the last)."""
    x = _t(inputs)
    idx = _t(indices)
    u = cast_to(_t(updates), x.dtype)
    if reduction == "add":
        return _scatter_flat(x, idx, u)
    hits = _scatter_flat(sg.zeros_like(x, _INT32), idx, sg.ones(u.shape, _INT32))
    hit = hits > 0
    if reduction is None:
        return sg.where(hit, _scatter_flat(sg.zeros_like(x), idx, u), x)
    if reduction not in ("max", "min", "mul"):
        raise ValueError(f"Unsupported reduction: {reduction}")
    # one slot per update: gather what each update meets, reduce duplicates by segment
    shape_ = tuple(static_size(d, "scatter_update") for d in x.shape)
    k = static_size(idx.shape[-1], "scatter_update")
    rows = math.prod(shape_[:k])
    flat_x = sg.reshape(x, (rows, *shape_[k:]))
    pos = sg.reshape(_flat_index(idx, shape_), (-1,))
    vals = sg.reshape(u, (-1, *shape_[k:]))
    reduce = {"max": segment_max, "min": segment_min, "mul": segment_prod}[reduction]
    combined = reduce(vals, pos, num_segments=rows)
    op = {"max": sg.maximum, "min": sg.minimum, "mul": sg.multiply}[reduction]
    touched = sg.reshape(sg.reshape(hit, (rows, -1))[:, 0], (rows,) + (1,) * (len(shape_) - k))
    merged = sg.where(touched, op(flat_x, combined), flat_x)
    return sg.reshape(merged, shape_)


# ---------------------------------------------------------------------------- segments


def _segments(data: Any, segment_ids: Any, num_segments: int | None, name: str) -> tuple[Tensor, Tensor, int]:
    d, ids = _t(data), _t(segment_ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"keras.ops.{name}: segment_ids must hold integers, got {ids.dtype.name}")
    if num_segments is None:
        value = value_now(ids)
        if value is None:
            raise not_provided(name, "without num_segments in a compiled graph (the result's size depends on the data)")
        num_segments = int(value.max()) + 1 if value.size else 0
    return d, cast_to(ids, "int64"), int(num_segments)


@keras_op
def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Sums of the rows of ``data`` by segment; ids outside [0, num_segments) are dropped."""
    d, ids, n = _segments(data, segment_ids, num_segments, "segment_sum")
    inside = sg.logical_and(ids >= 0, ids < n)
    slot = sg.where(inside, ids, n)  # one spare row takes the dropped ones
    base = sg.zeros((n + 1, *d.shape[1:]), d.dtype)
    return sg.scatter_add(base, slot, d, axis=0)[:n]


def _segment_masked(data: Any, segment_ids: Any, num_segments: int | None, name: str, kind: str) -> Tensor:
    d, ids, n = _segments(data, segment_ids, num_segments, name)
    hot = sg.equal(sg.expand_dims(ids, 1), sg.constant(np.arange(n, dtype=np.int64)))  # (rows, n)
    mask = sg.reshape(hot, (*hot.shape, *([1] * (d.ndim - 1))))
    spread = sg.expand_dims(d, 1)
    if kind == "prod":
        return sg.prod(sg.where(mask, spread, sg.ones((), d.dtype)), axis=0)
    if d.dtype.kind == "f":
        fill = -np.inf if kind == "max" else np.inf
    else:
        info = np.iinfo(d.dtype)
        fill = info.min if kind == "max" else info.max
    filled = sg.where(mask, spread, sg.constant(np.asarray(fill, d.dtype)))
    return sg.max(filled, axis=0) if kind == "max" else sg.min(filled, axis=0)


@keras_op
def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Maxima by segment (-inf for an empty one, as Keras')."""
    return _segment_masked(data, segment_ids, num_segments, "segment_max", "max")


@keras_op
def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    return _segment_masked(data, segment_ids, num_segments, "segment_min", "min")


@keras_op
def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    return _segment_masked(data, segment_ids, num_segments, "segment_prod", "prod")


# ---------------------------------------------------------------------------- control flow


def _tensor_leaves(tree: Any) -> list[Any]:
    return [v for v in _leaves(tree) if v is not None]


def _is_symbolic(values: Sequence[Any]) -> bool:
    """Whether any value is symbolic (has no value now), or a trace is being built."""
    if tracing():
        return True
    return builtins.any(isinstance(v, Tensor) and value_now(v) is None for v in values)


def _truth(pred: Any) -> bool | None:
    """A predicate's truth value when it is known now, else None."""
    if isinstance(pred, Tensor):
        value = value_now(pred)
        return None if value is None else bool(np.asarray(value))
    return bool(pred)


def _select(pred: Tensor, a: Any, b: Any) -> Any:
    """Two results of the same structure, chosen elementwise by ``pred``."""
    flat_a, flat_b = _leaves(a), _leaves(b)
    if len(flat_a) != len(flat_b):
        raise ValueError("cond: true_fn and false_fn must return the same structure")
    chosen = iter([_pick(pred, x, y) for x, y in zip(flat_a, flat_b)])
    return _walk(a, lambda _: next(chosen))


def _pick(pred: Tensor, x: Any, y: Any) -> Any:
    if x is None and y is None:
        return None
    tx, ty = _t(x), _t(y)
    if tx.dtype != ty.dtype:
        dt = np.result_type(tx.dtype, ty.dtype)
        tx, ty = cast_to(tx, dt), cast_to(ty, dt)
    return sg.where(pred, tx, ty)


@keras_op
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``. A symbolic ``pred`` runs both
    branches and selects between their results elementwise (see the module docstring)."""
    truth = _truth(pred)
    if truth is not None:
        return true_fn() if truth else false_fn()
    p = sg.cast(_t(pred), _BOOL)
    if p.ndim:
        raise ValueError(f"cond: the predicate must be a scalar, got shape {p.shape}")
    return _select(p, true_fn(), false_fn())


@keras_op
def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)`` (index clipped into range). A symbolic index runs
    every branch and selects, as ``cond``."""
    if not branches:
        raise ValueError("switch: branches must not be empty")
    if isinstance(index, Tensor) and value_now(index) is None:
        i = sg.clip(sg.cast(index, "int64"), 0, len(branches) - 1)
        results = [branch(*operands) for branch in branches]
        out = results[-1]
        for k in range(len(branches) - 2, -1, -1):
            out = _select(sg.equal(i, k), results[k], out)
        return out
    value = int(np.asarray(value_now(index) if isinstance(index, Tensor) else index))
    return branches[builtins.min(builtins.max(value, 0), len(branches) - 1)](*operands)


def _tensors_of(tree: Any) -> Any:
    return _walk(tree, lambda v: v if isinstance(v, Tensor) or v is None else _t(v))


@keras_op
def while_loop(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: Any,
    maximum_iterations: int | None = None,
) -> Any:
    """``while cond(*vars): vars = body(*vars)``, at most ``maximum_iterations`` times.
    A symbolic condition needs ``maximum_iterations`` (an ``sg.scan`` of that many steps
    that stops changing the state once the condition fails)."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    state = _tensors_of(state)
    leaves = _tensor_leaves(state)
    probe = cond(*state)
    if not _is_symbolic([*leaves, probe]):
        steps = 0
        while (maximum_iterations is None or steps < maximum_iterations) and _truth(cond(*state)):
            new = body(*state)
            state = _tensors_of(tuple(new) if isinstance(new, (list, tuple)) else (new,))
            steps += 1
        return state if is_tuple else state[0]
    if maximum_iterations is None:
        raise UnsupportedError(
            "keras.ops.while_loop with a symbolic condition needs maximum_iterations (a loop whose trip count "
            "the data decides is not compiled: pass maximum_iterations, or write the loop with sg.scan)"
        )
    flat = [_t(v) for v in leaves]
    rebuild = _rebuilder(state)

    def step(*carried: Tensor) -> list[Tensor]:
        current = rebuild(carried)
        go = sg.cast(_t(cond(*current)), _BOOL)
        new = body(*current)
        new = tuple(new) if isinstance(new, (list, tuple)) else (new,)
        new_flat = [_t(v) for v in _tensor_leaves(new)]
        if len(new_flat) != len(carried):
            raise ValueError("while_loop: body must return the same structure as loop_vars")
        return [sg.where(go, cast_to(n, c.dtype), c) for n, c in zip(new_flat, carried)]

    outs, _ = sg.scan(step, outputs_info=flat, n_steps=int(maximum_iterations), return_list=True)
    final = [o[-1] if int(maximum_iterations) else f for o, f in zip(outs, flat)]
    result = rebuild(final)
    return result if is_tuple else result[0]


def _rebuilder(tree: Any) -> Callable[[Sequence[Any]], Any]:
    """A function putting a flat list of leaves back into ``tree``'s structure."""

    def rebuild(values: Sequence[Any]) -> Any:
        feed = iter(values)
        return _walk(tree, lambda v: None if v is None else next(feed))

    return rebuild


_UNROLL_LIMIT = 32  # fori_loop ranges up to this long are unrolled (each step's ops inline)


@keras_op
def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for i in range(lower, upper). Static bounds: unrolled
    when short, else an ``sg.scan`` over the indices (i an int32 tensor there)."""
    lo, hi = _truth_int(lower), _truth_int(upper)
    if lo is None or hi is None:
        raise UnsupportedError(
            "keras.ops.fori_loop with symbolic bounds is not provided (the trip count must be known when "
            "the graph is built); use Python ints, or sg.scan"
        )
    leaves = _tensor_leaves(init_val)
    if hi - lo <= _UNROLL_LIMIT or not _is_symbolic(leaves):
        val = init_val
        for i in range(lo, hi):
            val = body_fun(i, val)
        return val
    rebuild = _rebuilder(init_val)
    flat = [_t(v) for v in leaves]

    def step(i: Tensor, *carried: Tensor) -> list[Tensor]:
        new = body_fun(i, rebuild(carried))
        return [cast_to(_t(v), c.dtype) for v, c in zip(_tensor_leaves(new), carried)]

    indices = sg.constant(np.arange(lo, hi, dtype=np.int32))
    outs, _ = sg.scan(step, sequences=[indices], outputs_info=flat, return_list=True)
    return rebuild([o[-1] for o in outs])


def _truth_int(value: Any) -> int | None:
    if isinstance(value, Tensor):
        now = value_now(value)
        return None if now is None else int(now)
    return int(value)


@keras_op
def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over the rows of ``xs`` (or ``length`` steps with x
    None); returns the last carry and the ys stacked in the order of ``xs`` (with
    ``reverse`` too). Carry, xs and y may be nested lists, tuples and dicts. In a graph it
    is one ``sg.scan`` (a C loop); on eager values a Python loop."""
    carry_leaves = [_t(v) for v in _tensor_leaves(init)]
    x_leaves = [_t(v) for v in _tensor_leaves(xs)] if xs is not None else []
    if xs is None and length is None:
        raise ValueError("scan: give xs or length")
    n = x_leaves[0].shape[0] if x_leaves else int(length)
    if length is not None and x_leaves and isinstance(n, int) and n != length:
        raise ValueError(f"scan: length={length} does not match the leading axis of xs ({n})")
    rebuild_carry = _rebuilder(init)
    rebuild_x = _rebuilder(xs) if xs is not None else (lambda _: None)
    if not _is_symbolic([*carry_leaves, *x_leaves]):
        return _scan_eager(f, rebuild_carry(carry_leaves), xs, x_leaves, rebuild_x, static_size(n, "scan"), reverse)
    y_tree = _probe_y(f, rebuild_carry, rebuild_x, carry_leaves, x_leaves)
    y_count = len(_tensor_leaves(y_tree))
    n_carry = len(carry_leaves)

    def step(*args: Tensor) -> list[Tensor]:
        rows, carried = args[: len(x_leaves)], args[len(x_leaves) :]
        new_carry, y = f(rebuild_carry(carried), rebuild_x(rows))
        new_flat = [cast_to(_t(v), c.dtype) for v, c in zip(_tensor_leaves(new_carry), carried)]
        return [*new_flat, *[_t(v) for v in _tensor_leaves(y)]]

    outs, _ = sg.scan(
        step,
        sequences=x_leaves,
        outputs_info=[*carry_leaves, *([None] * y_count)],
        n_steps=None if x_leaves else n,
        go_backwards=reverse,
        return_list=True,
    )
    empty = isinstance(n, int) and n == 0
    final_carry = rebuild_carry(carry_leaves) if empty else rebuild_carry([o[-1] for o in outs[:n_carry]])
    ys = outs[n_carry:]
    if reverse:  # sg.scan stacks in the order the steps ran; Keras in the order of xs
        ys = [sg.flip(y, axis=0) for y in ys]
    feed = iter(ys)
    return final_carry, (_walk(y_tree, lambda v: None if v is None else next(feed)) if y_count else y_tree)


def _probe_y(f: Callable, rebuild_carry: Callable, rebuild_x: Callable, carry: list[Tensor], xs: list[Tensor]) -> Any:
    """The structure of f's y, from one call on placeholders (its graph is dropped)."""
    with _graph_scope():
        c = [sg.placeholder(t.shape, t.dtype) for t in carry]
        r = [sg.placeholder(t.shape[1:], t.dtype) for t in xs]
        _, y = f(rebuild_carry(c), rebuild_x(r))
    return _walk(y, lambda v: None if v is None else 0)


def _scan_eager(
    f: Callable, carry: Any, xs: Any, x_leaves: list[Tensor], rebuild_x: Callable, n: int, reverse: bool
) -> tuple[Any, Any]:
    order = range(n - 1, -1, -1) if reverse else range(n)
    ys: list[Any] = [None] * n
    for i in order:
        row = rebuild_x([t[i] for t in x_leaves]) if x_leaves else None
        carry, ys[i] = f(carry, row)
    if n == 0:
        return carry, None
    first = ys[0]
    if first is None:
        return carry, None
    columns = list(zip(*[_leaves(y) for y in ys]))
    stacked = iter([sg.stack([_t(v) for v in col]) if col[0] is not None else None for col in columns])
    return carry, _walk(first, lambda _: next(stacked))


@keras_op
def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Prefix combinations by an associative ``f`` (applied to whole slices at once), in
    log2(n) rounds (Hillis-Steele): round d combines each element with the one d back."""
    leaves = [_t(v) for v in _tensor_leaves(elems)]
    rebuild = _rebuilder(elems)
    ax = axis % leaves[0].ndim
    n = static_size(leaves[0].shape[ax], "associative_scan")

    def cut(t: Tensor, lo: int | None, hi: int | None) -> Tensor:
        index = [builtins.slice(None)] * t.ndim
        index[ax] = builtins.slice(lo, hi)
        return t[tuple(index)]

    cur = [sg.flip(t, ax) for t in leaves] if reverse else leaves
    d = 1
    while d < n:
        earlier = rebuild([cut(t, None, n - d) for t in cur])
        later = rebuild([cut(t, d, None) for t in cur])
        combined = [_t(v) for v in _tensor_leaves(f(earlier, later))]
        cur = [sg.concatenate([cut(t, None, d), c], axis=ax) for t, c in zip(cur, combined)]
        d *= 2
    if reverse:
        cur = [sg.flip(t, ax) for t in cur]
    return rebuild(cur)


@keras_op
def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001  (Keras' name)
    """``f`` on each row of ``xs`` (nested structures allowed), the results stacked."""

    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        return carry, f(x)

    _, ys = scan(body, (), xs)
    return ys


@keras_op
def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` on each row of ``elements``, stacked (a loop: symgraph does not
    vectorize a Python function)."""
    return map(function, elements)


def vectorize(pyfunc: Callable[..., Any], *, excluded: Any = None, signature: str | None = None) -> Callable[..., Any]:
    """numpy.vectorize: ``pyfunc`` applied over the broadcast loop axes of its arguments
    (core axes per ``signature``, e.g. ``"(n),(n)->()"``), by ``map`` over the flattened
    loop axes."""
    excluded_set = set(excluded or ())
    cores_in, cores_out = _parse_signature(signature)

    def run(*args: Any, **kwargs: Any) -> Any:
        positions = [i for i in range(len(args)) if i not in excluded_set]
        tensors = [_t(args[i]) for i in positions]
        core_ranks = [len(cores_in[k]) if cores_in else 0 for k in range(len(tensors))]
        loop_shapes = [t.shape[: t.ndim - r] for t, r in zip(tensors, core_ranks)]
        loop = np.broadcast_shapes(*[tuple(static_size(d, "vectorize") for d in s) for s in loop_shapes])
        flat_args = []
        for t, r in zip(tensors, core_ranks):
            core = t.shape[t.ndim - r :] if r else ()
            b = sg.broadcast_to(t, (*loop, *core))
            flat_args.append(sg.reshape(b, (-1, *core)))

        def call(rows: list[Tensor]) -> Any:
            full = list(args)
            for i, row in zip(positions, rows):
                full[i] = row
            return pyfunc(*full, **kwargs)

        if not loop:
            return call([t for t in tensors])
        out = map(call, flat_args)
        return _walk(out, lambda o: sg.reshape(o, (*loop, *o.shape[1:])) if isinstance(o, Tensor) else o)

    def vectorized(*args: Any, **kwargs: Any) -> Any:
        return dispatch(run, "vectorize", args, kwargs)

    return vectorized


def _parse_signature(signature: str | None) -> tuple[list[list[str]], list[list[str]]]:
    if signature is None:
        return [], []
    sig = signature.replace(" ", "")
    if "->" not in sig:
        raise ValueError(f"not a valid gufunc signature: {signature}")
    lhs, rhs = sig.split("->")

    def groups(text: str) -> list[list[str]]:
        out = []
        for part in text.split("),"):
            part = part.strip("()")
            out.append([p for p in part.split(",") if p])
        return out

    return groups(lhs), groups(rhs)


# ---------------------------------------------------------------------------- jvp


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple:
    """The forward-mode product J(primals) @ tangents of ``fun`` at ``primals``, with
    ``fun(*primals)``: (outputs, output tangents[, aux]). symgraph differentiates in
    reverse mode, so it is the transpose trick: with g(u) = J^T u (a reverse sweep, linear
    in u), J t = d<g(u), t>/du, a second reverse sweep. In a graph it is graph; on values
    known now the two sweeps are built on placeholders and run by the reference
    interpreter."""
    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError("jvp: primals and tangents must be lists or tuples of the arguments of fun")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    p_leaves = [_t(v) for v in _tensor_leaves(primals)]
    t_leaves = [_t(v) for v in _tensor_leaves(tangents)]
    if len(p_leaves) != len(t_leaves):
        raise ValueError("jvp: primals and tangents must have the same structure")
    if _is_symbolic([*p_leaves, *t_leaves]):
        return _jvp_graph(fun, _rebuilder(primals)(p_leaves), p_leaves, t_leaves, has_aux)
    with _graph_scope():
        p_ph = [sg.placeholder(p.shape, p.dtype) for p in p_leaves]
        t_ph = [sg.placeholder(t.shape, t.dtype) for t in t_leaves]
        result = _jvp_graph(fun, _rebuilder(primals)(p_ph), p_ph, t_ph, has_aux)
    outs = [v for v in _leaves(result) if isinstance(v, Tensor)]
    fn = sg.function([*p_ph, *t_ph], outs, mode="py")
    values = iter(sg.EagerTensor(v) for v in fn(*(p.numpy() for p in p_leaves), *(t.numpy() for t in t_leaves)))
    return _walk(result, lambda v: next(values) if isinstance(v, Tensor) else v)


def _jvp_graph(
    fun: Callable[..., Any], args: Any, p_leaves: list[Tensor], t_leaves: list[Tensor], has_aux: bool
) -> tuple:
    result = fun(*args)
    out, aux = result if has_aux else (result, None)
    out_leaves = [_t(v) for v in _tensor_leaves(out)]
    pairs = [(p, t) for p, t in zip(p_leaves, t_leaves) if p.dtype.kind == "f"]
    dual = {}
    for o in out_leaves:
        if o.dtype.kind != "f" or not pairs:
            dual[id(o)] = sg.zeros_like(o)
            continue
        # the point u of the linear map g(u) = J^T u (any point will do: g is linear); zeros
        # selected by a test on o, so it is a node of its own (a plain zeros constant is
        # interned, and autodiff's own zeros would be the same node)
        zero = sg.zeros_like(o)
        u = sg.where(sg.equal(o, o), zero, zero)
        back = sg.grad(sg.sum(o * u), [p for p, _ in pairs], disconnected="zero")
        inner = None
        for g, (_, t) in zip(back, pairs):
            term = sg.sum(g * cast_to(t, g.dtype))
            inner = term if inner is None else inner + term
        dual[id(o)] = sg.grad(inner, u, disconnected="zero")
    feed = iter(out_leaves)
    outs = _walk(out, lambda v: None if v is None else next(feed))
    feed_t = iter([dual[id(o)] for o in out_leaves])
    tangent_out = _walk(out, lambda v: None if v is None else next(feed_t))
    return (outs, tangent_out, aux) if has_aux else (outs, tangent_out)


# ---------------------------------------------------------------------------- rearrange


@keras_op
def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> Tensor:
    """einops' ``rearrange``: axes renamed, split and merged by a pattern such as
    ``"b h w c -> b (h w) c"`` or ``"b (h w) c -> b h w c"`` with ``h=4``: a reshape
    into the elementary axes, a transpose, and a reshape into the output's groups."""
    x = _t(tensor)
    if "->" not in pattern:
        raise ValueError(f"rearrange: the pattern needs '->', got {pattern!r}")
    left, right = (_pattern_groups(side) for side in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(f"rearrange: the pattern's left side has {len(left)} axes, the tensor {x.ndim}")
    sizes: dict[str, Any] = {k: int(v) for k, v in axes_lengths.items()}
    elementary: list[str] = []
    for group, dim in zip(left, x.shape):
        unknown = [a for a in group if a not in sizes and a != "1"]
        known = math.prod(sizes[a] for a in group if a in sizes)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} from {dim}")
        if unknown:
            sizes[unknown[0]] = dim if known == 1 else static_size(dim, "rearrange") // known
        elementary.extend(a for a in group if a != "1")
    out_axes = [a for group in right for a in group if a != "1"]
    if sorted(out_axes) != sorted(elementary):
        raise ValueError(f"rearrange: the axes {sorted(set(out_axes) ^ set(elementary))} appear on one side only")
    split = sg.reshape(x, tuple(sizes[a] for a in elementary)) if elementary else x
    moved = sg.transpose(split, tuple(elementary.index(a) for a in out_axes)) if out_axes else split
    shape_ = []
    for group in right:
        shape_.append(math.prod(1 if a == "1" else sizes[a] for a in group) if group else 1)
    return sg.reshape(moved, tuple(shape_))


def _pattern_groups(side: str) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] | None = None
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            current = []
        elif token == ")":
            groups.append(current or [])
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    return groups


# ---------------------------------------------------------------------------- namespaces

_CORE: dict[str, Callable[..., Any]] = {
    "convert_to_numpy": convert_to_numpy,
    "is_tensor": is_tensor,
    "shape": shape,
    "dtype": dtype,
    "vectorize": vectorize,
    "jvp": jvp,
}
EXPORTS.update(_CORE)

_LINALG = {
    "cholesky",
    "cholesky_inverse",
    "det",
    "inv",
    "jvp",
    "lstsq",
    "lu_factor",
    "norm",
    "qr",
    "solve",
    "solve_triangular",
}
# top-level only in Keras (not in keras.ops.nn)
_SIGNAL = {"fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft", "extract_sequences", "logdet", "slogdet"}


def _namespace(name: str, members: dict[str, Callable[..., Any]]) -> types.ModuleType:
    """A ``keras.ops.<name>`` namespace: its names, and UnsupportedError for the rest."""
    module = types.ModuleType(f"{__name__}.{name}", f"keras.ops.{name} on symgraph")
    for key, fn in members.items():
        setattr(module, key, fn)

    def missing(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise _missing(f"{name}.{attr}", NOT_PROVIDED.get(attr))

    module.__getattr__ = missing  # type: ignore[method-assign]
    sys.modules[module.__name__] = module
    return module


def _missing(name: str, why: str | None = None) -> UnsupportedError:
    return UnsupportedError(
        f"keras.ops.{name} is not provided by symgraph.keras"
        + (f": {why}" if why else "")
        + " (see symgraph/keras/ops.py for what keras.ops maps onto symgraph)"
    )


_NUMPY_NAMES = set(sys.modules["symgraph.keras.ops_numpy"].__all__) | {"slogdet", "vectorize"}
_NN_NAMES = set(sys.modules["symgraph.keras.ops_nn"].__all__) - _LINALG - _SIGNAL

numpy = _namespace("numpy", {n: EXPORTS[n] for n in sorted(_NUMPY_NAMES)})
nn = _namespace("nn", {n: EXPORTS[n] for n in sorted(_NN_NAMES)})
linalg = _namespace("linalg", {n: EXPORTS[n] for n in sorted(_LINALG)})
image = _namespace("image", dict(IMAGE_EXPORTS))

IMPLEMENTED: frozenset[str] = frozenset([*EXPORTS, "nn", "numpy", "linalg", "image"])


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise _missing(name, NOT_PROVIDED.get(name))


__all__ = sorted(IMPLEMENTED)


def __dir__() -> list[str]:
    return sorted(set(globals()) | IMPLEMENTED)
