"""keras.optimizers: each rule's first three updates against its formula in numpy, the
gradient transforms (clipping, weight decay), schedules, and the optimizer's state."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.keras import optimizers
from symgraph.keras.optimizers import schedules

W0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)
B0 = np.array([0.1, -0.2, 0.3], np.float32)
GRADS = [
    (np.array([[0.3, -0.1, 0.2], [0.05, 0.4, -0.6]], np.float32), np.array([0.2, 0.0, -0.5], np.float32)),
    (np.array([[-0.2, 0.3, 0.1], [0.5, -0.4, 0.2]], np.float32), np.array([-0.1, 0.3, 0.25], np.float32)),
    (np.array([[0.7, 0.2, -0.3], [-0.1, 0.1, 0.9]], np.float32), np.array([0.4, -0.2, 0.1], np.float32)),
]


def run_three_steps(opt: optimizers.Optimizer) -> list[list[np.ndarray]]:
    """The weights after each of three compiled steps fed GRADS as placeholders."""
    w, b = sg.Variable(W0, name="w"), sg.Variable(B0, name="b")
    gw, gb = sg.placeholder(W0.shape, name="gw"), sg.placeholder(B0.shape, name="gb")
    step = sg.function([gw, gb], [], updates=opt.get_updates([gw, gb], [w, b]))
    values = []
    for g in GRADS:
        step(*g)
        values.append([w.get_value(), b.get_value()])
    return values


def reference_three_steps(rule, state_init, transform=None) -> list[list[np.ndarray]]:
    """The same three steps in float64 numpy: ``rule(w, g, state, t)`` returns the new w."""
    params = [W0.astype(np.float64), B0.astype(np.float64)]
    states = [state_init(p) for p in params]
    values = []
    for t, grads in enumerate(GRADS, start=1):
        grads = [g.astype(np.float64) for g in grads]
        if transform is not None:
            grads = transform(grads)
        params = [rule(p, g, s, t) for p, g, s in zip(params, grads, states)]
        values.append(params)
    return values


def assert_steps_close(got, expected, rtol=2e-5, atol=2e-6):
    for step, (g, e) in enumerate(zip(got, expected)):
        for gv, ev in zip(g, e):
            np.testing.assert_allclose(gv, ev, rtol=rtol, atol=atol, err_msg=f"after step {step + 1}")


def sgd_rule(lr, momentum=0.0, nesterov=False):
    def rule(w, g, s, t):
        if momentum == 0:
            return w - lr * g
        s["m"] = momentum * s["m"] - lr * g
        return w + (momentum * s["m"] - lr * g if nesterov else s["m"])

    return rule


def zeros_state(*names, fill=0.0):
    return lambda p: {n: np.full_like(p, fill) for n in names}


@pytest.mark.parametrize(
    ("kwargs", "momentum", "nesterov"),
    [
        ({"learning_rate": 0.1}, 0.0, False),
        ({"learning_rate": 0.1, "momentum": 0.9}, 0.9, False),
        ({"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}, 0.8, True),
    ],
)
def test_sgd(kwargs, momentum, nesterov):
    got = run_three_steps(optimizers.SGD(**kwargs))
    expected = reference_three_steps(sgd_rule(kwargs["learning_rate"], momentum, nesterov), zeros_state("m"))
    assert_steps_close(got, expected)


def adam_rule(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    def rule(w, g, s, t):
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        v = s["v"]
        if amsgrad:
            s["vh"] = np.maximum(s["vh"], s["v"])
            v = s["vh"]
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - s["m"] * alpha / (np.sqrt(v) + eps)

    return rule


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad):
    got = run_three_steps(optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.9, amsgrad=amsgrad))
    expected = reference_three_steps(adam_rule(0.01, 0.8, 0.9, amsgrad=amsgrad), zeros_state("m", "v", "vh"))
    assert_steps_close(got, expected)


def test_adam_epsilon_outside_the_root():
    # With g = 0 after a first step, the update is m*a/(sqrt(v) + eps): a large eps shows where it sits.
    got = run_three_steps(optimizers.Adam(learning_rate=0.1, epsilon=0.5))
    expected = reference_three_steps(adam_rule(0.1, eps=0.5), zeros_state("m", "v", "vh"))
    assert_steps_close(got, expected)


def test_adamw_decays_before_the_adam_step():
    lr, wd = 0.01, 0.1
    adam = adam_rule(lr)

    def rule(w, g, s, t):
        return adam(w - w * wd * lr, g, s, t)

    got = run_three_steps(optimizers.AdamW(learning_rate=lr, weight_decay=wd))
    assert_steps_close(got, reference_three_steps(rule, zeros_state("m", "v", "vh")))
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


def rmsprop_rule(lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    eps = epsilon

    def rule(w, g, s, t):
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        if centered:
            s["mg"] = rho * s["mg"] + (1 - rho) * g
            denominator = s["v"] - s["mg"] ** 2 + eps
        else:
            denominator = s["v"] + eps
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            s["m"] = momentum * s["m"] + increment
            return w - s["m"]
        return w - increment

    return rule


@pytest.mark.parametrize(
    "kwargs", [{}, {"momentum": 0.5}, {"centered": True}, {"momentum": 0.3, "centered": True, "epsilon": 0.01}]
)
def test_rmsprop(kwargs):
    got = run_three_steps(optimizers.RMSprop(learning_rate=0.01, **kwargs))
    expected = reference_three_steps(rmsprop_rule(0.01, **kwargs), zeros_state("v", "mg", "m"))
    assert_steps_close(got, expected)


def test_rmsprop_epsilon_inside_the_root():
    # A zero gradient coordinate on step 1 with eps = 0.25: lr*g/sqrt(v + eps) differs from lr*g/(sqrt(v) + eps).
    got = run_three_steps(optimizers.RMSprop(learning_rate=0.1, epsilon=0.25))
    assert_steps_close(got, reference_three_steps(rmsprop_rule(0.1, epsilon=0.25), zeros_state("v", "mg", "m")))


def test_adagrad():
    def rule(w, g, s, t):
        s["a"] += g * g
        return w - 0.1 * g / np.sqrt(s["a"] + 1e-7)

    got = run_three_steps(optimizers.Adagrad(learning_rate=0.1))
    assert_steps_close(got, reference_three_steps(rule, zeros_state("a", fill=0.1)))


def test_adadelta():
    rho, eps, lr = 0.95, 1e-7, 1.0

    def rule(w, g, s, t):
        s["eg"] = rho * s["eg"] + (1 - rho) * g * g
        d = -np.sqrt(s["ed"] + eps) * g / np.sqrt(s["eg"] + eps)
        s["ed"] = rho * s["ed"] + (1 - rho) * d * d
        return w + lr * d

    got = run_three_steps(optimizers.Adadelta(learning_rate=lr))
    assert_steps_close(got, reference_three_steps(rule, zeros_state("eg", "ed")), rtol=1e-4)


def test_adamax():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7

    def rule(w, g, s, t):
        s["m"] += (g - s["m"]) * (1 - b1)
        s["u"] = np.maximum(b2 * s["u"], np.abs(g))
        return w - lr * s["m"] / ((1 - b1**t) * (s["u"] + eps))

    got = run_three_steps(optimizers.Adamax(learning_rate=lr))
    assert_steps_close(got, reference_three_steps(rule, zeros_state("m", "u")))


def test_nadam():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7

    def momentum_at(t):
        return b1 * (1 - 0.5 * 0.96**t)

    def rule(w, g, s, t):
        # The running product of the momentum schedule, shared by all variables.
        product_t = np.prod([momentum_at(k) for k in range(1, t + 1)])
        product_t1 = product_t * momentum_at(t + 1)
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        m_hat = momentum_at(t + 1) * s["m"] / (1 - product_t1) + (1 - momentum_at(t)) * g / (1 - product_t)
        v_hat = s["v"] / (1 - b2**t)
        return w - m_hat * lr / (np.sqrt(v_hat) + eps)

    opt = optimizers.get("nadam")
    opt.learning_rate = lr
    got = run_three_steps(opt)
    assert_steps_close(got, reference_three_steps(rule, zeros_state("m", "v")))
    assert opt.variables[-1].name.endswith("u_product")


def test_clipnorm_clips_each_gradient_by_its_own_norm():
    def clip(grads):
        return [g * 0.5 / max(np.sqrt(np.sum(g * g)), 0.5) for g in grads]

    got = run_three_steps(optimizers.SGD(learning_rate=0.1, clipnorm=0.5))
    assert_steps_close(got, reference_three_steps(sgd_rule(0.1), zeros_state("m"), transform=clip))


def test_global_clipnorm_scales_all_gradients_together():
    def clip(grads):
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        return [g * 0.5 * min(1 / norm, 1 / 0.5) for g in grads]

    got = run_three_steps(optimizers.SGD(learning_rate=0.1, global_clipnorm=0.5))
    assert_steps_close(got, reference_three_steps(sgd_rule(0.1), zeros_state("m"), transform=clip))


def test_clipvalue_and_weight_decay():
    lr, wd = 0.1, 0.05
    sgd = sgd_rule(lr, momentum=0.5)

    def rule(w, g, s, t):
        return sgd(w - w * wd * lr, g, s, t)

    got = run_three_steps(optimizers.SGD(learning_rate=lr, momentum=0.5, clipvalue=0.25, weight_decay=wd))
    expected = reference_three_steps(rule, zeros_state("m"), transform=lambda gs: [np.clip(g, -0.25, 0.25) for g in gs])
    assert_steps_close(got, expected)


def test_exclude_from_weight_decay_by_name():
    opt = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["b"])
    got = run_three_steps(opt)
    # w decays, b does not.
    w, b = W0.astype(np.float64), B0.astype(np.float64)
    for (gw, gb), (got_w, got_b) in zip(GRADS, got):
        w = w - w * 0.5 * 0.1 - 0.1 * gw
        b = b - 0.1 * gb
        np.testing.assert_allclose(got_w, w, rtol=1e-5)
        np.testing.assert_allclose(got_b, b, rtol=1e-5)


def test_gradient_from_sg_grad_of_a_linear_loss():
    # loss = sum(w * c) has gradient c, so three SGD steps move w by -3*lr*c.
    c = np.array([1.0, -2.0, 0.5], np.float32)
    w = sg.Variable(np.zeros(3, np.float32), name="w")
    x = sg.placeholder((3,), name="x")
    loss = sg.sum(w * x)
    opt = optimizers.get("sgd")
    step = sg.function([x], loss, updates=opt.get_updates(sg.grad(loss, [w]), [w]))
    for _ in range(3):
        step(c)
    np.testing.assert_allclose(w.get_value(), -3 * 0.01 * c, rtol=1e-6)
    assert int(opt.iterations.get_value()) == 3


def test_learning_rate_is_a_variable_set_without_recompiling():
    opt = optimizers.SGD(learning_rate=0.1)
    w = sg.Variable(np.zeros(2, np.float32), name="w")
    g = sg.placeholder((2,), name="g")
    step = sg.function([g], [], updates=opt.get_updates([g], [w]))
    step(np.ones(2, np.float32))
    opt.learning_rate = 0.5
    assert opt.learning_rate == pytest.approx(0.5)
    step(np.ones(2, np.float32))
    np.testing.assert_allclose(w.get_value(), [-0.6, -0.6], rtol=1e-6)


def test_variables_in_keras_order_and_iterations():
    opt = optimizers.Adam(amsgrad=True, name="adam_test")
    run_three_steps(opt)
    names = [v.name for v in opt.variables]
    assert names == [
        "adam_test/iteration",
        "adam_test/learning_rate",
        "adam_test/w_momentum",
        "adam_test/w_velocity",
        "adam_test/b_momentum",
        "adam_test/b_velocity",
        "adam_test/w_velocity_hat",
        "adam_test/b_velocity_hat",
    ]
    assert opt.iterations.dtype == np.int64
    assert int(opt.iterations.get_value()) == 3


def test_get_accepts_names_dicts_and_instances():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    opt = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.2, "momentum": 0.9}})
    assert isinstance(opt, optimizers.SGD) and opt.momentum == 0.9 and opt.learning_rate == pytest.approx(0.2)
    same = optimizers.Adagrad()
    assert optimizers.get(same) is same
    assert optimizers.get("rmsprop").learning_rate == pytest.approx(0.001)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get("nonsense")


def test_config_round_trip_with_a_schedule():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    opt = optimizers.Adam(learning_rate=schedule, beta_1=0.8, clipnorm=1.0)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    clone = optimizers.Adam.from_config(config)
    assert clone.beta_1 == 0.8 and clone.clipnorm == 1.0
    assert isinstance(clone._learning_rate, schedules.ExponentialDecay)
    assert clone.learning_rate == pytest.approx(0.1)
    with pytest.raises(TypeError, match="not settable"):
        clone.learning_rate = 0.3


def test_constructor_errors():
    # the old tutorials' lr= is accepted with a warning naming learning_rate (issue 17)
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        assert float(optimizers.SGD(lr=0.25).learning_rate) == 0.25
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)


def test_eager_apply_matches_the_compiled_step():
    opt = optimizers.RMSprop(learning_rate=0.01, momentum=0.5)
    w, b = sg.Variable(W0, name="w"), sg.Variable(B0, name="b")
    for g in GRADS:
        opt.apply(list(g), [w, b])
    expected = reference_three_steps(rmsprop_rule(0.01, momentum=0.5), zeros_state("v", "mg", "m"))[-1]
    np.testing.assert_allclose(w.get_value(), expected[0], rtol=2e-5, atol=2e-6)


# --- schedules ---------------------------------------------------------------------------

STEPS = np.arange(0, 12)


@pytest.mark.parametrize(
    ("schedule", "formula"),
    [
        (schedules.ExponentialDecay(0.1, 3, 0.5), lambda s: 0.1 * 0.5 ** (s / 3)),
        (schedules.ExponentialDecay(0.1, 3, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** np.floor(s / 3)),
        (schedules.InverseTimeDecay(0.1, 2, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 2)),
        (schedules.PolynomialDecay(0.1, 5, 0.01, power=2.0), lambda s: (0.09) * (1 - np.minimum(s, 5) / 5) ** 2 + 0.01),
        (
            schedules.PiecewiseConstantDecay([2, 6], [1.0, 0.5, 0.1]),
            lambda s: np.where(s <= 2, 1.0, np.where(s <= 6, 0.5, 0.1)),
        ),
        (
            schedules.CosineDecay(0.1, 8, alpha=0.1),
            lambda s: 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(s, 8) / 8)) + 0.1),
        ),
        (
            schedules.CosineDecay(0.0, 6, warmup_target=0.2, warmup_steps=4),
            lambda s: np.where(s < 4, 0.2 * s / 4, 0.2 * 0.5 * (1 + np.cos(np.pi * (np.minimum(s, 10) - 4) / 6))),
        ),
        (
            schedules.CosineDecayRestarts(0.1, 2, t_mul=1.0, m_mul=0.5),
            lambda s: 0.1 * 0.5 ** np.floor(s / 2) * 0.5 * (1 + np.cos(np.pi * (s / 2 - np.floor(s / 2)))),
        ),
    ],
)
def test_schedule_numpy_and_graph_agree_with_the_formula(schedule, formula):
    expected = formula(STEPS.astype(np.float64))
    numeric = np.array([schedule(int(s)) for s in STEPS])
    np.testing.assert_allclose(numeric, expected, rtol=1e-5, atol=1e-7)
    step = sg.placeholder((), "int64", name="step")
    rate = sg.function([step], schedule(step))
    graph = np.array([rate(np.int64(s)) for s in STEPS])
    np.testing.assert_allclose(graph, expected, rtol=1e-5, atol=1e-7)


def test_an_optimizer_uses_the_schedule_at_the_step_count_before_the_update():
    opt = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5))
    got = run_three_steps(opt)
    w = W0.astype(np.float64)
    for t, ((gw, _), (got_w, _)) in enumerate(zip(GRADS, got)):
        w = w - 0.1 * 0.5**t * gw
        np.testing.assert_allclose(got_w, w, rtol=1e-5)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5**3)
    assert [v.name for v in opt.variables][:1] == [f"{opt.name}/iteration"]
    assert opt.learning_rate_variable is None


def test_schedule_serialization_round_trip():
    s = schedules.PiecewiseConstantDecay([2, 6], [1.0, 0.5, 0.1])
    clone = schedules.deserialize(schedules.serialize(s))
    assert isinstance(clone, schedules.PiecewiseConstantDecay) and clone.values == [1.0, 0.5, 0.1]
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
