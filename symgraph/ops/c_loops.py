"""The loops of generated C: every nested loop a kernel runs over arrays is built here.

Two builders, for the two ways kernels walk arrays:

- ``elementwise_loop``: a scalar C expression (an op's ``c_body``) over operands that
  broadcast to the output. The output is a contiguous buffer of shape S; each operand is
  contiguous of a shape that broadcasts to S (right-aligned, size-1 or missing axes
  repeat). Adjacent axes merge when every operand treats them alike (all read along
  both, or all repeat both), so the common cases become one flat loop (same shapes, or a
  scalar operand) or two (a row vector against a matrix); the outer loop is an OpenMP
  parallel loop above ``PARALLEL_MIN_STATIC`` elements (or, for sizes known at call
  time, symgraph_sizes.h's ``SG_PARALLEL_MIN``). A symbolic size that must equal the output's
  is checked at call time (``runtime_checks``): symbolic sizes never broadcast.
- ``offset_loops``: nested loops carrying running element offsets into several arrays
  (additions and multiplications by loop counters, never a division), for the kernels
  that move elements (broadcast_to, transpose, subtensor, gather, scatter). There a
  size known only at call time may be 1 and broadcast as numpy does
  (``broadcast_strides``).

The small pieces kernels share around them are here too: one C block per kernel
(``c_block``: its locals, prefixed ``sgk_``, never meet another's), products of sizes,
numpy's shape format in messages, the copy of an input into the output.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from symgraph.graph import shape as shp
from symgraph.graph.shape import Dim, Shape
from symgraph.ops.c_api import CArray

# below this many elements (known when the graph is built) no parallel loop is emitted;
# symgraph_sizes.h's SG_PARALLEL_MIN (the same number, measured there) decides at call time.
# Read when a loop is built: a scan's step raises it while its kernels are written.
PARALLEL_MIN_STATIC = 32768

Offset = tuple[str, Sequence[str | None]]  # (base C expression, stride per loop level or None)
LoopHook = Callable[[dict[str, str]], tuple[str, dict[str, str]]]
ElementBody = Callable[[list[str]], tuple[list[str], list[str]]]


def indent(text: str, depth: int = 1) -> str:
    """``text`` with each non-empty line indented ``depth`` levels (four spaces each)."""
    pad = "    " * depth
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def c_block(*parts: str) -> str:
    """Statements wrapped in one C block (indented), so that kernels' locals never meet."""
    return "{\n" + indent("\n".join(p for p in parts if p)) + "\n}"


def c_product(dims: Sequence[str]) -> str:
    """The product of C size expressions as one expression (each factor bracketed)."""
    return "(" + " * ".join(f"({d})" for d in dims) + ")" if dims else "1"


def c_shape_fmt(dims: Sequence[str]) -> tuple[str, str]:
    """A printf format writing ``dims`` as numpy writes a shape ((2, 3), (4,), ()) and
    its arguments (each with a leading comma)."""
    fmt = "(" + ", ".join(["%lld"] * len(dims)) + ("," if len(dims) == 1 else "") + ")"
    return fmt, "".join(f", (long long)({d})" for d in dims)


def c_copy(dst: CArray, src: CArray) -> str:
    """``dst`` = ``src`` (same size, skipped when they are one buffer): the first step
    of the ops that update a copy."""
    return (
        f"if ((const void *)({dst.ptr}) != (const void *)({src.ptr}) && {src.size} > 0) "
        f"memcpy({dst.ptr}, {src.ptr}, sizeof({dst.ctype}) * (size_t){src.size});"
    )


# --- elementwise loops ------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """An elementwise operand: a pointer into contiguous data of ``shape``, or a scalar
    C expression (``pointer`` None). A pointer operand with its element's C type
    (``ctype``) is read into a local before the element's expression: an operand that the
    expression reads only on one side of a select (``where``, relu's mask) is then read
    on every element, which is what lets gcc vectorise the select on targets without
    masked loads (SSE, NEON): a load under a condition is a branch to them."""

    shape: Shape
    pointer: str | None = None
    scalar: str | None = None
    ctype: str | None = None


def broadcast_pattern(operand_shape: Shape, out_shape: Shape) -> list[bool]:
    """For each output axis: does this operand advance along it (False: it repeats)?
    Sizes are compared as the graph has them (symbolic sizes never broadcast)."""
    lead = len(out_shape) - len(operand_shape)
    pattern = []
    for axis, out_dim in enumerate(out_shape):
        if axis < lead:
            pattern.append(False)
            continue
        d = operand_shape[axis - lead]
        pattern.append(not (d == 1 and out_dim != 1))
    return pattern


def runtime_checks(operands: list[Operand], out_shape: Shape) -> list[str]:
    """C statements failing with SG_ERR_SHAPE where an operand's size differs at call time."""
    checks = []
    for k, op in enumerate(operands):
        lead = len(out_shape) - len(op.shape)
        for axis, d in enumerate(op.shape):
            out_dim = out_shape[lead + axis]
            if d == 1 or d == out_dim:
                continue
            if isinstance(d, int) and isinstance(out_dim, int):
                raise AssertionError("static sizes were checked when the graph was built")
            a, b = shp.to_c(d), shp.to_c(out_dim)
            checks.append(
                f'if ({a} != {b}) SG_FAIL(SG_ERR_SHAPE, "operand {k + 1}, axis {axis}: size %lld where the '
                f'graph needs %lld (symbolic sizes never broadcast)", (long long){a}, (long long){b});'
            )
    return checks


def elementwise_loop(
    outputs: list[tuple[str, str]], out_shape: Shape, operands: list[Operand], body: ElementBody
) -> str:
    """C statements computing, for each (pointer, C type) in ``outputs``, its element of
    ``body(operand element expressions)``: (statements to run first, one expression per
    output), an op's ``c_body``."""
    patterns = [broadcast_pattern(op.shape, out_shape) if op.pointer else None for op in operands]
    groups = _merge_axes(out_shape, [p for p in patterns if p is not None])
    indices = [f"i{g}" for g in range(len(groups))]
    sizes = [shp.to_c(shp.prod([out_shape[a] for a in group])) for group in groups]

    def offset(pattern: list[bool] | None) -> str:
        terms = []
        stride = "1"
        for g in reversed(range(len(groups))):
            if pattern is None or not pattern[groups[g][0]]:
                continue
            terms.append(indices[g] if stride == "1" else f"{indices[g]}*{stride}")
            stride = sizes[g] if stride == "1" else f"{stride}*{sizes[g]}"
        return " + ".join(reversed(terms)) or "0"

    args = []
    loads = []
    for k, (op, pattern) in enumerate(zip(operands, patterns)):
        if op.pointer is None:
            args.append(f"({op.scalar})")
        elif op.ctype is None:
            args.append(f"{op.pointer}[{offset(pattern)}]")
        else:
            loads.append(f"const {op.ctype} e{k} = {op.pointer}[{offset(pattern)}];")
            args.append(f"e{k}")
    prelude, exprs = body(args)
    prelude = loads + prelude
    index = offset([True] * len(out_shape))
    if len(outputs) == 1:
        stores = [f"{outputs[0][0]}[{index}] = ({outputs[0][1]})({exprs[0]});"]
    else:  # every value before any store: an output may be an input's buffer (in place)
        values = [
            f"const {ctype} r{k} = ({ctype})({e});"
            for k, ((_, ctype), e) in enumerate(zip(outputs, exprs, strict=True))
        ]
        stores = values + [f"{out}[{index}] = r{k};" for k, (out, _) in enumerate(outputs)]
    statement = "{ " + " ".join([*prelude, *stores]) + " }" if prelude or len(stores) > 1 else stores[0]
    if not groups:
        return statement
    count = shp.prod(list(out_shape))
    if isinstance(count, int):  # the choice is made now: one loop, serial or parallel
        return _nested_loops(indices, sizes, statement, parallel=count >= PARALLEL_MIN_STATIC)
    total = shp.to_c(count)
    serial = _nested_loops(indices, sizes, statement, parallel=False)
    parallel = _nested_loops(indices, sizes, statement, parallel=True)
    # entering an OpenMP region costs even with if(false): branch before it instead
    return f"if ({total} >= SG_PARALLEL_MIN) {{\n{indent(parallel)}\n}} else {{\n{indent(serial)}\n}}"


def _nested_loops(indices: list[str], sizes: list[str], body: str, parallel: bool) -> str:
    lines = []
    for g, (index, size) in enumerate(zip(indices, sizes)):
        pad = "    " * g
        innermost = g == len(indices) - 1
        if g == 0 and parallel:
            lines.append(f"{pad}#pragma omp parallel for{' simd' if innermost else ''}")
        elif innermost:
            lines.append(f"{pad}#pragma omp simd")
        lines.append(f"{pad}for (int64_t {index} = 0; {index} < {size}; {index}++) {{")
    lines.append("    " * len(indices) + body)
    for g in reversed(range(len(indices))):
        lines.append("    " * g + "}")
    return "\n".join(lines)


def _merge_axes(out_shape: Shape, patterns: list[list[bool]]) -> list[list[int]]:
    """Groups of adjacent output axes that every operand reads alike (size-1 axes join
    any group: they contribute no iteration)."""
    groups: list[list[int]] = []
    signature: tuple[bool, ...] | None = None
    for axis, d in enumerate(out_shape):
        sig = tuple(p[axis] for p in patterns)
        if groups and (sig == signature or d == 1):
            groups[-1].append(axis)
            continue
        groups.append([axis])
        signature = sig
    return groups


# --- loops carrying offsets -------------------------------------------------------------


def offset_loops(
    sizes: Sequence[str],
    offsets: dict[str, Offset],
    body: Callable[[dict[str, str]], str],
    hooks: dict[int, LoopHook] | None = None,
) -> str:
    """Nested C loops over ``sizes`` (outermost first) carrying running element offsets,
    as one C block.

    ``offsets`` maps a name to (its base, its stride per loop level, None for 0); each
    level rebinds the offsets that move there (``base + i * stride``: additions and
    multiplications by loop counters, which compilers strength-reduce, never a division).
    ``body(cur)`` gets name -> the C variable holding that offset innermost and returns
    the innermost statements. ``hooks[level]`` runs where loop ``level`` would open
    (``len(sizes)``: just before the body) with the current variables and returns
    (statements, {name: C expression added to that offset from there on}).
    """
    hooks = hooks or {}
    lines: list[str] = []
    cur: dict[str, str] = {}
    serial = itertools.count()
    depth = 0

    def emit(code: str) -> None:
        lines.extend(indent(code, depth).split("\n"))

    def bind(name: str, expr: str) -> None:
        var = f"sgk_{name}_{next(serial)}"
        emit(f"const int64_t {var} = {expr};")
        cur[name] = var

    for name, (base, _) in offsets.items():
        bind(name, base)
    for level in range(len(sizes) + 1):
        if level in hooks:
            code, adds = hooks[level](dict(cur))
            emit(code)
            for name, add in adds.items():
                bind(name, f"{cur[name]} + {add}")
        if level == len(sizes):
            break
        i = f"sgk_i{level}"
        emit(f"for (int64_t {i} = 0; {i} < ({sizes[level]}); {i}++) {{")
        depth += 1
        for name, (_, strides) in offsets.items():
            if strides[level] is not None:
                bind(name, f"{cur[name]} + {i} * ({strides[level]})")
    emit(body(cur))
    while depth:
        depth -= 1
        emit("}")
    return c_block(*lines)


def broadcast_strides(
    src: CArray, target: Sequence[str], target_static: Sequence[Dim], fail: Callable[[], str]
) -> tuple[list[str | None], list[str]]:
    """Per axis of ``target``, the element stride in ``src`` when ``src`` broadcasts to it
    as numpy aligns shapes (from the right; None where it repeats; a size known only at
    call time repeats where it is 1 then), and the C checks of sizes only known at call
    time (``fail()`` gives the failing statement)."""
    lead = len(target) - src.ndim
    strides: list[str | None] = [None] * lead
    checks: list[str] = []
    for a in range(src.ndim):
        d, t = src.static_shape[a], target_static[lead + a]
        if isinstance(d, int) and d == 1:
            strides.append(None)
        elif d == t:
            strides.append(src.stride(a))
        else:
            n = src.shape[a]
            strides.append(f"(({n}) == 1 ? 0 : {src.stride(a)})")
            checks.append(f"if (({n}) != 1 && ({n}) != ({target[lead + a]})) {fail()}")
    return strides, checks
