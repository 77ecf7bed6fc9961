"""Turn one C translation unit into a loaded, callable cffi library, built once per key.

``build(source, cdef, name_hint=...)`` is the whole interface: ``source`` is the C
unit (it may ``#include "symgraph_runtime.h"`` and ``"symgraph_blas.h"``), ``cdef``
declares what Python may call (the entry point), and the result holds the cffi ``ffi``
and ``lib`` of the loaded module.

Why it is built the way it is:

- cffi API mode, out of line: ``FFI.set_source`` + ``emit_c_code`` write the wrapper
  module, so calls go through compiled C stubs (measured for a 16-float x*2+1: 2.0 us a
  call, against 5.4-5.9 us taking the pointers through ``.ctypes.data``).
- The compiler is run here, one command (compile and link), rather than through
  ``ffi.compile``: that goes through setuptools, which changes the process' working
  directory during the build (not safe with other threads), picks the compiler from
  ``CC``/sysconfig rather than the one the key hashed, adds Python's own ``-g -Wall``
  flags, and took 0.52 s against 0.19 s for the same tiny unit.
- The module name is ``_symgraph_<key prefix>``, unique per key, and the module is loaded
  from its cache path with importlib without entering ``sys.modules``.
- An in-process memo maps keys to loaded libraries: compiling the same unit twice in
  one process costs a hash and a dict lookup (about 3 us). It is keyed by content, not
  by cache directory, and outlives ``cache.clear()``: a loaded library stays valid.
  Threads building the same key wait for one another (a lock per key); the cache's file
  lock does the same across processes.
- The key hashes the code without its comments (``code_of``): the comments of a
  generated unit name the user's lines and variables, so two graphs that differ only
  there (two identical Keras models built on different lines) share one binary.
- ``build_count`` counts compiler runs in this process, for tests and diagnostics.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cffi

from symgraph.debug import debug_level
from symgraph.errors import SymgraphError
from symgraph.runtime import cache
from symgraph.runtime.toolchain import EXT_SUFFIX, Toolchain, get_toolchain

log = logging.getLogger("symgraph.runtime")

build_count = 0  # compiler runs in this process

_memo: dict[str, LoadedLibrary] = {}
_key_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


class BuildError(SymgraphError, RuntimeError):
    """The C compiler rejected a unit, or the built library would not load."""


@dataclass(frozen=True)
class LoadedLibrary:
    """A loaded unit: call ``lib.<entry>(...)``, make buffers with ``ffi``."""

    ffi: Any
    lib: Any
    key: str
    path: Path
    module_name: str


def build(source: str, cdef: str, *, name_hint: str = "unit", timings: dict[str, float] | None = None) -> LoadedLibrary:
    """The loaded library for this C unit, from the memo, the disk cache, or a fresh build.

    ``name_hint`` labels the unit in the cache's metadata and in error messages; it is
    not part of the key (equal code shares one binary whatever it is called).
    ``timings``, when given, receives the seconds spent in the C compiler and in loading
    the library (both absent on an in-process memo hit; no compiler on a disk-cache hit).
    """
    toolchain = get_toolchain()
    key = cache.content_key(code_of(source), cdef, toolchain)

    def make() -> LoadedLibrary:
        module_name = f"_symgraph_{key[:32]}"

        def builder(tmp: Path) -> str:
            start = time.perf_counter()
            library = _compile(tmp, module_name, source, cdef, toolchain, name_hint)
            if timings is not None:
                timings["compiler"] = time.perf_counter() - start
            return library

        meta = {"name_hint": name_hint, "compiler": toolchain.version, "cflags": list(toolchain.cflags)}
        entry = cache.get_or_build(key, builder, meta)
        start = time.perf_counter()
        loaded = _load(module_name, entry.library, key, name_hint)
        if timings is not None:
            timings["load"] = time.perf_counter() - start
        return loaded

    return _memoised(key, make)


def build_extension(source_path: Path, *, include_dirs: tuple[str, ...] = (), name_hint: str) -> Any:
    """A plain CPython extension module built from one C file through the same cache
    (the module's init function is named by the macro SG_MODULE_NAME, its name string
    SG_MODULE_NAME_STR, both set here so every key loads as its own module)."""
    toolchain = get_toolchain()
    source = source_path.read_text()
    key = cache.content_key(source, "extension:" + ";".join(include_dirs), toolchain)

    def make() -> Any:
        module_name = f"_symgraph_ext_{key[:32]}"

        def builder(tmp: Path) -> str:
            c_file = tmp / f"{module_name}.c"
            c_file.write_text(source)
            defines = (f"-DSG_MODULE_NAME={module_name}", f'-DSG_MODULE_NAME_STR="{module_name}"')
            return _run_compiler(tmp, c_file, module_name, toolchain, name_hint, defines, include_dirs)

        entry = cache.get_or_build(key, builder, {"name_hint": name_hint, "compiler": toolchain.version})
        return _import_extension(module_name, entry.library, name_hint)

    return _memoised(key, make)


def code_of(source: str) -> str:
    """C ``source`` without its comments (each becomes one space, as the compiler reads
    it); string and character literals are kept as they are."""
    pieces: list[str] = []
    i, n, start = 0, len(source), 0
    while i < n:
        ch = source[i]
        if ch in "\"'":  # a literal: skip to its closing quote (backslash escapes one character)
            i += 1
            while i < n and source[i] != ch and source[i] != "\n":
                i += 2 if source[i] == "\\" else 1
            i += 1
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            pieces += [source[start:i], " "]
            i = start = end
        elif source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            pieces += [source[start:i], " "]
            i = start = end
        else:
            i += 1
    pieces.append(source[start:])
    return "".join(pieces)


def _memoised(key: str, make: Callable[[], Any]) -> Any:
    """``make()``'s result for ``key``, made once per process (one lock per key)."""
    hit = _memo.get(key)
    if hit is not None:
        return hit
    with _lock_for(key):
        hit = _memo.get(key)
        if hit is None:
            hit = _memo[key] = make()
        return hit


def memo_clear() -> None:
    """Forget the in-process memo (loaded modules stay loaded); for tests."""
    with _guard:
        _memo.clear()


def _lock_for(key: str) -> threading.Lock:
    with _guard:
        return _key_locks.setdefault(key, threading.Lock())


def _compile(tmp: Path, module_name: str, source: str, cdef: str, tc: Toolchain, name_hint: str) -> str:
    """Write the cffi wrapper for ``source`` into ``tmp`` and compile it; returns the .so's name."""
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source(module_name, source, compiler_verbose=False)  # no "generating ..." on stdout
    c_file = tmp / f"{module_name}.c"
    ffi.emit_c_code(str(c_file))
    return _run_compiler(tmp, c_file, module_name, tc, name_hint)


def _run_compiler(
    tmp: Path,
    c_file: Path,
    module_name: str,
    tc: Toolchain,
    name_hint: str,
    defines: tuple[str, ...] = (),
    include_dirs: tuple[str, ...] = (),
) -> str:
    """Compile ``c_file`` (in ``tmp``) into the extension module's shared object; its name."""
    global build_count
    library = module_name + EXT_SUFFIX
    cmd = [
        *tc.compiler,
        *tc.cflags,
        *defines,
        *(f"-I{d}" for d in (*tc.include_dirs, *include_dirs)),
        c_file.name,
        "-o",
        library,
        *tc.ldflags,
        *(f"-L{d}" for d in tc.library_dirs),
        *(f"-Wl,-rpath,{d}" for d in tc.rpaths),
        *(f"-l{name}" for name in tc.libraries),
    ]
    log.debug("building %s: %s", name_hint, " ".join(cmd))
    if debug_level() >= 4:  # SYMGRAPH_DEBUG=4: the compiler command line
        print(f"[symgraph] compiling {name_hint!r}: {' '.join(cmd)}", file=sys.stderr)
    try:
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    except OSError as exc:
        raise BuildError(f"cannot run the C compiler for {name_hint!r}: {exc}") from None
    with _guard:
        build_count += 1
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()
        if len(output) > 8000:
            output = output[:4000] + "\n...\n" + output[-4000:]
        raise BuildError(
            f"the C compiler failed on unit {name_hint!r} (exit {proc.returncode}).\ncommand: {' '.join(cmd)}\n{output}"
        )
    if proc.stderr.strip():
        log.debug("compiler output for %s:\n%s", name_hint, proc.stderr)
    return library


def _import_extension(module_name: str, path: Path, name_hint: str) -> Any:
    loader = importlib.machinery.ExtensionFileLoader(module_name, str(path))
    spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
    if spec is None:
        raise BuildError(f"cannot load unit {name_hint!r} from {path}")
    try:
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except ImportError as exc:
        raise BuildError(
            f"the built unit {name_hint!r} at {path} does not load ({exc}); symgraph.cache.clear() forces a rebuild"
        ) from exc
    return module


def _load(module_name: str, path: Path, key: str, name_hint: str) -> LoadedLibrary:
    module = _import_extension(module_name, path, name_hint)
    return LoadedLibrary(ffi=module.ffi, lib=module.lib, key=key, path=path, module_name=module_name)
