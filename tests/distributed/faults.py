"""Faults the distributed tests inject (``mpiexec -n 2 python faults.py <fault>``); rank 1
misbehaves, and the job must end with a clear error rather than hang:

- ``raise``: rank 1 raises in the middle of fit (the excepthook's MPI_Abort ends the job);
- ``kill``: rank 1 is killed by SIGKILL in the middle of fit (mpiexec ends the job);
- ``exit``: rank 1 leaves quietly in the middle of fit (the watchdog ends the job);
- ``model``: rank 1 built a different model (named at the first step);
- ``graph``: rank 1's compiled function reduces a differently shaped tensor (named);
- ``batch``: rank 1 reads other global batches (named at the first step).
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

import symgraph as sg
import symgraph.distributed as dist
from symgraph import keras


def model(units: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((12,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(3)])
    m.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def misbehave(fault: str) -> None:
    if fault == "raise":
        raise RuntimeError("injected failure on rank 1")
    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "exit":
        sys.exit(0)  # a quiet exit: the others wait in their next step


def main() -> None:
    fault = sys.argv[1]
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    rank = dist.rank()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 12)).astype("float32"), rng.integers(0, 3, 64).astype("int32")
    if fault == "graph":
        t = sg.placeholder((None,), name="t")
        f = sg.function([t], dist.allreduce(t * 2.0))
        f(np.ones(4 if rank == 1 else 3, "float32"))
        return
    m = model(8 if fault == "model" and rank == 1 else 16)
    hook = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: misbehave(fault) if rank == 1 and batch == 2 else None
    )
    m.fit(x, y, batch_size=8 if fault == "batch" and rank == 1 else 16, epochs=3, verbose=0, callbacks=[hook])
    print(f"rank {rank}: fit finished", flush=True)


if __name__ == "__main__":
    main()
