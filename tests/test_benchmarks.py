"""The benchmark suite (benchmarks/): its quick path for symgraph alone on tiny sizes, and
the report's arithmetic. No timing is asserted: only that the runner measures, pools and
reports what it should."""

from __future__ import annotations

import json

import pytest

from benchmarks import report, run
from benchmarks.peers import select


def test_quick_tiny_run_for_symgraph_writes_the_expected_json(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--size", "tiny", "--peers", "symgraph", "--only", "W1,W2,W4,W7", "--reps", "3"]
    argv += ["--min-rep-s", "0.005", "--w7-pairs", "1", "--no-chart", "--out", str(out), "--timeout", "600"]
    returned = run.main(argv)
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(returned))
    assert set(written) == {"meta", "results", "machine", "skipped", "ratios"}
    meta = written["meta"]
    assert meta["size"] == "tiny" and meta["reps"] == 3 and meta["w7_pairs"] == 1
    assert meta["workloads"] == ["W1", "W2", "W4", "W7"]
    assert "symgraph" in meta["peers"] and "numpy" not in meta["peers"]

    ours = {(r["workload"], r["case"]): r for r in written["results"] if r["peer"] == "symgraph"}
    assert set(ours) == {("W1", "x*2+1"), ("W2", "fused"), ("W4", "batch 1"), ("W4", "batch 8"),
                         ("W7", "cold"), ("W7", "warm")}  # fmt: skip
    for (workload, _), r in ours.items():
        assert 0 < r["min"] <= r["median"] <= r["max"], r
        assert r["unit"] in {"us/call", "ms/call", "s"}
        assert len(r["rep_values"]) == (1 if workload == "W7" else 3)
    assert ours[("W1", "x*2+1")]["unit"] == "us/call" and ours[("W4", "batch 8")]["unit"] == "ms/call"
    assert "gbps" in ours[("W2", "fused")]
    # no peer ran, so nothing to be a ratio to; no workload of symgraph was skipped
    assert all(r["ratio"] is None for r in written["ratios"])
    assert not [s for s in written["skipped"] if s["peer"] == "symgraph"]
    assert (tmp_path / "bench.jsonl").exists()


def timing(workload, case, peer, median, unit="ms/call"):
    return {"workload": workload, "case": case, "peer": peer, "unit": unit, "median": median, "version": "v"}


def test_ratios_divide_by_the_fastest_peer_and_the_table_shows_them():
    timings = [
        timing("W2", "fused", "symgraph", 2.0),
        timing("W2", "fused", "numpy", 40.0),
        timing("W2", "fused", "jax.jit", 4.0),
        timing("W3", "train step", "symgraph", 9.0, "ms/step"),
        timing("W3", "train step", "torch eager", 3.0, "ms/step"),
        timing("W1", "x*2+1", "numpy", 1.0, "us/call"),
    ]
    ratios = {(r["workload"], r["ours"]): r for r in report.ratios(timings)}
    assert ratios[("W2", "symgraph")]["fastest_peer"] == "jax.jit"
    assert ratios[("W2", "symgraph")]["ratio"] == pytest.approx(0.5)
    assert ratios[("W3", "symgraph")]["ratio"] == pytest.approx(3.0)
    assert ("W1", "symgraph") not in ratios  # symgraph has no W1 row here
    text = report.table(timings, report.ratios(timings))
    assert "| W2 fused | ms/call | 2 | 40 | - | 4 | jax.jit | 0.5x |" in text
    assert "| W3 train step | ms/step | 9 | - | 3 | - | torch eager | 3x |" in text


def test_w7_pairs_are_pooled_into_one_row_per_phase():
    records = [
        {"workload": "W7", "case": "cold", "peer": "symgraph", "version": "v", "unit": "s", "value": v, "step_s": 0.01}
        for v in (0.9, 0.7, 0.8)
    ]
    records.append({"workload": "W5", "peer": "symgraph", "skipped": "sg.nn has no conv2d yet"})
    timings, machine, skipped = report.aggregate(records)
    assert machine == [] and skipped == [records[-1]]
    (cold,) = timings
    assert (cold["median"], cold["min"], cold["max"], cold["reps"]) == (0.8, 0.7, 0.9, 3)


def test_peer_selection_by_key_or_family_keeps_symgraph():
    labels = [p.label for p in select(["torch", "jax"])]
    assert {"torch eager", "torch.compile", "jax.jit", "symgraph", "symgraph.keras"} == set(labels)
    assert [p.key for p in select(["symgraph"])] == ["symgraph", "symgraph-keras"]
    with pytest.raises(ValueError, match="unknown peer"):
        select(["tensorflowx"])
