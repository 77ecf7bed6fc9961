"""From C source to a loaded library: toolchain, content-addressed cache, cffi build.

The code generator hands ``symgraph.runtime.build.build(source, cdef, name_hint=...)``
one translation unit and its entry point's declaration and gets back a
``LoadedLibrary`` (cffi ``ffi`` and ``lib``). ``toolchain`` finds the compiler and
flags, ``cache`` stores one binary per content key on disk, ``build`` compiles and
loads. The function ``build`` is not re-exported here so that ``runtime.build`` stays
the module (whose ``build_count`` tests read). The runtime headers every unit includes
are the repository's ``csrc/``, installed as the package ``symgraph.csrc`` (``csrc_dir()``).
"""

import os

# How long an OpenMP thread spins for work before it sleeps. Spinning long starves a busy
# machine: an MLP training step took 52 ms with GOMP's default (300000 spins, ~9 ms of
# CPU after each parallel region) and 7.8 ms waiting passively, with another process
# keeping the second of 2 cores busy. Sleeping at once costs a wake-up (~5-20 us) at
# every parallel region, and a training step has dozens. A short spin (~50 us) keeps
# the threads awake from one kernel to the next and from one call to the next in a
# training loop. W3 (2 cores, median of 80 steps, interleaved): quiet 2.6-3.0 ms against
# 3.3-3.7 passive; with a busy second core 5.9-6.2 against 5.1-5.4 (3000 spins: quiet
# 2.5-2.8, busy 7.6-7.9). Applies unless the user chose a policy; set before any unit
# loads libgomp.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"


from symgraph.runtime import build
from symgraph.runtime.build import BuildError, LoadedLibrary
from symgraph.runtime.cache import CacheError, CacheInfo, CacheWarning, cache_dir, clear, content_key, info
from symgraph.runtime.toolchain import CompilerNotFoundError, Toolchain, ToolchainError, csrc_dir, get_toolchain

__all__ = [
    "BuildError",
    "CacheError",
    "CacheInfo",
    "CacheWarning",
    "CompilerNotFoundError",
    "LoadedLibrary",
    "Toolchain",
    "ToolchainError",
    "build",
    "cache_dir",
    "clear",
    "content_key",
    "csrc_dir",
    "get_toolchain",
    "info",
]
