"""The Layer base class: weights (``add_weight``), ``build(input_shape)`` on the first
call, ``call(inputs, ...)`` building symgraph graph, and ``get_config``.

A layer called on symgraph Tensors builds graph; on ``KerasTensor``s it records a
``Node`` for a functional model; on numpy data it builds the graph on constants and
evaluates it at once (``evaluate_eagerly``). Every call runs inside a call context
(``call_context``) that gives it the ``training`` flag and collects its state updates
and extra losses.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import symgraph as sg
from symgraph.errors import UnsupportedError, user_stacklevel
from symgraph.graph.core import Tensor
from symgraph.graph.sources import dim_value
from symgraph.keras import backend, initializers, naming, regularizers
from symgraph.keras.layers.call_context import (
    add_graph_loss,
    current_training,
    graph_scope,
    layer_call_scope,
    name_scope,
    variable_path,
    with_recorded_batch,
)
from symgraph.keras.layers.input_spec import check_input_spec
from symgraph.keras.layers.keras_tensor import KerasTensor, Node, static_shape
from symgraph.keras.masking import get_mask, set_mask
from symgraph.keras.serialization import serialize_builtin
from symgraph.keras.tree import flatten, map_structure, pack_like
from symgraph.keras.variables import KerasVariable


def warn_legacy(old: str, new: str) -> None:
    warnings.warn(
        f"`{old}` is a Keras 1/2 spelling; use `{new}` (accepted here, rejected by Keras 3)",
        DeprecationWarning,
        stacklevel=user_stacklevel(),
    )


# The Keras 1 keywords of a layer with a kernel and a bias (Dense, the convolutions).
KERNEL_LAYER_LEGACY_KEYWORDS = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "bias": "use_bias",
}


def serialize_initializer(initializer: Any) -> Any:
    """An initializer as Keras' config writes it: a built-in as its serialized entry, a
    caller's function by name (a file that names it loads only with custom_objects)."""
    if initializer is None:
        return None
    if isinstance(initializer, initializers.Initializer):
        return {**initializers.serialize(initializer), "registered_name": None}
    return getattr(initializer, "__name__", type(initializer).__name__)


def serialize_regularizer(regularizer: Any) -> Any:
    """A regularizer as Keras' config writes it: None, a built-in (L1, L2, L1L2) as
    ``{"module": "keras.regularizers", "class_name", "config", "registered_name"}``, a
    caller's function by name."""
    if regularizer is None:
        return None
    if isinstance(regularizer, regularizers.Regularizer):
        return serialize_builtin("keras.regularizers", regularizer)
    return getattr(regularizer, "__name__", type(regularizer).__name__)


def serialize_constraint(constraint: Any) -> Any:
    """A weight constraint as it was given (None, Keras' name or entry), or an object
    with ``get_config`` as Keras' entry. symgraph accepts constraints and writes them
    back so a file round-trips, but does not apply them (no projection after the
    optimizer step)."""
    if constraint is None or isinstance(constraint, (str, dict)):
        return constraint
    if hasattr(constraint, "get_config"):
        return serialize_builtin("keras.constraints", constraint)
    return getattr(constraint, "__name__", type(constraint).__name__)


def refuse_unsupported(owner: str, argument: str, value: Any, default: Any, why: str) -> None:
    """Raises UnsupportedError for a Keras argument symgraph does not implement when it
    is given anything but Keras' default (the default is accepted and written back to
    the config, so files Keras writes load)."""
    if value != default:
        raise UnsupportedError(f"{owner}({argument}={value!r}) is not supported: {why}; leave it at {default!r}")


def pop_legacy_keywords(kwargs: dict, renames: dict[str, str], owner: str) -> dict[str, Any]:
    """Pops the Keras 1/2 keywords of ``renames`` (old name -> Keras 3 name) out of
    ``kwargs``, warning with the Keras 3 name for each; returns {Keras 3 name: value}."""
    found = {}
    for old, new in renames.items():
        if old in kwargs:
            # One frame deeper than a direct warn_legacy call from the layer's __init__.
            warn_legacy(f"{owner}({old}=...)", f"{new}=")
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
        default = signature.parameters["training"].default if self._call_has_training else None
        # Keras' third source for ``training``: a non-None default of ``call``'s own
        # (True for the augmentation layers, False for Dropout and the RNNs).
        self._call_training_default = None if default is inspect.Parameter.empty else default
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
            path=variable_path(self.name, name),
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
            add_graph_loss(loss)
        else:
            self._eager_losses.append(loss)

    # -- building and calling
    def build(self, input_shape: Any) -> None:
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        shapes = map_structure(lambda t: static_shape(t) if isinstance(t, Tensor) else None, inputs)
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and not isinstance(self, MultiInput):
            shapes = shapes[0]
        self._build_input_shape = with_recorded_batch(shapes)
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
        training = self._resolve_training(kwargs.pop("training", None))
        input_mask = kwargs.get("mask")
        if input_mask is None and not isinstance(inputs, (list, tuple)):
            input_mask = get_mask(inputs)
        if self._call_has_mask:
            if input_mask is not None:
                kwargs["mask"] = input_mask
        else:
            kwargs.pop("mask", None)
        if self._call_has_training and training is not None:
            kwargs["training"] = bool(training)
        with layer_call_scope(training):
            outputs = self.call(*args, **kwargs)
            if self.activity_regularizer is not None:
                for out in flatten(outputs):
                    if isinstance(out, Tensor) and out.ndim:
                        batch = sg.cast(dim_value(out.shape[0]), out.dtype)
                        add_graph_loss(self.activity_regularizer(out) / batch)
        output_mask = self.compute_mask(inputs, input_mask)
        if output_mask is not None:
            for out in flatten(outputs):
                if isinstance(out, Tensor):
                    set_mask(out, output_mask)
        return outputs

    def _resolve_training(self, explicit: Any) -> bool | None:
        """Keras' order for ``training``: the argument passed to this call, else the one
        an enclosing call resolved (a model's fit/predict step, an outer layer), else a
        non-None default of this layer's ``call``; None where none decides (``call``
        then runs with its own default, which a None default reads as inference). So an
        augmentation layer called directly augments (its ``call`` says training=True)
        and is the identity inside predict, which passes training=False."""
        if explicit is not None:
            return bool(explicit)
        inherited = current_training()
        if inherited is not None:
            return inherited
        return self._call_training_default

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
        """A call on data (numpy arrays, eager tensors): the layer's ops run now and it
        returns eager tensors, which a recording GradientTape can differentiate. Python
        floats and float64 arrays come in as floatx, as Keras converts them; an input's
        mask (Keras' ``_keras_mask``) goes with it."""
        inputs = map_structure(lambda v: _eager_input(v) if _is_array_like(v) else v, list(args))
        with graph_scope(None, collect=False), sg.eager():
            return self._graph_call(tuple(inputs), dict(kwargs))

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
        if self.activity_regularizer is not None:  # Keras' base writes it only when set
            config["activity_regularizer"] = serialize_regularizer(self.activity_regularizer)
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


class MultiInput:
    """Marker: the layer takes a list of tensors and builds from the list of shapes."""


class OperationLayer(Layer):
    """A function of KerasTensors (``a + b``, ``x[:, 0]``) as a node of a functional model."""

    def __init__(self, fn: Callable[..., Tensor], name: str | None = None):
        super().__init__(name=name)
        self.fn = fn

    def call(self, inputs: Any) -> Tensor:
        items = inputs if isinstance(inputs, list) else [inputs]
        return self.fn(*items)


def _is_array_like(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, list, int, float, sg.EagerTensor)) and not isinstance(value, bool)


# Unsigned integers symgraph has no dtype for, widened to the smallest signed dtype
# that holds every value (16-bit PNG images come as uint16).
_WIDENED_UNSIGNED = {np.dtype("uint16"): np.dtype("int32"), np.dtype("uint32"): np.dtype("int64")}


def _eager_dtype(value: Any) -> Any:
    """Keras' dtype for data handed to a layer: floats become floatx; an integer array
    keeps its dtype (uint8 images stay uint8: the layers that compute in floats, Dense,
    the convolutions, Rescaling, cast it themselves); Python ints become int32, as
    Keras' convert_to_tensor makes them."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return backend.floatx()
    if array.dtype.kind in "iu":
        if not isinstance(value, (np.ndarray, np.generic, sg.EagerTensor)):
            return "int32"
        return _WIDENED_UNSIGNED.get(array.dtype, array.dtype)
    return None


def _eager_input(value: Any) -> Any:
    """Data as an eager tensor of Keras' dtype for it, keeping an eager tensor as it is."""
    if type(value) is sg.EagerTensor:
        return value
    tensor = sg.eager_tensor(np.asarray(value), _eager_dtype(value))
    mask = getattr(value, "_keras_mask", None)
    if mask is not None:
        set_mask(tensor, sg.eager_tensor(np.asarray(mask, dtype=bool)))
    return tensor
