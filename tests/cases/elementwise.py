"""Test rows for elementwise ops: arithmetic, comparisons, logic, math, activations.

References are computed independently of the ops' own where that is cheap (in float64
through ``f64``, or with another numpy formulation); samplers keep inputs in each op's
domain and away from kinks and poles, so the finite-difference gradients are meaningful.
"""

from __future__ import annotations

import math

import numpy as np

import symgraph as sg
from tests.opcheck import BINARY, TERNARY, UNARY, Case, away_from_zero, integers, normal, positive, uniform


def f64(fn):
    """``fn`` applied to float inputs promoted to float64 (an independent reference)."""

    def ref(*arrays):
        return fn(*(a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays))

    return ref


def as_float32(fn):
    """``fn`` applied to integer or bool inputs converted to float32 (float math on ints)."""

    def ref(*arrays):
        return fn(*(a.astype(np.float32) for a in arrays))

    return ref


def specials(rng, shape, dtype):
    """Normal values with NaN, +inf and -inf mixed in."""
    values = rng.standard_normal(shape)
    pick = rng.integers(0, 5, size=shape)
    values = np.where(pick == 1, np.nan, values)
    values = np.where(pick == 2, np.inf, values)
    values = np.where(pick == 3, -np.inf, values)
    return np.asarray(values).astype(dtype)


def halves(rng, shape, dtype):
    """Multiples of 0.5 in [-5, 5]: exact ties for round-half-to-even."""
    return (rng.integers(-10, 11, size=shape) / 2).astype(dtype)


def nonzero_ints(rng, shape, dtype):
    return rng.choice(np.array([-3, -2, -1, 1, 2, 3]), size=shape).astype(dtype)


_erf = np.vectorize(math.erf, otypes=[np.float64])

SELU_ALPHA = 1.67326324235437728481704299167
SELU_SCALE = 1.05070098735548049341933498529

NO_GRAD = ()

CASES: list[Case] = [
    # arithmetic
    Case("add", sg.add, np.add, BINARY),
    Case("add_int32", sg.add, np.add, BINARY, dtypes="int32"),
    Case("subtract", sg.subtract, np.subtract, BINARY),
    Case("multiply", sg.multiply, np.multiply, BINARY),
    Case("true_divide", sg.true_divide, np.true_divide, BINARY, samplers=away_from_zero),
    Case(
        "true_divide_int32",
        sg.true_divide,
        as_float32(np.true_divide),
        BINARY,
        dtypes="int32",
        samplers=(integers(-5, 6), nonzero_ints),
    ),
    Case("floor_divide", sg.floor_divide, np.floor_divide, BINARY, samplers=(uniform(-5, 5), away_from_zero)),
    Case(
        "floor_divide_int32",
        sg.floor_divide,
        np.floor_divide,
        BINARY,
        dtypes="int32",
        samplers=(integers(-7, 8), nonzero_ints),
    ),
    Case(
        "floor_divide_int64",
        sg.floor_divide,
        np.floor_divide,
        BINARY[:2],
        dtypes="int64",
        samplers=(integers(-7, 8), nonzero_ints),
    ),
    Case("mod", sg.mod, np.remainder, BINARY, samplers=(uniform(-5, 5), away_from_zero)),
    Case("mod_int32", sg.mod, np.remainder, BINARY, dtypes="int32", samplers=(integers(-7, 8), nonzero_ints)),
    Case("mod_int8", sg.mod, np.remainder, BINARY[:2], dtypes="int8", samplers=(integers(-7, 8), nonzero_ints)),
    Case("power", sg.power, f64(np.power), BINARY, samplers=(positive, normal)),
    Case("power_scalar_exponent", lambda x: sg.power(x, 3), f64(lambda x: x**3), UNARY),
    Case("power_int32", sg.power, np.power, BINARY, dtypes="int32", samplers=(integers(-4, 5), integers(0, 4))),
    Case("negative", sg.negative, np.negative, UNARY),
    Case("identity", sg.identity, np.copy, UNARY),
    Case("identity_int32", sg.identity, np.copy, UNARY, dtypes="int32"),
    Case("negative_int32", sg.negative, np.negative, UNARY, dtypes="int32"),
    Case("abs", sg.abs, np.abs, UNARY, samplers=away_from_zero),
    Case("abs_int32", sg.abs, np.abs, UNARY, dtypes="int32"),
    Case("sign", sg.sign, np.sign, UNARY),
    Case("sign_int32", sg.sign, np.sign, UNARY, dtypes="int32"),
    Case("maximum", sg.maximum, np.maximum, BINARY),
    Case("maximum_int32", sg.maximum, np.maximum, BINARY, dtypes="int32"),
    Case("minimum", sg.minimum, np.minimum, BINARY),
    Case("minimum_int32", sg.minimum, np.minimum, BINARY, dtypes="int32"),
    Case("clip", lambda x: sg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), UNARY),
    Case(
        "clip_tensor_bounds",
        sg.clip,
        np.clip,
        TERNARY,
        samplers=(normal, uniform(-1.0, -0.2), uniform(0.2, 1.0)),
    ),
    Case("clip_a_min", lambda x: sg.clip(x, a_min=0.1), lambda x: np.clip(x, 0.1, None), UNARY),
    Case("clip_a_max", lambda x: sg.clip(x, a_max=-0.1), lambda x: np.clip(x, None, -0.1), UNARY),
    Case("clip_int32", lambda x: sg.clip(x, -2, 3), lambda x: np.clip(x, -2, 3), UNARY, dtypes="int32"),
    Case("where", sg.where, np.where, TERNARY, dtypes=("bool", "float32", "float32")),
    Case("where_int32", sg.where, np.where, TERNARY, dtypes=("bool", "int32", "int32")),
    Case("stop_gradient", sg.stop_gradient, lambda x: x, UNARY, grad_args=NO_GRAD),
    # casts
    Case(
        "cast_float32_to_int32",
        lambda x: sg.cast(x, "int32"),
        lambda x: x.astype(np.int32),
        UNARY,
        samplers=uniform(-10, 10),
        grad_args=NO_GRAD,
    ),
    Case("cast_int32_to_float32", lambda x: sg.cast(x, "float32"), lambda x: x.astype(np.float32), UNARY, "int32"),
    Case("cast_float32_to_float64", lambda x: sg.cast(x, "float64"), lambda x: x.astype(np.float64), UNARY),
    Case(
        "cast_float32_to_bool",
        lambda x: sg.cast(x, "bool"),
        lambda x: x.astype(bool),
        UNARY,
        samplers=integers(-1, 2),
        grad_args=NO_GRAD,
    ),
    Case("cast_bool_to_float32", lambda x: sg.cast(x, "float32"), lambda x: x.astype(np.float32), UNARY, "bool"),
    Case("cast_int64_to_uint8", lambda x: sg.cast(x, "uint8"), lambda x: x.astype(np.uint8), UNARY, "int64"),
    # comparisons (integer-valued floats give ties)
    *(
        Case(name, getattr(sg, name), getattr(np, name), BINARY, samplers=integers(-2, 3), grad_args=NO_GRAD)
        for name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
    ),
    *(
        Case(f"{name}_int32", getattr(sg, name), getattr(np, name), BINARY, dtypes="int32", grad_args=NO_GRAD)
        for name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
    ),
    Case("less_bool", sg.less, np.less, BINARY[:2], dtypes="bool", grad_args=NO_GRAD),
    # logic
    *(
        Case(name, getattr(sg, name), getattr(np, name), BINARY, dtypes="bool", grad_args=NO_GRAD)
        for name in ("logical_and", "logical_or", "logical_xor")
    ),
    Case("logical_and_float32", sg.logical_and, np.logical_and, BINARY, samplers=integers(-1, 2), grad_args=NO_GRAD),
    Case("logical_not", sg.logical_not, np.logical_not, UNARY, dtypes="bool", grad_args=NO_GRAD),
    Case("logical_not_int32", sg.logical_not, np.logical_not, UNARY, dtypes="int32", grad_args=NO_GRAD),
    Case("isnan", sg.isnan, np.isnan, UNARY, samplers=specials, grad_args=NO_GRAD),
    Case("isfinite", sg.isfinite, np.isfinite, UNARY, samplers=specials, grad_args=NO_GRAD),
    Case("isfinite_float64", sg.isfinite, np.isfinite, UNARY, "float64", samplers=specials, grad_args=NO_GRAD),
    # math
    Case("exp", sg.exp, f64(np.exp), UNARY),
    Case("exp_int32", sg.exp, as_float32(np.exp), UNARY, dtypes="int32"),
    Case("expm1", sg.expm1, f64(np.expm1), UNARY),
    Case("log", sg.log, f64(np.log), UNARY, samplers=positive),
    Case("log1p", sg.log1p, f64(np.log1p), UNARY, samplers=uniform(-0.5, 3.0)),
    Case("log1p_uint8", sg.log1p, as_float32(np.log1p), UNARY, dtypes="uint8"),
    Case("sqrt", sg.sqrt, f64(np.sqrt), UNARY, samplers=positive),
    Case("sqrt_int32", sg.sqrt, as_float32(np.sqrt), UNARY, dtypes="int32", samplers=integers(0, 10)),
    Case("rsqrt", sg.rsqrt, f64(lambda x: 1 / np.sqrt(x)), UNARY, samplers=positive),
    Case("square", sg.square, f64(lambda x: x * x), UNARY),
    Case("square_int32", sg.square, lambda x: x * x, UNARY, dtypes="int32"),
    Case("reciprocal", sg.reciprocal, f64(lambda x: 1 / x), UNARY, samplers=away_from_zero),
    Case("reciprocal_int32", sg.reciprocal, as_float32(lambda x: 1 / x), UNARY, "int32", samplers=nonzero_ints),
    Case("sin", sg.sin, f64(np.sin), UNARY),
    Case("cos", sg.cos, f64(np.cos), UNARY),
    Case("tan", sg.tan, f64(np.tan), UNARY, samplers=uniform(-1.2, 1.2)),
    Case("arcsin", sg.arcsin, f64(np.arcsin), UNARY, samplers=uniform(-0.9, 0.9)),
    Case("arccos", sg.arccos, f64(np.arccos), UNARY, samplers=uniform(-0.9, 0.9)),
    Case("arctan", sg.arctan, f64(np.arctan), UNARY),
    Case("sinh", sg.sinh, f64(np.sinh), UNARY),
    Case("cosh", sg.cosh, f64(np.cosh), UNARY),
    Case("tanh", sg.tanh, f64(np.tanh), UNARY),
    Case("tanh_int16", sg.tanh, as_float32(np.tanh), UNARY, dtypes="int16"),
    Case("erf", sg.erf, f64(_erf), UNARY),
    Case("erf_float64", sg.erf, _erf, UNARY, "float64"),
    Case("floor", sg.floor, np.floor, UNARY, samplers=uniform(-5, 5)),
    Case("floor_int32", sg.floor, lambda x: x, UNARY, dtypes="int32"),
    Case("floor_bool", sg.floor, lambda x: x.astype(np.int64), UNARY, dtypes="bool"),
    Case("ceil", sg.ceil, np.ceil, UNARY, samplers=uniform(-5, 5)),
    Case("ceil_int64", sg.ceil, lambda x: x, UNARY, dtypes="int64"),
    Case("round", sg.round, np.round, UNARY, samplers=uniform(-5, 5)),
    Case("round_half_to_even", sg.round, np.rint, UNARY, samplers=halves, grad_args=NO_GRAD),
    Case("round_int8", sg.round, lambda x: x, UNARY, dtypes="int8"),
    # activations (sg.nn)
    Case("relu", sg.nn.relu, f64(lambda x: np.where(x > 0, x, 0.0)), UNARY, samplers=away_from_zero),
    Case("relu_int32", sg.nn.relu, lambda x: np.maximum(x, 0), UNARY, dtypes="int32"),
    Case(
        "leaky_relu",
        sg.nn.leaky_relu,
        f64(lambda x: np.where(x > 0, x, 0.2 * x)),
        UNARY,
        samplers=away_from_zero,
    ),
    Case(
        "leaky_relu_slope",
        lambda x: sg.nn.leaky_relu(x, negative_slope=0.01),
        f64(lambda x: np.where(x > 0, x, 0.01 * x)),
        UNARY,
        samplers=away_from_zero,
    ),
    Case("elu", sg.nn.elu, f64(lambda x: np.where(x > 0, x, np.exp(x) - 1)), UNARY, samplers=uniform(-4, 2)),
    Case(
        "elu_alpha",
        lambda x: sg.nn.elu(x, alpha=0.5),
        f64(lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
        UNARY,
        samplers=away_from_zero,
    ),
    Case(
        "selu",
        sg.nn.selu,
        f64(lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))),
        UNARY,
        samplers=away_from_zero,
    ),
    Case("gelu", sg.nn.gelu, f64(lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))), UNARY),
    Case(
        "gelu_approximate",
        lambda x: sg.nn.gelu(x, approximate=True),
        f64(lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
        UNARY,
    ),
    Case("sigmoid", sg.nn.sigmoid, f64(lambda x: 1 / (1 + np.exp(-x))), UNARY, samplers=uniform(-10, 10)),
    Case("sigmoid_int32", sg.nn.sigmoid, as_float32(lambda x: 1 / (1 + np.exp(-x))), UNARY, dtypes="int32"),
    Case(
        "hard_sigmoid",
        sg.nn.hard_sigmoid,
        f64(lambda x: np.clip(x / 6 + 0.5, 0, 1)),
        UNARY,
        samplers=uniform(-5, 5),
    ),
    Case("softplus", sg.nn.softplus, f64(lambda x: np.logaddexp(0, x)), UNARY, samplers=uniform(-20, 20)),
    Case("softsign", sg.nn.softsign, f64(lambda x: x / (1 + np.abs(x))), UNARY),
    Case("swish", sg.nn.swish, f64(lambda x: x / (1 + np.exp(-x))), UNARY, samplers=uniform(-8, 8)),
    Case("silu", sg.nn.silu, f64(lambda x: x / (1 + np.exp(-x))), UNARY),
]
