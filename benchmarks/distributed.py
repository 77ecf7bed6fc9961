"""W9: data parallelism on one machine: the W3 (MLP, Adam, batch 128) and W5 (CNN,
batch 64) training steps on 1 process x 2 threads against 2 processes x 1 thread
(each process takes half of every global batch and the gradients are averaged).

    python -m benchmarks.distributed                # full sizes; --size quick|tiny
    python -m benchmarks.distributed --out w9.jsonl # the suite's JSON lines as well

Cases, per workload (milliseconds per GLOBAL batch, so the rows compare directly):

- ``1x2``: one process, OMP_NUM_THREADS=2, the whole batch: the step as W3/W5 time it;
- ``2x1``: ``mpiexec -n 2``, OMP_NUM_THREADS=1, half the batch each, the gradients
  averaged by an allreduce node inside the compiled step (what sg.distributed builds);
- ``2x1 split``: the same, but the step split in two compiled calls around mpi4py's
  ``Allreduce`` of one contiguous buffer (the design not taken; the comparison). It runs
  in the same job as ``2x1``, their repetitions alternated, so that the machine's load
  changes meet both alike.

Beside the time per batch each 2x1 row records ``reduce_ms``: the time spent in the
reduction per step (the allreduce kernel's share of a profiled run of the same step for
``2x1``, the timed ``Allreduce`` call for ``2x1 split``; both include waiting for the
slower process), ``bare_reduce_ms``: one allreduce of the same gradient bytes in a loop
where the processes are in step (the transfer alone), and ``grad_mb``.

The processes time in lockstep: rank 0 picks the number of calls per repetition and
broadcasts it, so both processes make the same calls (a collective in each).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: python benchmarks/distributed.py
    sys.path.insert(0, str(ROOT))

from benchmarks import spec  # noqa: E402
from benchmarks.harness import Recorder, Settings, thread_env  # noqa: E402

WORKLOADS = ("W3", "W5")
CASES = ("1x2", "2x1", "2x1 split")  # the records; "2x1" and "2x1 split" come from one launch
LAUNCHES = ("1x2", "2x1")


# ---------------------------------------------------------------- the steps (graph API)


def _adam(params: list, grads: list, lr: float = 1e-3) -> list:
    """Keras' Adam as updates, from given gradients (benchmarks/peers/symgraph_peer.py's rule)."""
    from benchmarks.peers import symgraph_peer  # noqa: PLC0415 - imports symgraph: after the thread settings

    symgraph_peer.setup("graph")
    return symgraph_peer.adam_updates(params, grads, lr)


def _graph(workload: str, sizes: spec.Sizes) -> tuple[list, object, list, tuple[np.ndarray, np.ndarray]]:
    """(inputs, loss, params, global batch) of W3 or W5, as their symgraph rows build them."""
    import symgraph as sg  # noqa: PLC0415 - after the thread settings

    if workload == "W3":
        params = [sg.Variable(p, name=f"p{k}") for k, p in enumerate(spec.mlp_params(sizes))]
        x = sg.placeholder((None, sizes.mlp[0]), "float32", name="x")
        y = sg.placeholder((None,), "int32", name="y")
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = sg.nn.relu(h)
        loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(h, y))
        return [x, y], loss, params, spec.mlp_data(sizes)
    p = {k: sg.Variable(v, name=k) for k, v in spec.cnn_params(sizes).items()}
    x = sg.placeholder((None, 28, 28, 1), "float32", name="x")
    y = sg.placeholder((None,), "int32", name="y")
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, p["c1w"]) + p["c1b"]), 2)
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(h, p["c2w"]) + p["c2b"]), 2)
    h = sg.reshape(h, (-1, 1024))
    h = sg.nn.dropout(sg.nn.relu(h @ p["d1w"] + p["d1b"]), 0.2)
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(h @ p["d2w"] + p["d2b"], y))
    return [x, y], loss, list(p.values()), spec.cnn_data(sizes)


def _steps(workload: str, case: str, sizes: spec.Sizes, rank: int, processes: int):
    """(one step as a callable, a profiled twin or None, the split step's reduce timer, grad bytes)."""
    import symgraph as sg  # noqa: PLC0415 - after the thread settings
    import symgraph.distributed as dist  # noqa: PLC0415

    inputs, loss, params, (xv, yv) = _graph(workload, sizes)
    lo, hi = rank * len(xv) // processes, (rank + 1) * len(xv) // processes
    xv, yv = xv[lo:hi], yv[lo:hi]
    grads = sg.grad(loss, params)
    grad_bytes = sum(int(np.prod(p.shape)) * 4 for p in params)
    if case == "1x2":
        f = sg.function(inputs, loss, updates=_adam(params, grads))
        return (lambda: f(xv, yv)), None, None, grad_bytes
    if case == "2x1":
        reduced = dist.allreduce(grads, op="mean")
        f = sg.function(inputs, loss, updates=_adam(params, reduced))
        profiled = sg.function(inputs, loss, updates=_adam(params, reduced), profile=True)
        return (lambda: f(xv, yv)), (lambda: profiled(xv, yv), profiled), None, grad_bytes
    # the split: forward + backward giving one packed buffer, mpi4py's Allreduce, the updates
    from mpi4py import MPI  # noqa: PLC0415 - the distributed extra: only this case needs it

    packed = sg.concatenate([sg.reshape(g, (-1,)) for g in grads])
    backward = sg.function(inputs, [loss, packed])
    flat = sg.placeholder((packed.shape[0],), "float32", name="flat")
    pieces, offset = [], 0
    for p in params:
        n = int(np.prod(p.shape))
        pieces.append(sg.reshape(flat[offset : offset + n], p.shape) * (1.0 / processes))
        offset += n
    update = sg.function([flat], [], updates=_adam(params, pieces))
    comm = MPI.COMM_WORLD
    spent = [0.0]

    def step() -> None:
        _, g = backward(xv, yv)
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, g, op=MPI.SUM)
        spent[0] += time.perf_counter() - start
        update(g)

    return step, None, spent, grad_bytes


def _lockstep_times(fns: dict, settings: Settings, comm) -> dict[str, list[float]]:
    """Seconds per call of ``reps`` repetitions of each callable, the callables' repetitions
    alternated (so that a change in the machine's load meets all of them alike), and every
    process making the same calls."""
    inner, warmup = {}, {}
    for name, fn in fns.items():
        for _ in range(3):
            fn()
        start = time.perf_counter()
        for _ in range(3):
            fn()
        per_call = (time.perf_counter() - start) / 3
        # the counts come from rank 0's clock alone: every process must make the same calls
        warmup[name] = max(0, math.ceil(settings.warmup_s / max(per_call, 1e-9)))
        inner[name] = max(1, math.ceil(settings.min_rep_s / max(per_call, 1e-9)))
    if comm is not None:
        warmup, inner = comm.bcast((warmup, inner), root=0)
    for name, fn in fns.items():
        for _ in range(warmup[name]):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(settings.reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(inner[name]):
                fn()
            times[name].append((time.perf_counter() - start) / inner[name])
    return times


def _bare_reduce_ms(grad_bytes: int, settings: Settings, comm) -> float:
    """One allreduce of ``grad_bytes`` (float32) in a loop: the transfer alone."""
    from mpi4py import MPI  # noqa: PLC0415 - the distributed extra

    buffer = np.ones(grad_bytes // 4, np.float32)
    times = _lockstep_times({"bare": lambda: comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)}, settings, comm)
    return statistics.median(times["bare"]) * 1e3


def worker(args: argparse.Namespace) -> None:
    """The processes of one launch: ``1x2`` alone, or ``2x1`` under mpiexec, which times
    the in-step allreduce and the split step alternately in the same job; rank 0 appends
    the records to ``args.out``."""
    comm, rank, processes = None, 0, 1
    if args.case != "1x2":
        import symgraph.distributed as dist  # noqa: PLC0415 - joins the MPI job

        dist.init()
        from mpi4py import MPI  # noqa: PLC0415

        comm, rank, processes = MPI.COMM_WORLD, dist.rank(), dist.size()
    import symgraph as sg  # noqa: PLC0415 - after the thread settings

    sizes = spec.PROFILES[args.size]
    settings = Settings(reps=args.reps, min_rep_s=args.min_rep_s, warmup_s=args.warmup_s)
    cases = ("1x2",) if args.case == "1x2" else ("2x1", "2x1 split")
    built = {case: _steps(args.workload, case, sizes, rank, processes) for case in cases}
    first_call_s = {}
    for case, (fn, _, _, _) in built.items():
        first = time.perf_counter()
        fn()
        first_call_s[case] = time.perf_counter() - first
    times = _lockstep_times({case: b[0] for case, b in built.items()}, settings, comm)
    extras: dict[str, dict] = {}
    for case, (fn, profiled, spent, grad_bytes) in built.items():
        extra: dict = {"grad_mb": round(grad_bytes / 2**20, 3), "processes": processes}
        if profiled is not None:  # the allreduce kernel's share of the same step, profiled
            call, function = profiled
            _lockstep_times({case: call}, Settings(reps=1, min_rep_s=settings.min_rep_s, warmup_s=0.0), comm)
            profile = function.profile(file=False)
            rows = [r for r in profile.rows if "allreduce" in r.kernel]
            extra["reduce_ms"] = round(sum(r.seconds for r in rows) / max(1, profile.calls) * 1e3, 4)
        if spent is not None:
            extra["reduce_ms"] = round(_measure_split_reduce(fn, spent, settings, comm) * 1e3, 4)
        if comm is not None:
            extra["bare_reduce_ms"] = round(_bare_reduce_ms(grad_bytes, settings, comm), 4)
        extras[case] = extra
    if rank != 0:
        return
    batch = len(spec.mlp_data(sizes)[0]) if args.workload == "W3" else sizes.cnn_batch
    for case in cases:
        runs = times[case]
        timing = {
            "median": statistics.median(runs),
            "min": min(runs),
            "max": max(runs),
            "reps": len(runs),
            "inner": 0,
            "first_call_s": first_call_s[case],
            "own_cores": None,
            "others_cores": None,
            "rep_values": runs,
        }
        extras[case]["samples_per_s"] = round(batch / timing["median"], 1)
        Recorder(args.out, "symgraph", f"symgraph {sg.__version__}").timing(
            "W9", f"{args.workload} {case}", "ms/batch", 1e3, timing, **extras[case]
        )


def _measure_split_reduce(fn, spent: list[float], settings: Settings, comm) -> float:
    """Seconds per step inside the split step's Allreduce, over a fresh timed run."""
    spent[0] = 0.0
    calls = max(3, int(settings.min_rep_s / 1e-3))
    calls = comm.bcast(min(calls, 200), root=0)
    for _ in range(calls):
        fn()
    return spent[0] / calls


def mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.is_file() else shutil.which("mpiexec")


def cpu_name() -> str:
    """The CPU as lscpu names it (the README quotes it next to the figures)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown CPU").strip()
    return f"{name}, {fields.get('CPU(s)', '?').strip()} CPUs"


def run_w9(raw: Path, size: str, settings: Settings, python: str = sys.executable, timeout: int = 1800) -> None:
    """Every W9 case, each in its own process(es), appended to ``raw`` as the suite's
    JSON lines (a case that cannot run is recorded as skipped, saying why)."""
    launcher = mpiexec()
    env_base = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for workload in WORKLOADS:
        for case in LAUNCHES:
            threads = 2 if case == "1x2" else 1
            env = {**env_base, **thread_env(threads), "PYTHONUNBUFFERED": "1"}
            command = [python, "-m", "benchmarks.distributed", "--worker", "--workload", workload, "--case", case,
                       "--out", str(raw), "--size", size, "--reps", str(settings.reps),
                       "--min-rep-s", str(settings.min_rep_s), "--warmup-s", str(settings.warmup_s)]  # fmt: skip
            if case != "1x2":
                if launcher is None:
                    Recorder(str(raw), "symgraph", "").skip(
                        "W9", f"{workload} {case}: no mpiexec (the distributed extra)"
                    )
                    continue
                command = [launcher, "-n", "2", *command]
            try:
                done = subprocess.run(command, cwd=ROOT, env=env, timeout=timeout, stderr=subprocess.PIPE, text=True)
            except subprocess.TimeoutExpired:
                Recorder(str(raw), "symgraph", "").skip("W9", f"{workload} {case}: timed out after {timeout} s")
                continue
            if done.returncode != 0:
                tail = " | ".join(done.stderr.strip().splitlines()[-3:])
                Recorder(str(raw), "symgraph", "").skip("W9", f"{workload} {case}: exited {done.returncode}: {tail}")


def table(records: list[dict]) -> str:
    rows = ["| W9 case | ms / global batch | samples/s | reduce ms | bare reduce ms | gradient MB |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for r in records:
        if r.get("workload") != "W9" or "median" not in r:
            continue
        rows.append(
            f"| {r['case']} | {r['median']:.2f} | {r.get('samples_per_s', '')} | {r.get('reduce_ms', '-') or '-'} "
            f"| {r.get('bare_reduce_ms', '-')} | {r.get('grad_mb', '')} |"
        )
    return "\n".join(rows)


# The ring all-reduce model (Patarasuk & Yuan; Horovod's algorithm): each of p processes
# sends and receives 2(p-1)/p of the buffer over its link, in 2(p-1) steps that each pay a
# latency. Latencies assumed: MPI over TCP on 10 Gbit/s Ethernet ~25 us a message, RDMA
# (InfiniBand / RoCE) at 100 Gbit/s ~2 us.
LINKS = {"10 Gbit/s": (10e9, 25e-6), "100 Gbit/s": (100e9, 2e-6)}
PROCESSES = (8, 64, 256)


def ring_allreduce_s(processes: int, nbytes: int, bits_per_s: float, latency_s: float) -> float:
    """Seconds one ring all-reduce of ``nbytes`` takes on ``processes`` processes."""
    p = processes
    return 2 * (p - 1) / p * nbytes * 8 / bits_per_s + 2 * (p - 1) * latency_s


def projection(step_ms: dict[str, float], grad_bytes: dict[str, int]) -> str:
    """The model applied to W3 and W5 (weak scaling: each process keeps the workload's
    batch): reduction ms per step, and the efficiency t_step / (t_step + t_reduce) with
    no overlap (symgraph reduces after the whole backward pass)."""
    head = "| workload (gradient) | link | " + " | ".join(f"p = {p}" for p in PROCESSES) + " |"
    rows = [head, "|---|---|" + "---|" * len(PROCESSES)]
    for workload, nbytes in grad_bytes.items():
        for link, (bits, latency) in LINKS.items():
            cells = []
            for p in PROCESSES:
                reduce_ms = ring_allreduce_s(p, nbytes, bits, latency) * 1e3
                efficiency = step_ms[workload] / (step_ms[workload] + reduce_ms)
                cells.append(f"{reduce_ms:.2f} ms, {efficiency:.0%}")
            label = f"{workload} ({nbytes / 1e6:.2f} MB, step {step_ms[workload]:.1f} ms)"
            rows.append(f"| {label} | {link} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def gradient_bytes(sizes: spec.Sizes) -> dict[str, int]:
    """float32 bytes of W3's and W5's gradients (their parameters)."""
    mlp = sum(int(np.prod(p.shape)) for p in spec.mlp_params(sizes)) * 4
    cnn = sum(int(np.prod(p.shape)) for p in spec.cnn_params(sizes).values()) * 4
    return {"W3": mlp, "W5": cnn}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(spec.PROFILES), default="full")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--warmup-s", type=float, default=0.5)
    ap.add_argument("--out", help="JSON lines to append to (default: a temporary file)")
    ap.add_argument(
        "--project",
        metavar="W3=MS,W5=MS",
        help="print only the ring all-reduce projection for these one-process step times (ms)",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    ap.add_argument("--case", choices=LAUNCHES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return
    sizes = spec.PROFILES[args.size]
    if args.project:
        steps = {k: float(v) for k, v in (item.split("=") for item in args.project.split(","))}
        print(projection(steps, gradient_bytes(sizes)))
        return
    settings = Settings(reps=args.reps, min_rep_s=args.min_rep_s, warmup_s=args.warmup_s)
    with tempfile.TemporaryDirectory(prefix="symgraph-w9-") as tmp:
        raw = Path(args.out) if args.out else Path(tmp) / "w9.jsonl"
        start = len(raw.read_text().splitlines()) if raw.exists() else 0
        run_w9(raw, args.size, settings)
        records = [json.loads(line) for line in raw.read_text().splitlines()[start:] if line.strip()]
    print(f"W9 on {cpu_name()}, sizes {args.size}")
    print(table(records))
    for r in records:
        if "skipped" in r:
            print(f"skipped: {r['skipped']}")
    alone = {r["case"].split()[0]: r["median"] for r in records if r.get("case", "").endswith(" 1x2") and "median" in r}
    if set(alone) == set(WORKLOADS):
        print("\nring all-reduce projection from these one-process steps (reduce ms per step, efficiency):")
        print(projection(alone, gradient_bytes(sizes)))


if __name__ == "__main__":
    main()
