"""A training run the distributed tests launch: ``mpiexec -n N python train_models.py --mode dp``
(or ``--mode alone`` / ``--mode emulate`` in one process, the references). Each process
writes its final weights, History, evaluation and predictions to
``<out>/<model>-<mode>-rank<r>.npz``.

- ``dp``: keras.distribution.DataParallel over the job; processes other than rank 0 build
  their model from another seed (rank 0's weights must reach them by broadcast).
- ``alone``: the same training in one process without a distribution: the global batches.
- ``emulate``: one process computes what N processes with per-process BatchNormalization
  statistics compute: for every global batch, each shard's SGD step from the same
  starting point, then the shards' new values averaged with their shares (SGD with
  momentum is linear in the gradient, so this is the update of the averaged gradient).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

import symgraph as sg
from symgraph import keras
from symgraph.ops import random as random_ops

SAMPLES, BATCH, SEED, SHUFFLE_SEED = 50, 16, 7, 123


def build(kind: str, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    if kind == "mlp":
        layers = [keras.Input((12,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
    elif kind == "cnn":
        layers = [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    elif kind == "lstm":
        layers = [keras.Input((6, 3)), keras.layers.LSTM(8), keras.layers.Dense(3)]
    elif kind == "dropout":
        layers = [keras.Input((12,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.5),
                  keras.layers.Dense(3)]  # fmt: skip
    else:
        raise SystemExit(f"unknown model {kind!r}")
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = {"mlp": (12,), "dropout": (12,), "cnn": (8, 8, 1), "lstm": (6, 3)}[kind]
    x = rng.standard_normal((SAMPLES, *shape)).astype("float32")
    return x, rng.integers(0, 3, SAMPLES).astype("int32")


def variables(model: keras.Model) -> list:
    return list(model.weights) + list(model.optimizer.variables)


def emulate(model: keras.Model, x: np.ndarray, y: np.ndarray, processes: int, epochs: int) -> None:
    """N processes with per-process statistics, computed in one process (the module's docstring)."""
    model.optimizer.build(model.trainable_weights)  # its slots restart from the same values for every shard
    np.random.seed(SHUFFLE_SEED)
    for _ in range(epochs):
        order = np.random.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start : start + BATCH]
            n = len(index)
            before = [np.array(v.get_value(), copy=True) for v in variables(model)]
            total = [np.zeros_like(b, dtype="float64") for b in before]
            for r in range(processes):
                base, extra = divmod(n, processes)
                lo = r * base + min(r, extra)
                hi = lo + base + (1 if r < extra else 0)
                if hi == lo:
                    continue
                for v, b in zip(variables(model), before):
                    v.set_value(b)
                model.train_on_batch(x[index[lo:hi]], y[index[lo:hi]])
                for t, v, b in zip(total, variables(model), before):
                    t += (hi - lo) / n * (v.get_value().astype("float64") - b)
            for v, b, t in zip(variables(model), before, total):
                v.set_value((b + t).astype(b.dtype))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=("dp", "alone", "emulate"), required=True)
    ap.add_argument("--models", default="mlp,cnn,lstm")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--processes", type=int, default=1, help="emulate: how many processes")
    args = ap.parse_args()
    rank, size = 0, 1
    if args.mode == "dp":
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        rank, size = keras.distribution.distribution().rank, keras.distribution.distribution().num_processes
        assert keras.distribution.list_devices() == [f"cpu:{r}" for r in range(size)]
        assert keras.distribution.get_device_count("cpu") == size and keras.distribution.list_devices("gpu") == []
    for kind in args.models.split(","):
        model = build(kind, SEED + 1000 * rank)  # other ranks start elsewhere: broadcast must fix it
        sg.random.seed(SEED)  # the same generator everywhere: fit itself makes the ranks' draws differ
        x, y = data(kind)
        keys = []
        record = keras.callbacks.LambdaCallback(
            on_train_begin=lambda logs, keys=keys: keys.append(random_ops.GLOBAL_KEY.get_value().tolist())
        )
        history: dict = {}
        if args.mode == "emulate":
            emulate(model, x, y, args.processes, args.epochs)
        else:
            np.random.seed(SHUFFLE_SEED)
            history = model.fit(x, y, batch_size=BATCH, epochs=args.epochs, verbose=0, callbacks=[record]).history
        evaluated = model.evaluate(x, y, batch_size=BATCH, verbose=0)
        predicted = model.predict(x[:37], batch_size=BATCH, verbose=0)
        np.savez(
            os.path.join(args.out, f"{kind}-{args.mode}-rank{rank}.npz"),
            *model.get_weights(),
            history=json.dumps(history),
            evaluated=np.asarray(evaluated, "float64"),
            predicted=predicted,
            key=np.asarray(keys[0] if keys else [], "int64"),
            size=size,
        )
    print(f"rank {rank} of {size}: done", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
