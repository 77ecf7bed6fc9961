"""sg.grad: reverse mode as graph, its errors, and second-order derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph import autodiff
from symgraph.errors import GradientError
from tests.opcheck import Case, check_grad, positive


def test_a_tensor_used_twice_accumulates():
    x = sg.placeholder((3,), "float64", name="x")
    g = sg.grad(sg.sum(x * x + x), x)
    a = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(sg.function([x], g)(a), 2 * a + 1)


def test_gradient_sums_over_broadcast_axes():
    x = sg.placeholder((None, 3), "float64", name="x")
    b = sg.Variable(np.zeros(3), name="b")
    c = sg.Variable(np.float64(0.0), name="c")
    gb, gc = sg.grad(sg.sum((x + b) * 2 + c), [b, c])
    f = sg.function([x], [gb, gc])
    got_b, got_c = f(np.ones((5, 3)))
    np.testing.assert_allclose(got_b, [10, 10, 10])
    assert got_c == 15


def test_hessian_of_a_quadratic_form():
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    x = sg.placeholder((2,), "float64", name="x")
    cost = sg.sum(x * (sg.constant(A) @ x))
    g = sg.grad(cost, x)
    hessian_rows = [sg.grad(g[i], x) for i in range(2)]
    f = sg.function([x], [g, *hessian_rows])
    v = np.array([0.3, -1.2])
    grad_value, *rows = f(v)
    np.testing.assert_allclose(grad_value, (A + A.T) @ v)
    np.testing.assert_allclose(np.stack(rows), A + A.T)


def test_disconnected_raises_unless_zero():
    x = sg.placeholder((2,), name="x")
    w = sg.Variable(np.ones(2, "float32"), name="w")
    unused = sg.Variable(np.ones(3, "float32"), name="unused")
    cost = sg.sum(x * w)
    with pytest.raises(GradientError, match="'unused'"):
        sg.grad(cost, [w, unused])
    gw, gu = sg.grad(cost, [w, unused], disconnected="zero")
    f = sg.function([x], [gw, gu])
    got_w, got_u = f(np.array([1.0, 2.0], "float32"))
    np.testing.assert_array_equal(got_w, [1, 2])
    np.testing.assert_array_equal(got_u, [0, 0, 0])


def test_non_differentiable_path_is_disconnected():
    x = sg.placeholder((4,), name="x")
    cost = sg.sum(sg.cast(sg.argmax(x) == 2, "float32"))
    with pytest.raises(GradientError, match="differentiable path"):
        sg.grad(cost, x)


def test_bad_costs_and_targets():
    x = sg.placeholder((3,), name="x")
    i = sg.placeholder((3,), "int32", name="i")
    with pytest.raises(GradientError, match="scalar"):
        sg.grad(x * 2, x)
    with pytest.raises(GradientError, match="float"):
        sg.grad(sg.sum(i), x)
    with pytest.raises(GradientError, match="int32 is not a float"):
        sg.grad(sg.sum(x), i)


def test_stop_gradient_and_consider_constant():
    x = sg.placeholder((), "float64", name="x")
    y = x * x
    f = sg.function(
        [x], [sg.grad(y * sg.stop_gradient(y), x), sg.grad(y * y, x, consider_constant=[y], disconnected="zero")]
    )
    a, b = f(np.float64(3.0))
    assert a == 2 * 3 * 9 and b == 0  # consider_constant blocks both uses of y


SECOND_ORDER = [
    Case("exp", sg.exp, np.exp, [((3, 2),)]),
    Case("log", sg.log, np.log, [((3, 2),)], samplers=positive),
    Case("mul", sg.multiply, np.multiply, [((3, 2), (3, 2))]),
    Case("div", sg.true_divide, np.true_divide, [((3, 2), (3, 2))], samplers=positive),
    Case("power", sg.power, np.power, [((3, 2), (3, 2))], samplers=positive),
    Case("sqrt", lambda x: sg.sqrt(x), np.sqrt, [((3, 2),)], samplers=positive),
    Case("tanh", lambda x: sg.tanh(x), np.tanh, [((3, 2),)]),
    Case("sigmoid", lambda x: sg.nn.sigmoid(x), None, [((3, 2),)]),
    Case("softplus", lambda x: sg.nn.softplus(x), None, [((3, 2),)]),
    Case("matmul", sg.matmul, np.matmul, [((3, 4), (4, 2))]),
    Case("sum", lambda x: sg.sum(x * x, axis=0), None, [((3, 2),)]),
    Case("mean_var", lambda x: sg.var(x, axis=1) + sg.mean(x), None, [((3, 4),)]),
    Case("softmax", lambda x: sg.nn.softmax(x), None, [((3, 4),)]),
    Case("logsumexp", lambda x: sg.logsumexp(x, axis=-1), None, [((3, 4),)]),
    Case("sin_cos", lambda x: sg.sin(x) * sg.cos(x), None, [((3, 2),)]),
]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=str)
def test_second_order_by_finite_differences(case):
    check_grad(case, case.shapes[0], order=2)


def test_vjp_of_several_outputs_with_cotangents():
    """vjp sums <cotangent_k, output_k> over the outputs that have a cotangent."""
    x = sg.placeholder((3,), "float64", name="x")
    y = sg.placeholder((3,), "float64", name="y")
    c1 = sg.placeholder((3,), "float64", name="c1")
    c2 = sg.placeholder((), "float64", name="c2")
    outputs = [x * y, sg.sum(sg.exp(x)), x + 1]
    gx, gy = autodiff.vjp(outputs, [c1, c2, None], [x, y])
    f = sg.function([x, y, c1, c2], [gx, gy])
    a, b, ca, cb = np.array([0.5, -1.0, 2.0]), np.array([3.0, 0.25, -2.0]), np.array([1.0, 2.0, -1.0]), 0.5
    got_x, got_y = f(a, b, ca, np.float64(cb))
    np.testing.assert_allclose(got_x, ca * b + cb * np.exp(a))
    np.testing.assert_allclose(got_y, ca * a)


def test_vjp_answers_none_for_an_unconnected_input_and_respects_consider_constant():
    x = sg.placeholder((2,), "float64", name="x")
    z = sg.placeholder((2,), "float64", name="z")
    h = x * 3
    out = h * x
    gx, gz = autodiff.vjp([out], [sg.ones_like(out)], [x, z])
    assert gz is None
    np.testing.assert_allclose(sg.function([x], gx)(np.array([1.0, 2.0])), [6.0, 12.0])
    (gx_const,) = autodiff.vjp([out], [sg.ones_like(out)], [x], consider_constant=[h])
    np.testing.assert_allclose(sg.function([x], gx_const)(np.array([1.0, 2.0])), [3.0, 6.0])


def test_vjp_casts_a_cotangent_to_its_output_dtype():
    x = sg.placeholder((2,), "float32", name="x")
    (g,) = autodiff.vjp([x * x], [sg.constant(np.array([1.0, 1.0]))], [x])
    assert g.dtype == np.float32


def test_slice_gradients_that_tile_an_axis_become_one_concatenate():
    """The gradient of z[:, :2] and z[:, 2:] together is written once (no zeroed buffers)."""
    z = sg.placeholder((3, 4), "float64", name="z")
    cost = sg.sum(sg.tanh(z[:, :2])) + sg.sum(z[:, 2:] ** 2)
    g = sg.grad(cost, z)
    assert g.node.op.name == "concatenate"
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    expected = np.concatenate([1 - np.tanh(a[:, :2]) ** 2, 2 * a[:, 2:]], axis=1)
    np.testing.assert_allclose(sg.function([z], g)(a), expected)


def test_scan_has_no_reverse_sweep_of_its_own():
    """One backward sweep: scan's gradient goes through autodiff.vjp."""
    calls = []
    original = autodiff.vjp

    def counting(*args, **kwargs):
        calls.append(len(args[0]))
        return original(*args, **kwargs)

    W = sg.Variable(np.eye(2), name="W")
    seq = sg.placeholder((4, 1, 2), "float64", name="seq")
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(x_t + h @ W), sequences=seq, outputs_info=sg.zeros((1, 2), "float64"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(autodiff, "vjp", counting)
        sg.grad(sg.sum(hs[-1]), W)
    assert len(calls) >= 2  # the outer sweep and the step's inside the backward scan
