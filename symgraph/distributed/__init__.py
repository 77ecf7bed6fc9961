"""``sg.distributed``: data-parallel training over MPI (``pip install 'symgraph[distributed]'``,
launched with ``mpiexec -n 4 python train.py``).

    import symgraph as sg
    import symgraph.distributed as dist

    dist.init()                                   # every process, before the first step
    grads = sg.grad(loss, params)
    grads = dist.allreduce(grads, op="mean")      # one node: one message per dtype
    step = sg.function([x, y], loss, updates=[(p, p - lr * g) for p, g in zip(params, grads)])
    dist.broadcast_variables(params, root=0)      # every process starts from rank 0's values

How the reduction runs, and why. Two designs were measured (benchmarks/distributed.py,
W9; the figures are in the README):

(a) the reduction is a node of the graph (symgraph/ops/collective.py): the compiled step
    packs the gradients into one buffer, calls ``MPI_Allreduce`` through a small helper
    library built against the job's own ``mpi.h`` (symgraph/distributed/_helper.py), and
    goes on to the updates, all inside its one C call;
(b) the step is split in two compiled functions around a Python-side ``Allreduce`` of one
    contiguous buffer (forward and backward producing the packed gradients; then the
    updates taking the reduced ones).

Both send the same single message per step, and they cost the same: measured with W9 on
the 2-core AMD EPYC this repository is developed on (2 processes x 1 thread, the two
designs' repetitions alternated in one job; the machine shared with other work, load
3-4), ms per global batch of W3 (MLP, 2.55 MiB of gradients): in-step 5.35 / 5.36,
split 5.36 / 5.28; W5 (CNN, 0.70 MiB): in-step 16.3 / 14.5, split 16.0 / 14.2 (two runs).
An earlier version whose kernel divided by the job's size for ``op="mean"`` was slower
than the split on W3; the mean is now a division in the graph, fused into the update.
(a) is what is built, for what it keeps: one C call per step, ``sg.function`` whole (the
updates stay the unit's in-place writes; any graph may hold an allreduce, in any mode,
traced functions included), and no unit linking MPI (the helper is reached through
pointers in a Variable, so the C text and the cache key are the same everywhere, and a
unit built without MPI still builds). (b) remains W9's comparison path.

Faults. ``init()`` installs a ``sys.excepthook`` that, after printing the traceback, calls
``MPI_Abort`` so that a process that raises stops the whole job at once (without it the
others would wait in their next collective forever, and the raising process in
``MPI_Finalize``); a process that is killed is seen by ``mpiexec``, which ends the others.
A watchdog thread ends the job (``MPI_Abort``, with a message naming the rank and the
wait) when one collective has waited longer than ``timeout`` seconds
(``SYMGRAPH_DIST_TIMEOUT``, default 300; 0 disables it): a process that leaves quietly
(``sys.exit`` in one process waits in ``MPI_Finalize`` while the others wait for it),
hangs or runs another program. (A process that ends without finalizing, ``os._exit``,
is seen by MPICH's mpiexec, which ends the others at once, with the exit code it got.)
Every allreduce node first checks that all processes reduce the same layout, and
``broadcast_variables`` that they hold the same variables, naming the ranks that differ.

Threads: several processes on one machine share its cores. When ``OMP_NUM_THREADS`` is
not set, ``init()`` sets it to the cores of this process's affinity divided by the
processes on this machine, which takes effect if no compiled function was loaded yet.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from symgraph.distributed import _helper
from symgraph.errors import InputError, SymgraphError, UnsupportedError
from symgraph.graph.core import Tensor
from symgraph.graph.sources import Variable
from symgraph.ops import collective
from symgraph.ops.collective import OPS

DEFAULT_TIMEOUT = 300.0


class DistributedError(SymgraphError, RuntimeError):
    """The processes of a job disagree (their models or data differ), or MPI failed."""


class _State:
    """The job as this process sees it, set by ``init()``."""

    def __init__(self) -> None:
        self.comm: Any = None  # a private duplicate of the job's communicator
        self.mpi: Any = None  # mpi4py.MPI
        self.lib: Any = None  # the helper (ctypes)
        self.rank = 0
        self.size = 1
        self.local_size = 1
        self.timeout = DEFAULT_TIMEOUT
        self.busy: tuple[int, str] | None = None  # (monotonic ns, what) of a Python-side collective
        self.watchdog: threading.Thread | None = None
        self.previous_hook: Any = None


_state = _State()
_lock = threading.Lock()


def _mpi4py() -> Any:
    try:
        from mpi4py import MPI  # an optional dependency: only a job that calls init() needs it
    except ImportError as exc:
        raise UnsupportedError(
            f"symgraph.distributed needs mpi4py and an MPI library ({exc}): pip install 'symgraph[distributed]' "
            "(mpi4py and the mpich wheel), then launch with mpiexec -n N python script.py"
        ) from None
    return MPI


def init(comm: Any = None, timeout: float | None = None, abort_on_exception: bool = True) -> None:
    """Join the MPI job (every process calls it once; later calls change nothing).

    ``comm``: an mpi4py communicator (default ``COMM_WORLD``), duplicated so that
    symgraph's messages never meet the program's own. ``timeout``: seconds one collective
    may wait for the others before the watchdog ends the job (default
    ``$SYMGRAPH_DIST_TIMEOUT`` or 300; 0: no watchdog). ``abort_on_exception``: an
    uncaught exception in any process ends every process (``MPI_Abort``)."""
    with _lock:
        if _state.comm is not None:
            return
        MPI = _mpi4py()
        if not MPI.Is_initialized():
            MPI.Init_thread(MPI.THREAD_MULTIPLE)
        base = MPI.COMM_WORLD if comm is None else comm
        lib = _helper.load()  # first: a failed build leaves the process as it was
        duplicate = base.Dup()
        if lib.sg_dist_set_comm(MPI._addressof(duplicate)) != 0:
            raise DistributedError("symgraph.distributed: MPI refused to set the communicator's error handler")
        _state.mpi, _state.lib, _state.comm = MPI, lib, duplicate
        _state.rank, _state.size = duplicate.Get_rank(), duplicate.Get_size()
        local = duplicate.Split_type(MPI.COMM_TYPE_SHARED)
        _state.local_size = local.Get_size()
        local.Free()
        _state.timeout = _timeout(timeout)
        hook = np.zeros(4, np.int64)
        hook[collective.HOOK_REDUCE] = _helper.address(lib, "sg_dist_reduce")
        hook[collective.HOOK_CHECK] = _helper.address(lib, "sg_dist_check")
        hook[collective.HOOK_SIZE] = _state.size
        hook[collective.HOOK_RANK] = _state.rank
        collective.MPI_HOOK.set_value(hook)
        collective.set_python_reducer(_reduce_buffers)
        _share_cores()
        if abort_on_exception:
            _state.previous_hook = sys.excepthook
            sys.excepthook = _abort_on_exception
        if _state.timeout > 0 and _state.size > 1:
            _state.watchdog = threading.Thread(target=_watch, name="symgraph-distributed-watchdog", daemon=True)
            _state.watchdog.start()


def _timeout(given: float | None) -> float:
    if given is not None:
        return float(given)
    text = os.environ.get("SYMGRAPH_DIST_TIMEOUT")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        return float(text)
    except ValueError:
        raise InputError(f"SYMGRAPH_DIST_TIMEOUT must be a number of seconds, got {text!r}") from None


def _share_cores() -> None:
    """OMP_NUM_THREADS = this process's cores / the processes on this machine, unless set."""
    if "OMP_NUM_THREADS" in os.environ or _state.local_size <= 1:
        return
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    os.environ["OMP_NUM_THREADS"] = str(max(1, cores // _state.local_size))


def initialized() -> bool:
    """Whether ``init()`` ran in this process."""
    return _state.comm is not None


def _require() -> _State:
    if _state.comm is None:
        init()
    return _state


def rank() -> int:
    """This process's number in the job, 0 .. size() - 1 (joins the job if needed)."""
    return _require().rank


def size() -> int:
    """The number of processes in the job (joins the job if needed)."""
    return _require().size


def local_size() -> int:
    """The number of the job's processes on this machine."""
    return _require().local_size


def is_chief() -> bool:
    """Whether this process is rank 0 (or no job was joined): the one that prints and writes."""
    return _state.comm is None or _state.rank == 0


# ---------------------------------------------------------------- faults


def _abort_on_exception(exc_type: type, exc: BaseException, tb: Any) -> None:
    """sys.excepthook: the traceback as usual, then the whole job ends."""
    previous = _state.previous_hook or sys.__excepthook__
    previous(exc_type, exc, tb)
    if _state.comm is None or _state.size <= 1:
        return
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    sys.stderr.write(
        f"symgraph.distributed: rank {_state.rank} of {_state.size} stopped on {exc_type.__name__}: "
        f"{str(exc).splitlines()[0] if str(exc) else ''}; aborting the other processes (MPI_Abort)\n"
    )
    sys.stderr.flush()
    _state.mpi.COMM_WORLD.Abort(1)


def _waiting() -> tuple[float, str] | None:
    """(seconds, what) of the collective running now in this process, or None."""
    since, what = 0, ""
    if _state.lib is not None:
        since, what = int(_state.lib.sg_dist_busy_since()), "a compiled allreduce"
    python = _state.busy
    if python is not None and (since == 0 or python[0] < since):
        since, what = python
    if since == 0:
        return None
    return (time.monotonic_ns() - since) / 1e9, what


def _watch() -> None:
    period = min(1.0, max(0.05, _state.timeout / 10))
    while True:
        time.sleep(period)
        waiting = _waiting()
        if waiting is None or waiting[0] <= _state.timeout:
            continue
        seconds, what = waiting
        sys.stderr.write(
            f"symgraph.distributed: rank {_state.rank} of {_state.size} has waited {seconds:.0f} s in {what} for "
            f"the other processes (timeout {_state.timeout:g} s, SYMGRAPH_DIST_TIMEOUT): one of them stopped, hangs "
            "or runs a different program; aborting the job (MPI_Abort)\n"
        )
        sys.stderr.flush()
        _state.mpi.COMM_WORLD.Abort(3)
        return


@contextlib.contextmanager
def _collective(what: str) -> Iterator[Any]:
    """A Python-side collective: the watchdog sees it, an MPI error becomes ours."""
    state = _require()
    state.busy = (time.monotonic_ns(), what)
    try:
        yield state.comm
    except state.mpi.Exception as exc:
        raise DistributedError(f"symgraph.distributed: {what} failed on rank {state.rank}: {exc}") from None
    finally:
        state.busy = None


# ---------------------------------------------------------------- collectives on values


def _reduce_buffers(buffers: list[np.ndarray], op: str, signature: int, counts: list[int]) -> None:
    """The numpy reference of an allreduce node: the layout check, then each buffer
    reduced in place (the mean: the sum divided by the number of processes)."""
    layouts = allgather_object((signature, list(counts)))
    if any(layout != layouts[0] for layout in layouts):
        differ = [r for r, layout in enumerate(layouts) if layout != layouts[0]][:3]
        shown = ", ".join(f"rank {r} {sum(layouts[r][1])} elements (layout {layouts[r][0]:016x})" for r in differ)
        raise DistributedError(
            "allreduce: the processes' graphs differ (shapes or numbers of tensors): rank 0 reduces "
            f"{sum(layouts[0][1])} elements (layout {layouts[0][0]:016x}), {shown}"
        )
    MPI = _state.mpi
    with _collective("allreduce") as comm:
        for buffer in buffers:
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    if op == "mean":
        for buffer in buffers:
            np.divide(buffer, buffer.dtype.type(_state.size), out=buffer)


def allreduce_arrays(arrays: Sequence[Any], op: str = "sum") -> list[np.ndarray]:
    """Numpy arrays reduced across the processes now (one message per dtype)."""
    if op not in OPS:
        raise InputError(f"allreduce: op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    values = [np.array(a, copy=True) for a in arrays]
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        if v.dtype.name not in collective.DTYPE_CODES:
            raise InputError(f"allreduce reduces {', '.join(collective.DTYPE_CODES)}; got {v.dtype.name}")
        groups.setdefault(v.dtype.name, []).append(i)
    MPI = _require().mpi
    with _collective("allreduce") as comm:
        for members in groups.values():
            buffer = np.concatenate([values[i].reshape(-1) for i in members])
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            offset = 0
            for i in members:
                n = values[i].size
                values[i] = buffer[offset : offset + n].reshape(values[i].shape)
                offset += n
    if op == "mean":
        for v in values:
            if v.dtype.kind != "f":
                raise InputError(f"allreduce(op='mean') needs float arrays, got {v.dtype.name}: use op='sum'")
            np.divide(v, v.dtype.type(_state.size), out=v)
    return values


def allreduce(value: Any, op: str = "mean") -> Any:
    """The sum (``op="sum"``) or mean (``op="mean"``) of ``value`` over the processes.

    A tensor, or a list / tuple of tensors, gives graph: one node that reduces them all
    at every call of the compiled function (one contiguous buffer and one message per
    dtype), with the allreduce as its gradient. A numpy array (or a list of them) is
    reduced now."""
    if op not in OPS:
        raise InputError(f"allreduce: op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, Tensor) for v in value):
            reduced = collective.allreduce_tensors(list(value), op)
        else:
            reduced = allreduce_arrays(value, op)
        return type(value)(reduced)
    if isinstance(value, Tensor):
        return collective.allreduce_tensors([value], op)[0]
    return allreduce_arrays([value], op)[0]


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """``root``'s Python object, in every process."""
    with _collective("broadcast") as comm:
        return comm.bcast(obj, root=root)


def allgather_object(obj: Any) -> list:
    """Every process's Python object, by rank, in every process."""
    with _collective("allgather") as comm:
        return comm.allgather(obj)


def allgather_rows(array: np.ndarray) -> np.ndarray:
    """The processes' arrays concatenated along axis 0 in rank order (their other axes
    and dtypes must agree), in every process."""
    array = np.ascontiguousarray(array)
    described = allgather_object((array.shape, array.dtype.str))
    trailing = {(shape[1:], dtype) for shape, dtype in described}
    if len(trailing) > 1:
        raise DistributedError(f"allgather_rows: the processes' arrays differ beyond axis 0: {described}")
    rows = [shape[0] for shape, _ in described]
    row_size = int(np.prod(array.shape[1:], dtype=np.int64))
    out = np.empty((sum(rows), *array.shape[1:]), array.dtype)
    counts = [r * row_size for r in rows]
    displacements = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    mpi_type = _state.mpi._typedict[array.dtype.char]
    with _collective("allgather") as comm:
        comm.Allgatherv([array, mpi_type], [out, (counts, displacements), mpi_type])
    return out


def barrier() -> None:
    """Wait until every process gets here."""
    with _collective("barrier") as comm:
        comm.Barrier()


def _describe_variable(v: Any, index: int) -> tuple[str, tuple, str]:
    name = getattr(v, "path", None) or getattr(v, "name", None) or f"#{index}"
    return (str(name), tuple(np.shape(_value_of(v))), np.asarray(_value_of(v)).dtype.name)


def _value_of(v: Any) -> np.ndarray:
    if isinstance(v, Variable):
        return v.storage
    getter = getattr(v, "get_value", None)
    if getter is None:
        raise InputError(f"broadcast_variables takes Variables, got {type(v).__name__}")
    return np.asarray(getter())


def check_same_variables(variables: Sequence[Any], what: str = "broadcast_variables") -> None:
    """Raise DistributedError in every process, naming the first difference, unless every
    process holds variables of the same number, shapes and dtypes."""
    mine = [_describe_variable(v, i) for i, v in enumerate(variables)]
    everyone = allgather_object([(shape, dtype) for _, shape, dtype in mine])
    if all(layout == everyone[0] for layout in everyone):
        return
    root_names = allgather_object([name for name, _, _ in mine])
    for r, layout in enumerate(everyone):
        if layout == everyone[0]:
            continue
        if len(layout) != len(everyone[0]):
            raise DistributedError(
                f"{what}: the processes' models differ: rank {r} has {len(layout)} variables, rank 0 has "
                f"{len(everyone[0])} (rank 0: {', '.join(root_names[0][:6])}{' ...' if len(root_names[0]) > 6 else ''}"
                f"; rank {r}: {', '.join(root_names[r][:6])}{' ...' if len(root_names[r]) > 6 else ''})"
            )
        k = next(i for i, (a, b) in enumerate(zip(layout, everyone[0])) if a != b)
        raise DistributedError(
            f"{what}: the processes' models differ: variable {k} ({root_names[0][k]!r}) is "
            f"{everyone[0][k][1]}{everyone[0][k][0]} on rank 0 but {layout[k][1]}{layout[k][0]} "
            f"({root_names[r][k]!r}) on rank {r}"
        )


def broadcast_variables(variables: Iterable[Any], root: int = 0, what: str = "broadcast_variables") -> None:
    """Every process's ``variables`` take ``root``'s values (one message per dtype),
    after checking that every process holds the same variables (count, shapes, dtypes):
    a difference raises DistributedError naming it (``what`` says who asked), in every
    process."""
    variables = list(variables)
    state = _require()
    if not 0 <= root < state.size:
        raise InputError(f"broadcast_variables: root {root} is not a rank of this job of {state.size} processes")
    check_same_variables(variables, what)
    groups: dict[str, list[int]] = {}
    values = [_value_of(v) for v in variables]
    for i, value in enumerate(values):
        groups.setdefault(value.dtype.name, []).append(i)
    with _collective("broadcast") as comm:
        for members in groups.values():
            buffer = np.concatenate([values[i].reshape(-1) for i in members]) if members else None
            comm.Bcast(buffer, root=root)
            offset = 0
            for i in members:
                n = values[i].size
                if state.rank != root:
                    variables[i].set_value(buffer[offset : offset + n].reshape(values[i].shape))
                offset += n


def abort(message: str, code: int = 1) -> None:
    """End every process of the job now, printing ``message`` from this one."""
    sys.stderr.write(f"symgraph.distributed: rank {_state.rank}: {message}\n")
    sys.stderr.flush()
    if _state.mpi is not None:
        _state.mpi.COMM_WORLD.Abort(code)
    raise SystemExit(code)


__all__ = [
    "DistributedError",
    "abort",
    "allgather_object",
    "allgather_rows",
    "allreduce",
    "allreduce_arrays",
    "barrier",
    "broadcast_object",
    "broadcast_variables",
    "check_same_variables",
    "init",
    "initialized",
    "is_chief",
    "local_size",
    "rank",
    "size",
]
