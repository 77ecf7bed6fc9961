"""Finding the compiler, the flags, OpenBLAS and the runtime headers."""

from __future__ import annotations

import importlib.resources
import re
import shlex
import shutil
import subprocess
import warnings

import numpy as np
import pytest

from symgraph.errors import UnsupportedError
from symgraph.runtime import CompilerNotFoundError, build, csrc_dir, get_toolchain, toolchain
from symgraph.runtime.toolchain import ToolchainWarning

from .conftest import ADD_CDEF, add_source


def test_default_flags(monkeypatch):
    monkeypatch.delenv("SYMGRAPH_CFLAGS", raising=False)
    tc = get_toolchain()
    assert tc.cflags[:2] == ("-O3", "-march=native") or tc.cflags[0] == "-O3"
    assert "-fPIC" in tc.cflags
    assert ("-fopenmp" in tc.cflags) == tc.openmp
    assert tc.version


def test_cflags_override_replaces_optimisation_flags(monkeypatch):
    monkeypatch.setenv("SYMGRAPH_CFLAGS", "-O2 -fno-tree-vectorize")
    tc = get_toolchain()
    assert tc.cflags[:2] == ("-O2", "-fno-tree-vectorize") and "-O3" not in tc.cflags and "-fPIC" in tc.cflags


def test_openblas_from_the_wheel():
    import scipy_openblas32

    tc = get_toolchain()
    assert scipy_openblas32.get_include_dir() in tc.include_dirs
    assert tc.library_dirs == (scipy_openblas32.get_lib_dir(),) == tc.rpaths
    assert scipy_openblas32.get_library() in tc.libraries


def test_runtime_headers_ship_with_the_package():
    names = [name for name, _ in toolchain.runtime_headers()]
    assert "symgraph_runtime.h" in names and "symgraph_blas.h" in names and "symgraph_call.c" in names
    assert "__init__.py" not in names  # the package's marker is not C: it stays out of the cache key
    assert csrc_dir() == importlib.resources.files("symgraph.csrc") and csrc_dir().is_dir()
    assert str(csrc_dir()) in get_toolchain().include_dirs


def test_missing_compiler_names_what_to_install(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-for-symgraph")
    with pytest.raises(CompilerNotFoundError, match="apt-get install gcc") as excinfo:
        get_toolchain()
    assert isinstance(excinfo.value, UnsupportedError)
    assert "mode='py'" in str(excinfo.value)


def test_no_compiler_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(CompilerNotFoundError, match="cc, gcc, clang"):
        toolchain._find_compiler("")


# A compiler that cannot build OpenMP, as clang is without its runtime (Debian's
# libomp-dev): any command with -fopenmp fails as clang's link step does; everything else
# goes to the real compiler.
NO_OPENMP_CC = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "-fopenmp" ]; then
    echo "ld: cannot find -lomp: No such file or directory" >&2
    exit 1
  fi
done
exec {real} "$@"
"""


def test_compiler_without_openmp_builds_on_one_thread_and_says_so_once(tmp_path, cache_root, monkeypatch):
    real = toolchain._find_compiler("")
    script = tmp_path / "no-openmp-cc"
    script.write_text(NO_OPENMP_CC.format(real=" ".join(shlex.quote(w) for w in real)))
    script.chmod(0o755)
    monkeypatch.setenv("CC", str(script))
    monkeypatch.delenv("SYMGRAPH_CFLAGS", raising=False)
    monkeypatch.setattr(toolchain, "_warned_no_openmp", set())

    with pytest.warns(ToolchainWarning, match=r"cannot build OpenMP .*one thread") as caught:
        tc = get_toolchain()
    assert len([w for w in caught if issubclass(w.category, ToolchainWarning)]) == 1
    assert str(script) in str(caught[0].message)
    assert not tc.openmp and "-fopenmp" not in tc.cflags and "-fopenmp" not in tc.ldflags
    assert tc.cflags[:2] == ("-O3", "-march=native")  # only OpenMP was dropped

    # once per compiler and process: other flags for the same compiler, and building, stay quiet
    monkeypatch.setenv("SYMGRAPH_CFLAGS", "-O2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not get_toolchain().openmp
        loaded = build.build(add_source(), ADD_CDEF, name_hint="no-openmp")
    x = np.arange(5, dtype=np.float32)
    y = np.ones(5, dtype=np.float32)
    err = loaded.ffi.new("char[]", 256)
    status = loaded.lib.sg_add(loaded.ffi.from_buffer("float[]", x), loaded.ffi.from_buffer("float[]", y), 5, err, 256)
    assert status == 0 and y.tolist() == [1, 2, 3, 4, 5]


def test_compiler_with_openmp_is_not_warned_about(monkeypatch):
    monkeypatch.delenv("SYMGRAPH_CFLAGS", raising=False)
    monkeypatch.setattr(toolchain, "_warned_no_openmp", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ToolchainWarning)
        tc = get_toolchain()
    if not tc.openmp:
        pytest.skip("this machine's default compiler has no OpenMP")


# A 9-float min with NaN and -0 flags, as symgraph/ops/reduction.py writes it: GCC 12.2 at
# -O3 -march=x86-64-v2 moves the flags through an MMX register and returns without EMMS
MIN9_SOURCE = """#include <math.h>
float sg_min9(const float *restrict a) {
    float m = INFINITY;
    int n = 0, z = 0;
#pragma omp simd reduction(min:m) reduction(|:n) reduction(|:z)
    for (long i = 0; i < 9; i++) {
        const float v = a[i];
        m = v < m ? v : m;
        n |= (v != v);
        z |= (v == 0 && signbit(v));
    }
    return n ? NAN : (m == 0 ? (z ? -0.0f : 0.0f) : m);
}
"""


@pytest.mark.skipif(not toolchain.X86, reason="MMX and the x87 unit are x86's")
def test_units_leave_the_x87_unit_as_they_found_it(cache_root, monkeypatch):
    monkeypatch.setenv("SYMGRAPH_CFLAGS", "-O3 -march=x86-64-v2")
    tc = get_toolchain()
    if not toolchain._compiles(tc.compiler, ("-march=x86-64-v2",)):
        pytest.skip(f"{tc.version} does not know -march=x86-64-v2")
    assert toolchain.NO_MMX in tc.cflags
    loaded = build.build(MIN9_SOURCE, "float sg_min9(const float *a);", name_hint="min9")
    a = np.arange(1, 10, dtype=np.float32)
    assert loaded.lib.sg_min9(loaded.ffi.from_buffer("float[]", a)) == 1.0
    # glibc's fmodf (numpy's float floor_divide) runs on the x87 unit: in MMX state it gives NaN
    with np.errstate(invalid="raise"):
        np.testing.assert_array_equal(np.floor_divide(np.float32(-2), np.full(3, 1.0086586, np.float32)), -2)
    if shutil.which("objdump"):
        code = subprocess.run(["objdump", "-d", str(loaded.path)], capture_output=True, text=True, check=True).stdout
        assert not re.search(r"%mm[0-7]\b", code), "the unit uses MMX registers"
