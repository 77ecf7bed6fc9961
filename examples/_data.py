"""MNIST for the examples: where to find it, and as float32 matrices.

The repository ships MNIST's four IDX files with their SHA-256 in ``examples/data/mnist``
(``MNIST_DIR``), so the examples run without network; the loader checks each file
against ``SHA256SUMS`` as it reads it.

``load_mnist(data_dir)`` returns ``x_train, y_train, x_test, y_test`` with the images
flattened to rows of 784 float32 pixels scaled to [0, 1] and the labels as int32. It
loads through ``symgraph.datasets.mnist.load_data`` and remembers the result, so
several runs in one process (the tests) read the files once; the arrays are read-only.
Importing it also makes a checkout's symgraph importable when it is not installed, so
``python examples/<name>.py`` works from the repository as it is.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("symgraph") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from symgraph.datasets import mnist  # noqa: E402

MNIST_DIR = Path(__file__).resolve().parent / "data" / "mnist"
DATA_DIR_HELP = (
    "a directory holding mnist.npz or the IDX files (default: $SYMGRAPH_MNIST_DIR if set, else the "
    "repository's copy in examples/data/mnist)"
)


def default_data_dir() -> str | None:
    """The directory the examples read MNIST from when ``--data-dir`` is not given.

    The repository's copy (``MNIST_DIR``), unless SYMGRAPH_MNIST_DIR names another
    directory or the copy is gone: then None, the loader's own search (SYMGRAPH_MNIST_DIR,
    the cache, a download).
    """
    if os.environ.get("SYMGRAPH_MNIST_DIR"):
        return None
    return str(MNIST_DIR) if MNIST_DIR.is_dir() else None


@functools.lru_cache(maxsize=2)
def load_mnist(data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x_train (60000, 784) float32, y_train (60000,) int32, x_test, y_test``."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir)
    arrays = (
        (x_train.reshape(len(x_train), -1) / np.float32(255)).astype(np.float32),
        y_train.astype(np.int32),
        (x_test.reshape(len(x_test), -1) / np.float32(255)).astype(np.float32),
        y_test.astype(np.int32),
    )
    for a in arrays:
        a.flags.writeable = False
    return arrays


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """float32 one-hot rows for integer labels."""
    return np.eye(num_classes, dtype=np.float32)[labels]


def training_arguments(description: str, *, epochs: int, lr: float, lr_help: str) -> argparse.ArgumentParser:
    """The command-line flags both examples share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=lr, help=lr_help)
    parser.add_argument(
        "--data-dir",
        default=None,
        help=DATA_DIR_HELP,
    )
    parser.add_argument("--mode", default=None, help="sg.function mode (default: symgraph's default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the minibatch shuffling")
    return parser
