"""From the child processes' JSON lines to the tables, the ratios and the bar chart.

A row is one (workload, case), e.g. "W4 batch 1"; a column is one peer. Every row but
W0's is a time (lower is better); symgraph's ratio is its median over the fastest
peer's median in the same run, so 0.5 means twice as fast and 2.0 half as fast.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.peers import PEERS

OURS = [p.label for p in PEERS if p.ours]
LABEL_ORDER = [p.label for p in PEERS if p.ours] + [p.label for p in PEERS if not p.ours]


def aggregate(records: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """(timings, machine, skipped): one timing per (workload, case, peer) with median,
    min and max (W7's cold/warm pairs are pooled here), W0's values, and skip notes."""
    timings, machine, skipped, pooled = [], [], [], {}
    for rec in records:
        if "skipped" in rec:
            skipped.append(rec)
        elif rec["workload"] == "W0":
            machine.append(rec)
        elif "value" in rec:
            pooled.setdefault((rec["workload"], rec["case"], rec["peer"]), []).append(rec)
        else:
            timings.append(rec)
    for (workload, case, peer), recs in pooled.items():
        values = [r["value"] for r in recs]
        timings.append(
            {
                "workload": workload,
                "case": case,
                "peer": peer,
                "version": recs[0]["version"],
                "unit": recs[0]["unit"],
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "reps": len(values),
                "rep_values": values,
                "step_s": statistics.median(r["step_s"] for r in recs),
            }
        )
    return timings, machine, skipped


def rows(timings: list[dict]) -> list[tuple[str, str, str]]:
    """(workload, case, unit) in workload order, cases in the order first measured."""
    seen: dict[tuple[str, str], str] = {}
    for t in timings:
        seen.setdefault((t["workload"], t["case"]), t["unit"])
    return sorted(((w, c, u) for (w, c), u in seen.items()), key=lambda r: r[0])


def ratios(timings: list[dict]) -> list[dict]:
    """For each row and each of symgraph's columns: its median / the fastest peer's."""
    out = []
    for workload, case, unit in rows(timings):
        cells = [t for t in timings if t["workload"] == workload and t["case"] == case]
        peers = [t for t in cells if t["peer"] not in OURS]
        fastest = min(peers, key=lambda t: t["median"]) if peers else None
        for ours in (t for t in cells if t["peer"] in OURS):
            out.append(
                {
                    "workload": workload,
                    "case": case,
                    "unit": unit,
                    "ours": ours["peer"],
                    "median": ours["median"],
                    "fastest_peer": fastest["peer"] if fastest else None,
                    "fastest_median": fastest["median"] if fastest else None,
                    "ratio": ours["median"] / fastest["median"] if fastest else None,
                }
            )
    return out


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def not_run_line(entry: dict) -> str:
    """The line that says a listed peer did not run, and why (start and end of the run,
    and under the table)."""
    return f"{entry['peer']}: NOT RUN — {entry['reason']}"


def cpu_line(cpu: dict) -> str:
    """One line naming the CPU, its ISA extensions and what -march=native made of it."""
    fields = (("family", "family"), ("model", "model_id"), ("stepping", "stepping"))
    ident = [cpu.get("vendor"), *(f"{name} {cpu[key]}" for name, key in fields if cpu.get(key))]
    level = f" ({cpu['isa_level']})" if cpu.get("isa_level") else ""
    line = (
        f"CPU: {cpu.get('model') or '?'} ({' '.join(filter(None, ident)) or '?'}), "
        f"{cpu.get('arch')}, {cpu.get('cpus')} CPUs; ISA: {' '.join(cpu.get('isa') or []) or '?'}{level}"
    )
    if cpu.get("compiler"):
        native = " ".join(cpu.get("native_isa") or []) or "?"
        line += f"; {cpu['compiler']} -march=native: {cpu.get('march_native') or '?'} ({native})"
    if cpu.get("symgraph_cflags") and cpu["symgraph_cflags"] != "-O3 -march=native":
        line += f"; symgraph built with SYMGRAPH_CFLAGS={cpu['symgraph_cflags']}"
    return line


def table(
    timings: list[dict], ratio_rows: list[dict], cpu: dict | None = None, not_run: list[dict] | None = None
) -> str:
    """Markdown: one row per (workload, case), medians per peer, the fastest peer and
    symgraph's ratio to it; headed by the CPU line when ``cpu`` is given. A listed peer
    that did not run (``not_run``: peer, reason, workloads) keeps its column, "NOT RUN" in
    each row it would have measured, and a line under the table says why: the fastest
    peer of those rows is only the fastest of the peers that ran."""
    not_run = not_run or []
    absent = {entry["peer"]: entry for entry in not_run}
    present = {t["peer"] for t in timings} | set(absent)
    labels = [label for label in LABEL_ORDER if label in present]
    lines = [cpu_line(cpu), ""] if cpu else []
    lines += [
        "| workload | unit | " + " | ".join(labels) + " | fastest peer | symgraph / fastest |",
        "|---|---|" + "---|" * len(labels) + "---|---|",
    ]
    for workload, case, unit in rows(timings):
        cells = {t["peer"]: t for t in timings if t["workload"] == workload and t["case"] == case}
        mine = [r for r in ratio_rows if r["workload"] == workload and r["case"] == case and r["ratio"]]
        fastest = mine[0]["fastest_peer"] if mine else "-"
        ratio_text = ", ".join(
            f"{fmt(r['ratio'])}x" + ("" if r["ours"] == "symgraph" else f" ({r['ours']})") for r in mine
        )
        values = []
        for label in labels:
            if label in cells:
                values.append(fmt(cells[label]["median"]))
            elif label in absent and workload in absent[label].get("workloads", ()):
                values.append("**NOT RUN**")
            else:
                values.append("-")
        lines.append(f"| {workload} {case} | {unit} | " + " | ".join(values) + f" | {fastest} | {ratio_text or '-'} |")
    for entry in not_run:
        lines.append(f"\n**{not_run_line(entry)}** (the ratios are to the peers that ran)")
    return "\n".join(lines)


def machine_lines(machine: list[dict]) -> list[str]:
    return [f"W0 {m['case']}: {m['value']:.1f} {m['unit']}" for m in machine]


def chart(ratio_rows: list[dict], path: Path) -> bool:
    """A horizontal bar per row: symgraph's median / the fastest peer's (log scale,
    1 = as fast as the fastest peer). False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    bars = [r for r in ratio_rows if r["ratio"]]
    if not bars:
        return False
    names = [f"{r['workload']} {r['case']}" + ("" if r["ours"] == "symgraph" else f" [{r['ours']}]") for r in bars]
    values = [r["ratio"] for r in bars]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(bars) + 1.2))
    colors = ["tab:green" if v <= 1 else "tab:red" for v in values]
    ax.barh(range(len(bars)), values, color=colors)
    ax.set_yticks(range(len(bars)), [f"{n} (vs {r['fastest_peer']})" for n, r in zip(names, bars)], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}x", va="center", fontsize=8)
    ax.set_xlabel("symgraph median / fastest peer's median (lower is better)")
    ax.set_title("symgraph against the fastest peer, same run")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.report RESULTS.json``: draw the chart beside the JSON (the
    runner calls this with the peers' interpreter when its own has no matplotlib)."""
    import json
    import sys

    path = Path((argv if argv is not None else sys.argv[1:])[0])
    results = json.loads(path.read_text())
    if chart(results["ratios"], path.with_suffix(".png")):
        print(f"chart {path.with_suffix('.png')}")
    else:
        print("no chart: matplotlib is not installed")


if __name__ == "__main__":
    main()
