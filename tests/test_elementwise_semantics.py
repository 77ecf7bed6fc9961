"""Elementwise semantics the op table's rows do not state: numerical stability at
extreme inputs, dtype promotion and result dtypes, rounding ties, gradients that the
finite differences cannot see (stop_gradient, cast) and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from tests.cases.elementwise import CASES
from tests.opcheck import MODES, check_grad


def run(fn, *arrays, mode="py"):
    phs = [sg.placeholder(a.shape, a.dtype) for a in arrays]
    out = fn(*phs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return sg.function(phs, outs, mode=mode)(*arrays)


# ------------------------------------------------------------------ stability

EXTREMES = {
    # op: (f(-1e4), f(+1e4))
    "sigmoid": (0.0, 1.0),
    "softplus": (0.0, 1e4),
    "swish": (0.0, 1e4),
    "silu": (0.0, 1e4),
    "gelu": (0.0, 1e4),
    "elu": (-1.0, 1e4),
    "softsign": (-1e4 / (1 + 1e4), 1e4 / (1 + 1e4)),
    "hard_sigmoid": (0.0, 1.0),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_stable_activations_stay_finite_at_extreme_inputs(name, dtype, mode):
    fn = getattr(sg.nn, name)
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype)
    (value,) = run(fn, x, mode=mode)
    assert np.all(np.isfinite(value)), value
    np.testing.assert_allclose(value[[0, -1]], EXTREMES[name], rtol=1e-6, atol=1e-30)


GRADIENT_EXTREMES = {
    # op: (f'(-1e4), f'(+1e4))
    "sigmoid": (0.0, 0.0),
    "softplus": (0.0, 1.0),
    "swish": (0.0, 1.0),
    "gelu": (0.0, 1.0),
    "elu": (0.0, 1.0),
    "selu": (0.0, 1.05070098735548049341933498529),
    "softsign": (1 / (1 + 1e4) ** 2, 1 / (1 + 1e4) ** 2),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(GRADIENT_EXTREMES))
def test_stable_activation_gradients_stay_finite_at_extreme_inputs(name, dtype):
    fn = getattr(sg.nn, name)
    x = sg.placeholder((5,), dtype)
    f = sg.function([x], [sg.grad(sg.sum(fn(x)), x)], mode="py")
    (g,) = f(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype))
    assert np.all(np.isfinite(g)), g
    np.testing.assert_allclose(g[[0, -1]], GRADIENT_EXTREMES[name], rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_stable_references_raise_no_overflow(name, dtype):
    """The numpy references themselves never overflow nor make NaN (underflow to 0 is fine)."""
    fn = getattr(sg.nn, name)
    op = fn(sg.placeholder((), dtype)).op
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4, np.finfo(dtype).max, -np.finfo(dtype).max], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value = op.compute(x)
    assert np.all(np.isfinite(value[:5]))


def test_gelu_approximate_at_extremes():
    (value,) = run(lambda x: sg.nn.gelu(x, approximate=True), np.array([-1e4, 1e4], "float32"))
    np.testing.assert_array_equal(value, [0.0, 1e4])


@pytest.mark.parametrize("dtype,big", [("float32", 1e20), ("float64", 1e200)])
def test_gelu_approximate_gradient_where_x_cubed_overflows(dtype, big):
    x = sg.placeholder((6,), dtype)
    f = sg.function([x], [sg.grad(sg.sum(sg.nn.gelu(x, approximate=True)), x)], mode="py")
    (g,) = f(np.array([-big, -11.0, -9.0, 9.0, 11.0, big], dtype))
    np.testing.assert_allclose(g, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], atol=1e-20)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log1p_and_expm1_are_accurate_near_zero(dtype):
    x = np.array([1e-10, -1e-10, 1e-20], dtype)
    log1p, expm1 = run(lambda t: [sg.log1p(t), sg.expm1(t)], x)
    np.testing.assert_allclose(log1p, x, rtol=1e-6)
    np.testing.assert_allclose(expm1, x, rtol=1e-6)
    assert log1p.dtype == expm1.dtype == np.dtype(dtype)


def test_sigmoid_is_exact_at_zero_and_symmetric():
    x = np.linspace(-30, 30, 61).astype("float32")
    (s,) = run(sg.nn.sigmoid, x)
    assert s[30] == 0.5
    np.testing.assert_allclose(s + s[::-1], 1.0, rtol=1e-6)
    # the small tail keeps its relative precision (no 1 - (1 - tiny) cancellation)
    np.testing.assert_allclose(s[:5], 1 / (1 + np.exp(-x[:5].astype(np.float64))), rtol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [sg.exp, sg.log, sg.sqrt, sg.tanh, sg.erf, sg.floor, sg.round, sg.nn.relu, sg.nn.sigmoid, sg.nn.softplus],
    ids=lambda f: str(f),
)
def test_nan_propagates(fn):
    (value,) = run(fn, np.array([np.nan, 1.0], "float32"))
    assert np.isnan(value[0])


def test_round_halves_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5], "float32")
    (value,) = run(sg.round, x)
    np.testing.assert_array_equal(value, [0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 0.0, 4.0])


def test_inverse_trig_and_erf_values():
    x = np.array([-1.0, 0.0, 1.0], "float64")
    asin, acos, erf = run(lambda t: [sg.arcsin(t), sg.arccos(t), sg.erf(t)], x)
    np.testing.assert_allclose(asin, [-np.pi / 2, 0, np.pi / 2])
    np.testing.assert_allclose(acos, [np.pi, np.pi / 2, 0])
    np.testing.assert_allclose(erf, [-0.8427007929497149, 0.0, 0.8427007929497149], rtol=1e-15)


# ------------------------------------------------------------------ dtypes


def _ph(dtype, shape=(3,)):
    return sg.placeholder(shape, dtype)


@pytest.mark.parametrize(
    "build,expected",
    [
        (lambda: _ph("float32") * 2, "float32"),
        (lambda: _ph("float32") * 2.5, "float32"),
        (lambda: _ph("int32") * 2, "int32"),
        (lambda: _ph("int32") * 2.5, "float32"),
        (lambda: _ph("int32") + _ph("float64"), "float64"),
        (lambda: _ph("int8") + _ph("int32"), "int32"),
        (lambda: _ph("uint8") + _ph("int8"), "int16"),
        (lambda: _ph("float32") + _ph("float64"), "float64"),
        (lambda: _ph("bool") + 1, "int64"),
        (lambda: _ph("bool") + True, "bool"),
        (lambda: _ph("bool") * 1.5, "float32"),
        (lambda: _ph("float32") * np.float64(2), "float64"),
        (lambda: sg.exp(_ph("int32")), "float32"),
        (lambda: sg.sqrt(_ph("bool")), "float32"),
        (lambda: sg.exp(_ph("float64")), "float64"),
        (lambda: sg.true_divide(_ph("int64"), 2), "float32"),
        (lambda: sg.reciprocal(_ph("int32")), "float32"),
        (lambda: sg.square(_ph("int32")), "int32"),
        (lambda: sg.floor(_ph("int32")), "int32"),
        (lambda: sg.ceil(_ph("uint8")), "uint8"),
        (lambda: sg.round(_ph("int16")), "int16"),
        (lambda: sg.floor(_ph("bool")), "int64"),
        (lambda: sg.abs(_ph("int8")), "int8"),
        (lambda: sg.nn.relu(_ph("int8")), "int8"),
        (lambda: sg.nn.sigmoid(_ph("int32")), "float32"),
        (lambda: sg.nn.gelu(_ph("float64")), "float64"),
        (lambda: sg.less(_ph("float32"), 1), "bool"),
        (lambda: sg.logical_and(_ph("float32"), _ph("int32")), "bool"),
        (lambda: sg.isnan(_ph("float64")), "bool"),
        (lambda: sg.floor_divide(_ph("int32"), 2), "int32"),
        (lambda: sg.mod(_ph("int64"), 3), "int64"),
    ],
)
def test_result_dtypes(build, expected):
    assert build().dtype == np.dtype(expected)


def test_promoted_values_match_numpy():
    a = np.array([1, -2, 3], "int32")
    b = np.array([0.5, 0.25, -1.0], "float64")
    (value,) = run(lambda x, y: x + y, a, b)
    np.testing.assert_array_equal(value, a + b)
    assert value.dtype == np.float64
    (value,) = run(lambda x: x * 2.5, a)
    np.testing.assert_array_equal(value, (a * 2.5).astype(np.float32))
    assert value.dtype == np.float32


# ------------------------------------------------------------------ op identity


def test_activation_attributes_are_op_identity():
    x = _ph("float32")
    assert sg.nn.leaky_relu(x) is sg.nn.leaky_relu(x, negative_slope=0.2)
    assert sg.nn.leaky_relu(x, 0.1) is not sg.nn.leaky_relu(x, 0.2)
    assert sg.nn.elu(x) is sg.nn.elu(x, alpha=1)
    assert sg.nn.gelu(x) is not sg.nn.gelu(x, approximate=True)
    assert sg.nn.silu(x) is sg.nn.swish(x)
    assert sg.nn.leaky_relu(x).op.name == "leaky_relu"


def test_each_activation_is_one_node():
    x = _ph("float32")
    for name in ("relu", "sigmoid", "softplus", "softsign", "swish", "selu", "hard_sigmoid"):
        y = getattr(sg.nn, name)(x)
        assert y.node.inputs == (x,), name
    for y in (sg.nn.leaky_relu(x, 0.3), sg.nn.elu(x, 0.7), sg.nn.gelu(x), sg.nn.gelu(x, approximate=True)):
        assert y.node.inputs == (x,)


# ------------------------------------------------------------------ gradients


def test_stop_gradient_blocks_the_gradient():
    x = _ph("float32")
    g = sg.grad(sg.sum(sg.stop_gradient(x) * x), x)
    (value,) = sg.function([x], [g], mode="py")(np.array([1.0, 2.0, 3.0], "float32"))
    np.testing.assert_array_equal(value, [1.0, 2.0, 3.0])


def test_cast_gradient_returns_to_the_input_dtype():
    x = _ph("float32")
    w = np.array([1.0, -2.0, 0.5])
    g = sg.grad(sg.sum(sg.cast(x, "float64") * w), x)
    assert g.dtype == np.float32
    (value,) = sg.function([x], [g], mode="py")(np.zeros(3, "float32"))
    np.testing.assert_array_equal(value, w.astype(np.float32))


def test_no_gradient_through_integer_casts():
    x = _ph("float32")
    y = sg.cast(sg.cast(x, "int32"), "float32")
    g = sg.grad(sg.sum(y + x), x)
    (value,) = sg.function([x], [g], mode="py")(np.array([1.5, 2.5, 3.5], "float32"))
    np.testing.assert_array_equal(value, [1.0, 1.0, 1.0])


def test_zero_gradients_of_rounding_ops():
    x = _ph("float32")
    for fn in (sg.floor, sg.ceil, sg.round, sg.sign):
        g = sg.grad(sg.sum(fn(x)), x)
        (value,) = sg.function([x], [g], mode="py")(np.array([0.3, 1.7, -2.2], "float32"))
        np.testing.assert_array_equal(value, 0.0)


def test_leaky_relu_and_hard_sigmoid_gradients():
    x = sg.placeholder((4,), "float32")
    g_leaky = sg.grad(sg.sum(sg.nn.leaky_relu(x)), x)
    g_hard = sg.grad(sg.sum(sg.nn.hard_sigmoid(x)), x)
    a, b = sg.function([x], [g_leaky, g_hard], mode="py")(np.array([-4.0, -1.0, 1.0, 4.0], "float32"))
    np.testing.assert_allclose(a, [0.2, 0.2, 1.0, 1.0])
    np.testing.assert_allclose(b, [0.0, 1 / 6, 1 / 6, 0.0])


SECOND_ORDER = [
    "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "sinh", "cosh", "tanh", "erf", "elu", "selu", "gelu", "gelu_approximate", "sigmoid",
    "softplus", "softsign", "swish", "power", "true_divide", "multiply",
]  # fmt: skip


@pytest.mark.parametrize("case", [c for c in CASES if c.name in SECOND_ORDER], ids=str)
def test_second_derivatives(case):
    check_grad(case, case.shapes[0], order=2)
