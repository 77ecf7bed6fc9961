"""Ops that move or replicate elements without computing new values: reshape,
transpose, broadcast_to, expand_dims, squeeze, concatenate, stack, split, tile, pad,
flip, repeat, moveaxis, swapaxes, and the creation helpers (arange, zeros, ones, full,
*_like). Most are compositions of a few primitive ops (reshape, broadcast_to,
transpose, concatenate, and the indexing ops), so their gradients come for free.

Target shapes may hold symbolic dimensions (``x.shape[0]``), so one graph serves every
batch size; such ops set ``needs_sizes`` and resolve the shape at call time.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, ShapeError, UnsupportedError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import Dim, DimExpr, Shape
from symgraph.graph.sources import _as_shape_tuple, as_tensor, constant
from symgraph.ops import indexing  # which imports this module: names are read at call time
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.c_loops import broadcast_strides, c_block, c_copy, c_product, c_shape_fmt, offset_loops
from symgraph.ops.elementwise import ANY, TensorLike, cast, promote, sum_to_shape
from symgraph.ops.registry import register


def as_shape(shape: Any) -> Shape:
    """A shape tuple from ints, symbolic dims, or a single int."""
    return tuple(shp.as_dim(d) for d in _as_shape_tuple(shape))


_TILE = 32  # the transpose's cache tile (elements per side)


def _c_double(value: float) -> str:
    """A double literal holding ``value`` exactly (C99 hexadecimal)."""
    if math.isnan(value):
        return "((double)NAN)"
    if math.isinf(value):
        return "((double)INFINITY)" if value > 0 else "(-(double)INFINITY)"
    return f"({float(value).hex()})"


@register
class Reshape(CLinkerOp):
    """The same elements (C order) in a new shape; ``shape`` is fully resolved (no -1)."""

    name = "reshape"
    needs_sizes = True

    def __init__(self, shape: Shape):
        self.shape = shape

    def infer(self, x: Tensor) -> TensorType:
        if shp.prod(x.shape) != shp.prod(self.shape) and shp.is_static_shape(x.shape + self.shape):
            raise ShapeError(f"cannot reshape {shp.shape_str(x.shape)} into {shp.shape_str(self.shape)}")
        return TensorType(x.dtype, self.shape)

    def reference(self, x, *, sizes):
        return x.reshape(shp.evaluate_shape(self.shape, sizes))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [reshape(g, x.shape)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """A memcpy of the contiguous data (codegen may alias instead); the element counts
        are checked at call time when they are not equal symbolically."""
        (x,), (out,) = inputs, outputs
        check = ""
        if shp.prod(list(x.static_shape)) != shp.prod(list(out.static_shape)):
            fmt, args = c_shape_fmt(out.shape)
            check = (
                f"if ({x.size} != {out.size}) SG_FAIL(SG_ERR_SHAPE, "
                f'"cannot reshape array of size %lld into shape {fmt}", (long long){x.size}{args});'
            )
        return c_block(check, c_copy(out, x))


def reshape(x: TensorLike, shape: Any) -> Tensor:
    """``x`` with a new shape holding the same number of elements; one entry may be -1."""
    x = as_tensor(x)
    target = list(as_shape(shape))
    unknown = [i for i, d in enumerate(target) if isinstance(d, int) and d == -1]
    if len(unknown) > 1:
        raise ShapeError(f"reshape: only one -1 allowed in {tuple(target)}")
    if unknown:
        known = shp.prod([d for i, d in enumerate(target) if i != unknown[0]])
        total = shp.prod(x.shape)
        if isinstance(known, int) and isinstance(total, int) and (known == 0 or total % known):
            raise ShapeError(f"reshape: cannot reshape {shp.shape_str(x.shape)} into {tuple(shape)}")
        target[unknown[0]] = shp.floordiv(total, known)
    for d in target:
        if isinstance(d, int) and d < 0:
            raise ShapeError(f"reshape: negative dimension in {tuple(shape)}")
    target_shape = tuple(target)
    if target_shape == x.shape:
        return x
    return apply(Reshape(target_shape), x).outputs[0]


@register
class BroadcastTo(CLinkerOp):
    """``x`` repeated along size-1 and new leading axes to ``shape`` (numpy's broadcast_to)."""

    name = "broadcast_to"
    needs_sizes = True

    def __init__(self, shape: Shape):
        self.shape = shape

    def infer(self, x: Tensor) -> TensorType:
        lead = len(self.shape) - x.ndim
        if lead < 0:
            raise ShapeError(f"cannot broadcast {shp.shape_str(x.shape)} to the lower rank {shp.shape_str(self.shape)}")
        for d, t in zip(x.shape, self.shape[lead:]):
            if d != 1 and d != t and isinstance(d, int) and isinstance(t, int):
                raise ShapeError(f"cannot broadcast {shp.shape_str(x.shape)} to {shp.shape_str(self.shape)}")
        return TensorType(x.dtype, self.shape)

    def reference(self, x, *, sizes):
        return np.broadcast_to(x, shp.evaluate_shape(self.shape, sizes))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [sum_to_shape(g, x.shape)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The output written in order; sizes only known at call time are checked."""
        (x,), (out,) = inputs, outputs
        xfmt, xargs = c_shape_fmt(x.shape)
        ofmt, oargs = c_shape_fmt(out.shape)

        def fail() -> str:
            return f'SG_FAIL(SG_ERR_SHAPE, "cannot broadcast a tensor of shape {xfmt} to shape {ofmt}"{xargs}{oargs});'

        strides, checks = broadcast_strides(x, out.shape, out.static_shape, fail)
        src, dst = f"({x.ptr})", f"({out.ptr})"
        lead = out.ndim - x.ndim
        if all(s is None for s in strides):  # one value repeated (full, zeros, ...)
            loop = f"for (int64_t sgk_i = 0; sgk_i < {out.size}; sgk_i++) {dst}[sgk_i] = {src}[0];"
        elif lead and all(s is not None for s in strides[lead:]) and not checks:  # whole copies of x
            loop = (
                f"if ({x.size} > 0) for (int64_t sgk_i = 0; sgk_i < {c_product(out.shape[:lead])}; sgk_i++) "
                f"memcpy({dst} + sgk_i * {x.size}, {src}, sizeof({x.ctype}) * (size_t){x.size});"
            )
        else:
            offsets = {"s": ("0", strides), "d": ("0", [out.stride(a) for a in range(out.ndim)])}
            loop = offset_loops(out.shape, offsets, lambda c: f"{dst}[{c['d']}] = {src}[{c['s']}];")
        return c_block(*checks, loop)


def broadcast_to(x: TensorLike, shape: Any) -> Tensor:
    """``x`` broadcast to ``shape`` (numpy's broadcast_to)."""
    x = as_tensor(x)
    target = as_shape(shape)
    if target == x.shape:
        return x
    return apply(BroadcastTo(target), x).outputs[0]


@register
class Transpose(CLinkerOp):
    """Axes permuted: output axis i is input axis ``perm[i]``."""

    name = "transpose"

    def __init__(self, perm: tuple[int, ...]):
        self.perm = perm

    def infer(self, x: Tensor) -> TensorType:
        if sorted(self.perm) != list(range(x.ndim)):
            raise ShapeError(f"axes {self.perm} are not a permutation of the {x.ndim} axes")
        return TensorType(x.dtype, tuple(x.shape[p] for p in self.perm))

    def reference(self, x):
        return np.transpose(x, self.perm)

    def grad(self, inputs, outputs, output_grads):
        inverse = tuple(int(i) for i in np.argsort(self.perm))
        return [transpose(output_grads[0], inverse)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The output written in order when the last axis stays last (rows copy
        contiguously); otherwise the plane of the two axes contiguous in the input and in
        the output is copied in square tiles, so both sides stay in cache."""
        (x,), (out,) = inputs, outputs
        nd = out.ndim
        src, dst = f"({x.ptr})", f"({out.ptr})"
        src_strides = [x.stride(p) for p in self.perm]
        dst_strides = [out.stride(a) for a in range(nd)]
        if self.perm[-1] == nd - 1:
            offsets = {"s": ("0", src_strides), "d": ("0", dst_strides)}
            return offset_loops(out.shape, offsets, lambda c: f"{dst}[{c['d']}] = {src}[{c['s']}];")
        q = self.perm.index(nd - 1)  # the output axis that runs along the input's rows
        outer = [a for a in range(nd - 1) if a != q]
        rows, cols = out.shape[q], out.shape[nd - 1]
        row_stride, col_stride = out.stride(q), src_strides[nd - 1]

        def tiles(c: dict[str, str]) -> str:
            return f"""for (int64_t sgk_ta = 0; sgk_ta < ({rows}); sgk_ta += {_TILE}) {{
    const int64_t sgk_ea = sgk_ta + {_TILE} < ({rows}) ? sgk_ta + {_TILE} : ({rows});
    for (int64_t sgk_tb = 0; sgk_tb < ({cols}); sgk_tb += {_TILE}) {{
        const int64_t sgk_eb = sgk_tb + {_TILE} < ({cols}) ? sgk_tb + {_TILE} : ({cols});
        for (int64_t sgk_a = sgk_ta; sgk_a < sgk_ea; sgk_a++) {{
            {out.ctype} *sgk_drow = {dst} + {c["d"]} + sgk_a * {row_stride};
            const {x.ctype} *sgk_srow = {src} + {c["s"]} + sgk_a;
            for (int64_t sgk_b = sgk_tb; sgk_b < sgk_eb; sgk_b++) sgk_drow[sgk_b] = sgk_srow[sgk_b * {col_stride}];
        }}
    }}
}}"""

        offsets = {
            "s": ("0", [src_strides[a] for a in outer]),
            "d": ("0", [dst_strides[a] for a in outer]),
        }
        return offset_loops([out.shape[a] for a in outer], offsets, tiles)


def transpose(x: TensorLike, axes: Any = None) -> Tensor:
    """``x`` with its axes permuted (reversed when ``axes`` is None)."""
    x = as_tensor(x)
    if axes is None:
        perm = tuple(reversed(range(x.ndim)))
    else:
        perm = tuple(normalize_axis(a, x.ndim, "transpose") for a in axes)
        if sorted(perm) != list(range(x.ndim)):
            raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation of the {x.ndim} axes")
    if perm == tuple(range(x.ndim)):
        return x
    return apply(Transpose(perm), x).outputs[0]


def expand_dims(x: TensorLike, axis: int | tuple[int, ...]) -> Tensor:
    """``x`` with size-1 axes inserted at ``axis`` (positions in the result)."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    positions = sorted(normalize_axis(a, ndim, "expand_dims") for a in axes)
    if len(set(positions)) != len(positions):
        raise ShapeError(f"expand_dims: repeated axis in {axis}")
    shape = list(x.shape)
    for p in positions:
        shape.insert(p, 1)
    return reshape(x, tuple(shape))


def squeeze(x: TensorLike, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``x`` without size-1 axes (only those in ``axis`` when given)."""
    x = as_tensor(x)
    if axis is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    else:
        axes = [
            int(a) % x.ndim if -x.ndim <= int(a) < x.ndim else _bad_axis(a, x.ndim)
            for a in (axis if isinstance(axis, (tuple, list)) else (axis,))
        ]
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of {shp.shape_str(x.shape)} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def _bad_axis(axis: Any, ndim: int) -> int:
    raise ShapeError(f"axis {axis} is out of range for rank {ndim}")


def normalize_axis(axis: Any, ndim: int, what: str) -> int:
    """``axis`` in ``[0, ndim)``, negative counting from the end; ShapeError if out of range."""
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise ShapeError(f"{what}: axis {a} is out of range for a tensor of rank {ndim}")
    return a % ndim


def full(shape: Any, fill_value: Any, dtype: object = None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    value = constant(fill_value, dtype)
    if value.ndim:
        raise ShapeError("full: fill_value must be a scalar")
    return broadcast_to(value, as_shape(shape))


def zeros(shape: Any, dtype: object = "float32") -> Tensor:
    """A tensor of zeros."""
    return full(shape, 0, dtype)


def ones(shape: Any, dtype: object = "float32") -> Tensor:
    """A tensor of ones."""
    return full(shape, 1, dtype)


def zeros_like(x: TensorLike, dtype: object = None) -> Tensor:
    """Zeros with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, 0, dtype or x.dtype)


def ones_like(x: TensorLike, dtype: object = None) -> Tensor:
    """Ones with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, 1, dtype or x.dtype)


def full_like(x: TensorLike, fill_value: Any, dtype: object = None) -> Tensor:
    """``fill_value`` with ``x``'s shape and (unless given) dtype."""
    x = as_tensor(x)
    return full(x.shape, fill_value, dtype or x.dtype)


@register
class Arange(CLinkerOp):
    """``start + step * i`` for ``i < length``, in ``dtype`` (numpy's arange, with the
    length already worked out); ``start`` and ``length`` may be symbolic sizes."""

    name = "arange"
    needs_sizes = True

    def __init__(self, start: Dim | float, step: int | float, length: Dim, dtype: np.dtype):
        self.start = start
        self.step = step
        self.length = length
        self.dtype = dtype

    def infer(self) -> TensorType:
        if isinstance(self.length, int) and self.length < 0:
            raise ShapeError(f"negative length {self.length}")
        return TensorType(self.dtype, (self.length,))

    def reference(self, *, sizes):
        n = shp.evaluate(self.length, sizes)
        start = shp.evaluate(self.start, sizes) if isinstance(self.start, DimExpr) else self.start
        if n < 0:
            raise ShapeError(f"arange of negative length {n} at call time")
        work = (
            np.float64
            if self.dtype.kind == "f" or isinstance(start, float) or isinstance(self.step, float)
            else np.int64
        )
        return (start + self.step * np.arange(n, dtype=work)).astype(self.dtype)

    def grad(self, inputs, outputs, output_grads):
        return []

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """``start + step * i`` in the reference's working type (int64, or double with
        the product rounded before the sum: a volatile keeps the compiler from fusing
        them into one FMA, which would round once and differ from numpy), then cast."""
        (out,) = outputs
        n, dst = out.shape[0], f"({out.ptr})"
        check = ""
        if not shp.is_nonneg(self.length):
            check = (
                f'if ({n} < 0) SG_FAIL(SG_ERR_SHAPE, "arange of negative length %lld at call time", (long long)({n}));'
            )
        work_float = self.dtype.kind == "f" or isinstance(self.start, float) or isinstance(self.step, float)
        if work_float:
            start = f"(double){shp.to_c(self.start)}" if isinstance(self.start, DimExpr) else _c_double(self.start)
            loop = f"""const double sgk_start = {start};
const double sgk_step = {_c_double(self.step)};
for (int64_t sgk_i = 0; sgk_i < ({n}); sgk_i++) {{
    volatile double sgk_p = sgk_step * (double)sgk_i;
    {dst}[sgk_i] = ({out.ctype})(sgk_start + sgk_p);
}}"""
        else:
            loop = f"""const int64_t sgk_start = {shp.to_c(self.start)};
const int64_t sgk_step = {int(self.step)};
for (int64_t sgk_i = 0; sgk_i < ({n}); sgk_i++) {dst}[sgk_i] = ({out.ctype})(sgk_start + sgk_step * sgk_i);"""
        return c_block(check, loop)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: object = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (numpy's arange; ``arange(n)`` counts
    from 0). Integer bounds may be symbolic sizes (``arange(x.shape[0])``); integer
    arguments give int64, float ones float32 (floatx) unless ``dtype`` says."""
    if stop is None:
        start, stop = 0, start
    values = [start, stop, step]
    for v in values:
        if isinstance(v, Tensor):
            raise UnsupportedError(
                "arange: a bound that is a tensor makes the length depend on data; use sizes or ints"
            )
    if isinstance(step, DimExpr) or step == 0:
        raise ShapeError(f"arange: step must be a nonzero static number, got {step}")
    is_float = any(isinstance(v, (float, np.floating)) for v in values)
    if is_float:
        if any(isinstance(v, DimExpr) for v in values):
            raise UnsupportedError("arange: float bounds must be static")
        start, stop, step = float(start), float(stop), float(step)
        length: Dim = max(0, math.ceil((stop - start) / step))
        out_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.FLOATX
    else:
        start, stop, step = shp.as_dim(start), shp.as_dim(stop), operator.index(step)
        span = stop - start if step > 0 else start - stop
        length = shp.nonneg(shp.ceildiv(span, abs(step)))
        out_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.DEFAULT_INT
        if out_dtype.kind == "f":
            start, step = (start if isinstance(start, DimExpr) else float(start)), float(step)
    return apply(Arange(start, step, length, out_dtype)).outputs[0]


@register
class Concatenate(CLinkerOp):
    """The inputs joined along ``axis``; their other axes must agree (numpy's
    concatenate). The gradient of each input is its slice of the output gradient."""

    name = "concatenate"

    def __init__(self, axis: int):
        self.axis = axis

    def infer(self, *xs: Tensor) -> TensorType:
        if not xs:
            raise ShapeError("needs at least one tensor")
        ndim = xs[0].ndim
        if ndim == 0:
            raise ShapeError("0-d tensors cannot be concatenated")
        if any(t.ndim != ndim for t in xs):
            raise ShapeError("the inputs must have one rank, got ranks " + ", ".join(str(t.ndim) for t in xs))
        if any(t.dtype != xs[0].dtype for t in xs):
            raise DTypeError("the inputs must share one dtype (sg.concatenate promotes them on the way in)")
        if not 0 <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {ndim}")
        shape: list[Dim] = []
        for a in range(ndim):
            dims = [t.shape[a] for t in xs]
            if a == self.axis:
                total: Dim = 0
                for d in dims:
                    total = total + d
                shape.append(total)
                continue
            static = {d for d in dims if isinstance(d, int)}
            if len(static) > 1:
                raise ShapeError(
                    f"the sizes along axis {a} differ ({', '.join(map(str, dims))}); only axis {self.axis} may"
                )
            shape.append(static.pop() if static else dims[0])
        return TensorType(xs[0].dtype, tuple(shape))

    def reference(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def grad(self, inputs, outputs, output_grads):
        (g,) = output_grads
        grads: list[Tensor | None] = []
        offset: Dim = 0
        for x in inputs:
            n = x.shape[self.axis]
            if dtypes.is_float(x.dtype):
                piece = indexing.slice_along(g, self.axis, offset, n)
                grads.append(piece if piece.shape == x.shape else reshape(piece, x.shape))
            else:
                grads.append(None)
            offset = offset + n
        return grads

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """For each index before ``axis``, one contiguous chunk of every input in turn;
        the other axes' sizes are checked at call time where they are not static."""
        (out,) = outputs
        ax = self.axis
        checks = []
        first = inputs[0]
        for k, x in enumerate(inputs[1:], 1):
            for a in range(out.ndim):
                d0, dk = first.static_shape[a], x.static_shape[a]
                if a == ax or (d0 == dk):
                    continue
                checks.append(
                    f"if (({first.shape[a]}) != ({x.shape[a]})) SG_FAIL(SG_ERR_SHAPE, "
                    '"all the input array dimensions except for the concatenation axis must match exactly, '
                    f"but along dimension {a}, the array at index 0 has size %lld and the array at index {k} "
                    f'has size %lld", (long long)({first.shape[a]}), (long long)({x.shape[a]}));'
                )
        lines = [
            f"const int64_t sgk_inner = {out.stride(ax)};",
            f"const int64_t sgk_row = ({out.shape[ax]}) * sgk_inner;",
            f"for (int64_t sgk_o = 0; sgk_o < {c_product(out.shape[:ax])}; sgk_o++) {{",
            f"    {out.ctype} *sgk_d = ({out.ptr}) + sgk_o * sgk_row;",
        ]
        for k, x in enumerate(inputs):
            lines += [
                "    {",
                f"        const int64_t sgk_c = ({x.shape[ax]}) * sgk_inner;",
                f"        const {out.ctype} *sgk_s = ({x.ptr}) + sgk_o * sgk_c;",
                f"        if (sgk_c > 0) memcpy(sgk_d, sgk_s, sizeof({out.ctype}) * (size_t)sgk_c);",
                "        sgk_d += sgk_c;" if k < len(inputs) - 1 else "",
                "    }",
            ]
        lines.append("}")
        return c_block(*checks, *lines)


def concatenate(xs: Any, axis: int | None = 0) -> Tensor:
    """The tensors in ``xs`` joined along an existing ``axis`` (numpy's concatenate;
    ``axis=None`` flattens them first). dtypes are promoted to a common one."""
    items = tuple(xs)
    if not items:
        raise ValueError("concatenate: needs at least one tensor")
    tensors = promote(items, ANY)
    if axis is None:
        tensors = [reshape(t, (-1,)) for t in tensors]
        axis = 0
    if tensors[0].ndim == 0:
        raise ShapeError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    axis = normalize_axis(axis, tensors[0].ndim, "concatenate")
    if len(tensors) == 1:
        return tensors[0]
    return apply(Concatenate(axis), *tensors).outputs[0]


def stack(xs: Any, axis: int = 0) -> Tensor:
    """The tensors in ``xs``, of one shape, joined along a new ``axis`` (numpy's stack)."""
    items = tuple(xs)
    if not items:
        raise ValueError("stack: needs at least one tensor")
    tensors = promote(items, ANY)
    first = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(first) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(t.shape, first)
        ):
            shapes = ", ".join(shp.shape_str(t.shape) for t in tensors)
            raise ShapeError(f"stack: all inputs must have the same shape, got {shapes}")
    axis = normalize_axis(axis, len(first) + 1, "stack")
    return concatenate([expand_dims(t, axis) for t in tensors], axis)


def split(x: TensorLike, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """``x`` cut along ``axis`` into a list of tensors (numpy's split): an int N cuts it
    into N equal parts (the size must divide; checked at call time when symbolic), a
    sequence of indices cuts before each of them."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ShapeError("split: a 0-d tensor has no axis to split")
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ShapeError(f"split: the number of sections must be positive, got {sections}")
        if sections == 1:
            return [x]
        if isinstance(n, int):
            if n % sections:
                raise ShapeError(f"split: axis {axis} of size {n} does not divide into {sections} equal sections")
            size = n // sections
            return [indexing.slice_along(x, axis, k * size, size) for k in range(sections)]
        # a symbolic size: the reshape checks divisibility at call time
        parts = reshape(x, x.shape[:axis] + (sections, shp.floordiv(n, sections)) + x.shape[axis + 1 :])
        return [indexing.getitem(parts, (slice(None),) * axis + (k,)) for k in range(sections)]
    if isinstance(indices_or_sections, Tensor):
        raise UnsupportedError("split: the cut points must be static ints (a tensor would make shapes data-dependent)")
    cuts = [operator.index(i) for i in indices_or_sections]
    edges = [None, *cuts, None]
    return [indexing.getitem(x, (slice(None),) * axis + (slice(a, b),)) for a, b in zip(edges[:-1], edges[1:])]


def tile(x: TensorLike, reps: Any) -> Tensor:
    """``x`` repeated ``reps[i]`` times along axis i (numpy's tile: a shorter ``x`` gains
    leading axes, shorter ``reps`` leading 1s). Built as reshape, broadcast_to and
    reshape, so its gradient is a reshape and a sum."""
    x = as_tensor(x)
    reps_t = (operator.index(reps),) if isinstance(reps, (int, np.integer)) else tuple(operator.index(r) for r in reps)
    if any(r < 0 for r in reps_t):
        raise ShapeError(f"tile: negative repetition in {reps_t}")
    d = max(len(reps_t), x.ndim)
    reps_t = (1,) * (d - len(reps_t)) + reps_t
    shape = (1,) * (d - x.ndim) + tuple(x.shape)
    if all(r == 1 for r in reps_t):
        return reshape(x, shape)
    split_shape: list[Dim] = []
    target: list[Dim] = []
    for r, s in zip(reps_t, shape):
        if r != 1:
            split_shape.append(1)
            target.append(r)
        split_shape.append(s)
        target.append(s)
    expanded = broadcast_to(reshape(x, tuple(split_shape)), tuple(target))
    return reshape(expanded, tuple(r * s for r, s in zip(reps_t, shape)))


def repeat(x: TensorLike, repeats: Any, axis: int | None = None) -> Tensor:
    """Each element of ``x`` repeated along ``axis`` (numpy's repeat; the flattened ``x``
    when None). ``repeats`` is an int (a broadcast and a reshape, whose gradient is a
    sum), or one static count per element of a static axis (a take)."""
    x = as_tensor(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    if x.ndim == 0:
        x = reshape(x, (1,))
    axis = normalize_axis(axis, x.ndim, "repeat")
    n = x.shape[axis]
    if isinstance(repeats, Tensor):
        raise UnsupportedError("repeat: counts that are a tensor make the shape data-dependent; use static ints")
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a 1-d sequence of ints, got {repeats!r}")
    if (counts < 0).any():
        raise ShapeError(f"repeat: negative count in {repeats!r}")
    if counts.size == 1:
        r = int(counts.reshape(()))
        if r == 1:
            return x
        expanded = broadcast_to(expand_dims(x, axis + 1), x.shape[: axis + 1] + (r,) + x.shape[axis + 1 :])
        return reshape(expanded, x.shape[:axis] + (n * r,) + x.shape[axis + 1 :])
    if not isinstance(n, int):
        raise UnsupportedError(f"repeat: one count per element needs a static axis size (axis {axis} is {n})")
    if counts.shape[0] != n:
        raise ShapeError(f"repeat: {counts.shape[0]} counts for an axis of size {n}")
    return indexing.take(x, np.repeat(np.arange(n), counts), axis)


def flip(x: TensorLike, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``x`` with the order of elements reversed along ``axis`` (every axis when None),
    numpy's flip: ``x[..., ::-1, ...]``."""
    x = as_tensor(x)
    if axis is None:
        axes = set(range(x.ndim))
    else:
        listed = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = {normalize_axis(a, x.ndim, "flip") for a in listed}
    if not axes:
        return x
    return indexing.getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


def moveaxis(x: TensorLike, source: int | tuple[int, ...], destination: int | tuple[int, ...]) -> Tensor:
    """``x`` with the axes ``source`` moved to the positions ``destination`` and the
    others kept in order (numpy's moveaxis)."""
    x = as_tensor(x)
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    src = [normalize_axis(a, x.ndim, "moveaxis") for a in src]
    dst = [normalize_axis(a, x.ndim, "moveaxis") for a in dst]
    if len(src) != len(dst):
        raise ShapeError("moveaxis: source and destination must have the same number of axes")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError("moveaxis: repeated axis")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Tensor:
    """``x`` with ``axis1`` and ``axis2`` interchanged (numpy's swapaxes)."""
    x = as_tensor(x)
    a = normalize_axis(axis1, x.ndim, "swapaxes")
    b = normalize_axis(axis2, x.ndim, "swapaxes")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def _pad_widths(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    try:
        array = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ShapeError(f"pad: pad_width {pad_width!r} does not fit a tensor of rank {ndim}") from None
    if array.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must hold ints, got {pad_width!r}")
    if (array < 0).any():
        raise ShapeError(f"pad: negative width in {pad_width!r}")
    return [(int(b), int(a)) for b, a in array]


def pad(x: TensorLike, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """``x`` padded with ``pad_width`` = ((before, after), ...) per axis (an int or one pair
    applies to every axis), numpy's pad. Modes: "constant" (``constant_values``, a scalar
    or 0-d tensor), "edge" (the edge value repeated), "reflect" (mirrored without the edge,
    widths up to size-1) and "symmetric" (mirrored with the edge, widths up to size).
    The gradient is the slice of the output gradient that ``x`` became."""
    x = as_tensor(x)
    widths = _pad_widths(pad_width, x.ndim)
    if all(b == 0 and a == 0 for b, a in widths):
        return x
    if mode == "constant":
        out_shape = tuple(b + n + a for (b, a), n in zip(widths, x.shape))
        if isinstance(constant_values, Tensor):
            if constant_values.ndim:
                raise UnsupportedError("pad: constant_values must be a scalar")
            base = broadcast_to(cast(constant_values, x.dtype), out_shape)
        else:
            if np.ndim(constant_values):
                raise UnsupportedError("pad: constant_values must be a scalar")
            base = full(out_shape, np.asarray(constant_values).astype(x.dtype), x.dtype)
        spec = tuple(("slice", b, 1, n) if (b or a) else ("all",) for (b, a), n in zip(widths, x.shape))
        return indexing.inc_subtensor(base, spec, x, mode="set")
    if mode not in ("edge", "reflect", "symmetric"):
        raise UnsupportedError(f"pad: mode {mode!r} is not supported (constant, edge, reflect, symmetric)")
    y = x
    for axis, (b, a) in enumerate(widths):
        if not b and not a:
            continue
        n = y.shape[axis]
        if isinstance(n, int):
            limit = {"edge": None, "reflect": n - 1, "symmetric": n}[mode]
            if n == 0:
                raise ShapeError(f"pad: cannot {mode}-pad the empty axis {axis}")
            if limit is not None and max(b, a) > limit:
                raise UnsupportedError(
                    f"pad: {mode} widths up to {limit} are supported on axis {axis} of size {n}, got ({b}, {a})"
                )
        pieces: list[Tensor] = []
        if mode == "edge":
            if b:
                first = indexing.slice_along(y, axis, 0, 1)
                pieces.append(broadcast_to(first, y.shape[:axis] + (b,) + y.shape[axis + 1 :]))
            pieces.append(y)
            if a:
                last = indexing.slice_along(y, axis, n - 1, 1)
                pieces.append(broadcast_to(last, y.shape[:axis] + (a,) + y.shape[axis + 1 :]))
        else:
            shift = 1 if mode == "reflect" else 0
            if b:
                pieces.append(indexing.slice_along(y, axis, b - 1 + shift, b, -1))
            pieces.append(y)
            if a:
                pieces.append(indexing.slice_along(y, axis, n - 1 - shift, a, -1))
        y = concatenate(pieces, axis)
    return y


__all__ = [
    "arange",
    "concatenate",
    "stack",
    "split",
    "tile",
    "repeat",
    "flip",
    "moveaxis",
    "swapaxes",
    "pad",
    "reshape",
    "broadcast_to",
    "transpose",
    "expand_dims",
    "squeeze",
    "full",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "full_like",
]
