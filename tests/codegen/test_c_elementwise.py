"""Every elementwise op's C expression (``c_expr``) against its numpy reference.

For every Elementwise op in the op table and every dtype it accepts, the single-node
bench (tests/codegen/single_node.py) compiles the op's C and runs it on random inputs and
on edge cases (0, -0.0, +-inf, NaN, large magnitudes, tiny and subnormal values, integer
extremes, zero divisors, bools), and the result must equal the op's reference:

- bit for bit, the sign of zero included, where numpy is exact (integer ops,
  comparisons, logic, casts, floor/ceil/round, abs, neg, min/max, where, divisions,
  relu, ...);
- within a few ulp (``Case.ulp``) where a libm function is involved (or, for a result
  whose terms cancel, within a few ulp of the terms' size, ``Case.scale``), with NaN and
  signed zeros at the same places; float32 results are also held to 2 ulp of the true
  value (the reference computed in float64), ``test_float32_accuracy``.

Building: each case's C is the bench's own source for its node (``c_source``), with the
entry point renamed; the cases' kernels are grouped into a few units built in parallel,
so the file compiles a handful of units instead of hundreds. A unit that fails to build
is rebuilt case by case, so that the failing case reports the compiler's message.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops import OP_TABLE
from symgraph.ops.c_api import CLinkerOp
from symgraph.ops.elementwise import ANY, BOOL, FLOAT, NUMERIC, Elementwise
from symgraph.runtime.build import BuildError, build
from tests.codegen.single_node import c_source, last_node, run_c, run_reference

ALL = tuple(np.dtype(d) for d in ("bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64"))
FLOATS = tuple(d for d in ALL if d.kind == "f")
NUMERICS = tuple(d for d in ALL if d.kind != "b")
KIND_DTYPES = {ANY: ALL, NUMERIC: NUMERICS, FLOAT: FLOATS, BOOL: (np.dtype(bool),)}

N_RANDOM = 256  # random elements (or tuples) per case, besides the edge cases

# ---------------------------------------------------------------- inputs


def float_edges(dtype: np.dtype) -> list[float]:
    info = np.finfo(dtype)
    values = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -3.0, 6.0, -6.0, 0.1, -0.7]
    values += [1e-30, -1e-30, 1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 1e20, -1e20, 1e30, -1e30]
    values += [float(info.max), -float(info.max), float(info.smallest_subnormal), float(info.tiny)]
    return values + [np.inf, -np.inf, np.nan]


def int_edges(dtype: np.dtype) -> list[int]:
    info = np.iinfo(dtype)
    values = [0, 1, 2, 3, 7, 100, info.max, info.max - 1]
    if info.min < 0:
        values += [-1, -2, -3, -7, -100, info.min, info.min + 1]
    return [v for v in values if info.min <= v <= info.max]


def edges(dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        return np.array(int_edges(dtype), dtype)
    return np.array(float_edges(dtype), dtype)


def few_edges(dtype: np.dtype) -> np.ndarray:
    """A smaller edge set, for ops of three operands (all triples of it are tried)."""
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array(sorted({0, 1, 3, info.max, info.min, -2 if info.min < 0 else 2}), dtype)
    return np.array([0.0, -0.0, 1.0, -2.5, 1e4, np.inf, -np.inf, np.nan], dtype)


def random_values(rng: np.random.Generator, dtype: np.dtype, n: int) -> np.ndarray:
    if dtype.kind == "b":
        return rng.random(n) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        small = rng.integers(max(info.min, -10), 11, size=n)
        full = rng.integers(info.min, info.max, size=n, endpoint=True)
        return np.where(rng.random(n) < 0.6, small, full).astype(dtype)
    pick = rng.integers(0, 3, size=n)
    normal = rng.standard_normal(n) * 3
    unit = rng.uniform(-1, 1, size=n)
    wide = np.exp(rng.uniform(-25, 25, size=n)) * rng.choice([-1.0, 1.0], size=n)
    return np.select([pick == 0, pick == 1], [normal, unit], wide).astype(dtype)


def grid(columns: list[np.ndarray]) -> list[np.ndarray]:
    """Every combination of the columns' values, one array per operand."""
    mesh = np.meshgrid(*columns, indexing="ij")
    return [m.ravel() for m in mesh]


def standard_inputs(rng: np.random.Generator, dtypes: tuple[np.dtype, ...]) -> list[np.ndarray]:
    pick = few_edges if len(dtypes) > 2 else edges
    combos = grid([pick(d) for d in dtypes])
    randoms = [random_values(rng, d, N_RANDOM) for d in dtypes]
    return [np.concatenate([c, r]).astype(d) for c, r, d in zip(combos, randoms, dtypes)]


def int_power_inputs(rng: np.random.Generator, dtypes: tuple[np.dtype, ...]) -> list[np.ndarray]:
    """Integer power: every base edge against non-negative exponents (the reference
    rejects negative ones; see test_int_power_negative_exponent)."""
    dtype = dtypes[0]
    info = np.iinfo(dtype)
    exponents = np.array(sorted({e for e in (0, 1, 2, 3, 5, 7, 8, 15, 16, 31, 32, 63, 64, info.max) if e <= info.max}))
    base, exp = grid([edges(dtype), exponents.astype(dtype)])
    rand_base = random_values(rng, dtype, N_RANDOM)
    rand_exp = rng.integers(0, min(int(info.max), 70), size=N_RANDOM, endpoint=True)
    return [np.concatenate([base, rand_base]).astype(dtype), np.concatenate([exp, rand_exp]).astype(dtype)]


def float_power_inputs(rng: np.random.Generator, dtypes: tuple[np.dtype, ...]) -> list[np.ndarray]:
    dtype = dtypes[0]
    a, b = standard_inputs(rng, dtypes)
    positive = np.abs(random_values(rng, dtype, N_RANDOM))
    small = rng.uniform(-8, 8, size=N_RANDOM).astype(dtype)
    return [np.concatenate([a, positive]), np.concatenate([b, small])]


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    """One op (or one parameter setting of it) on one combination of input dtypes."""

    op: str  # its OP_TABLE name
    variant: str  # the test id's stem
    fn: Callable[..., Any]
    dtypes: tuple[np.dtype, ...]
    ulp: int | None = None  # None: exact (bit for bit); else the largest ulp distance from numpy
    # the size of the terms a result is a sum of, where they may cancel (float64, per
    # element): the error allowed grows by ulp * spacing(scale)
    scale: Callable[..., np.ndarray] | None = None
    inputs: Callable[[np.random.Generator, tuple[np.dtype, ...]], list[np.ndarray]] = standard_inputs
    arrays: list[np.ndarray] = field(default_factory=list)

    @property
    def id(self) -> str:
        names = [d.name for d in self.dtypes]
        return self.variant + "-" + ("-".join(names) if len(set(names)) > 1 else names[0])

    def make_arrays(self) -> list[np.ndarray]:
        if not self.arrays:
            rng = np.random.default_rng(zlib.crc32(self.id.encode()))
            self.arrays = [np.ascontiguousarray(a) for a in self.inputs(rng, self.dtypes)]
        return self.arrays


UNARY_FNS = {
    "negative": sg.negative,
    "abs": sg.abs,
    "sign": sg.sign,
    "logical_not": sg.logical_not,
    "isnan": sg.isnan,
    "isfinite": sg.isfinite,
    "stop_gradient": sg.stop_gradient,
    "identity": sg.identity,
    "exp": sg.exp,
    "expm1": sg.expm1,
    "log": sg.log,
    "log1p": sg.log1p,
    "sqrt": sg.sqrt,
    "rsqrt": sg.rsqrt,
    "square": sg.square,
    "reciprocal": sg.reciprocal,
    "sin": sg.sin,
    "cos": sg.cos,
    "tan": sg.tan,
    "arcsin": sg.arcsin,
    "arccos": sg.arccos,
    "arctan": sg.arctan,
    "sinh": sg.sinh,
    "cosh": sg.cosh,
    "tanh": sg.tanh,
    "erf": sg.erf,
    "floor": sg.floor,
    "ceil": sg.ceil,
    "round": sg.round,
    "relu": sg.nn.relu,
    "selu": sg.nn.selu,
    "sigmoid": sg.nn.sigmoid,
    "hard_sigmoid": sg.nn.hard_sigmoid,
    "softplus": sg.nn.softplus,
    "softsign": sg.nn.softsign,
    "swish": sg.nn.swish,
}
BINARY_FNS = {
    "add": sg.add,
    "sub": sg.subtract,
    "mul": sg.multiply,
    "true_divide": sg.true_divide,
    "floor_divide": sg.floor_divide,
    "mod": sg.mod,
    "maximum": sg.maximum,
    "minimum": sg.minimum,
    "equal": sg.equal,
    "not_equal": sg.not_equal,
    "less": sg.less,
    "less_equal": sg.less_equal,
    "greater": sg.greater,
    "greater_equal": sg.greater_equal,
    "logical_and": sg.logical_and,
    "logical_or": sg.logical_or,
    "logical_xor": sg.logical_xor,
    "sigmoid_binary_cross_entropy": sg.nn.sigmoid_binary_cross_entropy,
}
# The largest ulp distance from numpy where libm is involved. numpy's own float32 SIMD
# code (log, tan, arcsin, tanh) is up to 3 ulp from the correctly rounded value, and its
# float64 tanh 3 ulp from glibc's, so C and numpy may differ by 3 where glibc is within
# an ulp; test_float32_accuracy holds the C to 2 ulp of the true value instead.
LIBM_ULP = 3
ULP = {
    op: LIBM_ULP
    for op in (
        "exp",
        "expm1",
        "log",
        "log1p",
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "erf",
        "power",
        "elu",
        "selu",
        "gelu",
        "sigmoid",
        "softplus",
        "swish",
        "sigmoid_binary_cross_entropy",
    )
}
TRUE_ULP = 2  # float32 C results against the float64 reference rounded to float32


def gelu_scale(x: np.ndarray) -> np.ndarray:
    """gelu = x/2 + x/2 * cdf(x): the terms cancel for negative x."""
    return np.abs(x.astype(np.float64))


def bce_scale(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """max(x, 0) - x z + log1p(exp(-|x|)): the terms cancel."""
    x, z = x.astype(np.float64), z.astype(np.float64)
    with np.errstate(all="ignore"):
        return np.maximum(x, 0) + np.abs(x * z) + np.log1p(np.exp(-np.abs(x)))


def bce_inputs(rng: np.random.Generator, dtypes: tuple[np.dtype, ...]) -> list[np.ndarray]:
    """The standard pairs, less those where x z overflows but max(x, 0) - x z does not:
    gcc contracts x z + ... into one fma by default (-ffp-contract=fast), and the fused
    result is finite where numpy's is -inf."""
    x, z = standard_inputs(rng, dtypes)
    with np.errstate(all="ignore"):
        product = x * z
        exact = (np.maximum(x, 0).astype(np.longdouble) - x.astype(np.longdouble) * z).astype(x.dtype)
    keep = ~(np.isinf(product) & np.isfinite(exact))
    return [x[keep], z[keep]]


def op_dtypes(name: str) -> tuple[np.dtype, ...]:
    return KIND_DTYPES[OP_TABLE[name].input_kind]


def build_cases() -> list[Case]:
    cases: list[Case] = []

    def add(op: str, variant: str, fn: Callable, dtypes: tuple[np.dtype, ...], **kw: Any) -> None:
        cases.append(Case(op, variant, fn, dtypes, ulp=ULP.get(op), **kw))

    for name, fn in UNARY_FNS.items():
        op = name
        for d in op_dtypes(op):
            add(op, name, lambda x, fn=fn: fn(x), (d,))
    for name, fn in BINARY_FNS.items():
        op = name
        extra: dict[str, Any] = {}
        if op == "sigmoid_binary_cross_entropy":
            extra = {"inputs": bce_inputs, "scale": bce_scale}
        for d in op_dtypes(op):
            add(op, name, lambda a, b, fn=fn: fn(a, b), (d, d), **extra)
    for d in NUMERICS:
        inputs = float_power_inputs if d.kind == "f" else int_power_inputs
        add("power", "power", lambda a, b: sg.power(a, b), (d, d), inputs=inputs)
    for d in ALL:
        add("where", "where", lambda c, a, b: sg.where(c, a, b), (np.dtype(bool), d, d))
        add("clip", "clip", lambda x, lo, hi: sg.clip(x, lo, hi), (d, d, d))
    for src in ALL:
        for dst in ALL:
            if src != dst:
                add("cast", f"cast_to_{dst.name}", lambda x, dst=dst: sg.cast(x, dst), (src,))
    for d in FLOATS:
        for slope in (0.2, 0.01):
            add("leaky_relu", f"leaky_relu_{slope}", lambda x, s=slope: sg.nn.leaky_relu(x, s), (d,))
        for alpha in (1.0, 0.5):
            add("elu", f"elu_{alpha}", lambda x, a=alpha: sg.nn.elu(x, a), (d,))
        for approximate in (False, True):
            name = "gelu_tanh" if approximate else "gelu"
            add("gelu", name, lambda x, ap=approximate: sg.nn.gelu(x, approximate=ap), (d,), scale=gelu_scale)
    return cases


CASES = build_cases()
ELEMENTWISE_OPS = sorted(name for name, cls in OP_TABLE.items() if issubclass(cls, Elementwise))


# ---------------------------------------------------------------- grouped build


def _entry(k: int) -> str:
    return f"sg_kernel_{k}"


def case_unit(case: Case, k: int) -> tuple[str, str]:
    """(support definitions, kernel) for one case: the bench's source, renamed ``_entry(k)``."""
    node = last_node(case.fn, case.make_arrays())
    source = c_source(node)
    head = '#include "symgraph.h"\n'
    assert source.startswith(head)
    kernel = source[len(head) :].replace("int sg_kernel(", f"int {_entry(k)}(", 1)
    return node.op.c_support(node.inputs[0].dtype), kernel


def build_unit(cases: list[Case]) -> Any:
    supports: list[str] = []
    kernels = []
    for k, case in enumerate(cases):
        support, kernel = case_unit(case, k)
        if support and support not in supports:
            supports.append(support)
        kernels.append(kernel)
    source = '#include "symgraph.h"\n' + "".join(supports) + "\n".join(kernels)
    cdef = "\n".join(
        f"int {_entry(k)}(void **ins, void **outs, char *errbuf, size_t errbuf_size);" for k in range(len(cases))
    )
    return build(source, cdef, name_hint=f"c_elementwise_{cases[0].variant}")


def call_kernel(lib: Any, k: int, case: Case) -> np.ndarray:
    """What ``single_node.run_c`` does after its build, for kernel ``k`` of ``lib``."""
    arrays = case.make_arrays()
    node = last_node(case.fn, arrays)
    ffi = lib.ffi
    outs = [np.empty(t.shape, t.dtype) for t in node.outputs]
    ins_p = ffi.new("void*[]", [ffi.from_buffer(a) for a in arrays])
    outs_p = ffi.new("void*[]", [ffi.from_buffer(o) for o in outs])
    errbuf = ffi.new("char[]", 512)
    status = getattr(lib.lib, _entry(k))(ins_p, outs_p, errbuf, 512)
    assert status == 0, ffi.string(errbuf).decode()
    return outs[0]


class Built:
    """Every case's kernel, built on first use in a few units (in parallel)."""

    GROUPS = 6

    def __init__(self, cases: list[Case]):
        self.cases = cases
        self.where: dict[str, tuple[Any, int]] = {}
        self.failed: dict[str, BuildError] = {}
        groups = [cases[g :: self.GROUPS] for g in range(self.GROUPS)]
        with ThreadPoolExecutor(max_workers=max(2, min(self.GROUPS, os.cpu_count() or 2))) as pool:
            results = list(pool.map(self._try_build, groups))
        for group, (lib, error) in zip(groups, results):
            for k, case in enumerate(group):
                if lib is not None:
                    self.where[case.id] = (lib, k)
                else:
                    self.failed[case.id] = error

    @staticmethod
    def _try_build(group: list[Case]) -> tuple[Any, BuildError | None]:
        try:
            return build_unit(group), None
        except BuildError as exc:
            return None, exc

    def run(self, case: Case) -> np.ndarray:
        if case.id in self.failed:  # the group did not build: this case alone, for its own message
            return call_kernel(build_unit([case]), 0, case)
        lib, k = self.where[case.id]
        return call_kernel(lib, k, case)


@pytest.fixture(scope="module")
def built() -> Built:
    return Built(CASES)


# ---------------------------------------------------------------- comparison


def ordered(x: np.ndarray) -> np.ndarray:
    """Floats mapped to integers in the same order, adjacent floats one apart (+-0 both 0)."""
    bits = x.view(np.int32 if x.dtype == np.float32 else np.int64).astype(np.int64)
    magnitude = bits & (0x7FFFFFFF if x.dtype == np.float32 else 0x7FFFFFFFFFFFFFFF)
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Ulps between non-NaN floats (infinity is one ulp beyond the largest float)."""
    a, b = ordered(got), ordered(want)
    same_sign = (a >= 0) == (b >= 0)  # then a - b cannot overflow int64
    return np.where(same_sign, np.abs(np.where(same_sign, a - b, 0)), np.iinfo(np.int64).max)


def assert_matches(
    got: np.ndarray, want: np.ndarray, ulp: int | None, inputs: list[np.ndarray], scale: np.ndarray | None = None
) -> None:
    """``got`` equals ``want`` (``ulp`` None: bit for bit, signed zeros included), or
    lies within ``ulp`` ulp of it, or within ``ulp`` ulp of ``scale`` (per element) where
    given; NaN at the same places either way."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape

    def where(bad: np.ndarray) -> str:
        i = np.flatnonzero(bad)[:8]
        rows = [f"  inputs {[a[j] for a in inputs]}: C {got[j]!r}, expected {want[j]!r}" for j in i]
        return f"{int(bad.sum())} of {bad.size} elements differ, e.g.\n" + "\n".join(rows)

    if got.dtype.kind != "f":
        bad = got != want
        assert not bad.any(), where(bad)
        return
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    assert (nan_got == nan_want).all(), "NaN at other places: " + where(nan_got != nan_want)
    both = ~nan_want
    if ulp is None:
        bad = both & ((got != want) | (np.signbit(got) != np.signbit(want)))
        assert not bad.any(), where(bad)
        return
    bad = both & (ulp_distance(got, want) > ulp)
    zeros = both & (got == 0) & (want == 0)
    assert not (zeros & (np.signbit(got) != np.signbit(want))).any(), "zeros of other signs: " + where(
        zeros & (np.signbit(got) != np.signbit(want))
    )
    if scale is not None:
        with np.errstate(all="ignore"):
            error = np.abs(got.astype(np.float64) - want.astype(np.float64))
            allowed = ulp * np.spacing(np.abs(scale).astype(got.dtype)).astype(np.float64)
        bad &= ~(np.isfinite(error) & (error <= allowed))
    assert not bad.any(), f"more than {ulp} ulp: " + where(bad)


# ---------------------------------------------------------------- tests


def test_every_elementwise_op_has_a_c_expr():
    missing = [name for name in ELEMENTWISE_OPS if OP_TABLE[name].c_expr is CLinkerOp.c_expr]  # the default raises
    assert not missing, f"elementwise ops without c_expr: {missing}"


def test_every_elementwise_op_is_checked():
    covered = {case.op for case in CASES}
    assert set(ELEMENTWISE_OPS) <= covered, f"no C case for {sorted(set(ELEMENTWISE_OPS) - covered)}"
    for case in CASES:  # and each case's last node is the op it names, on the placeholders
        assert last_node(case.fn, case.make_arrays()).op.name == case.op, case.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_c_matches_reference(case: Case, built: Built):
    arrays = case.make_arrays()
    got = built.run(case)
    want = run_reference(case.fn, arrays)[0]
    scale = case.scale(*arrays) if case.scale else None
    assert_matches(got, np.asarray(want), case.ulp, arrays, scale)


FLOAT32_INEXACT = [c for c in CASES if c.ulp is not None and c.dtypes[0] == np.float32]


@pytest.mark.parametrize("case", FLOAT32_INEXACT, ids=lambda c: c.id)
def test_float32_accuracy(case: Case, built: Built):
    """float32 results within 2 ulp of the true value: the reference computed in float64
    (on the same float32 inputs) and rounded."""
    arrays = case.make_arrays()
    node = last_node(case.fn, arrays)
    wide = [a.astype(np.float64) for a in arrays]
    with np.errstate(all="ignore"):
        truth = np.asarray(node.op.reference(*wide)).astype(np.float32)
    scale = case.scale(*arrays) if case.scale else None
    assert_matches(built.run(case), truth, TRUE_ULP, arrays, scale)


def test_grouped_build_is_the_bench(built: Built):
    """The grouped kernels are the bench's: run_c gives the same bits on a few cases."""
    for case in CASES:
        if case.id in ("maximum-float32", "floor_divide-int32", "cast_to_int8-float64"):
            np.testing.assert_array_equal(run_c(case.fn, case.make_arrays())[0], built.run(case))


def test_int_power_negative_exponent():
    """numpy (and the reference) reject negative integer exponents; the C gives 0 (a
    C expression cannot raise). Documented deviation."""
    base = np.array([2, -3, 1, -1, 0, 5], "int32")
    exponent = np.array([-1, -2, -1, -3, -1, -100], "int32")
    case = Case("power", "power_negative", lambda a, b: sg.power(a, b), (base.dtype,) * 2, arrays=[base, exponent])
    with pytest.raises(ValueError):
        run_reference(case.fn, case.arrays)
    np.testing.assert_array_equal(call_kernel(build_unit([case]), 0, case), np.zeros(6, "int32"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", ["constant", "array"])
def test_power_of_one_half_keeps_pows_special_values_in_every_lane(dtype, exponent):
    """gcc vectorises pow(x, 0.5) as sqrt(x): nan at -inf and -0 at -0 in the vector body,
    pow's +inf and +0 in the scalar remainder. 37 elements cover both parts of the loop;
    every element must be the reference's (pow's) answer."""
    x = sg.placeholder((None,), dtype, name="x")
    values = np.tile(np.array([-np.inf, -0.0, 4.0, np.inf, -2.0, 0.0], dtype), 7)[:37]
    if exponent == "constant":
        inputs, feed, out = [x], [values], sg.power(x, 0.5)
    else:
        e = sg.placeholder((None,), dtype, name="e")
        inputs, feed, out = [x, e], [values, np.full(37, 0.5, dtype)], sg.power(x, e)
    expected = sg.function(inputs, out, mode="py")(*feed)
    np.testing.assert_array_equal(expected[:6], np.array([np.inf, 0.0, 2.0, np.inf, np.nan, 0.0], dtype))
    got = sg.function(inputs, out, mode="c")(*feed)
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[np.isfinite(got)]).any()  # +0 at -0, as pow
