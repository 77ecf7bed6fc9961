"""Building and calling C units: cffi API mode, OpenBLAS, the memo, compiler errors."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from symgraph.runtime import BuildError, build
from symgraph.runtime.build import LoadedLibrary

from .conftest import ADD_CDEF, add_source


def call_add(lib: LoadedLibrary, x: np.ndarray, y: np.ndarray, n: int) -> tuple[int, bytes]:
    err = lib.ffi.new("char[]", 512)
    status = lib.lib.sg_add(lib.ffi.from_buffer("float[]", x), lib.ffi.from_buffer("float[]", y), n, err, 512)
    return status, lib.ffi.string(err)


def test_build_and_call_with_numpy_buffers(cache_root):
    lib = build.build(add_source(), ADD_CDEF, name_hint="add")
    x = np.arange(10, dtype=np.float32)
    y = np.full(10, 0.5, dtype=np.float32)
    status, message = call_add(lib, x, y, 10)
    assert status == 0 and message == b""
    np.testing.assert_array_equal(y, np.arange(10, dtype=np.float32) + 0.5)
    assert lib.path.is_file() and lib.path.is_relative_to(cache_root)


def test_runtime_error_is_reported_through_status_and_buffer(cache_root):
    lib = build.build(add_source(), ADD_CDEF, name_hint="add")
    x = np.zeros(1, np.float32)
    status, message = call_add(lib, x, x.copy(), -3)
    assert status == 1  # SG_ERR_SHAPE
    assert message == b"sg_add: n must be >= 0, got -3"


SGEMM_SOURCE = """
#include "symgraph_runtime.h"
#include "symgraph_blas.h"
/* C[m,n] = A[m,k] @ B[k,n], row-major. */
int sg_mm(const float* a, const float* b, float* c, int m, int n, int k, SG_ERR_PARAMS) {
    SG_CHECK(m >= 0 && n >= 0 && k >= 0, SG_ERR_SHAPE, "sg_mm: negative size");
    SG_CBLAS(sgemm)(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    return SG_OK;
}
"""
SGEMM_CDEF = "int sg_mm(const float*, const float*, float*, int, int, int, char*, size_t);"


def test_sgemm_through_openblas_matches_numpy(cache_root):
    lib = build.build(SGEMM_SOURCE + f"typedef int sg_test_unit_{uuid.uuid4().hex};\n", SGEMM_CDEF, name_hint="sgemm")
    rng = np.random.default_rng(0)
    m, n, k = 67, 45, 129
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), np.float32)
    f = lib.ffi
    status = lib.lib.sg_mm(
        f.from_buffer("float[]", a), f.from_buffer("float[]", b), f.from_buffer("float[]", c), m, n, k, f.NULL, 0
    )
    assert status == 0
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_memo_same_unit_twice_builds_once(cache_root):
    source = add_source()
    before = build.build_count
    first = build.build(source, ADD_CDEF, name_hint="a")
    second = build.build(source, ADD_CDEF, name_hint="another name, same code")
    assert second is first
    assert build.build_count == before + 1


def test_memo_miss_loads_from_disk_without_rebuilding(cache_root):
    source = add_source()
    first = build.build(source, ADD_CDEF)
    before = build.build_count
    build.memo_clear()
    again = build.build(source, ADD_CDEF)
    assert build.build_count == before and again is not first and again.path == first.path
    x = np.ones(3, np.float32)
    y = np.ones(3, np.float32)
    assert call_add(again, x, y, 3)[0] == 0 and y.tolist() == [2, 2, 2]


def test_threads_building_the_same_unit_build_once(cache_root):
    source = add_source()
    before = build.build_count
    results: list[LoadedLibrary] = []
    threads = [threading.Thread(target=lambda: results.append(build.build(source, ADD_CDEF))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert build.build_count == before + 1
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_compiler_error_raises_build_error_and_leaves_no_entry(cache_root):
    from symgraph.runtime import info

    with pytest.raises(BuildError, match="sg_broken") as excinfo:
        build.build("int sg_broken(void) { return undeclared_name; }", "int sg_broken(void);", name_hint="broken")
    assert "undeclared_name" in str(excinfo.value)
    assert info().entries == 0
    assert not [p for p in info().dir.iterdir() if p.name.startswith(".tmp-")]
