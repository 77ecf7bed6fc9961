"""Fixtures for the runtime tests: every test gets its own cache directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import symgraph

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
