"""A generated unit, built and ready to call: the "c" mode of ``sg.function``.

The call does as little Python as it can: the buffer array passed to the entry point
holds the Variables' buffers and the constants from the start; a call writes only the
inputs' and outputs' pointers and the symbolic sizes. ``call_fast`` takes positional,
C-contiguous arrays of the exact dtypes with precomputed checks; anything else goes
through ``run``, after ``Function`` has checked and converted the arguments. A failing
status becomes the symgraph error its code names, with the failing node's op, input
types and shapes, and user line.

The buffer array is reused between calls: one compiled function must not be called
from two threads at once.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping, Sequence

import numpy as np

from symgraph import errors
from symgraph.codegen.unit import ENTRY, FAILED_ARENA, STATE_WORDS, Unit
from symgraph.graph import shape as shp
from symgraph.graph.shape import Sym
from symgraph.provenance import check_addressable, explain_call_failure
from symgraph.runtime.build import build, build_extension
from symgraph.runtime.toolchain import csrc_dir

# the status codes of csrc/symgraph_runtime.h, mapped to the errors they raise
STATUS_ERRORS: dict[int, type[Exception]] = {
    1: errors.ShapeError,
    2: errors.IndexOutOfRangeError,
    3: errors.InvalidValueError,
    4: MemoryError,
    5: errors.NaNError,
    6: RuntimeError,
    7: errors.ConcurrentCallError,
}
STATUS_BUSY = 7
ERRBUF_SIZE = 512
MAX_FAST_DIMS = 32  # SG_MAX_DIMS of csrc/symgraph_call.c: arrays of more axes take the Python path


class CProgram:
    """A unit compiled to a shared library, with its call-time plumbing."""

    def __init__(self, unit: Unit, name_hint: str = "function"):
        self.unit = unit
        start_call_module_build()
        self.build_timings: dict[str, float] = {}  # seconds in the C compiler and loading
        self.library = build(unit.source, unit.cdef, name_hint=name_hint, timings=self.build_timings)
        ffi = self._ffi = self.library.ffi
        self._entry = getattr(self.library.lib, ENTRY)
        self._n_in, self._n_out = len(unit.inputs), len(unit.outputs)
        self._constants = [np.ascontiguousarray(c) for c in unit.constants]
        fixed = [ffi.from_buffer(v.storage) for v in unit.states] + [ffi.from_buffer(c) for c in self._constants]
        self._fixed = fixed  # keeps the pointers' owners alive
        # this function's own state (its temporaries' memory, whether a call is running),
        # freed with it: never the library's, which equal functions share
        self._state = ffi.new("uint64_t[]", STATE_WORDS)
        self._enter_call, self._leave_call = self.library.lib.sg_enter_call, self.library.lib.sg_leave_call
        weakref.finalize(self, self.library.lib.sg_release, self._state)
        self._buf = ffi.new("void*[]", self._n_in + self._n_out + len(fixed) + 1)
        for k, p in enumerate([*fixed, self._state]):
            self._buf[self._n_in + self._n_out + k] = p
        self._sizes = ffi.new("int64_t[]", max(1, len(unit.symbols)))
        self._failed = ffi.new("int32_t *")
        self._errbuf = ffi.new("char[]", ERRBUF_SIZE)
        self._out_types = [(t.dtype, t.shape) for t in unit.outputs]
        self._fast = _FastPath(unit) if _FastPath.applies(unit) else None
        self._from_buffer = ffi.from_buffer
        self._callers: dict[bool, object | None] = {}

    def caller(self, trusted: bool = False):
        """The C call path (symgraph_call.c's Caller) for this program, or None when the
        extension cannot be built here (the Python fast path then serves)."""
        if trusted not in self._callers:
            self._callers[trusted] = _make_caller(self, trusted) if self._fast is not None else None
        return self._callers[trusted]

    def run(self, values: Sequence[np.ndarray], sizes: Mapping[Sym, int]) -> list[np.ndarray]:
        """The outputs for checked input arrays and the sizes bound from them."""
        ins = [v if v.flags.c_contiguous else np.ascontiguousarray(v) for v in values]
        for t in self.unit.outputs:
            check_addressable(t, sizes)
        outs = [np.empty(shp.evaluate_shape(shape, sizes), dtype) for dtype, shape in self._out_types]
        size_values = [sizes[s] for s in self.unit.symbols]
        return self._call(ins, outs, size_values)

    def call_fast(self, args: tuple, trusted: bool = False) -> list[np.ndarray] | None:
        """The outputs for positional C-contiguous arrays of the exact dtypes and static
        sizes; None when anything is unusual, so the caller takes the checked path.
        ``trusted`` skips the dtype, rank and contiguity checks (``trust_input``).

        The per-call work is written out flat on purpose: this is the whole Python cost
        of a call (the slots' pointers stay valid without keeping the cdata: the arrays
        they point into are alive until the call returns)."""
        fast = self._fast
        if fast is None or len(args) != self._n_in:
            return None
        if self._enter_call(self._state):
            self._refuse_concurrent_call()
        try:
            return self._call_fast(fast, args, trusted)
        finally:
            self._leave_call(self._state)

    def _call_fast(self, fast: _FastPath, args: tuple, trusted: bool) -> list[np.ndarray] | None:
        buf, from_buffer, sizes = self._buf, self._from_buffer, self._sizes
        i = 0
        for a in args:
            dtype, ndim, static, binds = fast.specs[i]
            if not trusted and (
                type(a) is not np.ndarray or a.dtype is not dtype or a.ndim != ndim or not a.flags.c_contiguous
            ):
                return None
            if static or binds:
                shape = a.shape
                for axis, value in static:
                    if shape[axis] != value:
                        return None
                for axis, k, first in binds:
                    if first:
                        sizes[k] = shape[axis]
                    elif sizes[k] != shape[axis]:
                        return None
            buf[i] = from_buffer(a)
            i += 1
        outs = []
        for dtype, kind, shape in fast.outputs:
            if kind == _SHAPE_OF_INPUT:
                shape = args[shape].shape
            elif kind == _SHAPE_WITH_SYMBOLS:
                shape = tuple(d if d >= 0 else sizes[-1 - d] for d in shape)
            try:
                out = np.empty(shape, dtype)
            except (ValueError, MemoryError):  # too large or no memory: the checked path says which
                return None
            buf[i] = from_buffer(out)
            outs.append(out)
            i += 1
        status = self._entry(buf, sizes, self._failed, self._errbuf, ERRBUF_SIZE)
        if status:
            self._raise(status, {s: sizes[k] for k, s in enumerate(self.unit.symbols)})
        return outs

    def _call(self, ins: Sequence[np.ndarray], outs: list[np.ndarray], sizes: list[int]) -> list[np.ndarray]:
        if self._enter_call(self._state):
            self._refuse_concurrent_call()
        try:
            return self._call_entered(ins, outs, sizes)
        finally:
            self._leave_call(self._state)

    def _refuse_concurrent_call(self) -> None:
        raise errors.ConcurrentCallError(
            "this compiled function is running on another thread: one function is called from one thread at a "
            "time (build one function per thread; equal graphs share their compiled code, not their state)"
        )

    def _call_entered(self, ins: Sequence[np.ndarray], outs: list[np.ndarray], sizes: list[int]) -> list[np.ndarray]:
        from_buffer, buf = self._from_buffer, self._buf
        keep = [from_buffer(a) for a in ins]
        keep += [from_buffer(o) for o in outs]
        buf[0 : len(keep)] = keep
        if sizes:
            self._sizes[0 : len(sizes)] = sizes
        status = self._entry(buf, self._sizes, self._failed, self._errbuf, ERRBUF_SIZE)
        if status:
            self._raise(status, dict(zip(self.unit.symbols, sizes)))
        return outs

    def read_profile(self, reset: bool = False) -> list[tuple[int, int]]:
        """A unit built with profile=True: per timed call site, (nanoseconds, calls)."""
        sites = len(self.unit.instrument.sites)
        out = self._ffi.new("int64_t[]", max(2, 2 * sites))
        self.library.lib.sg_profile_read(out, 1 if reset else 0)
        return [(out[2 * k], out[2 * k + 1]) for k in range(sites)]

    def raise_status(self, status: int) -> None:
        """Raise the error of a failed call made through the C call path (the sizes of
        that call are still in the size array)."""
        self._raise(status, {s: self._sizes[k] for k, s in enumerate(self.unit.symbols)})

    def _raise(self, status: int, sizes: Mapping[Sym, int]) -> None:
        if status == STATUS_BUSY:  # the buffers are the running call's: read nothing
            self._refuse_concurrent_call()
        message = self._ffi.string(self._errbuf).decode("utf-8", "replace")
        self._errbuf[0] = b"\0"
        failed = self._failed[0]
        if failed == FAILED_ARENA:
            raise MemoryError(_arena_failure(self.unit, message, sizes))
        if not 0 <= failed < len(self.unit.nodes):
            raise STATUS_ERRORS.get(status, RuntimeError)(message)
        node = self.unit.nodes[failed]
        for var, value in self.unit.updates:  # checked before any kernel: the update failed
            if value.node is node and shp.evaluate_shape(value.shape, sizes) != var.shape:
                got = shp.evaluate_shape(value.shape, sizes)
                raise errors.ShapeError(
                    f"update of Variable {var.name!r}: the new value has shape {got}, the Variable {var.shape}"
                )
        shapes = [shp.evaluate_shape(t.shape, sizes) for t in node.inputs]
        raise STATUS_ERRORS.get(status, RuntimeError)(explain_call_failure(node, shapes, message, sizes))


def _arena_failure(unit: Unit, message: str, sizes: Mapping[Sym, int]) -> str:
    """The message of temporaries that found no memory: the largest ones, by node."""
    by_size = []
    for index, t in unit.temporaries:
        shape = shp.evaluate_shape(t.shape, sizes)
        by_size.append((int(np.prod(shape, dtype=np.float64)) * t.dtype.itemsize, unit.nodes[index], shape, t))
    by_size.sort(key=lambda item: -item[0])
    lines = [f"{message} at this call's sizes; the largest:"]
    for nbytes, node, shape, t in by_size[:3]:
        where = f" at {node.location.short}" if node.location else ""
        lines.append(f"  {node.op.name}{where}: {t.dtype.name}{list(shape)}, {nbytes} bytes")
    return "\n".join(lines)


class _FastPath:
    """Precomputed checks for ``call_fast``: per input its dtype, rank, static sizes and
    the symbols its axes bind (or check, when an earlier axis bound them); per output
    how its shape is made: static, an input's shape, or static sizes and symbol
    positions (-1 - k for the k-th symbol)."""

    @staticmethod
    def applies(unit: Unit) -> bool:
        """Every symbolic size is a plain symbol of some input axis, and every output
        size is static or such a symbol (else the general binder is needed), and no
        array has more axes than the C caller's plan holds (SG_MAX_DIMS)."""
        if any(t.ndim > MAX_FAST_DIMS for t in (*unit.inputs, *unit.outputs)):
            return False
        for t in unit.inputs:
            if any(not isinstance(d, int) and _plain_symbol(d) is None for d in t.shape):
                return False
        plain = {_plain_symbol(d) for t in unit.inputs for d in t.shape if not isinstance(d, int)}
        if set(unit.symbols) - plain:
            return False
        return all(isinstance(d, int) or _plain_symbol(d) is not None for t in unit.outputs for d in t.shape)

    def __init__(self, unit: Unit):
        index = {s: k for k, s in enumerate(unit.symbols)}
        seen: set[int] = set()
        self.specs = []
        for t in unit.inputs:
            static = tuple((axis, d) for axis, d in enumerate(t.shape) if isinstance(d, int))
            binds = []
            for axis, d in enumerate(t.shape):
                if not isinstance(d, int):
                    k = index[_plain_symbol(d)]
                    binds.append((axis, k, k not in seen))
                    seen.add(k)
            self.specs.append((t.dtype, t.ndim, static, tuple(binds)))
        self.outputs = [self._output_shape(t, unit.inputs, index) for t in unit.outputs]

    @staticmethod
    def _output_shape(t, inputs, index) -> tuple:
        """(dtype, how the shape is made, what it is made from)."""
        if all(isinstance(d, int) for d in t.shape):
            return (t.dtype, _SHAPE_STATIC, tuple(t.shape))
        for i, x in enumerate(inputs):
            if x.shape == t.shape:
                return (t.dtype, _SHAPE_OF_INPUT, i)
        codes = tuple(d if isinstance(d, int) else -1 - index[_plain_symbol(d)] for d in t.shape)
        return (t.dtype, _SHAPE_WITH_SYMBOLS, codes)


_SHAPE_STATIC, _SHAPE_OF_INPUT, _SHAPE_WITH_SYMBOLS = 0, 1, 2


def _plain_symbol(d: object) -> Sym | None:
    """The symbol ``d`` is, when it is exactly one symbol."""
    if isinstance(d, shp.DimExpr) and len(d.terms) == 1:
        ((mono, coeff),) = d.terms
        if coeff == 1 and len(mono) == 1 and isinstance(mono[0], Sym):
            return mono[0]
    return None


def _make_caller(program: CProgram, trusted: bool):
    module = _call_module()
    if module is None:
        return None
    ffi, fast, unit = program._ffi, program._fast, program.unit
    address = lambda cdata: int(ffi.cast("uintptr_t", cdata))  # noqa: E731
    inputs = tuple(
        (dtype.num, ndim, static, tuple((axis, k, bool(first)) for axis, k, first in binds))
        for dtype, ndim, static, binds in fast.specs
    )
    outputs = []
    for t, (dtype, kind, data) in zip(unit.outputs, fast.outputs):
        outputs.append((dtype.num, t.ndim, kind, data))
    entry = address(ffi.cast("void *", program._entry))
    return module.Caller(
        entry,
        address(program._buf),
        address(program._sizes),
        address(program._failed),
        address(program._errbuf),
        ERRBUF_SIZE,
        address(program._state),
        inputs,
        tuple(outputs),
        trusted,
    )


_CALL_MODULE: list = []
_CALL_MODULE_BUILD: list = []


def start_call_module_build() -> None:
    """Build symgraph_call.c on a background thread (a no-op when built or started), so
    that a cold start compiles it while the first unit compiles."""
    if not _CALL_MODULE and not _CALL_MODULE_BUILD:
        thread = threading.Thread(target=_call_module, name="symgraph-call-module", daemon=True)
        _CALL_MODULE_BUILD.append(thread)
        thread.start()


def _call_module():
    """symgraph_call.c built once (per toolchain, through the cache); None if it cannot be."""
    if _CALL_MODULE_BUILD and _CALL_MODULE_BUILD[0] is not threading.current_thread():
        _CALL_MODULE_BUILD[0].join()
    if not _CALL_MODULE:
        try:
            module = build_extension(
                csrc_dir() / "symgraph_call.c", include_dirs=(np.get_include(),), name_hint="symgraph_call"
            )
        except Exception as exc:  # the Python call path still works: say why, once
            logging.getLogger("symgraph").warning("the C call path is unavailable (%s); calls go through Python", exc)
            module = None
        if not _CALL_MODULE:
            _CALL_MODULE.append(module)
    return _CALL_MODULE[0]
