"""Build one op into a C unit and run it: the test bench of ops' C emitters.

``run_c(fn, arrays)`` builds the graph ``fn`` makes on placeholders shaped like
``arrays`` (static shapes), takes its last node, and compiles just that node: an
elementwise op through its ``c_expr`` in a flat loop over pre-broadcast inputs, any other
op through its ``c_kernel`` on contiguous buffers. It returns the node's outputs, to be
compared with the op's numpy reference (``run_reference``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import symgraph as sg
from symgraph.codegen.cexpr import c_type
from symgraph.graph.core import Node
from symgraph.interpreter import evaluate_node
from symgraph.ops.c_api import CArray
from symgraph.ops.elementwise import Elementwise
from symgraph.runtime.build import build

CDEF = "int sg_kernel(void **ins, void **outs, char *errbuf, size_t errbuf_size);"


def last_node(fn: Callable, arrays: Sequence[np.ndarray]) -> Node:
    phs = [sg.placeholder(a.shape, a.dtype, name=f"arg{i}") for i, a in enumerate(arrays)]
    out = fn(*phs)
    out = out[0] if isinstance(out, (list, tuple)) else out
    node = out.node
    if [id(t) for t in node.inputs] != [id(p) for p in phs]:
        raise ValueError(f"{node.op.name}: the node must take the placeholders directly, in order")
    return node


def c_source(node: Node) -> str:
    ins = [_carray(f"in{i}", t) for i, t in enumerate(node.inputs)]
    outs = [_carray(f"out{i}", t) for i, t in enumerate(node.outputs)]
    lines = ['#include "symgraph.h"', "int sg_kernel(void **ins, void **outs, SG_ERR_PARAMS) {"]
    lines += [f"    const {a.ctype} *in{i} = (const {a.ctype} *)ins[{i}];" for i, a in enumerate(ins)]
    lines += [f"    {a.ctype} *out{i} = ({a.ctype} *)outs[{i}];" for i, a in enumerate(outs)]
    if isinstance(node.op, Elementwise):
        args = [f"in{i}[i]" for i in range(len(ins))]
        expr = node.op.c_expr(args, node.inputs[0].dtype)
        lines += [f"    for (int64_t i = 0; i < {outs[0].size}; i++) out0[i] = ({outs[0].ctype})({expr});"]
    else:
        lines += ["    {", node.op.c_kernel(ins, outs), "    }"]
    lines += ["    return SG_OK;", "}"]
    return "\n".join(lines) + "\n"


def _carray(name: str, t: sg.Tensor) -> CArray:
    return CArray(name, c_type(t.dtype), t.dtype, tuple(map(str, t.shape)), t.shape)


def run_c(fn: Callable, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The outputs of ``fn``'s last node computed by its C emitter."""
    node = last_node(fn, arrays)
    lib = build(c_source(node), CDEF, name_hint=node.op.name)
    ffi = lib.ffi
    if isinstance(node.op, Elementwise):
        shape = node.outputs[0].shape
        arrays = [np.ascontiguousarray(np.broadcast_to(a, shape)) for a in arrays]
    else:
        arrays = [np.ascontiguousarray(a) for a in arrays]
    outs = [np.empty(t.shape, t.dtype) for t in node.outputs]
    ins_p = ffi.new("void*[]", [ffi.from_buffer(a) for a in arrays] or [ffi.NULL])
    outs_p = ffi.new("void*[]", [ffi.from_buffer(o) for o in outs] or [ffi.NULL])
    errbuf = ffi.new("char[]", 512)
    status = lib.lib.sg_kernel(ins_p, outs_p, errbuf, 512)
    if status:
        raise RuntimeError(f"status {status}: {ffi.string(errbuf).decode()}")
    return outs


def run_reference(fn: Callable, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The same node's outputs from its numpy reference."""
    node = last_node(fn, arrays)
    return list(evaluate_node(node, [np.asarray(a) for a in arrays], {}))
