"""The C contract (ops/c_api.py): every op codegen compiles is a CLinkerOp, and codegen
reaches an op's C only through the hooks CLinkerOp declares, with their defaults."""

from __future__ import annotations

import pathlib
import re
from typing import ClassVar

import numpy as np
import pytest

import symgraph as sg
import symgraph.codegen
from symgraph.codegen.unit import generate
from symgraph.graph.core import Op, Tensor, TensorType, apply
from symgraph.graph.sources import Constant, DimValue, Placeholder, SharedVariable
from symgraph.ops import OP_TABLE
from symgraph.ops.c_api import CArray, CLinkerOp, KernelContext
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.fused import FusedConv2D, FusedMatMul
from symgraph.passes.pipeline import optimize

SOURCES = (Placeholder, SharedVariable, Constant, DimValue)  # placed by codegen itself


def test_every_registered_op_that_is_not_a_source_is_a_clinkerop():
    plain = sorted(name for name, cls in OP_TABLE.items() if not issubclass(cls, (CLinkerOp, *SOURCES)))
    assert not plain, f"ops codegen cannot compile (not CLinkerOp): {plain}"


def test_every_registered_op_gives_its_c_in_one_of_the_two_forms():
    def overrides(cls: type, hook: str) -> bool:
        return getattr(cls, hook) is not getattr(CLinkerOp, hook)

    missing = []
    for name, cls in OP_TABLE.items():
        if not issubclass(cls, CLinkerOp):
            continue
        if issubclass(cls, Elementwise):
            ok = overrides(cls, "c_expr") or overrides(cls, "c_body")
        else:
            ok = overrides(cls, "c_kernel") or overrides(cls, "c_kernel_in")
        if not ok:
            missing.append(name)
    assert not missing, f"ops with neither C form: {missing}"


def test_fused_products_write_their_own_c():
    assert FusedMatMul.c_kernel is not CLinkerOp.c_kernel
    assert FusedConv2D.c_kernel is not CLinkerOp.c_kernel
    x = sg.placeholder((None, 8), name="x")
    w = sg.Variable(np.linspace(-1, 1, 8 * 5, dtype="float32").reshape(8, 5), name="w")
    b = sg.Variable(np.linspace(0, 1, 5, dtype="float32"), name="b")
    y = sg.nn.relu(x @ w + b)
    targets, _ = optimize([y])
    assert isinstance(targets[0].node.op, FusedMatMul)
    assert "mm_blk_rows" in generate([x], targets, []).source  # FusedMatMul.c_kernel's row blocks
    data = np.random.default_rng(0).standard_normal((70, 8)).astype("float32")
    got = sg.function([x], y, mode="c")(data)
    np.testing.assert_allclose(got, np.maximum(data @ w.get_value() + b.get_value(), 0), rtol=1e-5, atol=1e-6)


# --- the hooks, each exercised by an op that uses it ------------------------------------------


class _Scaled(CLinkerOp):
    """x * factor through a file-scope helper (``c_support``) and a file-scope function
    of the kernel (``c_definitions``), named ``kernel_label``."""

    name = "test_scaled"

    def __init__(self, factor: float):
        self.factor = factor

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x * np.float32(self.factor)

    def c_support(self, dtype: np.dtype | None) -> str:
        return "static float sg_test_identity(float v) { return v; }\n"

    def c_definitions(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        name = f"sg_test_times_{int(self.factor)}"
        return f"static float {name}(float v) {{ return sg_test_identity(v) * {self.factor}f; }}\n"

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        (x,), (out,) = inputs, outputs
        f = f"sg_test_times_{int(self.factor)}"
        return f"for (int64_t i = 0; i < {x.size}; i++) {out.ptr}[i] = {f}({x.ptr}[i]);"

    def kernel_label(self) -> str:
        return f"scaled_by_{int(self.factor)}"


def test_a_kernel_gets_its_support_once_its_definitions_and_its_label():
    x = sg.placeholder((None,), name="x")
    a = apply(_Scaled(2.0), x).outputs[0]
    b = apply(_Scaled(3.0), a).outputs[0]
    c = apply(_Scaled(3.0), x).outputs[0]
    f = sg.function([x], [b, c], mode="c", passes="O0")
    source = f.c_source
    assert source.count("sg_test_identity(float v)") == 1  # c_support: once per unit
    assert source.count("sg_test_times_3(float v)") == 1  # c_definitions: each distinct text once
    assert "sg_test_times_2(float v)" in source
    assert re.search(r"static int k\d+_scaled_by_2\(", source)  # kernel_label names the function
    got_b, got_c = f(np.arange(4, dtype="float32"))
    np.testing.assert_array_equal(got_b, np.arange(4) * 6)
    np.testing.assert_array_equal(got_c, np.arange(4) * 3)


class _Checked(CLinkerOp):
    """Copies x; its ``c_loop_checks`` fail the call after the kernel ran."""

    name = "test_checked"

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        (x,), (out,) = inputs, outputs
        return f"for (int64_t i = 0; i < {x.size}; i++) {out.ptr}[i] = {x.ptr}[i];"

    def c_loop_checks(self, dtype: np.dtype | None) -> list[str]:
        flagged = int(np.dtype(dtype) == np.float32)  # the hook sees the first input's dtype
        return [f'if ({flagged}) SG_FAIL(SG_ERR_VALUE, "flagged after the kernel");']


def test_loop_checks_run_after_the_kernel():
    x = sg.placeholder((3,), name="x")
    f = sg.function([x], apply(_Checked(), x).outputs[0], mode="c", passes="O0")
    with pytest.raises(sg.errors.SymgraphError, match="flagged after the kernel"):
        f(np.ones(3, "float32"))


class _InContext(CLinkerOp):
    """x + 1 through C it adds to the unit itself (``c_kernel_in``), recording the contexts."""

    name = "test_in_context"
    seen: ClassVar[list[tuple[str, bool, list]]] = []

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x + np.float32(1)

    def c_kernel_in(self, context: KernelContext, node, inputs: list[CArray], outputs: list[CArray]) -> str:
        _InContext.seen.append((context.prefix, context.is_step, list(context.symbols)))
        context.add_support("static float sg_test_plus_one(float v) { return v + 1.0f; }\n")
        (x,), (out,) = inputs, outputs
        return f"for (int64_t i = 0; i < {x.size}; i++) {out.ptr}[i] = sg_test_plus_one({x.ptr}[i]);"


def test_c_kernel_in_gets_the_unit():
    _InContext.seen.clear()
    x = sg.placeholder((None,), name="x")
    y = apply(_InContext(), apply(_InContext(), x).outputs[0]).outputs[0]
    f = sg.function([x], y, mode="c", passes="O0")
    assert f.c_source.count("sg_test_plus_one(float v)") == 1
    np.testing.assert_array_equal(f(np.zeros(3, "float32")), [2, 2, 2])
    prefixes = [prefix for prefix, _, _ in _InContext.seen]
    assert len(set(prefixes)) == 2 and all(p.isidentifier() for p in prefixes)  # unique C names per node
    assert all(not is_step for _, is_step, _ in _InContext.seen)
    assert all(symbols == list(x.shape[0].symbols()) for _, _, symbols in _InContext.seen)  # one: x's size


class _NoC(Op):
    name = "test_no_c"

    def infer(self, x: Tensor) -> TensorType:
        return TensorType(x.dtype, x.shape)

    def reference(self, x: np.ndarray) -> np.ndarray:
        return x


def test_an_op_outside_the_contract_is_refused_by_name():
    x = sg.placeholder((2,), name="x")
    y = apply(_NoC(), x).outputs[0]
    with pytest.raises(sg.errors.UnsupportedError, match="test_no_c has no C.*CLinkerOp"):
        generate([x], [y], [])


def test_codegen_never_probes_ops_by_name():
    """A complement to the tests above: codegen calls the declared hooks, never getattr/hasattr."""
    for path in sorted(pathlib.Path(symgraph.codegen.__file__).parent.glob("*.py")):
        assert not re.search(r"\b(getattr|hasattr)\(", path.read_text()), path.name
