"""The on-disk cache: keys, privacy, cross-process reuse, one build under contention,
repair, the leftovers of killed builders."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import stat
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
from pathlib import Path

import pytest

import symgraph.cache
from symgraph.runtime import CacheError, CacheWarning, build, cache, get_toolchain, toolchain

from .conftest import ADD_CDEF, GRAPHS_CHILD, add_source, child_args, child_env, run_child, sleepy_compiler


def key(source: str) -> str:
    return cache.content_key(build.code_of(source), ADD_CDEF, get_toolchain())


def test_key_is_stable_and_follows_source_and_flags(cache_root, monkeypatch):
    src = add_source("fixed")
    assert key(src) == key(src)
    assert key(src) != key(src.replace("y[i] += x[i]", "y[i] -= x[i]"))
    assert cache.content_key(src, ADD_CDEF, get_toolchain()) != cache.content_key(src, ADD_CDEF + " ", get_toolchain())
    default = key(src)
    monkeypatch.setenv("SYMGRAPH_CFLAGS", "-O1")
    o1 = key(src)
    assert get_toolchain().cflags[0] == "-O1" and "-O3" not in get_toolchain().cflags
    monkeypatch.setenv("SYMGRAPH_CFLAGS", "-O2")
    assert len({default, o1, key(src)}) == 3


def test_cache_dir_is_created_private(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        root = tmp_path / "a" / "b" / "sgcache"
        monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
        directory = cache.cache_dir()
    finally:
        os.umask(old)
    assert directory == root / "compiled"
    for d in (root, directory):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_cache_dir_writable_by_others_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    with pytest.raises(CacheError, match="writable by group or others"):
        cache.cache_dir()


def test_xdg_location(tmp_path, monkeypatch):
    monkeypatch.delenv("SYMGRAPH_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "symgraph" / "compiled"


def test_second_process_reuses_the_cache(cache_root):
    source = add_source()
    first = run_child(cache_root, source)
    second = run_child(cache_root, source)
    assert first["builds"] == 1 and second["builds"] == 0
    assert first["path"] == second["path"]
    assert second["status"] == 0 and second["y"] == [float(i + 1) for i in range(8)]


def test_eight_processes_at_once_build_once(cache_root, tmp_path):
    source = add_source()
    go = tmp_path / "go"
    env = child_env(cache_root)
    procs = [
        subprocess.Popen(child_args(source, go), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    time.sleep(0.5)  # let them all import and wait at the line
    go.touch()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["builds"] for r in reports) == 1
    assert all(r["status"] == 0 and r["y"] == [float(i + 1) for i in range(8)] for r in reports)
    assert all(r["warnings"] == [] for r in reports)
    assert cache._check(cache.cache_dir() / key(source)) is None  # complete, checksum matches
    assert symgraph.cache.info().entries == 1


def test_truncated_library_is_detected_and_rebuilt(cache_root):
    source = add_source()
    first = run_child(cache_root, source)
    library = Path(first["path"])
    size = library.stat().st_size
    with open(library, "r+b") as f:
        f.truncate(size // 2)
    second = run_child(cache_root, source)
    assert second["builds"] == 1
    assert any(w.startswith("CacheWarning") and "does not match its checksum" in w for w in second["warnings"])
    assert second["status"] == 0 and second["y"] == [float(i + 1) for i in range(8)]
    assert library.stat().st_size == size
    third = run_child(cache_root, source)
    assert third["builds"] == 0 and third["warnings"] == []


def fake_builder(calls: list[str], payload: bytes = b"\x7fELF not really"):
    def builder(tmp: Path) -> str:
        calls.append(str(tmp))
        (tmp / "unit.so").write_bytes(payload)
        return "unit.so"

    return builder


@pytest.mark.parametrize("damage", ["truncate", "delete_meta", "garble_meta", "delete_library"])
def test_damaged_entry_warns_and_rebuilds(cache_root, damage):
    calls: list[str] = []
    k = "ab" * 32
    entry = cache.get_or_build(k, fake_builder(calls))
    assert entry.built and len(calls) == 1
    if damage == "truncate":
        entry.library.write_bytes(entry.library.read_bytes()[:3])
    elif damage == "delete_meta":
        (entry.directory / cache.META).unlink()
    elif damage == "garble_meta":
        (entry.directory / cache.META).write_text("{not json")
    else:
        entry.library.unlink()
    with pytest.warns(CacheWarning, match="damaged"):
        again = cache.get_or_build(k, fake_builder(calls))
    assert again.built and len(calls) == 2
    assert again.library.read_bytes() == b"\x7fELF not really"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cache.get_or_build(k, fake_builder(calls)).built
    assert len(calls) == 2
    assert not [p for p in cache.cache_dir().iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def test_failed_builder_leaves_nothing(cache_root):
    def failing(tmp: Path) -> str:
        (tmp / "half.so").write_bytes(b"x")
        raise RuntimeError("compiler exploded")

    with pytest.raises(RuntimeError, match="exploded"):
        cache.get_or_build("cd" * 32, failing)
    assert [p.name for p in cache.cache_dir().iterdir() if p.name != cache.LOCKS] == []


def test_info_and_clear(cache_root):
    datasets = cache_root / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "keep.npz").write_bytes(b"data")
    assert symgraph.cache.info().entries == 0
    build.build(add_source(), ADD_CDEF)
    build.build(add_source(), ADD_CDEF)
    info = symgraph.cache.info()
    assert info.dir == cache_root / "compiled"
    assert info.entries == 2 and info.bytes > 10_000
    assert symgraph.cache.clear() == 2
    assert symgraph.cache.info().entries == 0 and symgraph.cache.info().bytes == 0
    assert not list((info.dir / cache.LOCKS).iterdir())
    assert (datasets / "keep.npz").read_bytes() == b"data"


def test_keys_computed_while_another_thread_fills_sysconfig_agree(cache_root, monkeypatch):
    """sysconfig fills its tables lazily and not thread-safely: a thread that read
    EXT_SUFFIX while the call module's build was filling them got None, hence another key
    (16 processes ran 22 compiles for 11 units). Here a thread holds the tables half
    filled while others resolve the toolchain and compute keys from scratch."""
    src = add_source("fixed")
    expected, fingerprint = key(src), get_toolchain().fingerprint
    assert toolchain.EXT_SUFFIX == sysconfig.get_config_var("EXT_SUFFIX")
    filling, release = threading.Event(), threading.Event()
    fill = sysconfig._init_posix

    def slow_fill(table: dict) -> None:
        filling.set()
        release.wait(30)
        fill(table)

    monkeypatch.setattr(sysconfig, "_init_posix", slow_fill)
    monkeypatch.setattr(sysconfig, "_CONFIG_VARS", None)  # a fresh process's state
    cache._key_prefix.cache_clear()
    toolchain._toolchain.cache_clear()
    filler = threading.Thread(target=sysconfig.get_config_vars)
    filler.start()
    try:
        assert filling.wait(30)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            fingerprints = list(pool.map(lambda _: get_toolchain().fingerprint, range(4)))
            keys = list(pool.map(lambda _: key(src), range(8)))
    finally:
        release.set()
        filler.join()
        cache._key_prefix.cache_clear()
    assert fingerprints == [fingerprint] * 4
    assert keys == [expected] * 8
    assert build.build(src, ADD_CDEF).path.name.endswith(toolchain.EXT_SUFFIX)


def test_processes_building_the_same_graphs_at_once_compile_each_unit_once(cache_root, tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", GRAPHS_CHILD, str(go)],
            env=child_env(cache_root),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(1.0)  # let them import symgraph and wait at the line
    go.touch()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r["keys"] == reports[0]["keys"] and r["values"] == reports[0]["values"] for r in reports)
    assert sum(r["builds"] for r in reports) == 3  # two units and the call module, each once
    assert symgraph.cache.info().entries == 3


def test_next_builder_removes_the_directory_of_a_builder_killed_mid_build(cache_root, tmp_path, monkeypatch):
    cc = sleepy_compiler(tmp_path)
    hanging = tmp_path / "hanging"
    source = add_source()
    env = dict(child_env(cache_root), CC=str(cc), SG_TEST_HANG=str(hanging))
    child = subprocess.Popen(child_args(source), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    compiler_pid = None
    try:
        deadline = time.monotonic() + 120
        while not hanging.exists():
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the child never reached its compiler"
            time.sleep(0.01)
        compiler_pid = int(hanging.read_text())
    finally:
        child.kill()  # SIGKILL: no handler of the child runs
        child.wait()
        if compiler_pid is not None:
            os.kill(compiler_pid, signal.SIGKILL)  # after a real kill -9 it would run on
    monkeypatch.setenv("CC", str(cc))
    k = key(source)
    directory = cache.cache_dir()
    left = [p.name for p in directory.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and left[0].startswith(f".tmp-{k}-")
    assert not (directory / k).exists()
    lib = build.build(source, ADD_CDEF)
    assert lib.key == k and lib.path.is_relative_to(directory / k)
    assert [p.name for p in directory.iterdir() if p.name.startswith(".tmp-")] == []


def test_old_temporaries_of_other_keys_go_once_their_lock_is_free(cache_root):
    directory = cache.cache_dir()
    old = time.time() - cache.STALE_AFTER - 60

    def leftover(name: str, age: float | None) -> Path:
        d = directory / name
        d.mkdir()
        (d / "half.c").write_text("int x;")
        if age is not None:
            os.utime(d, (age, age))
        return d

    dead = leftover(f".tmp-{'a' * 64}-x1", old)
    building = leftover(f".tmp-{'b' * 64}-x2", old)
    recent = leftover(f".tmp-{'c' * 64}-x3", None)
    trash = leftover(".trash-0123456789abcdef", old)
    calls: list[str] = []
    with cache.key_lock(directory, "b" * 64):  # a live builder of key b (flock excludes other open files, here too)
        with cache.key_lock(directory, "b" * 64, wait=False) as held:
            assert not held
        assert cache.get_or_build("d" * 64, fake_builder(calls)).built
    assert not dead.exists() and not trash.exists()
    assert building.exists() and recent.exists()
    assert cache.remove_abandoned(directory) == 1 and not building.exists()  # its builder is gone now
    assert recent.exists()
