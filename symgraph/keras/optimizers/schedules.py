"""``keras.optimizers.schedules``: learning rates as functions of the step count.

Each schedule is written once over a tiny array namespace, so one formula serves both
the compiled step (called with the optimizer's int64 ``iterations`` Variable, it builds
graph) and checks in Python (called with a number, it returns a float32 scalar). The
step is the count of updates already applied: the first update uses step 0, as in
Keras 3. Formulas and defaults follow Keras 3.15's ``learning_rate_schedule.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor
from symgraph.keras.serialization import serialize_builtin


class _NumpyOps:
    """The float32 numpy spelling of the few operations the schedules use."""

    @staticmethod
    def as_float(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float32)

    floor = staticmethod(np.floor)
    ceil = staticmethod(np.ceil)
    cos = staticmethod(np.cos)
    log = staticmethod(np.log)
    minimum = staticmethod(np.minimum)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> np.ndarray:
        return np.where(cond, a, b).astype(np.float32)

    @staticmethod
    def power(a: Any, b: Any) -> np.ndarray:
        return np.power(np.float32(a), np.asarray(b, np.float32)).astype(np.float32)


class _GraphOps:
    """The same operations building symgraph graph (float32)."""

    @staticmethod
    def as_float(x: Any) -> Tensor:
        return sg.cast(sg.as_tensor(x), "float32")

    floor = staticmethod(sg.floor)
    ceil = staticmethod(sg.ceil)
    cos = staticmethod(sg.cos)
    log = staticmethod(sg.log)
    minimum = staticmethod(sg.minimum)
    where = staticmethod(sg.where)

    @staticmethod
    def power(a: Any, b: Any) -> Tensor:
        return sg.power(a if isinstance(a, Tensor) else sg.constant(np.float32(a)), b)


class LearningRateSchedule:
    """Base class: subclasses implement ``_compute(step, xp)`` with ``xp`` the array
    namespace (numpy or graph), and ``get_config``."""

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step``: a float32 tensor for a symbolic step, a numpy
        float32 scalar for a number."""
        if isinstance(step, Tensor):
            return self._compute(_GraphOps.as_float(step), _GraphOps)
        return np.float32(self._compute(_NumpyOps.as_float(step), _NumpyOps))

    def _compute(self, step: Any, xp: Any) -> Any:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.get_config()}>"


def _positive_steps(name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _RatioDecay(LearningRateSchedule):
    """ExponentialDecay and InverseTimeDecay: both decay by ``decay_rate`` as the ratio
    p = step / decay_steps grows, p floored when ``staircase``; a subclass gives lr(p)
    in ``_rate_at``. ``name`` defaults to the class name, as in Keras."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = type(self).__name__ if name is None else name
        _positive_steps("decay_steps", decay_steps)

    def _compute(self, step: Any, xp: Any) -> Any:
        p = step / np.float32(self.decay_steps)
        if self.staircase:
            p = xp.floor(p)
        return self._rate_at(p, xp)

    def _rate_at(self, p: Any, xp: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RatioDecay):
    """lr = initial_learning_rate * decay_rate ** (step / decay_steps), the exponent
    floored when ``staircase``."""

    def _rate_at(self, p: Any, xp: Any) -> Any:
        return np.float32(self.initial_learning_rate) * xp.power(self.decay_rate, p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after the last boundary."""

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of "
                f"values. Received: boundaries={boundaries} of length "
                f"{len(boundaries)}, and values={values} of length {len(values)}."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def _compute(self, step: Any, xp: Any) -> Any:
        bounds = [np.float32(b) for b in self.boundaries]
        result = xp.where(step <= bounds[0], np.float32(self.values[0]), np.float32(0))
        result = result + xp.where(step > bounds[-1], np.float32(self.values[-1]), np.float32(0))
        for low, high, value in zip(bounds[:-1], bounds[1:], self.values[1:-1]):
            inside = xp.where(step > low, np.float32(1), np.float32(0)) * xp.where(
                step <= high, np.float32(1), np.float32(0)
            )
            result = result + inside * np.float32(value)
        return result

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """lr = (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end;
    with ``cycle``, decay_steps grows to the first multiple of itself >= step."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _positive_steps("decay_steps", decay_steps)

    def _compute(self, step: Any, xp: Any) -> Any:
        decay_steps = np.float32(self.decay_steps)
        if self.cycle:
            multiplier = xp.where(step == 0, np.float32(1), xp.ceil(step / decay_steps))
            decay = decay_steps * multiplier
        else:
            step = xp.minimum(step, decay_steps)
            decay = decay_steps
        p = step / decay
        initial, end = np.float32(self.initial_learning_rate), np.float32(self.end_learning_rate)
        return (initial - end) * (np.float32(1) - p) ** np.float32(self.power) + end

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_RatioDecay):
    """lr = initial_learning_rate / (1 + decay_rate * step / decay_steps), the ratio
    floored when ``staircase``."""

    def _rate_at(self, p: Any, xp: Any) -> Any:
        return np.float32(self.initial_learning_rate) / (np.float32(1) + np.float32(self.decay_rate) * p)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, with ``warmup_target``, after a
    linear warmup from it to ``warmup_target`` over ``warmup_steps``):
    lr = from_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha), with s
    the steps since decay began, capped at decay_steps."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _positive_steps("decay_steps", decay_steps)

    def _decay(self, step: Any, from_lr: Any, xp: Any) -> Any:
        fraction = step / np.float32(self.decay_steps)
        cosine = np.float32(0.5) * (np.float32(1) + xp.cos(np.float32(math.pi) * fraction))
        alpha = np.float32(self.alpha)
        return from_lr * ((np.float32(1) - alpha) * cosine + alpha)

    def _compute(self, step: Any, xp: Any) -> Any:
        initial = np.float32(self.initial_learning_rate)
        decay_steps = np.float32(self.decay_steps)
        if self.warmup_target is None:
            return self._decay(xp.minimum(step, decay_steps), initial, xp)
        target, warmup = np.float32(self.warmup_target), np.float32(self.warmup_steps)
        step = xp.minimum(step, decay_steps + warmup)
        # A zero-step warmup never takes the warmup branch; keep its division finite.
        warming = (target - initial) * (step / max(warmup, np.float32(1))) + initial
        decaying = self._decay(step - warmup, target, xp)
        return xp.where(step < warmup, warming, decaying)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay restarted after first_decay_steps, each period ``t_mul``
    times longer and its peak ``m_mul`` times lower than the previous one."""

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _positive_steps("first_decay_steps", first_decay_steps)

    def _compute(self, step: Any, xp: Any) -> Any:
        fraction = step / np.float32(self.first_decay_steps)
        t_mul = np.float32(self._t_mul)
        if t_mul == 1:
            i_restart = xp.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = xp.floor(xp.log(np.float32(1) - fraction * (np.float32(1) - t_mul)) / np.log(t_mul))
            sum_r = (np.float32(1) - xp.power(t_mul, i_restart)) / (np.float32(1) - t_mul)
            fraction = (fraction - sum_r) / xp.power(t_mul, i_restart)
        m_fac = xp.power(self._m_mul, i_restart)
        cosine = np.float32(0.5) * m_fac * (np.float32(1) + xp.cos(np.float32(math.pi) * fraction))
        alpha = np.float32(self.alpha)
        return np.float32(self.initial_learning_rate) * ((np.float32(1) - alpha) * cosine + alpha)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict:
    """Keras 3's serialized form: module, class_name, config, registered_name."""
    return serialize_builtin("keras.optimizers.schedules", schedule)


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule a ``serialize`` dict (or ``{"class_name", "config"}``) describes."""
    name = config.get("class_name")
    table = {**_SCHEDULES, **(custom_objects or {})}
    if name not in table:
        raise ValueError(f"Could not interpret learning rate schedule: {config!r}")
    return table[name].from_config(dict(config.get("config", {})))


__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
]
