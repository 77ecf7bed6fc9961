"""The MNIST CNN tutorial (examples/keras_mnist_cnn.py) trained data-parallel over MPI.

The same script runs in every process; ``batch_size`` is the global batch, and each
process trains on its shard of every batch (keras.distribution.DataParallel):

    pip install -e ".[distributed]"                            # mpi4py and the mpich wheel
    mpiexec -n 4 python examples/keras_mnist_cnn_dp.py --epochs 2
    mpiexec -n 2 python examples/keras_mnist_cnn_dp.py --epochs 1 --limit 2048   # briefly

On several machines, the same command with mpiexec's host list (every machine needs the
same environment and the script at the same path; MNIST ships with the repository):

    mpiexec -n 8 -hosts node1:4,node2:4 python examples/keras_mnist_cnn_dp.py
    mpiexec -n 8 -f hostfile python examples/keras_mnist_cnn_dp.py   # lines "node1:4"

Only rank 0 prints the progress bar and the results; every process ends with the same
weights (rank 0's initial weights are broadcast when fit starts).
"""

from __future__ import annotations

import argparse

from _data import DATA_DIR_HELP, default_data_dir
from keras_mnist_cnn import build_model

import symgraph.distributed as dist
from symgraph import keras


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch, split across the processes")
    parser.add_argument("--limit", type=int, default=60000, help="train on the first N training images")
    parser.add_argument("--test-limit", type=int, default=10000, help="evaluate on the first N test images")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    args = parser.parse_args(argv)

    keras.distribution.set_distribution(keras.distribution.DataParallel())
    keras.utils.set_random_seed(args.seed)
    if dist.is_chief():
        print(f"{dist.size()} processes: {keras.distribution.list_devices()}", flush=True)

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(args.data_dir or default_data_dir())
    x_train = (x_train[: args.limit].astype("float32") / 255).reshape(-1, 28, 28, 1)
    y_train = y_train[: args.limit]
    x_test = (x_test[: args.test_limit].astype("float32") / 255).reshape(-1, 28, 28, 1)
    y_test = y_test[: args.test_limit]

    model = build_model()
    if dist.is_chief():
        model.summary()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose, validation_split=0.1
    )
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    if dist.is_chief():
        print(f"Test loss: {loss:.4f}")
        print(f"Test accuracy: {accuracy:.4f}")
    return float(accuracy)


if __name__ == "__main__":
    main()
