"""``keras.distribution``: Keras 3's names for data-parallel training, over the processes
of an MPI job (``mpiexec -n 4 python train.py``; ``pip install 'symgraph[distributed]'``).

    from symgraph import keras
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=128, epochs=2)     # the same script in every process

Under ``DataParallel`` (symgraph/keras/trainer.py does the work):

- every process reads the same global batches (``batch_size`` stays the global batch, as
  in Keras) and keeps its shard: rank r of N takes rows [r*B//N + min(r, B%N) ...), the
  first B % N ranks one row more, so a batch of 32 on 3 processes splits 11, 11, 10, and
  a last batch smaller than N leaves some processes an empty shard;
- each step's gradients are the shards' gradients weighted by their share of the global
  batch and summed (one allreduce inside the compiled step), so the update is the
  one-process update on the global batch (float rounding aside); the metrics' and the
  loss tracker's accumulators are summed the same way, so every process reports the
  same logs and History;
- BatchNormalization normalises with each process's own shard statistics, as Keras'
  data parallelism does (``synchronized=False``); its moving statistics are averaged
  across the processes (weighted by shard) after each step, so every process holds the
  same model;
- when ``fit``, ``evaluate`` or ``predict`` starts, every weight (and the optimizer's
  state) is broadcast from rank 0, after checking that every process built the same
  model (a difference names the variable and the ranks); ``predict`` returns every
  sample's output in every process;
- shuffling agrees (rank 0's numpy random state is broadcast at each epoch), random
  draws inside the step (dropout, augmentation) differ per process (the rank is folded
  into the generator's key during ``fit``);
- only rank 0 prints (progress bar, callbacks' messages) and writes files
  (ModelCheckpoint, BackupAndRestore, TensorBoard, CSVLogger); a resumed fit restores on
  rank 0 and broadcasts.

``list_devices()`` lists one CPU device per process (``"cpu:<rank>"``); ``DeviceMesh``
and ``DataParallel(devices=...)`` accept those (all of them: one process per device).
``ModelParallel`` and layouts are not available: each process holds the whole model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import symgraph.distributed as dist
from symgraph.errors import UnsupportedError

_distribution: Distribution | None = None


def initialize(job_addresses: Any = None, num_processes: int | None = None, process_id: int | None = None) -> None:
    """Keras 3's multi-host start: here the MPI job's (``mpiexec`` gives the addresses);
    ``num_processes`` and ``process_id``, when given, must be the job's."""
    dist.init()
    if num_processes is not None and num_processes != dist.size():
        raise ValueError(f"initialize: num_processes={num_processes}, but mpiexec started {dist.size()} processes")
    if process_id is not None and process_id != dist.rank():
        raise ValueError(f"initialize: process_id={process_id}, but this is process {dist.rank()} of the MPI job")


def list_devices(device_type: str | None = None) -> list[str]:
    """One device per process of the job, ``"cpu:<rank>"`` (symgraph runs on CPUs: a
    ``device_type`` of "gpu" or "tpu" lists none)."""
    if device_type is not None and device_type.lower() not in ("cpu", "gpu", "tpu"):
        raise ValueError(f"Unknown device_type {device_type!r}: expected 'cpu', 'gpu' or 'tpu'")
    if device_type is not None and device_type.lower() != "cpu":
        return []
    return [f"cpu:{r}" for r in range(dist.size())]


def get_device_count(device_type: str | None = None) -> int:
    """The number of devices ``list_devices`` lists: the job's processes."""
    return len(list_devices(device_type))


def _check_devices(devices: Sequence[str]) -> list[str]:
    everyone = list_devices()
    given = [str(d).lower() for d in devices]
    if sorted(given) != sorted(everyone):
        raise ValueError(
            f"symgraph's DataParallel runs one process per device and needs all of them: devices must be "
            f"{everyone} (list_devices()), got {list(devices)}"
        )
    return given


class DeviceMesh:
    """A one-axis mesh of the job's processes (the only layout data parallelism needs)."""

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str], devices: Sequence[str] | None = None):
        shape, axis_names = tuple(int(s) for s in shape), tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"Shape and axis_names cannot be mismatched. Received: {shape} and {axis_names}")
        devices = list_devices() if devices is None else _check_devices(list(np.ravel(np.asarray(devices))))
        if int(np.prod(shape)) != len(devices):
            raise ValueError(f"Shape {shape} does not match the number of devices {len(devices)}")
        if len(shape) != 1:
            raise UnsupportedError(
                "symgraph's distribution is data parallel only: a DeviceMesh has one axis (the batch), got shape "
                f"{shape}"
            )
        self.shape, self.axis_names, self.devices = shape, axis_names, np.asarray(devices).reshape(shape)

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={list(self.axis_names)}>"


class Distribution:
    """Base of the distributions (Keras' ``keras.distribution.Distribution``)."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self) -> str | None:
        return self._batch_dim_name

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """This distribution for the code inside (``with distribution.scope():``)."""
        global _distribution
        previous, _distribution = _distribution, self
        try:
            yield
        finally:
            _distribution = previous

    def distribute_dataset(self, dataset: Any) -> Any:
        """The dataset as given: every process reads the whole global batches and the
        trainer keeps its shard of each."""
        return dataset


class DataParallel(Distribution):
    """Data parallelism over the job's processes: the module's docstring says what it does."""

    def __init__(
        self,
        device_mesh: DeviceMesh | None = None,
        devices: Sequence[str] | None = None,
        auto_shard_dataset: bool = True,
    ):
        # auto_shard_dataset is Keras' tf.data option; the trainer always takes each
        # process's shard of every global batch, whatever the data is
        self.auto_shard_dataset = auto_shard_dataset
        dist.init()
        if device_mesh is None:
            device_mesh = DeviceMesh((dist.size(),), ["batch"], devices)
        elif len(device_mesh.shape) != 1:
            raise ValueError(f"DataParallel takes a 1-D device mesh, got shape {device_mesh.shape}")
        super().__init__(device_mesh, device_mesh.axis_names[0])

    @property
    def rank(self) -> int:
        return dist.rank()

    @property
    def num_processes(self) -> int:
        return dist.size()

    def shard_bounds(self, global_batch: int, rank: int | None = None) -> tuple[int, int]:
        """The rows [start, stop) of a global batch of ``global_batch`` rows that ``rank``
        (this process by default) trains on."""
        return shard_bounds(global_batch, self.rank if rank is None else rank, self.num_processes)

    def __repr__(self) -> str:
        return f"<DataParallel processes={self.num_processes}, rank={self.rank}>"


def shard_bounds(global_batch: int, rank: int, processes: int) -> tuple[int, int]:
    """Rank ``rank``'s rows [start, stop) of a global batch split over ``processes``: the
    first ``global_batch % processes`` ranks take one row more (32 on 3: 11, 11, 10)."""
    base, extra = divmod(global_batch, processes)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class ModelParallel(Distribution):
    """Not available: every process holds the whole model (data parallelism only)."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise UnsupportedError(
            "keras.distribution.ModelParallel is not available in symgraph: use DataParallel (each process holds "
            "the whole model and trains on its shard of every batch)"
        )


class LayoutMap:
    """Not available (model parallelism): see ``ModelParallel``."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise UnsupportedError("keras.distribution.LayoutMap is not available in symgraph: DataParallel needs none")


class TensorLayout:
    """Not available (model parallelism): see ``ModelParallel``."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise UnsupportedError("keras.distribution.TensorLayout is not available in symgraph: DataParallel needs none")


def distribute_tensor(tensor: Any, layout: Any) -> Any:
    """Keras' placement of a tensor by a layout: every process holds whole tensors here,
    so only a layout of None (no layout) is accepted, and the tensor is returned."""
    if layout is not None:
        raise UnsupportedError("keras.distribution.distribute_tensor: layouts are not available in symgraph")
    return tensor


def set_distribution(value: Distribution | None) -> None:
    """The distribution every later ``fit``/``evaluate``/``predict`` runs under (None: none)."""
    global _distribution
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"Expected a keras.distribution.Distribution instance, got {value!r}")
    _distribution = value


def distribution() -> Distribution | None:
    """The distribution set now (None: training in this process alone)."""
    return _distribution


def data_parallel() -> DataParallel | None:
    """The active DataParallel, or None. A job of one process runs the same reduced step
    (its allreduce is a copy), so a script behaves alike under ``mpiexec -n 1``."""
    return _distribution if isinstance(_distribution, DataParallel) else None


def is_chief() -> bool:
    """Whether this process prints and writes files: rank 0, or any process without a
    distribution."""
    return _distribution is None or dist.is_chief()


__all__ = [
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "LayoutMap",
    "ModelParallel",
    "TensorLayout",
    "distribute_tensor",
    "distribution",
    "get_device_count",
    "initialize",
    "list_devices",
    "set_distribution",
]
