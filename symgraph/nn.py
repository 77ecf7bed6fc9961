"""``sg.nn``: neural-network ops (activations, softmax, cross-entropies; convolution,
pooling, normalisation and dropout arrive with the NN issue)."""

from symgraph.ops.activations import *  # noqa: F403
from symgraph.ops.activations import __all__ as _activations
from symgraph.ops.conv import *  # noqa: F403
from symgraph.ops.conv import __all__ as _conv
from symgraph.ops.embedding import embedding
from symgraph.ops.losses import *  # noqa: F403
from symgraph.ops.losses import __all__ as _losses
from symgraph.ops.normalization import *  # noqa: F403
from symgraph.ops.normalization import __all__ as _normalization
from symgraph.ops.pooling import *  # noqa: F403
from symgraph.ops.pooling import __all__ as _pooling
from symgraph.random import dropout
from symgraph.rnn import gru, lstm, simple_rnn

__all__ = [
    *_activations,
    *_losses,
    *_conv,
    *_pooling,
    *_normalization,
    "simple_rnn",
    "lstm",
    "gru",
    "dropout",
    "embedding",
]
