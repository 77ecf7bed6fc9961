"""Elementwise loops: one op's scalar C expression over broadcast operands.

The output is a contiguous buffer of shape S; each operand is contiguous of a shape that
broadcasts to S (right-aligned, size-1 or missing axes repeat). Adjacent axes merge
when every operand treats them alike (all read along both, or all repeat both), so the
common cases become one flat loop (same shapes, or a scalar operand) or two (a row
vector against a matrix). A symbolic size that must equal the output's is checked at
call time: symbolic sizes never broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

from symgraph.graph import shape as shp
from symgraph.graph.shape import Shape


@dataclass(frozen=True)
class Operand:
    """An elementwise operand: a pointer into contiguous data of ``shape``, or a scalar
    C expression (``pointer`` None)."""

    shape: Shape
    pointer: str | None = None
    scalar: str | None = None


def broadcast_pattern(operand_shape: Shape, out_shape: Shape) -> list[bool]:
    """For each output axis: does this operand advance along it (False: it repeats)?"""
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


def elementwise_loop(outputs: list[tuple[str, str]], out_shape: Shape, operands: list[Operand], expr_of) -> str:
    """C statements computing, for each (pointer, C type) in ``outputs``,
    ``out[...] = expr_of(operand element expressions)``; ``expr_of`` returns the
    expression, or (statements to run first, the expression or one per output)."""
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
    for op, pattern in zip(operands, patterns):
        if op.pointer is None:
            args.append(f"({op.scalar})")
        else:
            args.append(f"{op.pointer}[{offset(pattern)}]")
    made = expr_of(args)
    prelude, exprs = made if isinstance(made, tuple) else ([], made)
    exprs = [exprs] if isinstance(exprs, str) else exprs
    index = offset([True] * len(out_shape))
    if len(outputs) == 1:
        stores = [f"{outputs[0][0]}[{index}] = ({outputs[0][1]})({exprs[0]});"]
    else:  # every value before any store: an output may be an input's buffer (in place)
        values = [
            f"const {ctype} r{k} = ({ctype})({e});"
            for k, ((_, ctype), e) in enumerate(zip(outputs, exprs, strict=True))
        ]
        stores = values + [f"{out}[{index}] = r{k};" for k, (out, _) in enumerate(outputs)]
    body = "{ " + " ".join([*prelude, *stores]) + " }" if prelude or len(stores) > 1 else stores[0]
    if not groups:
        return body
    count = shp.prod(list(out_shape))
    if isinstance(count, int):  # the choice is made now: one loop, serial or parallel
        return _nested_loops(indices, sizes, body, parallel=count >= PARALLEL_MIN_STATIC)
    total = shp.to_c(count)
    serial = _nested_loops(indices, sizes, body, parallel=False)
    parallel = _nested_loops(indices, sizes, body, parallel=True)
    # entering an OpenMP region costs even with if(false): branch before it instead
    return f"if ({total} >= SG_PARALLEL_MIN) {{\n{_indent(parallel)}\n}} else {{\n{_indent(serial)}\n}}"


# below this many elements (known when the graph is built) no parallel loop is emitted;
# symgraph.h's SG_PARALLEL_MIN (the same number, measured there) decides at call time
PARALLEL_MIN_STATIC = 32768


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


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


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


def dims_c(shape: Shape) -> tuple[str, ...]:
    return tuple(shp.to_c(d) for d in shape)
