"""``Allreduce``: tensors summed (or averaged) across the processes of an MPI job, as a
node of the graph, so that a compiled step reduces its gradients between the backward
pass and the updates inside its one C call.

Why a node whose C calls into MPI (and not a split of the step around a Python-side
``Allreduce``): measured in symgraph/distributed/__init__.py's docstring; in short, one
call per step keeps ``sg.function`` whole (any graph may hold the reduction, the updates
stay the unit's in-place writes) and costs nothing over the split.

How the C reaches MPI without the unit linking it: ``symgraph.distributed.init()``
builds a small helper library against the MPI the job runs (``mpicc -show``'s flags) and
writes the addresses of its two entry points into ``MPI_HOOK``, an int64 Variable every
Allreduce node reads. The unit calls through those pointers, so its C text (and its
cache key) is the same on every machine and MPI, and a unit built without MPI still
builds and loads; called before ``init()`` it fails with a message saying so.

One node reduces a list of tensors: those of one dtype travel packed in one contiguous
buffer, one MPI message per dtype (gradients: one message for the whole step), never
one per tensor. The first call of a node (every call, where a size is symbolic) first
checks that every process reduces the same layout: the processes' signatures (a hash
of the dtypes and shapes) and element counts are gathered, and a difference fails every
process with a ShapeError naming the ranks and what each reduces, where MPI would
otherwise mix unrelated buffers or wait forever.

The gradient of an allreduce is the allreduce of the gradient (the same op), as in
Horovod: each process's loss is its share of a global loss.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, InputError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType, apply
from symgraph.graph.sources import Variable, as_tensor
from symgraph.ops import shape_ops
from symgraph.ops.arithmetic import true_divide
from symgraph.ops.c_api import CArray, CLinkerOp, c_type
from symgraph.ops.elementwise import cast

OPS = ("sum", "mean")
# the helper's dtype codes (symgraph/distributed/_helper.py: sg_dist_datatype)
DTYPE_CODES = {"float32": 0, "float64": 1, "int32": 2, "int64": 3}
# MPI_HOOK's words: the helper's reduce and check entry points, the job's size and this rank
HOOK_REDUCE, HOOK_CHECK, HOOK_SIZE, HOOK_RANK = range(4)
MPI_HOOK = Variable(np.zeros(4, np.int64), name="mpi_hook", trainable=False)
MPI_HOOK.node.location = None  # created by no user line

# Set by symgraph.distributed.init(): reduces numpy buffers in place for the reference
# (mode "py"), with the same signature check as the C; None before init().
_python_reducer: Any = None


def set_python_reducer(reducer: Any) -> None:
    """What the numpy reference calls: ``reducer(buffers, op, signature, counts)``, where
    ``buffers`` holds one contiguous array per dtype group, reduced in place."""
    global _python_reducer
    _python_reducer = reducer


def _groups(types: Sequence[np.dtype]) -> list[tuple[np.dtype, list[int]]]:
    """The inputs' positions by dtype, in order of first appearance: one message each."""
    groups: dict[str, list[int]] = {}
    for i, dtype in enumerate(types):
        groups.setdefault(np.dtype(dtype).name, []).append(i)
    return [(np.dtype(name), members) for name, members in groups.items()]


def signature_of(op: str, tensors: Sequence[Tensor]) -> int:
    """A hash of what a node reduces (op, dtypes, shapes as built; a symbolic size by
    name), the same in every process that built the same graph: a positive int63."""
    text = op + ";" + ";".join(f"{t.dtype.name}{shp.shape_str(t.shape)}" for t in tensors)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


class Allreduce(CLinkerOp):
    """The inputs (then ``MPI_HOOK``) summed elementwise across the processes. (A mean is
    this sum divided by the number of processes, as graph: the division fuses into
    whatever reads it, an optimizer's update loop, instead of a pass of its own.)"""

    name = "allreduce"

    def __init__(self, signature: int):
        self.signature = signature

    def attributes(self) -> dict[str, Any]:
        return {"op": "sum"}

    def infer(self, *inputs: Tensor) -> list[TensorType]:
        *tensors, hook = inputs
        if hook.dtype != np.int64 or hook.shape != (4,):
            raise InputError("allreduce: the last input must be symgraph.ops.collective.MPI_HOOK")
        for t in tensors:
            if t.dtype.name not in DTYPE_CODES:
                raise DTypeError(f"allreduce reduces {', '.join(DTYPE_CODES)}; got {t.dtype.name} (cast it first)")
        return [TensorType(t.dtype, t.shape) for t in tensors]

    def reference(self, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        *values, _ = arrays
        if _python_reducer is None:
            raise InputError("allreduce: call symgraph.distributed.init() first (in every process of the job)")
        outputs = [np.array(v, copy=True) for v in values]
        buffers, counts = [], []
        for dtype, members in _groups([v.dtype for v in values]):
            flat = [outputs[i].reshape(-1) for i in members]
            buffers.append(np.concatenate(flat) if flat else np.zeros(0, dtype))
            counts.append(int(buffers[-1].size))
        _python_reducer(buffers, "sum", self.signature, counts)
        for (_, members), buffer in zip(_groups([v.dtype for v in values]), buffers):
            offset = 0
            for i in members:
                n = outputs[i].size
                outputs[i] = buffer[offset : offset + n].reshape(outputs[i].shape)
                offset += n
        return tuple(outputs)

    def grad(
        self, inputs: list[Tensor], outputs: list[Tensor], output_grads: list[Tensor | None]
    ) -> list[Tensor | None]:
        *tensors, _ = inputs
        wanted = [i for i, t in enumerate(tensors) if dtypes.is_float(t.dtype)]
        grads = [output_grads[i] if output_grads[i] is not None else shape_ops.zeros_like(tensors[i]) for i in wanted]
        reduced = allreduce_tensors(grads, "sum") if grads else []
        result: list[Tensor | None] = [None] * len(inputs)
        for i, g in zip(wanted, reduced):
            result[i] = g
        return result

    def c_support(self, dtype: np.dtype | None) -> str:
        return _C_SUPPORT

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        *values, hook = inputs
        symbolic = any(not isinstance(d, int) for v in values for d in v.static_shape)
        lines = [
            f"const int64_t *sgk_hook = {hook.ptr};",
            f"if (sgk_hook[{HOOK_REDUCE}] == 0 || sgk_hook[{HOOK_CHECK}] == 0)",
            '    SG_FAIL(SG_ERR_VALUE, "allreduce: symgraph.distributed.init() was not called in this process '
            '(call it in every process of the job before the compiled function)");',
            "const sg_dist_reduce_fn sgk_reduce = (sg_dist_reduce_fn)(intptr_t)sgk_hook[" + f"{HOOK_REDUCE}];",
            "const sg_dist_check_fn sgk_check = (sg_dist_check_fn)(intptr_t)sgk_hook[" + f"{HOOK_CHECK}];",
            "char sgk_msg[400];",
            "sgk_msg[0] = 0;",
        ]
        groups = _groups([v.dtype for v in values])
        counts = []
        for g, (_, members) in enumerate(groups):
            total = " + ".join(f"(int64_t){values[i].size}" for i in members)
            lines.append(f"const int64_t sgk_count{g} = {total};")
            counts.append(f"sgk_count{g}")
        # the layout check: once per process for static sizes (every process runs the same
        # calls in the same order, so all of them check at the same call), else every call
        lines.append(f"int64_t sgk_counts[{max(1, len(counts))}] = {{{', '.join(counts) or '0'}}};")
        check = (
            f"if (sgk_check(INT64_C({self.signature}), sgk_counts, {len(counts)}, sgk_msg, sizeof sgk_msg)) "
            'SG_FAIL(SG_ERR_SHAPE, "%s", sgk_msg);'
        )
        if symbolic:
            lines.append(check)
        else:
            lines += ["static int sgk_checked = 0;", "if (!sgk_checked) {", "    " + check, "    sgk_checked = 1;", "}"]
        for g, (dtype, members) in enumerate(groups):
            ct = c_type(dtype)
            if len(members) == 1:  # reduced in the output itself: no packing
                lines.append(self._c_single(values[members[0]], outputs[members[0]], g, dtype))
                continue
            body = [
                f"{ct} *sgk_buf = ({ct} *)malloc((size_t)(sgk_count{g} > 0 ? sgk_count{g} : 1) * sizeof({ct}));",
                'if (sgk_buf == NULL) SG_FAIL(SG_ERR_NOMEM, "allreduce: no memory for %lld elements", '
                f"(long long)sgk_count{g});",
                "int64_t sgk_at = 0;",
            ]
            for i in members:
                n = f"(int64_t){values[i].size}"
                body.append(f"memcpy(sgk_buf + sgk_at, {values[i].ptr}, (size_t)({n}) * sizeof({ct}));")
                body.append(f"sgk_at += {n};")
            body += [
                f"if (sgk_reduce(sgk_buf, sgk_count{g}, {DTYPE_CODES[dtype.name]}, 0, sgk_msg, sizeof sgk_msg)) {{",
                "    free(sgk_buf);",
                '    SG_FAIL(SG_ERR_VALUE, "allreduce: %s", sgk_msg);',
                "}",
                "sgk_at = 0;",
            ]
            for i in members:
                n = f"(int64_t){values[i].size}"
                out = outputs[i].ptr
                body.append(f"memcpy({out}, sgk_buf + sgk_at, (size_t)({n}) * sizeof({ct}));")
                body.append(f"sgk_at += {n};")
            body.append("free(sgk_buf);")
            lines.append("{\n" + "\n".join("    " + b for b in body) + "\n}")
        return "{\n" + "\n".join("    " + line for line in "\n".join(lines).split("\n")) + "\n}"

    def _c_single(self, value: CArray, out: CArray, g: int, dtype: np.dtype) -> str:
        """One tensor of its dtype: copied into its output, reduced there in place."""
        ct = c_type(dtype)
        body = [
            f"if ((const void *){out.ptr} != (const void *){value.ptr})",
            f"    memcpy({out.ptr}, {value.ptr}, (size_t)(sgk_count{g}) * sizeof({ct}));",
            f"if (sgk_reduce({out.ptr}, sgk_count{g}, {DTYPE_CODES[dtype.name]}, 0, sgk_msg, sizeof sgk_msg))",
            '    SG_FAIL(SG_ERR_VALUE, "allreduce: %s", sgk_msg);',
        ]
        return "{\n" + "\n".join("    " + b for b in body) + "\n}"


# The helper's entry points as the unit calls them (symgraph/distributed/_helper.py).
_C_SUPPORT = """#include <string.h>
typedef int (*sg_dist_reduce_fn)(void *buffer, int64_t count, int dtype, int op, char *message, int64_t size);
typedef int (*sg_dist_check_fn)(int64_t signature, const int64_t *counts, int64_t n_counts, char *message,
                                int64_t size);
"""


def allreduce_tensors(tensors: Sequence[Any], op: str = "mean") -> list[Tensor]:
    """The tensors reduced across the processes by one node (one message per dtype); a
    mean divides each sum by the job's size (MPI_HOOK's, read at every call)."""
    if op not in OPS:
        raise InputError(f"allreduce: op must be one of {', '.join(map(repr, OPS))}, got {op!r}")
    converted = [as_tensor(t) for t in tensors]
    if not converted:
        return []
    if op == "mean":
        for t in converted:
            if not dtypes.is_float(t.dtype):
                raise DTypeError(f"allreduce(op='mean') needs float tensors, got {t.dtype.name}: use op='sum'")
    node = apply(Allreduce(signature_of(op, converted)), *converted, MPI_HOOK)
    if op == "sum":
        return list(node.outputs)
    processes = MPI_HOOK[HOOK_SIZE]  # read at call time: the job's size
    return [true_divide(t, cast(processes, t.dtype)) for t in node.outputs]


__all__ = ["MPI_HOOK", "Allreduce", "allreduce_tensors"]
