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

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from symgraph.errors import GradientError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType
from symgraph.ops.c_api import CArray, CLinkerOp, c_type
from symgraph.ops.c_loops import Operand, elementwise_loop, runtime_checks
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
        exprs, shared = self._texts()
        attrs: dict[str, Any] = {"expr": exprs[0]} if len(exprs) == 1 else {"exprs": tuple(exprs)}
        if shared:
            attrs["where"] = tuple(shared)
        return attrs

    def expressions(self, inputs: list[str] | None = None) -> list[str]:
        """Each output's computation as nested calls: ``tanh(add(mul(%0, %1), %2))``
        (``inputs`` renames the inputs); a step another output also computes is named
        by that output (``$0``), and one that several steps use by its number (``#3``,
        defined once in ``attributes()["where"]``: nesting it at every use would make the
        text grow exponentially with the depth of a diamond)."""
        return self._texts(inputs)[0]

    def _texts(self, inputs: list[str] | None = None) -> tuple[list[str], list[str]]:
        uses = [0] * len(self.program)
        for _, refs, _, _ in self.program:
            for kind, k in refs:
                if kind == "step":
                    uses[k] += 1
        texts: list[str] = []
        shared: list[str] = []
        shown = {j: f"${m}" for m, j in enumerate(self.outputs)}
        names = inputs if inputs is not None else [f"%{k}" for k in range(self.arity_needed())]
        for j, (op, refs, _, _) in enumerate(self.program):
            args = ", ".join(names[k] if kind == "in" else shown.get(k, texts[k]) for kind, k in refs)
            texts.append(f"{op}({args})")
            if uses[j] > 1 and j not in shown:
                shown[j] = f"#{j}"
                shared.append(f"#{j} = {texts[j]}")
        return [texts[j] for j in self.outputs], shared

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

    def c_support(self, dtype: np.dtype | None) -> str:
        """The C definitions the steps need (an integer power's helper, ...), once each."""
        parts = dict.fromkeys(op.c_support(operand_dtype) for op, _, operand_dtype, _ in self.program)
        return "\n".join(p for p in parts if p)

    def c_loop_checks(self, dtype: np.dtype | None) -> list[str]:
        """The steps' checks after the loop (an integer power's negative exponent)."""
        lines: list[str] = []
        for op, _, operand_dtype, _ in self.program:
            if (found := op.c_loop_checks(operand_dtype)) and found[0] not in lines:
                lines += found
        return lines

    def c_body(self, args: list[str], dtype: np.dtype) -> tuple[list[str], list[str]]:
        """C statements for the loop body and each output element's expression: a step
        used more than once (an output counts as a use) becomes a local; so does a step
        that can raise (an integer power), because a user may not evaluate every operand
        (where's branches, ``&&``) and the error must not depend on fusion; the rest nest
        into their user (``dtype`` is unused: each step has its own operand dtype)."""
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
            if uses[j] > 1 or op.c_loop_checks(operand_dtype):
                name = f"v{j}"
                lines.append(f"const {c_type(out_dtype)} {name} = {expr};")
                expr = name
            exprs.append(expr)
        return lines, [exprs[j] for j in self.outputs]

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")


class ProductEpilogue(CLinkerOp):
    """A two-input product (a matrix product, a convolution) whose result goes straight
    into an elementwise epilogue (bias add, activation, a gradient's mask): ``epilogue``
    computes the outputs from its inputs, the product being its input ``product_at``;
    this node's inputs are the product's two, then the epilogue's other inputs in order.
    Only the fusion pass makes it; the C runs the product and the epilogue block by block,
    so the product is consumed while it is in cache instead of in a second pass over
    memory. Subclasses say how (FusedMatMul, FusedConv2D)."""

    def __init__(self, product: CLinkerOp, epilogue: FusedElementwise, product_at: int):
        self.product = product
        self.epilogue = epilogue
        self.product_at = product_at

    def attributes(self) -> dict[str, Any]:
        others = [f"%{k + 2}" for k in range(self.epilogue.arity_needed() - 1)]
        names = self.epilogue_inputs(f"{self.product}(%0, %1)", others)
        exprs = self.epilogue.expressions(names)
        return {"expr": exprs[0]} if len(exprs) == 1 else {"exprs": tuple(exprs)}

    def c_support(self, dtype: np.dtype | None) -> str:
        return self.epilogue.c_support(dtype)

    def kernel_label(self) -> str:
        return _label([self.product.name, self.epilogue.kernel_label()])

    def c_loop_checks(self, dtype: np.dtype | None) -> list[str]:
        return self.epilogue.c_loop_checks(dtype)

    def _product_output(self, x: CArray, outputs: list[CArray]) -> int:
        """The output the product is written into (the first of its input's dtype): the
        epilogue reads each element there before it writes the outputs' elements."""
        return next(j for j, t in enumerate(outputs) if t.dtype == x.dtype)

    def epilogue_inputs(self, product: Any, others: list[Any]) -> list[Any]:
        """The epilogue's inputs: ``others`` with the product in its place."""
        return [*others[: self.product_at], product, *others[self.product_at :]]

    def infer(self, a: Tensor, b: Tensor, *others: Tensor) -> list[TensorType]:
        product = self.product.infer(a, b)
        shape = broadcast_shapes(product.shape, *(t.shape for t in others))
        return [TensorType(self.epilogue.program[j][3], shape) for j in self.epilogue.outputs]

    def reference(self, a: np.ndarray, b: np.ndarray, *others: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        return self.epilogue.reference(*self.epilogue_inputs(self.product.reference(a, b), list(others)))

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")


class FusedMatMul(ProductEpilogue):
    """A 2-D matrix product (ops/linalg.py MatMul) and its epilogue, run block by block
    of rows (``c_kernel``)."""

    name = "fused_matmul"

    def __init__(self, matmul: CLinkerOp, epilogue: FusedElementwise, product_at: int):
        super().__init__(matmul, epilogue, product_at)
        self.matmul = matmul

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The product and its epilogue, block by block of rows: BLAS writes a block of
        the product into the output of its dtype, and the epilogue loop reads it back
        (elementwise, at the same position, so in place is safe) while it is in cache.
        A block is about 256 KB of the product per thread: its product and its epilogue
        are each shared among OpenMP's threads."""
        a, b, *others = inputs
        m, n = outputs[0].static_shape
        k_c, n_c = a.shape[1], outputs[0].shape[1]
        rows = shp.sym("block_rows")  # bound to mm_blk_rows below, not to a call-time size
        rows_c = shp.to_c(rows)
        into = self._product_output(a, outputs)
        operands = []
        for t in others:
            if t.ndim == 2 and t.static_shape[0] != 1:  # full shape or a column: one block of its rows
                operands.append(
                    Operand((rows, t.static_shape[1]), pointer=f"({t.ptr} + mm_r0*{t.shape[1]})", ctype=t.ctype)
                )
            else:
                operands.append(Operand(t.static_shape, pointer=t.ptr, ctype=t.ctype))
        block = f"({outputs[into].ptr} + mm_r0*{n_c})"
        operands.insert(self.product_at, Operand((rows, n), pointer=block, ctype=outputs[into].ctype))
        targets = [(f"({t.ptr} + mm_r0*{n_c})", t.ctype) for t in outputs]
        first = self.epilogue_inputs(a, others)[0]  # the epilogue's first input (its operand dtype)
        epilogue = elementwise_loop(targets, (rows, n), operands, lambda args: self.epilogue.c_body(args, first.dtype))
        a_block = CArray(f"({a.ptr} + mm_r0*{k_c})", a.ctype, a.dtype, (rows_c, k_c), (rows, a.static_shape[1]))
        out_block = CArray(block, a.ctype, a.dtype, (rows_c, n_c), (rows, n))
        product = self.matmul.c_kernel([a_block, b], [out_block])
        body = "\n".join(["{", *("    " + line for line in f"{product}\n{epilogue}".split("\n")), "}"])
        m_c = shp.to_c(m)
        code = "\n".join(
            [
                f"const int64_t mm_block = ({n_c} >= 8192 ? 8 : 65536 / ({n_c} > 0 ? {n_c} : 1)) * sg_omp_threads();",
                f"for (int64_t mm_r0 = 0; mm_r0 < {m_c}; mm_r0 += mm_block) {{",
                f"    const int64_t mm_blk_rows = {m_c} - mm_r0 < mm_block ? {m_c} - mm_r0 : mm_block;",
                *("    " + line for line in body.split("\n")),
                "}",
            ]
        )
        (block_rows,) = rows.symbols()
        return re.sub(rf"\b{shp.c_name(block_rows)}\b", "mm_blk_rows", code)


class FusedConv2D(ProductEpilogue):
    """A channels-last convolution (ops/conv.py Conv2D) and its epilogue: the C kernel
    (csrc/symgraph_conv.h) calls the epilogue on each block of output pixels right after
    computing it, on the same thread. The output seen as (n*oh*ow, oc) rows, each other
    epilogue input is read per element (the output's shape), per channel (its last size
    is oc, the others 1: a bias) or once (one element)."""

    name = "fused_conv2d"

    def infer(self, x: Tensor, w: Tensor, *others: Tensor) -> list[TensorType]:
        product = self.product.infer(x, w)
        for t in others:
            if epilogue_read(t.shape, product.shape) is None:
                raise ShapeError(
                    f"an epilogue input of shape {t.shape} is not the output's {product.shape}, a channel vector or "
                    "one element"
                )
        return super().infer(x, w, *others)

    def c_definitions(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The epilogue as a file-scope C function (the kernel passes it to the convolution)."""
        return self._epilogue_function(inputs, outputs)[1]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        x, w, *others = inputs
        name, _ = self._epilogue_function(inputs, outputs)
        into = self._product_output(x, outputs)
        pointers = ", ".join(f"(void *){t.ptr}" for t in [*others, *outputs])
        oc = outputs[0].shape[-1]
        lines = [
            f"void *const sg_epi_ptrs[] = {{ {pointers} }};",
            f"const sg_conv_epilogue sg_epi = {{ {name}, sg_epi_ptrs, {oc} }};",
            self.product.c_kernel([x, w], [outputs[into]], "&sg_epi"),
        ]
        return "\n".join(lines)

    def _epilogue_function(self, inputs: list[CArray], outputs: list[CArray]) -> tuple[str, str]:
        """(name, definition) of ``void name(const sg_conv_epilogue *e, int64_t r0,
        int64_t r1)``: for the output pixels r in [r0, r1) and channels ch, element
        i = r*oc + ch of every output from the product's element i (in the product's
        output) and the other inputs' elements (i, ch or 0). Named by a hash of its text,
        so equal epilogues are one function."""
        x, _, *others = inputs
        into = self._product_output(x, outputs)
        out_shape = outputs[0].static_shape
        oc = out_shape[-1]
        unpack = [f"const {t.ctype} *a{k} = (const {t.ctype} *)e->ptrs[{k}];" for k, t in enumerate(others)]
        unpack += [f"{t.ctype} *o{j} = ({t.ctype} *)e->ptrs[{len(others) + j}];" for j, t in enumerate(outputs)]
        index = {"full": "i", "channel": "ch", "one": "0"}
        # every operand read into a local first, as elementwise_loop does (Operand.ctype):
        # a read on one side of a select would keep gcc from vectorising without masked loads
        loads = [
            f"const {t.ctype} e{k} = a{k}[{index[epilogue_read(t.static_shape, out_shape)]}];"
            for k, t in enumerate(others)
        ]
        loads.append(f"const {outputs[into].ctype} e_product = o{into}[i];")
        args = [f"e{k}" for k in range(len(others))]
        first = self.epilogue_inputs(x, others)[0]  # the epilogue's first input (its operand dtype)
        statements, exprs = self.epilogue.c_body(self.epilogue_inputs("e_product", args), first.dtype)
        # every value before any store: the product's output is also read
        values = [f"const {t.ctype} out{j} = ({t.ctype})({e});" for j, (t, e) in enumerate(zip(outputs, exprs))]
        stores = [f"o{j}[i] = out{j};" for j in range(len(outputs))]
        body = [
            "{",
            f"    const int64_t oc = {oc if isinstance(oc, int) else 'e->oc'};",
            *("    " + line for line in unpack),
            "    for (int64_t r = r0; r < r1; r++) {",
            "        for (int64_t ch = 0; ch < oc; ch++) {",
            "            const int64_t i = r*oc + ch;",
            *("            " + line for line in [*loads, *statements, *values, *stores]),
            "        }",
            "    }",
            "}",
        ]
        signature = "static void NAME(const sg_conv_epilogue *e, int64_t r0, int64_t r1)"
        text = "\n".join([signature, *body])
        name = "sg_conv_epilogue_" + hashlib.sha1(text.encode()).hexdigest()[:12]
        return name, text.replace("NAME", name, 1) + "\n"


def epilogue_read(shape: tuple, out_shape: tuple) -> str | None:
    """How a fused convolution's epilogue reads an input of ``shape`` against the output's
    (n, oh, ow, oc): "full" (the same shape), "channel" (oc last, every other size 1),
    "one" (one element); None: none of these."""
    if all(d == 1 for d in shape):
        return "one"
    if tuple(shape) == tuple(out_shape):
        return "full"
    if len(shape) <= len(out_shape) and shape[-1] == out_shape[-1] and all(d == 1 for d in shape[:-1]):
        return "channel"
    return None


class FusedReduce(CLinkerOp):
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

    def c_support(self, dtype: np.dtype | None) -> str:
        return self.producer.c_support(dtype)

    def kernel_label(self) -> str:
        return _label([self.producer.kernel_label(), self.reduce.name])

    def c_loop_checks(self, dtype: np.dtype | None) -> list[str]:
        return self.producer.c_loop_checks(dtype)

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The reduction's own kernel over a computed array: the element at a flat offset
        is the producer's expression of its inputs' elements there (a one-element input
        is read at 0)."""
        shape = broadcast_shapes(*(x.static_shape for x in inputs))
        full = next(x for x in inputs if x.static_shape == shape)
        dtype = self.producer.program[self.producer.outputs[0]][3]
        # symbolic sizes never broadcast: they must equal the computed shape's
        checks = runtime_checks([Operand(x.static_shape, pointer=x.ptr) for x in inputs], shape)

        def element(offset: str) -> tuple[list[str], str]:
            args = [f"{x.ptr}[{0 if all(d == 1 for d in x.static_shape) else offset}]" for x in inputs]
            lines, exprs = self.producer.c_body(args, inputs[0].dtype)
            return lines, exprs[0]

        computed = CArray("", c_type(dtype), dtype, full.shape, full.static_shape, element)
        return "\n".join([*checks, self.reduce.c_kernel([computed], outputs)])

    def grad(self, inputs, outputs, output_grads):
        raise GradientError("a fused node is made after differentiation: take gradients of the graph as built")
