"""The update rules of Keras 3's optimizers, each as Keras writes it (``update_step``
assigning through the base class, so the sequence of assignments is Keras' own).

With g the gradient, lr the learning rate and t = iterations + 1:

- SGD: m = mu*m - lr*g; w += m (nesterov: w += mu*m - lr*g with the new m); without
  momentum w -= lr*g.
- Adam: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); (amsgrad: vh = max(vh, v), used as
  v); w -= m*a / (sqrt(v) + eps), a = lr*sqrt(1 - b2^t) / (1 - b1^t).
- AdamW: Adam with decoupled weight decay (default 0.004) applied first.
- RMSprop: v = rho*v + (1-rho)g^2; (centered: mg = rho*mg + (1-rho)g, denominator
  v - mg^2 + eps, else v + eps); inc = lr*g / sqrt(denominator); momentum:
  m = momentum*m + inc, w -= m; else w -= inc.
- Adagrad: a += g^2; w -= lr*g / sqrt(a + eps), a starting at 0.1.
- Adadelta: Eg = rho*Eg + (1-rho)g^2; d = -sqrt(Ed + eps)*g / sqrt(Eg + eps);
  Ed = rho*Ed + (1-rho)d^2; w += lr*d.
- Adamax and Nadam: see their classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor, Variable
from symgraph.keras.optimizers.base import Optimizer


def _f32(x: float) -> np.float32:
    return np.float32(x)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, Keras 3's rule."""

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        lr = sg.cast(learning_rate, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, gradient * lr)
            return
        m = self.momentums[self._get_variable_index(variable)]
        mu = _f32(self.momentum)
        self.assign(m, self.read(m) * mu - gradient * lr)
        if self.nesterov:
            self.assign_add(variable, self.read(m) * mu - gradient * lr)
        else:
            self.assign_add(variable, self.read(m))

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _MomentEstimates(Optimizer):
    """What Adam, Adamax and Nadam share: the decay rates beta_1, beta_2 of their
    moment estimates, epsilon, and t = iterations + 1 for the bias corrections."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _local_step(self, dtype: Any) -> Tensor:
        """t = iterations + 1 as ``dtype``: the update being made is the t-th."""
        return sg.cast(self.read(self.iterations) + 1, dtype)

    def _beta_power(self, beta: float, step: Tensor, dtype: Any) -> Tensor:
        """beta ** t, beta as a constant of ``dtype``."""
        return sg.power(sg.constant(np.asarray(beta, dtype)), step)

    def _update_first_moment(self, m: Variable, gradient: Tensor) -> None:
        """m += (g - m)(1 - b1)."""
        self.assign_add(m, (gradient - self.read(m)) * _f32(1 - self.beta_1))

    def _update_second_moment(self, v: Variable, gradient: Tensor) -> None:
        """v += (g^2 - v)(1 - b2)."""
        self.assign_add(v, (sg.square(gradient) - self.read(v)) * _f32(1 - self.beta_2))

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adam(_MomentEstimates):
    """Adam (Kingma & Ba) as Keras 3 computes it: the bias corrections folded into the
    step size, epsilon added to sqrt(v) (the "epsilon hat" of the paper)."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.amsgrad = amsgrad

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        dtype = variable.dtype
        lr = sg.cast(learning_rate, dtype)
        local_step = self._local_step(dtype)
        beta_1_power = self._beta_power(self.beta_1, local_step, dtype)
        beta_2_power = self._beta_power(self.beta_2, local_step, dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        alpha = lr * sg.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self._update_first_moment(m, gradient)
        self._update_second_moment(v, gradient)
        v_value = self.read(v)
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            self.assign(v_hat, sg.maximum(self.read(v_hat), v_value))
            v_value = self.read(v_hat)
        self.assign_sub(variable, self.read(m) * alpha / (sg.sqrt(v_value) + _f32(self.epsilon)))

    def get_config(self) -> dict:
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: w -= w * weight_decay * lr before the Adam step."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class RMSprop(Optimizer):
    """RMSprop as Keras 3 computes it: epsilon inside the square root."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self._average_gradients = self.add_optimizer_variables(variables, "average_gradient") if self.centered else []

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        lr = sg.cast(learning_rate, variable.dtype)
        i = self._get_variable_index(variable)
        rho = _f32(self.rho)
        velocity = self._velocities[i]
        self.assign(velocity, rho * self.read(velocity) + _f32(1 - self.rho) * sg.square(gradient))
        if self.centered:
            average = self._average_gradients[i]
            self.assign(average, rho * self.read(average) + _f32(1 - self.rho) * gradient)
            denominator = self.read(velocity) - sg.square(self.read(average)) + _f32(self.epsilon)
        else:
            denominator = self.read(velocity) + _f32(self.epsilon)
        increment = lr * gradient / sg.sqrt(denominator)
        if self.momentum > 0:
            m = self._momentums[i]
            self.assign(m, _f32(self.momentum) * self.read(m) + increment)
            self.assign_sub(variable, self.read(m))
        else:
            self.assign_sub(variable, increment)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad: accumulated squared gradients (from ``initial_accumulator_value``)
    scale each coordinate's step."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=float(self.initial_accumulator_value)
        )

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        lr = sg.cast(learning_rate, variable.dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, sg.square(gradient))
        self.assign_sub(variable, lr * gradient / sg.sqrt(self.read(accumulator) + _f32(self.epsilon)))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta (Zeiler) with Keras' learning rate factor on the step."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            variables, ["accumulated_grad", "accumulated_delta_var"]
        )

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        lr = sg.cast(learning_rate, variable.dtype)
        i = self._get_variable_index(variable)
        rho, eps = _f32(self.rho), _f32(self.epsilon)
        acc_grad, acc_delta = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        self.assign(acc_grad, rho * self.read(acc_grad) + _f32(1 - self.rho) * sg.square(gradient))
        delta = -(sg.sqrt(self.read(acc_delta) + eps) * gradient) / sg.sqrt(self.read(acc_grad) + eps)
        self.assign(acc_delta, rho * self.read(acc_delta) + _f32(1 - self.rho) * sg.square(delta))
        self.assign_add(variable, lr * delta)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(_MomentEstimates):
    """Adamax (Adam under the infinity norm): m += (g - m)(1 - b1);
    u = max(b2*u, |g|); w -= lr*m / ((1 - b1^t)(u + eps))."""

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._m, self._u = self.add_optimizer_variables(variables, ["momentum", "norm"])

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        dtype = variable.dtype
        lr = sg.cast(learning_rate, dtype)
        beta_1_power = self._beta_power(self.beta_1, self._local_step(dtype), dtype)
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        self._update_first_moment(m, gradient)
        self.assign(u, sg.maximum(_f32(self.beta_2) * self.read(u), sg.abs(gradient)))
        self.assign_sub(variable, lr * self.read(m) / ((1 - beta_1_power) * (self.read(u) + _f32(self.epsilon))))


class Nadam(_MomentEstimates):
    """Adam with Nesterov momentum (Dozat), with Keras' momentum schedule
    u_t = b1 (1 - 0.5 * 0.96^t) and its running product: m_hat = u_{t+1} m /
    (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t); v_hat = v / (1 - b2^t);
    w -= lr m_hat / (sqrt(v_hat) + eps)."""

    def build(self, variables: list[Variable]) -> None:
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        dtype = variables[0].dtype if variables else "float32"
        self._u_product = self.add_variable((), "ones", dtype, "u_product")

    def _momentum_at(self, step: Tensor, dtype: Any) -> Tensor:
        return _f32(self.beta_1) * (1.0 - 0.5 * self._beta_power(0.96, step, dtype))

    def _before_update_steps(self) -> None:
        # Keras advances the momentum product once per step, before the variables' updates.
        dtype = self._u_product.dtype
        self.assign(self._u_product, self.read(self._u_product) * self._momentum_at(self._local_step(dtype), dtype))

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        dtype = variable.dtype
        lr = sg.cast(learning_rate, dtype)
        local_step = self._local_step(dtype)
        u_t = self._momentum_at(local_step, dtype)
        u_t_1 = self._momentum_at(local_step + 1.0, dtype)
        u_product_t = sg.cast(self.read(self._u_product), dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = self._beta_power(self.beta_2, local_step, dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        self._update_first_moment(m, gradient)
        self._update_second_moment(v, gradient)
        m_hat = u_t_1 * self.read(m) / (1 - u_product_t_1) + (1 - u_t) * gradient / (1 - u_product_t)
        v_hat = self.read(v) / (1 - beta_2_power)
        self.assign_sub(variable, m_hat * lr / (sg.sqrt(v_hat) + _f32(self.epsilon)))


__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]
