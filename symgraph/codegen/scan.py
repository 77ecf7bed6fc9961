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
"""

from __future__ import annotations

import re

from symgraph.codegen import loops
from symgraph.codegen.cexpr import c_comment, c_literal, c_type
from symgraph.codegen.unit import _SYMBOL, Storage, _UnitWriter
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor
from symgraph.graph.sources import Constant
from symgraph.ops.c_api import CArray
from symgraph.ops.scan import Scan

STEP_PARALLEL_FACTOR = 8  # a step's kernels go parallel above this many times the unit's threshold
_STEP_THRESHOLD = f"""\
#ifndef SG_STEP_PARALLEL_MIN  /* scan steps: parallel loops only for much larger kernels */
#define SG_STEP_PARALLEL_MIN ({STEP_PARALLEL_FACTOR} * (int64_t)SG_PARALLEL_MIN)
#endif
"""


class _StepWriter(_UnitWriter):
    """A unit writer for a step graph: its source is a static function and its kernels."""

    def __init__(self, inputs: list[Tensor], outputs: list[Tensor], prefix: str):
        super().__init__(inputs, outputs, [])
        self.prefix = prefix
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
        if self.slots:
            lines += [f"static void *{self.prefix}arena = NULL;", f"static size_t {self.prefix}arena_size = 0;"]
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


def scan_kernel(writer: _UnitWriter, node: Node, inputs: list[CArray], outputs: list[CArray]) -> str:
    """The statements of a Scan node's kernel; its step function goes into ``writer``'s
    support code."""
    op = node.op
    assert isinstance(op, Scan)
    inner = op.inner
    prefix = f"{getattr(writer, 'prefix', '')}scan{writer.nodes.index(node)}_"
    step = _StepWriter(inner.inputs, inner.optimized_outputs(), prefix)
    unit = step.write()
    writer.support.setdefault(_STEP_THRESHOLD, None)
    for text in step.support:  # what the step's ops (and nested scans) need, first
        writer.support.setdefault(text, None)
    writer.support.setdefault(unit.source, None)

    seqs, inits, params = op.split(inputs)
    n_in, n_out = len(inputs), len(outputs)
    lines = [c_comment(f"scan: {len(seqs)} sequences, {len(inits)} states, {len(params)} non-sequences")]
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

    # last-value outputs: the scratch buffer each alternates with
    scratch = [(k, out) for k, (out, keep) in enumerate(zip(outputs, op.keep_history)) if not keep]
    if scratch:
        lines.append("int sc_oom = 0;")
    for k, out in scratch:  # all declared before any allocation can fail
        lines += [f"{out.ctype} *sc_alt{k} = NULL;", f"{out.ctype} *sc_prev{k} = NULL;"]
    for k, out in scratch:
        lines += [
            "if (sc_n > 1) {",
            f"    sc_alt{k} = ({out.ctype} *)malloc(sizeof({out.ctype}) * (size_t){row(out, False)});",
            f"    if (sc_alt{k} == NULL) {{ sc_oom = 1; goto sc_nomem; }}",
            "}",
        ]
    lines.insert(1, "int sc_status = SG_OK;")
    lines.append(f"void *sc_buf[{max(1, n_in + n_out)}];")
    for i, p in enumerate(params):
        lines.append(f"sc_buf[{len(seqs) + len(inits) + i}] = (void *){p.ptr};")

    loop = ["const int64_t sc_j = " + ("sc_n - 1 - sc_t;" if op.reverse else "sc_t;")]
    for i, s in enumerate(seqs):
        loop.append(f"sc_buf[{i}] = (void *)({s.ptr} + sc_j * {row(s, True)});")
    for s, init in enumerate(inits):
        k = inner.state_output(s)
        out = outputs[k]
        if op.keep_history[k]:
            before = f"{out.ptr} + (sc_j {'+' if op.reverse else '-'} 1) * {row(out, True)}"
        else:
            before = f"sc_prev{k}"
        loop.append(f"sc_buf[{len(seqs) + s}] = sc_t == 0 ? (void *){init.ptr} : (void *)({before});")
    for k, (out, keep) in enumerate(zip(outputs, op.keep_history)):
        if keep:
            loop.append(f"sc_buf[{n_in + k}] = (void *)({out.ptr} + sc_j * {row(out, True)});")
        else:  # the last step (t = n - 1) writes the output buffer
            loop.append(f"{out.ctype} *sc_target{k} = (sc_n - 1 - sc_t) % 2 == 0 ? {out.ptr} : sc_alt{k};")
            loop.append(f"sc_buf[{n_in + k}] = (void *)sc_target{k};")
    loop.append(f"sc_status = {step.entry}(sc_buf, sg_sizes, SG_ERR_ARGS);")
    loop.append("if (sc_status != SG_OK) break;")
    for k, keep in enumerate(op.keep_history):
        if not keep:
            loop.append(f"sc_prev{k} = sc_target{k};")
    lines.append("for (int64_t sc_t = 0; sc_t < sc_n; sc_t++) {")
    lines += ["    " + line for line in loop]
    lines.append("}")
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
