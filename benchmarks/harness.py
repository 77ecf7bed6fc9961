"""How every benchmark process times a callable and reports what it measured.

Rules (BENCHMARKS.md): 2 threads, float32, one first call (compile or trace, reported
apart), a warm-up, then the median of ``reps`` timed repetitions, each repetition running
the callable ``inner`` times so that it lasts at least ``min_rep_s``; the per-call time of
each repetition gives median, min and max. While the repetitions run, the CPU used by the
other processes of the machine is read from /proc/stat, so that a noisy row shows it.

Every run also records the CPU it ran on (``cpu_record``): a ratio measured on an AVX-512
Xeon says little about an AVX2 laptop or a Graviton, and symgraph's kernels are compiled
for the machine (``-march=native``), so the record says what the compiler made of it too.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

THREADS = 2

# The ISA extensions that decide which kernels a unit gets: /proc/cpuinfo's flag (x86
# "flags", ARM "Features") -> the name the record uses. ARM's 32-bit kernels say "neon",
# aarch64's "asimd" (the same unit).
ISA_FLAGS = {
    "sse4_2": "sse4.2",
    "avx": "avx",
    "avx2": "avx2",
    "fma": "fma",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512vl": "avx512vl",
    "avx512_vnni": "avx512vnni",
    "neon": "neon",
    "asimd": "asimd",
    "sve": "sve",
    "sve2": "sve2",
}
# The same extensions as the compiler's predefined macros: what -march=native turned on.
ISA_MACROS = {
    "__SSE4_2__": "sse4.2",
    "__AVX__": "avx",
    "__AVX2__": "avx2",
    "__FMA__": "fma",
    "__AVX512F__": "avx512f",
    "__AVX512BW__": "avx512bw",
    "__AVX512VL__": "avx512vl",
    "__AVX512VNNI__": "avx512vnni",
    "__ARM_NEON": "asimd" if platform.machine().lower() in ("aarch64", "arm64") else "neon",
    "__ARM_FEATURE_SVE": "sve",
    "__ARM_FEATURE_SVE2": "sve2",
}
# The x86-64 micro-architecture levels of the psABI, each with the flags it adds to the
# level below (cpuinfo's names; "abm" is LZCNT).
X86_LEVELS = (
    ("x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
    ("x86-64-v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    ("x86-64-v2", {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}),
)


def parse_cpuinfo(text: str) -> dict:
    """Model, vendor, family/model/stepping and ISA extensions from /proc/cpuinfo's text.

    The first processor's block is enough (the machines measured are not heterogeneous
    in ISA). x86 names its fields "model name", "cpu family", "flags"; ARM "CPU
    implementer", "CPU part", "Features" and often no model name at all."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    record = {
        "model": fields.get("model name") or fields.get("Model name") or fields.get("Hardware") or "",
        "vendor": fields.get("vendor_id") or fields.get("CPU implementer") or "",
        "family": fields.get("cpu family") or fields.get("CPU architecture") or "",
        "model_id": fields.get("model") or fields.get("CPU part") or "",
        "stepping": fields.get("stepping") or fields.get("CPU revision") or "",
        "isa": [name for flag, name in ISA_FLAGS.items() if flag in flags],
    }
    # x86: the highest psABI level whose flags, and every lower level's, are all there
    if "sse2" in flags or "lm" in flags:
        record["isa_level"] = "x86-64"
        for level, need in reversed(X86_LEVELS):
            if not need <= flags:
                break
            record["isa_level"] = level
    return record


def _run_text(command: list[str]) -> str | None:
    """stdout of ``command``, or None when it cannot run or fails (a record is best effort)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def native_target(compiler: list[str]) -> dict:
    """What ``compiler`` makes of ``-march=native`` here: the CPU it names and the ISA
    extensions it turns on (its predefined macros). GCC says the CPU with ``-Q
    --help=target``, clang with ``-###`` (its ``-target-cpu``); a compiler that does not
    know the CPU names a generic one, and then the macros are what counts. Where
    ``-march=native`` is refused (GCC on some ARM), ``-mcpu=native`` is asked."""
    record: dict = {"compiler": None, "march_native": None, "native_isa": None}
    version = _run_text([*compiler, "--version"])
    if version is None:
        return record
    record["compiler"] = (version.strip().splitlines() or [""])[0]
    for flag in ("-march=native", "-mcpu=native"):
        macros = _run_text([*compiler, flag, "-dM", "-E", "-x", "c", os.devnull])
        if macros is None:
            continue
        defined = {line.split()[1] for line in macros.splitlines() if line.startswith("#define ")}
        record["native_isa"] = [name for macro, name in ISA_MACROS.items() if macro in defined]
        target = _run_text([*compiler, flag, "-Q", "--help=target"])
        found = re.search(r"^\s*-m(?:arch|cpu)=\s+(\S+)", target or "", re.M)
        if found is None:  # clang: the driver's job line names the CPU
            try:
                job = subprocess.run(
                    [*compiler, flag, "-###", "-c", "-x", "c", os.devnull], capture_output=True, text=True, timeout=60
                ).stderr
            except (OSError, subprocess.SubprocessError):
                job = ""
            found = re.search(r'"-target-cpu" "([^"]+)"', job)
        record["march_native"] = found.group(1) if found else None
        break
    return record


def cpu_record(cpuinfo: str | None = None, compiler: list[str] | None = None) -> dict:
    """The CPU of this run and what symgraph's compiler targets on it (for the JSON and
    the table header). ``cpuinfo`` and ``compiler`` default to /proc/cpuinfo and to the
    compiler symgraph builds with ($CC, else cc)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:  # not Linux: what the platform says
            cpuinfo = ""
    record = {"arch": platform.machine(), "cpus": os.cpu_count(), **parse_cpuinfo(cpuinfo)}
    if not record["model"]:  # ARM's cpuinfo has no model name; lscpu knows the core's
        lscpu = _run_text(["lscpu"]) or ""
        found = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
        record["model"] = found.group(1).strip() if found else platform.processor()
    if compiler is None:
        compiler = shlex.split(os.environ.get("CC") or "cc")
    record.update(native_target(compiler))
    record["symgraph_cflags"] = os.environ.get("SYMGRAPH_CFLAGS") or "-O3 -march=native"
    return record


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
