"""``fn.profile()``: where a compiled function's time goes.

A function built with ``sg.function(..., profile=True)`` runs a unit whose every kernel
call is timed in C (symgraph/codegen/instrument.py). The table has a row per kernel call
site: the kernel (its C function), the graph nodes it computes (for a fused kernel, the
ops it fuses, with the user's lines), calls, total and mean time, and the percentage of
the time measured around the whole calls (Python's side of a call included: what the
kernels do not cover is the call overhead, the output copies and the updates). Below it,
the compile time split into passes, code generation, the C compiler and loading.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from symgraph.errors import UnsupportedError
from symgraph.provenance import covered_nodes


@dataclass
class KernelRow:
    kernel: str
    nodes: str
    calls: int
    seconds: float

    @property
    def mean(self) -> float:
        return self.seconds / self.calls if self.calls else 0.0


@dataclass
class Profile:
    """The kernel rows (slowest first), the calls' total time, and the compile times."""

    rows: list[KernelRow]
    calls: int
    call_seconds: float
    compile_times: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def kernel_seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    def __str__(self) -> str:
        total = self.call_seconds or self.kernel_seconds
        lines = [
            f"{self.calls} calls, {total * 1e3:.3f} ms in all, {self.kernel_seconds * 1e3:.3f} ms in kernels",
            f"{'kernel':<28} {'calls':>6} {'total ms':>10} {'mean us':>10} {'%':>6}  nodes",
        ]
        for r in self.rows:
            share = 100.0 * r.seconds / total if total else 0.0
            lines.append(
                f"{r.kernel:<28} {r.calls:>6} {r.seconds * 1e3:>10.3f} {r.mean * 1e6:>10.2f} {share:>6.1f}  {r.nodes}"
            )
        if self.call_seconds:
            rest = max(0.0, self.call_seconds - self.kernel_seconds)
            lines.append(f"{'(outside kernels)':<28} {'':>6} {rest * 1e3:>10.3f} {'':>10} {100.0 * rest / total:>6.1f}")
        if self.note:
            lines.append(self.note)
        if self.compile_times:
            parts = [f"{k} {v * 1e3:.1f} ms" for k, v in self.compile_times.items()]
            from_cache = "codegen" in self.compile_times and "compiler" not in self.compile_times
            cached = " (the C unit came from the cache: no compiler ran)" if from_cache else ""
            lines.append(f"compile: {sum(self.compile_times.values()) * 1e3:.1f} ms = " + " + ".join(parts) + cached)
        return "\n".join(lines)

    __repr__ = __str__


def profile_of(fn: Any, file: Any = None, reset: bool = False) -> Profile:
    """The profile of ``fn`` (built with profile=True), printed unless ``file=False``;
    ``reset`` zeroes the counters after reading them."""

    if not getattr(fn, "profiling", False):
        raise UnsupportedError("profile(): build the function with sg.function(..., profile=True)")
    rows: list[KernelRow] = []
    program = getattr(fn, "_compiled", None)
    if program is not None:
        instrument = program.unit.instrument
        counts = program.read_profile(reset)
        base = getattr(fn, "_profile_base", None)
        if base is not None and len(base) == len(counts):  # another function shares the unit
            counts = [(ns - b_ns, n - b_n) for (ns, n), (b_ns, b_n) in zip(counts, base)]
        for site, function, (ns, calls) in zip(instrument.sites, instrument.site_kernels, counts):
            node = program.unit.nodes[site]
            nodes = ", ".join(
                f"{m.op.name}" + (f" {m.location.short}" if m.location is not None else "") for m in covered_nodes(node)
            )
            rows.append(KernelRow(function, nodes, calls, ns * 1e-9))
        if reset:
            fn._profile_base = None
    rows.sort(key=lambda r: -r.seconds)
    note = "" if program is not None else f"mode {fn.mode!r} runs no C kernels: only whole calls are timed"
    result = Profile(rows, getattr(fn, "call_count", 0), getattr(fn, "call_seconds", 0.0), dict(fn.compile_times), note)
    if reset and hasattr(fn, "call_count"):
        fn.call_count, fn.call_seconds = 0, 0.0
    if file is not False:
        (file or sys.stdout).write(str(result) + "\n")
    return result
