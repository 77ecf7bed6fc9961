"""The Metric base class (accumulators as symgraph Variables, the graph and eager
update paths, Keras-style subclasses) and the reductions Mean, Sum and
MeanMetricWrapper (Keras 3.15's ``reduction_metrics``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import Tensor, Variable
from symgraph.graph.traversal import replace
from symgraph.keras import losses as losses_module
from symgraph.keras import naming
from symgraph.keras.losses_utils import (
    apply_mask,
    evaluate,
    prediction_mask,
    squeeze_or_expand_to_same_rank,
    to_tensor,
)
from symgraph.keras.optimizers.base import initial_value


class MetricVariable(Variable):
    """A metric accumulator: an sg.Variable that also takes Keras' ``assign``,
    ``assign_add`` and ``assign_sub``, so Keras-style ``update_state`` code works. While
    the owning metric builds its update graph the assignments are recorded as graph;
    otherwise they are applied at once."""

    def __init__(self, value: np.ndarray, name: str, owner: Metric):
        super().__init__(value, name=name)
        self._owner = owner

    def assign(self, value: Any) -> None:
        self._owner._assign(self, value)

    def assign_add(self, value: Any) -> None:
        self._owner._assign(self, self._owner._read(self) + value)

    def assign_sub(self, value: Any) -> None:
        self._owner._assign(self, self._owner._read(self) - value)

    def numpy(self) -> np.ndarray:
        return self.get_value()


class Metric:
    """Base class. Built-in metrics implement ``update_state_graph`` (new accumulator
    values from a batch, as graph) and ``result_from`` (the result from given values).

    A Keras-style subclass instead writes ``update_state(y_true, y_pred,
    sample_weight=None)`` with ``self.var.assign(...)``/``assign_add(...)`` on variables
    from ``add_variable``, and ``result()`` returning a Tensor of those variables, using
    sg ops; the base class turns both into graph for the compiled step."""

    _direction: str | None = None  # "up" or "down": what callbacks' mode="auto" reads

    def __init__(self, name: str | None = None, dtype: Any = None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.dtype = str(np.dtype(dtype or "float32"))
        self._variables: list[Variable] = []
        self._initial_values: list[np.ndarray] = []
        self._eager_updates: dict[tuple, Any] = {}
        self._recording: dict[int, tuple[Variable, Tensor]] | None = None
        self._symbolic_result = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        user_result = cls.__dict__.get("result")
        if user_result is not None and not getattr(user_result, "_evaluates_tensors", False):
            # A subclass's result() may return graph of its variables: called directly,
            # it is evaluated to numpy; result_from uses the graph.
            def result(self: Metric) -> Any:
                out = user_result(self)
                if isinstance(out, Tensor) and not self._symbolic_result and not sg.tracing():
                    out = sg.function([], out, mode="py")()
                    return np.float32(out) if np.ndim(out) == 0 and out.dtype == np.float32 else out
                return out

            result._evaluates_tensors = True  # type: ignore[attr-defined]
            result.__doc__ = user_result.__doc__
            cls.result = result  # type: ignore[method-assign]

    @property
    def variables(self) -> list[Variable]:
        """The accumulators, in the order ``update_state_graph`` returns their values."""
        return self._variables[:]

    def add_variable(
        self,
        shape: tuple = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> MetricVariable:
        """A new accumulator (restored to its initial value by ``reset_state``)."""
        value = initial_value(initializer, shape, dtype or self.dtype)
        variable = MetricVariable(value, f"{self.name}/{name or 'var'}", self)
        self._variables.append(variable)
        self._initial_values.append(value.copy())
        return variable

    def _read(self, variable: Variable) -> Tensor:
        if self._recording is not None and id(variable) in self._recording:
            return self._recording[id(variable)][1]
        return variable

    def _assign(self, variable: Variable, value: Any) -> None:
        if sg.tracing() and self._recording is None:  # a step of the traced program
            Variable.assign(variable, value)
            return
        if self._recording is not None:
            tensor = sg.as_tensor(value)
            self._recording[id(variable)] = (
                variable,
                tensor if tensor.dtype == variable.dtype else sg.cast(tensor, variable.dtype),
            )
            return
        if isinstance(value, Tensor):
            value = sg.function([], value, mode="py")()
        variable.set_value(np.broadcast_to(np.asarray(value, dtype=variable.dtype), variable.shape))

    def update_state_graph(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> list[Tensor]:
        """The accumulators' values after a batch, as graph: built-in metrics override
        this; for a Keras-style subclass its ``update_state`` runs with assignments
        recorded."""
        if type(self).update_state is Metric.update_state:
            raise NotImplementedError(f"{type(self).__name__} must implement update_state (or update_state_graph)")
        self._recording = {}
        try:
            self.update_state(y_true, y_pred, sample_weight=sample_weight)
            recorded = self._recording
        finally:
            self._recording = None
        return [recorded[id(v)][1] if id(v) in recorded else v for v in self._variables]

    def result_from(self, states: list[Tensor]) -> Tensor:
        """The result given the accumulators' values ``states``: built-in metrics
        override this; for a Keras-style subclass its ``result()`` graph with the
        variables replaced by ``states``."""
        if type(self).result is Metric.result:
            raise NotImplementedError(f"{type(self).__name__} must implement result (or result_from)")
        self._symbolic_result = True
        try:
            out = sg.as_tensor(self.result())
        finally:
            self._symbolic_result = False
        return replace([out], dict(zip(self._variables, [sg.as_tensor(s) for s in states])))[0]

    def reset_state(self) -> None:
        """Every accumulator back to its initial value (zeros)."""
        for variable, value in zip(self._variables, self._initial_values):
            variable.set_value(value)

    def result(self) -> Any:
        """The current result from the accumulators' values (a numpy float32 scalar);
        inside a traced function, the graph of it at that point of the program."""
        if sg.tracing():
            return self.result_from(list(self._variables))
        values = [v.get_value() for v in self._variables]
        out = evaluate(lambda *states: self.result_from(list(states)), *values)
        return np.float32(out) if np.ndim(out) == 0 else out

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Eager update with numpy data (compiled once per input signature, run by the
        numpy reference interpreter)."""
        if sg.tracing():
            _traced_update(self, y_true, y_pred, sample_weight)
            return
        arrays = [np.asarray(y_true), np.asarray(y_pred)]
        if sample_weight is not None:
            arrays.append(np.asarray(sample_weight))
        arrays = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
        key = tuple((a.shape, a.dtype.str) for a in arrays)
        step = self._eager_updates.get(key)
        if step is None:
            inputs = [sg.placeholder(a.shape, a.dtype) for a in arrays]
            states = self.update_state_graph(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None)
            step = sg.function(inputs, [], updates=list(zip(self._variables, states)), mode="py")
            self._eager_updates[key] = step
        step(*arrays)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``update_state(...)`` then ``result()``, as Keras' Metric.__call__."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _reduce_to_samplewise_values(
    values: Tensor, sample_weight: Any, reduce_fn: Callable[..., Tensor]
) -> tuple[Tensor, Tensor | None]:
    """Keras' ``reduce_to_samplewise_values``: weights matched to the values' rank, values
    reduced over the axes the weights lack, weighted, then reduced to one per sample."""
    values = sg.cast(values, "float32") if values.dtype != np.float32 else values
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, "float32")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = sg.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def _divide_no_nan(a: Tensor, b: Tensor) -> Tensor:
    return sg.where(sg.equal(b, 0.0), 0.0, a / sg.where(sg.equal(b, 0.0), 1.0, b))


class Sum(Metric):
    """total += sum of the (weighted) values."""

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state_graph(self, values: Any, sample_weight: Any = None) -> list[Tensor]:
        values, _ = _reduce_to_samplewise_values(to_tensor(values), sample_weight, sg.sum)
        return [self.total + sg.sum(values)]

    def result_from(self, states: list[Tensor]) -> Tensor:
        return states[0]

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        _eager_values_update(self, values, sample_weight)


class Mean(Metric):
    """The weighted mean of the values: total += sum(values * w), count += sum(w) (or
    the number of samples), result = total / count (0 when count is 0)."""

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def _accumulate(self, values: Tensor, sample_weight: Any) -> list[Tensor]:
        values, weights = _reduce_to_samplewise_values(values, sample_weight, sg.mean)
        total = self.total + sg.sum(values)
        if weights is not None:
            num_samples = sg.sum(weights)
        elif values.ndim >= 1:
            num_samples = sg.cast(sg.as_tensor(values.shape[0]), "float32")
        else:
            num_samples = sg.constant(np.float32(1))
        return [total, self.count + num_samples]

    def update_state_graph(self, values: Any, sample_weight: Any = None) -> list[Tensor]:
        return self._accumulate(to_tensor(values), sample_weight)

    def result_from(self, states: list[Tensor]) -> Tensor:
        return _divide_no_nan(states[0], states[1])

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        _eager_values_update(self, values, sample_weight)


def _traced_update(metric: Metric, *args: Any) -> None:
    """``update_state`` inside a traced function: the accumulators' new values assigned,
    so they become updates of the compiled call (and later reads see them)."""
    for variable, state in zip(metric.variables, metric.update_state_graph(*args)):
        Variable.assign(variable, state)


def _eager_values_update(metric: Metric, values: Any, sample_weight: Any) -> None:
    """Eager update for metrics of values (Sum, Mean): ``update_state(values, w)``."""
    if sg.tracing():
        _traced_update(metric, values, sample_weight)
        return
    arrays = [np.asarray(values, dtype=np.float32)]
    if sample_weight is not None:
        arrays.append(np.asarray(sample_weight, dtype=np.float32))
    inputs = [sg.placeholder(a.shape, a.dtype) for a in arrays]
    states = metric.update_state_graph(inputs[0], inputs[1] if len(inputs) > 1 else None)
    sg.function(inputs, [], updates=list(zip(metric.variables, states)), mode="py")(*arrays)


class MeanMetricWrapper(Mean):
    """The Mean of ``fn(y_true, y_pred, **kwargs)`` over samples."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in _LOSS_FUNCTIONS:
            self._direction = "down"

    def update_state_graph(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> list[Tensor]:
        # Masked steps of a sequence prediction do not count (Keras' apply_mask, "sum").
        mask = prediction_mask(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return self._accumulate(values, apply_mask(sample_weight, mask, "sum"))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        Metric.update_state(self, y_true, y_pred, sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        if cls is MeanMetricWrapper:
            raise ValueError("MeanMetricWrapper.from_config needs the function; construct it directly")
        return cls(**config)


_LOSS_FUNCTIONS = {
    losses_module.mean_squared_error,
    losses_module.mean_absolute_error,
    losses_module.mean_absolute_percentage_error,
    losses_module.mean_squared_logarithmic_error,
    losses_module.binary_crossentropy,
    losses_module.categorical_crossentropy,
    losses_module.sparse_categorical_crossentropy,
    losses_module.hinge,
    losses_module.squared_hinge,
    losses_module.categorical_hinge,
    losses_module.kl_divergence,
    losses_module.poisson,
    losses_module.log_cosh,
}
