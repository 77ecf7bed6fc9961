"""Fixtures for the runtime tests: every test gets its own cache directory."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import symgraph
from symgraph.runtime import toolchain

REPO_ROOT = Path(symgraph.__file__).resolve().parent.parent

ADD_CDEF = "int sg_add(const float* x, float* y, long n, char* err, size_t err_size);"


def add_source(tag: str | None = None) -> str:
    """A tiny unit, y += x, made unique by ``tag`` so its key is new to every cache and memo."""
    tag = tag or uuid.uuid4().hex
    return f"""typedef int sg_test_unit_{tag}; /* the tag is code: comments are not part of the key */
#include "symgraph_runtime.h"
int sg_add(const float* x, float* y, long n, SG_ERR_PARAMS) {{
    SG_CHECK(n >= 0, SG_ERR_SHAPE, "sg_add: n must be >= 0, got %ld", n);
    for (long i = 0; i < n; i++) y[i] += x[i];
    return SG_OK;
}}
"""


CHILD = """
import json, sys, warnings
import numpy as np
from symgraph.runtime import build as B
source, cdef = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:  # wait for the go signal, so that siblings start together
    import os, time
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.005)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    lib = B.build(source, cdef, name_hint="child")
x = np.arange(8, dtype=np.float32)
y = np.ones(8, dtype=np.float32)
err = lib.ffi.new("char[]", 512)
status = lib.lib.sg_add(lib.ffi.from_buffer("float[]", x), lib.ffi.from_buffer("float[]", y), 8, err, 512)
print(json.dumps({"builds": B.build_count, "status": status, "y": y.tolist(), "path": str(lib.path),
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


def child_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, SYMGRAPH_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def child_args(source: str, go_file: Path | None = None) -> list[str]:
    return [sys.executable, "-c", CHILD, source, ADD_CDEF] + ([str(go_file)] if go_file else [])


def run_child(cache: Path, source: str) -> dict:
    """Build and call ``source`` in a fresh interpreter; its report as a dict."""
    proc = subprocess.run(child_args(source), env=child_env(cache), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private SYMGRAPH_CACHE_DIR for one test (never the user's ~/.cache)."""
    root = tmp_path / "sgcache"
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    return root


# A child that builds two graphs through sg.function (mode "c": the call module builds on
# its own thread meanwhile), once all siblings are ready; it reports its compiler runs
# and the keys it loaded.
GRAPHS_CHILD = """
import json, os, sys, time
import numpy as np
import symgraph as sg
from symgraph.runtime import build as B
while not os.path.exists(sys.argv[1]):
    time.sleep(0.002)
x = sg.placeholder((None, 3), "float32", name="x")
f = sg.function([x], sg.tanh(x) * 2.0)
g = sg.function([x], sg.sum(x * x, axis=1))
a = np.ones((2, 3), np.float32)
print(json.dumps({"builds": B.build_count, "keys": sorted(h._compiled.library.key for h in (f, g)),
                  "values": [f(a).tolist(), g(a).tolist()]}))
"""

# A C compiler that hangs in a unit's build (its source is _symgraph_*.c) when
# $SG_TEST_HANG names a file: it writes its process id there and sleeps. Everything
# else (--version, the flag probes, builds without the variable) goes to the real one.
SLEEPY_CC = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in
    _symgraph_*.c)
      if [ -n "$SG_TEST_HANG" ]; then
        echo $$ > "$SG_TEST_HANG.part" && mv "$SG_TEST_HANG.part" "$SG_TEST_HANG"
        exec sleep 300
      fi;;
  esac
done
exec {real} "$@"
"""


def sleepy_compiler(directory: Path) -> Path:
    """Write SLEEPY_CC over the real compiler into ``directory``; its path (for CC)."""
    real = toolchain._find_compiler(os.environ.get("CC", ""))
    script = directory / "sleepy-cc"
    script.write_text(SLEEPY_CC.format(real=" ".join(shlex.quote(w) for w in real)))
    script.chmod(0o755)
    return script
