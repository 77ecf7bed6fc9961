"""From C source to a loaded library: toolchain, content-addressed cache, cffi build.

The code generator hands ``symgraph.runtime.build.build(source, cdef, name_hint=...)``
one translation unit and its entry point's declaration and gets back a
``LoadedLibrary`` (cffi ``ffi`` and ``lib``). ``toolchain`` finds the compiler and
flags, ``cache`` stores one binary per content key on disk, ``build`` compiles and
loads. The function ``build`` is not re-exported here so that ``runtime.build`` stays
the module (whose ``build_count`` tests read). The runtime headers every unit includes
are in ``symgraph/csrc`` (``csrc_dir()``).
"""

import os

# OpenMP threads that spin while waiting for work starve everything else on a busy
# machine: an MLP training step took 52 ms with GOMP's default policy and 7.8 ms with
# passive waiting when another process kept the second core busy (2 cores). Waking a
# sleeping thread costs microseconds per parallel region, so waiting passively is the
# default unless the user chose a policy. Set before any unit loads libgomp.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


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
