"""The Layer base class, Keras' symbolic tensors (``KerasTensor``) and the call context.

A layer's ``call`` builds symgraph graph from symgraph Tensors. Called on ``KerasTensor``s
(the outputs of ``keras.Input``), a layer records a ``Node`` (which layer consumed which
tensors) so a functional model can replay the calls later on fresh placeholders, once
for the training graph and once for the inference graph. Shapes are inferred by running
``call`` on the symgraph tensors behind the KerasTensors: symgraph's own shape rules do
the work, so no layer needs a ``compute_output_shape``.

The call context carries the ``training`` flag (inherited by nested calls whose caller
did not pass one) and collects the state updates (batch-norm moving statistics) and
extra losses (activity regularizers, ``add_loss``) the model folds into its train step.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, user_stacklevel
from symgraph.graph.sources import Variable, dim_value
from symgraph.keras import backend, initializers, naming, regularizers

# ---------------------------------------------------------------- structures


def flatten(structure: Any) -> list:
    """The leaves of nested lists/tuples/dicts, in order (dicts by sorted key, as Keras)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


def pack_like(structure: Any, leaves: list) -> Any:
    """``leaves`` (in ``flatten`` order) put back into the shape of ``structure``."""
    it = iter(leaves)

    def rebuild(s: Any) -> Any:
        if isinstance(s, list):
            return [rebuild(item) for item in s]
        if isinstance(s, tuple):
            return tuple(rebuild(item) for item in s)
        if isinstance(s, dict):
            rebuilt = {key: rebuild(s[key]) for key in sorted(s)}
            return {key: rebuilt[key] for key in s}
        return next(it)

    return rebuild(structure)


def static_shape(t: Tensor) -> tuple:
    """A tensor's shape with None for every size known only at call time."""
    return tuple(d if isinstance(d, int) else None for d in t.shape)


# ---------------------------------------------------------------- masks

# Keras attaches a boolean mask (batch, time) to the outputs of Embedding(mask_zero=True);
# layers that support masking pass it on, recurrent layers read it. symgraph tensors
# have fixed slots, so the masks are kept beside them by id, with a weak reference to
# check the id still names the same tensor (tensors compare symbolically, so no dict key).
_MASKS: dict[int, tuple[weakref.ref, Tensor]] = {}


def get_mask(t: Any) -> Tensor | None:
    if not isinstance(t, Tensor):
        return None
    entry = _MASKS.get(id(t))
    return entry[1] if entry is not None and entry[0]() is t else None


def set_mask(t: Tensor, mask: Tensor) -> None:
    key = id(t)
    _MASKS[key] = (weakref.ref(t, lambda _, key=key: _MASKS.pop(key, None)), mask)


# ---------------------------------------------------------------- build batch

# A subclassed model first called on data builds its layers inside a compiled step,
# on a batch dimension known only at run time. Keras records the concrete batch size of
# that first call in each layer's build shape (summary() shows it), so the step builder
# names it here while the layers build.
_RECORDED_BATCH = threading.local()


@contextlib.contextmanager
def recording_batch(batch: int | None) -> Iterator[None]:
    previous = getattr(_RECORDED_BATCH, "value", None)
    _RECORDED_BATCH.value = batch
    try:
        yield
    finally:
        _RECORDED_BATCH.value = previous


def _with_recorded_batch(shapes: Any) -> Any:
    batch = getattr(_RECORDED_BATCH, "value", None)
    if batch is None:
        return shapes

    def fill(shape: Any) -> Any:
        if isinstance(shape, tuple) and shape and shape[0] is None:
            return (batch, *shape[1:])
        return shape

    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return fill(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(fill(s) for s in shapes)
    return shapes


# ---------------------------------------------------------------- name scopes

# Keras opens a name scope around every layer call (and a Sequential's build), so a
# variable's path names the models and layers it was created inside:
# "sequential/dense/kernel", "lstm/lstm_cell/kernel", "net/dense/kernel".
_NAME_SCOPES = threading.local()


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[None]:
    stack = _NAME_SCOPES.__dict__.setdefault("stack", [])
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def _variable_path(owner: str, name: str) -> str:
    scopes = list(getattr(_NAME_SCOPES, "stack", []))
    if not scopes or scopes[-1] != owner:
        scopes.append(owner)
    return "/".join([*scopes, name])


# ---------------------------------------------------------------- variables


class KerasVariable(Variable):
    """A symgraph Variable with Keras' conveniences: ``numpy()``, ``assign``, ``path``,
    ``trainable``, and the regularizer it carries."""

    __slots__ = ("trainable", "path", "regularizer", "constraint")

    def __init__(
        self,
        value: Any,
        name: str,
        path: str,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
    ):
        super().__init__(value, name=name)
        self.trainable = trainable
        self.path = path
        self.regularizer = regularizer
        self.constraint = constraint

    def numpy(self) -> np.ndarray:
        return self.get_value()

    @property
    def value(self) -> np.ndarray:
        return self.get_value()

    def assign(self, value: Any) -> KerasVariable:
        self.set_value(np.asarray(value))
        return self

    def assign_add(self, value: Any) -> KerasVariable:
        self.set_value(self.get_value() + np.asarray(value))
        return self

    def assign_sub(self, value: Any) -> KerasVariable:
        self.set_value(self.get_value() - np.asarray(value))
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self.get_value()
        return value if dtype is None else value.astype(dtype)

    def __repr__(self) -> str:
        return f"<KerasVariable shape={self.shape}, dtype={self.dtype.name}, path={self.path}>"


# ---------------------------------------------------------------- call context


class _Context:
    def __init__(self, training: bool | None, collect: bool):
        self.training = training
        self.collect = collect
        self.updates: list[tuple[Variable, Tensor]] = []
        self.losses: list[Tensor] = []


_STATE = threading.local()


def _stack() -> list[_Context]:
    if not hasattr(_STATE, "stack"):
        _STATE.stack = []
    return _STATE.stack


@contextlib.contextmanager
def graph_scope(training: bool, collect: bool = True) -> Iterator[_Context]:
    """The scope a model builds one graph in: it fixes ``training`` for every layer call
    that does not pass its own, and collects their state updates and extra losses."""
    ctx = _Context(training, collect)
    _stack().append(ctx)
    try:
        yield ctx
    finally:
        _stack().pop()


def current_training() -> bool:
    for ctx in reversed(_stack()):
        if ctx.training is not None:
            return bool(ctx.training)
    return False


def add_update(variable: Variable, value: Tensor) -> None:
    """Record a state update (e.g. moving statistics) for the graph being built."""
    stack = _stack()
    if stack and stack[-1].collect:
        stack[-1].updates.append((variable, value))


def _add_graph_loss(loss: Tensor) -> None:
    stack = _stack()
    if stack and stack[-1].collect:
        stack[-1].losses.append(loss)


# ---------------------------------------------------------------- KerasTensor and Node


class KerasTensor:
    """A symbolic tensor of a functional model: shape (None for the batch), dtype, and the
    layer call that made it (``_keras_history``: layer, node index, tensor index)."""

    def __init__(self, tensor: Tensor, history: tuple | None = None, name: str | None = None):
        self.tensor = tensor
        self._keras_history = history
        self.name = name

    @property
    def shape(self) -> tuple:
        return static_shape(self.tensor)

    @property
    def dtype(self) -> str:
        return self.tensor.dtype.name

    @property
    def ndim(self) -> int:
        return self.tensor.ndim

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self) -> bool:
        raise TypeError("A symbolic KerasTensor has no truth value")

    # Arithmetic between KerasTensors becomes a node (as Keras 3's operations).
    def _op(self, fn: Callable[..., Tensor], *others: Any, name: str) -> KerasTensor:
        return _OperationLayer(fn, name=naming.unique_name(name))([self, *others])

    def __add__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a + b, other, name="add")

    def __radd__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b + a, other, name="add")

    def __sub__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a - b, other, name="subtract")

    def __rsub__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b - a, other, name="subtract")

    def __mul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a * b, other, name="multiply")

    def __rmul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b * a, other, name="multiply")

    def __truediv__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a / b, other, name="divide")

    def __rtruediv__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: b / a, other, name="divide")

    def __matmul__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a @ b, other, name="matmul")

    def __neg__(self) -> KerasTensor:
        return _OperationLayer(lambda a: -a, name=naming.unique_name("negative"))(self)

    def __pow__(self, other: Any) -> KerasTensor:
        return self._op(lambda a, b: a**b, other, name="power")

    def __getitem__(self, index: Any) -> KerasTensor:
        return _OperationLayer(lambda a: a[index], name=naming.unique_name("get_item"))(self)


class Node:
    """One call of a layer on KerasTensors: the arguments (with the KerasTensors in
    place), and the output KerasTensors."""

    def __init__(self, layer: Layer, call_args: tuple, call_kwargs: dict, outputs: Any):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in flatten([call_args, call_kwargs]) if isinstance(t, KerasTensor)]
        self.output_tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]

    @property
    def parent_nodes(self) -> list[Node]:
        parents = []
        for t in self.input_tensors:
            layer, node_index, _ = t._keras_history
            node = layer._inbound_nodes[node_index]
            if node not in parents:
                parents.append(node)
        return parents


# ---------------------------------------------------------------- InputSpec


class InputSpec:
    """What a layer accepts: rank (exact or minimum) and fixed sizes on some axes."""

    def __init__(
        self,
        ndim: int | None = None,
        min_ndim: int | None = None,
        max_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        shape: tuple | None = None,
        dtype: Any = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
    ):
        self.ndim = len(shape) if shape is not None else ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.shape = shape


def check_input_spec(layer: Layer, index: int, shape: tuple) -> None:
    """Keras' message for an input that does not fit, naming the layer and the shapes."""
    spec = layer.input_spec
    if spec is None:
        return
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    if index >= len(specs) or specs[index] is None:
        return
    spec = specs[index]
    head = f'Input {index} of layer "{layer.name}" is incompatible with the layer: '
    rank = len(shape)
    if spec.ndim is not None and rank != spec.ndim:
        raise ValueError(f"{head}expected ndim={spec.ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(f"{head}expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape received: {shape}")
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(f"{head}expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape received: {shape}")
    for axis, value in spec.axes.items():
        if value is None or not -rank <= axis < rank:
            continue
        got = shape[axis]
        if got is not None and got != value:
            raise ValueError(
                f"{head}expected axis {axis} of input shape to have value {value}, "
                f"but received input with shape {shape}"
            )
    if spec.shape is not None:
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                raise ValueError(f"{head}expected shape={spec.shape}, found shape={shape}")


# ---------------------------------------------------------------- Layer

_LAYER_BASE_KWARGS = {"trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size"}


def _warn_legacy(old: str, new: str) -> None:
    warnings.warn(
        f"`{old}` is a Keras 1/2 spelling; use `{new}` (accepted here, rejected by Keras 3)",
        DeprecationWarning,
        stacklevel=user_stacklevel(),
    )


# The Keras 1 keywords of a layer with a kernel and a bias (Dense, the convolutions).
_KERNEL_LAYER_LEGACY_KEYWORDS = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "bias": "use_bias",
}


def _pop_legacy_keywords(kwargs: dict, renames: dict[str, str], owner: str) -> dict[str, Any]:
    """Pops the Keras 1/2 keywords of ``renames`` (old name -> Keras 3 name) out of
    ``kwargs``, warning with the Keras 3 name for each; returns {Keras 3 name: value}."""
    found = {}
    for old, new in renames.items():
        if old in kwargs:
            # One frame deeper than a direct _warn_legacy call from the layer's __init__.
            _warn_legacy(f"{owner}({old}=...)", f"{new}=")
            found[new] = kwargs.pop(old)
    return found


class Layer:
    """Base class of every layer: weights (``add_weight``), ``build(input_shape)`` on the
    first call, ``call(inputs, ...)`` building graph, and ``get_config``."""

    def __init__(
        self,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        input_shape: tuple | None = None,
        input_dim: int | None = None,
        batch_input_shape: tuple | None = None,
        batch_size: int | None = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ):
        object.__setattr__(self, "_tracking", False)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = trainable
        self.dtype = np.dtype(dtype).name if dtype is not None and not isinstance(dtype, dict) else backend.floatx()
        self.built = False
        self._own_weights: list[KerasVariable] = []
        self._layers: list[Layer] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: Any = None
        self.input_spec: Any = None
        self.supports_masking = False
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._eager_losses: list[Tensor] = []
        if input_shape is not None or input_dim is not None:
            warnings.warn(
                "Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential models, "
                "prefer using an `Input(shape)` object as the first layer in the model instead.",
                UserWarning,
                stacklevel=3,
            )
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size, *tuple(input_shape))
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, int(input_dim))
        else:
            self._batch_input_shape = None
        signature = inspect.signature(self.call)
        self._call_has_training = "training" in signature.parameters
        self._call_has_mask = "mask" in signature.parameters
        object.__setattr__(self, "_tracking", True)

    # -- attribute tracking: sublayers assigned as attributes (or in lists) are owned.
    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_tracking", False) and not name.startswith("_"):
            candidates = value if isinstance(value, (list, tuple)) else [value]
            for item in candidates:
                if isinstance(item, Layer) and item is not self and item not in self._layers:
                    self._layers.append(item)
            if isinstance(value, KerasVariable) and all(value is not w for w in self._own_weights):
                self._own_weights.append(value)
        object.__setattr__(self, name, value)

    # -- weights
    def add_weight(
        self,
        shape: Any = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> KerasVariable:
        """A new weight (a KerasVariable) initialised by ``initializer`` (glorot_uniform
        for floats, zeros otherwise, as Keras). ``add_weight("name", shape)`` (the old
        positional order) is accepted too."""
        if isinstance(shape, str):  # tf.keras 2 order: add_weight(name, shape, ...)
            name, shape = (
                shape,
                initializer if not isinstance(initializer, (str, type(None))) else kwargs.pop("shape", None),
            )
            if isinstance(initializer, (list, tuple)):
                initializer = kwargs.pop("initializer", None)
        kwargs.pop("autocast", None)
        kwargs.pop("aggregation", None)
        kwargs.pop("use_resource", None)
        if kwargs:
            raise TypeError(f"add_weight: unexpected arguments {sorted(kwargs)}")
        shape = (
            () if shape is None else tuple(int(d) for d in (shape if isinstance(shape, (list, tuple)) else (shape,)))
        )
        dtype = np.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        init = initializers.get(initializer)
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        if value.shape != shape:
            value = np.broadcast_to(value, shape).copy()
        name = name or f"variable_{len(self._own_weights)}"
        var = KerasVariable(
            value,
            name=name,
            path=_variable_path(self.name, name),
            trainable=trainable,
            regularizer=regularizers.get(regularizer),
            constraint=constraint,
        )
        self._own_weights.append(var)
        return var

    add_variable = add_weight

    def _own_ordered(self) -> list[KerasVariable]:
        """Own weights in Keras' order: trainable ones first, then the others."""
        return [w for w in self._own_weights if w.trainable] + [w for w in self._own_weights if not w.trainable]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value
        self._on_trainable_change()

    def _on_trainable_change(self) -> None:
        """Models drop their compiled steps when a trainable flag changes."""
        for model in list(getattr(self, "_parent_models", [])):
            model._invalidate_steps()

    @property
    def weights(self) -> list[KerasVariable]:
        result: list[KerasVariable] = []
        seen: set[int] = set()
        for w in self._own_ordered():
            if id(w) not in seen:
                seen.add(id(w))
                result.append(w)
        for layer in self._layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    result.append(w)
        return result

    variables = weights

    @property
    def trainable_weights(self) -> list[KerasVariable]:
        if not self.trainable:
            return []
        result = [w for w in self._own_ordered() if w.trainable]
        for layer in self._layers:
            result += [w for w in layer.trainable_weights if all(w is not r for r in result)]
        return result

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[KerasVariable]:
        if not self.trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        return [w.get_value() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(params)} weights."
            )
        for var, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {var.shape} is not compatible with provided weight "
                    f"shape {value.shape}."
                )
            var.set_value(value)

    def count_params(self) -> int:
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    @property
    def losses(self) -> list[Tensor]:
        """The weight regularization penalties of this layer and its sublayers (graph)."""
        result = []
        for w in self.weights:
            reg = w.regularizer
            if reg is not None and (w.trainable or True):
                result.append(reg(w))
        return result

    def add_loss(self, loss: Any) -> None:
        """An extra loss term (graph built in ``call``), added to the training loss."""
        if isinstance(loss, Tensor):
            _add_graph_loss(loss)
        else:
            self._eager_losses.append(loss)

    # -- building and calling
    def build(self, input_shape: Any) -> None:
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        shapes = map_structure(lambda t: static_shape(t) if isinstance(t, Tensor) else None, inputs)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(self, _MultiInput):
            shapes = shapes[0]
        self._build_input_shape = _with_recorded_batch(shapes)
        self.build(shapes)
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if not args:
            raise ValueError(f"Layer {self.name} was called without inputs")
        leaves = flatten([args, kwargs])
        if any(isinstance(t, KerasTensor) for t in leaves):
            return self._functional_call(args, kwargs)
        if any(isinstance(t, Tensor) for t in leaves):
            return self._graph_call(args, kwargs)
        return self._eager_call(args, kwargs)

    def _graph_call(self, args: tuple, kwargs: dict) -> Any:
        """The call on symgraph tensors: build once, check the inputs, run ``call``."""
        with name_scope(self.name):
            return self._graph_call_in_scope(args, kwargs)

    def _graph_call_in_scope(self, args: tuple, kwargs: dict) -> Any:
        inputs = args[0]
        self._maybe_build(inputs)
        for index, t in enumerate(flatten(inputs)):
            if isinstance(t, Tensor):
                check_input_spec(self, index, static_shape(t))
        training = kwargs.pop("training", None)
        input_mask = kwargs.get("mask")
        if input_mask is None and not isinstance(inputs, (list, tuple)):
            input_mask = get_mask(inputs)
        if self._call_has_mask:
            if input_mask is not None:
                kwargs["mask"] = input_mask
        else:
            kwargs.pop("mask", None)
        if training is None:
            training = current_training()
        if self._call_has_training:
            kwargs["training"] = bool(training)
        stack = _stack()
        parent = stack[-1] if stack else None
        inner = _Context(bool(training), parent.collect if parent is not None else False)
        stack.append(inner)
        try:
            outputs = self.call(*args, **kwargs)
            if self.activity_regularizer is not None:
                for out in flatten(outputs):
                    if isinstance(out, Tensor) and out.ndim:
                        batch = sg.cast(dim_value(out.shape[0]), out.dtype)
                        _add_graph_loss(self.activity_regularizer(out) / batch)
        finally:
            stack.pop()
        if parent is not None:
            parent.updates.extend(inner.updates)
            parent.losses.extend(inner.losses)
        output_mask = self.compute_mask(inputs, input_mask)
        if output_mask is not None:
            for out in flatten(outputs):
                if isinstance(out, Tensor):
                    set_mask(out, output_mask)
        return outputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: the input's, passed on by layers that support masking."""
        return mask if self.supports_masking else None

    def _functional_call(self, args: tuple, kwargs: dict) -> Any:
        """The call on KerasTensors: infer the outputs on the tensors behind them, record
        a Node, return new KerasTensors."""
        as_graph = map_structure(lambda t: t.tensor if isinstance(t, KerasTensor) else t, [list(args), kwargs])
        graph_args, graph_kwargs = tuple(as_graph[0]), dict(as_graph[1])
        graph_kwargs.setdefault("training", None)
        if graph_kwargs["training"] is None:
            graph_kwargs.pop("training")
        with graph_scope(False, collect=False):
            outputs = self._graph_call(graph_args, dict(graph_kwargs))
        node_index = len(self._inbound_nodes)
        leaves = flatten(outputs)
        wrapped = [
            KerasTensor(t, (self, node_index, i), name=f"{self.name}") if isinstance(t, Tensor) else t
            for i, t in enumerate(leaves)
        ]
        packed = pack_like(outputs, wrapped)
        self._inbound_nodes.append(Node(self, args, kwargs, packed))
        return packed

    def _eager_call(self, args: tuple, kwargs: dict) -> Any:
        """A call on numpy data: the graph is built on constants and evaluated at once."""
        as_graph = map_structure(
            lambda v: sg.constant(np.asarray(v, dtype=_eager_dtype(v))) if _is_array_like(v) else v, list(args)
        )
        # Keras' eager tensors carry their mask (``_keras_mask``) from layer to layer.
        eager_mask = getattr(args[0], "_keras_mask", None) if args else None
        if eager_mask is not None and isinstance(as_graph[0], Tensor):
            set_mask(as_graph[0], sg.constant(np.asarray(eager_mask, dtype=bool)))
        with graph_scope(bool(kwargs.get("training") or False), collect=False):
            outputs = self._graph_call(tuple(as_graph), dict(kwargs))
        return evaluate_eagerly(outputs)

    # -- shapes and config
    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has never been called and thus has no defined input.")
        node = self._inbound_nodes[0]
        return node.call_args[0]

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has never been called and thus has no defined output.")
        return self._inbound_nodes[0].outputs

    @property
    def input_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self.output)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape(s) for ``input_shape`` (one shape tuple, or a list of them)."""

        def is_shape(s: Any) -> bool:
            return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)

        if is_shape(input_shape):
            placeholders: Any = sg.placeholder(tuple(input_shape), self.dtype)
        else:
            placeholders = [sg.placeholder(tuple(s), self.dtype) for s in input_shape]
        with graph_scope(False, collect=False):
            out = self._graph_call((placeholders,), {})
        return map_structure(static_shape, out)

    def get_config(self) -> dict:
        config: dict = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def get_build_config(self) -> dict | None:
        if self._build_input_shape is None:
            return None
        return {"input_shape": self._build_input_shape}

    # -- saving: own variables in Keras' order
    def save_own_variables(self, store: dict) -> None:
        for i, w in enumerate(self._own_ordered()):
            store[str(i)] = w.get_value()

    def load_own_variables(self, store: dict) -> None:
        own = self._own_ordered()
        if len(store) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expected {len(own)} variables, but received {len(store)} variables "
                "during loading."
            )
        for i, w in enumerate(own):
            w.set_value(np.asarray(store[str(i)]))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class _MultiInput:
    """Marker: the layer takes a list of tensors and builds from the list of shapes."""


class _OperationLayer(Layer):
    """A function of KerasTensors (``a + b``, ``x[:, 0]``) as a node of a functional model."""

    def __init__(self, fn: Callable[..., Tensor], name: str | None = None):
        super().__init__(name=name)
        self.fn = fn

    def call(self, inputs: Any) -> Tensor:
        items = inputs if isinstance(inputs, list) else [inputs]
        return self.fn(*items)


def _is_array_like(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, list, int, float)) and not isinstance(value, bool)


def _eager_dtype(value: Any) -> Any:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return backend.floatx()
    if array.dtype.kind in "iu":
        return array.dtype if array.dtype.itemsize >= 4 else "int32"
    return None


class EagerArray(np.ndarray):
    """A numpy array with the ``.numpy()`` of the eager tensors Keras returns, and their
    ``_keras_mask`` (None, or the boolean (batch, time) mask of Embedding(mask_zero=True))."""

    _keras_mask: np.ndarray | None = None

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


def evaluate_eagerly(outputs: Any) -> Any:
    """Values of graph ``outputs`` built on constants (numpy reference interpreter), each
    carrying the value of its mask when it has one."""
    leaves = flatten(outputs)
    tensors = [t for t in leaves if isinstance(t, Tensor)]
    if not tensors:
        return outputs
    masks = [get_mask(t) for t in tensors]
    mask_tensors = [m for m in masks if m is not None]
    fn = sg.function([], tensors + mask_tensors, mode="py")
    computed = list(fn())
    mask_values = iter(computed[len(tensors) :])
    values = iter(computed[: len(tensors)])
    masks_iter = iter(masks)
    result = []
    for t in leaves:
        if not isinstance(t, Tensor):
            result.append(t)
            continue
        array = np.asarray(next(values)).view(EagerArray)
        if next(masks_iter) is not None:
            array._keras_mask = np.asarray(next(mask_values), dtype=bool)
        result.append(array)
    return pack_like(outputs, result)


def shape_str(shape: Any) -> str:
    return shp.shape_str(shape)
