"""One C translation unit for a whole compiled function.

``generate(inputs, outputs, updates)`` walks the graph in topological order and decides
where every tensor lives:

- placeholders, Variables and constants are buffers the caller passes (in ``sg_buf``);
  a one-element constant is also inlined as a literal into
  elementwise expressions, and a ``dim_value`` is a C expression of the sizes;
- a reshape shares its input's buffer;
- every other node is a kernel (a static function named after its op) writing a fresh
  buffer: the caller's output buffer when the node is an output, else a temporary in
  the arena. Its C comes from the op's hooks (ops/c_api.py ``CLinkerOp``): an
  elementwise loop (ops/c_loops.py) of its ``c_body``, or its ``c_kernel_in``.

After the kernels, outputs that are not kernel results are copied into the caller's
buffers, and then the updates are written into the Variables' buffers: all updates
read the values from before the call (Theano's rule), so an update whose value is
another Variable is snapshotted first.

Updates in place: when nothing runs after the kernel computing a Variable's new value
that still needs the old one (the kernel itself may read it, elementwise at the same
position), the kernel writes straight into the Variable's buffer and no copy follows
(``_inplace_updates``). An optimizer step then reads and writes each slot once.

Temporaries live in an arena kept between calls (one per unit): each takes a slot that
a dead temporary left free (liveness, in topological order), so a training step
allocates nothing after its first call at a given batch size.

The entry point takes one array of buffer pointers (``sg_buf``: the inputs, then the
outputs, the Variables' buffers and the constants, in the orders of ``Unit``), the sizes
of every symbolic dimension (``sg_sizes``, in the order of ``Unit.symbols``) and returns
a status; on failure ``*sg_failed`` holds the
index (into ``Unit.nodes``) of the node whose kernel failed, and the message is in the
caller's buffer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from symgraph.codegen.cexpr import Names, c_comment, c_literal, c_type
from symgraph.codegen.instrument import Instrument
from symgraph.errors import UnsupportedError
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor
from symgraph.graph.shape import Dim, DimExpr, Sym
from symgraph.graph.sources import Constant, DimValue, Placeholder, SharedVariable, Variable
from symgraph.graph.traversal import toposort
from symgraph.ops import c_loops
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.c_loops import Operand, elementwise_loop, runtime_checks
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.shape_ops import Reshape
from symgraph.provenance import covers_text, is_fused

ENTRY = "sg_entry"
CDEF = (
    f"int {ENTRY}(void **sg_buf, const int64_t *sg_sizes, int32_t *sg_failed, "
    "char *sg_errbuf, size_t sg_errbuf_size);\n"
    "int sg_enter_call(void *state);\n"
    "void sg_leave_call(void *state);\n"
    "void sg_release(void *state);"
)
# the caller's per-function state (csrc/symgraph_runtime.h's sg_call_state) as opaque words
STATE_WORDS = 4
# sg_failed's value when no single node failed: the temporaries as a whole found no memory
FAILED_ARENA = -1
_SYMBOL = re.compile(r"\bn_(\d+)\b")
_SYMBOL_NAME = re.compile(r"\b(n_|SG_SYM_)(\d+)\b")


@dataclass
class Storage:
    """Where a tensor's values are: a pointer expression, or a scalar C expression."""

    pointer: str | None = None
    scalar: str | None = None
    root: int | None = None  # id of the tensor owning a temporary buffer (itself or a reshape's base)
    temporary: bool = False


@dataclass
class Unit:
    """The generated C and what the caller needs to call it."""

    source: str
    cdef: str
    symbols: list[Sym]
    inputs: list[Tensor]
    states: list[Variable]
    constants: list[np.ndarray]
    outputs: list[Tensor]
    updates: list[tuple[Variable, Tensor]]
    nodes: list[Node] = field(default_factory=list)
    instrument: Instrument = field(default_factory=Instrument)  # profile / nan_guard call sites
    temporaries: list[tuple[int, Tensor]] = field(default_factory=list)  # (node index, tensor) in the arena


def generate(
    inputs: list[Tensor],
    outputs: list[Tensor],
    updates: list[tuple[Variable, Tensor]],
    profile: bool = False,
    nan_guard: bool = False,
) -> Unit:
    """The unit; ``profile`` times every kernel call, ``nan_guard`` checks every float
    output for NaN (symgraph/codegen/instrument.py; neither changes a plain unit)."""
    unit = _UnitWriter(inputs, outputs, updates, Instrument(profile, nan_guard)).write()
    unit.source = _number_symbols(unit.source, unit.symbols)  # the whole unit's text, steps included
    return unit


class _UnitWriter:
    def __init__(
        self,
        inputs: list[Tensor],
        outputs: list[Tensor],
        updates: list[tuple[Variable, Tensor]],
        instrument: Instrument | None = None,
    ):
        self.instrument = instrument or Instrument()
        self.inputs = inputs
        self.outputs = outputs
        self.updates = updates
        self.nodes = toposort(outputs + [v for _, v in updates] + [var for var, _ in updates])
        self.names = Names()
        self.storage: dict[int, Storage] = {}
        self.states: list[Variable] = []
        self.constants: list[np.ndarray] = []
        self.kernels: list[str] = []
        self.support: dict[str, None] = {}  # C helpers ops need (``c_support``), once each
        self.kernel_names: dict[tuple[str, str], str] = {}  # (signature, body) -> function: one copy each
        self.decls: list[str] = []  # declarations, all at the top of the entry (goto-safe)
        self.body: list[str] = []
        self.temporaries: list[tuple[str, str, int]] = []  # (name, ctype, arena slot)
        self.slots: list[list[str]] = []  # per arena slot: the byte sizes of the temporaries it holds
        self.free_slots: list[int] = []  # slots whose temporary is dead: the next ones reuse them
        self.slot_of: dict[str, int] = {}
        self.symbols = _symbols_of(inputs)
        self.inplace: dict[int, Variable] = {}  # id of an update's value -> its Variable
        self.prefix = ""  # of the C names of a scan step's functions (nested steps append theirs)
        self.sized: list[tuple[int, Tensor]] = []  # (node index, tensor) of every arena temporary
        # where the temporaries' memory is: the caller's per-function state (a step: its own)
        self.arena_memory, self.arena_size = "sg_call->memory", "sg_call->size"

    def write(self) -> Unit:
        last_use = self._last_uses()
        self.inplace = self._inplace_updates()
        output_slots = self._output_slots()
        for index, node in enumerate(self.nodes):
            self._place(index, node, output_slots)
            for t in node.inputs:
                self._free_if_done(t, index, last_use)
        self._copy_outputs(output_slots)
        self._write_updates()
        for text in self.instrument.support():
            self.support.setdefault(text, None)
        return Unit(
            source=self._source(),
            cdef=self.instrument.cdef(CDEF),
            symbols=self.symbols,
            inputs=self.inputs,
            states=self.states,
            constants=self.constants,
            outputs=self.outputs,
            updates=self.updates,
            nodes=self.nodes,
            instrument=self.instrument,
            temporaries=self.sized,
        )

    # --- placing each node -----------------------------------------------------------

    def _place(self, index: int, node: Node, output_slots: dict[int, int]) -> None:
        op = node.op
        out = node.outputs[0]
        if isinstance(op, Placeholder):
            k = next(i for i, t in enumerate(self.inputs) if t is out)
            self.storage[id(out)] = self._declare_pointer(f"in{k}", out, f"sg_buf[{k}]", const=True)
        elif isinstance(op, SharedVariable):
            self._place_variable(out)
        elif isinstance(op, Constant):
            k = len(self.constants)
            self.constants.append(op.value)
            storage = self._declare_pointer(f"cst{k}", out, f"sg_buf[SG_CONST + {k}]", const=True)
            if op.value.size == 1:
                storage.scalar = c_literal(op.value.reshape(()).item(), op.value.dtype)
            self.storage[id(out)] = storage
        elif isinstance(op, DimValue):
            self.storage[id(out)] = Storage(scalar=f"((int64_t){shp.to_c(op.dim)})")
        elif isinstance(op, Reshape):
            base = self.storage[id(node.inputs[0])]
            pointer = self._pointer_of(node.inputs[0])
            self.storage[id(out)] = Storage(pointer=pointer, root=base.root, temporary=base.temporary)
            self._check_same_size(index, node.inputs[0], out)
        else:
            self._kernel(index, node, output_slots)

    def _place_variable(self, var: Tensor) -> Storage:
        """The Variable's buffer (declared once: an in-place update may need it before
        the Variable's own node comes in the order)."""
        if id(var) not in self.storage:
            k = len(self.states)
            self.states.append(var)  # type: ignore[arg-type]
            self.storage[id(var)] = self._declare_pointer(f"st{k}", var, f"sg_buf[SG_STATE + {k}]", const=False)
        return self.storage[id(var)]

    def _check_same_size(self, index: int, source: Tensor, target: Tensor) -> None:
        """A reshape shares its input's buffer: sizes that may differ at call time are checked."""
        a, b = shp.prod(list(source.shape)), shp.prod(list(target.shape))
        if a == b:
            return
        ca, cb = shp.to_c(a), shp.to_c(b)
        sizes = f"(long long){ca}, (long long){cb}"
        fail = f'sg_fail(SG_ERR_ARGS, SG_ERR_SHAPE, "cannot reshape %lld elements into %lld", {sizes})'
        self.body.append(f"    if ({ca} != {cb}) {{ *sg_failed = {index}; sg_status = {fail}; goto done; }}")

    def _declare_pointer(self, name: str, t: Tensor, source: str, const: bool) -> Storage:
        ctype = c_type(t.dtype)
        qualifier = "const " if const else ""
        self.decls.append(f"    {qualifier}{ctype} *{name} = ({qualifier}{ctype} *){source};")
        return Storage(pointer=name)

    def _pointer_of(self, t: Tensor) -> str:
        storage = self.storage[id(t)]
        if storage.pointer is None:  # a scalar expression some kernel needs as an array
            name = self.names.fresh("s")
            self.decls.append(f"    const {c_type(t.dtype)} {name}[1] = {{ {storage.scalar} }};")
            storage.pointer = name
        return storage.pointer

    def _kernel(self, index: int, node: Node, output_slots: dict[int, int]) -> None:
        targets = []
        for t in node.outputs:
            slot = output_slots.get(id(t))
            var = self.inplace.get(id(t))
            if var is not None:
                name = self._place_variable(var).pointer
                self.storage[id(t)] = Storage(pointer=name)
            elif slot is not None:
                name = f"out{slot}"
                self.decls.append(f"    {c_type(t.dtype)} *{name} = ({c_type(t.dtype)} *)sg_buf[SG_OUT + {slot}];")
                self.storage[id(t)] = Storage(pointer=name)
            else:
                name = self._temporary("t", c_type(t.dtype), f"sizeof({c_type(t.dtype)}) * (size_t){_size_c(t)}")
                self.storage[id(t)] = Storage(pointer=name, root=id(t), temporary=True)
                self.sized.append((index, t))
            targets.append(name)

        op = node.op
        if not isinstance(op, CLinkerOp):
            raise UnsupportedError(f"{op.name} has no C (ops compiled to C derive from symgraph.ops.c_api.CLinkerOp)")
        dtype = node.inputs[0].dtype if node.inputs else None
        ins = [_carray(f"a{k}", t) for k, t in enumerate(node.inputs)]
        outs = [_carray(f"o{k}", t) for k, t in enumerate(node.outputs)]
        for text in (op.c_support(dtype), op.c_definitions(ins, outs)):  # file-scope C, once per unit
            if text:
                self.support.setdefault(text, None)
        code, params, args = self._kernel_body(index, node, ins, outs)
        if checks := op.c_loop_checks(dtype):
            code = "\n".join([code, *checks])  # errors the loop could only flag
        if any(id(t) in self.inplace for t in node.outputs):  # an output is an input's buffer
            params = [p.replace(" *restrict ", " *") for p in params]
        # equal kernels (the same op on the same types, common in optimizer updates)
        # are one function: less C to compile
        key = (", ".join(params), code)
        function = self.kernel_names.get(key)
        if function is None:
            function = self.kernel_names[key] = f"k{index}_{op.kernel_label()}"
            self.kernels.append(_kernel_function(function, node, code, params))
        call_args = ", ".join(["sg_sizes", *args, *targets, "SG_ERR_ARGS"])
        call = f"    sg_status = {function}({call_args});"
        check = f"    if (sg_status != SG_OK) {{ *sg_failed = {index}; goto done; }}"
        if self.instrument.active:  # profile=True / nan_guard=True only
            wrapped = self.instrument.wrap(index, node, function, call, check, targets)
            self.body.append(f"    {c_comment(_describe(node))}\n{wrapped}")
            return
        self.body.append(f"    {c_comment(_describe(node))}\n{call}\n{check}")

    def _kernel_body(
        self, index: int, node: Node, ins: list[CArray], outs: list[CArray]
    ) -> tuple[str, list[str], list[str]]:
        """The kernel's statements, its parameter declarations and the entry's arguments:
        an elementwise loop of the op's ``c_body``, or the op's ``c_kernel_in`` over
        ``ins`` and ``outs``."""
        op = node.op
        params, args = [], []
        for k, t in enumerate(node.inputs):
            storage = self.storage[id(t)]
            if isinstance(op, Elementwise) and storage.scalar is not None:
                continue
            params.append(f"const {c_type(t.dtype)} *restrict a{k}")
            args.append(self._pointer_of(t))
        for k, t in enumerate(node.outputs):
            params.append(f"{c_type(t.dtype)} *restrict o{k}")

        if isinstance(op, Elementwise):
            out = node.outputs[0]
            dtype = node.inputs[0].dtype
            operands = []
            for k, t in enumerate(node.inputs):
                storage = self.storage[id(t)]
                if storage.scalar is not None:
                    operands.append(Operand(t.shape, scalar=storage.scalar))
                else:
                    operands.append(Operand(t.shape, pointer=f"a{k}", ctype=c_type(t.dtype)))
            checks = runtime_checks(operands, out.shape)
            targets = [(f"o{k}", c_type(t.dtype)) for k, t in enumerate(node.outputs)]
            loop = elementwise_loop(targets, out.shape, operands, lambda elements: op.c_body(elements, dtype))
            return "\n".join([*checks, loop]), params, args

        context = _NodeContext(self, f"{self.prefix}{op.name}{index}_")
        return op.c_kernel_in(context, node, ins, outs), params, args

    # --- outputs, updates and lifetimes ------------------------------------------------

    def _output_slots(self) -> dict[int, int]:
        """Outputs a kernel can write straight into the caller's buffer."""
        slots: dict[int, int] = {}
        for m, t in enumerate(self.outputs):
            op = t.node.op
            is_kernel = not isinstance(op, (Placeholder, SharedVariable, Constant, DimValue, Reshape))
            if is_kernel and id(t) not in slots:
                slots[id(t)] = m
        return slots

    def _copy_outputs(self, output_slots: dict[int, int]) -> None:
        for m, t in enumerate(self.outputs):
            if output_slots.get(id(t)) == m:
                continue
            storage = self.storage[id(t)]
            ctype = c_type(t.dtype)
            if storage.pointer is None:
                self.body.append(f"    *({ctype} *)sg_buf[SG_OUT + {m}] = {storage.scalar};")
            else:
                size = f"sizeof({ctype}) * (size_t){_size_c(t)}"
                self.body.append(f"    memcpy(sg_buf[SG_OUT + {m}], {storage.pointer}, {size});")

    def _write_updates(self) -> None:
        snapshots: dict[int, str] = {}
        state_pointers = {id(v): self.storage[id(v)].pointer for v in self.states}
        for var, value in self.updates:
            if value is var or id(value) in self.inplace:
                continue
            storage = self.storage[id(value)]
            if storage.pointer is not None and storage.pointer in state_pointers.values():
                bytes_ = f"sizeof({c_type(value.dtype)}) * (size_t){_size_c(value)}"
                name = self._temporary("snap", c_type(value.dtype), bytes_)
                self.body.append(f"    memcpy({name}, {storage.pointer}, {bytes_});")
                snapshots[id(value)] = name
        for var, value in self.updates:
            if value is var or id(value) in self.inplace:
                continue
            target = state_pointers[id(var)]
            ctype = c_type(var.dtype)
            storage = self.storage[id(value)]
            if storage.pointer is None:
                self.body.append(f"    {target}[0] = {storage.scalar};")
            else:
                source = snapshots.get(id(value), storage.pointer)
                self.body.append(f"    memcpy({target}, {source}, sizeof({ctype}) * (size_t){_size_c(var)});")

    def _last_uses(self) -> dict[int, int]:
        """For each temporary's owning tensor, the index of the last node reading it
        (outputs and updates count as read after every node)."""
        root_of: dict[int, int] = {}
        last: dict[int, int] = {}
        for index, node in enumerate(self.nodes):
            for t in node.outputs:
                root_of[id(t)] = root_of.get(id(node.inputs[0]), id(t)) if isinstance(node.op, Reshape) else id(t)
            for t in node.inputs:
                root = root_of.get(id(t), id(t))
                last[root] = index
        end = len(self.nodes)
        for t in self.outputs + [v for _, v in self.updates]:
            last[root_of.get(id(t), id(t))] = end
        self._root_of = root_of
        return last

    def _inplace_updates(self) -> dict[int, Variable]:
        """The updates whose kernel can write into the Variable's buffer: the value is
        a kernel's result of the Variable's type, no output, and the old value is read
        by nothing after that kernel (it may read it itself, elementwise and at the
        full shape, so each position is read before it is written), nor kept as an
        output or as another update's value."""
        position = {id(n): i for i, n in enumerate(self.nodes)}
        readers: dict[int, list[int]] = {}  # id of a Variable -> indices of nodes reading it
        for index, node in enumerate(self.nodes):
            for t in node.inputs:
                root = self._root_of.get(id(t), id(t))
                readers.setdefault(root, []).append(index)
        outputs = {id(t) for t in self.outputs}
        values = [id(v) for _, v in self.updates]
        # buffers read after the kernels (outputs' copies, updates' snapshots), reshapes included
        read_at_end = {self._root_of.get(id(t), id(t)) for t in self.outputs + [v for _, v in self.updates]}
        plan: dict[int, Variable] = {}
        for var, value in self.updates:
            node = value.node
            if value is var or id(var) in read_at_end or id(value) in outputs:
                continue
            if isinstance(node.op, (Placeholder, SharedVariable, Constant, DimValue, Reshape)):
                continue
            if value.dtype != var.dtype or value.shape != var.shape or values.count(id(value)) > 1:
                continue
            here = position[id(node)]
            if any(i > here for i in readers.get(id(var), [])):
                continue
            reads_var = [t for t in node.inputs if self._root_of.get(id(t), id(t)) == id(var)]
            if reads_var and not (isinstance(node.op, Elementwise) and all(t is var for t in reads_var)):
                continue
            plan[id(value)] = var
        return plan

    def _free_if_done(self, t: Tensor, index: int, last_use: dict[int, int]) -> None:
        storage = self.storage.get(id(t))
        if storage is None or not storage.temporary or storage.root is None:
            return
        if last_use.get(storage.root) == index:
            self.free_slots.append(self.slot_of[self.storage[storage.root].pointer])
            last_use[storage.root] = -1  # freed once

    def _temporary(self, prefix: str, ctype: str, bytes_: str) -> str:
        """A temporary buffer in the arena: a dead temporary's slot when one is free
        (preferring one that held the same size), else a new slot."""
        name = self.names.fresh(prefix)
        same = [k for k in self.free_slots if bytes_ in self.slots[k]]
        if same or self.free_slots:
            slot = (same or self.free_slots)[0]
            self.free_slots.remove(slot)
        else:
            slot = len(self.slots)
            self.slots.append([])
        if bytes_ not in self.slots[slot]:
            self.slots[slot].append(bytes_)
        self.slot_of[name] = slot
        self.temporaries.append((name, ctype, slot))
        return name

    # --- the text ----------------------------------------------------------------------

    def _source(self) -> str:
        lines = [
            "/* Generated by symgraph: one translation unit for one compiled function. */",
            '#include "symgraph.h"',
            "",
            *(f"#define SG_SYM_{s.serial} {k}  {c_comment(s.name)}" for k, s in enumerate(self.symbols)),
            "/* where each kind of buffer starts in sg_buf: inputs, outputs, Variables, constants */",
            f"#define SG_OUT {len(self.inputs)}",
            f"#define SG_STATE {len(self.inputs) + len(self.outputs)}",
            f"#define SG_CONST {len(self.inputs) + len(self.outputs) + len(self.states)}",
            "/* then the caller's state of this function: its temporaries' memory, kept between calls */",
            f"#define SG_CALL_STATE {len(self.inputs) + len(self.outputs) + len(self.states) + len(self.constants)}",
            "",
            *self.support,
            *self.kernels,
            f"int {ENTRY}(void **sg_buf, const int64_t *sg_sizes, int32_t *sg_failed, SG_ERR_PARAMS)",
            "{",
            "    int sg_status = SG_OK;",
            "    sg_call_state *sg_call = (sg_call_state *)sg_buf[SG_CALL_STATE];",
            "    (void)sg_buf; (void)sg_failed; (void)sg_call;",
        ]
        lines += [f"    const int64_t {shp.c_name(s)} = sg_sizes[{k}];" for k, s in enumerate(self.symbols)]
        lines += [f"    {ctype} *{name} = NULL;" for name, ctype, _ in self.temporaries]
        lines += self.decls
        lines += self._update_checks()
        lines += self._size_checks()
        lines += self._arena()
        lines += self.body
        lines += ["    goto done;", "done:"]
        lines += ["    return sg_status;", "}", ""]
        # the state is the caller's: one per function object, never shared by two
        # functions whose equal code shares this library; a second thread entering the
        # same function is refused (sg_enter_call), not let in
        lines += [
            "int sg_enter_call(void *state) { return sg_call_enter((sg_call_state *)state); }",
            "void sg_leave_call(void *state) { sg_call_leave((sg_call_state *)state); }",
            "void sg_release(void *state) { sg_call_release((sg_call_state *)state); }",
            "",
        ]
        return "\n".join(lines)

    def _update_checks(self) -> list[str]:
        """Before any kernel writes anything: every update's new value has its Variable's
        shape at this call's sizes (a symbolic size can differ); else nothing is updated."""
        position = {id(n): i for i, n in enumerate(self.nodes)}
        lines = []
        for var, value in self.updates:
            for axis, (got, want) in enumerate(zip(value.shape, var.shape)):
                if got == want:
                    continue
                index = position[id(value.node)]
                got_c, want_c = shp.to_c(got), shp.to_c(want)
                fail = (
                    f"sg_fail(SG_ERR_ARGS, SG_ERR_SHAPE, \"an update's new value has size %lld on axis {axis} "
                    f'where its Variable has %lld", (long long){got_c}, (long long){want_c})'
                )
                lines.append(f"    if ({got_c} != {want_c}) {{ *sg_failed = {index}; sg_status = {fail}; goto done; }}")
        return lines

    def _size_checks(self) -> list[str]:
        """Before the temporaries are sized: none of them holds more bytes than memory
        can address, counted in double precision (an int64 product of large symbolic
        sizes would wrap, to a small buffer the kernel then overruns)."""
        lines = []
        for index, t in self.sized:
            itemsize = t.dtype.itemsize
            if all(isinstance(d, int) for d in t.shape) and itemsize * shp.prod(list(t.shape)) <= shp.MAX_BUFFER_BYTES:
                continue
            count = "*".join(["1.0", *(_double_c(d) for d in t.shape)])
            fail = (
                'sg_fail(SG_ERR_ARGS, SG_ERR_SHAPE, "its result would hold %.0f elements of %d bytes: '
                f'more than memory can address", {count}, {itemsize})'
            )
            lines.append(
                f"    if ({count} * {itemsize} > {float(shp.MAX_BUFFER_BYTES)!r}) "
                f"{{ *sg_failed = {index}; sg_status = {fail}; goto done; }}"
            )
        return lines

    def _arena(self) -> list[str]:
        """Size the slots for this call's sizes, grow the arena if needed, point the
        temporaries into it: after the first call (at a given size) nothing is allocated."""
        if not self.slots:
            return []
        lines = []
        offset = "0"
        offsets = []
        for k, members in enumerate(self.slots):
            size = members[0]
            for more in members[1:]:
                size = f"sg_max_size({size}, {more})"
            lines.append(f"    const size_t sg_slot{k} = sg_align64({size});")
            offsets.append(offset)
            offset = f"sg_offset{k + 1}"
            lines.append(f"    const size_t {offset} = {offsets[-1]} + sg_slot{k};")
        fail = 'sg_status = sg_fail(SG_ERR_ARGS, SG_ERR_NOMEM, "out of memory for %zu bytes of temporaries", sg_need);'
        memory, size = self.arena_memory, self.arena_size
        lines += [
            f"    const size_t sg_need = {offset};",
            f"    if (sg_need > {size}) {{",
            "        void *sg_grown = NULL;",
            "        if (posix_memalign(&sg_grown, 64, sg_need) != 0) {",
            f"            *sg_failed = {FAILED_ARENA};",
            f"            {fail}",
            "            goto done;",
            "        }",
            f"        free({memory});",
            f"        {memory} = sg_grown;",
            f"        {size} = sg_need;",
            "    }",
        ]
        lines += [
            f"    {name} = ({ctype} *)((char *)({memory}) + {offsets[slot]});" for name, ctype, slot in self.temporaries
        ]
        return lines


STEP_PARALLEL_FACTOR = 8  # a step's kernels go parallel above this many times the unit's threshold
_STEP_THRESHOLD = f"""\
#ifndef SG_STEP_PARALLEL_MIN  /* scan steps: parallel loops only for much larger kernels */
#define SG_STEP_PARALLEL_MIN ({STEP_PARALLEL_FACTOR} * (int64_t)SG_PARALLEL_MIN)
#endif
"""


@dataclass
class _NodeContext:
    """What a kernel that writes more than statements gets from the unit writing it (an
    ``ops.c_api.KernelContext``: a scan writes its step as a function of the unit)."""

    writer: _UnitWriter
    prefix: str  # of this node's C names

    @property
    def is_step(self) -> bool:
        return isinstance(self.writer, _StepWriter)

    @property
    def symbols(self) -> list[Sym]:
        return self.writer.symbols

    def add_support(self, text: str) -> None:
        self.writer.support.setdefault(text, None)

    def write_step(self, inputs: list[Tensor], outputs: list[Tensor], prefix: str, thread_local: bool) -> str:
        step = _StepWriter(inputs, outputs, prefix, thread_local=thread_local)
        unit = step.write()
        self.add_support(_STEP_THRESHOLD)
        for text in step.support:  # what the step's ops (and nested scans) need, first
            self.add_support(text)
        self.add_support(unit.source)
        return step.entry


class _StepWriter(_UnitWriter):
    """A unit writer for a step graph: its source is a static function and its kernels."""

    def __init__(self, inputs: list[Tensor], outputs: list[Tensor], prefix: str, thread_local: bool = False):
        super().__init__(inputs, outputs, [])
        self.prefix = prefix
        self.thread_local = thread_local  # blocks of rows run the step on several threads at once
        self.arena_memory, self.arena_size = f"{prefix}arena", f"{prefix}arena_size"
        self.symbols = []  # sizes are read through the enclosing unit's SG_SYM_ indices
        self.static_constants: list[str] = []

    @property
    def entry(self) -> str:
        return f"{self.prefix}step"

    def write(self):
        # a step's kernels are small and run once per step: an OpenMP region (waking
        # the other threads) per kernel and step costs more than it saves, unless a
        # kernel is much larger than the unit's threshold
        saved = c_loops.PARALLEL_MIN_STATIC
        c_loops.PARALLEL_MIN_STATIC = STEP_PARALLEL_FACTOR * saved
        try:
            return super().write()
        finally:
            c_loops.PARALLEL_MIN_STATIC = saved

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
            return re.sub(r"\bSG_PARALLEL_MIN\b", "SG_STEP_PARALLEL_MIN", text)

        body = [
            *(f"    {ctype} *{name} = NULL;" for name, ctype, _ in self.temporaries),
            *self.decls,
            *self._arena(),
            *self.body,
        ]
        body_text = renamed("\n".join(body))
        symbols = sorted({int(m) for m in _SYMBOL.findall(body_text)})
        lines = [*self.static_constants]
        if self.slots:  # each thread running the step keeps its own temporaries (two functions
            # sharing this library may run it at once, on their own threads)
            lines += [
                f"static _Thread_local void *{self.prefix}arena = NULL;",
                f"static _Thread_local size_t {self.prefix}arena_size = 0;",
            ]
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


def _double_c(d: Dim) -> str:
    """A size as a C double expression: no product of large sizes wraps."""
    if isinstance(d, int):
        return f"{float(d)!r}"
    terms = []
    for mono, coeff in d.terms:
        factors = [f"(double){shp.to_c(DimExpr((((atom,), 1),)))}" for atom in mono]
        terms.append("*".join([f"{float(coeff)!r}", *factors]))
    return "(" + " + ".join(terms) + ")"


def _number_symbols(source: str, symbols: list[Sym]) -> str:
    """``source`` with its size symbols numbered per unit: ``n_k``/``SG_SYM_k`` for the
    k-th of ``symbols``, then the unit's other symbols (a scan's inner sizes) in order.

    Kernels are written with each symbol's process-wide serial (``shp.c_name``): the
    same graph built twice, or after another graph, would get other names, so other C
    text and another cache key. Renumbered, the text is a function of the graph alone."""
    number = {s.serial: k for k, s in enumerate(symbols)}
    for serial in sorted({int(m) for _, m in _SYMBOL_NAME.findall(source)} - number.keys()):
        number[serial] = len(number)
    return _SYMBOL_NAME.sub(lambda m: f"{m.group(1)}{number[int(m.group(2))]}", source)


def _kernel_function(name: str, node: Node, code: str, params: list[str]) -> str:
    symbols = sorted({int(m) for m in _SYMBOL.findall(code)})
    binds = [f"    const int64_t n_{s} = sg_sizes[SG_SYM_{s}];" for s in symbols]
    signature = ", ".join(["const int64_t *sg_sizes", *params, "SG_ERR_PARAMS"])
    body = "\n".join("    " + line if line else line for line in code.split("\n"))
    return "\n".join(
        [
            c_comment(_describe(node)),
            f"static int {name}({signature})",
            "{",
            "    (void)sg_sizes; (void)sg_errbuf; (void)sg_errbuf_size;",
            *binds,
            body,
            "    return SG_OK;",
            "}",
            "",
        ]
    )


def _describe(node: Node) -> str:
    where = f" at {node.location.short}" if node.location else ""
    ins = ", ".join(str(t.type) for t in node.inputs)
    outs = ", ".join(str(t.type) for t in node.outputs)
    if is_fused(node):  # the nodes the user built that this kernel computes
        return f"{node.op}({ins}) -> {outs}: {covers_text(node)}"
    return f"{node.op}({ins}) -> {outs}{where}"


def _carray(ptr: str, t: Tensor) -> CArray:
    return CArray(ptr, c_type(t.dtype), t.dtype, tuple(shp.to_c(d) for d in t.shape), t.shape)


def _size_c(t: Tensor) -> str:
    return shp.to_c(shp.prod(list(t.shape)))


def _symbols_of(inputs: list[Tensor]) -> list[Sym]:
    found: dict[Sym, None] = {}
    for t in inputs:
        for d in t.shape:
            if isinstance(d, DimExpr):
                for s in sorted(d.symbols(), key=lambda s: s.serial):
                    found.setdefault(s, None)
    return list(found)
