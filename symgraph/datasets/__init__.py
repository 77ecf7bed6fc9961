"""Datasets for examples and tests, loaded as Keras loads them.

``symgraph.datasets.mnist.load_data()`` returns MNIST as
``((x_train, y_train), (x_test, y_test))`` uint8 arrays; see that module for where the
files are looked for and how the download is checked. Nothing large ships with the
package: data comes from a directory the user names, the cache (``cache_dir()``) or a
verified download into it. (The repository's examples and tests name the copy of MNIST
the repository holds, ``examples/data/mnist``, checked against its ``SHA256SUMS``.)
"""

from symgraph.datasets import mnist
from symgraph.datasets.mnist import cache_dir

__all__ = ["mnist", "cache_dir"]
