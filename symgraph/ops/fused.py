"""The fused elementwise op: several elementwise ops computed in one loop.

Only the fusion pass (symgraph/passes/fusion.py) makes it, after autodiff, so it has no
gradient. Its ``program`` lists steps in order; each step applies an elementwise op to
references (``("in", k)``: the fused node's k-th input; ``("step", j)``: an earlier
step's value), with the dtype its C expression sees (its first operand's, as for an
unfused node) and its output dtype, both taken from the node it replaces. The last
step is the output. Its facets come from the steps' own: the
numpy reference runs each step's reference, and the C is each step's ``c_expr``, with
values used more than once held in locals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symgraph.errors import GradientError
from symgraph.graph.core import Tensor, TensorType
from symgraph.ops.c_api import c_type
from symgraph.ops.elementwise import Elementwise, broadcast_shapes

Ref = tuple[str, int]
Step = tuple[Elementwise, tuple[Ref, ...], np.dtype, np.dtype]  # op, refs, operand dtype, output dtype


class FusedElementwise(Elementwise):
    """Elementwise ops fused into one loop; ``program`` is a tuple of steps."""

    name = "fused_elementwise"

    def __init__(self, program: tuple[Step, ...]):
        self.program = program

    def attributes(self) -> dict[str, Any]:
        return {"expr": self.expression()}

    def expression(self) -> str:
        """The fused computation as nested calls: ``tanh(add(mul(%0, %1), %2))``."""
        texts: list[str] = []
        for op, refs, _, _ in self.program:
            args = ", ".join(f"%{k}" if kind == "in" else texts[k] for kind, k in refs)
            texts.append(f"{op}({args})")
        return texts[-1]

    def infer(self, *inputs: Tensor) -> TensorType:
        return TensorType(self.program[-1][3], broadcast_shapes(*(t.shape for t in inputs)))

    def reference(self, *arrays: np.ndarray) -> np.ndarray:
        values: list[np.ndarray] = []
        for op, refs, _, _ in self.program:
            args = [arrays[k] if kind == "in" else values[k] for kind, k in refs]
            values.append(op.reference(*args))
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        return np.array(np.broadcast_to(values[-1], shape))

    def c_body(self, args: list[str]) -> tuple[list[str], str]:
        """C statements for the loop body and the output element's expression: a step
        used more than once becomes a local; the rest nest into their user."""
        uses = [0] * len(self.program)
        for _, refs, _, _ in self.program:
            for kind, k in refs:
                if kind == "step":
                    uses[k] += 1
        lines: list[str] = []
        exprs: list[str] = []
        for j, (op, refs, operand_dtype, out_dtype) in enumerate(self.program):
            operands = [args[k] if kind == "in" else exprs[k] for kind, k in refs]
            expr = f"(({c_type(out_dtype)})({op.c_expr(operands, operand_dtype)}))"
            if uses[j] > 1 and j < len(self.program) - 1:
                name = f"v{j}"
                lines.append(f"const {c_type(out_dtype)} {name} = {expr};")
                expr = name
            exprs.append(expr)
        return lines, exprs[-1]

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")
