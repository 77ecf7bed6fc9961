"""The benchmark suite (benchmarks/): its quick path for symgraph alone on tiny sizes, and
the report's arithmetic. No timing is asserted: only that the runner measures, pools and
reports what it should."""

from __future__ import annotations

import json
import os
import sys

import pytest

from benchmarks import harness, report, run
from benchmarks.peers import Peer, select


def test_quick_tiny_run_for_symgraph_writes_the_expected_json(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--size", "tiny", "--peers", "symgraph", "--only", "W1,W2,W4,W7", "--reps", "3"]
    argv += ["--min-rep-s", "0.005", "--w7-pairs", "1", "--no-chart", "--out", str(out), "--timeout", "600"]
    returned = run.main(argv)
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(returned))
    assert set(written) == {"meta", "results", "machine", "skipped", "not_run", "ratios"}
    assert written["not_run"] == []  # every listed peer ran
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


# /proc/cpuinfo of three machines the suite runs on (first processor; flags abridged to
# what matters here and a few neighbours, as the kernel prints them)
ZEN3_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13
stepping\t: 0
flags\t\t: fpu sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt xsave avx f16c lahf_lm abm bmi1 avx2 bmi2 lm

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: some other core that is not read
"""
XEON_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 106
model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
stepping\t: 6
flags\t\t: sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt xsave avx f16c lahf_lm abm bmi1 avx2 bmi2 avx512f \
avx512dq avx512cd avx512bw avx512vl avx512_vnni lm
"""
GRAVITON2_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
"""


def test_cpuinfo_gives_model_family_and_the_isa_levels_that_matter():
    zen3 = harness.parse_cpuinfo(ZEN3_CPUINFO)
    assert zen3["model"] == "AMD EPYC 7B13" and zen3["vendor"] == "AuthenticAMD"
    assert (zen3["family"], zen3["model_id"], zen3["stepping"]) == ("25", "1", "0")
    assert zen3["isa"] == ["sse4.2", "avx", "avx2", "fma"] and zen3["isa_level"] == "x86-64-v3"

    xeon = harness.parse_cpuinfo(XEON_CPUINFO)
    assert xeon["isa"] == ["sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vnni"]
    assert xeon["isa_level"] == "x86-64-v4"
    # one flag of a level missing (no MOVBE): the level below
    assert harness.parse_cpuinfo(XEON_CPUINFO.replace(" movbe", ""))["isa_level"] == "x86-64-v2"

    arm = harness.parse_cpuinfo(GRAVITON2_CPUINFO)
    assert arm["isa"] == ["asimd"] and "isa_level" not in arm
    assert (arm["vendor"], arm["model_id"], arm["family"]) == ("0x41", "0xd0c", "8")


# A compiler that answers the three questions native_target asks as GCC 12 does on a Zen 3
FAKE_GCC = """#!/bin/sh
case "$*" in
  --version) echo "fakecc (GCC) 12.2.0"; echo "Copyright";;
  *-dM*) printf '#define __SSE4_2__ 1\\n#define __AVX__ 1\\n#define __AVX2__ 1\\n#define __FMA__ 1\\n';;
  *--help=target*) printf 'The following options are target specific:\\n  -march=    \\t\\tznver3\\n';;
  *) exit 1;;
esac
"""
# ... and as clang does: no -Q --help=target; the CPU in the driver's job line
FAKE_CLANG = """#!/bin/sh
case "$*" in
  --version) echo "Debian clang version 14.0.6";;
  *-dM*) printf '#define __SSE4_2__ 1\\n#define __AVX__ 1\\n';;
  *-###*) echo ' "/usr/lib/llvm-14/bin/clang" "-cc1" "-target-cpu" "sandybridge" "-target-feature"' >&2;;
  *) exit 1;;
esac
"""


def test_native_target_names_the_cpu_and_what_the_compiler_turns_on(tmp_path):
    for name, text in (("fakegcc", FAKE_GCC), ("fakeclang", FAKE_CLANG)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    gcc = harness.native_target([str(tmp_path / "fakegcc")])
    assert gcc == {
        "compiler": "fakecc (GCC) 12.2.0",
        "march_native": "znver3",
        "native_isa": ["sse4.2", "avx", "avx2", "fma"],
    }
    clang = harness.native_target([str(tmp_path / "fakeclang")])
    assert clang["march_native"] == "sandybridge" and clang["native_isa"] == ["sse4.2", "avx"]
    # no such compiler: the record says nothing rather than failing the run
    assert harness.native_target([str(tmp_path / "missing-cc")]) == {
        "compiler": None,
        "march_native": None,
        "native_isa": None,
    }


def test_this_machines_record_and_the_table_header():
    cpu = harness.cpu_record()
    assert cpu["cpus"] == os.cpu_count() and cpu["arch"] and cpu["model"]
    assert cpu["compiler"] and cpu["march_native"]
    if cpu.get("isa_level"):  # x86: -march=native never turns on what the CPU lacks
        assert set(cpu["native_isa"]) <= set(cpu["isa"]), (cpu["native_isa"], cpu["isa"])
    line = report.cpu_line(cpu)
    assert line.startswith(f"CPU: {cpu['model']}") and f"-march=native: {cpu['march_native']}" in line
    assert " ".join(cpu["isa"]) in line
    text = report.table([timing("W1", "x*2+1", "symgraph", 1.0, "us/call")], [], cpu)
    assert text.splitlines()[0] == line and text.splitlines()[2].startswith("| workload |")

    zen3 = {
        "arch": "x86_64",
        "cpus": 2,
        **harness.parse_cpuinfo(ZEN3_CPUINFO),
        "compiler": "cc 12",
        "march_native": "znver3",
    }
    zen3 |= {"native_isa": ["sse4.2", "avx", "avx2", "fma"], "symgraph_cflags": "-O3 -march=x86-64-v2"}
    assert report.cpu_line(zen3) == (
        "CPU: AMD EPYC 7B13 (AuthenticAMD family 25 model 1 stepping 0), x86_64, 2 CPUs; "
        "ISA: sse4.2 avx avx2 fma (x86-64-v3); cc 12 -march=native: znver3 (sse4.2 avx avx2 fma); "
        "symgraph built with SYMGRAPH_CFLAGS=-O3 -march=x86-64-v2"
    )


def test_a_peer_that_cannot_import_is_named_with_the_missing_module(tmp_path, monkeypatch):
    (tmp_path / "sg_bench_broken_peer.py").write_text("raise ValueError('broken on purpose\\nsecond line')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    peers = [
        Peer("fine", "fine", "m", "", ("json",), ("W1",), "f"),
        Peer("lacking", "lacking", "m", "", ("json", "sg_bench_no_such_module"), ("W1",), "l"),
        Peer("broken", "broken", "m", "", ("sg_bench_broken_peer",), ("W1",), "b"),
    ]
    assert run.unrunnable(sys.executable, peers) == {
        "lacking": "ModuleNotFoundError: sg_bench_no_such_module",
        "broken": "ValueError: broken on purpose",
    }


def fake_child(python, peer, workloads, args, settings, raw, env, phase=""):
    """run_child without processes: symgraph measures, every other peer's process dies."""
    with raw.open("a") as f:
        for workload in workloads:
            if peer.ours:
                f.write(json.dumps({**timing(workload, "x*2+1", peer.label, 0.3, "us/call"), "others_cores": 0}) + "\n")
            else:
                f.write(
                    json.dumps({"workload": workload, "peer": peer.label, "skipped": "process exited with 1"}) + "\n"
                )


def test_a_listed_peer_that_does_not_run_is_loud_and_fails_the_run(tmp_path, monkeypatch, capsys):
    jax = Peer("jax", "jax.jit", "jax_peer", "", ("sg_bench_no_such_module_optax",), ("W1", "W3"), "jax")
    numpy_peer = next(p for p in select(["numpy"]) if p.key == "numpy")
    symgraph_peer = next(p for p in select(["symgraph"]) if p.key == "symgraph")
    monkeypatch.setattr(run, "select", lambda tokens: [numpy_peer, jax, symgraph_peer])
    monkeypatch.setattr(run, "run_child", fake_child)
    out = tmp_path / "bench.json"
    argv = ["--only", "W1", "--quick", "--size", "tiny", "--no-chart", "--out", str(out)]

    with pytest.raises(SystemExit) as stopped:
        run.main(argv)
    assert stopped.value.code == run.MISSING_PEERS_EXIT
    printed = capsys.readouterr().out
    jax_line = "jax.jit: NOT RUN — ModuleNotFoundError: sg_bench_no_such_module_optax"
    numpy_line = "numpy: NOT RUN — process exited with 1"
    # said before anything is measured, in the table (its column too), and at the end
    assert printed.index(jax_line) < printed.index("python ") < printed.index("| workload |")
    table = printed[printed.index("| workload |") :]
    assert "| W1 x*2+1 | us/call | 0.3 | **NOT RUN** | **NOT RUN** | - | - |" in table
    assert f"**{jax_line}**" in table and f"**{numpy_line}**" in table
    end = printed[printed.rindex(" results in ") :]
    assert jax_line in end and numpy_line in end and "2 listed peer(s) did not run (jax.jit, numpy)" in end
    written = json.loads(out.read_text())
    assert [(e["peer"], e["reason"]) for e in written["not_run"]] == [
        ("jax.jit", "ModuleNotFoundError: sg_bench_no_such_module_optax"),
        ("numpy", "process exited with 1"),
    ]
    assert written["meta"]["cpu"]["model"] and written["meta"]["allow_missing_peers"] is False

    returned = run.main([*argv, "--allow-missing-peers"])  # reported just as loudly, exit 0
    assert [e["peer"] for e in returned["not_run"]] == ["jax.jit", "numpy"]
    assert jax_line in capsys.readouterr().out


def test_check_peers_imports_and_runs_nothing(tmp_path, monkeypatch, capsys):
    lacking = Peer("lacking", "lacking", "m", "", ("sg_bench_no_such_module",), ("W1",), "l")
    symgraph_peer = next(p for p in select(["symgraph"]) if p.key == "symgraph")
    monkeypatch.setattr(run, "select", lambda tokens: [lacking, symgraph_peer])
    monkeypatch.setattr(run, "run_child", None)  # calling it would fail the test
    with pytest.raises(SystemExit) as stopped:
        run.main(["--check-peers", "--only", "W1"])
    assert stopped.value.code == run.MISSING_PEERS_EXIT
    printed = capsys.readouterr().out
    assert "lacking          NOT RUNNABLE — ModuleNotFoundError: sg_bench_no_such_module" in printed
    assert "symgraph         ok" in printed
