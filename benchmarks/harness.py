"""How every benchmark process times a callable and reports what it measured.

Rules (BENCHMARKS.md): 2 threads, float32, one first call (compile or trace, reported
apart), a warm-up, then the median of ``reps`` timed repetitions, each repetition running
the callable ``inner`` times so that it lasts at least ``min_rep_s``; the per-call time of
each repetition gives median, min and max. While the repetitions run, the CPU used by the
other processes of the machine is read from /proc/stat, so that a noisy row shows it.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

THREADS = 2


def thread_env(threads: int = THREADS) -> dict[str, str]:
    """Environment variables that hold every library to ``threads`` threads.

    XLA has no thread-count flag for its CPU client (its pools size to the CPUs the
    process may use); the legacy ``intra_op_parallelism_threads`` spelling is accepted
    silently and kept for machines with more cores, as the peers' own scripts do."""
    t = str(threads)
    return {
        "OMP_NUM_THREADS": t,
        "MKL_NUM_THREADS": t,
        "OPENBLAS_NUM_THREADS": t,
        "NUMBA_NUM_THREADS": t,
        "TF_NUM_INTRAOP_THREADS": t,
        "TF_NUM_INTEROP_THREADS": t,
        "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={t}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


@dataclass(frozen=True)
class Settings:
    """How long to time: ``reps`` repetitions of at least ``min_rep_s`` seconds each,
    after a warm-up of at least ``warmup_s`` seconds and 3 calls."""

    reps: int = 7
    min_rep_s: float = 0.2
    warmup_s: float = 0.5


QUICK = Settings(reps=3, min_rep_s=0.05, warmup_s=0.05)


def _cpu_busy_seconds() -> float:
    """Seconds of CPU the whole machine has spent busy (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def time_callable(fn: Callable[[], Any], settings: Settings, sync: Callable[[], Any] | None = None) -> dict:
    """Time ``fn()``: seconds per call (median, min, max) and diagnostics.

    ``sync`` runs at the end of each repetition (wait on an asynchronously dispatched
    result); training steps chain, so waiting once per repetition is what a user sees."""
    sync = sync or (lambda: None)
    start = time.perf_counter()
    fn()
    sync()
    first_call_s = time.perf_counter() - start

    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < settings.warmup_s:
        fn()
        calls += 1
    sync()
    per_call = (time.perf_counter() - start) / calls
    inner = max(1, math.ceil(settings.min_rep_s / max(per_call, 1e-9)))
    # one calibration repetition: a late recompilation can make the warm-up look slow
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    sync()
    elapsed = time.perf_counter() - start
    if elapsed < settings.min_rep_s:
        inner = math.ceil(inner * settings.min_rep_s * 1.1 / max(elapsed, 1e-9))

    per_call_times = []
    busy0, own0, wall0 = _cpu_busy_seconds(), sum(os.times()[:2]), time.perf_counter()
    for _ in range(settings.reps):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        per_call_times.append((time.perf_counter() - start) / inner)
    wall = time.perf_counter() - wall0
    own = sum(os.times()[:2]) - own0
    others = max(0.0, _cpu_busy_seconds() - busy0 - own)
    return {
        "median": statistics.median(per_call_times),
        "min": min(per_call_times),
        "max": max(per_call_times),
        "reps": settings.reps,
        "inner": inner,
        "first_call_s": first_call_s,
        "own_cores": round(own / wall, 2),
        "others_cores": round(others / wall, 2),
        "rep_values": per_call_times,
    }


class Recorder:
    """Writes one JSON line per result to ``path`` (appending, so that the results of a
    process that crashes later are kept) and prints a line for the person watching."""

    def __init__(self, path: str, peer: str, version: str) -> None:
        self.path, self.peer, self.version = path, peer, version

    def _write(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def timing(self, workload: str, case: str, unit: str, scale: float, timing: dict, **extra: Any) -> None:
        """Record ``timing`` (seconds per call) in ``unit`` (``scale`` units per second)."""
        record = {
            "workload": workload,
            "case": case,
            "peer": self.peer,
            "version": self.version,
            "unit": unit,
            **{k: timing[k] * scale for k in ("median", "min", "max")},
            **{k: timing[k] for k in ("reps", "inner", "first_call_s", "own_cores", "others_cores")},
            "rep_values": [round(v * scale, 6) for v in timing["rep_values"]],
            **extra,
        }
        self._write(record)
        print(
            f"  [{workload} {case}] {self.peer:<16} {record['median']:.4g} {unit} "
            f"(min {record['min']:.4g}, max {record['max']:.4g}; inner {record['inner']}, "
            f"others {record['others_cores']} cores)",
            flush=True,
        )

    def value(self, workload: str, case: str, unit: str, value: float, **extra: Any) -> None:
        """Record a single measured value (W0's throughputs, W7's compile seconds)."""
        self._write(
            {
                "workload": workload,
                "case": case,
                "peer": self.peer,
                "version": self.version,
                "unit": unit,
                "value": value,
                **extra,
            }
        )
        print(f"  [{workload} {case}] {self.peer:<16} {value:.4g} {unit}", flush=True)

    def skip(self, workload: str, reason: str) -> None:
        """Record that ``workload`` was not measured for this peer, and why."""
        self._write({"workload": workload, "peer": self.peer, "skipped": reason})
        print(f"  [{workload}] {self.peer:<16} skipped: {reason}", flush=True)
