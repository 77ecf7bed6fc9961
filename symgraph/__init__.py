"""symgraph: a define-then-run array compiler.

Declare placeholders and Variables, build a graph with numpy-named ops, take symbolic
gradients with ``grad``, compile with ``function`` and call the result on batch after
batch. See the README for the pipeline.
"""

import importlib.metadata

from symgraph import (
    cache,
    datasets,
    distributed,
    dtypes,
    errors,
    nn,
    onnx,
    ops,  # first: registers the op table and Tensor's operators
    random,
)
from symgraph.autodiff import grad
from symgraph.function import Function, function
from symgraph.graph import (
    Dim,
    DimExpr,
    EagerTensor,
    Tensor,
    Variable,
    as_tensor,
    constant,
    dim,
    placeholder,
)
from symgraph.inspect import dump, to_dot, to_networkx, to_svg
from symgraph.ops.arithmetic import *  # noqa: F403
from symgraph.ops.elementwise import *  # noqa: F403
from symgraph.ops.indexing import *  # noqa: F403
from symgraph.ops.linalg import *  # noqa: F403
from symgraph.ops.math import *  # noqa: F403
from symgraph.ops.reduction import *  # noqa: F403
from symgraph.ops.shape_ops import *  # noqa: F403
from symgraph.scan import scan
from symgraph.trace import GradientTape, TensorSpec, eager, eager_tensor, jit, tracing
from symgraph.trace import print_values as print  # noqa: A001  (tf.print's meaning, as sg.print)

__version__ = importlib.metadata.version("symgraph")  # pyproject.toml's, through the installed metadata

float32 = "float32"
float64 = "float64"
int32 = "int32"
int64 = "int64"
