"""Run random graphs (tests/fuzz_graphs.py) in every mode and at every level, and compare.

The reference is mode "py" at O0 (numpy, no rewrites). Every target (mode "c" at O0, O1
and O2, mode "py" at O1 and O2; ``targets_for`` picks a cheaper round) must agree:

- outcomes: where the reference raises a symgraph error (building or calling), the
  target raises the same class; where it returns, the target returns too. A graph's bad
  feeds (a size that disagrees, an index out of range) are called the same way.
- values: the same shapes and dtypes; integers and bools exactly; floats with NaN, +inf
  and -inf at the same positions, and finite elements within the bound the generator
  tracked for the node (exact nodes: equal); gradients within GRAD_RTOL (for the
  narrowest float their graph computes in) of max(1, their largest reference magnitude).

Several graphs share one ``sg.function`` per mode and level (their inputs and outputs
side by side), so a batch costs one C build per level; where a batch fails to build or
to run, each of its graphs is run alone to name the culprit. A failure message carries
the seed, what differed, the command that reruns it and ``sg.dump`` of the graph.

Rerun graphs from the command line (exit status 1 on a mismatch):

    python -m tests.fuzz_compare 20245 20301          # these seeds, one at a time
    python -m tests.fuzz_compare --first 20240 --count 500 --batch 12 [--cheap]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

import symgraph as sg
from symgraph.errors import SymgraphError
from tests.fuzz_graphs import BadFeed, Output, RandomGraph

REFERENCE = ("py", "O0")
TARGETS = (("c", "O0"), ("c", "O1"), ("c", "O2"), ("py", "O1"), ("py", "O2"))


def targets_for(batch: int) -> tuple[tuple[str, str], ...]:
    """A cheaper round for batch number ``batch``: mode "c" at O2 (the default level) and at
    O0 or O1 in turn (a C build is most of a batch's time), mode "py" at O1 and O2."""
    return (("c", "O2"), ("c", "O0") if batch % 2 == 0 else ("c", "O1"), ("py", "O1"), ("py", "O2"))


# gradients: relative to max(1, the largest |reference|), since a gradient that cancels to
# rounding noise (a softmax's, of a constant) has no scale of its own
GRAD_RTOL = {"float32": 5e-4, "float64": 1e-11}
VALUE_SLACK = 4.0  # times the tracked bound: the bound is an estimate, not a proof


@dataclass
class Outcome:
    """What a build and a call gave: outputs, or the exception."""

    outputs: list[np.ndarray] | None = None
    error: BaseException | None = None

    def describe(self) -> str:
        if self.error is None:
            return "returned"
        first = str(self.error).strip().splitlines()[0] if str(self.error).strip() else ""
        return f"raised {type(self.error).__name__}: {first[:300]}"


class _Batch:
    """Graphs compiled together: one function per mode and level."""

    def __init__(self, graphs: Sequence[RandomGraph]):
        self.graphs = list(graphs)
        self.inputs = [p for g in self.graphs for p in g.placeholders]
        self.outputs = [o.t for g in self.graphs for o in g.outputs]

    def build(self, mode: str, level: str):
        try:
            return sg.function(self.inputs, self.outputs, mode=mode, passes=level)
        except Exception as e:  # noqa: BLE001 - any exception is an outcome to compare
            return e

    def feed(self, bad_for: RandomGraph | None = None, bad: BadFeed | None = None) -> list[np.ndarray]:
        return [v for g in self.graphs for v in g.feed(bad if g is bad_for else None)]

    def split(self, outputs: list[np.ndarray]) -> list[list[np.ndarray]]:
        per_graph, i = [], 0
        for g in self.graphs:
            per_graph.append(outputs[i : i + len(g.outputs)])
            i += len(g.outputs)
        return per_graph


def _call(fn, feed: list[np.ndarray]) -> Outcome:
    if isinstance(fn, BaseException):
        return Outcome(error=fn)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy on NaN and inf: expected here
            result = fn(*feed)
    except Exception as e:  # noqa: BLE001
        return Outcome(error=e)
    result = result if isinstance(result, list) else [result]
    return Outcome(outputs=[np.asarray(r) for r in result])


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def compare_output(out: Output, ref: np.ndarray, got: np.ndarray) -> str | None:
    """Why ``got`` does not match the reference ``ref`` for this output, or None."""
    if ref.shape != got.shape:
        return f"shape {got.shape}, reference {ref.shape}"
    if ref.dtype != got.dtype:
        return f"dtype {got.dtype}, reference {ref.dtype}"
    if ref.dtype.kind not in "fc":
        if not np.array_equal(ref, got):
            at = _first(ref != got)
            return f"{int((ref != got).sum())} elements differ, first at {at}: {got[at]!r}, reference {ref[at]!r}"
        return None
    for name, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        differ = test(ref) != test(got)
        if differ.any():
            at = _first(differ)
            n = int(differ.sum())
            return f"{name} positions differ ({n} elements), first at {at}: {got[at]!r}, reference {ref[at]!r}"
    finite = np.isfinite(ref)
    r = ref.astype(np.float64)
    o = got.astype(np.float64)
    magnitude = np.where(finite, np.abs(r), 0.0)
    info = np.finfo(ref.dtype)
    if out.check == "grad":
        scale = max(1.0, float(magnitude.max(initial=0.0)))
        rtol = GRAD_RTOL[out.precision]
        tol = rtol * (scale + magnitude)
        rule = (
            f"gradient computed in {out.precision}: {rtol:g} x (max(1, largest |reference|) {scale:.3g} + |reference|)"
        )
    elif out.value.exact:
        tol = np.zeros_like(r)
        rule = "an exact node: bit-identical (either zero sign)"
    else:
        v = out.value
        tol = VALUE_SLACK * (v.abs_err + v.rel_err * magnitude) + 4 * float(info.eps) * magnitude
        tol += 16 * float(info.tiny)
        rule = f"tracked bound {VALUE_SLACK:g} x ({v.abs_err:.3g} + {v.rel_err:.3g} x |reference|)"
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(finite, np.abs(o - r), 0.0)
    bad = err > tol
    if bad.any():
        at = _first(bad)
        return (
            f"{int(bad.sum())} of {ref.size} elements differ by more than the tolerance ({rule}); "
            f"the largest difference is {float(err.max()):.4g}; first at {at}: {got[at]!r}, reference {ref[at]!r}"
        )
    return None


def _describe_graph(g: RandomGraph) -> str:
    flags = [g.size_class, f"sizes {g.sizes}", g.float_dtype]
    flags += ["NaN/inf in the inputs"] * g.specials + ["inputs on a grid of halves"] * g.grid
    return f"graph seed={g.seed} ({', '.join(flags)})"


class _Findings:
    """What differed, per graph: one line per target and output (the first feed that
    showed it), and one message per graph with its dump."""

    def __init__(self) -> None:
        self.lines: dict[int, tuple[RandomGraph, dict[tuple, str]]] = {}

    def add(self, g: RandomGraph, key: tuple, line: str) -> None:
        self.lines.setdefault(id(g), (g, {}))[1].setdefault(key, line)

    def messages(self) -> list[str]:
        return [
            f"{_describe_graph(g)}:\n"
            + "".join(f"  - {line}\n" for line in lines.values())
            + f"  rerun: python -m tests.fuzz_compare {g.seed}\n{g.dump()}"
            for g, lines in self.lines.values()
        ]


def _outcomes_agree(ref: Outcome, got: Outcome) -> str | None:
    """Why these outcomes disagree (ignoring values), or None."""
    if ref.error is not None and not isinstance(ref.error, SymgraphError):
        return f"the reference {ref.describe()} (not a symgraph error)"
    if got.error is not None and not isinstance(got.error, SymgraphError):
        return f"{got.describe()} (not a symgraph error); the reference {ref.describe()}"
    if (ref.error is None) != (got.error is None) or (ref.error is not None and type(ref.error) is not type(got.error)):
        return f"{got.describe()}; the reference {ref.describe()}"
    return None


def _compare_values(findings: _Findings, batch: _Batch, target: str, ref: Outcome, got: Outcome, feed: str) -> None:
    for g, r_outs, g_outs in zip(batch.graphs, batch.split(ref.outputs), batch.split(got.outputs)):
        for i, (out, r, o) in enumerate(zip(g.outputs, r_outs, g_outs)):
            why = compare_output(out, r, o)
            if why:
                kind = "gradient" if out.check == "grad" else f"value, {out.t.dtype}{list(r.shape)}"
                findings.add(g, (target, i), f"{target} vs py/O0{feed}: output {i} ({kind}): {why}")


def _build_all(batch: _Batch, targets, executor: Executor | None) -> dict:
    own = executor is None
    pool = ThreadPoolExecutor(max_workers=2) if own else executor
    try:
        futures = {t: pool.submit(batch.build, *t) for t in targets}
        fns = {REFERENCE: batch.build(*REFERENCE)}
        fns.update({t: f.result() for t, f in futures.items()})
    finally:
        if own:
            pool.shutdown()
    return fns


def check(graphs: Sequence[RandomGraph], targets=TARGETS, executor: Executor | None = None) -> list[str]:
    """One message per graph of ``graphs`` that a target disagrees on, run as one batch
    (one graph at a time where the batch does not build or run everywhere)."""
    batch = _Batch(graphs)
    fns = _build_all(batch, targets, executor)
    good = batch.feed()
    outcomes = {t: _call(fn, good) for t, fn in fns.items()}
    if len(graphs) > 1 and any(o.error is not None for o in outcomes.values()):
        return [m for g in graphs for m in check([g], targets, executor)]
    findings = _Findings()
    ref = outcomes[REFERENCE]
    if ref.error is None:
        for g, r_outs in zip(batch.graphs, batch.split(ref.outputs)):
            for i, (out, r) in enumerate(zip(g.outputs, r_outs)):
                if r.shape != g.concrete(out.t):
                    findings.add(
                        g, ("shape", i), f"py/O0's output {i} has shape {r.shape}, its graph says {g.concrete(out.t)}"
                    )
    for t in targets:
        name = "/".join(t)
        why = _outcomes_agree(ref, outcomes[t])
        if why:
            findings.add(graphs[0], (name, "outcome"), f"{name} vs py/O0: {why}")
        elif ref.error is None:
            _compare_values(findings, batch, name, ref, outcomes[t], "")
    if ref.error is None:
        for g in graphs:
            for bad in g.bad_feeds:
                feed = batch.feed(g, bad)
                ref_bad = _call(fns[REFERENCE], feed)
                for t in targets:
                    got = _call(fns[t], feed)
                    name = "/".join(t)
                    why = _outcomes_agree(ref_bad, got)
                    if why:
                        findings.add(g, (name, bad.why), f"{name} vs py/O0 on a feed with {bad.why}: {why}")
                    elif ref_bad.error is None:
                        _compare_values(findings, batch, name, ref_bad, got, f" on a feed with {bad.why}")
    return findings.messages()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", nargs="*", type=int, help="seeds to rerun, one graph at a time")
    parser.add_argument("--first", type=int, help="the first seed of a range")
    parser.add_argument("--count", type=int, default=100, help="how many seeds from --first")
    parser.add_argument("--batch", type=int, default=12, help="graphs per compiled function for a range")
    parser.add_argument("--cheap", action="store_true", help="per batch, mode c at O2 and at O0 or O1 in turn")
    args = parser.parse_args(argv)
    if args.seeds:
        groups = [[s] for s in args.seeds]
    elif args.first is not None:
        seeds = list(range(args.first, args.first + args.count))
        groups = [seeds[i : i + args.batch] for i in range(0, len(seeds), args.batch)]
    else:
        parser.error("give seeds, or --first and --count")
    start = time.perf_counter()
    n_failures = 0
    done = 0
    with ThreadPoolExecutor(max_workers=3) as pool:
        for i, group in enumerate(groups):
            targets = targets_for(i) if args.cheap else TARGETS
            for failure in check([RandomGraph(s) for s in group], targets, executor=pool):
                n_failures += 1  # a graph that some target disagrees on
                print(failure, end="\n\n", flush=True)
            done += len(group)
            if len(groups) > 1 and (i % 10 == 9 or i == len(groups) - 1):  # a long run that dies still says how far
                seconds = time.perf_counter() - start
                print(f"[{done} graphs to seed {group[-1]}, {n_failures} with mismatches, {seconds:.0f} s]", flush=True)
    print(f"{done} graphs, {n_failures} with mismatches, {time.perf_counter() - start:.1f} s", flush=True)
    return 1 if n_failures else 0


if __name__ == "__main__":
    sys.exit(main())
