"""The fused elementwise op: several elementwise ops computed in one loop.

Only the fusion pass (symgraph/passes/fusion.py) makes it, after autodiff, so it has no
gradient. Its ``program`` lists steps in order; each step applies an elementwise op to
references (``("in", k)``: the fused node's k-th input; ``("step", j)``: an earlier
step's value), with the dtype its C expression sees (its first operand's, as for an
unfused node) and its output dtype, both taken from the node it replaces. ``outputs``
lists the steps whose values leave the loop (the last step by default; more when the
fusion pass exports a value other nodes also read, or merges sibling loops that share
inputs): each is written at the loop's full shape. Its facets come from the steps' own:
the numpy reference runs each step's reference, and the C is each step's ``c_expr``,
with values used more than once held in locals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from symgraph.errors import GradientError
from symgraph.graph.core import Op, Tensor, TensorType
from symgraph.ops.c_api import CArray, c_type
from symgraph.ops.elementwise import Elementwise, broadcast_shapes
from symgraph.ops.reduction import Reduce, reduced_shape

Ref = tuple[str, int]
Step = tuple[Elementwise, tuple[Ref, ...], np.dtype, np.dtype]  # op, refs, operand dtype, output dtype
LABEL_OPS = 6  # a kernel's name lists at most this many of the ops it fuses


def _label(names: Iterable[str]) -> str:
    """``names`` joined by underscores, repeats dropped, cut after LABEL_OPS names."""
    unique = list(dict.fromkeys(names))
    return "_".join(unique[:LABEL_OPS]) + ("_etc" if len(unique) > LABEL_OPS else "")


class FusedElementwise(Elementwise):
    """Elementwise ops fused into one loop; ``program`` is a tuple of steps."""

    name = "fused_elementwise"

    def __init__(self, program: tuple[Step, ...], outputs: tuple[int, ...] | None = None):
        self.program = program
        self.outputs = outputs if outputs is not None else (len(program) - 1,)

    def attributes(self) -> dict[str, Any]:
        exprs = self.expressions()
        return {"expr": exprs[0]} if len(exprs) == 1 else {"exprs": tuple(exprs)}

    def expressions(self, inputs: list[str] | None = None) -> list[str]:
        """Each output's computation as nested calls: ``tanh(add(mul(%0, %1), %2))``
        (``inputs`` renames the inputs); a step another output also computes is named
        by that output (``$0``)."""
        texts: list[str] = []
        shown = {j: f"${m}" for m, j in enumerate(self.outputs)}
        names = inputs if inputs is not None else [f"%{k}" for k in range(self.arity_needed())]
        for op, refs, _, _ in self.program:
            args = ", ".join(names[k] if kind == "in" else shown.get(k, texts[k]) for kind, k in refs)
            texts.append(f"{op}({args})")
        return [texts[j] for j in self.outputs]

    def kernel_label(self) -> str:
        """The fused ops' names in program order, each once (names the C kernel)."""
        return _label(str(op.name) for op, _, _, _ in self.program)

    def arity_needed(self) -> int:
        """How many inputs the program reads."""
        return 1 + max((k for _, refs, _, _ in self.program for kind, k in refs if kind == "in"), default=-1)

    def expression(self) -> str:
        """The first output's computation (the only one, for a single-output loop)."""
        return self.expressions()[0]

    def infer(self, *inputs: Tensor) -> list[TensorType]:
        shape = broadcast_shapes(*(t.shape for t in inputs))
        return [TensorType(self.program[j][3], shape) for j in self.outputs]

    def reference(self, *arrays: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        values: list[np.ndarray] = []
        for op, refs, _, _ in self.program:
            args = [arrays[k] if kind == "in" else values[k] for kind, k in refs]
            values.append(op.reference(*args))
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        results = tuple(np.array(np.broadcast_to(values[j], shape)) for j in self.outputs)
        return results[0] if len(results) == 1 else results

    def c_support(self, dtype: np.dtype) -> str:
        """The C definitions the steps need (an integer power's helper, ...), once each."""
        parts: dict[str, None] = {}
        for op, _, operand_dtype, _ in self.program:
            support = getattr(op, "c_support", None)
            if support is not None:
                parts.setdefault(support(operand_dtype), None)
        return "\n".join(p for p in parts if p)

    def c_loop_checks(self, dtype: np.dtype) -> list[str]:
        """The steps' checks after the loop (an integer power's negative exponent)."""
        lines: list[str] = []
        for op, _, operand_dtype, _ in self.program:
            checks = getattr(op, "c_loop_checks", None)
            if checks is not None and (found := checks(operand_dtype)) and found[0] not in lines:
                lines += found
        return lines

    def c_body(self, args: list[str]) -> tuple[list[str], list[str]]:
        """C statements for the loop body and each output element's expression: a step
        used more than once (an output counts as a use) becomes a local; the rest nest
        into their user."""
        uses = [0] * len(self.program)
        for _, refs, _, _ in self.program:
            for kind, k in refs:
                if kind == "step":
                    uses[k] += 1
        for j in self.outputs:
            uses[j] += 1
        lines: list[str] = []
        exprs: list[str] = []
        for j, (op, refs, operand_dtype, out_dtype) in enumerate(self.program):
            operands = [args[k] if kind == "in" else exprs[k] for kind, k in refs]
            expr = f"(({c_type(out_dtype)})({op.c_expr(operands, operand_dtype)}))"
            if uses[j] > 1:
                name = f"v{j}"
                lines.append(f"const {c_type(out_dtype)} {name} = {expr};")
                expr = name
            exprs.append(expr)
        return lines, [exprs[j] for j in self.outputs]

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")


class FusedMatMul(Op):
    """A 2-D matrix product whose result goes straight into an elementwise epilogue
    (bias add, activation, a gradient's mask): ``epilogue`` computes the outputs from
    its inputs, the product being its input ``product_at``; this node's inputs are
    op(a), op(b), then the epilogue's other inputs in order. Only the fusion pass makes
    it; codegen runs the product and the epilogue block by block of rows, so the
    product is consumed while it is in cache instead of in a second pass over memory."""

    name = "fused_matmul"

    def __init__(self, matmul: Op, epilogue: FusedElementwise, product_at: int):
        self.matmul = matmul
        self.epilogue = epilogue
        self.product_at = product_at

    def attributes(self) -> dict[str, Any]:
        others = [f"%{k + 2}" for k in range(self.epilogue.arity_needed() - 1)]
        names = self.epilogue_inputs(f"{self.matmul}(%0, %1)", others)
        exprs = self.epilogue.expressions(names)
        return {"expr": exprs[0]} if len(exprs) == 1 else {"exprs": tuple(exprs)}

    def c_support(self, dtype: np.dtype) -> str:
        return self.epilogue.c_support(dtype)

    def kernel_label(self) -> str:
        return _label([self.matmul.name, self.epilogue.kernel_label()])

    def c_loop_checks(self, dtype: np.dtype) -> list[str]:
        return self.epilogue.c_loop_checks(dtype)

    def epilogue_inputs(self, product: Any, others: list[Any]) -> list[Any]:
        """The epilogue's inputs: ``others`` with the product in its place."""
        return [*others[: self.product_at], product, *others[self.product_at :]]

    def infer(self, a: Tensor, b: Tensor, *others: Tensor) -> list[TensorType]:
        product = self.matmul.infer(a, b)
        shape = broadcast_shapes(product.shape, *(t.shape for t in others))
        return [TensorType(self.epilogue.program[j][3], shape) for j in self.epilogue.outputs]

    def reference(self, a: np.ndarray, b: np.ndarray, *others: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        return self.epilogue.reference(*self.epilogue_inputs(self.matmul.reference(a, b), list(others)))

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")


class FusedReduce(Op):
    """A reduction of an elementwise loop's result, computed in one pass: the reduction
    reads each element as the ``producer`` computes it from this node's inputs, so the
    intermediate array never exists. Only the fusion pass makes it, for producers whose
    inputs have the producer's shape or hold one element."""

    name = "fused_reduce"

    def __init__(self, reduce: Reduce, producer: FusedElementwise):
        self.reduce = reduce
        self.producer = producer

    def attributes(self) -> dict[str, Any]:
        return {"expr": f"{self.reduce}({self.producer.expression()})"}

    def infer(self, *inputs: Tensor) -> TensorType:
        (value,) = self.producer.infer(*inputs)
        return TensorType(
            self.reduce.output_dtype(value.dtype), reduced_shape(value.shape, self.reduce.axes, self.reduce.keepdims)
        )

    def reference(self, *arrays: np.ndarray) -> np.ndarray:
        return self.reduce.reference(self.producer.reference(*arrays))

    def c_support(self, dtype: np.dtype) -> str:
        return self.producer.c_support(dtype)

    def kernel_label(self) -> str:
        return _label([self.producer.kernel_label(), self.reduce.name])

    def c_loop_checks(self, dtype: np.dtype) -> list[str]:
        return self.producer.c_loop_checks(dtype)

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The reduction's own kernel over a computed array: the element at a flat offset
        is the producer's expression of its inputs' elements there (a one-element input
        is read at 0)."""
        shape = broadcast_shapes(*(x.static_shape for x in inputs))
        full = next(x for x in inputs if x.static_shape == shape)
        dtype = self.producer.program[self.producer.outputs[0]][3]
        checks = []  # symbolic sizes never broadcast: they must equal the computed shape's
        for k, x in enumerate(inputs):
            if all(d == 1 for d in x.static_shape):
                continue
            for axis, (got, want) in enumerate(zip(x.shape, full.shape)):
                if got != want:
                    checks.append(
                        f'if (({got}) != ({want})) SG_FAIL(SG_ERR_SHAPE, "operand {k + 1}, axis {axis}: size %lld '
                        f'where the graph needs %lld", (long long)({got}), (long long)({want}));'
                    )

        def element(offset: str) -> tuple[list[str], str]:
            args = [f"{x.ptr}[{0 if all(d == 1 for d in x.static_shape) else offset}]" for x in inputs]
            lines, exprs = self.producer.c_body(args)
            return lines, exprs[0]

        computed = CArray("", c_type(dtype), dtype, full.shape, full.static_shape, element)
        return "\n".join([*checks, self.reduce.c_kernel([computed], outputs)])

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")
