"""The C of a Scan node: the step graph as a static function, called in a C loop.

The step graph is written by codegen's own unit writer (``context.write_step``): its
kernels, its arena of temporaries (kept between calls, so after the first step nothing
is allocated) and an entry taking one array of buffer pointers, the step's inputs then
its outputs. Its names carry the node's prefix (nested scans append theirs), and it goes
into the enclosing unit's support code.

The scan kernel loops t over the steps and points the step's buffers at row j(t) of each
sequence and of each output that keeps its history (j(t) = t, or n - 1 - t in reverse),
and each state at the initial value (t = 0) or at the previous step's output row, so a
step writes its results in place and nothing is copied between steps. An output that
keeps only its last value alternates between the output buffer and one scratch buffer
(malloc'ed once per call), arranged so the last step writes the output buffer.

Where the step treats the rows of its states and sequence rows independently (a
recurrent layer's batch; the Scan's ``StepPlan``, symgraph/scan/rows.py), the loop over
the steps runs once per block of rows, the blocks spread over OpenMP's threads (dynamic
schedule) with BLAS on one thread: the threads meet once per scan instead of twice per
step, as they would if BLAS split each step's small matmul (and a thread slowed by
another process leaves its blocks to the others). Each thread keeps its own arena of
step temporaries (thread-local).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from symgraph.graph import shape as shp
from symgraph.ops.c_api import CArray, KernelContext
from symgraph.scan.rows import CACHED_WEIGHT_BYTES, CHUNKS_PER_CORE, MIN_CHUNK_ROWS, weight_bytes_of

if TYPE_CHECKING:  # the op module imports this one: the type only, for the signature
    from symgraph.scan.op import Scan


def scan_kernel(context: KernelContext, op: Scan, inputs: list[CArray], outputs: list[CArray]) -> str:
    """The statements of a Scan node's kernel; its step function goes into the unit's
    support code (``context``).

    Where the plan splits the rows (a recurrent layer's batch), the loop runs per block
    of rows, the blocks on OpenMP's threads with BLAS on one thread each: every thread
    goes through all the steps on its rows with no synchronisation per step (a step's
    small matmul split over threads by BLAS would synchronise them twice per step). A
    scan the passes did not plan (O0) runs its step as traced, on all the rows."""
    inner = op.inner
    plan = op.plan
    chunks = plan.chunks if plan is not None else 1
    step_graph = (plan.block if chunks > 1 else plan.step) if plan is not None else inner
    # a symbolic number of rows (blocks sized at call time): only in the unit's own
    # loop, and only where it is a size the unit is called with
    symbol = plan.rows if plan is not None and not context.is_step and plan.rows in context.symbols else None
    weight_bytes = weight_bytes_of(inner)
    blocked = chunks > 1 or symbol is not None
    step = context.write_step(step_graph.inputs, step_graph.outputs, context.prefix, blocked)

    seqs, inits, params = op.split(inputs)
    firsts = op.firsts(inputs)
    n_in, n_out = len(inner.inputs), len(outputs)  # the step's buffers: its inputs, then its outputs
    lines = [f"/* scan: {len(seqs)} sequences, {len(inits)} states, {len(params)} non-sequences */"]
    if chunks > 1:
        lines[0] += f"\n/* in {chunks} blocks of rows, each through all the steps on its own thread */"
    elif symbol is not None:
        lines[0] += "\n/* in blocks of rows (sized per call), each through all the steps on its own thread */"
    lines.append(f"const int64_t sc_n = {shp.to_c(op.n_steps)};")
    for i, s in enumerate(seqs):
        if s.static_shape[0] != op.n_steps:
            lines.append(
                f"if (({s.shape[0]}) != sc_n) SG_FAIL(SG_ERR_SHAPE, "
                f'"sequence {i} has %lld steps, the scan runs %lld", (long long)({s.shape[0]}), (long long)sc_n);'
            )

    def row(x: CArray, skip_first: bool) -> str:
        dims = x.shape[1:] if skip_first else x.shape
        return "(" + "*".join(dims) + ")" if dims else "1"

    def block(x: CArray, skip_first: bool) -> str:
        """The offset of this thread's block of rows within one row of ``x``."""
        if symbol is not None:
            per_row = x.shape[2:] if skip_first else x.shape[1:]
            return " + sc_r0 * " + ("(" + "*".join(per_row) + ")" if per_row else "1")
        return f" + sc_c * ({row(x, skip_first)} / {chunks})" if chunks > 1 else ""

    # last-value outputs: the scratch buffer each alternates with
    scratch = [(k, out) for k, (out, keep) in enumerate(zip(outputs, op.keep_history)) if not keep]
    if scratch:
        lines.append("int sc_oom = 0;")
    for k, out in scratch:  # all declared before any allocation can fail
        lines.append(f"{out.ctype} *sc_alt{k} = NULL;")
    for k, out in scratch:
        lines += [
            "if (sc_n > 1) {",
            f"    sc_alt{k} = ({out.ctype} *)malloc(sizeof({out.ctype}) * (size_t){row(out, False)});",
            f"    if (sc_alt{k} == NULL) {{ sc_oom = 1; goto sc_nomem; }}",
            "}",
        ]
    lines.insert(1, "int sc_status = SG_OK;")

    body = [f"void *sc_buf[{max(1, n_in + n_out)}];", "int sc_step_status = SG_OK;"]
    body += [f"{out.ctype} *sc_prev{k} = NULL;" for k, out in scratch]
    for i, p in enumerate(params):
        body.append(f"sc_buf[{len(seqs) + len(inits) + i}] = (void *){p.ptr};")
    loop = ["const int64_t sc_j = " + ("sc_n - 1 - sc_t;" if op.reverse else "sc_t;")]
    for i, (s, first, shift) in enumerate(zip(seqs, firsts, op.shifts)):
        if not shift:
            loop.append(f"sc_buf[{i}] = (void *)({s.ptr} + sc_j * {row(s, True)}{block(s, True)});")
            continue
        # a shifted sequence: the history's row j - shift, the first row where that is outside
        edge = "sc_j == 0" if shift == 1 else "sc_j == sc_n - 1"
        other = f"{s.ptr} + (sc_j {'-' if shift == 1 else '+'} 1) * {row(s, True)}{block(s, True)}"
        loop.append(f"sc_buf[{i}] = {edge} ? (void *)({first.ptr}{block(first, False)}) : (void *)({other});")
    for s, init in enumerate(inits):
        k = inner.state_output(s)
        out = outputs[k]
        if op.keep_history[k]:
            before = f"{out.ptr} + (sc_j {'+' if op.reverse else '-'} 1) * {row(out, True)}{block(out, True)}"
        else:
            before = f"sc_prev{k}"
        loop.append(
            f"sc_buf[{len(seqs) + s}] = sc_t == 0 ? (void *)({init.ptr}{block(init, False)}) : (void *)({before});"
        )
    for k, (out, keep) in enumerate(zip(outputs, op.keep_history)):
        if keep:
            loop.append(f"sc_buf[{n_in + k}] = (void *)({out.ptr} + sc_j * {row(out, True)}{block(out, True)});")
        else:  # the last step (t = n - 1) writes the output buffer
            loop.append(
                f"{out.ctype} *sc_target{k} = ((sc_n - 1 - sc_t) % 2 == 0 ? {out.ptr} : sc_alt{k}){block(out, False)};"
            )
            loop.append(f"sc_buf[{n_in + k}] = (void *)sc_target{k};")
    sizes = "sc_sizes" if symbol is not None else "sg_sizes"
    loop.append(f"sc_step_status = {step}(sc_buf, {sizes}, SG_ERR_ARGS);")
    loop.append("if (sc_step_status != SG_OK) break;")
    for k, keep in enumerate(op.keep_history):
        if not keep:
            loop.append(f"sc_prev{k} = sc_target{k};")
    body.append("for (int64_t sc_t = 0; sc_t < sc_n; sc_t++) {")
    body += ["    " + line for line in loop]
    body.append("}")
    if not blocked:
        lines.append("{")
        lines += ["    " + line for line in body]
        lines += ["    sc_status = sc_step_status;", "}"]
    else:
        work = " + ".join(row(out, True) if keep else row(out, False) for out, keep in zip(outputs, op.keep_history))
        if symbol is not None:  # blocks of at least MIN_CHUNK_ROWS rows, up to CHUNKS_PER_CORE per thread
            per_thread = 1 if weight_bytes > CACHED_WEIGHT_BYTES else CHUNKS_PER_CORE
            lines += [
                f"const int64_t sc_rows = {shp.c_name(symbol)};",
                "#ifdef _OPENMP",
                f"const int64_t sc_most = {per_thread} * (int64_t)omp_get_max_threads();",
                "#else",
                "const int64_t sc_most = 1;",
                "#endif",
                f"int64_t sc_blocks = sc_rows / {MIN_CHUNK_ROWS};",
                "if (sc_blocks > sc_most) sc_blocks = sc_most;",
                "if (sc_blocks < 1) sc_blocks = 1;",
                f"const int sc_parallel = sc_blocks > 1 && sc_most > {per_thread}"
                f" && sc_n * ({work or 1}) >= SG_PARALLEL_MIN;",
            ]
            count = "sc_blocks"
            body = [
                "const int64_t sc_r0 = sc_rows * sc_c / sc_blocks;",
                f"int64_t sc_sizes[{len(context.symbols)}];",
                "memcpy(sc_sizes, sg_sizes, sizeof(sc_sizes));",
                f"sc_sizes[SG_SYM_{symbol.serial}] = sc_rows * (sc_c + 1) / sc_blocks - sc_r0;",
                *body,
            ]
        else:
            lines += [f"const int sc_parallel = sc_n * ({work or 1}) >= SG_PARALLEL_MIN && sg_omp_threads() > 1;"]
            count = str(chunks)
        lines += [
            "/* each thread calls BLAS on its own rows: BLAS must not start threads of its own */",
            "sg_blas_one_thread();",
            "#pragma omp parallel for schedule(dynamic, 1) if (sc_parallel)",
            f"for (int64_t sc_c = 0; sc_c < {count}; sc_c++) {{",
            *("    " + line for line in body),
            "    if (sc_step_status != SG_OK) {",
            "        #pragma omp critical(sg_scan_status)",
            "        { if (sc_status == SG_OK) sc_status = sc_step_status; }",
            "    }",
            "}",
        ]
    for k, (out, keep) in enumerate(zip(outputs, op.keep_history)):
        if keep:
            continue
        size = f"sizeof({out.ctype}) * (size_t){row(out, False)}"
        state = inner.feedback[k]
        fill = (
            f"memcpy({out.ptr}, {inits[state].ptr}, {size});" if state is not None else f"memset({out.ptr}, 0, {size});"
        )
        lines.append(f"if (sc_n == 0) {fill}")
    if scratch:
        lines.append("sc_nomem:")
        lines += [f"free(sc_alt{k});" for k, _ in scratch]
        lines.append('if (sc_oom) SG_FAIL(SG_ERR_NOMEM, "scan: out of memory for a state buffer");')
    lines.append("if (sc_status != SG_OK) return sc_status;")
    return "\n".join(lines)
