"""``symgraph.keras.ops`` against real Keras 3 (its numpy backend), table-driven.

Each row of ``ROWS`` is one call of one ``keras.ops`` function on seeded numpy data. It
runs three ways and each result is compared with Keras' (or numpy's, when Keras is not
installed): (a) on the numpy arrays themselves, (b) on eager tensors, (c) compiled: every
array becomes a placeholder, the op builds graph, and ``sg.function`` runs it (mode "py",
the reference interpreter; ``test_rows_compile_to_c`` builds them all as C as well).
Gradients of differentiable ops are checked against central differences in float64.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import symgraph as sg
from symgraph import keras as sk
from symgraph.errors import UnsupportedError
from symgraph.keras import ops

NAMES_FILE = Path(__file__).parent / "data" / "keras_ops_names.txt"
RNG = np.random.default_rng(20260317)


@pytest.fixture(scope="module")
def real_ops():
    """keras.ops of real Keras on its numpy backend, or None: then numpy is the reference
    (``SYMGRAPH_OPS_REFERENCE=numpy`` asks for that with Keras installed)."""
    if os.environ.get("SYMGRAPH_OPS_REFERENCE") == "numpy":
        return None
    os.environ.setdefault("KERAS_BACKEND", "numpy")  # before the first import of keras
    try:
        keras = pytest.importorskip("keras")
    except pytest.skip.Exception:
        return None
    if keras.backend.backend() != "numpy":
        return None
    return keras.ops


# ----------------------------------------------------------------------------- data


def f32(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def pos(*shape: int) -> np.ndarray:
    return RNG.uniform(0.5, 2.0, shape).astype(np.float32)


def unit(*shape: int) -> np.ndarray:
    return RNG.uniform(-0.9, 0.9, shape).astype(np.float32)


def i32(*shape: int, lo: int = 0, hi: int = 5) -> np.ndarray:
    return RNG.integers(lo, hi, shape).astype(np.int32)


def boolean(*shape: int) -> np.ndarray:
    return RNG.random(shape) < 0.5


def spd(n: int) -> np.ndarray:
    a = RNG.standard_normal((n, n))
    return (a @ a.T + n * np.eye(n)).astype(np.float32)


@dataclass
class Row:
    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-6
    compiled: bool = True  # the graph world applies (a data-dependent shape does not)
    dtype: bool = True  # the result dtypes equal Keras' (False: a documented difference)
    check: Any = None  # a property check replacing the comparison (results where Keras' choice is free)
    ref: Any = None  # a reference of our own (where Keras' numpy backend differs from its other backends)
    numpy: bool = True  # without Keras, numpy's function of this name is a reference (values; dtypes differ)
    label: str = ""

    @property
    def id(self) -> str:
        return self.name + (f"[{self.label}]" if self.label else "")


def R(name: str, *args: Any, **kwargs: Any) -> Row:
    options = {k[1:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
    return Row(name, args, kwargs, **options)


X = f32(3, 4)
Y = f32(3, 4)
V = f32(5)
P = pos(3, 4)
U = unit(3, 4)
I = i32(3, 4)  # noqa: E741
B = boolean(3, 4)
IMG = f32(2, 6, 6, 3)
SEQ = f32(2, 8, 3)
M3 = f32(3, 3)
SPD = spd(3)
Q4 = f32(2, 5, 2, 4)
K4 = f32(2, 6, 2, 4)
V4 = f32(2, 6, 2, 4)
NAN = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, 0.5, -1.0, 4.0], [2.0, 2.0, np.nan, np.nan]], np.float32)
SIG = f32(2, 32)
# frames whose best classes repeat and pass through the blank (0): [1 1 0 2 2 2 1], ...
CTC_FRAMES = 4.0 * np.eye(5, dtype=np.float32)[
    [[1, 1, 0, 2, 2, 2, 1], [3, 0, 3, 3, 4, 0, 0], [2, 2, 2, 2, 2, 2, 2]]
] + f32(3, 7, 5, scale=0.1)


def _lower(m: np.ndarray) -> np.ndarray:
    return np.tril(m) + 3 * np.eye(m.shape[-1], dtype=m.dtype)


def _qr_check(result: Any, args: tuple) -> None:
    q, r = (np.asarray(t) for t in result)
    np.testing.assert_allclose(q @ r, args[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.eye(q.shape[-1]), atol=1e-5)
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-6)


def _partition_check(result: Any, args: tuple) -> None:
    idx = np.asarray(result)
    x, kth = args[0], args[1]
    part = np.take_along_axis(x, idx, axis=-1)
    kv = part[..., kth : kth + 1]
    assert np.all(part[..., :kth] <= kv) and np.all(part[..., kth + 1 :] >= kv)
    assert np.array_equal(np.sort(idx, axis=-1), np.broadcast_to(np.arange(x.shape[-1]), idx.shape))


def _empty_check(result: Any, args: tuple) -> None:
    assert np.asarray(result).shape == args[0] and np.asarray(result).dtype == np.float32


def _sparsemax(x: np.ndarray) -> np.ndarray:
    z = np.sort(x, axis=-1)[..., ::-1]
    k = np.arange(1, x.shape[-1] + 1)
    cs = np.cumsum(z, axis=-1)
    k_max = (1 + k * z > cs).sum(-1, keepdims=True)
    tau = (np.take_along_axis(cs, k_max - 1, -1) - 1) / k_max
    return np.maximum(x - tau, 0).astype(x.dtype)


def _gqa_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    group = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    logits = np.einsum("BTNH,BSNH->BNTS", q, k) / np.sqrt(q.shape[-1])
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return np.einsum("BNTS,BSNH->BTNH", e / e.sum(-1, keepdims=True), v).astype(q.dtype)


def _jvp_ref(fun: Any, primals: tuple, tangents: tuple) -> tuple:
    (a, b), (ta, tb) = primals, tangents
    return fun(a, b), (ta * b + a * tb + 2 * a * ta, 4.0 * b * tb)


def _stable_bce(t: np.ndarray, logits: np.ndarray, from_logits: bool = False) -> np.ndarray:
    return np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))


ROWS: list[Row] = [
    # creation
    R("array", X),
    R("zeros", (2, 3)),
    R("ones", (2, 3), dtype="int32"),
    R("empty", (2, 2), _check=_empty_check),  # the contents are unspecified
    R("zeros_like", X),
    R("ones_like", I),
    R("empty_like", X),
    R("full", (2, 3), 1.5),
    R("full_like", X, 2.0),
    R("arange", 2, 11, 3),
    R("arange", 0.5, 3.0, 0.5, _label="float"),
    R("eye", 3, 4, 1),
    R("identity", 3),
    R("tri", 3, 4, -1),
    R("linspace", 0.0, 1.0, 7),
    R("linspace", np.array([0.0, 1.0], np.float32), np.array([2.0, 5.0], np.float32), 4, axis=1, _label="arrays"),
    R("logspace", 0.0, 2.0, 5),
    R("geomspace", 1.0, 100.0, 5, _rtol=1e-5),
    R("bartlett", 7),
    R("blackman", 7, _atol=1e-6),
    R("hamming", 7),
    R("hanning", 7),
    R("kaiser", 7, 5.0),
    R("meshgrid", V, f32(3)),
    R("meshgrid", V, f32(3), indexing="ij", _label="ij"),
    R("vander", f32(4), 3),
    # elementwise
    *[
        R(n, X)
        for n in [
            "abs",
            "absolute",
            "fabs",
            "negative",
            "sign",
            "square",
            "exp",
            "expm1",
            "exp2",
            "sin",
            "cos",
            "tan",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "arcsinh",
            "deg2rad",
            "rad2deg",
            "cbrt",
            "sinc",
            "floor",
            "ceil",
            "trunc",
            "round",
            "isnan",
            "isfinite",
            "isinf",
            "isposinf",
            "isneginf",
            "real",
            "imag",
            "conj",
            "conjugate",
            "isreal",
            "copy",
            "angle",
            "signbit",
            "erf",
            "erfc",
            "rsqrt",
            "reciprocal",
            "logical_not",
            "relu",
            "relu6",
            "sigmoid",
            "softplus",
            "softsign",
            "silu",
            "swish",
            "log_sigmoid",
            "hard_sigmoid",
            "hard_silu",
            "hard_swish",
            "hard_tanh",
            "tanh_shrink",
            "selu",
            "sparse_plus",
            "sparse_sigmoid",
            "elu",
            "celu",
            "gelu",
            "leaky_relu",
            "hard_shrink",
            "soft_shrink",
            "squareplus",
            "i0",
            "nan_to_num",
        ]
        if n not in ("rsqrt", "reciprocal")
    ],
    R("rsqrt", P),
    R("reciprocal", P),
    R("sqrt", P),
    R("log", P),
    R("log1p", P),
    R("log2", P),
    R("log10", P),
    R("arcsin", U),
    R("arccos", U),
    R("arctanh", U),
    R("arccosh", P + 1.0),
    R("erfinv", U, _rtol=1e-4, _atol=1e-5),
    R("gelu", X, approximate=False, _label="exact"),
    R("elu", X, alpha=0.5, _label="alpha"),
    R("leaky_relu", X, negative_slope=0.1, _label="slope"),
    R("round", X * 10, 1, _label="decimals"),
    R("nan_to_num", NAN, nan=-1.0, _label="nan"),
    R("isnan", NAN, _label="nan"),
    R("i0", f32(3, 4, scale=3.0), _rtol=1e-5, _label="wide"),
    R("glu", f32(3, 6)),
    R("threshold", X, 0.2, -1.0),
    R("sqrt", I, _label="int"),
    R("abs", I, _label="int"),
    R("exp", I, _label="int"),
    # binary
    *[
        R(n, X, Y)
        for n in [
            "add",
            "subtract",
            "multiply",
            "divide",
            "true_divide",
            "maximum",
            "minimum",
            "equal",
            "not_equal",
            "greater",
            "greater_equal",
            "less",
            "less_equal",
            "arctan2",
            "hypot",
            "logaddexp",
            "logaddexp2",
            "fmax",
            "fmin",
            "heaviside",
            "divide_no_nan",
            "logical_and",
            "logical_or",
            "logical_xor",
        ]
    ],
    R("add", X, 2, _label="scalar"),
    R("multiply", I, X, _label="int-float"),
    R("add", I, I, _label="int"),
    R("mod", X, P),
    R("mod", I, i32(3, 4, lo=1, hi=4), _label="int"),
    R("fmod", X * 3, P),
    R("fmod", i32(3, 4, lo=-9, hi=9), i32(3, 4, lo=1, hi=4), _label="int"),
    R("floor_divide", X * 3, P),
    R("power", P, Y),
    R("power", I, 2, _label="int"),
    R("ldexp", X, i32(3, 4, lo=-3, hi=3)),
    R("nextafter", X, Y),
    R(
        "nextafter",
        np.array([0.0, 1.0, -1.0, 2.0], np.float32),
        np.array([1.0, 0.0, 0.0, 3.0], np.float32),
        _label="edges",
    ),
    R("heaviside", np.array([-1.0, 0.0, 2.0], np.float32), 0.5, _label="zero"),
    R("isclose", X, X + 1e-6),
    R("allclose", X, X + 1e-6),
    R("clip", X, -0.5, 0.5),
    R("where", B, X, Y),
    R("where", B, X, 0.0, _label="scalar"),
    R("gcd", i32(3, 4, lo=-30, hi=30), i32(3, 4, lo=-30, hi=30)),
    R("lcm", i32(3, 4, lo=-12, hi=12), i32(3, 4, lo=-12, hi=12)),
    R("bitwise_and", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=-50, hi=50)),
    R("bitwise_or", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=-50, hi=50)),
    R("bitwise_xor", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=-50, hi=50)),
    R("bitwise_and", B, boolean(3, 4), _label="bool"),
    R("bitwise_invert", i32(3, 4, lo=-50, hi=50)),
    R("bitwise_not", i32(3, 4, lo=-50, hi=50)),
    R("bitwise_left_shift", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=0, hi=5)),
    R("bitwise_right_shift", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=0, hi=5)),
    R("left_shift", i32(3, 4, lo=0, hi=50), i32(3, 4, lo=0, hi=5)),
    R("right_shift", i32(3, 4, lo=-50, hi=50), i32(3, 4, lo=0, hi=5)),
    # reductions
    *[R(n, X, axis=1) for n in ["sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "ptp"]],
    *[R(n, X) for n in ["sum", "mean", "max", "logsumexp", "median", "count_nonzero", "argmax", "argmin"]],
    R("sum", I, axis=0, keepdims=True, _label="int"),
    R("sum", B, _label="bool"),
    R("mean", I, axis=(0, 1), _label="int"),
    R("max", X, axis=0, initial=0.5, _label="initial"),
    R("min", X, axis=0, initial=-0.5, _label="initial"),
    R("all", B, axis=1),
    R("any", B, axis=0),
    R("all", B, _label="flat"),
    R("argmax", X, axis=1, keepdims=True, _label="axis"),
    R("argmin", X, axis=0, _label="axis"),
    R("logsumexp", X, axis=1, keepdims=True, _label="axis"),
    R("count_nonzero", I, axis=1, _label="axis"),
    R("average", X, axis=1, weights=pos(4)),
    R("average", X, _label="plain"),
    R("median", X, axis=1, keepdims=True, _label="axis"),
    R("quantile", X, 0.3, axis=1),
    R("quantile", X, np.array([0.1, 0.5, 0.9], np.float32), axis=0, method="nearest", _label="nearest"),
    R("quantile", X, 0.25, method="midpoint", _label="midpoint"),
    R("percentile", X, 40.0, axis=1, method="lower"),
    R("percentile", X, 40.0, axis=1, method="higher", keepdims=True, _label="higher"),
    R("nansum", NAN, axis=1),
    R("nanmean", NAN, axis=1),
    R("nanvar", NAN, axis=0),
    R("nanstd", NAN, axis=1),
    R("nanmax", NAN, axis=1),
    R("nanmin", NAN, axis=0),
    R("nanprod", NAN, axis=1),
    R("nanargmax", NAN, axis=1),
    R("nanargmin", NAN, axis=1),
    R("nancumsum", NAN, axis=1),
    R("nancumprod", NAN, axis=1),
    R("nanmedian", NAN, axis=1),
    R("nanquantile", NAN, 0.3, axis=1),
    R("nanpercentile", NAN, 70.0, axis=1),
    R("cumsum", X, axis=1),
    R("cumsum", I, _label="flat-int"),
    R("cumprod", X, axis=0),
    R("moments", X, axes=[1]),
    R("moments", IMG, axes=(0, 1, 2), keepdims=True, _label="keepdims"),
    R("norm", X),
    R("norm", X, ord=1, axis=1, _label="l1"),
    R("norm", X, ord=3, axis=0, keepdims=True, _label="p3"),
    R("norm", X, ord=np.inf, axis=1, _label="inf"),
    R("norm", X, ord="fro", axis=(0, 1), _label="fro"),
    R("norm", X, ord=1, axis=(0, 1), _label="matrix-1"),
    R("norm", X, ord=-np.inf, axis=(0, 1), _label="matrix-neginf"),
    # shapes
    R("reshape", X, (4, 3)),
    R("reshape", X, (-1,), _label="flat"),
    R("ravel", X),
    R("transpose", f32(2, 3, 4), (2, 0, 1)),
    R("transpose", X, _label="default"),
    R("swapaxes", f32(2, 3, 4), 0, 2),
    R("moveaxis", f32(2, 3, 4), 0, -1),
    R("expand_dims", X, 1),
    R("expand_dims", X, (0, 3), _label="tuple"),
    R("squeeze", f32(3, 1, 4, 1), axis=1),
    R("squeeze", f32(3, 1, 4, 1), _label="all"),
    R("broadcast_to", V, (3, 5)),
    R("concatenate", [X, Y], axis=1),
    R("concatenate", [X, I], axis=0, _label="promote"),
    R("append", X, Y),
    R("append", X, Y, axis=0, _label="axis"),
    R("stack", [X, Y], axis=1),
    R("hstack", [X, Y]),
    R("vstack", [X, Y]),
    R("dstack", [X, Y]),
    R("split", f32(6, 2), 3),
    R("split", f32(6, 2), [1, 4], axis=0, _label="indices"),
    R("array_split", f32(7, 2), 3),
    R("hsplit", f32(2, 6), 2),
    R("vsplit", f32(6, 2), 3),
    R("dsplit", f32(2, 2, 4), 2),
    R("tile", X, (2, 1)),
    R("repeat", X, 2, axis=1),
    R("repeat", X, [1, 0, 2], axis=0, _label="counts"),
    R("repeat", X, 2, _label="flat"),
    R("flip", X, axis=1),
    R("flip", X, _label="all"),
    R("fliplr", X),
    R("flipud", X),
    R("rot90", X),
    R("rot90", f32(2, 3, 4), k=3, axes=(1, 2), _label="k3"),
    R("roll", X, 2, axis=1),
    R("roll", X, -3, _label="flat"),
    R("pad", X, ((1, 2), (0, 1))),
    R("pad", X, ((1, 1), (2, 2)), mode="reflect", _label="reflect"),
    R("pad", X, 1, mode="edge", _label="edge"),
    R("pad", X, ((1, 0), (0, 1)), constant_values=3.0, _label="value"),
    R("tril", f32(4, 4), -1),
    R("triu", f32(2, 4, 4), 1),
    R("diag", V),
    R("diag", V, k=-1, _label="k"),
    R("diag", f32(4, 4), k=1, _label="extract"),
    R("diagflat", X),
    R("diagonal", f32(3, 4), 1),
    R("diagonal", f32(2, 3, 4), 0, 1, 2, _label="batched"),
    R("trace", f32(4, 4)),
    R("diff", X, axis=1),
    R("diff", f32(6), n=2, _label="n2"),
    R("get_item", X, (slice(None), 1)),
    R("take", X, np.array([2, 0]), axis=1),
    R("take", X, np.array([[1, 5], [11, 0]]), _label="flat"),
    R("take_along_axis", X, np.argsort(X, axis=1).astype(np.int32), axis=1),
    R("select", [X > 0, X < -0.5], [X, Y], 0.0),
    R("searchsorted", np.sort(V), f32(4)),
    R(
        "searchsorted",
        np.array([0.0, 1.0, 1.0, 2.0], np.float32),
        np.array([1.0, 1.5], np.float32),
        side="right",
        _label="right",
    ),
    R("digitize", X, np.array([-1.0, 0.0, 1.0], np.float32)),
    R("isin", I, np.array([1, 3], np.int32)),
    R("isin", I, np.array([1, 3], np.int32), invert=True, _label="invert"),
    R("bincount", np.array([0, 1, 1, 3, 1], np.int32), _compiled=False),
    R("bincount", np.array([0, 1, 1, 3, 1], np.int32), minlength=6, _label="minlength"),
    R("bincount", np.array([0, 1, 1, 3], np.int32), weights=pos(4), minlength=5, _label="weights"),
    R("histogram", f32(20), bins=5, _dtype=False),
    R("histogram", f32(20), bins=4, range=(-1.0, 1.0), _dtype=False, _label="range"),
    R("unravel_index", np.array([0, 5, 11], np.int32), (3, 4), _dtype=False),
    R("argsort", X, axis=0),
    R("argsort", X, axis=None, _label="flat"),
    R("argpartition", X, 2, _check=_partition_check),
    R("sort", X, axis=1),
    R("sort", X, axis=None, _label="flat"),
    R("unique", np.array([3, 1, 3, 2, 1], np.int32), _compiled=False),
    R("unique", np.array([3, 1, 3, 2, 1], np.int32), size=4, fill_value=-1, _label="size"),
    R(
        "unique",
        np.array([3, 1, 3, 2, 1], np.int32),
        return_inverse=True,
        return_counts=True,
        return_index=True,
        size=3,
        _dtype=False,  # Keras' numpy backend: int64 indices and counts (JAX's: int32, as here)
        _label="extras",
    ),
    R("nonzero", np.array([[0, 1], [2, 0]], np.int32), _compiled=False, _dtype=False),
    R("where", np.array([[0, 1], [2, 0]], np.int32), _compiled=False, _dtype=False, _label="one-arg"),
    R("top_k", X, 2, _dtype=False),
    R("in_top_k", np.array([0, 3, 1], np.int32), X, 2),
    R("unstack", X, axis=1),
    R("slice", X, (1, 1), (2, 2)),
    R("slice", X, np.array([1, 2], np.int32), (2, 2), _label="tensor-start"),
    R("slice_update", X, (1, 1), f32(2, 2)),
    R("slice_update", X, np.array([0, 2], np.int32), f32(2, 2), _label="tensor-start"),
    R("scatter", np.array([[0, 1], [2, 3], [0, 1]], np.int32), np.array([1.0, 2.0, 3.0], np.float32), (3, 4)),
    R("scatter_update", X, np.array([[0, 1], [2, 3]], np.int32), np.array([5.0, 6.0], np.float32)),
    R("scatter_update", X, np.array([[0], [2]], np.int32), f32(2, 4), _label="rows"),
    R("scatter_update", X, np.array([[0, 1], [2, 3], [0, 1]], np.int32), pos(3), reduction="add", _label="add"),
    R("scatter_update", X, np.array([[0, 1], [2, 3], [0, 1]], np.int32), pos(3), reduction="max", _label="max"),
    R("segment_sum", X, np.array([0, 2, 0], np.int32), num_segments=3),
    R("segment_sum", X, np.array([0, 2, 0], np.int32), _compiled=False, _label="inferred"),
    R("segment_max", X, np.array([0, 1, 0], np.int32), num_segments=3),
    R("segment_min", X, np.array([1, 1, 0], np.int32), num_segments=2),
    R("segment_prod", X, np.array([1, 1, 0], np.int32), num_segments=2),
    R("view", X, "float32"),
    # products
    R("matmul", X, f32(4, 2)),
    R("matmul", f32(2, 3, 4), f32(4), _label="vector"),
    R("dot", X, f32(4)),
    R("dot", f32(2, 3, 4), f32(4, 2), _label="nd"),
    R("vdot", X, Y),
    R("inner", X, Y),
    R("outer", V, f32(3)),
    R("tensordot", f32(2, 3, 4), f32(3, 4, 5), 2),
    R("tensordot", f32(2, 3, 4), f32(4, 3, 5), ((1, 2), (1, 0)), _label="axes"),
    R("kron", f32(2, 3), f32(3, 2)),
    R("cross", f32(4, 3), f32(4, 3)),
    R("cross", f32(4, 2), f32(4, 3), _label="2d"),
    R("einsum", "ij,jk->ik", X, f32(4, 2)),
    R("einsum", "bij,bjk->bik", f32(2, 3, 4), f32(2, 4, 5), _label="batched"),
    R("einsum", "ii->i", f32(3, 3), _label="diag"),
    R("einsum", "ij->", X, _label="sum"),
    R("einsum", "i,j->ij", V, f32(3), _label="outer"),
    R("einsum", "...ij,...jk", f32(2, 3, 4), f32(4, 2), _label="ellipsis"),
    R("einsum", "abc,cd,bd->a", f32(2, 3, 4), f32(4, 5), f32(3, 5), _label="three"),
    R("trapezoid", X),
    R("trapezoid", X, x=np.sort(f32(4)), _label="x"),
    R("trapezoid", X, dx=0.5, axis=0, _label="dx"),
    R("correlate", V, f32(3)),
    R("correlate", V, f32(3), mode="full", _label="full"),
    R("correlate", V, f32(3), mode="same", _label="same"),
    R("correlate", f32(3), V, mode="full", _label="swapped"),
    R("corrcoef", f32(3, 6)),
    R("cdist", f32(3, 4), f32(5, 4)),
    # casts and conversion
    R("cast", X, "int32"),
    R("cast", I, "float32", _label="to-float"),
    R("saturate_cast", X * 300, "uint8"),
    R("saturate_cast", i32(3, 4, lo=-300, hi=300), "int8", _label="int"),
    R("convert_to_tensor", X),
    R("convert_to_tensor", I, dtype="float32", _label="dtype"),
    R("stop_gradient", X),
    # nn
    R("softmax", X),
    R("softmax", X, axis=0, _label="axis"),
    R("log_softmax", X, axis=-1),
    R("sparsemax", X, _ref=_sparsemax),  # Keras' numpy backend leaves rows that sum below 1 unprojected
    R("one_hot", np.array([0, 2, -1, 3], np.int32), 4),
    R("one_hot", np.array([[0, 2], [1, 1]], np.int32), 3, axis=0, _label="axis"),
    R("multi_hot", np.array([[0, 2], [1, 1]], np.int32), 4),
    R("normalize", X),
    R("normalize", X, axis=0, order=1, _label="l1"),
    R("batch_normalization", X, f32(4), pos(4), axis=1, offset=f32(4), scale=pos(4)),
    R("layer_normalization", X),
    R("layer_normalization", X, gamma=pos(4), beta=f32(4), epsilon=1e-3, _label="affine"),
    R("rms_normalization", X, scale=pos(4)),
    R("psnr", P, P + 0.1 * X, 2.0),
    R("binary_crossentropy", boolean(3, 4).astype(np.float32), RNG.uniform(0.05, 0.95, (3, 4)).astype(np.float32)),
    R(
        "binary_crossentropy",
        boolean(3, 4).astype(np.float32),
        f32(3, 4),
        from_logits=True,
        _ref=_stable_bce,
        _label="logits",
    ),
    R("categorical_crossentropy", np.eye(4, dtype=np.float32)[[0, 3, 1]], P),
    R("categorical_crossentropy", np.eye(4, dtype=np.float32)[[0, 3, 1]], X, from_logits=True, _label="logits"),
    R("sparse_categorical_crossentropy", np.array([0, 3, 1], np.int32), P),
    R("sparse_categorical_crossentropy", np.array([[0], [3], [1]], np.int32), X, from_logits=True, _label="logits"),
    R(
        "ctc_loss",
        np.array([[1, 2, 2], [1, 3, 0]], np.int32),
        f32(2, 8, 5),
        np.array([3, 2], np.int32),
        np.array([8, 6], np.int32),
        _rtol=1e-4,
    ),
    R("ctc_decode", CTC_FRAMES, np.array([7, 5, 0], np.int32)),
    R(
        "ctc_decode",
        np.log(RNG.dirichlet(np.ones(4), (2, 6))).astype(np.float32),
        np.array([6, 4], np.int32),
        merge_repeated=False,
        mask_index=3,
        _label="unmerged",
    ),
    R("conv", IMG, f32(3, 3, 3, 4)),
    R("conv", IMG, f32(3, 3, 3, 4), strides=2, padding="same", _label="same"),
    R("conv", IMG, f32(2, 2, 1, 6), dilation_rate=2, _label="groups-dilation"),
    R("conv", SEQ, f32(3, 3, 2), padding="same", _label="1d"),
    R("conv", f32(1, 4, 5, 5, 2), f32(2, 3, 3, 2, 3), strides=(1, 2, 2), padding="same", _label="3d"),
    R("conv", np.moveaxis(IMG, -1, 1), f32(3, 3, 3, 2), data_format="channels_first", _label="channels-first"),
    R("depthwise_conv", IMG, f32(3, 3, 3, 2)),
    R("depthwise_conv", IMG, f32(3, 3, 3, 1), strides=2, padding="same", _label="same"),
    R("separable_conv", IMG, f32(3, 3, 3, 2), f32(1, 1, 6, 4)),
    R("conv_transpose", f32(2, 3, 3, 4), f32(3, 3, 2, 4), strides=2),
    R("conv_transpose", f32(2, 3, 3, 4), f32(3, 3, 2, 4), strides=2, padding="same", _label="same"),
    R("conv_transpose", f32(2, 4, 3), f32(3, 2, 3), strides=2, output_padding=1, _label="1d-outpad"),
    # explicit strides: Keras' numpy backend fails on strides=None
    R("max_pool", IMG, 2, strides=2),
    R("max_pool", IMG, 3, strides=2, padding="same", _label="same"),
    R("max_pool", SEQ, 2, strides=2, _label="1d"),
    R("max_pool", f32(1, 4, 4, 4, 2), 2, padding="same", strides=(1, 2, 2), _label="3d"),
    R("average_pool", IMG, 2, strides=(2, 1)),
    R("average_pool", IMG, 3, strides=2, padding="same", _label="same"),
    R("average_pool", f32(1, 5, 4, 4, 2), (2, 3, 3), strides=2, padding="same", _label="3d"),
    R("adaptive_average_pool", IMG, (4, 3)),
    R("adaptive_max_pool", IMG, (4, 5)),
    R("adaptive_average_pool", SEQ, 3, _label="1d"),
    R("depth_to_space", f32(2, 3, 3, 8), 2),
    R("space_to_depth", f32(2, 4, 6, 3), 2),
    R("unfold", np.moveaxis(IMG, -1, 1), 2, stride=2),
    R("unfold", np.moveaxis(IMG, -1, 1), (3, 2), dilation=(1, 2), padding=1, _label="padded"),
    R("fold", f32(2, 12, 9), (6, 6), 2, stride=2),
    R("fold", f32(2, 6, 30), (6, 6), (3, 2), padding=(1, 0), _label="overlap"),
    R("dot_product_attention", Q4, K4, V4),
    R("dot_product_attention", Q4, K4, V4, is_causal=True, scale=0.3, _label="causal"),
    R("dot_product_attention", Q4, K4, V4, mask=boolean(2, 2, 5, 6), bias=f32(2, 2, 5, 6), _label="mask"),
    R("dot_product_attention", f32(2, 5, 4, 4), K4, V4, _ref=_gqa_attention, _label="gqa"),
    # linear algebra
    R("det", M3, _rtol=1e-4),
    R("det", f32(2, 4, 4), _rtol=1e-4, _atol=1e-5, _label="batched"),
    R("slogdet", M3, _rtol=1e-4),
    R("logdet", SPD, _rtol=1e-4),
    R("inv", SPD, _rtol=1e-4, _atol=1e-5),
    R("inv", M3, _rtol=1e-3, _atol=1e-4, _label="pivoting"),
    R("solve", M3, f32(3, 2), _rtol=1e-3, _atol=1e-4),
    R("solve", M3, f32(3), _rtol=1e-3, _atol=1e-4, _label="vector"),
    R("solve_triangular", _lower(M3), f32(3, 2), lower=True, _rtol=1e-4, _atol=1e-5),
    R("solve_triangular", np.swapaxes(_lower(M3), 0, 1).copy(), f32(3, 2), _rtol=1e-4, _atol=1e-5, _label="upper"),
    R("cholesky", SPD, _rtol=1e-4, _atol=1e-5),
    R("cholesky", SPD, upper=True, _rtol=1e-4, _atol=1e-5, _label="upper"),
    R("cholesky_inverse", np.linalg.cholesky(SPD).astype(np.float32), _rtol=1e-4, _atol=1e-5),
    R("lu_factor", M3, _rtol=1e-4, _atol=1e-5),
    R("lstsq", f32(5, 3), f32(5, 2), _rtol=1e-3, _atol=1e-4),
    R("qr", f32(5, 3), _check=_qr_check),
    R("qr", f32(3, 3), mode="complete", _check=_qr_check, _label="complete"),
    # signal
    R("fft", (SIG, f32(2, 32)), _rtol=1e-4, _atol=1e-4),
    R("fft2", (f32(2, 4, 6), f32(2, 4, 6)), _rtol=1e-4, _atol=1e-4),
    R("ifft2", (f32(2, 4, 6), f32(2, 4, 6)), _rtol=1e-4, _atol=1e-5),
    R("rfft", SIG, _rtol=1e-4, _atol=1e-4),
    R("rfft", SIG, fft_length=20, _rtol=1e-4, _atol=1e-4, _label="crop"),
    R("irfft", (f32(2, 9), f32(2, 9)), _rtol=1e-4, _atol=1e-5),
    R("irfft", (f32(2, 9), f32(2, 9)), fft_length=15, _rtol=1e-4, _atol=1e-5, _label="odd"),
    R("stft", SIG, 8, 4, 16, _rtol=1e-4, _atol=1e-4),
    R("stft", SIG, 8, 4, 8, window="hamming", center=False, _rtol=1e-4, _atol=1e-4, _label="hamming"),
    R("stft", SIG, 8, 4, 8, window=None, _rtol=1e-4, _atol=1e-4, _label="flat"),
    R("istft", (f32(2, 9, 9), f32(2, 9, 9)), 16, 4, 16, _rtol=1e-4, _atol=1e-4),
    R(
        "istft",
        (f32(2, 7, 5), f32(2, 7, 5)),
        8,
        4,
        8,
        length=20,
        window=None,
        center=False,
        _rtol=1e-4,
        _atol=1e-4,
        _label="flat",
    ),
    R("extract_sequences", SIG, 8, 3),
    # control flow (lambdas written with operators, so Keras and symgraph run the same code)
    R("cond", np.array(True), lambda: X * 2.0, lambda: X - 1.0),
    R("cond", np.array(False), lambda: (X, Y), lambda: (Y, X), _label="tuple"),
    R("switch", np.array(1, np.int32), [lambda a: a + 1.0, lambda a: a * 3.0, lambda a: -a], X),
    R(
        "while_loop",
        lambda i, a: i < 4,
        lambda i, a: (i + 1, a * 1.5),
        (np.array(0, np.int32), X),
        maximum_iterations=10,
    ),
    R("fori_loop", 0, 5, lambda i, a: a * 0.5 + 1.0, X),
    R("fori_loop", 0, 40, lambda i, a: a * 0.9 + 0.1, X, _label="scan"),
    R("scan", lambda c, x: (c + x, c * x), np.zeros(4, np.float32), X),
    R("scan", lambda c, x: (c * 0.5 + x, c - x), np.zeros(4, np.float32), X, reverse=True, _label="reverse"),
    R(
        "scan",
        lambda c, x: ((c[0] + x["a"], c[1]), {"s": c[0] * 2.0}),
        (np.zeros(4, np.float32), V),
        {"a": X},
        _label="trees",
    ),
    # Keras' numpy backend computes associative_scan in float64 (its JAX backend keeps float32, as here)
    R("associative_scan", lambda a, b: a + b, X, _dtype=False),
    R("associative_scan", lambda a, b: a * b, P, reverse=True, axis=1, _dtype=False, _label="reverse"),
    R("map", lambda row: row * 2.0 + 1.0, X),
    R("vectorized_map", lambda row: row * row + 1.0, X),
    # Keras' numpy backend has no jvp: the reference is the derivative written out
    R("jvp", lambda a, b: (a * b + a * a, b * b * 2.0), (X, Y), (U, P), _ref=_jvp_ref),
    R("rearrange", f32(2, 3, 4, 5), "b h w c -> b (h w) c"),
    R("rearrange", f32(2, 12, 5), "b (h w) c -> b c h w", h=3, _label="split"),
]

# a row per name that takes no tensor (its reference takes the same arguments)
SCALAR_ROWS = ["ndim", "size", "shape", "dtype", "is_tensor", "convert_to_numpy"]


def _ref_fn(real_ops: Any, row: Row) -> Any:
    if row.ref is not None:
        return row.ref
    if real_ops is not None:
        return getattr(real_ops, row.name)
    fn = getattr(np, row.name, None)
    if fn is None:
        pytest.skip(f"no numpy reference for {row.name} without Keras")
    return fn


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _map_arrays(value: Any, fn: Any) -> Any:
    if isinstance(value, np.ndarray):
        return fn(value)
    if isinstance(value, tuple):
        return tuple(_map_arrays(v, fn) for v in value)
    if isinstance(value, list):
        return [_map_arrays(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_arrays(v, fn) for k, v in value.items()}
    return value


def _compare(row: Row, got: Any, want: Any, world: str, dtypes: bool = True) -> None:
    if row.check is not None:
        row.check(got, row.args)
        return
    got_leaves, want_leaves = _leaves(got), _leaves(want)
    assert len(got_leaves) == len(want_leaves), (
        f"{row.id} ({world}): {len(got_leaves)} results, want {len(want_leaves)}"
    )
    for g, w in zip(got_leaves, want_leaves):
        if w is None:
            assert g is None, f"{row.id} ({world}): expected None"
            continue
        ga, wa = np.asarray(g), np.asarray(w)
        assert ga.shape == wa.shape, f"{row.id} ({world}): shape {ga.shape}, want {wa.shape}"
        if row.dtype and dtypes:
            assert ga.dtype == wa.dtype, f"{row.id} ({world}): dtype {ga.dtype}, want {wa.dtype}"
        if wa.dtype.kind in "fc":
            np.testing.assert_allclose(ga, wa, rtol=row.rtol, atol=row.atol, err_msg=f"{row.id} ({world})")
        else:
            np.testing.assert_array_equal(ga, wa, err_msg=f"{row.id} ({world})")


def _expected(real_ops: Any, row: Row) -> Any:
    args = _map_arrays(row.args, lambda a: a.copy())
    fn = _ref_fn(real_ops, row)
    if real_ops is not None or row.ref is not None:
        return fn(*args, **row.kwargs)
    if not row.numpy:
        pytest.skip(f"numpy's {row.name} means something else than Keras' (this row needs Keras)")
    try:
        return fn(*args, **row.kwargs)
    except TypeError as exc:  # numpy's signature differs (Keras-only arguments)
        pytest.skip(f"numpy's {row.name} does not take these arguments: {exc}")


def _values(result: Any) -> Any:
    """Results as numpy (eager tensors have values now)."""
    if isinstance(result, sg.Tensor):
        return result.numpy()
    if isinstance(result, dict):
        return {k: _values(v) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return type(result)(_values(v) for v in result)
    return result


def _eager_leaves_only(result: Any) -> None:
    for leaf in _leaves(result):
        if isinstance(leaf, sg.Tensor):
            assert type(leaf) is sg.EagerTensor, f"an eager call returned the symbolic {leaf!r}"


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row_on_numpy_and_eager_tensors(row: Row, real_ops: Any) -> None:
    want = _expected(real_ops, row)
    op = getattr(ops, row.name)
    on_numpy = op(*row.args, **row.kwargs)
    _eager_leaves_only(on_numpy)
    keras_dtypes = real_ops is not None or row.ref is not None
    _compare(row, _values(on_numpy), want, "numpy inputs", keras_dtypes)
    eager_args = _map_arrays(row.args, sg.eager_tensor)
    on_eager = op(*eager_args, **row.kwargs)
    _eager_leaves_only(on_eager)
    _compare(row, _values(on_eager), want, "eager tensors", keras_dtypes)


def _build(row: Row) -> tuple[list[sg.Tensor], list[np.ndarray], Any]:
    """The row's op on placeholders: (placeholders, their arrays, the symbolic result)."""
    placeholders: list[sg.Tensor] = []
    arrays: list[np.ndarray] = []

    def feed(a: np.ndarray) -> sg.Tensor:
        p = sg.placeholder(a.shape, a.dtype, name=f"arg{len(placeholders)}")
        placeholders.append(p)
        arrays.append(a)
        return p

    args = _map_arrays(row.args, feed)
    return placeholders, arrays, getattr(ops, row.name)(*args, **row.kwargs)


COMPILED = [r for r in ROWS if r.compiled]


@pytest.mark.parametrize("row", COMPILED, ids=[r.id for r in COMPILED])
def test_row_compiled(row: Row, real_ops: Any) -> None:
    want = _expected(real_ops, row)
    placeholders, arrays, out = _build(row)
    leaves = _leaves(out)
    tensors = [t for t in leaves if isinstance(t, sg.Tensor)]
    fn = sg.function(placeholders, tensors, mode="py")
    values = iter(fn(*arrays))
    got = [next(values) if isinstance(t, sg.Tensor) else t for t in leaves]
    _compare(row, _restructure(out, got), want, "compiled", real_ops is not None or row.ref is not None)


def _restructure(template: Any, flat: list[Any]) -> Any:
    feed = iter(flat)

    def build(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: build(value[k]) for k in sorted(value)}
        if isinstance(value, (list, tuple)):
            return type(value)(build(v) for v in value)
        return next(feed)

    return build(template)


C_CHUNK = 40


def test_rows_compile_to_c(real_ops: Any) -> None:
    """Every compiled row in C (a few units of many ops each), against the same references."""
    for start in range(0, len(COMPILED), C_CHUNK):
        chunk = COMPILED[start : start + C_CHUNK]
        built = [_build(row) for row in chunk]
        placeholders = [p for ps, _, _ in built for p in ps]
        arrays = [a for _, arrs, _ in built for a in arrs]
        outs = [t for _, _, out in built for t in _leaves(out) if isinstance(t, sg.Tensor)]
        values = iter(sg.function(placeholders, outs, mode="c")(*arrays))
        for row, (_, _, out) in zip(chunk, built):
            got = [next(values) if isinstance(t, sg.Tensor) else t for t in _leaves(out)]
            try:
                want = _expected(real_ops, row)
            except pytest.skip.Exception:  # no reference for this row (numpy without Keras)
                continue
            _compare(row, _restructure(out, got), want, "C", real_ops is not None or row.ref is not None)


# ----------------------------------------------------------------------------- scalars and names


def test_scalar_valued_names(real_ops: Any) -> None:
    x = sg.placeholder((None, 4), "float32")
    assert ops.ndim(X) == 2 and ops.size(X) == 12 and ops.shape(X) == (3, 4) and ops.dtype(X) == "float32"
    assert ops.shape(x)[1] == 4 and not isinstance(ops.shape(x)[0], int)
    assert ops.dtype(I) == "int32" and ops.dtype(1.0) == "float32"
    assert ops.is_tensor(sg.eager_tensor(X)) and ops.is_tensor(x) and not ops.is_tensor(X)
    out = ops.convert_to_numpy(sg.eager_tensor(X))
    assert isinstance(out, np.ndarray) and np.array_equal(out, X)
    if real_ops is not None:
        for name in SCALAR_ROWS[:4]:
            assert getattr(ops, name)(X) == getattr(real_ops, name)(X)
    with pytest.raises(TypeError):
        ops.convert_to_numpy(x)


def test_python_data_follows_keras_defaults() -> None:
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.arange(3).dtype == np.int32
    assert ops.add(np.ones(2, np.int32), np.ones(2, np.float32)).dtype == np.float32  # numpy: float64
    assert ops.sum(np.ones(3, np.int8)).dtype == np.int32


def _names() -> list[str]:
    return [line.strip() for line in NAMES_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")]


GUIDE_NAMES = """matmul add multiply subtract divide tanh relu sigmoid softmax mean sum square sqrt exp log abs
maximum minimum reshape transpose concatenate stack expand_dims squeeze cast convert_to_tensor convert_to_numpy
shape zeros ones zeros_like ones_like where clip one_hot argmax take einsum top_k logsumexp norm segment_sum cond
while_loop fori_loop scan stop_gradient erf softplus gelu silu log_softmax categorical_crossentropy
sparse_categorical_crossentropy binary_crossentropy moments arange cumsum max min sort argsort split slice
slice_update scatter_update pad tile repeat equal greater less logical_and logical_not any all floor round
power dot_product_attention conv max_pool average_pool depthwise_conv leaky_relu elu selu swish var std
isnan rsqrt broadcast_to full linspace eye identity tril triu diag count_nonzero unstack""".split()


def test_coverage_of_keras_names() -> None:
    names = _names()
    assert len(names) == 341
    implemented = [n for n in names if n in ops.IMPLEMENTED]
    missing = sorted(set(names) - set(implemented))
    assert len(implemented) / len(names) >= 0.90, f"coverage {len(implemented)}/{len(names)}; missing {missing}"
    assert set(missing) <= set(ops.NOT_PROVIDED), f"missing without a reason: {set(missing) - set(ops.NOT_PROVIDED)}"
    assert [n for n in GUIDE_NAMES if n not in ops.IMPLEMENTED] == []


def test_every_implemented_name_has_a_row() -> None:
    covered = {r.name for r in ROWS} | set(SCALAR_ROWS) | {"nn", "numpy", "linalg", "image", "vectorize"}
    assert sorted(set(ops.IMPLEMENTED) - covered) == []


@pytest.mark.parametrize("name", ["svd", "eigh", "no_such_op"])
def test_a_missing_name_raises_unsupported_naming_it(name: str) -> None:
    with pytest.raises(UnsupportedError, match=rf"keras\.ops\.{name}\b"):
        getattr(ops, name)
    with pytest.raises(UnsupportedError, match=rf"keras\.ops\.nn\.{name}\b"):
        getattr(ops.nn, name)


def test_namespaces_hold_keras_names(real_ops: Any) -> None:
    assert ops.nn.relu is ops.relu and ops.numpy.matmul is ops.matmul and ops.linalg.inv is ops.inv
    if real_ops is None:
        return
    for space in ("nn", "numpy", "linalg"):
        theirs = {n for n in dir(getattr(real_ops, space)) if not n.startswith("_")}
        ours = {n for n in theirs if n in dir(getattr(ops, space))}
        missing = theirs - ours
        assert missing <= set(ops.NOT_PROVIDED), f"ops.{space} lacks {sorted(missing - set(ops.NOT_PROVIDED))}"


def test_image_namespace(real_ops: Any) -> None:
    img = RNG.uniform(0, 1, (2, 5, 7, 3)).astype(np.float32)
    calls = [
        ("rgb_to_grayscale", (img,), {}),
        ("crop_images", (img,), {"top_cropping": 1, "left_cropping": 2, "target_height": 3, "target_width": 4}),
        ("pad_images", (img,), {"top_padding": 1, "left_padding": 2, "target_height": 8, "target_width": 10}),
        ("resize", (img, (3, 4)), {"interpolation": "bilinear"}),
        ("resize", (img, (10, 9)), {"interpolation": "nearest"}),
    ]
    for name, args, kwargs in calls:
        got = getattr(ops.image, name)(*args, **kwargs).numpy()
        if real_ops is not None:
            want = getattr(real_ops.image, name)(*args, **kwargs)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
    with pytest.raises(UnsupportedError, match=r"keras\.ops\.image\.affine_transform"):
        ops.image.affine_transform  # noqa: B018


# ----------------------------------------------------------------------------- gradients

GRAD_ROWS = [
    R("tanh", X),
    R("sigmoid", X),
    R("softplus", X),
    R("gelu", X),
    R("silu", X),
    R("elu", X),
    R("selu", X),
    R("log_sigmoid", X),
    R("sqrt", P),
    R("log", P),
    R("exp", X),
    R("erf", X),
    R("arcsinh", X),
    R("arctan2", X, P),
    R("hypot", X, Y),
    R("logaddexp", X, Y),
    R("softmax", X),
    R("log_softmax", X, axis=0),
    R("logsumexp", X, axis=1),
    R("matmul", X, f32(4, 2)),
    R("einsum", "bij,bjk->bik", f32(2, 3, 4), f32(2, 4, 5)),
    R("mean", X, axis=0),
    R("var", X, axis=1),
    R("norm", X, axis=1),
    R("normalize", X),
    R("moments", X, axes=[0]),
    R("cumsum", X, axis=1),
    R("cumprod", P, axis=1),
    R("layer_normalization", X, gamma=pos(4), beta=f32(4)),
    R("rms_normalization", X),
    R("categorical_crossentropy", np.eye(4, dtype=np.float32)[[0, 3, 1]], X, from_logits=True),
    R("sparse_categorical_crossentropy", np.array([0, 3, 1], np.int32), X, from_logits=True),
    R("binary_crossentropy", boolean(3, 4).astype(np.float32), X, from_logits=True),
    R("conv", f32(1, 5, 5, 2), f32(3, 3, 2, 3), padding="same"),
    R("conv_transpose", f32(1, 3, 3, 2), f32(3, 3, 2, 2), strides=2),
    R("average_pool", f32(1, 4, 4, 2), 2),
    R("max_pool", f32(1, 4, 4, 2), 2),
    R("dot_product_attention", f32(1, 3, 2, 4), f32(1, 4, 2, 4), f32(1, 4, 2, 4), is_causal=True),
    R("segment_sum", X, np.array([0, 1, 0], np.int32), num_segments=2),
    R("take", X, np.array([2, 0]), axis=1),
    R("det", M3),
    R("inv", SPD),
    R("solve", SPD, f32(3, 2)),
    R("cholesky", SPD),
    R("rfft", SIG),
    R("scan", lambda c, x: (c * x + 1.0, c), np.ones(4, np.float32), U),
    R("pad", X, ((1, 1), (0, 2)), mode="reflect"),
    R("sparsemax", X),
    R("where", B, X, Y),
    R("clip", X, -0.5, 0.5),
]


@pytest.mark.parametrize("row", GRAD_ROWS, ids=[r.id for r in GRAD_ROWS])
def test_gradient_by_central_differences(row: Row) -> None:
    """d sum(op(x)) / dx for the first float argument, in float64, mode "py"."""
    args = _map_arrays(row.args, lambda a: a.astype(np.float64) if a.dtype.kind == "f" else a)
    target = next(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    x0 = args[target]
    p = sg.placeholder(x0.shape, "float64", name="x")
    call_args = [p if i == target else (sg.constant(a) if isinstance(a, np.ndarray) else a) for i, a in enumerate(args)]
    out = getattr(ops, row.name)(*call_args, **row.kwargs)
    total = sum(sg.sum(sg.cast(t, "float64")) for t in _leaves(out) if isinstance(t, sg.Tensor) and t.dtype.kind == "f")
    fn = sg.function([p], [total, sg.grad(total, p)], mode="py")
    _, grad = fn(x0)
    eps = 1e-6
    numeric = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        up, down = x0.copy(), x0.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (fn(up)[0] - fn(down)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6, err_msg=row.id)


# ----------------------------------------------------------------------------- worlds


class OpsDense(sk.layers.Layer):
    """A Dense layer as Keras 3's guides write it, with keras.ops."""

    def __init__(self, units: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape: tuple) -> None:
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, x: Any) -> Any:
        return ops.relu(ops.add(ops.matmul(x, self.w), self.b))


class OpsHead(sk.layers.Layer):
    """A linear head whose bias is a column of ones (sized by the batch, known only at call
    time), with a weight penalty."""

    def build(self, input_shape: tuple) -> None:
        self.w = self.add_weight(shape=(input_shape[-1] + 1, 1), initializer="glorot_uniform", name="w")

    def call(self, x: Any) -> Any:
        # a weight penalty built from the Variable alone stays part of the compiled step
        self.add_loss(1e-4 * ops.sum(ops.square(self.w)))
        ones = ops.ones((ops.shape(x)[0], 1))
        return ops.matmul(ops.concatenate([x, ones], axis=-1), self.w)


def test_custom_layer_with_ops_trains_with_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2).astype(np.float32)
    sg.random.seed(0)
    model = sk.Sequential([sk.Input((4,)), OpsDense(16), OpsHead()])
    model.compile(optimizer=sk.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    w, b = model.layers[0].get_weights()
    (w2,) = model.layers[1].get_weights()
    hidden = np.maximum(x[:5] @ w + b, 0)
    want = np.concatenate([hidden, np.ones((5, 1), np.float32)], axis=1) @ w2
    np.testing.assert_allclose(model.predict(x[:5], verbose=0), want, rtol=1e-4, atol=1e-5)
    eager = model(x[:5])  # the same layers called on data: ops run eagerly
    assert type(eager) is sg.EagerTensor
    np.testing.assert_allclose(eager.numpy(), want, rtol=1e-4, atol=1e-5)


def test_ops_on_keras_tensors_build_a_functional_model() -> None:
    inp = sk.Input((4,))
    hidden = sk.layers.Dense(3)(inp)
    out = ops.sum(ops.square(ops.tanh(hidden)), axis=-1, keepdims=True)
    model = sk.Model(inp, out)
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    w, b = model.layers[1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), (np.tanh(x @ w + b) ** 2).sum(-1, keepdims=True), rtol=1e-5)


def test_variables_alone_build_graph_outside_eager_scopes() -> None:
    w = sg.Variable(np.ones(3, np.float32))
    penalty = ops.sum(ops.multiply(w, sg.eager_tensor(np.full(3, 2.0, np.float32))))
    assert type(penalty) is not sg.EagerTensor  # a graph over w (Theano's rule), not a frozen value
    fn = sg.function([], penalty)
    w.assign(np.full(3, 3.0, np.float32))
    assert float(fn()) == 18.0


def test_cond_with_symbolic_predicate_selects() -> None:
    x = sg.placeholder((3,), "float32")
    out = ops.cond(ops.sum(x) > 0, lambda: x * 2.0, lambda: x - 10.0)
    fn = sg.function([x], out)
    np.testing.assert_allclose(fn(np.array([1.0, 2.0, 3.0], np.float32)), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(fn(np.array([-1.0, -2.0, 0.0], np.float32)), [-11.0, -12.0, -10.0])
    # the gradient flows through the branch that was selected
    grad = sg.function([x], sg.grad(ops.sum(ops.square(out)), x), mode="py")
    np.testing.assert_allclose(grad(np.array([1.0, 2.0, 3.0], np.float32)), [8.0, 16.0, 24.0])
    np.testing.assert_allclose(grad(np.array([-1.0, 0.0, 0.0], np.float32)), [-22.0, -20.0, -20.0])


def test_while_loop_with_symbolic_condition() -> None:
    x = sg.placeholder((), "float32")
    (_, out) = ops.while_loop(lambda i, v: v < 100.0, lambda i, v: (i + 1, v * 2.0), (0, x), maximum_iterations=20)
    fn = sg.function([x], out)
    assert float(fn(np.float32(3.0))) == 192.0
    with pytest.raises(UnsupportedError, match="maximum_iterations"):
        ops.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, x)


def test_graph_only_limits_raise_clearly() -> None:
    x = sg.placeholder((None,), "int32")
    with pytest.raises(UnsupportedError, match=r"keras\.ops\.nonzero"):
        ops.nonzero(x)
    with pytest.raises(UnsupportedError, match=r"keras\.ops\.unique"):
        ops.unique(sg.placeholder((5,), "int32"))
    with pytest.raises(UnsupportedError, match=r"keras\.ops\.segment_sum"):
        ops.segment_sum(sg.placeholder((3, 2)), sg.placeholder((3,), "int32"))


def test_math_and_signal_spot_values() -> None:
    np.testing.assert_allclose(
        ops.erfinv(np.array([0.0, 0.5, -0.9], np.float32)).numpy(), [0.0, 0.4769363, -1.1630871], rtol=1e-5
    )
    assert ops.erfinv(np.float32(1.0)).numpy() == np.inf
    x = np.array([1.0, 2.0, 0.0, -1.0], np.float32)
    np.testing.assert_allclose(ops.nextafter(x, np.float32(np.inf)).numpy(), np.nextafter(x, np.float32(np.inf)))
    np.testing.assert_array_equal(ops.signbit(np.array([-0.0, 0.0, -2.0], np.float32)).numpy(), [True, False, True])
    assert math.isclose(float(ops.i0(np.float32(10.0))), float(np.i0(10.0)), rel_tol=1e-6)
