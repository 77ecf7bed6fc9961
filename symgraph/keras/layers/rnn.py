"""Recurrent layers: SimpleRNN, LSTM, GRU (and their cells, and ``RNN(cell)``).

Weights live in the cell (``layers/lstm/cell/vars`` in a weights file), as in Keras 3:
SimpleRNN kernel (in, u), recurrent (u, u), bias (u,); LSTM kernel (in, 4u), recurrent
(u, 4u), bias (4u,), gates i, f, c, o; GRU kernel (in, 3u), recurrent (u, 3u), bias
(2, 3u) with reset_after (input row, recurrent row) or (3u,) without, gates z, r, h.

The default activations run through sg.nn.simple_rnn / lstm / gru (one compiled loop);
other activations and recurrent dropout run the cell's step through ``sg.scan``. Input
dropout uses one mask per sample shared across time steps (Keras' rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import symgraph as sg
from symgraph.graph.core import Tensor
from symgraph.keras import activations, initializers, regularizers
from symgraph.keras.layers.call_context import add_update
from symgraph.keras.layers.input_spec import InputSpec
from symgraph.keras.layers.keras_tensor import static_shape
from symgraph.keras.layers.layer import (
    Layer,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
    warn_legacy,
)


class _Cell(Layer):
    gates = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        for legacy in ("implementation",):
            kwargs.pop(legacy, None)
        super().__init__(**kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(
                f"Received an invalid value for argument `units`, expected a positive integer, got {units}."
            )
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.seed = seed
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))

    @property
    def state_size(self) -> list[int]:
        return [self.units]

    def _bias_value(self, shape: tuple, dtype: Any = None) -> np.ndarray:
        return self.bias_initializer(shape, dtype)

    def build(self, input_shape: tuple) -> None:
        features = input_shape[-1]
        g = self.gates
        self.kernel = self.add_weight(
            shape=(features, g * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, g * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = (
            self.add_weight(
                shape=self._bias_shape(), name="bias", initializer=self._bias_value, regularizer=self.bias_regularizer
            )
            if self.use_bias
            else None
        )
        self.built = True

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def call(self, sequence: Tensor, states: Any, training: bool = False) -> tuple[Tensor, Any]:
        """One step called directly, as custom recurrent code calls a Keras cell:
        ``cell(x_t, states) -> (output, new_states)``. The states come back as a list
        when they went in as one (Keras' rule; LSTM's two states always do); RNN runs
        ``step`` itself and never comes through here."""
        nested = isinstance(states, (list, tuple))
        prev = list(states) if nested else [states]
        x = sequence if sequence.dtype.kind == "f" else sg.cast(sequence, self.dtype)
        if training and self.dropout > 0:
            x = sg.nn.dropout(x, self.dropout)
        rec_mask = None
        if training and self.recurrent_dropout > 0:
            rec_mask = sg.nn.dropout(sg.ones_like(prev[0]), self.recurrent_dropout)
        output, new_states = self.step(self.project(x), prev, rec_mask)
        return output, (new_states if nested or len(new_states) > 1 else new_states[0])

    def default_activations(self) -> bool:
        return self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "kernel_regularizer": serialize_regularizer(self.kernel_regularizer),
            "recurrent_regularizer": serialize_regularizer(self.recurrent_regularizer),
            "bias_regularizer": serialize_regularizer(self.bias_regularizer),
            "kernel_constraint": serialize_constraint(self.kernel_constraint),
            "recurrent_constraint": serialize_constraint(self.recurrent_constraint),
            "bias_constraint": serialize_constraint(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNCell(_Cell):
    """h = activation(x W + b + h_prev U)."""

    gates = 1

    def default_activations(self) -> bool:
        return True  # sg.nn.simple_rnn takes the activation itself

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("recurrent_activation", None)  # SimpleRNN has none (Keras rejects the key)
        return config

    def step(self, xw: Tensor, states: list[Tensor], rec_mask: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h = states[0] if rec_mask is None else states[0] * rec_mask
        out = self.activation(xw + sg.matmul(h, self.recurrent_kernel))
        return out, [out]

    def project(self, x: Tensor) -> Tensor:
        return _project(x, self.kernel, self.bias)


class LSTMCell(_Cell):
    """c = f c_prev + i act(z_c), h = o act(c); i, f, o = recurrent_act(z); z = x W + b + h U."""

    gates = 4

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _bias_value(self, shape: tuple, dtype: Any = None) -> np.ndarray:
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype)
        u = self.units
        return np.concatenate(
            [
                self.bias_initializer((u,), dtype),
                np.ones((u,), dtype or "float32"),
                self.bias_initializer((2 * u,), dtype),
            ]
        ).astype(dtype or "float32")

    def project(self, x: Tensor) -> Tensor:
        return _project(x, self.kernel, self.bias)

    def step(self, xw: Tensor, states: list[Tensor], rec_mask: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h, c = states
        if rec_mask is not None:
            h = h * rec_mask
        u = self.units
        z = xw + sg.matmul(h, self.recurrent_kernel)
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u : 2 * u])
        g = self.activation(z[:, 2 * u : 3 * u])
        o = self.recurrent_activation(z[:, 3 * u :])
        c_new = f * c + i * g
        h_new = o * self.activation(c_new)
        return h_new, [h_new, c_new]

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """z, r = recurrent_act(.); hh = act(x W_h + b_h + r * (h U_h + b_rh)) (reset_after)
    or act(x W_h + b_h + (r * h) U_h); h = z h_prev + (1 - z) hh."""

    gates = 3

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def project(self, x: Tensor) -> Tensor:
        if self.bias is None:
            return _project(x, self.kernel, None)
        input_bias = self.bias[0] if self.reset_after else self.bias
        return _project(x, self.kernel, input_bias)

    def step(self, xw: Tensor, states: list[Tensor], rec_mask: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        h_prev = states[0]
        h = h_prev if rec_mask is None else h_prev * rec_mask
        u = self.units
        if self.reset_after:
            inner = sg.matmul(h, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            z = self.recurrent_activation(xw[:, :u] + inner[:, :u])
            r = self.recurrent_activation(xw[:, u : 2 * u] + inner[:, u : 2 * u])
            hh = self.activation(xw[:, 2 * u :] + r * inner[:, 2 * u :])
        else:
            inner = sg.matmul(h, self.recurrent_kernel[:, : 2 * u])
            z = self.recurrent_activation(xw[:, :u] + inner[:, :u])
            r = self.recurrent_activation(xw[:, u : 2 * u] + inner[:, u:])
            hh = self.activation(xw[:, 2 * u :] + sg.matmul(r * h, self.recurrent_kernel[:, 2 * u :]))
        h_new = z * h_prev + (1.0 - z) * hh
        return h_new, [h_new]

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}


def _project(x: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
    y = sg.tensordot(x, kernel, axes=1)
    return y + bias if bias is not None else y


class RNN(Layer):
    """Runs a cell over the time axis of (batch, time, features) inputs."""

    def __init__(
        self,
        cell: _Cell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(cell, dict):  # the serialized cell a config holds (Keras writes RNN(cell) so)
            # Cycle: model_config.py imports the layers package (which imports this module).
            from symgraph.keras.model_config import layer_from_config

            cell = layer_from_config(cell)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        # With a mask: a masked step's output is zeros (True) or the previous step's
        # output (False); the states carry over either way.
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_spec = InputSpec(min_ndim=3)
        self._state_vars: list[sg.Variable] | None = None

    @property
    def units(self) -> int:
        return self.cell.units

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keras passes the time mask on only with return_sequences (the sequence output);
        the final states carry none."""
        if mask is None or not self.return_sequences or self.return_state:
            return None
        return mask

    def build(self, input_shape: Any) -> None:
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self.cell._maybe_build_from_shape((input_shape[0], *input_shape[2:]))
        if self.stateful:
            batch = input_shape[0]
            if batch is None:
                raise ValueError(
                    f"Layer {self.name}: if a RNN is stateful, it needs to know its batch size. Specify the batch "
                    "size of your input tensors: keras.Input(batch_shape=(batch, time, features))"
                )
            self._state_vars = [
                sg.Variable(np.zeros((batch, size), np.float32), name=f"{self.name}_state{i}")
                for i, size in enumerate(self.cell.state_size)
            ]
        self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})
        self.built = True

    def reset_state(self) -> None:
        for var in self._state_vars or []:
            var.set_value(np.zeros(var.shape, np.float32))

    reset_states = reset_state

    @property
    def states(self) -> list[Any]:
        return [v.get_value() for v in self._state_vars or []]

    def call(self, inputs: Tensor, initial_state: Any = None, training: bool = False, mask: Any = None) -> Any:
        x = inputs if inputs.dtype.kind == "f" else sg.cast(inputs, "float32")
        cell = self.cell
        if cell.dropout > 0 and training:
            x = sg.nn.dropout(x, cell.dropout, noise_shape=(x.shape[0], 1, x.shape[2]))
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        elif self._state_vars is not None:
            states = list(self._state_vars)
        else:
            states = None
        use_fast = cell.default_activations() and not (cell.recurrent_dropout > 0 and training) and mask is None
        fast = getattr(sg.nn, {SimpleRNNCell: "simple_rnn", LSTMCell: "lstm", GRUCell: "gru"}.get(type(cell), ""), None)
        if use_fast and fast is not None:
            output, final_states = self._fast(x, states)
        else:
            output, final_states = self._scan(x, states, training, mask)
        if self._state_vars is not None:
            for var, value in zip(self._state_vars, final_states):
                add_update(var, value)
        if self.return_state:
            return [output, *final_states]
        return output

    def _fast(self, x: Tensor, states: list[Tensor] | None) -> tuple[Tensor, list[Tensor]]:
        cell = self.cell
        h0 = states[0] if states else None
        # Every sg.nn recurrence takes these first and these keywords; each adds its own.
        inputs = (x, cell.kernel, cell.recurrent_kernel, cell.bias, h0)
        direction = {"go_backwards": self.go_backwards, "return_sequences": self.return_sequences}
        if isinstance(cell, LSTMCell):
            c0 = states[1] if states else None
            out, h, c = sg.nn.lstm(*inputs, c0, **direction)
            return out, [h, c]
        if isinstance(cell, GRUCell):
            out, h = sg.nn.gru(*inputs, reset_after=cell.reset_after, **direction)
            return out, [h]
        out, h = sg.nn.simple_rnn(*inputs, activation=cell.activation, **direction)
        return out, [h]

    def _scan(
        self, x: Tensor, states: list[Tensor] | None, training: bool, mask: Tensor | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """The recurrence through sg.scan; a (batch, time) ``mask`` (Embedding(mask_zero=True))
        keeps the previous state at masked steps, and the previous output there too, or
        zeros with ``zero_output_for_mask``, as Keras does."""
        cell = self.cell
        batch = x.shape[0]
        if states is None:
            zeros = sg.zeros((batch, cell.units), "float32")
            states = [zeros for _ in cell.state_size]
        rec_mask = None
        if cell.recurrent_dropout > 0 and training:
            rec_mask = sg.nn.dropout(sg.ones((batch, cell.units), "float32"), cell.recurrent_dropout)
        projected = sg.transpose(cell.project(x), (1, 0, 2))  # time-major
        n_states = len(states)
        sequences = [projected]
        if mask is not None:
            keep = sg.expand_dims(sg.transpose(sg.cast(mask, "bool"), (1, 0)), 2)  # (time, batch, 1)
            sequences.append(keep)

        def step(xw: Tensor, *args: Tensor) -> list[Tensor]:
            keep_t = None
            if mask is not None:
                keep_t, args = args[0], args[1:]
            prev = list(args[:n_states])
            dropout_mask = args[n_states] if rec_mask is not None else None
            _, new_states = cell.step(xw, prev, dropout_mask)
            if keep_t is not None:
                new_states = [sg.where(keep_t, new, old) for new, old in zip(new_states, prev)]
            return new_states

        non_sequences = [rec_mask] if rec_mask is not None else None
        outs, _ = sg.scan(
            step, sequences=sequences, outputs_info=states, non_sequences=non_sequences, go_backwards=self.go_backwards
        )
        outs = outs if isinstance(outs, list) else [outs]
        seq_h = outs[0]  # (time, batch, units), in the order the steps ran
        last = [o[-1] for o in outs]
        if mask is not None and self.zero_output_for_mask:
            ran = sg.flip(keep, axis=0) if self.go_backwards else keep
            seq_h = sg.where(ran, seq_h, sg.zeros_like(seq_h))
            # Keras' output without return_sequences is the last step's output, so a row
            # whose last step ran masked gives zeros (the states still hold its values)
            if not self.return_sequences:
                return seq_h[-1], last
        if self.return_sequences:
            return sg.transpose(seq_h, (1, 0, 2)), last
        return last[0], last

    def get_config(self) -> dict:
        """Keras' layout: ``RNN(cell)`` writes the cell's own entry under "cell"; the
        SimpleRNN, LSTM and GRU layers write the cell's arguments beside their own."""
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        if type(self) in _FLAT_CONFIG_LAYERS:
            cell_config = self.cell.get_config()
            config.update({k: v for k, v in cell_config.items() if k not in ("name", "trainable", "dtype")})
            config["activity_regularizer"] = serialize_regularizer(self.activity_regularizer)
        else:
            # Cycle: model_config.py imports the layers package (which imports this module).
            from symgraph.keras.model_config import layer_to_config

            config["cell"] = layer_to_config(self.cell)
        return config


def _cell_build(self: _Cell, shape: tuple) -> None:
    if not self.built:
        self._build_input_shape = shape
        self.build(shape)
        self.built = True


_Cell._maybe_build_from_shape = _cell_build  # type: ignore[attr-defined]

_RNN_KEYS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "name",
    "trainable",
    "dtype",
    "input_shape",
    "input_dim",
    "batch_input_shape",
    "batch_size",
    "activity_regularizer",
    "zero_output_for_mask",
)


def _split(kwargs: dict) -> tuple[dict, dict]:
    layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_KEYS}
    if "input_length" in kwargs:
        kwargs.pop("input_length")
    return layer_kwargs, kwargs


def _legacy_units(layer_name: str, units: int | None, kwargs: dict) -> int:
    """Keras 1's ``output_dim=`` (with a warning naming ``units=``)."""
    if "output_dim" in kwargs:
        warn_legacy(f"{layer_name}(output_dim=...)", f"{layer_name}(units=...)")
        units = kwargs.pop("output_dim")
    if units is None:
        raise TypeError(f"{layer_name}.__init__() missing 1 required positional argument: 'units'")
    return units


class SimpleRNN(RNN):
    def __init__(self, units: int | None = None, **kwargs: Any):
        units = _legacy_units("SimpleRNN", units, kwargs)
        layer_kwargs, cell_kwargs = _split(kwargs)
        super().__init__(SimpleRNNCell(units, name="simple_rnn_cell", **cell_kwargs), **layer_kwargs)


class LSTM(RNN):
    def __init__(self, units: int | None = None, **kwargs: Any):
        units = _legacy_units("LSTM", units, kwargs)
        layer_kwargs, cell_kwargs = _split(kwargs)
        super().__init__(LSTMCell(units, name="lstm_cell", **cell_kwargs), **layer_kwargs)


class GRU(RNN):
    def __init__(self, units: int | None = None, **kwargs: Any):
        units = _legacy_units("GRU", units, kwargs)
        layer_kwargs, cell_kwargs = _split(kwargs)
        super().__init__(GRUCell(units, name="gru_cell", **cell_kwargs), **layer_kwargs)


# The layers whose config holds their cell's arguments (Keras' own subclasses of RNN).
_FLAT_CONFIG_LAYERS = (SimpleRNN, LSTM, GRU)


def _output_shape_of(t: Tensor) -> tuple:
    return static_shape(t)
