"""Indexing: ``x[...]`` (basic and integer-array indexing), take/gather, one_hot,
sorting, and the scatter-add that is the gradient of a gather.

``x[index]`` follows numpy:

- ints (negative count from the end), slices with any nonzero step, ``None``
  (``np.newaxis``) and one ``Ellipsis`` make *basic* indexing: one ``subtensor`` node
  whose index specification is static. An int out of range of a static axis is an
  IndexOutOfRangeError when the graph is built, of a symbolic axis when it is called.
- integer arrays, lists and integer tensors make *advanced* indexing (a ``gather``
  node): the index arrays broadcast together, and the broadcast axes replace the
  indexed ones in place when the advanced indices are adjacent, or go first when a
  slice, ``None`` or Ellipsis separates them. As in numpy, an int among advanced
  indices counts as an advanced (0-d) index for that rule. Negative indices wrap; one
  out of range raises IndexOutOfRangeError (at build time for constant indices into a
  static axis, else at call time).
- boolean masks have a data-dependent shape and are not supported (use ``sg.where``).

A slice of a symbolic axis has a symbolic length computed with numpy's clamping rules
(``x[1:]`` on an axis of size n has length ``n - min(1, n)``); symbolic slice bounds
(``x[:n // 2]``) are taken as non-negative sizes. Slice bounds that are tensors would
make the shape depend on data and are not supported.

Gradients: that of ``subtensor`` is ``inc_subtensor`` into zeros; that of ``gather``
is ``scatter_add`` into zeros (``np.add.at``), so repeated indices accumulate.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, IndexOutOfRangeError, ShapeError, UnsupportedError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import Dim, DimExpr, Shape
from symgraph.graph.sources import Constant, as_tensor, constant, dim_value
from symgraph.ops import arithmetic as ar
from symgraph.ops import shape_ops  # which imports this module: names are read at call time
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.c_loops import Offset, broadcast_strides, c_block, c_copy, c_product, c_shape_fmt, offset_loops
from symgraph.ops.elementwise import TensorLike, broadcast_shapes, cast, sum_to_shape
from symgraph.ops.registry import register

# A basic index specification is a tuple of entries, one per input axis consumed (axes
# after the last entry are kept whole), plus entries for new axes:
#   ("all",)                       the whole axis
#   ("index", i, user_index)       one element, i resolved to 0 <= i < size; the axis goes
#   ("slice", start, step, length) elements start + step * k for k < length (start and
#                                  length are Dims, step a nonzero int), already clamped
#   ("new",)                       a new axis of size 1 (consumes no input axis)
Spec = tuple[tuple, ...]

_ALL = ("all",)
_NEW = ("new",)


def _spec_shape(spec: Spec, shape: Shape) -> Shape:
    """The shape ``spec`` selects from ``shape``, checking static bounds."""
    out: list[Dim] = []
    axis = 0
    for entry in spec:
        kind = entry[0]
        if kind == "new":
            out.append(1)
            continue
        if axis >= len(shape):
            raise ShapeError(f"the index consumes more axes than the tensor's {len(shape)}")
        n = shape[axis]
        if kind == "all":
            out.append(n)
        elif kind == "index":
            i = entry[1]
            if isinstance(i, int) and isinstance(n, int) and not 0 <= i < n:
                raise IndexOutOfRangeError(f"index {entry[2]} is out of bounds for axis {axis} with size {n}")
        elif kind == "slice":
            start, step, length = entry[1:]
            if isinstance(n, int) and isinstance(start, int) and isinstance(length, int) and length > 0:
                last = start + step * (length - 1)
                if not (0 <= start < n and 0 <= last < n):
                    raise ShapeError(f"the slice {_slice_str(entry)} does not fit axis {axis} of size {n}")
            out.append(length)
        else:
            raise ValueError(f"bad index entry {entry!r}")
        axis += 1
    return tuple(out) + tuple(shape[axis:])


def _slice_str(entry: tuple) -> str:
    start, step, length = entry[1:]
    return f"[{start} + {step}*k for k < {length}]"


def _numpy_index(spec: Spec, shape: tuple[int, ...], sizes) -> tuple:
    """The numpy index for ``spec`` on an array of ``shape``, checking bounds at call time."""
    index: list[Any] = []
    axis = 0
    for entry in spec:
        kind = entry[0]
        if kind == "new":
            index.append(None)
            continue
        n = shape[axis]
        if kind == "all":
            index.append(slice(None))
        elif kind == "index":
            i = shp.evaluate(entry[1], sizes)
            if not 0 <= i < n:
                raise IndexError(f"index {entry[2]} is out of bounds for axis {axis} with size {n}")
            index.append(i)
        else:
            start = shp.evaluate(entry[1], sizes)
            step = entry[2]
            length = shp.evaluate(entry[3], sizes)
            if length <= 0:
                index.append(slice(0, 0))
            else:
                last = start + step * (length - 1)
                if not (0 <= start < n and 0 <= last < n):
                    raise ShapeError(
                        f"axis {axis} has size {n} at call time, too small for the slice "
                        f"[{start} + {step}*k for k < {length}]"
                    )
                stop = start + step * length
                index.append(slice(start, stop if stop >= 0 else None, step))
        axis += 1
    return tuple(index)


def spec_str(spec: Spec) -> str:
    """``spec`` written as a numpy index, for dumps: ``[1:n, ::-1, None, 2]``."""
    parts = []
    for entry in spec:
        kind = entry[0]
        if kind == "all":
            parts.append(":")
        elif kind == "new":
            parts.append("None")
        elif kind == "index":
            parts.append(str(entry[1]))
        else:
            start, step, length = entry[1:]
            stop = start + step * length
            stop_text = "" if isinstance(stop, int) and stop < 0 else str(stop)
            start_text = "" if (start == 0 and step > 0) else str(start)
            parts.append(f"{start_text}:{stop_text}" + (f":{step}" if step != 1 else ""))
    return "[" + ", ".join(parts) + "]"


def _canonical(spec: Spec) -> Spec:
    """``spec`` without trailing whole-axis entries (they are implied)."""
    entries = list(spec)
    while entries and entries[-1] == _ALL:
        entries.pop()
    return tuple(entries)


def _c_spec(spec: Spec, x: CArray) -> tuple[list[str], Shape, str, list[str | None], list[str]]:
    """The part ``x[spec]`` selects, for C: its sizes, its static shape, the offset of its
    first element in ``x``, its strides in ``x`` (None on new axes), and the checks of
    positions only known at call time (raising what the reference raises)."""
    sizes: list[str] = []
    static: list[Dim] = []
    strides: list[str | None] = []
    base: list[str] = []
    checks: list[str] = []
    axis = 0
    for entry in spec:
        kind = entry[0]
        if kind == "new":
            sizes.append("1")
            static.append(1)
            strides.append(None)
            continue
        n, n_static, stride = x.shape[axis], x.static_shape[axis], x.stride(axis)
        if kind == "all":
            sizes.append(n)
            static.append(n_static)
            strides.append(stride)
        elif kind == "index":
            pos, user = entry[1], entry[2]
            p = f"({shp.to_c(pos)})"
            base.append(f"{p} * {stride}")
            if not (isinstance(pos, int) and isinstance(n_static, int)):
                shown = f"INT64_C({user})" if isinstance(user, int) else p
                checks.append(
                    f"if (!(0 <= {p} && {p} < ({n}))) SG_FAIL(SG_ERR_INDEX, "
                    f'"index %lld is out of bounds for axis {axis} with size %lld", '
                    f"(long long){shown}, (long long)({n}));"
                )
        else:
            start, step, length = entry[1:]
            first, count = f"({shp.to_c(start)})", f"({shp.to_c(length)})"
            base.append(f"{first} * {stride}")
            sizes.append(count)
            static.append(length)
            strides.append(f"({step}) * {stride}")
            if not (isinstance(start, int) and isinstance(length, int) and isinstance(n_static, int)):
                checks.append(
                    c_block(
                        f"const int64_t sgk_n = {n}, sgk_first = {first}, sgk_count = {count};",
                        f"const int64_t sgk_last = sgk_first + ({step}) * (sgk_count - 1);",
                        "if (sgk_count > 0 && !(0 <= sgk_first && sgk_first < sgk_n && "
                        "0 <= sgk_last && sgk_last < sgk_n))",
                        f'    SG_FAIL(SG_ERR_SHAPE, "axis {axis} has size %lld at call time, too small for the slice '
                        f'[%lld + {step}*k for k < %lld]", (long long)sgk_n, (long long)sgk_first, '
                        "(long long)sgk_count);",
                    )
                )
        axis += 1
    for a in range(axis, x.ndim):
        sizes.append(x.shape[a])
        static.append(x.static_shape[a])
        strides.append(x.stride(a))
    return sizes, tuple(static), " + ".join(base) or "0", strides, checks


@register
class Subtensor(CLinkerOp):
    """Basic indexing ``x[spec]``: ints, strided slices and new axes, from a static spec
    (see the module's ``Spec``); symbolic positions are resolved at call time."""

    name = "subtensor"
    needs_sizes = True

    def __init__(self, spec: Spec):
        self.spec = spec

    def attributes(self) -> dict[str, Any]:
        return {"index": spec_str(self.spec)}

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, _spec_shape(self.spec, x.shape))

    def reference(self, x, *, sizes):
        return np.array(x[_numpy_index(self.spec, x.shape, sizes)])

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [inc_subtensor(shape_ops.zeros_like(x), self.spec, g)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The output written in order from ``x`` at base + sum(k_i * stride_i) (negative
        steps give negative strides); positions are checked first where symbolic."""
        (x,), (out,) = inputs, outputs
        _, _, base, strides, checks = _c_spec(self.spec, x)
        offsets = {"s": (base, strides), "d": ("0", [out.stride(a) for a in range(out.ndim)])}
        loop = offset_loops(out.shape, offsets, lambda c: f"({out.ptr})[{c['d']}] = ({x.ptr})[{c['s']}];")
        return c_block(*checks, loop)


def subtensor(x: Tensor, spec: Spec) -> Tensor:
    """``x[spec]`` for a resolved basic index spec (no node for the whole of ``x``)."""
    spec = _canonical(spec)
    if not spec:
        return x
    return apply(Subtensor(spec), x).outputs[0]


@register
class IncSubtensor(CLinkerOp):
    """A copy of ``x`` with ``y`` added into (mode "add") or written over (mode "set")
    the part ``x[spec]`` selects; ``y`` broadcasts to that part's shape."""

    name = "inc_subtensor"
    needs_sizes = True

    def __init__(self, spec: Spec, mode: str):
        if mode not in ("add", "set"):
            raise ValueError(f"inc_subtensor: mode must be 'add' or 'set', got {mode!r}")
        self.spec = spec
        self.mode = mode

    def attributes(self) -> dict[str, Any]:
        return {"index": spec_str(self.spec), "mode": self.mode}

    def infer(self, x: Tensor, y: Tensor) -> TensorType:
        if y.dtype != x.dtype:
            raise DTypeError(f"the values' dtype {y.dtype.name} differs from the tensor's {x.dtype.name}")
        part = _spec_shape(self.spec, x.shape)
        _check_broadcasts_to(y.shape, part)
        return TensorType(x.dtype, x.shape)

    def reference(self, x, y, *, sizes):
        out = np.array(x, copy=True)
        index = _numpy_index(self.spec, x.shape, sizes)
        if self.mode == "add":
            out[index] += y
        else:
            out[index] = y
        return out

    def grad(self, inputs, outputs, output_grads):
        (x, y), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None, None]
        gx = g if self.mode == "add" else inc_subtensor(g, self.spec, constant(np.zeros((), g.dtype)), mode="set")
        return [gx, sum_to_shape(subtensor(g, self.spec), y.shape)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """``x`` copied, then ``y`` (broadcast: stride 0 on repeated axes) added into or
        written over the part, walked in order."""
        (x, y), (out,) = inputs, outputs
        sizes, static, base, strides, checks = _c_spec(self.spec, x)
        yfmt, yargs = c_shape_fmt(y.shape)
        pfmt, pargs = c_shape_fmt(sizes)

        def fail() -> str:
            return (
                f'SG_FAIL(SG_ERR_SHAPE, "values of shape {yfmt} do not broadcast to the part of shape {pfmt}"'
                f"{yargs}{pargs});"
            )

        ystrides, ychecks = broadcast_strides(y, sizes, static, fail)
        op = "+=" if self.mode == "add" else "="
        offsets = {"d": (base, strides), "s": ("0", ystrides)}
        loop = offset_loops(sizes, offsets, lambda c: f"({out.ptr})[{c['d']}] {op} ({y.ptr})[{c['s']}];")
        return c_block(*checks, *ychecks, c_copy(out, x), loop)


def inc_subtensor(x: Tensor, spec: Spec, y: TensorLike, mode: str = "add") -> Tensor:
    """A copy of ``x`` with ``y`` added into (or, mode "set", written over) ``x[spec]``."""
    y = cast(as_tensor(y), x.dtype)
    return apply(IncSubtensor(_canonical(spec), mode), x, y).outputs[0]


def _check_broadcasts_to(shape: Shape, target: Shape) -> None:
    if len(shape) > len(target):
        raise ShapeError(f"values of shape {shp.shape_str(shape)} do not fit a part of shape {shp.shape_str(target)}")
    for d, t in zip(shape[::-1], target[::-1]):
        if isinstance(d, int) and d != 1 and isinstance(t, int) and d != t:
            raise ShapeError(
                f"values of shape {shp.shape_str(shape)} do not broadcast to the part of shape {shp.shape_str(target)}"
            )


def slice_along(x: Tensor, axis: int, start: Dim, length: Dim, step: int = 1) -> Tensor:
    """Elements ``start + step * k`` (k < length) of ``x`` along ``axis``, with no
    clamping: the caller guarantees they exist (checked at call time when symbolic)."""
    spec = (_ALL,) * axis + (("slice", start, step, length),)
    if start == 0 and step == 1 and length == x.shape[axis]:
        return x
    return subtensor(x, spec)


# ----------------------------------------------------------------------------------
# Advanced indexing: gather and scatter_add


def _gather_shape(x: Shape, axes: tuple[int, ...], index_shapes: list[Shape]) -> Shape:
    ndim = len(x)
    if not axes:
        raise ShapeError("gather needs at least one indexed axis")
    if len(index_shapes) != len(axes):
        raise ShapeError(f"{len(axes)} axes but {len(index_shapes)} index tensors")
    if list(axes) != sorted(set(axes)) or axes[0] < 0 or axes[-1] >= ndim:
        raise ShapeError(f"axes {axes} must be increasing and within the tensor's {ndim} axes")
    broadcast = broadcast_shapes(*index_shapes)
    rest = [d for a, d in enumerate(x) if a not in axes]
    if axes == tuple(range(axes[0], axes[0] + len(axes))):
        return tuple(x[: axes[0]]) + broadcast + tuple(x[axes[-1] + 1 :])
    return broadcast + tuple(rest)


def _check_indices(x: Tensor, axes: tuple[int, ...], indices: tuple[Tensor, ...], wrap_negative: bool = True) -> None:
    """Index dtypes, and the bounds of constant indices into static axes."""
    for a, t in zip(axes, indices):
        if not dtypes.is_integer(t.dtype):
            raise DTypeError(f"indices must be integers, got {t.dtype.name}")
        n = x.shape[a]
        if isinstance(t.node.op, Constant) and isinstance(n, int):
            values = t.node.op.value
            bad = values[(values < (-n if wrap_negative else 0)) | (values >= n)]
            if bad.size:
                raise IndexOutOfRangeError(_out_of_bounds(int(bad.flat[0]), a, n, wrap_negative))


def _out_of_bounds(index: int, axis: int, n: int, wrap_negative: bool) -> str:
    allowed = "" if wrap_negative else f" (indices must be in [0, {n}): negative ones do not count from the end here)"
    return f"index {index} is out of bounds for axis {axis} with size {n}{allowed}"


def _check_in_range(axes: tuple[int, ...], indices: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> None:
    """The reference's check where negative indices do not wrap (numpy's would): every
    index in [0, n), the first bad one named as C names it."""
    for a, i in zip(axes, indices):
        bad = np.asarray(i)[(np.asarray(i) < 0) | (np.asarray(i) >= shape[a])]
        if bad.size:
            raise IndexOutOfRangeError(_out_of_bounds(int(bad.flat[0]), a, shape[a], False))


def _advanced_index(ndim: int, axes: tuple[int, ...], indices: tuple[np.ndarray, ...]) -> tuple:
    index: list[Any] = [slice(None)] * ndim
    for a, i in zip(axes, indices):
        index[a] = i
    return tuple(index)


def _c_advanced(
    axes: tuple[int, ...],
    x: CArray,
    indices: list[CArray],
    b_sizes: list[str],
    b_static: Shape,
    offset: str,
    wrap_negative: bool = True,
) -> tuple[list[str], Shape, dict[str, Offset], dict, list[str]]:
    """The C plan shared by gather and scatter_add over the part numpy's advanced
    indexing selects (broadcast index axes ``b_sizes`` in place of the indexed axes when
    those are adjacent, else first): the part's sizes and static shape, the running
    offsets of the index tensors (``k0``, ``k1``, ...) and of ``offset``, the element
    offset into an array shaped like ``x`` (whose selected positions times their
    strides a hook adds where the index axes end), and the checks run first: index
    shapes that broadcast, and every index in range (numpy's IndexError, array after
    array; none when the broadcast is empty). Negative indices wrap in the hook, or are
    out of range without ``wrap_negative``."""
    nb = len(b_sizes)
    contiguous = axes == tuple(range(axes[0], axes[0] + len(axes)))
    rest = [a for a in range(x.ndim) if a not in axes]
    b0 = axes[0] if contiguous else 0
    layout: list[int | None] = [*rest[:b0], *([None] * nb), *rest[b0:]]
    sizes = [b_sizes[j - b0] if a is None else x.shape[a] for j, a in enumerate(layout)]
    static = tuple(b_static[j - b0] if a is None else x.static_shape[a] for j, a in enumerate(layout))
    fmts = [c_shape_fmt(t.shape) for t in indices]
    shapes_fmt = " ".join(f for f, _ in fmts)
    shapes_args = "".join(a for _, a in fmts)

    def fail() -> str:
        return (
            'SG_FAIL(SG_ERR_SHAPE, "shape mismatch: indexing arrays could not be broadcast together '
            f'with shapes {shapes_fmt}"{shapes_args});'
        )

    checks: list[str] = []
    offsets: dict[str, Offset] = {}
    for k, t in enumerate(indices):
        strides, more = broadcast_strides(t, b_sizes, b_static, fail)
        checks += more
        offsets[f"k{k}"] = ("0", [None] * b0 + strides + [None] * (len(rest) - b0))
    offsets[offset] = ("0", [None if a is None else x.stride(a) for a in layout])
    validate = []
    lowest = "" if wrap_negative else "0"
    allowed = "" if wrap_negative else " (indices must be in [0, %lld): negative ones do not count from the end here)"
    for a, t in zip(axes, indices):
        size = f"(long long)({x.shape[a]})"
        validate.append(
            f"""for (int64_t sgk_e = 0; sgk_e < {t.size}; sgk_e++) {{
    const int64_t sgk_v = (int64_t)({t.ptr})[sgk_e];
    if (sgk_v < {lowest or f"-({x.shape[a]})"} || sgk_v >= ({x.shape[a]}))
        SG_FAIL(SG_ERR_INDEX, "index %lld is out of bounds for axis {a} with size %lld{allowed}", (long long)sgk_v,
                {size}{"" if wrap_negative else ", " + size});
}}"""
        )
    checks.append(c_block(*validate) if not nb else f"if ({c_product(b_sizes)} > 0) " + c_block(*validate))

    def hook(cur: dict[str, str]) -> tuple[str, dict[str, str]]:
        code, terms = [], []
        for k, (a, t) in enumerate(zip(axes, indices)):
            code.append(f"int64_t sgk_v{k} = (int64_t)({t.ptr})[{cur[f'k{k}']}];")
            if wrap_negative:
                code.append(f"if (sgk_v{k} < 0) sgk_v{k} += ({x.shape[a]});")
            terms.append(f"sgk_v{k} * {x.stride(a)}")
        return "\n".join(code), {offset: " + ".join(terms)}

    return sizes, static, offsets, {b0 + nb: hook}, checks


def _b_of(indices: list[CArray]) -> tuple[list[str], Shape]:
    """The broadcast shape of the index tensors: C sizes (each a literal or one index
    tensor's own size) and the static shape."""
    static = broadcast_shapes(*(t.static_shape for t in indices))
    sizes = []
    for j, d in enumerate(static):
        if isinstance(d, int):
            sizes.append(str(d))
            continue
        for t in indices:
            a = j - len(static) + t.ndim
            if a >= 0 and t.static_shape[a] == d:
                sizes.append(t.shape[a])
                break
        else:
            sizes.append(shp.to_c(d))
    return sizes, static


@register
class Gather(CLinkerOp):
    """Integer-array indexing: ``x[..., i0, ..., i1, ...]`` with index tensors
    ``indices`` at ``axes`` and whole slices elsewhere, under numpy's rules (indices
    broadcast together; their axes replace the indexed ones in place when ``axes`` are
    adjacent, else go first; negative indices wrap; out of range raises). Without
    ``wrap_negative`` a negative index is out of range too (an embedding's ids, as
    Keras has them: a padding -1 is a bug, not the last row)."""

    name = "gather"

    def __init__(self, axes: tuple[int, ...], wrap_negative: bool = True):
        self.axes = axes
        self.wrap_negative = bool(wrap_negative)

    def attributes(self) -> dict:
        return {"axes": self.axes} if self.wrap_negative else {"axes": self.axes, "wrap_negative": False}

    def infer(self, x: Tensor, *indices: Tensor) -> TensorType:
        shape = _gather_shape(x.shape, self.axes, [t.shape for t in indices])
        _check_indices(x, self.axes, indices, self.wrap_negative)
        return TensorType(x.dtype, shape)

    def reference(self, x, *indices):
        if not self.wrap_negative:
            _check_in_range(self.axes, indices, x.shape)
        return np.array(x[_advanced_index(x.ndim, self.axes, indices)])

    def grad(self, inputs, outputs, output_grads):
        x, *indices = inputs
        (g,) = output_grads
        if not dtypes.is_float(x.dtype):
            return [None] * len(inputs)
        # into zeros: x gives the shape only (no zero table is filled, then copied)
        return [apply(ScatterAdd(self.axes, into_zeros=True), x, g, *indices).outputs[0]] + [None] * len(indices)

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """Indices checked first (numpy's IndexError), then the output written in order:
        each index tensor is read once per position of the broadcast index axes."""
        x, *indices = inputs
        (out,) = outputs
        nb = out.ndim - (x.ndim - len(self.axes))
        b0 = self.axes[0] if self.axes == tuple(range(self.axes[0], self.axes[0] + len(self.axes))) else 0
        b_sizes = list(out.shape[b0 : b0 + nb])
        b_static = tuple(out.static_shape[b0 : b0 + nb])
        _, _, offsets, hooks, checks = _c_advanced(self.axes, x, indices, b_sizes, b_static, "s", self.wrap_negative)
        offsets["d"] = ("0", [out.stride(a) for a in range(out.ndim)])
        loop = offset_loops(out.shape, offsets, lambda c: f"({out.ptr})[{c['d']}] = ({x.ptr})[{c['s']}];", hooks)
        return c_block(*checks, loop)


def gather(x: Tensor, axes: tuple[int, ...], indices: list[Tensor], wrap_negative: bool = True) -> Tensor:
    """``x`` indexed by the integer tensors ``indices`` at ``axes`` (see ``Gather``)."""
    return apply(Gather(tuple(axes), wrap_negative), x, *indices).outputs[0]


@register
class ScatterAdd(CLinkerOp):
    """A copy of ``x`` with ``updates`` added at the positions the integer tensors
    ``indices`` select at ``axes`` (the positions ``gather`` reads), as
    ``np.add.at``: repeated positions accumulate; ``updates`` broadcasts to the shape
    the gather would return. With ``into_zeros`` the updates go into zeros of ``x``'s
    shape and dtype (``x`` gives the shape only: gather's gradient)."""

    name = "scatter_add"

    def __init__(self, axes: tuple[int, ...], into_zeros: bool = False):
        self.axes = axes
        self.into_zeros = bool(into_zeros)

    def infer(self, x: Tensor, updates: Tensor, *indices: Tensor) -> TensorType:
        if updates.dtype != x.dtype:
            raise DTypeError(f"the updates' dtype {updates.dtype.name} differs from the tensor's {x.dtype.name}")
        part = _gather_shape(x.shape, self.axes, [t.shape for t in indices])
        _check_indices(x, self.axes, indices)
        _check_broadcasts_to(updates.shape, part)
        return TensorType(x.dtype, x.shape)

    def reference(self, x, updates, *indices):
        out = np.zeros_like(x) if self.into_zeros else np.array(x, copy=True)
        np.add.at(out, _advanced_index(x.ndim, self.axes, indices), updates)
        return out

    def grad(self, inputs, outputs, output_grads):
        x, updates, *indices = inputs
        (g,) = output_grads
        if not dtypes.is_float(x.dtype):
            return [None] * len(inputs)
        gu = sum_to_shape(gather(g, self.axes, indices), updates.shape)
        return [None if self.into_zeros else g, gu] + [None] * len(indices)

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """``x`` copied, indices checked (numpy's IndexError), then ``updates`` added
        walking the gathered part in C order, one position after another, as
        ``np.add.at`` does: repeated positions accumulate in the same order."""
        x, updates, *indices = inputs
        (out,) = outputs
        b_sizes, b_static = _b_of(indices)
        sizes, static, offsets, hooks, checks = _c_advanced(self.axes, x, indices, b_sizes, b_static, "d")
        ufmt, uargs = c_shape_fmt(updates.shape)
        pfmt, pargs = c_shape_fmt(sizes)

        def fail() -> str:
            return (
                f'SG_FAIL(SG_ERR_SHAPE, "updates of shape {ufmt} do not broadcast to the indexed part of shape {pfmt}"'
                f"{uargs}{pargs});"
            )

        ustrides, uchecks = broadcast_strides(updates, sizes, static, fail)
        rows = _c_scatter_rows(self.axes, x, updates, indices, out, self.into_zeros)
        if rows is not None:
            return c_block(*checks, *uchecks, rows)
        base = _c_zero_fill(out) if self.into_zeros else c_copy(out, x)
        offsets["u"] = ("0", ustrides)
        loop = offset_loops(sizes, offsets, lambda c: f"({out.ptr})[{c['d']}] += ({updates.ptr})[{c['u']}];", hooks)
        return c_block(*checks, *uchecks, base, loop)


# Row scatters (one index tensor on axis 0, updates of the full part's shape: the
# embedding gradient) on threads: the output's rows are cut into _SCATTER_PARTS parts;
# each part fills its rows, then walks every index, adding the updates that land in it. Each element
# receives its additions in index order, as serially (and np.add.at): the same bits on
# any number of threads.
_SCATTER_PARTS = 8


def _c_zero_fill(out: CArray) -> str:
    """``out`` = 0, on every thread from SG_PARALLEL_MIN elements on."""
    n = out.size
    return (
        f"if ({n} >= SG_PARALLEL_MIN) {{\n"
        "    #pragma omp parallel for simd schedule(static)\n"
        f"    for (int64_t sgk_z = 0; sgk_z < {n}; sgk_z++) ({out.ptr})[sgk_z] = 0;\n"
        f"}} else if ({n} > 0) {{\n"
        f"    memset({out.ptr}, 0, sizeof({out.ctype}) * (size_t){n});\n"
        "}"
    )


def _c_scatter_rows(
    axes: tuple[int, ...], x: CArray, updates: CArray, indices: list[CArray], out: CArray, into_zeros: bool
) -> str | None:
    """The row scatter (comment above), or None when the op is not one. Each part first
    fills its rows (zeros, or x's rows), which then take their additions while in cache."""
    if axes != (0,) or len(indices) != 1 or x.ndim < 1:
        return None
    (t,) = indices
    if tuple(updates.static_shape) != tuple(t.static_shape) + tuple(x.static_shape[1:]):
        return None
    if any(not isinstance(d, int) for d in updates.static_shape):
        return None  # symbolic sizes: the general loops check them
    vocab = x.shape[0]
    row = c_product([x.shape[a] for a in range(1, x.ndim)])
    span = f"sizeof({out.ctype}) * (size_t)((sgk_hi - sgk_lo)*sgk_row)"
    fill = (
        f"memset(({out.ptr}) + sgk_lo*sgk_row, 0, {span});"
        if into_zeros
        else f"if ((const void *)({out.ptr}) != (const void *)({x.ptr}) && sgk_hi > sgk_lo) "
        f"memcpy(({out.ptr}) + sgk_lo*sgk_row, ({x.ptr}) + sgk_lo*sgk_row, {span});"
    )
    part = [
        "const int64_t sgk_lo = sgk_rows*sgk_p/sgk_np, sgk_hi = sgk_rows*(sgk_p + 1)/sgk_np;",
        fill,
        "for (int64_t sgk_e = 0; sgk_e < sgk_n; sgk_e++) {",
        f"    int64_t sgk_v = (int64_t)({t.ptr})[sgk_e];",
        "    if (sgk_v < 0) sgk_v += sgk_rows;",
        "    if (sgk_v < sgk_lo || sgk_v >= sgk_hi) continue;",
        f"    {out.ctype} *restrict sgk_d = ({out.ptr}) + sgk_v*sgk_row;",
        f"    const {updates.ctype} *restrict sgk_u = ({updates.ptr}) + sgk_e*sgk_row;",
        "    #pragma omp simd",
        "    for (int64_t sgk_j = 0; sgk_j < sgk_row; sgk_j++) sgk_d[sgk_j] += sgk_u[sgk_j];",
        "}",
    ]
    loop = ["for (int64_t sgk_p = 0; sgk_p < sgk_np; sgk_p++) {", *("    " + line for line in part), "}"]
    return "\n".join(
        [
            "{",
            f"    const int64_t sgk_rows = {vocab}, sgk_row = {row}, sgk_n = {t.size};",
            f"    const int64_t sgk_parts = sg_min_i64({_SCATTER_PARTS}, sgk_rows);",
            "    const int64_t sgk_np = sgk_n*sgk_row >= SG_PARALLEL_MIN ? sgk_parts : 1;",
            "    if (sgk_np > 1) {",
            "        #pragma omp parallel for schedule(dynamic, 1)",
            *("        " + line for line in loop),
            "    } else {",
            *("        " + line for line in loop),
            "    }",
            "}",
        ]
    )


# ----------------------------------------------------------------------------------
# x[index]


def _bound(value: Any, what: str) -> int | DimExpr | None:
    if value is None or isinstance(value, DimExpr):
        return value
    if isinstance(value, Tensor):
        raise UnsupportedError(
            f"a slice {what} that is a tensor would make the result's shape depend on data; "
            "use ints or symbolic sizes (x.shape[i]), or sg.where to select by value"
        )
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"slice {what} must be an integer, a size or None, got {value!r}") from None


def _clamp_forward(b: int | DimExpr, n: Dim) -> Dim:
    """A bound of a positive-step slice clamped to [0, n]."""
    if isinstance(b, int):
        if b >= 0:
            return 0 if b == 0 else shp.dim_min(b, n)
        return shp.dim_max(0, n + b)
    return shp.dim_min(b, n)


def _clamp_backward(b: int | DimExpr, n: Dim) -> Dim:
    """A bound of a negative-step slice clamped to [-1, n - 1]."""
    if isinstance(b, int):
        if b >= 0:
            return shp.dim_min(b, n - 1)
        return n - 1 if b == -1 else shp.dim_max(-1, n + b)
    return shp.dim_min(b, n - 1)


def resolve_slice(s: slice, n: Dim) -> tuple:
    """The spec entry ``("slice", start, step, length)`` for ``s`` on an axis of size ``n``."""
    start, stop = _bound(s.start, "start"), _bound(s.stop, "stop")
    if isinstance(s.step, DimExpr):
        raise UnsupportedError("a slice step must be a static int")
    step = 1 if s.step is None else _bound(s.step, "step")
    if step == 0:
        raise ShapeError("slice step cannot be zero")
    if isinstance(n, int) and not isinstance(start, DimExpr) and not isinstance(stop, DimExpr):
        first, last, step = slice(start, stop, step).indices(n)
        length = len(range(first, last, step))
        return ("slice", first if length else 0, step, length)
    if step > 0:
        first = 0 if start is None else _clamp_forward(start, n)
        last = n if stop is None else _clamp_forward(stop, n)
        if stop is None:
            length = shp.ceildiv(n - first, step)  # first <= n
        elif start is None:
            length = shp.ceildiv(last, step)  # last >= 0
        else:
            length = shp.nonneg(shp.ceildiv(last - first, step))
    else:
        first = n - 1 if start is None else _clamp_backward(start, n)
        last = -1 if stop is None else _clamp_backward(stop, n)
        if stop is None:
            length = shp.ceildiv(first + 1, -step)  # first >= -1
        else:
            length = shp.nonneg(shp.ceildiv(first - last, -step))
    return ("slice", first, step, length)


def _resolve_int(i: int | DimExpr, n: Dim) -> tuple:
    if isinstance(i, DimExpr):
        return ("index", i, str(i))
    if isinstance(n, int):  # out of range stays unresolved: the op's shape rule reports it
        return ("index", i % n if -n <= i < n else i, i)
    return ("index", i if i >= 0 else n + i, i)


def _mask_error() -> UnsupportedError:
    return UnsupportedError(
        "boolean mask indexing gives a shape that depends on the data, which a compiled graph "
        "cannot have; use sg.where(mask, x, 0) (or a masked reduction) instead"
    )


def _index_tensor(value: Any) -> Tensor:
    """An integer index tensor from a tensor, array or (nested) list."""
    if isinstance(value, Tensor):
        t = value
    else:
        array = np.asarray(value)
        if array.dtype.kind == "b":
            raise _mask_error()
        if array.dtype.kind not in "iu":
            if array.size == 0 and array.dtype.kind == "f":  # [] is float64 to numpy
                array = array.astype(np.int64)
            else:
                raise DTypeError(f"indices must be integers, got {array.dtype.name} ({value!r})")
        t = constant(array if array.dtype in dtypes.SUPPORTED else array.astype(np.int64))
    if t.dtype.kind == "b":
        raise _mask_error()
    if not dtypes.is_integer(t.dtype):
        raise DTypeError(f"indices must be integers, got {t.dtype.name}")
    return t


def _classify(entry: Any) -> tuple:
    if entry is None:
        return ("new",)
    if entry is Ellipsis:
        return ("ellipsis",)
    if isinstance(entry, slice):
        return ("slice", entry)
    if isinstance(entry, (bool, np.bool_)):
        raise _mask_error()
    if isinstance(entry, DimExpr):
        return ("int", entry)
    if isinstance(entry, (int, np.integer)):
        return ("int", int(entry))
    if isinstance(entry, Tensor):
        t = _index_tensor(entry)
        return ("array", t)
    if isinstance(entry, (list, np.ndarray)):
        return ("array", _index_tensor(entry))
    if isinstance(entry, tuple):
        raise TypeError("a tuple inside an index is ambiguous; use a list for an integer array index")
    raise TypeError(
        f"only integers, slices, None, Ellipsis, integer arrays and integer tensors are valid indices, got {entry!r}"
    )


def getitem(x: TensorLike, index: Any) -> Tensor:
    """``x[index]`` with numpy's semantics (see the module docstring)."""
    x = as_tensor(x)
    entries = [_classify(e) for e in (index if isinstance(index, tuple) else (index,))]
    if sum(e[0] == "ellipsis" for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(e[0] in ("int", "slice", "array") for e in entries)
    if consumed > x.ndim:
        raise IndexOutOfRangeError(
            f"too many indices for a tensor of rank {x.ndim}: {consumed} were given (shape {shp.shape_str(x.shape)})"
        )
    expanded: list[tuple] = []
    for e in entries:
        if e[0] == "ellipsis":
            expanded.extend([("slice", slice(None))] * (x.ndim - consumed))
        else:
            expanded.append(e)
    advanced = any(e[0] == "array" for e in expanded)

    spec: list[tuple] = []
    gathered: list[tuple[int, Tensor]] = []  # (axis of the basic result, index tensor)
    axis = 0
    for e in expanded:
        kind = e[0]
        if kind == "new":
            spec.append(_NEW)
            continue
        n = x.shape[axis]
        if kind == "slice":
            entry = resolve_slice(e[1], n)
            spec.append(_ALL if entry == ("slice", 0, 1, n) else entry)
        elif kind == "int" and not advanced:
            spec.append(_resolve_int(e[1], n))
        else:
            if kind == "int":
                i = e[1]  # a 0-d index: gather checks its bounds
                t = dim_value(i) if isinstance(i, DimExpr) else constant(np.array(i, np.int64))
            else:
                t = e[1]
            gathered.append((len(spec), t))
            spec.append(_ALL)
        axis += 1
    basic = subtensor(x, tuple(spec))
    if not gathered:
        return basic
    return gather(basic, tuple(a for a, _ in gathered), [t for _, t in gathered])


# ----------------------------------------------------------------------------------
# take, take_along_axis, scatter_add, one_hot


def _axis(axis: int, ndim: int, what: str) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def take(x: TensorLike, indices: TensorLike, axis: int | None = None, mode: str = "raise") -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None),
    as numpy's take: the result's shape is ``x.shape[:axis] + indices.shape +
    x.shape[axis+1:]``. Negative indices count from the end; with ``mode="raise"`` an
    index outside ``[-n, n)`` is an IndexOutOfRangeError naming the index and the size n
    (at build time for constant indices into a static axis, else at call time).
    ``mode="wrap"`` wraps every index modulo n, ``mode="clip"`` clips to ``[0, n-1]``."""
    x = as_tensor(x)
    ind = _index_tensor(indices)
    if axis is None:
        x = shape_ops.reshape(x, (-1,))
        axis = 0
    axis = _axis(axis, x.ndim, "take")
    n = x.shape[axis]
    if mode == "wrap":
        ind = ar.mod(ind, dim_value(n))
    elif mode == "clip":
        ind = ar.clip(ind, 0, ar.sub(dim_value(n), 1))
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return gather(x, (axis,), [ind])


def _along_axis_indices(shape: Shape, indices: Tensor, axis: int) -> list[Tensor]:
    """Index tensors for every axis: ``indices`` at ``axis``, broadcastable aranges elsewhere."""
    result = []
    for a, n in enumerate(shape):
        if a == axis:
            result.append(indices)
        else:
            grid = shape_ops.arange(n)
            result.append(shape_ops.reshape(grid, tuple(n if b == a else 1 for b in range(len(shape)))))
    return result


def take_along_axis(x: TensorLike, indices: TensorLike, axis: int | None) -> Tensor:
    """numpy's take_along_axis: ``out[..., i, ...] = x[..., indices[..., i, ...], ...]``
    along ``axis``; ``indices`` has ``x``'s rank and broadcasts with it on the other
    axes (``axis=None`` works on the flattened ``x`` with 1-d indices). Negative
    indices wrap; out of range raises IndexOutOfRangeError."""
    x = as_tensor(x)
    ind = _index_tensor(indices)
    if axis is None:
        if ind.ndim != 1:
            raise ShapeError(f"take_along_axis: with axis=None the indices must be 1-d, got {ind.type}")
        x = shape_ops.reshape(x, (-1,))
        axis = 0
    if ind.ndim != x.ndim:
        raise ShapeError(f"take_along_axis: indices of rank {ind.ndim} for a tensor of rank {x.ndim} (must match)")
    axis = _axis(axis, x.ndim, "take_along_axis")
    return gather(x, tuple(range(x.ndim)), _along_axis_indices(x.shape, ind, axis))


def scatter_add(x: TensorLike, indices: TensorLike, updates: TensorLike, axis: int = 0) -> Tensor:
    """A copy of ``x`` with ``updates`` added at ``indices`` along ``axis``:
    ``np.add.at(out, (slice(None),) * axis + (indices,), updates)``. Repeated indices
    accumulate; negative indices wrap; out of range raises IndexOutOfRangeError.
    ``updates`` broadcasts to ``x.shape[:axis] + indices.shape + x.shape[axis+1:]`` and
    is cast to ``x``'s dtype. This is the gradient of ``take``."""
    x = as_tensor(x)
    ind = _index_tensor(indices)
    axis = _axis(axis, x.ndim, "scatter_add")
    values = cast(as_tensor(updates), x.dtype)
    return apply(ScatterAdd((axis,)), x, values, ind).outputs[0]


def one_hot(indices: TensorLike, depth: int | DimExpr, dtype: object = "float32", axis: int = -1) -> Tensor:
    """One-hot encoding: a new axis of size ``depth`` at ``axis`` (a position in the
    result) holding 1 at each index and 0 elsewhere. An index outside ``[0, depth)``,
    negative ones included, gives an all-zero row, as in TensorFlow, JAX and Keras
    (unlike take, nothing raises)."""
    ind = _index_tensor(indices)
    depth = shp.as_dim(depth)
    if isinstance(depth, int) and depth < 0:
        raise ShapeError(f"one_hot: depth must be non-negative, got {depth}")
    ndim = ind.ndim + 1
    axis = _axis(axis, ndim, "one_hot")
    positions = shape_ops.reshape(shape_ops.arange(depth), tuple(depth if a == axis else 1 for a in range(ndim)))
    return cast(ar.equal(shape_ops.expand_dims(ind, axis), positions), dtype)


# ----------------------------------------------------------------------------------
# sorting


@register
class ArgSort(CLinkerOp):
    """Indices (int64) that sort ``x`` along ``axis``, stably: equal elements keep their
    order (ascending) or come lowest index first (descending). NaN sorts as largest,
    as in numpy."""

    name = "argsort"

    def __init__(self, axis: int, descending: bool):
        self.axis = axis
        self.descending = bool(descending)

    def infer(self, x: Tensor) -> TensorType:
        if not 0 <= self.axis < x.ndim:
            raise ShapeError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")
        return TensorType(dtypes.DEFAULT_INT, x.shape)

    def reference(self, x):
        if not self.descending:
            return np.argsort(x, axis=self.axis, kind="stable").astype(np.int64)
        n = x.shape[self.axis]
        flipped = np.argsort(np.flip(x, self.axis), axis=self.axis, kind="stable")
        return (n - 1 - np.flip(flipped, self.axis)).astype(np.int64)

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """A stable merge sort of each line's positions (insertion-sorted runs of 16, then
        bottom-up merges between two malloc'd index buffers), keyed by a contiguous copy
        of the line. The order puts ``a`` before ``b`` only when it must: ``a < b``
        (``a > b`` descending) with NaN greatest, so NaNs go last ascending and first
        descending, and equal keys keep their positions' order, as the reference does."""
        (x,), (out,) = inputs, outputs
        T = x.ctype
        if x.dtype.kind == "f":
            less = (
                "(sgk_p > sgk_q || (isnan(sgk_p) && !isnan(sgk_q)))"
                if self.descending
                else ("(sgk_p < sgk_q || (isnan(sgk_q) && !isnan(sgk_p)))")
            )
        else:
            less = "(sgk_p > sgk_q)" if self.descending else "(sgk_p < sgk_q)"
        outer = c_product(x.shape[: self.axis])
        return f"""{{
const {T} *sgk_x = ({x.ptr});
int64_t *sgk_out = ({out.ptr});
const int64_t sgk_n = ({x.shape[self.axis]});
const int64_t sgk_outer = {outer};
const int64_t sgk_inner = {x.stride(self.axis)};
if (sgk_n > 0 && sgk_outer > 0 && sgk_inner > 0) {{
    {T} *sgk_v = ({T} *)malloc(sizeof({T}) * (size_t)sgk_n);
    int64_t *sgk_a = (int64_t *)malloc(sizeof(int64_t) * (size_t)sgk_n);
    int64_t *sgk_b = (int64_t *)malloc(sizeof(int64_t) * (size_t)sgk_n);
    if (sgk_v == NULL || sgk_a == NULL || sgk_b == NULL) {{
        free(sgk_v);
        free(sgk_a);
        free(sgk_b);
        SG_FAIL(SG_ERR_NOMEM, "argsort: cannot allocate scratch space for %lld elements", (long long)sgk_n);
    }}
    for (int64_t sgk_o = 0; sgk_o < sgk_outer; sgk_o++) {{
        for (int64_t sgk_i = 0; sgk_i < sgk_inner; sgk_i++) {{
            const int64_t sgk_base = sgk_o * sgk_n * sgk_inner + sgk_i;
            for (int64_t sgk_k = 0; sgk_k < sgk_n; sgk_k++) {{
                sgk_v[sgk_k] = sgk_x[sgk_base + sgk_k * sgk_inner];
                sgk_a[sgk_k] = sgk_k;
            }}
            for (int64_t sgk_lo = 0; sgk_lo < sgk_n; sgk_lo += 16) {{
                const int64_t sgk_hi = sgk_lo + 16 < sgk_n ? sgk_lo + 16 : sgk_n;
                for (int64_t sgk_k = sgk_lo + 1; sgk_k < sgk_hi; sgk_k++) {{
                    const int64_t sgk_key = sgk_a[sgk_k];
                    const {T} sgk_p = sgk_v[sgk_key];
                    int64_t sgk_j = sgk_k;
                    while (sgk_j > sgk_lo) {{
                        const {T} sgk_q = sgk_v[sgk_a[sgk_j - 1]];
                        if (!{less}) break;
                        sgk_a[sgk_j] = sgk_a[sgk_j - 1];
                        sgk_j--;
                    }}
                    sgk_a[sgk_j] = sgk_key;
                }}
            }}
            int64_t *sgk_src = sgk_a, *sgk_dst = sgk_b;
            for (int64_t sgk_w = 16; sgk_w < sgk_n; sgk_w *= 2) {{
                for (int64_t sgk_lo = 0; sgk_lo < sgk_n; sgk_lo += 2 * sgk_w) {{
                    const int64_t sgk_mid = sgk_lo + sgk_w < sgk_n ? sgk_lo + sgk_w : sgk_n;
                    const int64_t sgk_hi = sgk_lo + 2 * sgk_w < sgk_n ? sgk_lo + 2 * sgk_w : sgk_n;
                    int64_t sgk_l = sgk_lo, sgk_r = sgk_mid, sgk_k = sgk_lo;
                    while (sgk_l < sgk_mid && sgk_r < sgk_hi) {{
                        const {T} sgk_p = sgk_v[sgk_src[sgk_r]];
                        const {T} sgk_q = sgk_v[sgk_src[sgk_l]];
                        sgk_dst[sgk_k++] = {less} ? sgk_src[sgk_r++] : sgk_src[sgk_l++];
                    }}
                    while (sgk_l < sgk_mid) sgk_dst[sgk_k++] = sgk_src[sgk_l++];
                    while (sgk_r < sgk_hi) sgk_dst[sgk_k++] = sgk_src[sgk_r++];
                }}
                int64_t *sgk_t = sgk_src;
                sgk_src = sgk_dst;
                sgk_dst = sgk_t;
            }}
            for (int64_t sgk_k = 0; sgk_k < sgk_n; sgk_k++) sgk_out[sgk_base + sgk_k * sgk_inner] = sgk_src[sgk_k];
        }}
    }}
    free(sgk_v);
    free(sgk_a);
    free(sgk_b);
}}
}}"""


def _sort_input(x: TensorLike, axis: int | None, what: str) -> tuple[Tensor, int]:
    x = as_tensor(x)
    if axis is None:
        return shape_ops.reshape(x, (-1,)), 0
    if x.ndim == 0:
        raise ShapeError(f"{what}: a 0-d tensor has no axis to sort (use axis=None)")
    return x, _axis(axis, x.ndim, what)


def argsort(x: TensorLike, axis: int | None = -1, *, descending: bool = False) -> Tensor:
    """Indices (int64) that sort ``x`` along ``axis`` (the flattened ``x`` when None).
    The sort is always stable (numpy's ``kind="stable"``); ``descending=True`` (as in
    jax.numpy) puts the largest first, equal elements lowest index first."""
    x, axis = _sort_input(x, axis, "argsort")
    return apply(ArgSort(axis, descending), x).outputs[0]


def sort(x: TensorLike, axis: int | None = -1, *, descending: bool = False) -> Tensor:
    """``x`` sorted along ``axis`` (the flattened ``x`` when None), numpy's sort. Built as
    ``take_along_axis(x, argsort(x))``, so the gradient scatters back through the
    permutation."""
    x, axis = _sort_input(x, axis, "sort")
    return take_along_axis(x, argsort(x, axis, descending=descending), axis)


def top_k(x: TensorLike, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` largest elements along the last axis and their indices (int64), largest
    first, equal values lowest index first (as TensorFlow's and JAX's top_k). ``k`` must
    not exceed the axis' size (checked at build time when static, at call time when
    not). The gradient of the values scatters back to the positions they came from."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ShapeError("top_k: needs at least one axis")
    k = operator.index(k)
    n = x.shape[-1]
    if k < 0 or (isinstance(n, int) and k > n):
        raise ShapeError(f"top_k: k={k} is out of range for a last axis of size {n}")
    order = argsort(x, -1, descending=True)
    indices = order if k == n else slice_along(order, x.ndim - 1, 0, k)
    return take_along_axis(x, indices, -1), indices


__all__ = [
    "take",
    "take_along_axis",
    "scatter_add",
    "one_hot",
    "sort",
    "argsort",
    "top_k",
]
