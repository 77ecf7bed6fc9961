"""Programs, not only graphs: eager tensors, ``GradientTape`` and traced functions.

- ``eager``: ops on values known now run at once (symgraph/trace/eager.py says when);
- ``variables``: TensorFlow's ``assign*``/``read_value`` on ``sg.Variable``;
- ``tape``: ``GradientTape`` on ``autodiff.vjp``;
- ``jit``: ``sg.jit`` (``tf.function``), a traced function compiled by ``sg.function``.

Importing the package installs the value methods on Tensor and Variable and routes
``apply`` through the eager/trace dispatch.
"""

from symgraph.trace import variables  # noqa: F401  (installs assign & co on Variable)
from symgraph.trace.context import eager, graph, recording, tracing
from symgraph.trace.eager import eager_tensor
from symgraph.trace.jit import TensorSpec, TracedFunction, jit, print_values
from symgraph.trace.tape import GradientTape

__all__ = [
    "GradientTape",
    "TensorSpec",
    "TracedFunction",
    "eager",
    "eager_tensor",
    "graph",
    "jit",
    "print_values",
    "recording",
    "tracing",
]
