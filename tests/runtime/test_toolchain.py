"""Finding the compiler, the flags, OpenBLAS and the runtime headers."""

from __future__ import annotations

import importlib.resources

import pytest

from symgraph.errors import UnsupportedError
from symgraph.runtime import CompilerNotFoundError, csrc_dir, get_toolchain, toolchain


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
