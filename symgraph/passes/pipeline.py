"""The one ordered list of passes. Nothing else decides the order.

Read it top to bottom: simplify and fold what the user (and autodiff) wrote, make it
numerically stable, simplify again what stabilisation exposed, then fuse elementwise
chains into single loops for the C backend, and last give every scan's step graph the
same treatment. Levels: O0 runs nothing, O1 the rewrites that only simplify, O2 (the
default, and everything there is) adds fusion. There is no O3: no pass is costly
enough to be worth a level of its own.

``sg.function(..., passes=...)`` and the SYMGRAPH_PASSES variable take a spec: a level
and names to add or remove, e.g. ``"O2"``, ``"O1,+fuse_elementwise"``,
``"O2,-stabilize"`` (SYMGRAPH_PASSES applies after the argument).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from symgraph.debug import debug_level
from symgraph.errors import InputError
from symgraph.graph.core import Tensor
from symgraph.graph.traversal import toposort
from symgraph.passes import fusion, simplify, stabilize
from symgraph.passes.rewrite import Pass
from symgraph.passes.verify import verify
from symgraph.scan import rewrites as scan_rewrites


def _optimize_scan_steps(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """A step graph goes through the default selection of this same list (its own
    scans included), whatever the enclosing function chose: the step runs every step."""
    return scan_rewrites.optimize_scan_steps(outputs, lambda step: optimize(step)[0])


PIPELINE: list[Pass] = [
    Pass("prune_scan_outputs", scan_rewrites.prune_scan_outputs, 1, "scan outputs nothing reads are not computed"),
    Pass("canonicalize", simplify.canonicalize, 1, "one form for equivalent expressions"),
    Pass("fold_constants", simplify.fold_constants, 1, "compute constant subgraphs now"),
    Pass("simplify_algebra", simplify.simplify_algebra, 1, "x*1, x+0, x-x, double transpose, ..."),
    Pass("stabilize", stabilize.stabilize, 1, "log(softmax) -> log_softmax, log(1+x) -> log1p, ..."),
    Pass("simplify_again", simplify.simplify_algebra, 1, "what stabilisation exposed"),
    Pass("fuse_elementwise", fusion.fuse_elementwise, 2, "elementwise chains into one loop"),
    Pass("fuse_reductions", fusion.fuse_reductions, 2, "an elementwise loop into the reduction reading it"),
    Pass("fuse_matmul_epilogue", fusion.fuse_matmul_epilogue, 2, "bias and activation run on each block of a product"),
    Pass("fuse_conv_epilogue", fusion.fuse_conv_epilogue, 2, "bias and activation run on each block of a convolution"),
    Pass("optimize_scan_steps", _optimize_scan_steps, 1, "each scan's step through this list"),
]
MAX_LEVEL = 2
DEFAULT_LEVEL = 2


@dataclass
class PassRecord:
    name: str
    fired: int
    nodes_before: int
    nodes_after: int
    seconds: float


@dataclass
class Report:
    """What the pipeline did to one function: a row per pass that ran."""

    level: int
    passes: list[PassRecord] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"pass pipeline at O{self.level}:", f"  {'pass':<20} {'fired':>6} {'nodes':>13} {'ms':>8}"]
        for r in self.passes:
            nodes = f"{r.nodes_before} -> {r.nodes_after}"
            lines.append(f"  {r.name:<20} {r.fired:>6} {nodes:>13} {r.seconds * 1e3:>8.2f}")
        return "\n".join(lines)

    __repr__ = __str__


def select(spec: str | list[str] | None) -> tuple[int, list[Pass]]:
    """The level and the passes a spec (argument, then SYMGRAPH_PASSES) selects."""
    tokens: list[str] = []
    for part in (spec, os.environ.get("SYMGRAPH_PASSES")):
        if part:
            tokens += [t.strip() for t in (part.split(",") if isinstance(part, str) else part) if t.strip()]
    level = DEFAULT_LEVEL
    added: set[str] = set()
    removed: set[str] = set()
    names = {p.name for p in PIPELINE}
    for token in tokens:
        if token[:1] in "Oo" and token[1:].isdigit():
            level = int(token[1:])
            if not 0 <= level <= MAX_LEVEL:
                raise InputError(f"passes: level {token!r} is not O0..O{MAX_LEVEL}")
            continue
        sign, name = (token[0], token[1:]) if token[0] in "+-" else ("+", token)
        if name not in names:
            raise InputError(f"passes: no pass named {name!r} (passes: {', '.join(p.name for p in PIPELINE)})")
        (added if sign == "+" else removed).add(name)
        (removed if sign == "+" else added).discard(name)
    chosen = [p for p in PIPELINE if (p.level <= level and level > 0 or p.name in added) and p.name not in removed]
    return level, chosen


def optimize(outputs: list[Tensor], spec: str | list[str] | None = None) -> tuple[list[Tensor], Report]:
    """``outputs`` rewritten by the selected passes, and the report of what each did.
    With SYMGRAPH_DEBUG set, the graph is verified after every pass."""
    level, chosen = select(spec)
    report = Report(level)
    debugging = debug_level() >= 1
    for p in chosen:
        before = len(toposort(outputs))
        start = time.perf_counter()
        outputs, fired = p.run(outputs)
        seconds = time.perf_counter() - start
        report.passes.append(PassRecord(p.name, fired, before, len(toposort(outputs)), seconds))
        if debugging:
            verify(outputs, after=p.name)
    return outputs, report
