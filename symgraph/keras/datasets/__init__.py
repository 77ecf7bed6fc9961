"""``keras.datasets``: the data sets tutorials load (MNIST)."""

from symgraph.keras.datasets import mnist

__all__ = ["mnist"]
