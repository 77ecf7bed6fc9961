"""W9 (benchmarks/distributed.py): the ring all-reduce model's arithmetic, and one tiny
run of every case under mpiexec (it measures nothing worth reading at that size)."""

from __future__ import annotations

import json

import pytest

from benchmarks import distributed as w9
from benchmarks.harness import Settings
from tests.distributed.mpi import skip_without_mpi


def test_ring_allreduce_model():
    # 2 processes: 2(p-1)/p = 1 buffer of 1 MB over 8 Gbit/s = 1 ms, plus 2(p-1) = 2 latencies
    assert w9.ring_allreduce_s(2, 1_000_000, 8e9, 0.0) == pytest.approx(1e-3)
    assert w9.ring_allreduce_s(2, 1_000_000, 8e9, 1e-5) == pytest.approx(1e-3 + 2e-5)
    # many processes: the bandwidth term tends to twice the buffer, the latency term grows linearly
    assert w9.ring_allreduce_s(256, 1_000_000, 8e9, 0.0) == pytest.approx(2e-3 * 255 / 256)
    table = w9.projection({"W3": 6.0, "W5": 20.0}, {"W3": 2_678_824, "W5": 738_344})
    assert "| W3 (2.68 MB, step 6.0 ms) | 100 Gbit/s |" in table and table.count("\n") == 5


@pytest.mark.distributed
@skip_without_mpi
def test_w9_runs_every_case(tmp_path):
    raw = tmp_path / "w9.jsonl"
    w9.run_w9(raw, "tiny", Settings(reps=2, min_rep_s=0.005, warmup_s=0.0), timeout=300)
    records = [json.loads(line) for line in raw.read_text().splitlines()]
    assert not [r for r in records if "skipped" in r], records
    cases = {r["case"]: r for r in records}
    assert set(cases) == {f"{w} {c}" for w in w9.WORKLOADS for c in w9.CASES}
    for case, r in cases.items():
        assert r["workload"] == "W9" and r["unit"] == "ms/batch" and r["median"] > 0
        if "2x1" in case:
            assert r["processes"] == 2 and r["reduce_ms"] >= 0 and r["bare_reduce_ms"] > 0
