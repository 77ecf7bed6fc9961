"""The optimizer base class: Keras 3's ``BaseOptimizer`` as graph building.

``get_updates(grads, variables)`` builds the update of one training step as symgraph
graph and returns ``[(Variable, new value), ...]`` for ``sg.function(updates=...)``.
Keras applies an optimizer step as a sequence of assignments (clip the gradients, decay
the weights, then each variable's ``update_step``, then ``iterations += 1``), each one
reading the values the previous ones wrote. symgraph applies all updates of a call
together from the values before it (Theano's rule), so the base class threads the
sequence through ``assign``/``read``: ``assign(v, x)`` records x as v's pending value
and ``read(v)`` returns the pending value (or v itself), which reproduces Keras'
sequential semantics inside one compiled step.

State lives in Variables: ``iterations`` (int64, counts applied steps), the learning
rate (float32, so ``opt.learning_rate = x`` needs no recompilation) unless a schedule
computes it from ``iterations``, and the per-variable slots created on the first call
(``variables`` lists them in Keras' order: iteration, learning_rate, then the slots).

Keras 2's ``lr=`` and ``decay=`` are accepted with a warning naming the Keras 3 spelling;
``decay`` is Keras 2's inverse-time decay, lr / (1 + decay * iterations), computed in the
step from ``iterations`` (Keras 3 ignores the argument).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import user_stacklevel
from symgraph.graph import Tensor, Variable
from symgraph.keras import naming
from symgraph.keras.optimizers import schedules as schedules_module


class IterationsVariable(Variable):
    """The step counter, answering Keras' ``opt.iterations.numpy()`` and ``int(...)``."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self.get_value())

    def __int__(self) -> int:
        return int(self.get_value())

    def __index__(self) -> int:
        return int(self.get_value())


class Optimizer:
    """Base class of the Keras optimizers. Subclasses create their slots in ``build``
    (with ``add_optimizer_variables``) and write ``update_step(gradient, variable,
    learning_rate)`` with ``self.read`` / ``self.assign`` / ``assign_add`` /
    ``assign_sub``, exactly as Keras 3's optimizers are written."""

    def __init__(
        self,
        learning_rate: Any,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        if "lr" in kwargs:
            # Keras 2's spelling (renamed in 2.3, removed in 3); like Keras 2, it wins over
            # learning_rate, whose value here may only be the subclass's default.
            learning_rate = kwargs.pop("lr")
            warnings.warn(
                f"`lr` is a Keras 2 spelling; use `learning_rate`: {type(self).__name__}(learning_rate="
                f"{learning_rate!r}) (accepted here, rejected by Keras 3)",
                DeprecationWarning,
                stacklevel=user_stacklevel(),
            )
        decay = kwargs.pop("decay", None)
        if decay is not None:
            _check_decay(decay)  # a bad value raises before the warning about the spelling
            warnings.warn(
                f"`decay` is a Keras 2 argument, applied here as Keras 2's inverse-time decay "
                f"lr / (1 + decay * iterations); Keras 3 ignores it: use learning_rate="
                f"keras.optimizers.schedules.InverseTimeDecay(initial_learning_rate, decay_steps=1, "
                f"decay_rate={decay!r})",
                DeprecationWarning,
                stacklevel=user_stacklevel(),
            )
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if use_ema:
            raise NotImplementedError("symgraph.keras optimizers do not implement `use_ema=True` yet")
        if gradient_accumulation_steps:
            raise NotImplementedError("symgraph.keras optimizers do not implement `gradient_accumulation_steps` yet")
        clip_args = sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm))
        if clip_args > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                f"be set. Received: clipnorm={clipnorm}, "
                f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.decay = _check_decay(decay)
        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._index: dict[int, int] = {}
        self._pending: dict[int, tuple[Variable, Tensor]] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._eager_steps: dict[tuple, sg.Function] = {}

        self._iterations = IterationsVariable(np.array(0, np.int64), name=f"{self.name}/iteration")
        self._variables.append(self._iterations)
        if isinstance(learning_rate, schedules_module.LearningRateSchedule):
            self._learning_rate: Any = learning_rate
        elif callable(learning_rate):
            raise TypeError(
                "symgraph.keras takes a float or a keras.optimizers.schedules.LearningRateSchedule "
                f"as `learning_rate`, not the callable {learning_rate!r}: the step is compiled once, "
                "so the rate must be computable from the step count"
            )
        else:
            if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating, np.integer)):
                raise ValueError(
                    "Argument `learning_rate` should be float, or an instance "
                    "of LearningRateSchedule. "
                    f"Received instead: learning_rate={learning_rate!r}"
                )
            self._learning_rate = Variable(np.array(learning_rate, np.float32), name=f"{self.name}/learning_rate")
            self._variables.append(self._learning_rate)

    # --- state ------------------------------------------------------------------------

    @property
    def iterations(self) -> Variable:
        """The int64 Variable counting applied steps (``int(opt.iterations.get_value())``)."""
        return self._iterations

    @property
    def variables(self) -> list[Variable]:
        """iteration, learning_rate (absent with a schedule), then the slots, in Keras' order."""
        return self._variables[:]

    @property
    def learning_rate(self) -> float:
        """The current learning rate as a float: the Variable's value, or the schedule at
        the current iteration. The float also answers ``.numpy()`` and ``.assign(x)``,
        which Keras code calls on the Variable Keras returns here."""
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            value = float(self._learning_rate(int(self._iterations.get_value())))
        else:
            value = float(self._learning_rate.get_value())
        return LearningRateValue(value, self)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, schedules_module.LearningRateSchedule):
            if self.built:
                raise TypeError(
                    "This optimizer has already built its update step with a fixed learning-rate "
                    "source; create a new optimizer to use a LearningRateSchedule"
                )
            if isinstance(self._learning_rate, Variable):
                self._variables.remove(self._learning_rate)
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule`"
                " object as its `learning_rate` constructor argument, "
                "hence its learning rate is not settable. If you need the"
                " learning rate to be settable, you should instantiate "
                "the optimizer with a float `learning_rate` argument."
            )
        self._learning_rate.set_value(np.asarray(value, np.float32))

    @property
    def learning_rate_variable(self) -> Variable | None:
        """The float32 Variable holding the rate, or None when a schedule computes it."""
        return self._learning_rate if isinstance(self._learning_rate, Variable) else None

    @property
    def lr(self) -> float:
        # Keras 2 spelling, still read by older callbacks and tutorials.
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = value

    # --- building ---------------------------------------------------------------------

    def build(self, variables: list[Variable]) -> None:
        """Record the trainable variables (in order) and create the slots; subclasses
        call ``super().build(variables)`` first."""
        for i, variable in enumerate(variables):
            if not isinstance(variable, Variable):
                raise TypeError(f"{type(self).__name__}: expected sg.Variable to optimize, got {variable!r}")
            self._index[id(variable)] = i
        self._trainable_variables = list(variables)
        self.built = True

    def add_variable(
        self, shape: tuple, initializer: Any = "zeros", dtype: Any = "float32", name: str | None = None
    ) -> Variable:
        """A new optimizer Variable of ``shape`` filled by ``initializer`` ("zeros",
        "ones", a number or an initializer object)."""
        variable = Variable(initial_value(initializer, shape, dtype), name=f"{self.name}/{name or 'var'}")
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(
        self, reference_variable: Variable, name: str | None = None, initializer: Any = "zeros"
    ) -> Variable:
        """A slot shaped and typed like ``reference_variable``, named ``<its name>_<name>``."""
        label = f"{str(reference_variable.name).replace('/', '_')}_{name or 'var'}"
        return self.add_variable(reference_variable.shape, initializer, reference_variable.dtype, label)

    def add_optimizer_variables(self, variables: list[Variable], name: Any, initializer: Any = "zeros") -> Any:
        """Slots for every variable, interleaved per variable when ``name`` is a list
        (Keras 3's creation order, which fixes the order of ``variables`` and of the
        saved optimizer state). One list per name; a tuple of lists for a list of names."""
        names = [name] if isinstance(name, str) else list(name)
        inits = [initializer] * len(names) if isinstance(initializer, (str, int, float)) else list(initializer)
        slots: tuple[list[Variable], ...] = tuple([] for _ in names)
        for variable in variables:
            for i, (slot_name, init) in enumerate(zip(names, inits)):
                slots[i].append(self.add_variable_from_reference(variable, slot_name, init))
        return slots[0] if isinstance(name, str) else slots

    def _get_variable_index(self, variable: Variable) -> int:
        return self._index[id(variable)]

    def exclude_from_weight_decay(self, var_list: list | None = None, var_names: list[str] | None = None) -> None:
        """Exempt variables (by identity, or by a substring of their name) from weight decay."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or []}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None and self._exclude_pattern.search(str(variable.name)))

    # --- the sequential-assignment view of one step -----------------------------------

    def read(self, variable: Variable) -> Tensor:
        """``variable``'s value as of the assignments made so far in this step."""
        entry = self._pending.get(id(variable))
        return variable if entry is None else entry[1]

    def assign(self, variable: Variable, value: Any) -> None:
        value = sg.as_tensor(value)
        if value.dtype != variable.dtype:
            value = sg.cast(value, variable.dtype)
        self._pending[id(variable)] = (variable, value)

    def assign_add(self, variable: Variable, value: Any) -> None:
        self.assign(variable, self.read(variable) + value)

    def assign_sub(self, variable: Variable, value: Any) -> None:
        self.assign(variable, self.read(variable) - value)

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: Tensor) -> None:
        raise NotImplementedError

    # --- the step ---------------------------------------------------------------------

    def _learning_rate_tensor(self) -> Tensor:
        """The rate of this step: a schedule evaluated at ``iterations`` before the
        increment, or the rate Variable; with Keras 2's ``decay``, divided by
        ``1 + decay * iterations`` (Keras 2's ``_decayed_lr``, on top of a schedule too)."""
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            rate = sg.cast(self._learning_rate(self.read(self._iterations)), "float32")
        else:
            rate = self._learning_rate
        if self.decay:
            steps = sg.cast(self.read(self._iterations), "float32")
            rate = rate / (np.float32(1.0) + np.float32(self.decay) * steps)
        return rate

    def get_updates(self, grads: list[Tensor | None], variables: list[Variable]) -> list[tuple[Variable, Tensor]]:
        """The graph of one optimizer step: ``[(Variable, new value), ...]`` for the
        trainable variables, the slots and ``iterations``, to pass as
        ``sg.function(..., updates=...)``. Builds the slots on the first call; later
        calls must pass the same variables (Keras' rule)."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}: got {len(grads)} gradients for {len(variables)} variables")
        if not self.built:
            self.build(variables)
        for v in variables:
            if id(v) not in self._index:
                raise ValueError(
                    f"Unknown variable: {v!r}. This optimizer can only "
                    "be called for the variables it was originally built with. "
                    "When working with a new set of variables, you should "
                    "recreate a new optimizer instance."
                )
        missing = [v.name for g, v in zip(grads, variables) if g is None]
        pairs = [(sg.as_tensor(g), v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            _warn_missing_gradients(missing)
        grads = [sg.cast(g, v.dtype) if g.dtype != v.dtype else g for g, v in pairs]
        variables = [v for _, v in pairs]
        self._pending = {}
        try:
            if self.loss_scale_factor is not None:
                grads = [g / np.float32(self.loss_scale_factor) for g in grads]
            grads = self._clip_gradients(grads)
            learning_rate = self._learning_rate_tensor()
            self._apply_weight_decay(variables, learning_rate)
            self._before_update_steps()
            for grad, variable in zip(grads, variables):
                self.update_step(grad, variable, learning_rate)
            self.assign_add(self._iterations, np.int64(1))
            return list(self._pending.values())
        finally:
            self._pending = {}

    def _before_update_steps(self) -> None:
        """Assignments made once per step, after weight decay and before the
        per-variable updates (Nadam's momentum product)."""

    def scale_loss(self, loss: Tensor) -> Tensor:
        """``loss * loss_scale_factor`` when one is set (the gradients are divided back)."""
        return loss if self.loss_scale_factor is None else loss * np.float32(self.loss_scale_factor)

    def _apply_weight_decay(self, variables: list[Variable], learning_rate: Tensor) -> None:
        """Decoupled weight decay before the update: w -= w * weight_decay * lr."""
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = sg.cast(learning_rate, variable.dtype)
                w = self.read(variable)
                self.assign(variable, w - w * np.float32(self.weight_decay) * lr)

    def _clip_gradients(self, grads: list[Tensor]) -> list[Tensor]:
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            v = float(self.clipvalue)
            return [sg.clip(g, -v, v) for g in grads]
        return grads

    def _clip_by_norm(self, g: Tensor) -> Tensor:
        """g * clipnorm / max(||g||, clipnorm), the norm over the whole tensor (a zero
        gradient stays zero, NaN-free)."""
        l2sum = sg.sum(sg.square(g), keepdims=True) if g.ndim else sg.square(g)
        positive = l2sum > 0
        l2norm = sg.where(positive, sg.sqrt(sg.where(positive, l2sum, 1.0)), l2sum)
        return g * np.float32(self.clipnorm) / sg.maximum(l2norm, np.float32(self.clipnorm))

    # --- eager use --------------------------------------------------------------------

    def apply(self, grads: list[Any], trainable_variables: list[Variable]) -> None:
        """Apply one step eagerly with numpy gradients (Keras' ``optimizer.apply``),
        through a step compiled once per variable list."""
        grads, variables = list(grads), list(trainable_variables)
        if sg.tracing():  # a step of the traced program: the updates are its assignments
            for variable, value in self.get_updates(grads, variables):
                variable.assign(value)
            return
        if not self.built:
            self.build(variables)
        present = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not present:
            raise ValueError("No gradients provided for any variable.")
        if len(present) < len(variables):
            _warn_missing_gradients([v.name for g, v in zip(grads, variables) if g is None])
        variables = [v for _, v in present]
        key = tuple(id(v) for v in variables)
        step = self._eager_steps.get(key)
        if step is None:
            inputs = [sg.placeholder(v.shape, v.dtype, name=f"grad_{i}") for i, v in enumerate(variables)]
            step = sg.function(inputs, [], updates=self.get_updates(inputs, variables), name=f"{self.name}_apply")
            self._eager_steps[key] = step
        step(*[np.asarray(g, dtype=v.dtype) for g, v in present])

    def apply_gradients(self, grads_and_vars: Any) -> Variable:
        """``apply`` on (gradient, variable) pairs; returns ``iterations``."""
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))
        return self._iterations

    # --- weights and config -----------------------------------------------------------

    def set_weights(self, weights: list[Any]) -> None:
        """Set every optimizer Variable, in ``variables`` order."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Its variables are created by the first training step."
            )
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(np.shape(weight)):
                raise ValueError(
                    f"Optimizer variable {variable.name} has shape {variable.shape} "
                    f"not compatible with provided weight shape {np.shape(weight)}."
                )
            variable.set_value(np.asarray(weight))

    def get_weights(self) -> list[np.ndarray]:
        return [v.get_value() for v in self._variables]

    def save_own_variables(self, store: Any) -> None:
        """``store["0"], store["1"], ...``: the variables in order (Keras' layout)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.get_value()

    def load_own_variables(self, store: Any) -> None:
        if len(store.keys()) != len(self._variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(self._variables)} variables whereas the saved optimizer has {len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(self._variables):
            variable.set_value(np.asarray(store[str(i)]))

    def get_config(self) -> dict:
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            learning_rate: Any = schedules_module.serialize(self._learning_rate)
        else:
            learning_rate = float(self._learning_rate.get_value())
        # Keras 2's decay is kept only where it is set: Keras 3 reads the key and ignores it.
        decay = {"decay": self.decay} if self.decay else {}
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            **decay,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"], custom_objects)
        # A saved decay was warned about when the optimizer was made; set it without a warning.
        decay = config.pop("decay", None)
        optimizer = cls(**config)
        optimizer.decay = _check_decay(decay)
        return optimizer

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _check_decay(decay: Any) -> float:
    """Keras 2's ``decay`` as a float (0 when absent); Keras 2's rule: not negative."""
    if decay is None:
        return 0.0
    if isinstance(decay, bool) or not isinstance(decay, (int, float, np.floating, np.integer)):
        raise ValueError(f"Argument `decay` should be a float. Received: decay={decay!r}")
    if decay < 0.0:
        raise ValueError(f"decay cannot be less than 0. Received: decay={decay}.")
    return float(decay)


def initial_value(initializer: Any, shape: tuple, dtype: Any) -> np.ndarray:
    """The starting value of a new Variable: "zeros", "ones", a number, or an
    initializer object called as ``initializer(shape, dtype=dtype)`` (Keras' protocol)."""
    dtype = np.dtype(dtype or "float32")
    if isinstance(initializer, str):
        fill = {"zeros": 0.0, "ones": 1.0}.get(initializer)
        if fill is None:
            raise ValueError(f"expected 'zeros', 'ones', a number or an initializer object, got {initializer!r}")
        return np.full(shape, fill, dtype=dtype)
    if callable(initializer):
        return np.asarray(initializer(tuple(shape), dtype=str(dtype)), dtype=dtype)
    return np.full(shape, float(initializer), dtype=dtype)


class LearningRateValue(float):
    """A learning rate read from an optimizer: a float, plus the Variable methods Keras
    code uses on ``optimizer.learning_rate`` (``numpy()``, ``assign(x)``)."""

    def __new__(cls, value: float, optimizer: Optimizer) -> LearningRateValue:
        obj = super().__new__(cls, value)
        obj._optimizer = optimizer
        return obj

    def numpy(self) -> np.float32:
        return np.float32(self)

    def assign(self, value: Any) -> None:
        self._optimizer.learning_rate = value

    def __reduce__(self) -> tuple:
        return (float, (float(self),))


def clip_by_global_norm(grads: list[Tensor], clip_norm: float) -> list[Tensor]:
    """Every gradient times clip_norm * min(1/global_norm, 1/clip_norm), with
    global_norm = sqrt(sum of all squares); NaN when the norm is not finite (Keras)."""
    total = None
    for g in grads:
        s = sg.sum(sg.square(sg.cast(g, "float32")))
        total = s if total is None else total + s
    norm = sg.sqrt(total)
    scale = np.float32(clip_norm) * sg.minimum(1.0 / norm, np.float32(1.0 / clip_norm))
    scale = scale + (norm - norm)
    return [g * sg.cast(scale, g.dtype) for g in grads]


def _warn_missing_gradients(names: list[str]) -> None:
    """Keras' warning for variables a step has no gradient for (they are left as they are)."""
    warnings.warn(
        f"Gradients do not exist for variables {names} when minimizing the loss."
        " If using `model.compile()`, did you forget to provide a `loss` argument?",
        stacklevel=3,
    )
