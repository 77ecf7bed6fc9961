"""C for a Scan node: the step graph as a static function, called in a C loop.

The step graph is written by the same machinery as a whole unit (``_StepWriter``, a
``_UnitWriter``): its kernels, its arena of temporaries (kept between calls, so after the
first step nothing is allocated) and an entry taking one array of buffer pointers, the
step's inputs then its outputs. Its names carry a prefix (``scan<node index>_``, nested
scans append theirs), and it goes into the enclosing unit's support code.

The scan kernel loops t over the steps and points the step's buffers at row j(t) of each
sequence and of each output that keeps its history (j(t) = t, or n - 1 - t in reverse),
and each state at the initial value (t = 0) or at the previous step's output row, so a
step writes its results in place and nothing is copied between steps. An output that
keeps only its last value alternates between the output buffer and one scratch buffer
(malloc'ed once per call), arranged so the last step writes the output buffer.

Where the step treats the rows of its states and sequence rows independently (a
recurrent layer's batch; ``symgraph.passes.scan.split_rows`` checks it op by op) and the
batch is static, the step is compiled for a block of rows (``row_chunks`` picks how many
blocks) and the loop over the steps runs once per block, the blocks spread over
OpenMP's threads (dynamic schedule) with BLAS on one thread: the threads meet once per
scan instead of twice per step, as they would if BLAS split each step's small matmul
(and a thread slowed by another process leaves its blocks to the others). Each thread
keeps its own arena of step temporaries (thread-local).
"""

from __future__ import annotations

import os
import re

import numpy as np

from symgraph.codegen import loops
from symgraph.codegen.cexpr import c_comment, c_literal, c_type
from symgraph.codegen.unit import _SYMBOL, Storage, _UnitWriter
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor
from symgraph.graph.sources import Constant
from symgraph.ops.c_api import CArray
from symgraph.ops.scan import Scan
from symgraph.passes.scan import split_rows, symbolic_rows

MIN_CHUNK_ROWS = 8  # a block of rows of a split scan has at least this many
CHUNKS_PER_CORE = 4  # and there are at most this many blocks per core
CACHED_WEIGHT_BYTES = 1 << 20  # non-sequences up to this size stay in a core's cache
STEP_PARALLEL_FACTOR = 8  # a step's kernels go parallel above this many times the unit's threshold
_STEP_THRESHOLD = f"""\
#ifndef SG_STEP_PARALLEL_MIN  /* scan steps: parallel loops only for much larger kernels */
#define SG_STEP_PARALLEL_MIN ({STEP_PARALLEL_FACTOR} * (int64_t)SG_PARALLEL_MIN)
#endif
"""


class _StepWriter(_UnitWriter):
    """A unit writer for a step graph: its source is a static function and its kernels."""

    def __init__(self, inputs: list[Tensor], outputs: list[Tensor], prefix: str, thread_local: bool = False):
        super().__init__(inputs, outputs, [])
        self.prefix = prefix
        self.thread_local = thread_local  # blocks of rows run the step on several threads at once
        self.symbols = []  # sizes are read through the enclosing unit's SG_SYM_ indices
        self.static_constants: list[str] = []

    @property
    def entry(self) -> str:
        return f"{self.prefix}step"

    def write(self):
        # a step's kernels are small and run once per step: an OpenMP region (waking
        # the other threads) per kernel and step costs more than it saves, unless a
        # kernel is much larger than the unit's threshold
        saved = loops.PARALLEL_MIN_STATIC
        loops.PARALLEL_MIN_STATIC = STEP_PARALLEL_FACTOR * saved
        try:
            return super().write()
        finally:
            loops.PARALLEL_MIN_STATIC = saved

    def _place(self, index: int, node: Node, output_slots: dict[int, int]) -> None:
        if not isinstance(node.op, Constant):
            super()._place(index, node, output_slots)
            return
        # a constant of the step is a literal, or a static array of the unit (it has
        # no caller's buffer)
        value = node.op.value
        out = node.outputs[0]
        if value.size == 1:  # a pointer, where a kernel needs one, is made from the literal
            self.storage[id(out)] = Storage(scalar=c_literal(value.reshape(()).item(), value.dtype))
            return
        name = f"{self.prefix}c{len(self.static_constants)}"
        items = ", ".join(c_literal(v, value.dtype) for v in value.reshape(-1)) or "0"
        ctype = c_type(value.dtype)
        self.static_constants.append(f"static const {ctype} {name}[{max(1, value.size)}] = {{ {items} }};")
        self.storage[id(out)] = Storage(pointer=name)

    def _source(self) -> str:
        rename = {name: self.prefix + name for name in self.kernel_names.values()}

        def renamed(text: str) -> str:
            for old, new in rename.items():
                text = re.sub(rf"\b{old}\b", new, text)
            text = text.replace("SG_OUT + ", f"{len(self.inputs)} + ")
            text = re.sub(r"\bSG_PARALLEL_MIN\b", "SG_STEP_PARALLEL_MIN", text)
            text = re.sub(r"\bsg_arena\b", f"{self.prefix}arena", text)
            return re.sub(r"\bsg_arena_size\b", f"{self.prefix}arena_size", text)

        body = [
            *(f"    {ctype} *{name} = NULL;" for name, ctype, _ in self.temporaries),
            *self.decls,
            *self._arena(),
            *self.body,
        ]
        body_text = renamed("\n".join(body))
        symbols = sorted({int(m) for m in _SYMBOL.findall(body_text)})
        lines = [*self.static_constants]
        if self.slots:  # each thread running the step keeps its own temporaries
            storage = "static _Thread_local" if self.thread_local else "static"
            lines += [f"{storage} void *{self.prefix}arena = NULL;", f"{storage} size_t {self.prefix}arena_size = 0;"]
        lines += [renamed(k) for k in self.kernels]
        lines += [
            f"static int {self.entry}(void **sg_buf, const int64_t *sg_sizes, SG_ERR_PARAMS)",
            "{",
            "    int sg_status = SG_OK;",
            "    int32_t sg_failed_node = -1, *sg_failed = &sg_failed_node;",
            "    (void)sg_buf; (void)sg_sizes; (void)sg_failed;",
            *(f"    const int64_t n_{s} = sg_sizes[SG_SYM_{s}];" for s in symbols),
            body_text,
            "    goto done;",
            "done:",
            "    return sg_status;",
            "}",
            "",
        ]
        return "\n".join(lines)


def row_chunks(batch: object, weight_bytes: int = 0) -> int:
    """Blocks of rows a scan whose step treats its ``batch`` rows independently is split
    into (1: no split): blocks of at least ``MIN_CHUNK_ROWS`` rows dividing the batch
    evenly, up to ``CHUNKS_PER_CORE`` per core, so that a thread slowed by another
    process leaves blocks to the others (dynamic schedule); small blocks also suit
    BLAS (8 x 512 x 128 runs faster per flop than 64 x 512 x 128 on one core). Where
    the step's non-sequences (the recurrent weights every block reads at every step)
    outgrow a core's cache, one block per core, so each reads them fewer times."""
    if not isinstance(batch, int):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    most = cores if weight_bytes > CACHED_WEIGHT_BYTES else CHUNKS_PER_CORE * cores
    for chunks in range(min(most, batch // MIN_CHUNK_ROWS), 1, -1):
        if batch % chunks == 0:
            return chunks
    return 1


def scan_kernel(writer: _UnitWriter, node: Node, inputs: list[CArray], outputs: list[CArray]) -> str:
    """The statements of a Scan node's kernel; its step function goes into ``writer``'s
    support code.

    Where the step treats the rows of its states and sequence rows independently (a
    recurrent layer's batch: ``split_rows``), the loop runs per block of rows, the
    blocks on OpenMP's threads with BLAS on one thread each: every thread goes through
    all the steps on its rows with no synchronisation per step (a step's small matmul
    split over threads by BLAS would synchronise them twice per step)."""
    op = node.op
    assert isinstance(op, Scan)
    inner = op.inner
    prefix = f"{getattr(writer, 'prefix', '')}scan{writer.nodes.index(node)}_"
    rowed = [*inner.sequences, *inner.states]
    weights = [t for t in inner.non_sequences if all(isinstance(d, int) for d in t.shape)]
    weight_bytes = sum(t.dtype.itemsize * int(np.prod(t.shape)) for t in weights)
    batch = rowed[0].shape[0] if rowed and rowed[0].ndim else None
    chunks = row_chunks(batch, weight_bytes)
    split = split_rows(inner, chunks) if chunks > 1 else None
    symbol = None  # a symbolic number of rows: the blocks are sized at call time
    if split is None:
        chunks, split = 1, inner
        if row_chunks(1 << 20, weight_bytes) > 1 and not isinstance(writer, _StepWriter):
            symbol = symbolic_rows(inner)
            if symbol is not None and symbol not in writer.symbols:
                symbol = None
    blocked = chunks > 1 or symbol is not None
    step = _StepWriter(split.inputs, split.optimized_outputs(), prefix, thread_local=blocked)
    unit = step.write()
    writer.support.setdefault(_STEP_THRESHOLD, None)
    for text in step.support:  # what the step's ops (and nested scans) need, first
        writer.support.setdefault(text, None)
    writer.support.setdefault(unit.source, None)

    seqs, inits, params = op.split(inputs)
    firsts = op.firsts(inputs)
    n_in, n_out = len(inner.inputs), len(outputs)  # the step's buffers: its inputs, then its outputs
    lines = [c_comment(f"scan: {len(seqs)} sequences, {len(inits)} states, {len(params)} non-sequences")]
    if chunks > 1:
        lines[0] += "\n" + c_comment(f"in {chunks} blocks of rows, each through all the steps on its own thread")
    elif symbol is not None:
        lines[0] += "\n" + c_comment("in blocks of rows (sized per call), each through all the steps on its own thread")
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
    loop.append(f"sc_step_status = {step.entry}(sc_buf, {sizes}, SG_ERR_ARGS);")
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
                f"const int64_t sc_rows = {shp.to_c(batch)};",
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
                f"int64_t sc_sizes[{len(writer.symbols)}];",
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
