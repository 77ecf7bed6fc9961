"""What an op's C emitter receives: the contract between ops and symgraph/codegen.

Ops never import codegen. An op gives C in one of two forms, and codegen owns every
loop, buffer and declaration around it:

- Elementwise ops define ``c_expr(self, args: list[str], dtype: np.dtype) -> str``: a C
  expression of the scalar operands ``args`` (each already of the op's input dtype,
  ``dtype``; for Cast the input dtype) whose value is the output element. Codegen puts
  it inside its loops (and, later, fuses several into one loop).

- Every other op defines ``c_kernel(self, inputs: list[CArray], outputs: list[CArray])
  -> str``: C statements computing the outputs from the inputs. Every ``CArray`` is a
  contiguous C-order buffer (codegen copies strided views first). The statements run
  inside a function with ``SG_ERR_PARAMS``, so ``SG_FAIL(SG_ERR_INDEX, "fmt", ...)``
  reports a call-time error (its message names values; codegen adds the op, the input
  types and the user's line). They may declare locals, call anything in csrc/ headers
  (BLAS through ``SG_CBLAS(sgemm)``), and must free what they allocate.

Sizes are C expressions of type int64_t (``shape``); a symbolic size is a variable
bound at call time, a static one a literal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symgraph.graph.shape import Dim


@dataclass(frozen=True)
class CArray:
    """A contiguous C-order array as generated C sees it."""

    ptr: str  # a C expression of type ctype* (const ctype* for inputs)
    ctype: str  # the element's C type: float, double, int64_t, bool, ...
    dtype: np.dtype
    shape: tuple[str, ...]  # int64_t C expressions, one per axis
    static_shape: tuple[Dim, ...]  # the graph's shape: ints where static
    # a computed array (an elementwise producer fused into its reader): the statements
    # and expression giving the element at a flat offset; ``ptr`` is then unused
    element: Callable[[str], tuple[list[str], str]] | None = None

    def read(self, offset: str, into: str) -> str:
        """C statements declaring ``into`` as the element at flat ``offset``: a load, or
        the computation of a fused producer (kernels that support that read through this)."""
        if self.element is None:
            return f"const {self.ctype} {into} = {self.ptr}[{offset}];"
        lines, expr = self.element(offset)
        return "\n".join([*lines, f"const {self.ctype} {into} = ({self.ctype})({expr});"])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> str:
        """The element count as one C expression."""
        return "(" + "*".join(self.shape) + ")" if self.shape else "1"

    def stride(self, axis: int) -> str:
        """The element stride of ``axis`` as a C expression."""
        rest = self.shape[axis + 1 :]
        return "(" + "*".join(rest) + ")" if rest else "1"


C_TYPES = {
    "bool": "bool",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "float32": "float",
    "float64": "double",
}


def c_type(dtype: np.dtype) -> str:
    """The C type of one element of ``dtype``."""
    return C_TYPES[np.dtype(dtype).name]


def c_math(name: str, dtype: np.dtype) -> str:
    """The C math function ``name`` for ``dtype``: libm's expf for float32, exp for float64.

    The exceptions are float32 exp, log, tanh, log1p and expm1, which go to symgraph's own
    vectorisable polynomial versions in csrc/symgraph_math.h (``sg_expf``, ...; within 2
    ulp, IEEE special cases kept: libm's scalar calls would keep fused loops from running
    at SIMD width), and ``sigmoid``, which libm lacks: ``sg_sigmoidf`` / ``sg_sigmoid``.
    float64 keeps libm.
    """
    if name == "sigmoid":  # not in libm
        return "sg_sigmoidf" if np.dtype(dtype) == np.float32 else "sg_sigmoid"
    if np.dtype(dtype) == np.float32:
        own = {"exp": "sg_expf", "log": "sg_logf", "tanh": "sg_tanhf", "log1p": "sg_log1pf", "expm1": "sg_expm1f"}
        return own.get(name, name + "f")
    return name
