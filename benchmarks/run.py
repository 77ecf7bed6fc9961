"""The benchmark suite: W0..W7 of BENCHMARKS.md for symgraph and every peer it lists.

    python -m benchmarks                          # everything, the sizes of the definition
    python -m benchmarks --quick                  # fewer repetitions, smaller sizes
    python -m benchmarks --only W2,W3 --peers numpy,jax
    python -m benchmarks --python /path/to/venv/bin/python   # peers installed there
    python -m benchmarks --python /path/to/venv/bin/python --check-peers   # do they all import?

Each peer runs in its own process (benchmarks/child.py) with the interpreter given by
--python (default: $SYMGRAPH_BENCH_PYTHON, else this one), 2 threads (OMP_NUM_THREADS and
each library's own setting). W7 runs pairs of fresh processes: cold with an empty compile
cache, warm with the cache the cold one left. Prints the table of medians and symgraph's
ratio to the fastest peer, headed by the CPU (model, ISA extensions, what -march=native
makes of it; also in the JSON's meta.cpu); writes JSON (and a PNG chart when matplotlib
is installed).

Every peer listed (all, or those --peers names) must run: before anything is timed, each
one's modules are imported in the benchmark interpreter, and a peer that cannot import
them (jax without optax), or whose process leaves no result, is NOT RUN. That is said at
the start and at the end of the run and in the table (its column reads NOT RUN), the JSON
lists it under "not_run", and the exit status is 3 unless --allow-missing-peers: a ratio
to "the fastest peer" means little when the fastest one silently did not run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(ROOT))

from benchmarks import distributed, report  # noqa: E402
from benchmarks.harness import QUICK, Settings, cpu_record, thread_env  # noqa: E402
from benchmarks.peers import PEERS, Peer, select  # noqa: E402
from benchmarks.spec import WORKLOADS  # noqa: E402

MISSING_PEERS_EXIT = 3

# Imports each module named on the command line, in order, and prints the first failure
# as "ExceptionType: what" (a missing module by its own name: the dependency that is
# absent, which may not be the module asked for), or null. Importing, not just finding:
# a package that is there but broken (a jax too new for the optax installed) is as unable
# to run as a missing one.
IMPORT_PROBE = """
import importlib, json, sys
error = None
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        what = exc.name if isinstance(exc, ModuleNotFoundError) and exc.name else (str(exc).splitlines() or [""])[0]
        error = f"{type(exc).__name__}: {what}"[:300]
        break
print(json.dumps(error))
"""


def unrunnable(python: str, peers: list[Peer], timeout: float = 600) -> dict[str, str]:
    """Peer key -> why it cannot run under ``python``, for each of ``peers`` whose modules
    do not all import there. Each distinct (modules, environment) is imported in a process
    of its own, all at once: a library's import can depend on the environment (Keras on
    KERAS_BACKEND) and never shares a process with another peer's, as in the run itself."""
    jobs: dict[tuple, subprocess.Popen] = {}
    for peer in peers:
        key = (peer.requires, tuple(sorted(peer.env.items())))
        if key not in jobs:
            env = {**child_env(peer, Path(tempfile.gettempdir())), "PYTHONWARNINGS": "ignore"}
            jobs[key] = subprocess.Popen(
                [python, "-c", IMPORT_PROBE, *peer.requires],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
    reasons: dict[tuple, str | None] = {}
    deadline = time.monotonic() + timeout
    for key, job in jobs.items():
        try:
            out, err = job.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            job.kill()
            job.communicate()
            reasons[key] = f"importing {', '.join(key[0])} took more than {timeout:.0f} s"
            continue
        lines = out.strip().splitlines()
        try:
            reasons[key] = json.loads(lines[-1]) if job.returncode == 0 and lines else None
        except ValueError:
            lines = []
        if job.returncode != 0 or not lines:
            last = (err.strip().splitlines() or [f"exit status {job.returncode}"])[-1]
            reasons[key] = f"importing {', '.join(key[0])} crashed: {last[:300]}"
    found = {}
    for peer in peers:
        reason = reasons[(peer.requires, tuple(sorted(peer.env.items())))]
        if reason:
            found[peer.key] = reason
    return found


def shout(lines: list[str]) -> None:
    """Print ``lines`` where nobody scrolling the log can miss them."""
    if lines:
        bar = "!" * 78
        print("\n".join([bar, *(f"!!! {line}" for line in lines), bar]), flush=True)


def child_env(peer: Peer, cache_dir: Path) -> dict[str, str]:
    env = {**os.environ, **thread_env(), **peer.env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["BENCH_CACHE_DIR"] = str(cache_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_child(
    python: str, peer: Peer, workloads: list[str], args, settings: Settings, raw: Path, env: dict, phase: str = ""
) -> None:
    """One process for ``peer``; its results are appended to ``raw`` as JSON lines."""
    command = [
        python, "-m", "benchmarks.child", "--peer", peer.key, "--workloads", ",".join(workloads),
        "--out", str(raw), "--size", args.size, "--reps", str(settings.reps),
        "--min-rep-s", str(settings.min_rep_s), "--warmup-s", str(settings.warmup_s),
    ]  # fmt: skip
    if phase:
        command += ["--phase", phase]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=None, stderr=subprocess.PIPE, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        note(raw, peer, workloads, f"timed out after {args.timeout} s")
        return
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        tail = "\n".join(lines[-12:])
        print(f"  {peer.label} exited with {done.returncode}:\n{tail}", flush=True)
        last = f": {lines[-1][:300]}" if lines else ""
        note(raw, peer, workloads, f"process exited with {done.returncode}{last}", only_missing=True)


def note(raw: Path, peer: Peer, workloads: list[str], why: str, only_missing: bool = False) -> None:
    """Record ``why`` for each workload of ``peer`` that left no result."""
    done = set()
    if only_missing and raw.exists():
        done = {json.loads(line)["workload"] for line in raw.read_text().splitlines() if peer.label in line}
    with raw.open("a") as f:
        for workload in workloads:
            if workload not in done:
                f.write(json.dumps({"workload": workload, "peer": peer.label, "skipped": why}) + "\n")
                print(f"  [{workload}] {peer.label}: {why}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="3 short repetitions, smaller sizes, one W7 pair")
    ap.add_argument("--only", help="comma-separated workloads, e.g. W2,W3 (default: W0..W7)")
    ap.add_argument("--peers", help="comma-separated peers or families, e.g. numpy,jax (symgraph always runs)")
    ap.add_argument("--python", help="interpreter for the benchmark processes (default: $SYMGRAPH_BENCH_PYTHON)")
    ap.add_argument("--out", help="JSON file to write (default: benchmarks/results/run-<time>.json)")
    ap.add_argument(
        "--size", choices=("full", "quick", "tiny"), help="size profile (default: full, quick with --quick)"
    )
    ap.add_argument("--reps", type=int, help="timed repetitions (default 7, 3 with --quick)")
    ap.add_argument("--min-rep-s", type=float, help="least seconds per repetition (default 0.2)")
    ap.add_argument("--w7-pairs", type=int, help="cold/warm process pairs for W7 (default 3, 1 with --quick)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds one benchmark process may take")
    ap.add_argument("--no-chart", action="store_true", help="write no PNG")
    ap.add_argument("--list", action="store_true", help="list the workloads and peers, run nothing")
    ap.add_argument(
        "--check-peers",
        action="store_true",
        help=f"import every listed peer's modules under --python, say which cannot, run nothing "
        f"(exit {MISSING_PEERS_EXIT} if any cannot)",
    )
    ap.add_argument(
        "--allow-missing-peers",
        action="store_true",
        help=f"exit 0 when a listed peer cannot run (still reported NOT RUN); without it, exit {MISSING_PEERS_EXIT}",
    )
    args = ap.parse_args(argv)
    args.size = args.size or ("quick" if args.quick else "full")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.list:
        for key, what in WORKLOADS.items():
            print(f"{key}  {what}")
        for peer in PEERS:
            print(f"{peer.key:<15} {peer.label:<15} {','.join(peer.workloads)}  needs {', '.join(peer.requires)}")
        return {}
    python = args.python or os.environ.get("SYMGRAPH_BENCH_PYTHON") or sys.executable
    # W9 launches MPI jobs of symgraph alone (benchmarks/distributed.py): only when named
    workloads = [w.strip().upper() for w in args.only.split(",")] if args.only else [w for w in WORKLOADS if w != "W9"]
    if args.quick and not args.only:  # cold compiles of the peers take minutes
        workloads.remove("W7")
        print("W7 (compile time) is left out of --quick; --only W7 runs it", flush=True)
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    try:
        peers = select(args.peers.split(",") if args.peers else None)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    started = time.perf_counter()
    cpu = cpu_record()
    print(report.cpu_line(cpu), flush=True)
    # the peers that have something to measure in this run: the others are not missed
    peers = [p for p in peers if any(w in p.workloads for w in workloads)]
    cannot = unrunnable(python, peers)
    if args.check_peers:
        for peer in peers:
            print(f"{peer.label:<16} {'NOT RUNNABLE — ' + cannot[peer.key] if peer.key in cannot else 'ok'}")
        if cannot and not args.allow_missing_peers:
            raise SystemExit(MISSING_PEERS_EXIT)
        return {"not_run": [{"peer": p.label, "reason": cannot[p.key]} for p in peers if p.key in cannot]}

    base = QUICK if args.quick else Settings()
    settings = dataclasses.replace(base, reps=args.reps or base.reps, min_rep_s=args.min_rep_s or base.min_rep_s)
    pairs = args.w7_pairs or (1 if args.quick else 3)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"run-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".jsonl")
    raw.write_text("")
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "symgraph-bench"
    not_run = [
        {"peer": p.label, "reason": cannot[p.key], "workloads": [w for w in workloads if w in p.workloads]}
        for p in peers
        if p.key in cannot
    ]
    shout([f"{report.not_run_line(entry)} (under {python})" for entry in not_run])
    print(f"python {python}; {settings.reps} reps of >= {settings.min_rep_s} s; sizes {args.size}", flush=True)
    for peer in peers:
        if peer.key in cannot:
            note(raw, peer, ["all"], f"NOT RUN: {cannot[peer.key]}")
            continue
        mine = [w for w in workloads if w in peer.workloads and w != "W7"]
        if mine:
            print(f"== {peer.label}: {','.join(mine)}", flush=True)
            run_child(python, peer, mine, args, settings, raw, child_env(peer, cache_root / peer.key))
        if "W7" in workloads and "W7" in peer.workloads:
            print(f"== {peer.label}: W7, {pairs} cold/warm pair(s)", flush=True)
            for _ in range(pairs):
                with tempfile.TemporaryDirectory(prefix="symgraph-bench-w7-") as fresh:
                    env = child_env(peer, Path(fresh))
                    env["SYMGRAPH_CACHE_DIR"] = os.path.join(fresh, "symgraph")
                    for phase in ("cold", "warm"):
                        run_child(python, peer, ["W7"], args, settings, raw, env, phase)

    if "W9" in workloads:
        print("== symgraph: W9 (data parallelism, mpiexec)", flush=True)
        distributed.run_w9(raw, args.size, settings, python, args.timeout)

    records = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()]
    timings, machine, skipped = report.aggregate(records)
    measured = {t["peer"] for t in timings} | {m["peer"] for m in machine}
    for peer in peers:  # a process that crashed or timed out in every workload did not run either
        if peer.key not in cannot and peer.label not in measured:
            why = "; ".join(dict.fromkeys(s["skipped"] for s in skipped if s["peer"] == peer.label))
            not_run.append(
                {
                    "peer": peer.label,
                    "reason": why or "no result",
                    "workloads": [w for w in workloads if w in peer.workloads],
                }
            )
    ratio_rows = report.ratios(timings)
    elapsed = time.perf_counter() - started
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {
        "meta": {
            "command": command.strip(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": python,
            "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs".strip(),
            "threads": thread_env()["OMP_NUM_THREADS"],
            "size": args.size,
            "reps": settings.reps,
            "min_rep_s": settings.min_rep_s,
            "w7_pairs": pairs,
            "workloads": workloads,
            "peers": [p.label for p in peers],
            "cpu": cpu,
            "allow_missing_peers": args.allow_missing_peers,
            "versions": sorted({f"{t['peer']}: {t['version']}" for t in timings}),
            "elapsed_s": round(elapsed, 1),
        },
        "results": timings,
        "machine": machine,
        "skipped": skipped,
        "not_run": not_run,
        "ratios": ratio_rows,
    }
    out.write_text(json.dumps(result, indent=1))
    print()
    for line in report.machine_lines(machine):
        print(line)
    print(report.table(timings, ratio_rows, cpu, not_run))
    others = sorted(t["others_cores"] for t in timings if t.get("others_cores") is not None)
    if others:  # the machine is shared: say how much of it other processes used meanwhile
        print(f"other processes used {others[len(others) // 2]} cores (median; max {others[-1]}) during the timings")
    for s in skipped:
        print(f"skipped {s['workload']} {s['peer']}: {s['skipped']}")
    print(f"\n{len(timings)} results in {elapsed:.0f} s; JSON {out}")
    if args.no_chart:
        pass
    elif report.chart(ratio_rows, out.with_suffix(".png")):
        print(f"chart {out.with_suffix('.png')}")
    elif python != sys.executable:  # this interpreter has no matplotlib: perhaps the peers' has
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        subprocess.run([python, "-m", "benchmarks.report", str(out)], cwd=ROOT, env=env, timeout=300)
    if not_run:
        listed = ", ".join(entry["peer"] for entry in not_run)
        shout(
            [report.not_run_line(entry) for entry in not_run]
            + [
                f"{len(not_run)} listed peer(s) did not run ({listed}): install them "
                f"(benchmarks/requirements-peers.txt) or leave them out with --peers"
                + ("" if args.allow_missing_peers else f"; exit {MISSING_PEERS_EXIT} (--allow-missing-peers: 0)")
            ]
        )
        if not args.allow_missing_peers:
            raise SystemExit(MISSING_PEERS_EXIT)
    return result


if __name__ == "__main__":
    main()
