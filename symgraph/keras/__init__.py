"""``symgraph.keras``: the Keras 3 surface over symgraph's compiled graphs.

``from symgraph import keras`` (or ``import symgraph.keras as keras``) gives Input,
Model, Sequential, layers, optimizers, losses, metrics, callbacks, utils, datasets,
backend, initializers, regularizers, activations, saving, ops (``keras.ops``) and
distribution (data-parallel training over MPI processes). A model compiles one training
step and one inference step as symgraph functions (one C unit each) and calls them per batch.
"""

# ruff: noqa: F401

from symgraph.keras import (
    activations,
    backend,
    callbacks,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    naming,
    ops,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
)
from symgraph.keras.layers import Input, InputSpec, KerasTensor, Layer
from symgraph.keras.models import Model, Sequential

__version__ = "3.15.0"  # the Keras version whose behaviour this facade follows

__all__ = [
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "datasets",
    "distribution",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "regularizers",
    "saving",
    "utils",
]
