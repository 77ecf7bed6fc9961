"""Checking ops' C kernels: the single-node bench with symbolic sizes, and a comparison
with the numpy reference.

``check_kernel(fn, arrays)`` runs ``fn``'s last node through its C kernel (static
shapes, single_node.run_c; or symbolic ones, ``run_c_symbolic``) and compares with the
op's reference: the same dtype and shape, integers and bools exactly, floats within
tests/opcheck.py's tolerances against the reference computed in float64.

``run_c_symbolic(fn, arrays, declared)`` declares each placeholder with ``declared``'s
shape (an int: static; None: a fresh symbol; a string: one symbol shared by every axis
naming it) instead of the arrays' static shapes, compiles the last node's ``c_kernel``
with those symbols bound at call time from a ``dims`` argument, and runs it. By default
every axis of size != 1 is a fresh symbol (as tests/opcheck.py declares its symbolic
runs). Symbols are renamed by order of appearance, so equal cases share one build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

import symgraph as sg
from symgraph.codegen.cexpr import c_type
from symgraph.graph import shape as shp
from symgraph.graph.shape import DimExpr, Sym, evaluate_shape
from symgraph.ops.c_api import CArray
from symgraph.runtime.build import build
from tests.codegen.single_node import run_c, run_reference

CDEF = "int sg_kernel(void **ins, void **outs, const int64_t *dims, char *errbuf, size_t errbuf_size);"

Declared = Sequence[int | str | None]


def _placeholders(arrays: Sequence[np.ndarray], declared: Sequence[Declared] | None) -> list[sg.Tensor]:
    if declared is None:
        declared = [tuple(1 if d == 1 else None for d in a.shape) for a in arrays]
    shared: dict[str, DimExpr] = {}
    phs = []
    for i, (a, shape) in enumerate(zip(arrays, declared)):
        dims = []
        for d in shape:
            if isinstance(d, str):
                if d not in shared:
                    shared[d] = sg.placeholder((None,), name=d).shape[0]
                d = shared[d]
            dims.append(d)
        phs.append(sg.placeholder(tuple(dims), a.dtype, name=f"arg{i}"))
    return phs


def run_c_symbolic(
    fn: Callable, arrays: Sequence[np.ndarray], declared: Sequence[Declared] | None = None
) -> list[np.ndarray]:
    """The outputs of ``fn``'s last node, built with symbolic sizes; a failing status
    raises RuntimeError("status N: message")."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    phs = _placeholders(arrays, declared)
    out = fn(*phs)
    node = (out[0] if isinstance(out, (list, tuple)) else out).node
    if [id(t) for t in node.inputs] != [id(p) for p in phs]:
        raise ValueError(f"{node.op.name}: the node must take the placeholders directly, in order")
    env: dict[Sym, int] = {}
    for p, a in zip(phs, arrays):
        for d, n in zip(p.shape, a.shape):
            if isinstance(d, DimExpr):
                (sym,) = d.symbols()
                env[sym] = n
    order = sorted(env, key=lambda s: s.serial)
    canonical = {f"n_{s.serial}": f"sym{j}" for j, s in enumerate(order)}

    def c_shape(shape) -> tuple[str, ...]:
        return tuple(re.sub(r"\bn_\d+\b", lambda m: canonical[m.group(0)], shp.to_c(d)) for d in shape)

    ins = [CArray(f"in{i}", c_type(t.dtype), t.dtype, c_shape(t.shape), t.shape) for i, t in enumerate(node.inputs)]
    outs = [CArray(f"out{i}", c_type(t.dtype), t.dtype, c_shape(t.shape), t.shape) for i, t in enumerate(node.outputs)]
    lines = ['#include "symgraph.h"', "int sg_kernel(void **ins, void **outs, const int64_t *dims, SG_ERR_PARAMS) {"]
    lines += [f"    const int64_t sym{j} = dims[{j}];" for j in range(len(order))]
    lines += [f"    const {a.ctype} *in{i} = (const {a.ctype} *)ins[{i}];" for i, a in enumerate(ins)]
    lines += [f"    {a.ctype} *out{i} = ({a.ctype} *)outs[{i}];" for i, a in enumerate(outs)]
    lines += ["    {", node.op.c_kernel(ins, outs), "    }", "    return SG_OK;", "}"]
    lib = build("\n".join(lines) + "\n", CDEF, name_hint=node.op.name)
    ffi = lib.ffi
    results = [np.empty(evaluate_shape(t.shape, env), t.dtype) for t in node.outputs]
    ins_p = ffi.new("void*[]", [ffi.from_buffer(a) for a in arrays] or [ffi.NULL])
    outs_p = ffi.new("void*[]", [ffi.from_buffer(o) for o in results] or [ffi.NULL])
    dims = ffi.new("int64_t[]", [env[s] for s in order] or [0])
    errbuf = ffi.new("char[]", 512)
    status = lib.lib.sg_kernel(ins_p, outs_p, dims, errbuf, 512)
    if status:
        raise RuntimeError(f"status {status}: {ffi.string(errbuf).decode()}")
    return results


TOLERANCE = {np.dtype("float32"): (1.3e-6, 1e-5), np.dtype("float64"): (1e-9, 1e-12)}


def check_kernel(
    fn: Callable,
    arrays: Sequence[np.ndarray],
    *,
    symbolic: bool = False,
    declared: Sequence[Declared] | None = None,
    tol: tuple[float, float] | None = None,
) -> list[np.ndarray]:
    """``fn``'s C outputs, after checking them against the reference (see the module
    docstring); ``symbolic`` or ``declared`` builds with symbolic sizes; ``tol`` is
    (rtol, atol) instead of the default for the dtype."""
    if symbolic or declared is not None:
        got = run_c_symbolic(fn, arrays, declared)
    else:
        got = run_c(fn, arrays)
    with np.errstate(all="ignore"):
        expected = run_reference(fn, arrays)
        wide = [a.astype(np.float64) if a.dtype == np.float32 else a for a in arrays]
        expected64 = run_reference(fn, wide)
    assert len(got) == len(expected)
    for g, e, e64 in zip(got, expected, expected64):
        assert g.dtype == e.dtype and g.shape == e.shape, f"{g.dtype}{g.shape} != reference {e.dtype}{e.shape}"
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, e)
        else:
            rtol, atol = tol or TOLERANCE[g.dtype]
            np.testing.assert_allclose(g, e64, rtol=rtol, atol=atol)
    return got
