"""A generated unit, built and ready to call: the "c" mode of ``sg.function``.

``CProgram.run`` has the interpreter's signature (input arrays and symbol sizes in,
output and update arrays out), so ``Function`` treats both modes alike. The call does
as little Python as it can: pointers to the Variables' buffers and the constants are
made once; per call it makes the inputs contiguous, allocates the outputs, fills the
pointer arrays and calls the entry point. A failing status becomes the symgraph error
its code names, with the failing node's op, input types and shapes, and user line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from symgraph import errors
from symgraph.codegen.unit import ENTRY, Unit
from symgraph.graph import shape as shp
from symgraph.graph.core import describe_call_failure
from symgraph.graph.shape import Sym
from symgraph.runtime.build import build

# the status codes of csrc/symgraph_runtime.h, mapped to the errors they raise
STATUS_ERRORS: dict[int, type[Exception]] = {
    1: errors.ShapeError,
    2: errors.IndexOutOfRangeError,
    3: errors.InvalidValueError,
    4: MemoryError,
    5: errors.InvalidValueError,
    6: RuntimeError,
}
ERRBUF_SIZE = 512


class CProgram:
    """A unit compiled to a shared library, with its call-time plumbing."""

    def __init__(self, unit: Unit, name_hint: str = "function"):
        self.unit = unit
        self.library = build(unit.source, unit.cdef, name_hint=name_hint)
        ffi = self.library.ffi
        self._ffi = ffi
        self._entry = getattr(self.library.lib, ENTRY)
        self._constants = [np.ascontiguousarray(c) for c in unit.constants]
        self._state_ptrs = ffi.new("void*[]", [ffi.from_buffer(v.storage) for v in unit.states] or [ffi.NULL])
        self._const_ptrs = ffi.new("void*[]", [ffi.from_buffer(c) for c in self._constants] or [ffi.NULL])
        self._failed = ffi.new("int32_t *")
        self._errbuf = ffi.new("char[]", ERRBUF_SIZE)
        self._out_types = [(t.dtype, t.shape) for t in unit.outputs]

    def run(self, values: Sequence[np.ndarray], sizes: Mapping[Sym, int]) -> list[np.ndarray]:
        ffi = self._ffi
        ins = [v if v.flags.c_contiguous else np.ascontiguousarray(v) for v in values]
        outs = [np.empty(shp.evaluate_shape(shape, sizes), dtype) for dtype, shape in self._out_types]
        in_ptrs = ffi.new("void*[]", [ffi.from_buffer(a) for a in ins] or [ffi.NULL])
        out_ptrs = ffi.new("void*[]", [ffi.from_buffer(o) for o in outs] or [ffi.NULL])
        size_values = ffi.new("int64_t[]", [sizes[s] for s in self.unit.symbols] or [0])
        status = self._entry(
            in_ptrs, out_ptrs, self._state_ptrs, self._const_ptrs, size_values, self._failed, self._errbuf, ERRBUF_SIZE
        )
        if status:
            self._raise(status, sizes)
        return outs

    def _raise(self, status: int, sizes: Mapping[Sym, int]) -> None:
        message = self._ffi.string(self._errbuf).decode("utf-8", "replace")
        self._errbuf[0] = b"\0"
        node = self.unit.nodes[self._failed[0]]
        shapes = [shp.evaluate_shape(t.shape, sizes) for t in node.inputs]
        raise STATUS_ERRORS.get(status, RuntimeError)(describe_call_failure(node, shapes, message))
