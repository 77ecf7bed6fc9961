"""Checkpoints under DataParallel (``mpiexec -n N python resume.py --out DIR --phase P``):

- ``full``: 4 epochs without interruption (progress bar on, so that the test can count
  who printed);
- ``first``: the same fit with BackupAndRestore, interrupted when epoch 3 begins (every
  process raises, and the script catches it, as a job stopped between epochs);
- ``second``: the same fit again, perhaps on another number of processes: it resumes from
  rank 0's backup and must end where ``full`` ended.

Every process also asks for a ModelCheckpoint, a CSVLogger and a TensorBoard log in
files named after its rank: only rank 0's may exist. Each writes its final weights and
History to ``<out>/<phase>-rank<r>.npz``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os

import numpy as np

import symgraph.distributed as dist
from symgraph import keras


class Interrupted(Exception):
    pass


def stop_at_epoch_2(epoch: int, logs: dict) -> None:
    if epoch == 2:
        raise Interrupted(f"stopped as epoch {epoch + 1} begins")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--phase", choices=("full", "first", "second"), required=True)
    args = ap.parse_args()
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    rank = dist.rank()
    keras.utils.set_random_seed(3 + rank)  # rank 0's weights reach the others by broadcast
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 12)).astype("float32"), rng.integers(0, 3, 50).astype("int32")
    out = args.out
    callbacks = [
        keras.callbacks.ModelCheckpoint(os.path.join(out, f"ckpt-rank{rank}.weights.h5"), save_weights_only=True),
        keras.callbacks.CSVLogger(os.path.join(out, f"log-{args.phase}-rank{rank}.csv")),
    ]
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, f"tb-rank{rank}")))
    if args.phase != "full":
        callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(out, "backup")))
    if args.phase == "first":
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_begin=stop_at_epoch_2))
    history: dict = {}
    try:
        fitted = model.fit(
            x, y, batch_size=16, epochs=4, shuffle=False, callbacks=callbacks, verbose=1 if args.phase == "full" else 0
        )
        history = fitted.history
    except Interrupted as exc:
        print(f"rank {rank}: {exc}", flush=True)
    np.savez(os.path.join(out, f"{args.phase}-rank{rank}.npz"), *model.get_weights(), history=json.dumps(history))


if __name__ == "__main__":
    main()
