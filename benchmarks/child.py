"""One benchmark process: one peer, the workloads asked for, results as JSON lines.

    python -m benchmarks.child --peer torch-compile --workloads W1,W3 --out results.jsonl

The runner (benchmarks/run.py) starts one of these per peer (and two per W7 pair); a
failing workload is recorded as skipped with its error and the next one runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
import traceback
from dataclasses import dataclass

from benchmarks.harness import Recorder, Settings, time_callable
from benchmarks.peers import PEERS_BY_KEY
from benchmarks.spec import PROFILES, Sizes

IMPORT_STARTED = time.perf_counter()


@dataclass
class Context:
    """What a workload function gets: sizes, timing settings and where to record."""

    sizes: Sizes
    settings: Settings
    record: Recorder
    variant: str
    phase: str = ""

    def time(self, fn, sync=None) -> dict:
        return time_callable(fn, self.settings, sync)

    def compile_time(self, build, sync=None) -> None:
        """W7: ``build()`` returns a one-step callable; compile seconds = building it + its
        first call - one steady step (the first call of jit-style peers compiles)."""
        import statistics

        start = time.perf_counter()
        step = build()
        built = time.perf_counter()
        step()
        if sync:
            sync()
        first = time.perf_counter() - built
        steady = []
        for _ in range(5):
            t = time.perf_counter()
            step()
            if sync:
                sync()
            steady.append(time.perf_counter() - t)
        step_s = statistics.median(steady)
        self.record.value(
            "W7",
            self.phase,
            "s",
            (built - start) + first - step_s,
            build_s=built - start,
            first_call_s=first,
            step_s=step_s,
            import_s=time.perf_counter() - IMPORT_STARTED - (built - start) - first - sum(steady),
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--peer", required=True, choices=sorted(PEERS_BY_KEY))
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", default="full", choices=sorted(PROFILES))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--warmup-s", type=float, default=0.5)
    ap.add_argument("--phase", default="", help="W7: cold or warm")
    args = ap.parse_args(argv)

    peer = PEERS_BY_KEY[args.peer]
    module = importlib.import_module(f"benchmarks.peers.{peer.module}")
    version = module.setup(peer.variant)
    recorder = Recorder(args.out, peer.label, version)
    settings = Settings(reps=args.reps, min_rep_s=args.min_rep_s, warmup_s=args.warmup_s)
    ctx = Context(PROFILES[args.size], settings, recorder, peer.variant, args.phase)
    print(f"{peer.label}: {version} (pid {os.getpid()})", flush=True)
    for workload in args.workloads.split(","):
        run = module.WORKLOADS.get(workload)
        if run is None:
            recorder.skip(workload, "not written for this peer")
            continue
        try:
            run(ctx)
        except Exception as err:  # one broken workload must not hide the others
            traceback.print_exc()
            recorder.skip(workload, f"failed: {type(err).__name__}: {str(err).splitlines()[0][:200]}")


if __name__ == "__main__":
    main()
