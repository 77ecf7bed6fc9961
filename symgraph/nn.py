"""``sg.nn``: neural-network ops (activations, softmax, cross-entropies; convolution,
pooling, normalisation and dropout arrive with the NN issue)."""

from symgraph.ops.activations import *  # noqa: F403
from symgraph.ops.activations import __all__ as _activations
from symgraph.ops.losses import *  # noqa: F403
from symgraph.ops.losses import __all__ as _losses

__all__ = [*_activations, *_losses]
