"""Reductions over axes: sum, prod, max, min, argmax, argmin, any, all, and the
composites built from them (mean, var, std, logsumexp).

``axis`` is None (every axis), an int or a tuple of ints, negative counting from the
end; ``keepdims`` keeps reduced axes as size 1. Both are normalised when the node is
built, so ``sum(x, -1)`` and ``sum(x, 1)`` on a matrix are the same node.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symgraph import dtypes
from symgraph.errors import ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.shape import Shape
from symgraph.graph.sources import as_tensor, dim_value
from symgraph.ops import arithmetic as ar
from symgraph.ops import shape_ops
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.elementwise import TensorLike, cast
from symgraph.ops.math import exp, log, sqrt
from symgraph.ops.registry import register


def normalize_axes(axis: int | tuple[int, ...] | list[int] | None, ndim: int) -> tuple[int, ...]:
    """Sorted non-negative axes; ShapeError for an axis out of range or repeated."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor of rank {ndim}")
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(result))


def reduced_shape(shape: Shape, axes: tuple[int, ...], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


# --- C kernels --------------------------------------------------------------------------
#
# Every reduction shares one loop structure (``_reduce_kernel``). The input's axes are
# grouped into runs of kept and reduced axes (static size-1 axes dropped, adjacent axes
# of one kind merged), so sum(x, axis=(1, 2)) of (N, H, W) is a (N, H*W) row reduction.
# Then one of two loop orders:
#
# - rows (the last group is reduced: row reductions, reducing everything): one pass per
#   output element over its reduced elements, the innermost loop contiguous and
#   vectorised (``#pragma omp simd`` reductions), accumulators in registers; outputs are
#   split across OpenMP threads from SG_PARALLEL_MIN elements on, and with fewer than
#   _FEW_ROWS outputs (from _BLOCKS_MIN elements) each output's reduction is cut into
#   blocks on the threads;
# - streaming (the last group is kept: the bias gradient, sum over axis 0 of (N, C)):
#   the input in memory order, each contiguous run folded into a row of accumulators
#   the size of the output (a malloc'd buffer, e.g. doubles for a float32 sum); on
#   threads, tiles of the input fold into their block's own row (see _reduce_streaming).
#
# Blocks are cut by the sizes alone and merged in order (``_Pass.merge``), so a result
# never depends on the number of threads.
#
# An op describes a pass (``_Pass``): its accumulators, how one element updates them,
# and the output value from them. Float32 sums and products accumulate in double;
# integer and bool ones in int64 with wrap-around (numpy's), through uint64 arithmetic
# so that C has no signed overflow. Float max/min take the max ignoring NaN (a
# vectorisable reduction) and a NaN flag. Kernels assume outputs do not alias inputs.

_C_LIMITS = {
    "bool": ("0", "1"),
    "int8_t": ("INT8_MIN", "INT8_MAX"),
    "int16_t": ("INT16_MIN", "INT16_MAX"),
    "int32_t": ("INT32_MIN", "INT32_MAX"),
    "int64_t": ("INT64_MIN", "INT64_MAX"),
    "uint8_t": ("0", "UINT8_MAX"),
    "float": ("(-INFINITY)", "INFINITY"),
    "double": ("(-INFINITY)", "INFINITY"),
}

_SEARCH_BLOCK = 64  # elements a search tests at SIMD width before looking closer

_Update = Callable[[dict[str, str], str, str], str]
_Finish = Callable[[dict[str, str]], str]
_Merge = Callable[[dict[str, str], dict[str, str]], str]


@dataclass(frozen=True)
class _Acc:
    """One accumulator of a reduction: a C name suffix, its C type and initial value."""

    name: str
    ctype: str
    init: str


@dataclass(frozen=True)
class _Pass:
    """How a reduction folds elements: ``update(acc, v, r)`` gives the statements folding
    element ``v`` (a local of the input's type) into the accumulators ``acc[name]``
    (lvalues), ``r`` being its flat index among the reduced positions; ``finish(acc)``
    is the output value. ``simd`` lists (OpenMP reduction operator, accumulator) pairs
    that let the row loop vectorise. ``search`` (rows order, one reduced axis only):
    (prepare(acc), cond(acc, v), found(acc, r)): after the pass, the statements
    prepare, then found for the first element meeting cond (argmax's index).
    ``merge(acc, later)`` folds the accumulators of a later block of reduced elements
    into ``acc`` (the streaming order splits the reduction into blocks on threads);
    None: the pass runs in one block."""

    accs: tuple[_Acc, ...]
    update: _Update
    finish: _Finish
    simd: tuple[tuple[str, str], ...] = ()
    search: tuple[_Finish, Callable[[dict[str, str], str], str], Callable[[dict[str, str], str], str]] | None = None
    merge: _Merge | None = None


def _acc_type(x: CArray) -> str:
    """The type sums and products accumulate in: double for floats, int64 otherwise."""
    return "double" if x.dtype.kind == "f" else "int64_t"


def _acc_add(acc: str, v: str, x: CArray) -> str:
    if x.dtype.kind == "f":
        return f"{acc} += (double){v};"
    return f"{acc} = (int64_t)((uint64_t){acc} + (uint64_t){v});"  # numpy's wrap-around


def _acc_mul(acc: str, v: str, x: CArray) -> str:
    if x.dtype.kind == "f":
        return f"{acc} *= (double){v};"
    return f"{acc} = (int64_t)((uint64_t){acc} * (uint64_t){v});"


def _one_acc(name: str, ctype: str, init: str, update: _Update, simd: str | None = None) -> _Pass:
    """A pass with one accumulator, which is the result; a later block's accumulator
    folds in as one more element (sum, product, and, or, integer max and min)."""

    def merge(acc, later):
        return update(acc, later[name], "0")

    return _Pass(
        (_Acc(name, ctype, init),), update, lambda acc: acc[name], ((simd, name),) if simd else (), None, merge
    )


def _extremum_pass(x: CArray, compare: str) -> _Pass:
    """max (compare ">") or min ("<") of the elements; NaN if one is NaN.

    Between the signed zeros, max picks +0 and min -0 (IEEE 754-2019's maximum and
    minimum), whatever their order: the vector lanes and threads of the C loop meet
    elements in no fixed order, so "the first" or "the last" of equal elements (numpy
    keeps the last) would differ between modes and levels. The zero's sign is an
    or-reduction beside the value (``z``: the preferred zero was seen), applied when the
    result is zero."""
    init = _C_LIMITS[x.ctype][0 if compare == ">" else 1]
    op = "max" if compare == ">" else "min"
    if x.dtype.kind != "f":
        update = lambda acc, v, r: f"{acc['m']} = {v} {compare} {acc['m']} ? {v} : {acc['m']};"  # noqa: E731
        return _one_acc("m", x.ctype, init, update, op)
    preferred_zero = "signbit" if op == "min" else "!signbit"

    def update(acc, v, r):
        m, n, z = acc["m"], acc["n"], acc["z"]
        return (
            f"{m} = {v} {compare} {m} ? {v} : {m};\n{n} |= ({v} != {v});\n{z} |= ({v} == 0 && {preferred_zero}({v}));"
        )

    def merge(acc, later):
        m, n, z = acc["m"], acc["n"], acc["z"]
        return f"{m} = {later['m']} {compare} {m} ? {later['m']} : {m};\n{n} |= {later['n']};\n{z} |= {later['z']};"

    zero = ("-0.0" if op == "min" else "0.0", "0.0" if op == "min" else "-0.0")  # (seen, not seen)

    def finish(acc):
        m, n, z = acc["m"], acc["n"], acc["z"]
        signed = f"({x.ctype})({z} ? {zero[0]} : {zero[1]})"
        return f"({n} ? ({x.ctype})NAN : ({m} == 0 ? {signed} : {m}))"

    accs = (_Acc("m", x.ctype, init), _Acc("n", "int", "0"), _Acc("z", "int", "0"))
    # the declared reductions of symgraph_math.h: OpenMP's own max/min start clang's
    # private copies at -FLT_MAX/FLT_MAX instead of -inf/inf
    simd_op = f"sg_{op}{'f' if x.ctype == 'float' else ''}"
    return _Pass(accs, update, finish, ((simd_op, "m"), ("|", "n"), ("|", "z")), None, merge)


def _reduce_groups(x: CArray, axes: tuple[int, ...]) -> list[tuple[str, bool]]:
    """(size C expression, reduced?) for the runs of kept and reduced axes of ``x``;
    static size-1 axes are dropped (their index is always 0)."""
    groups: list[tuple[str, bool]] = []
    for i, (expr, dim) in enumerate(zip(x.shape, x.static_shape)):
        if isinstance(dim, int) and dim == 1:
            continue
        reduced = i in axes
        if groups and groups[-1][1] == reduced:
            groups[-1] = (f"{groups[-1][0]}*({expr})", reduced)
        else:
            groups.append((f"({expr})", reduced))
    return groups


def _static_product(dims) -> int | None:
    """The product of static sizes; None when one is symbolic."""
    total = 1
    for d in dims:
        if not isinstance(d, int):
            return None
        total *= d
    return total


def _product(terms: list[str]) -> str:
    return "*".join(terms) if terms else "1"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for s in lines for line in s.split("\n")]


def _maybe_parallel(work: str, loop: list[str]) -> list[str]:
    """``loop`` (a for statement), split across OpenMP threads when ``work`` elements
    reach SG_PARALLEL_MIN (symgraph_sizes.h): a branch, since entering a region costs even
    with if(false)."""
    head = [f"if ({work} >= SG_PARALLEL_MIN) {{", "    #pragma omp parallel for schedule(static)"]
    return head + _indent(loop) + ["} else {"] + _indent(loop) + ["}"]


def _reduce_kernel(
    x: CArray,
    out: CArray,
    axes: tuple[int, ...],
    rows: _Pass,
    stream: _Pass | None = None,
    *,
    empty_error: str | None = None,
) -> str:
    """C statements reducing ``x`` over ``axes`` into ``out`` (module comment above)
    with the pass ``rows`` (and ``stream`` in the streaming order, default ``rows``).
    ``empty_error`` (a message, {axis} filled in) makes a reduced axis of size 0 at
    call time a ShapeError (max, min, argmax, argmin: no identity)."""
    groups = _reduce_groups(x, axes)
    n = len(groups)
    kept = [g for g in range(n) if not groups[g][1]]
    red = [g for g in range(n) if groups[g][1]]
    lines = [f"const int64_t rd_n{g} = {size};" for g, (size, _) in enumerate(groups)]
    stride = {g: _product([f"rd_n{h}" for h in range(g + 1, n)]) for g in range(n)}
    if empty_error is not None:
        for a in axes:
            if not isinstance(x.static_shape[a], int):
                lines.append(f'if ({x.shape[a]} == 0) SG_FAIL(SG_ERR_SHAPE, "{empty_error.format(axis=a)}");')
    flat_r = "0"
    for g in red:
        flat_r = f"rd_i{g}" if flat_r == "0" else f"({flat_r})*rd_n{g} + rd_i{g}"
    if n and not groups[-1][1] and red:
        lines += _reduce_streaming(x, out, groups, kept, stride, stream or rows, flat_r, axes)
    else:
        lines += _reduce_rows(x, out, groups, kept, red, stride, rows, flat_r, axes)
    return "\n".join(lines)


def _reduce_rows(x, out, groups, kept, red, stride, p: _Pass, flat_r, axes) -> list[str]:
    """One pass per output element over its reduced elements (the last group is reduced)."""
    n = len(groups)
    body = []
    if not kept:
        body.append("const int64_t rd_base = 0;")
    elif len(kept) == 1:
        body.append(f"const int64_t rd_base = rd_o*{stride[kept[0]]};")
    else:
        body += ["int64_t rd_base = 0;", "int64_t rd_t = rd_o;"]
        for g in reversed(kept[1:]):
            body.append(f"rd_base += (rd_t % rd_n{g})*{stride[g]}; rd_t /= rd_n{g};")
        body.append(f"rd_base += rd_t*{stride[kept[0]]};")
    base = list(body)
    body += [f"{a.ctype} rd_a_{a.name} = {a.init};" for a in p.accs]
    acc = {a.name: f"rd_a_{a.name}" for a in p.accs}
    offset = " + ".join(["rd_base"] + [f"rd_i{g}" if g == n - 1 else f"rd_i{g}*{stride[g]}" for g in red])
    element = x.read(offset, "rd_v")

    def loops(first: str, end: str) -> list[str]:
        """The loops over the reduced groups, the last one from ``first`` to ``end``."""
        inner = [element, p.update(acc, "rd_v", flat_r)]
        for depth, g in enumerate(reversed(red)):
            lo, hi = (first, end) if depth == 0 else ("0", f"rd_n{g}")
            inner = [f"for (int64_t rd_i{g} = {lo}; rd_i{g} < {hi}; rd_i{g}++) {{"] + _indent(inner) + ["}"]
            if depth == 0 and p.simd:
                inner = ["#pragma omp simd " + " ".join(f"reduction({op}:rd_a_{a})" for op, a in p.simd)] + inner
        return inner

    body += loops("0", f"rd_n{n - 1}")
    if p.search is not None and red:
        assert len(red) == 1, "a search runs along one reduced axis"
        (g,) = red
        prepare, cond, found = p.search
        step = "" if g == n - 1 else f"*{stride[g]}"
        # blocks tested at SIMD width, then the block holding the first hit
        body += [
            prepare(acc),
            "int64_t rd_k = 0;",
            f"for (; rd_k + {_SEARCH_BLOCK} <= rd_n{g}; rd_k += {_SEARCH_BLOCK}) {{",
            "    int rd_hit = 0;",
            "    #pragma omp simd reduction(|:rd_hit)",
            f"    for (int64_t rd_u = 0; rd_u < {_SEARCH_BLOCK}; rd_u++) {{",
            *_indent(_indent([x.read(f"rd_base + (rd_k + rd_u){step}", "rd_v")])),
            f"        rd_hit |= {cond(acc, 'rd_v')};",
            "    }",
            "    if (rd_hit) break;",
            "}",
            f"for (int64_t rd_i{g} = rd_k; rd_i{g} < rd_n{g}; rd_i{g}++) {{",
            *_indent([element, f"if ({cond(acc, 'rd_v')}) {{ {found(acc, flat_r)} break; }}"]),
            "}",
        ]
    body.append(f"{out.ptr}[rd_o] = ({out.ctype}){p.finish(acc)};")
    total = _product([f"rd_n{g}" for g in range(n)])
    if not kept:
        plain = ["{", "    const int64_t rd_o = 0;"] + _indent(body) + ["}"]
    else:
        loop = ["for (int64_t rd_o = 0; rd_o < rd_rows; rd_o++) {"] + _indent(body) + ["}"]
        plain = _maybe_parallel(total, loop)
    rows = _product([f"rd_n{g}" for g in kept])
    static_rows = _static_product([x.static_shape[i] for i in range(x.ndim) if i not in axes])
    if p.merge is None or p.search is not None or not red or (static_rows is not None and static_rows >= _FEW_ROWS):
        return [f"const int64_t rd_rows = {rows};", *plain]
    # few outputs (a full reduction): each output's last group cut into blocks on threads
    # (as the streaming order's blocks: fixed by the sizes, merged in order)
    last = n - 1
    blocks = (
        f"sg_max_i64(1, sg_min_i64(sg_min_i64(rd_total / ({_STREAM_TILE}*rd_rows), {_ROW_BLOCKS}),"
        f" rd_n{last} / {_ROW_BLOCK_MIN}))"
    )
    tile = [
        "const int64_t rd_o = rd_tile / rd_nb, rd_blk = rd_tile % rd_nb;",
        f"const int64_t rd_lo = rd_n{last}*rd_blk/rd_nb, rd_hi = rd_n{last}*(rd_blk + 1)/rd_nb;",
        *base,
        *[f"{a.ctype} rd_a_{a.name} = {a.init};" for a in p.accs],
        *loops("rd_lo", "rd_hi"),
        *[f"rd_q_{a.name}[rd_tile] = rd_a_{a.name};" for a in p.accs],
    ]
    blocked = []
    allocated: list[str] = []
    for a in p.accs:
        size = f"sizeof({a.ctype})*(size_t)(rd_rows*rd_nb)"
        release = "".join(f"free({b}); " for b in allocated)
        blocked += [
            f"{a.ctype} *rd_q_{a.name} = ({a.ctype} *)malloc({size});",
            f"if (rd_q_{a.name} == NULL) {{ {release}SG_FAIL(SG_ERR_NOMEM, "
            f'"cannot allocate %lld bytes for a reduction", (long long)({size})); }}',
        ]
        allocated.append(f"rd_q_{a.name}")
    blocked += [
        "#pragma omp parallel for schedule(dynamic, 1)",
        "for (int64_t rd_tile = 0; rd_tile < rd_rows*rd_nb; rd_tile++) {",
        *_indent(tile),
        "}",
    ]
    first = {a.name: f"rd_q_{a.name}[rd_o*rd_nb]" for a in p.accs}
    later = {a.name: f"rd_q_{a.name}[rd_o*rd_nb + rd_k]" for a in p.accs}
    blocked += [
        "for (int64_t rd_o = 0; rd_o < rd_rows; rd_o++) {",
        "    for (int64_t rd_k = 1; rd_k < rd_nb; rd_k++) {",
        *_indent(_indent([p.merge(first, later)])),
        "    }",
        f"    {out.ptr}[rd_o] = ({out.ctype}){p.finish(first)};",
        "}",
        *[f"free({b});" for b in allocated],
    ]
    return [
        f"const int64_t rd_rows = {rows};",
        f"const int64_t rd_total = {total};",
        f"const int64_t rd_nb = rd_total >= {_BLOCKS_MIN} && rd_rows < {_FEW_ROWS} ? {blocks} : 1;",
        "if (rd_nb > 1) {",
        *_indent(blocked),
        "} else {",
        *_indent(plain),
        "}",
    ]


# Row reductions with fewer outputs than this (a sum of everything: one) cut each
# output's reduction into blocks of at least _ROW_BLOCK_MIN elements, at most _ROW_BLOCKS.
_FEW_ROWS = 16
_ROW_BLOCKS = 64
_ROW_BLOCK_MIN = 1024


# The streaming order on threads. From _BLOCKS_MIN elements on, the input is cut
# into tiles: blocks of the first reduced group (each block folds into its own row of
# accumulators; the rows then merge in block order), chunks of the columns of the last
# group when it is wide, and, when the first group is kept, blocks of it (they write
# different outputs). The cut depends on the sizes only, never on the thread count, so
# a float sum gives the same bits on any number of threads.
_STREAM_TILE = 32768  # elements a tile reduces at least (SG_PARALLEL_MIN's order)
# Blocks on threads from this many elements on, above SG_PARALLEL_MIN: a reduction reads
# its input once and writes next to nothing, so the threads save half a read, and waking
# sleeping OpenMP threads costs ~20 us on the 2-core machine. Measured in W5's step:
# the conv2 bias gradient (262144 elements) took 30 us serially and 55 us on threads;
# the conv1 one (1.18M elements) 99 -> 71-79 us (min) on a quiet machine, but 99 -> 113
# with another process on the second core (the region waits for its thread).
_BLOCKS_MIN = 1 << 19
_STREAM_ACC_BYTES = 98304  # the blocks' accumulators at most: below malloc's mmap threshold
_STREAM_COLUMNS = 4096  # columns per chunk when the last group is wider than twice this


def _reduce_streaming(x, out, groups, kept, stride, p: _Pass, flat_r, axes) -> list[str]:
    """The input in memory order, each contiguous run of the last (kept) group folded
    into a row of accumulators the size of the output; on threads as tiles (comment
    above)."""
    n = len(groups)
    last = n - 1
    split = next(g for g in range(n) if groups[g][1])  # the first reduced group
    outer = 0 if split != 0 else None  # a kept first group, cut into blocks of outputs
    width = _static_product(x.static_shape[builtins.max(axes) + 1 :])  # the last group's, when static
    # a narrow run of known width stays one loop of constant bounds (unrolled, vectorised)
    chunked = width is None or width > 2 * _STREAM_COLUMNS
    acc_bytes = " + ".join(f"sizeof({a.ctype})" for a in p.accs)
    out_stride = {g: _product([f"rd_n{h}" for h in kept if h > g]) for g in kept}
    lines = [
        f"const int64_t rd_out = {_product([f'rd_n{g}' for g in kept])};",
        f"const int64_t rd_total = {_product([f'rd_n{g}' for g in range(n)])};",
        f"int64_t rd_cw = sg_max_i64(rd_n{last}, 1), rd_nb = 1, rd_nk = 1;",
        f"if (rd_total >= {_BLOCKS_MIN}) {{",
        *([f"    if (rd_n{last} > {2 * _STREAM_COLUMNS}) rd_cw = {_STREAM_COLUMNS};"] if chunked else []),
        f"    const int64_t rd_tiles = rd_total / {_STREAM_TILE};",
        f"    const int64_t rd_nc = (rd_n{last} + rd_cw - 1) / rd_cw;",
    ]
    if p.merge is not None:
        # blocks of at least 8 reduced rows (merging costs at most an eighth of the reading)
        # whose accumulators stay below malloc's mmap threshold (no page faults per call)
        lines += [
            f"    rd_nb = sg_min_i64(rd_tiles / rd_nc, rd_n{split});",
            "    rd_nb = sg_min_i64(rd_nb, rd_total / (8*rd_out));",
            f"    rd_nb = sg_max_i64(1, sg_min_i64(rd_nb, {_STREAM_ACC_BYTES} / (({acc_bytes})*rd_out)));",
        ]
    if outer is not None:
        lines.append(f"    rd_nk = sg_max_i64(1, sg_min_i64(rd_tiles / (rd_nc*rd_nb), rd_n{outer}));")
    lines += [
        "}",
        f"const int64_t rd_nc = (rd_n{last} + rd_cw - 1) / rd_cw;",
        "const int64_t rd_tiles = rd_nk*rd_nb*rd_nc;",
        "const int64_t rd_acc_n = sg_max_i64(rd_nb*rd_out, 1);",
    ]
    allocated: list[str] = []
    for a in p.accs:
        buf = f"rd_b_{a.name}"
        size = f"sizeof({a.ctype})*(size_t)rd_acc_n"
        lines.append(f"{a.ctype} *{buf} = ({a.ctype} *)malloc({size});")
        release = "".join(f"free({b}); " for b in allocated)
        lines.append(
            f"if ({buf} == NULL) {{ {release}SG_FAIL(SG_ERR_NOMEM, "
            f'"cannot allocate %lld bytes for a reduction", (long long)({size})); }}'
        )
        allocated.append(buf)
    lines.append("for (int64_t rd_k = 0; rd_k < rd_acc_n; rd_k++) {")
    lines += _indent([f"rd_b_{a.name}[rd_k] = {a.init};" for a in p.accs])
    lines.append("}")
    # one tile: its block's row of accumulators, its rows of the split (and outer) group, its columns
    acc = {a.name: f"rd_p_{a.name}[rd_ob + rd_j]" for a in p.accs}
    in_off = " + ".join([f"rd_i{g}*{stride[g]}" for g in range(last)]) or "0"
    out_off = " + ".join([f"rd_i{g}*{out_stride[g]}" for g in kept if g != last]) or "0"
    columns = "rd_j = rd_j0; rd_j < rd_j1" if chunked else f"rd_j = 0; rd_j < rd_n{last}"
    inner = [
        f"const int64_t rd_ib = {in_off};",
        f"const int64_t rd_ob = {out_off};",
        f"for (int64_t {columns}; rd_j++) {{",
        *_indent([x.read("rd_ib + rd_j", "rd_v")]),
        *_indent([p.update(acc, "rd_v", flat_r)]),
        "}",
    ]
    bounds = {split: ("rd_lo", "rd_hi")}
    if outer is not None:
        bounds[outer] = ("rd_klo", "rd_khi")
    for g in reversed(range(last)):
        lo, hi = bounds.get(g, ("0", f"rd_n{g}"))
        inner = [f"for (int64_t rd_i{g} = {lo}; rd_i{g} < {hi}; rd_i{g}++) {{"] + _indent(inner) + ["}"]
    tile = [
        "const int64_t rd_kb = rd_t / (rd_nb*rd_nc), rd_blk = (rd_t / rd_nc) % rd_nb;",
        f"const int64_t rd_lo = rd_n{split}*rd_blk/rd_nb, rd_hi = rd_n{split}*(rd_blk + 1)/rd_nb;",
    ]
    if outer is not None:
        tile.append(f"const int64_t rd_klo = rd_n{outer}*rd_kb/rd_nk, rd_khi = rd_n{outer}*(rd_kb + 1)/rd_nk;")
    else:
        tile.append("(void)rd_kb;")
    if chunked:
        tile += [
            "const int64_t rd_j0 = (rd_t % rd_nc)*rd_cw;",
            f"const int64_t rd_j1 = sg_min_i64(rd_n{last}, rd_j0 + rd_cw);",
        ]
    tile += [f"{a.ctype} *restrict rd_p_{a.name} = rd_b_{a.name} + rd_blk*rd_out;" for a in p.accs]
    loop = ["for (int64_t rd_t = 0; rd_t < rd_tiles; rd_t++) {"] + _indent(tile + inner) + ["}"]
    # tiles handed out as threads come free (a thread the OS preempts holds up no one);
    # which tile computes what is fixed, so the bits never depend on the schedule
    lines += ["if (rd_tiles > 1) {", "    #pragma omp parallel for schedule(dynamic, 1)"]
    lines += _indent(loop) + ["} else {"] + _indent(loop) + ["}"]
    # the blocks merged in order into the first, then the outputs
    first = {a.name: f"rd_b_{a.name}[rd_o]" for a in p.accs}
    later = {a.name: f"rd_b_{a.name}[rd_k*rd_out + rd_o]" for a in p.accs}
    finish = [f"{out.ptr}[rd_o] = ({out.ctype}){p.finish(first)};"]
    if p.merge is not None:
        merge = ["for (int64_t rd_k = 1; rd_k < rd_nb; rd_k++) {", *_indent([p.merge(first, later)]), "}"]
        finish = merge + finish
    lines += ["for (int64_t rd_o = 0; rd_o < rd_out; rd_o++) {", *_indent(finish), "}"]
    lines += [f"free({b});" for b in allocated]
    return lines


def _scan_kernel(x: CArray, out: CArray, axis: int, exclusive: bool, reverse: bool, op: str) -> str:
    """C statements of a cumulative sum (op "+") or product ("*") along ``axis``: rows
    of the last axis scan in a register; other axes stream whole slices through a
    malloc'd row of accumulators (double for floats, int64 otherwise)."""
    acc_t = _acc_type(x)
    identity = ("0" if op == "+" else "1") if acc_t != "double" else ("0.0" if op == "+" else "1.0")
    fold = _acc_add if op == "+" else _acc_mul
    outer = _product([f"({d})" for d in x.shape[:axis]])
    inner_dims = x.static_shape[axis + 1 :]
    lines = [
        f"const int64_t cs_outer = {outer};",
        f"const int64_t cs_n = ({x.shape[axis]});",
    ]
    index = "cs_n - 1 - cs_t" if reverse else "cs_t"
    if builtins.all(isinstance(d, int) and d == 1 for d in inner_dims):
        step = [f"const int64_t cs_i = {index};"]
        write = f"cs_y[cs_i] = ({out.ctype})cs_a;"
        step += [write, fold("cs_a", "cs_x[cs_i]", x)] if exclusive else [fold("cs_a", "cs_x[cs_i]", x), write]
        loop = [
            "for (int64_t cs_o = 0; cs_o < cs_outer; cs_o++) {",
            f"    const {x.ctype} *cs_x = {x.ptr} + cs_o*cs_n;",
            f"    {out.ctype} *cs_y = {out.ptr} + cs_o*cs_n;",
            f"    {acc_t} cs_a = {identity};",
            "    for (int64_t cs_t = 0; cs_t < cs_n; cs_t++) {",
            *_indent(_indent(step)),
            "    }",
            "}",
        ]
        return "\n".join(lines + _maybe_parallel("cs_outer*cs_n", loop))
    lines.append(f"const int64_t cs_inner = {_product([f'({d})' for d in x.shape[axis + 1 :]])};")
    size = f"sizeof({acc_t})*(size_t)(cs_inner > 0 ? cs_inner : 1)"
    write = f"cs_y[cs_j] = ({out.ctype})cs_a[cs_j];"
    fold_j = fold("cs_a[cs_j]", "cs_x[cs_j]", x)
    step = [write, fold_j] if exclusive else [fold_j, write]
    lines += [
        f"{acc_t} *cs_a = ({acc_t} *)malloc({size});",
        f'if (cs_a == NULL) SG_FAIL(SG_ERR_NOMEM, "cannot allocate %lld bytes for a scan", (long long)({size}));',
        "for (int64_t cs_o = 0; cs_o < cs_outer; cs_o++) {",
        f"    for (int64_t cs_j = 0; cs_j < cs_inner; cs_j++) cs_a[cs_j] = {identity};",
        "    for (int64_t cs_t = 0; cs_t < cs_n; cs_t++) {",
        f"        const int64_t cs_row = (cs_o*cs_n + {index})*cs_inner;",
        f"        const {x.ctype} *cs_x = {x.ptr} + cs_row;",
        f"        {out.ctype} *cs_y = {out.ptr} + cs_row;",
        "        for (int64_t cs_j = 0; cs_j < cs_inner; cs_j++) {",
        *_indent(_indent(_indent(step))),
        "        }",
        "    }",
        "}",
        "free(cs_a);",
    ]
    return "\n".join(lines)


class Reduce(CLinkerOp):
    """Base of reductions: attributes ``axes`` (normalised) and ``keepdims``."""

    output_dtype_rule: ClassVar[str] = "same"  # "same", "bool", "index", "sum"

    def __init__(self, axes: tuple[int, ...], keepdims: bool):
        self.axes = axes
        self.keepdims = bool(keepdims)

    def output_dtype(self, dtype: np.dtype) -> np.dtype:
        rule = self.output_dtype_rule
        if rule == "bool":
            return dtypes.BOOL
        if rule == "index":
            return dtypes.DEFAULT_INT
        if rule == "sum" and dtype.kind in "biu":  # numpy sums small ints and bools in int64
            return dtypes.DEFAULT_INT  # (uint8 too: uint64, numpy's choice, is not supported)
        return dtype

    def infer(self, x: Tensor) -> TensorType:
        for a in self.axes:
            if a >= x.ndim:
                raise ShapeError(f"axis {a} is out of range for a tensor of rank {x.ndim}")
        return TensorType(self.output_dtype(x.dtype), reduced_shape(x.shape, self.axes, self.keepdims))


def expand_reduced(g: Tensor, x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """``g`` (shaped like a reduction of ``x``) broadcast back to ``x``'s shape."""
    if not keepdims:
        g = shape_ops.reshape(g, reduced_shape(x.shape, axes, True))
    return shape_ops.broadcast_to(g, x.shape)


@register
class Sum(Reduce):
    """sum over ``axes``; bools and small integers sum in int64 as in numpy."""

    name = "sum"
    output_dtype_rule = "sum"

    def reference(self, x):
        return np.asarray(np.sum(x, axis=self.axes, keepdims=self.keepdims, dtype=self.output_dtype(x.dtype)))

    def c_kernel(self, inputs, outputs):
        """Floats sum in double (one rounding at the end), integers and bools in int64."""
        (x,), (out,) = inputs, outputs
        add = lambda acc, v, r: _acc_add(acc["s"], v, x)  # noqa: E731
        simd = "+" if x.dtype.kind == "f" else None
        return _reduce_kernel(x, out, self.axes, _one_acc("s", _acc_type(x), "0", add, simd))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [expand_reduced(g, x, self.axes, self.keepdims)]


def _reduce(cls: type[Reduce], x: TensorLike, axis, keepdims: bool) -> Tensor:
    x = as_tensor(x)
    return apply(cls(normalize_axes(axis, x.ndim), keepdims), x).outputs[0]


def sum(x: TensorLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum of elements over ``axis`` (numpy's sum)."""
    return _reduce(Sum, x, axis, keepdims)


@register
class Prod(Reduce):
    """product over ``axes``; integers and bools multiply in int64 as in numpy."""

    name = "prod"
    output_dtype_rule = "sum"

    def reference(self, x):
        return np.asarray(np.prod(x, axis=self.axes, keepdims=self.keepdims, dtype=self.output_dtype(x.dtype)))

    def c_kernel(self, inputs, outputs):
        """Floats multiply in double, integers and bools in int64 (wrapping as numpy's)."""
        (x,), (out,) = inputs, outputs
        mul = lambda acc, v, r: _acc_mul(acc["p"], v, x)  # noqa: E731
        simd = "*" if x.dtype.kind == "f" else None
        return _reduce_kernel(x, out, self.axes, _one_acc("p", _acc_type(x), "1", mul, simd))

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        g = expand_reduced(g, x, self.axes, self.keepdims)
        if not self.axes:  # nothing reduced (a 0-d input): the identity
            return [g]
        # d prod / d x_i = the product of the others, computed without dividing by x_i
        # (zeros are common): exclusive cumulative products from both ends, along one
        # axis holding every reduced element.
        if len(self.axes) == 1:
            return [ar.mul(g, _product_of_others(x, self.axes[0]))]
        kept = [a for a in range(x.ndim) if a not in self.axes]
        perm = tuple(kept + list(self.axes))
        moved = shape_ops.transpose(x, perm)
        flat = shape_ops.reshape(moved, tuple(x.shape[a] for a in kept) + (shp.prod([x.shape[a] for a in self.axes]),))
        others = shape_ops.reshape(_product_of_others(flat, len(kept)), moved.shape)
        inverse = tuple(int(i) for i in np.argsort(perm))
        return [ar.mul(g, shape_ops.transpose(others, inverse))]


def _product_of_others(x: Tensor, axis: int) -> Tensor:
    """Along ``axis``: out[i] = prod(x[:i]) * prod(x[i+1:]), exact when x holds zeros."""
    before = apply(Cumprod(axis, exclusive=True, reverse=False), x).outputs[0]
    after = apply(Cumprod(axis, exclusive=True, reverse=True), x).outputs[0]
    return ar.mul(before, after)


class _Extremum(Reduce):
    """max or min: the gradient goes to the elements equal to the result, split evenly."""

    c_compare: ClassVar[str] = ">"  # the C comparison by which a new element wins

    def c_kernel(self, inputs, outputs):
        """A NaN wins over everything and stays (numpy propagates NaN); a reduced axis
        of size 0 at call time is a ShapeError."""
        (x,), (out,) = inputs, outputs
        error = self.name + " of an empty axis {axis} (size 0) has no identity"
        return _reduce_kernel(x, out, self.axes, _extremum_pass(x, self.c_compare), empty_error=error)

    def grad(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        hits = cast(ar.equal(x, expand_reduced(out, x, self.axes, self.keepdims)), x.dtype)
        count = sum(hits, self.axes, keepdims=True)
        share = ar.true_divide(hits, count)
        return [ar.mul(expand_reduced(g, x, self.axes, self.keepdims), share)]

    def infer(self, x: Tensor) -> TensorType:
        result = super().infer(x)
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0) has no identity")
        return result


def _zero_signed(result: np.ndarray, x: np.ndarray, axes: tuple[int, ...], keepdims: bool, op: str) -> np.ndarray:
    """numpy's max/min with the signed zeros ordered as the C kernel orders them (see
    ``_extremum_pass``): a zero result is +0 for max where a +0 was among the elements,
    -0 for min where a -0 was, whichever came last."""
    result = np.asarray(result)
    if x.dtype.kind != "f" or not np.any(result == 0):
        return result
    negative = np.signbit(x)
    preferred = (x == 0) & (negative if op == "min" else ~negative)
    seen = np.any(preferred, axis=axes, keepdims=keepdims)
    zero = np.where(
        seen, np.array(-0.0 if op == "min" else 0.0, x.dtype), np.array(0.0 if op == "min" else -0.0, x.dtype)
    )
    return np.asarray(np.where(result == 0, zero, result), dtype=result.dtype)


@register
class Max(_Extremum):
    """maximum over ``axes`` (NaN-propagating)"""

    name = "max"

    def reference(self, x):
        return _zero_signed(np.max(x, axis=self.axes, keepdims=self.keepdims), x, self.axes, self.keepdims, "max")


@register
class Min(_Extremum):
    """minimum over ``axes`` (NaN-propagating)"""

    name = "min"
    c_compare = "<"

    def reference(self, x):
        return _zero_signed(np.min(x, axis=self.axes, keepdims=self.keepdims), x, self.axes, self.keepdims, "min")


@register
class Any(Reduce):
    """whether any element over ``axes`` is true (nonzero)"""

    name = "any"
    output_dtype_rule = "bool"

    def reference(self, x):
        return np.asarray(np.any(x, axis=self.axes, keepdims=self.keepdims))

    def c_kernel(self, inputs, outputs):
        (x,), (out,) = inputs, outputs
        update = lambda acc, v, r: f"{acc['b']} |= ({v} != 0);"  # noqa: E731
        return _reduce_kernel(x, out, self.axes, _one_acc("b", "int", "0", update, "|"))

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class All(Reduce):
    """whether every element over ``axes`` is true (nonzero)"""

    name = "all"
    output_dtype_rule = "bool"

    def reference(self, x):
        return np.asarray(np.all(x, axis=self.axes, keepdims=self.keepdims))

    def c_kernel(self, inputs, outputs):
        (x,), (out,) = inputs, outputs
        update = lambda acc, v, r: f"{acc['b']} &= ({v} != 0);"  # noqa: E731
        return _reduce_kernel(x, out, self.axes, _one_acc("b", "int", "1", update, "&"))

    def grad(self, inputs, outputs, output_grads):
        return [None]


class _ArgExtremum(Reduce):
    """Index (int64) of the first maximum/minimum along one axis, or of the flattened
    tensor when ``axis`` is None (numpy's convention)."""

    output_dtype_rule = "index"
    c_compare: ClassVar[str] = ">"  # the C comparison by which a new element wins

    def c_kernel(self, inputs, outputs):
        """The first winner; the first NaN wins over everything (numpy's rule); a reduced
        axis of size 0 at call time is a ShapeError. Along rows: the vectorised max (or
        min) pass, then a search for its first occurrence (or the first NaN); streamed
        (a leading axis): one pass keeping the best value and its index per output."""
        (x,), (out,) = inputs, outputs
        compare = self.c_compare
        extremum = _extremum_pass(x, compare)
        is_float = x.dtype.kind == "f"

        def prepare(acc):  # with a NaN, look for the first NaN
            return f"if ({acc['n']}) {acc['m']} = ({x.ctype})NAN;" if is_float else ""

        def cond(acc, v):
            return f"(({v} == {acc['m']}) | ({v} != {v}))" if is_float else f"({v} == {acc['m']})"

        search = (prepare, cond, lambda acc, r: f"{acc['i']} = {r};")
        rows = _Pass(
            extremum.accs + (_Acc("i", "int64_t", "0"),), extremum.update, lambda acc: acc["i"], extremum.simd, search
        )

        def update(acc, v, r):
            m, i = acc["m"], acc["i"]
            wins = f"{v} {compare} {m}" + (f" || ({v} != {v} && {m} == {m})" if is_float else "")
            return f"if ({wins}) {{ {m} = {v}; {i} = {r}; }}"

        def merge(acc, later):  # a later block wins only when strictly better: ties keep the first index
            m, i = acc["m"], acc["i"]
            lm = later["m"]
            wins = f"{lm} {compare} {m}" + (f" || ({lm} != {lm} && {m} == {m})" if is_float else "")
            return f"if ({wins}) {{ {m} = {lm}; {i} = {later['i']}; }}"

        init = _C_LIMITS[x.ctype][0 if compare == ">" else 1]
        stream = _Pass((_Acc("i", "int64_t", "0"), _Acc("m", x.ctype, init)), update, lambda acc: acc["i"], merge=merge)
        error = self.name + " of an empty axis {axis} (size 0)"
        return _reduce_kernel(x, out, self.axes, rows, stream, empty_error=error)

    def infer(self, x: Tensor) -> TensorType:
        if len(self.axes) != 1 and x.ndim > 1:
            raise ShapeError(f"{self.name} takes one axis or None")
        result = super().infer(x)
        for a in self.axes:
            if isinstance(x.shape[a], int) and x.shape[a] == 0:
                raise ShapeError(f"{self.name} of an empty axis {a} (size 0)")
        return result

    def grad(self, inputs, outputs, output_grads):
        return [None]


@register
class ArgMax(_ArgExtremum):
    """index of the first maximum along the axis"""

    name = "argmax"

    def reference(self, x):
        axis = self.axes[0] if self.axes else None
        return np.asarray(np.argmax(x, axis=axis, keepdims=self.keepdims), dtypes.DEFAULT_INT)


@register
class ArgMin(_ArgExtremum):
    """index of the first minimum along the axis"""

    name = "argmin"
    c_compare = "<"

    def reference(self, x):
        axis = self.axes[0] if self.axes else None
        return np.asarray(np.argmin(x, axis=axis, keepdims=self.keepdims), dtypes.DEFAULT_INT)


Axis = int | tuple[int, ...] | None


def prod(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Product of elements over ``axis`` (numpy's prod)."""
    return _reduce(Prod, x, axis, keepdims)


def max(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis`` (numpy's max / amax)."""
    return _reduce(Max, x, axis, keepdims)


def min(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis`` (numpy's min / amin)."""
    return _reduce(Min, x, axis, keepdims)


def any(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether any element over ``axis`` is nonzero."""
    return _reduce(Any, x, axis, keepdims)


def all(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``axis`` is nonzero."""
    return _reduce(All, x, axis, keepdims)


def _arg_reduce(cls: type[Reduce], x: TensorLike, axis: int | None, keepdims: bool) -> Tensor:
    x = as_tensor(x)
    if axis is None and x.ndim > 1:
        out = _reduce(cls, shape_ops.reshape(x, (-1,)), 0, False)
        return shape_ops.reshape(out, (1,) * x.ndim) if keepdims else out
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{cls.name}: axis must be an int or None, got {axis!r}")
    return _reduce(cls, x, axis, keepdims)


def argmax(x: TensorLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first maximum along ``axis`` (of the flattened tensor if None)."""
    return _arg_reduce(ArgMax, x, axis, keepdims)


def argmin(x: TensorLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first minimum along ``axis`` (of the flattened tensor if None)."""
    return _arg_reduce(ArgMin, x, axis, keepdims)


def count(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """The number of elements reduced over ``axes``, as a scalar of x's float dtype."""
    n = shp.prod([x.shape[a] for a in axes])
    return cast(dim_value(n), dtypes.float_result(x.dtype))


def mean(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``; integers average in floatx."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    return ar.true_divide(sum(x, axes, keepdims), count(x, axes))


def var(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis``: mean(|x - mean(x)|**2) * n / (n - ddof)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    centered = ar.sub(x, mean(x, axes, keepdims=True))
    total = sum(ar.mul(centered, centered), axes, keepdims)
    return ar.true_divide(total, ar.sub(count(x, axes), ddof))


def std(x: TensorLike, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over ``axis``: sqrt(var(x))."""
    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed stably as m + log(sum(exp(x - m)))
    with m the (gradient-free) maximum; -inf where every element is -inf (and over an
    axis of static size 0, as scipy's logsumexp; an axis whose size is 0 only at call
    time is a ShapeError there, from the max)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    x = cast(x, dtypes.float_result(x.dtype))
    if builtins.any(isinstance(x.shape[a], int) and x.shape[a] == 0 for a in axes):
        return log(sum(exp(x), axes, keepdims))  # log(0) = -inf: no shift needed
    m = ar.stop_gradient(max(x, axes, keepdims=True))
    m = ar.where(ar.isfinite(m), m, 0)
    out = ar.add(log(sum(exp(ar.sub(x, m)), axes, keepdims=True)), m)
    if not keepdims:
        out = shape_ops.reshape(out, reduced_shape(x.shape, axes, False))
    return out


class _Cumulative(CLinkerOp):
    """Base of the scans along one axis: attributes ``axis`` (non-negative),
    ``exclusive`` (element i combines the elements strictly before i, starting from
    the identity) and ``reverse`` (scan from the end of the axis), as in TF's cumsum.
    Integers and bools accumulate in int64, as numpy's cumsum and cumprod do."""

    identity: ClassVar[int] = 0  # the first element of an exclusive scan

    def __init__(self, axis: int, exclusive: bool = False, reverse: bool = False):
        self.axis = int(axis)
        self.exclusive = bool(exclusive)
        self.reverse = bool(reverse)

    def infer(self, x: Tensor) -> TensorType:
        if not 0 <= self.axis < x.ndim:
            raise ShapeError(f"axis {self.axis} is out of range for a tensor of rank {x.ndim}")
        dtype = dtypes.DEFAULT_INT if x.dtype.kind in "biu" else x.dtype
        return TensorType(dtype, x.shape)

    def accumulate(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def c_kernel(self, inputs, outputs):
        """Floats accumulate in double (float32 rounds once per element, not per step as
        numpy's float32 scan), integers and bools in int64."""
        (x,), (out,) = inputs, outputs
        return _scan_kernel(x, out, self.axis, self.exclusive, self.reverse, "+" if self.identity == 0 else "*")

    def reference(self, x):
        dtype = dtypes.DEFAULT_INT if x.dtype.kind in "biu" else x.dtype
        moved = np.moveaxis(x, self.axis, -1)
        if self.reverse:
            moved = moved[..., ::-1]
        acc = self.accumulate(moved, dtype)
        if self.exclusive:
            shifted = np.empty_like(acc)
            shifted[..., :1] = self.identity
            shifted[..., 1:] = acc[..., :-1]
            acc = shifted
        if self.reverse:
            acc = acc[..., ::-1]
        return np.ascontiguousarray(np.moveaxis(acc, -1, self.axis))


@register
class Cumsum(_Cumulative):
    """Running sum along ``axis``: out[i] = sum(x[:i+1]) (x[:i] when exclusive;
    x[i:] / x[i+1:] when reverse). The gradient is the scan the other way:
    dx = cumsum(g) with ``reverse`` flipped and ``exclusive`` kept."""

    name = "cumsum"
    identity = 0

    def accumulate(self, x, dtype):
        return np.cumsum(x, axis=-1, dtype=dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]
        return [apply(Cumsum(self.axis, self.exclusive, not self.reverse), g).outputs[0]]


@register
class Cumprod(_Cumulative):
    """Running product along ``axis``: out[i] = prod(x[:i+1]) (x[:i] when exclusive;
    x[i:] / x[i+1:] when reverse).

    Gradient, with S the scan the other way (cumsum with reverse flipped, exclusive
    kept), never dividing by a zero: where x[k] != 0, dx[k] = S(g * out)[k] / x[k];
    at the first and second zeros in scan order, dx[k] = S(g * cumprod(x with x[k] := 1))[k];
    at later zeros 0 (the true gradient there holds two zero factors). Each branch is the
    exact gradient as a function, so second derivatives are exact too, zeros included."""

    name = "cumprod"
    identity = 1

    def accumulate(self, x, dtype):
        return np.cumprod(x, axis=-1, dtype=dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        if not dtypes.is_float(x.dtype):
            return [None]

        def scan_back(t: Tensor) -> Tensor:
            return apply(Cumsum(self.axis, self.exclusive, not self.reverse), t).outputs[0]

        def without(mask: Tensor) -> Tensor:  # the scan with x[k] := 1 where mask holds
            return apply(Cumprod(self.axis, self.exclusive, self.reverse), ar.where(mask, 1, x)).outputs[0]

        is_zero = ar.equal(x, 0)
        zeros_so_far = apply(Cumsum(self.axis, False, self.reverse), cast(is_zero, dtypes.DEFAULT_INT)).outputs[0]
        first = ar.logical_and(is_zero, ar.equal(zeros_so_far, 1))
        second = ar.logical_and(is_zero, ar.equal(zeros_so_far, 2))
        g_nonzero = ar.true_divide(scan_back(ar.mul(g, out)), ar.where(is_zero, 1, x))
        g_first = scan_back(ar.mul(g, without(first)))
        g_second = scan_back(ar.mul(g, without(second)))
        return [ar.where(is_zero, ar.where(first, g_first, ar.where(second, g_second, 0)), g_nonzero)]


def _cumulative(cls: type[_Cumulative], x: TensorLike, axis: int | None, exclusive: bool, reverse: bool) -> Tensor:
    x = as_tensor(x)
    if axis is None:
        x, axis = shape_ops.reshape(x, (-1,)), 0
    elif x.ndim == 0:
        x = shape_ops.reshape(x, (1,))  # numpy scans a 0-d array as a 1-element vector
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ShapeError(f"{cls.name}: axis must be an int or None, got {axis!r}")
    (ax,) = normalize_axes(axis, x.ndim)
    return apply(cls(ax, exclusive, reverse), x).outputs[0]


def cumsum(x: TensorLike, axis: int | None = None, *, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Cumulative sum along ``axis`` (numpy's cumsum: None scans the flattened tensor;
    integers and bools sum in int64). ``exclusive`` and ``reverse`` are TF's options:
    out[i] sums x[:i] when exclusive, and the scan runs from the end when reverse."""
    return _cumulative(Cumsum, x, axis, exclusive, reverse)


def cumprod(x: TensorLike, axis: int | None = None, *, exclusive: bool = False, reverse: bool = False) -> Tensor:
    """Cumulative product along ``axis`` (numpy's cumprod: None scans the flattened
    tensor; integers and bools multiply in int64); ``exclusive`` and ``reverse`` as in
    ``cumsum``. Its gradient is exact where x holds zeros."""
    return _cumulative(Cumprod, x, axis, exclusive, reverse)


__all__ = [
    "sum",
    "prod",
    "max",
    "min",
    "any",
    "all",
    "argmax",
    "argmin",
    "mean",
    "var",
    "std",
    "logsumexp",
    "cumsum",
    "cumprod",
]
