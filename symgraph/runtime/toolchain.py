"""The C toolchain a build uses: compiler, flags, include and library directories.

Everything that decides what machine code a unit becomes lives in one ``Toolchain``
value, and its ``fingerprint`` goes into the cache key, so a different compiler, a
different version, other flags, another BLAS or another CPU (under ``-march=native``)
never reuses a stale entry.

- Compiler: ``$CC`` (may hold arguments, e.g. ``ccache gcc``), else the first of
  ``cc``, ``gcc``, ``clang`` on ``PATH``. Its version is the first line of
  ``--version``.
- Flags: ``-O3 -march=native`` by default; ``$SYMGRAPH_CFLAGS`` replaces these (it is
  split like a shell would). ``-fPIC`` is always added, and OpenMP (``-fopenmp``) when a
  probe shows the compiler can compile and link it (clang needs an OpenMP runtime
  beside it, e.g. Debian's libomp-dev). Without OpenMP every unit runs on one thread,
  which is correct but slower, so it is said once per compiler and process as a
  ``ToolchainWarning`` rather than failing. On x86, ``-mno-mmx`` too, when the
  compiler takes it (see ``NO_MMX``). The probe runs once per compiler
  and default flags per process. When the default flags themselves fail the probe (a
  compiler without ``-march=native``), ``-march=native`` is dropped.
- BLAS: OpenBLAS from the ``scipy-openblas32`` wheel (its headers declare
  ``scipy_cblas_*``), linked with ``--as-needed`` so units that call no BLAS do not
  load it, and found at run time through an rpath to the wheel's library directory.
- Runtime headers: the repository's ``csrc/``, shipped in the wheel as the package
  ``symgraph.csrc`` (a setuptools ``package-dir`` mapping in pyproject.toml) and found
  through ``importlib.resources``, editable install or not.
- Python's side (the extension suffix, the include directories) is read once at import,
  before any thread of symgraph's starts: ``sysconfig`` fills its tables lazily and not
  thread-safely, and a thread reading ``EXT_SUFFIX`` while the call module's background
  build initialised them got ``None``, a different cache key and a second compile of the
  same unit (16 processes: 22 compiles of 11 units). ``EXT_SUFFIX`` comes from
  ``importlib.machinery``, fixed at interpreter start: the suffix the importer accepts.
  The toolchain is resolved under a lock, so threads probe the compiler once.
- The probe results are remembered in the cache root, read and written only after the
  root passed ``userdirs.private_dir``'s ownership and mode checks, opened without
  following links; an unusable root only costs the probe.

No compiler runs at import: mode "py" works on a machine without a compiler, and the
first C build raises ``CompilerNotFoundError`` naming what to install.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from symgraph.errors import UnsupportedError
from symgraph.userdirs import cache_root, private_dir

DEFAULT_OPT_FLAGS: tuple[str, ...] = ("-O3", "-march=native")
OPENMP_FLAG = "-fopenmp"
CANDIDATE_COMPILERS: tuple[str, ...] = ("cc", "gcc", "clang")
PROBES_FILE = "toolchain-probes.json"
PROBES_VERSION = 2  # in each probe's key: entries written before a probe was added are not read
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")

# GCC 12.2 at -O3 -march=x86-64-v2 vectorises the NaN and -0 flags of a short static
# reduction (9 floats: reduction.py's min) through an MMX register (movq to %mm0,
# movq2dq) and returns without EMMS, leaving the x87 unit in MMX state against the ABI:
# the process' next x87 instruction (glibc's fmodf, under numpy's floor_divide) gives
# NaN. Found by .ci/targets' fuzz graphs; reproduced by tests/runtime/test_toolchain.py.
# Nothing symgraph compiles wants MMX (SSE2 and later cover it), so it is turned off
# wherever the compiler accepts that.
NO_MMX = "-mno-mmx"

# The file name ending of an extension module for this interpreter, fixed at its start.
EXT_SUFFIX: str = importlib.machinery.EXTENSION_SUFFIXES[0]
# Read at import, before any thread of symgraph's can race sysconfig's lazy initialisation.
_PATHS = sysconfig.get_paths()
PYTHON_INCLUDE_DIRS: tuple[str, ...] = tuple(dict.fromkeys([_PATHS["include"], _PATHS["platinclude"]]))

_toolchain_lock = threading.Lock()

_INSTALL_HINT = (
    "install one (Debian/Ubuntu: `apt-get install gcc`; Fedora/RHEL: `dnf install gcc`; "
    "macOS: `xcode-select --install`; conda: `conda install -c conda-forge c-compiler`) "
    "or point CC at it; mode='py' runs without a compiler"
)


class ToolchainError(UnsupportedError):
    """Part of the C toolchain is missing: the C backend cannot build on this machine."""


class CompilerNotFoundError(ToolchainError):
    """No C compiler was found; the message says what to install."""


class ToolchainWarning(RuntimeWarning):
    """The toolchain works but lacks something that costs speed (OpenMP: one thread)."""


# Compilers already warned about in this process: once is enough to explain the speed,
# and every configuration (flags) of one compiler shares the cause.
_warned_no_openmp: set[tuple[str, ...]] = set()


# Calling an undeclared function must fail the build, not the load. No contraction of
# a*b+c into one fused multiply-add: it rounds once where numpy rounds twice, so results
# would differ from the reference. errno is never read, so libm calls need not set it
# (which lets gcc merge and vectorise them). The floating-point exception flags are never
# read either: without -fno-trapping-math a comparison that may raise "invalid" on a NaN
# is not evaluated where the C evaluates it conditionally, so gcc keeps a branch in every
# loop whose selects depend on each other (relu's mask feeding where) and vectorises none
# of them, on SSE, AVX2 and NEON alike (only AVX-512's masks got around it). The values
# computed are the same.
STRICT = (
    "-Werror=implicit-function-declaration",
    "-Werror=incompatible-pointer-types",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-fno-trapping-math",
)


@dataclass(frozen=True)
class Toolchain:
    """One resolved toolchain: what a build runs and what the cache key hashes."""

    compiler: tuple[str, ...]  # argv prefix: resolved executable (plus CC's own arguments)
    version: str  # first line of `compiler --version`
    cflags: tuple[str, ...]  # optimisation flags, -fPIC, OpenMP
    ldflags: tuple[str, ...]  # shared-object flags, OpenMP
    openmp: bool
    include_dirs: tuple[str, ...]  # csrc_dir(), Python's headers, OpenBLAS' headers
    library_dirs: tuple[str, ...]
    libraries: tuple[str, ...]
    rpaths: tuple[str, ...]
    blas_version: str
    host: str  # the CPU the flags target (matters under -march=native)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A stable text of every field, for the cache key (computed once: it is on the memo-hit path)."""
        return repr(sorted(asdict(self).items()))


RUNTIME_SOURCE_SUFFIXES = (".h", ".c")


def csrc_dir() -> Path:
    """The directory of the hand-written C runtime (headers every unit includes, symgraph_call.c).

    It is the package ``symgraph.csrc`` (the repository's ``csrc/``); the compiler needs
    it as a directory on disk, which an installed package (wheel or editable) is."""
    try:
        directory = importlib.resources.files("symgraph.csrc")
    except ModuleNotFoundError:
        raise ToolchainError(
            "symgraph's C runtime (the package symgraph.csrc, the repository's csrc/) cannot be imported: "
            "install symgraph (`pip install .`, or `pip install -e .` in a checkout)"
        ) from None
    if not isinstance(directory, Path):
        raise ToolchainError(
            f"symgraph's C runtime is not a directory on disk ({directory}): the C compiler reads its headers "
            f"as files; install symgraph unpacked"
        )
    return directory


@functools.lru_cache(maxsize=1)
def runtime_headers() -> tuple[tuple[str, bytes], ...]:
    """(name, content) of every C file of the runtime (csrc_dir()), sorted: part of the cache key."""
    directory = csrc_dir()
    if not (directory / "symgraph_runtime.h").is_file():
        raise ToolchainError(f"symgraph's runtime headers are missing from {directory}: the installation is incomplete")
    return tuple(
        (p.name, p.read_bytes())
        for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix in RUNTIME_SOURCE_SUFFIXES
    )


def get_toolchain() -> Toolchain:
    """The toolchain for the current ``CC`` and ``SYMGRAPH_CFLAGS`` (memoised per value)."""
    cc_env, cflags_env = os.environ.get("CC", ""), os.environ.get("SYMGRAPH_CFLAGS")
    with _toolchain_lock:  # one probe per process, not one per thread asking at once
        return _toolchain(cc_env, cflags_env)


@functools.lru_cache(maxsize=16)
def _toolchain(cc_env: str, cflags_env: str | None) -> Toolchain:
    compiler = _find_compiler(cc_env)
    custom = cflags_env is not None and cflags_env.strip() != ""
    opt = tuple(shlex.split(cflags_env)) if custom else DEFAULT_OPT_FLAGS
    version, opt, openmp, guards = _probed(compiler, opt, custom)
    if not openmp:
        _warn_no_openmp(compiler, version)
    omp = (OPENMP_FLAG,) if openmp else ()
    blas_inc, blas_lib, blas_name, blas_version = _openblas()
    shared = ("-bundle", "-undefined", "dynamic_lookup") if sys.platform == "darwin" else ("-shared",)
    as_needed = () if sys.platform == "darwin" else ("-Wl,--as-needed",)
    return Toolchain(
        compiler=compiler,
        version=version,
        cflags=(*opt, "-fPIC", *STRICT, *guards, *omp),
        ldflags=(*shared, *omp, *as_needed),
        openmp=openmp,
        include_dirs=(str(csrc_dir()), *_python_include_dirs(), blas_inc),
        library_dirs=(blas_lib,),
        libraries=(blas_name, "m"),
        rpaths=(blas_lib,),
        blas_version=blas_version,
        host=_host_cpu() if any("native" in f for f in opt) else platform.machine(),
    )


def _warn_no_openmp(compiler: tuple[str, ...], version: str) -> None:
    if compiler in _warned_no_openmp:
        return
    _warned_no_openmp.add(compiler)
    hint = (
        "install clang's OpenMP runtime (Debian/Ubuntu: `apt-get install libomp-dev`)"
        if "clang" in version.lower()
        else "install the compiler's OpenMP runtime (gcc: libgomp)"
    )
    warnings.warn(
        f"the C compiler {' '.join(compiler)!r} ({version}) cannot build OpenMP ({OPENMP_FLAG} fails to compile "
        f"or link): compiled units run on one thread; {hint}",
        ToolchainWarning,
        stacklevel=4,  # the caller of get_toolchain (build, or the user)
    )


def _probed(
    compiler: tuple[str, ...], opt: tuple[str, ...], custom: bool
) -> tuple[str, tuple[str, ...], bool, tuple[str, ...]]:
    """The compiler's version, the flags it accepts, whether OpenMP works, and the guard
    flags (``_guard_flags``) it takes, remembered on disk.

    Probing costs ~45 ms (a compile and ``--version``) in every fresh process, most of a
    warm start's budget, so the answer is kept in the cache root, keyed by the
    compiler's path, size and modification time and the flags asked for; a changed
    compiler misses the entry and is probed again. Nothing in the root is read or written
    unless it passes ``private_dir``'s checks (the cache reports why at the first build).
    """
    try:
        st = os.stat(compiler[0])
        key = json.dumps([PROBES_VERSION, list(compiler), st.st_size, st.st_mtime_ns, list(opt), custom])
        root = private_dir(cache_root())
    except OSError:  # CacheError included: probe every time, touch nothing there
        key = root = None
    known: dict = {}
    if key is not None and root is not None:
        try:
            known = json.loads(_read_own_file(root / PROBES_FILE))
            hit = known.get(key)
            if hit is not None:
                return hit["version"], tuple(hit["opt"]), bool(hit["openmp"]), tuple(hit["guards"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            known = {}
    version = _compiler_version(compiler)
    probed_opt, openmp = _probe_flags(compiler, opt, custom)
    guards = _guard_flags(compiler, probed_opt)
    if key is not None and root is not None:
        known = known if isinstance(known, dict) else {}
        known[key] = {"version": version, "opt": list(probed_opt), "openmp": openmp, "guards": list(guards)}
        with contextlib.suppress(OSError):  # a read-only cache only costs the probe next time
            _write_replacing(root / PROBES_FILE, json.dumps(known))
    return version, probed_opt, openmp, guards


def _read_own_file(path: Path) -> str:
    """The text of a regular file the current user owns, opened without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with open(fd, encoding="utf-8") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            raise OSError(f"{path} is not a regular file of this user")
        return f.read()


def _write_replacing(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a fresh private file (mkstemp: O_EXCL, a name
    no other thread or process picks) renamed over it; a link at ``path`` is replaced,
    never followed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _find_compiler(cc_env: str) -> tuple[str, ...]:
    if cc_env.strip():
        words = shlex.split(cc_env)
        exe = shutil.which(words[0])
        if exe is None:
            raise CompilerNotFoundError(f"CC={cc_env!r} names no executable on PATH; {_INSTALL_HINT}")
        return (exe, *words[1:])
    for name in CANDIDATE_COMPILERS:
        exe = shutil.which(name)
        if exe is not None:
            return (exe,)
    raise CompilerNotFoundError(
        f"the C backend needs a C compiler and found none (CC unset; no {', '.join(CANDIDATE_COMPILERS)} "
        f"on PATH): {_INSTALL_HINT}"
    )


def _compiler_version(compiler: tuple[str, ...]) -> str:
    try:
        proc = subprocess.run([*compiler, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise CompilerNotFoundError(
            f"cannot run the C compiler {' '.join(compiler)!r} ({exc}); {_INSTALL_HINT}"
        ) from None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise CompilerNotFoundError(f"`{' '.join(compiler)} --version` failed; {_INSTALL_HINT}")
    return lines[0]


_PROBE_SOURCE = """
#ifdef _OPENMP
#include <omp.h>
#endif
int sg_probe(int n) {
    int s = 0;
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : s)
#endif
    for (int i = 0; i < n; i++) s += i;
    return s;
}
"""


def _probe_flags(compiler: tuple[str, ...], opt: tuple[str, ...], custom: bool) -> tuple[tuple[str, ...], bool]:
    """Which of (opt flags, OpenMP) the compiler accepts, by building a tiny shared object.

    Custom flags are taken as given (a wrong one fails the real build with the compiler's
    message); the defaults lose ``-march=native`` when the compiler rejects it.
    """
    if _compiles(compiler, (*opt, OPENMP_FLAG)):
        return opt, True
    if _compiles(compiler, opt) or custom:
        return opt, False
    fallback = tuple(f for f in opt if f != "-march=native")
    return fallback, _compiles(compiler, (*fallback, OPENMP_FLAG))


def _guard_flags(compiler: tuple[str, ...], opt: tuple[str, ...]) -> tuple[str, ...]:
    """Flags that keep the compiler from code the units must not contain (x86: MMX), those
    of them it accepts with ``opt``."""
    return (NO_MMX,) if X86 and _compiles(compiler, (*opt, NO_MMX)) else ()


def _compiles(compiler: tuple[str, ...], flags: tuple[str, ...]) -> bool:
    with tempfile.TemporaryDirectory(prefix="symgraph-probe-") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(_PROBE_SOURCE)
        shared = ("-bundle", "-undefined", "dynamic_lookup") if sys.platform == "darwin" else ("-shared",)
        cmd = [*compiler, *flags, "-fPIC", *shared, str(src), "-o", str(Path(tmp) / "probe.so")]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def _python_include_dirs() -> list[str]:
    dirs = list(PYTHON_INCLUDE_DIRS)
    if not any((Path(d) / "Python.h").is_file() for d in dirs):
        raise ToolchainError(
            f"the C backend needs Python's development headers (Python.h, looked in {', '.join(dirs)}): "
            f"install them (Debian/Ubuntu: `apt-get install python3-dev`; Fedora/RHEL: `dnf install python3-devel`) "
            f"or use mode='py'"
        )
    return dirs


@functools.lru_cache(maxsize=1)
def _openblas() -> tuple[str, str, str, str]:
    """(include dir, library dir, link name, version) of the scipy-openblas32 wheel.

    Read from the installed package's layout when it is the wheel's usual one: importing
    the package loads OpenBLAS itself (~15 ms of every fresh process's first compile)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is not None and spec.origin:
        root = Path(spec.origin).parent
        if (root / "include" / "cblas.h").is_file() and (root / "lib" / "libscipy_openblas.so").is_file():
            return (
                str(root / "include"),
                str(root / "lib"),
                "scipy_openblas",
                importlib.metadata.version("scipy-openblas32"),
            )
    try:
        import scipy_openblas32 as ob  # deferred: importing it loads OpenBLAS (see above)
    except ImportError:
        raise ToolchainError(
            "the C backend links OpenBLAS from the scipy-openblas32 wheel, which is not installed: "
            "`pip install scipy-openblas32`, or use mode='py'"
        ) from None
    return ob.get_include_dir(), ob.get_lib_dir(), ob.get_library(), getattr(ob, "__version__", "?")


def _host_cpu() -> str:
    """What -march=native resolves against: the CPU model and feature flags (Linux), else the platform."""
    try:
        with open("/proc/cpuinfo") as f:
            fields = {}
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
        return f"{platform.machine()} {fields.get('model name', '')} {fields.get('flags', fields.get('Features', ''))}"
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
