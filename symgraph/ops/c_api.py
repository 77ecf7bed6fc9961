"""What an op's C emitter receives: the contract between ops and symgraph/codegen.

Ops never import codegen. Every op codegen compiles derives from ``CLinkerOp``, which
declares each hook codegen calls, with its default; codegen calls them directly and
owns every loop, buffer and declaration around them. An op gives its C in one of two
forms:

- Elementwise ops (ops/elementwise.py ``Elementwise``) define ``c_expr(args, dtype)``:
  a C expression of the scalar operands ``args`` (each already of the op's input dtype,
  ``dtype``; for Cast the input dtype) whose value is the output element. Codegen puts
  it inside its loops (ops/c_loops.py ``elementwise_loop``) through ``c_body``, whose
  default wraps ``c_expr``; a fused loop (ops/fused.py) overrides ``c_body`` to give
  several statements and outputs.

- Every other op defines ``c_kernel(inputs: list[CArray], outputs: list[CArray]) ->
  str``: C statements computing the outputs from the inputs; codegen reaches it through
  ``c_kernel_in(context, node, inputs, outputs)``, which an op overrides instead when
  its C needs the enclosing unit (a KernelContext: Scan compiles its step graph there).
  Every ``CArray`` is a contiguous C-order buffer (codegen copies strided views first).
  The statements run inside a function with ``SG_ERR_PARAMS``, so
  ``SG_FAIL(SG_ERR_INDEX, "fmt", ...)`` reports a call-time error (its message names
  values; codegen adds the op, the input types and the user's line). They may declare
  locals, call anything in csrc/ headers (BLAS through ``SG_CBLAS(sgemm)``), and must
  free what they allocate.

Either form may add C outside its kernel: ``c_support(dtype)`` (helpers at file scope,
once per unit however many nodes ask), ``c_definitions(inputs, outputs)`` (file-scope
functions the kernel calls), and ``c_loop_checks(dtype)`` (statements after the loop
raising what the loop could only flag). ``kernel_label()`` names the C function.

Sizes are C expressions of type int64_t (``shape``); a symbolic size is a variable
bound at call time, a static one a literal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from symgraph.graph.core import Node, Op, Tensor
from symgraph.graph.shape import Dim, Sym


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


class KernelContext(Protocol):
    """What codegen offers an op writing its kernel (``CLinkerOp.c_kernel_in``): the
    enclosing unit, for C that is more than statements over its own buffers."""

    prefix: str  # a C name prefix unique to this node in the unit (nested steps included)
    is_step: bool  # the unit being written is a scan's step function, not a whole function
    symbols: list[Sym]  # the unit's call-time size symbols, in ``sg_sizes`` order

    def add_support(self, text: str) -> None:
        """Add ``text`` to the unit's file-scope C (once, however often it is added)."""
        ...

    def write_step(self, inputs: list[Tensor], outputs: list[Tensor], prefix: str, thread_local: bool) -> str:
        """Compile the graph from ``inputs`` to ``outputs`` to a static step function
        ``int <entry>(void **sg_buf, const int64_t *sg_sizes, SG_ERR_PARAMS)`` (its
        buffers: the inputs, then the outputs) named with ``prefix``, add it to the
        unit's support code and return its entry name; ``thread_local``: several threads
        run it at once (each keeps its own temporaries)."""
        ...


class CLinkerOp(Op):
    """An op codegen compiles: every hook codegen calls, with its default.

    Graph sources (graph/sources.py: placeholders, Variables, constants, dim_value) stay
    plain ``Op``: codegen places them itself. The hooks take no instance state beyond
    the op's attributes, so equal ops give equal C."""

    def c_expr(self, args: list[str], dtype: np.dtype) -> str:
        """Elementwise ops: the C expression of the output element from the scalar
        operand expressions ``args``, computed in ``dtype`` (the first input's)."""
        raise NotImplementedError(f"{type(self).__name__}.c_expr")

    def c_body(self, args: list[str], dtype: np.dtype) -> tuple[list[str], list[str]]:
        """Elementwise ops: the statements of one loop iteration and each output
        element's expression, from the operand expressions ``args`` (``dtype`` as for
        ``c_expr``). Default: no statements and ``c_expr`` as the one output."""
        return [], [self.c_expr(args, dtype)]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """Other ops: the C statements computing ``outputs`` from ``inputs`` (the
        module's docstring says what they may do)."""
        raise NotImplementedError(f"{type(self).__name__}.c_kernel")

    def c_kernel_in(self, context: KernelContext, node: Node, inputs: list[CArray], outputs: list[CArray]) -> str:
        """What codegen calls for every kernel that is not an elementwise loop: the
        statements, given the enclosing unit (``context``) and the ``node`` being
        written. Default: ``c_kernel(inputs, outputs)``, for C that needs neither."""
        return self.c_kernel(inputs, outputs)

    def c_support(self, dtype: np.dtype | None) -> str:
        """File-scope C the op's code calls (an integer power's helper), for its first
        input's ``dtype`` (None without inputs); the unit holds each distinct text once.
        Default: none."""
        return ""

    def c_definitions(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """File-scope C this node's kernel calls (a fused convolution's epilogue), for
        the same arrays as ``c_kernel``; the unit holds each distinct text once.
        Default: none."""
        return ""

    def c_loop_checks(self, dtype: np.dtype | None) -> list[str]:
        """Statements run after the kernel's code, raising errors the loop could only
        flag (an integer power's negative exponent), for the first input's ``dtype``
        (None without inputs). Default: none."""
        return []

    def kernel_label(self) -> str:
        """What the C kernel function is named after (an identifier's tail): the op's
        name by default; a fused op lists its parts."""
        return self.name


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
