"""compile / fit / evaluate / predict and the *_on_batch calls, over compiled steps.

Each step is ONE symgraph function, built the first time it is needed and cached under
the data's signature (per-input trailing shapes and dtypes):

- train step: inputs x..., y..., sample_weight...; forward with training=True, the
  weighted losses plus regularization penalties and ``add_loss`` terms, ``sg.grad``,
  the optimizer's updates, the batch-norm moving statistics, and the accumulators of the
  loss tracker (a batch-size-weighted mean, as Keras 3's) and of every metric. It returns
  the loss and metric results computed from the accumulators' new values (updates apply
  after the call, Theano's rule, so the results are built from the new-value graphs).
- test step: the same without gradients, optimizer or batch-norm updates.
- predict step: forward with training=False.

``compile`` and a change of a layer's ``trainable`` drop the cached steps; changing the
learning rate does not (it lives in a Variable). The batches come from
``data_adapters``; the losses and metrics are the ones ``losses.resolve`` and
``metrics.resolve`` pick for each output's shapes. Data one rank short of a declared
input that ends in 1 (or one over, ending in 1) is adjusted first, as Keras 3's
``Functional`` does (``adjust_input_rank``): ``fit(x, y)`` with a 1-D ``x`` for an
``Input((1,))`` trains.

Under ``keras.distribution.DataParallel`` (an MPI job) every batch is the global batch:
each process runs its shard through a train / test step with one allreduce node
(``_build_data_parallel_step``), predictions are gathered, rank 0's weights are broadcast
when fit / evaluate / predict start, the shuffling order is rank 0's and the dropout key
differs per rank (symgraph/keras/distribution.py says what each process sees).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import symgraph as sg
import symgraph.distributed as dist
from symgraph.errors import UnsupportedError
from symgraph.graph.core import Tensor
from symgraph.graph.sources import Variable, dim_value
from symgraph.graph.traversal import replace
from symgraph.keras import distribution as distribution_module
from symgraph.keras import losses as losses_module
from symgraph.keras import metrics as metrics_module
from symgraph.keras import optimizers as optimizers_module
from symgraph.keras.callbacks import CallbackList, History
from symgraph.keras.data_adapters import (
    class_weight_to_sample_weights,
    data_cardinality_error,
    get_data_adapter,
    is_array_like,
    to_numpy,
    train_validation_split,
)
from symgraph.keras.layers.call_context import graph_scope, recording_batch
from symgraph.keras.layers.keras_tensor import KerasTensor, static_shape
from symgraph.keras.layers.layer import Layer
from symgraph.keras.tree import flatten, map_structure, pack_like
from symgraph.keras.variables import KerasVariable
from symgraph.ops import random as random_ops

NOT_COMPILED = "You must call `compile()` before using the model."


# ---------------------------------------------------------------- compile's structures


def _metrics_per_output(spec: Any, names: list[str], n: int) -> list[list]:
    """compile's `metrics` (or `weighted_metrics`) as one list of identifiers per output:
    a dict by output name, a list of lists (one per output), or one list for every output."""
    if isinstance(spec, dict):
        per_output = [spec.get(name) or [] for name in names[:n]]
    elif (
        isinstance(spec, (list, tuple))
        and n > 1
        and spec
        and all(isinstance(m, (list, tuple)) or m is None for m in spec)
    ):
        per_output = [list(m or []) for m in spec]
    else:
        per_output = [list(spec or [])] * n
    per_output = [list(idents) if isinstance(idents, (list, tuple)) else [idents] for idents in per_output]
    return [[ident for ident in idents if ident is not None] for idents in per_output]  # Keras skips None


# ---------------------------------------------------------------- the Trainer mixin


class Trainer:
    def __init__(self) -> None:
        object.__setattr__(self, "_steps", {})
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        # The epoch a callback's on_train_begin asks fit to start from (BackupAndRestore).
        self._initial_epoch: int | None = None
        self._compile_metrics_spec: Any = None
        self._compiled_losses: list | None = None
        self._compiled_metrics: list | None = None
        self._loss_weights: Any = None
        self._loss_total = Variable(np.float32(0.0), name="loss_total")
        self._loss_count = Variable(np.float32(0.0), name="loss_count")
        # Under DataParallel: broadcast rank 0's weights before the next step (set when
        # fit / evaluate / predict start, and for the first *_on_batch call).
        self._dp_sync_pending = True

    # -- compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
        **kwargs: Any,
    ) -> None:
        for legacy in ("sample_weight_mode", "target_tensors", "distribute"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {tuple(kwargs)}")
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(
                "Expected `metrics` argument to be a list, tuple, or dict. "
                f"Received instead: metrics={metrics} of type {type(metrics)}"
            )
        self.optimizer = optimizers_module.get(optimizer)
        for identifier in flatten(loss) if isinstance(loss, (list, tuple, dict)) else [loss]:
            losses_module.check_identifier(identifier)
        self.loss = loss
        self._loss_weights = loss_weights
        self._compile_metrics_spec = metrics
        self._weighted_metrics_spec = weighted_metrics
        self._compiled_losses = None
        self._compiled_metrics = None
        object.__setattr__(self, "_output_loss_trackers", [])
        self.compiled = True
        self._invalidate_steps()

    def _invalidate_steps(self) -> None:
        steps = getattr(self, "_steps", None)
        if steps is not None:
            steps.clear()

    # -- metrics
    @property
    def metrics(self) -> list:
        result = []
        for per_output in self._compiled_metrics or []:
            result += [m for _, m in per_output]
        return result

    @property
    def metrics_names(self) -> list[str]:
        per_output_losses = [name for name, _, _ in getattr(self, "_output_loss_trackers", [])]
        return [
            "loss",
            *per_output_losses,
            *[name for per_output in self._compiled_metrics or [] for name, _ in per_output],
        ]

    def reset_metrics(self) -> None:
        self._loss_total.set_value(np.float32(0.0))
        self._loss_count.set_value(np.float32(0.0))
        for _, total, count in getattr(self, "_output_loss_trackers", []):
            total.set_value(np.float32(0.0))
            count.set_value(np.float32(0.0))
        for m in self.metrics:
            m.reset_state()

    # -- structure helpers
    def _output_names(self) -> list[str]:
        return list(getattr(self, "output_names", None) or ["output"])

    def _ensure_built_for(self, x: Any) -> None:
        """Sequential models without an input shape (and subclassed models) are built
        from the first data they see."""
        if getattr(self, "_functional", "absent") is None and hasattr(self, "_build_from_data_shape"):
            first = np.asarray(flatten(x)[0])
            self._build_from_data_shape(first.shape, _input_dtype(first))

    def _graph_inputs(self, x_flat: list[np.ndarray], batch: Any) -> list[Tensor]:
        """Placeholders for a batch of x (the model's declared shapes and dtypes when known)."""
        declared = getattr(self, "inputs", None) or []
        placeholders = []
        for i, array in enumerate(x_flat):
            if i < len(declared) and hasattr(declared[i], "shape"):
                kt = declared[i]
                shape = (batch, *kt.shape[1:])
                shape = tuple(batch if j == 0 else (d if d is not None else None) for j, d in enumerate(shape))
                dtype = kt.dtype
            else:
                shape = (batch, *array.shape[1:])
                dtype = _input_dtype(array)
            placeholders.append(sg.placeholder(shape, dtype, name=f"x{i}"))
        return placeholders

    def _cast_inputs(self, x_flat: list[np.ndarray]) -> list[np.ndarray]:
        declared = getattr(self, "inputs", None) or []
        out = []
        for i, array in enumerate(x_flat):
            array = np.asarray(array)
            dtype = declared[i].dtype if i < len(declared) and hasattr(declared[i], "dtype") else _input_dtype(array)
            out.append(np.ascontiguousarray(array, dtype=dtype))
        return out

    def _check_input_shapes(self, x_flat: list[np.ndarray]) -> None:
        """A wrong feature size names the first layer that reads the input (Keras' message)."""
        declared = getattr(self, "inputs", None) or []
        for i, (kt, array) in enumerate(zip(declared, x_flat)):
            want = kt.shape
            got = (None, *np.shape(array)[1:])
            bad = len(want) != len(got) or any(w is not None and w != g for w, g in zip(want[1:], got[1:]))
            if not bad:
                continue
            consumer = self._first_consumer(kt)
            if consumer is not None and len(want) == len(got):
                for axis in range(len(want) - 1, 0, -1):
                    if want[axis] is not None and want[axis] != got[axis]:
                        raise ValueError(
                            f'Input {0} of layer "{consumer.name}" is incompatible with the layer: expected axis '
                            f"{axis - len(want)} of input shape to have value {want[axis]}, but received input with "
                            f"shape {tuple(np.shape(array))}"
                        )
            where = f'layer "{consumer.name}"' if consumer is not None else f'model "{self.name}"'
            raise ValueError(
                f"Input {i} of {where} is incompatible with the layer: expected shape={want}, "
                f"found shape={tuple(np.shape(array))}"
            )

    def _first_consumer(self, kt: Any) -> Any:
        for node in getattr(getattr(self, "_functional", None) or self, "_nodes", []):
            if any(t is kt for t in node.input_tensors):
                return node.layer
        return None

    def _forward(self, x_graph: list[Tensor], x_structure: Any, training: bool) -> tuple[list[Tensor], Any]:
        inputs = pack_like(x_structure, x_graph)
        if isinstance(inputs, list) and len(inputs) == 1 and not isinstance(x_structure, list):
            inputs = inputs[0]
        with graph_scope(training) as ctx:
            out = self(inputs, training=training)
        return flatten(out), ctx

    # -- losses and metrics as graph
    def _ensure_compiled_losses(self, y_shapes: list[tuple], out_shapes: list[tuple]) -> None:
        if self._compiled_losses is not None:
            return
        names = self._output_names()
        n = len(out_shapes)
        spec = self.loss
        if isinstance(spec, dict):
            per_output = [spec.get(name) for name in names[:n]]
        elif isinstance(spec, (list, tuple)):
            if len(spec) != n:
                raise ValueError(f"`loss` has {len(spec)} entries but the model has {n} outputs")
            per_output = list(spec)
        else:
            per_output = [spec] * n
        weights = self._loss_weights
        if isinstance(weights, dict):
            weights = [weights.get(name, 1.0) for name in names[:n]]
        elif weights is None:
            weights = [1.0] * n
        self._compiled_losses = [
            (losses_module.resolve(ident, output_shape=ps, target_shape=ys), float(w))
            for ident, w, ys, ps in zip(per_output, weights, y_shapes, out_shapes)
        ]
        # With several outputs Keras also logs each output's (unweighted) loss.
        trackers = []
        if n > 1:
            for name, (loss_fn, _) in zip(names, self._compiled_losses):
                if loss_fn is not None:
                    trackers.append((f"{name}_loss", Variable(np.float32(0.0)), Variable(np.float32(0.0))))
        object.__setattr__(self, "_output_loss_trackers", trackers)
        # Keras feeds sample weights (and class weights) to `weighted_metrics` only;
        # `metrics` are unweighted. A weighted metric whose name is taken is logged as
        # weighted_<name> (keras.src.trainers.compile_utils.CompileMetrics.result).
        per_output_plain = _metrics_per_output(self._compile_metrics_spec, names, n)
        per_output_weighted = _metrics_per_output(self._weighted_metrics_spec, names, n)
        compiled: list[list] = [[] for _ in range(n)]
        weighted_ids: set[int] = set()
        taken: set[str] = set()
        for weighted, per_output in ((False, per_output_plain), (True, per_output_weighted)):
            for k, (idents, ys, ps, (loss_fn, _)) in enumerate(
                zip(per_output, y_shapes, out_shapes, self._compiled_losses)
            ):
                for ident in idents:
                    metric = metrics_module.resolve(ident, loss=loss_fn, output_shape=ps, target_shape=ys)
                    prefix = "" if n == 1 else f"{names[k]}_"
                    label = prefix + metric.name
                    if label in taken:
                        label = prefix + ("weighted_" if weighted else "") + metric.name
                        base, index = label, 1
                        while label in taken:
                            label, index = f"{base}_{index}", index + 1
                    taken.add(label)
                    compiled[k].append((label, metric))
                    if weighted:
                        weighted_ids.add(id(metric))
        object.__setattr__(self, "_weighted_metric_ids", weighted_ids)
        object.__setattr__(self, "_compiled_metrics", compiled)

    def _loss_graph(self, ys: list[Tensor], outs: list[Tensor], sws: list[Tensor], ctx: Any) -> Tensor:
        total = None
        self._output_loss_terms = []
        for (loss_fn, weight), y, out, sw in zip(self._compiled_losses, ys, outs, sws):
            if loss_fn is None:
                continue
            term = loss_fn(y, out, sample_weight=sw)
            self._output_loss_terms.append(term)
            term = term * weight if weight != 1.0 else term
            total = term if total is None else total + term
        for extra in [*self.losses, *ctx.losses]:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def _metric_graph(
        self,
        ys: list[Tensor],
        outs: list[Tensor],
        sws: list[Tensor],
        loss: Tensor,
        batch: Any,
    ) -> tuple[list[Tensor], list[tuple[Variable, Tensor]]]:
        updates = []
        n = sg.cast(dim_value(batch), "float32")
        new_total = self._loss_total + loss * n
        new_count = self._loss_count + n
        updates += [(self._loss_total, new_total), (self._loss_count, new_count)]
        results = [new_total / new_count]
        for (_, total, count), term in zip(self._output_loss_trackers, self._output_loss_terms):
            t_new, c_new = total + term * n, count + n
            updates += [(total, t_new), (count, c_new)]
            results.append(t_new / c_new)
        weighted_ids = getattr(self, "_weighted_metric_ids", set())
        for per_output, y, out, sw in zip(self._compiled_metrics, ys, outs, sws):
            for _, metric in per_output:
                metric_sw = sw if id(metric) in weighted_ids else None
                states = metric.update_state_graph(y, out, sample_weight=metric_sw)
                updates += list(zip(metric.variables, states))
                results.append(metric.result_from(states))
        return results, updates

    # -- building the steps
    def _signature(self, kind: str, x_flat: list, y_flat: list | None) -> tuple:
        def sig(arrays: list | None) -> tuple:
            return tuple((np.shape(a)[1:], np.asarray(a).dtype.str) for a in arrays or [])

        # a step under DataParallel has the reduction (and one more input): its own entry
        return (kind, sig(x_flat), sig(y_flat), distribution_module.data_parallel() is not None)

    def _step(self, kind: str, x: Any, y_flat: list[np.ndarray] | None) -> Any:
        x_flat = flatten(x)
        key = self._signature(kind, x_flat, y_flat)
        step = self._steps.get(key)
        if step is None:
            first_build = not self.built and getattr(self, "_functional", "absent") == "absent"
            with recording_batch(len(x_flat[0]) if first_build and x_flat else None):
                step = self._build_step(kind, x, x_flat, y_flat)
            self._steps[key] = step
        return step

    def _register_with_layers(self) -> None:
        """Every layer inside learns of this model, so a change of its ``trainable`` flag
        drops the compiled steps (which bake in the list of trained weights)."""
        stack, seen = list(getattr(self, "_layers", [])), set()
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            parents = getattr(layer, "_parent_models", [])
            if all(p is not self for p in parents):
                layer._parent_models = [*parents, self]
            stack.extend(getattr(layer, "_layers", []))

    def _build_step(self, kind: str, x: Any, x_flat: list[np.ndarray], y_flat: list[np.ndarray] | None) -> Any:
        declared = getattr(self, "inputs", None) or []
        static_batch = declared[0].shape[0] if declared and hasattr(declared[0], "shape") else None
        batch = static_batch if static_batch is not None else sg.dim("batch")
        x_graph = self._graph_inputs(x_flat, batch)
        training = kind == "train"
        outs, ctx = self._forward(x_graph, x, training)
        self._register_with_layers()
        if kind == "predict":
            return sg.function(x_graph, outs, updates=list(ctx.updates), name=f"{self.name}_predict")
        if len(y_flat) != len(outs):
            raise ValueError(
                f"The model {self.name!r} has {len(outs)} output(s) but received {len(y_flat)} target array(s)"
            )
        y_graph = [
            sg.placeholder((batch, *np.shape(a)[1:]), np.asarray(a).dtype, name=f"y{i}") for i, a in enumerate(y_flat)
        ]
        sw_graph = [sg.placeholder((batch,), "float32", name=f"sample_weight{i}") for i in range(len(outs))]
        self._ensure_compiled_losses(
            [(None, *np.shape(a)[1:]) for a in y_flat],
            [tuple(d if isinstance(d, int) else None for d in o.shape) for o in outs],
        )
        loss = self._loss_graph(y_graph, outs, sw_graph, ctx)
        results, updates = self._metric_graph(y_graph, outs, sw_graph, loss, batch)
        if distribution_module.data_parallel() is not None:
            return self._build_data_parallel_step(kind, x_graph + y_graph + sw_graph, loss, results, updates, ctx)
        if training:
            params = self.trainable_weights
            if params:
                grads = sg.grad(loss, params, disconnected="zero")
                updates = self.optimizer.get_updates(grads, params) + updates
        # Batch-norm statistics only move in training; stateful RNN states move in every step.
        updates = updates + list(ctx.updates)
        return sg.function(x_graph + y_graph + sw_graph, results, updates=updates, name=f"{self.name}_{kind}")

    def _build_data_parallel_step(
        self,
        kind: str,
        inputs: list[Tensor],
        loss: Tensor,
        results: list[Tensor],
        metric_updates: list[tuple[Variable, Tensor]],
        ctx: Any,
    ) -> Any:
        """The step of one process under DataParallel: two more inputs, ``dp_share``,
        this shard's share of the global batch (n_r / N), and ``dp_rows``, its rows (n_r).
        Everything the processes must agree on goes through ONE allreduce node (one
        message per dtype): the gradients times the share (their sum is the gradient of
        the global batch's loss), the moving statistics' new values times the share
        (their weighted mean), the metric accumulators' increments (sums), and the rows
        (whose sum must be the global batch: a process that reads other batches is caught
        at the first step). The updates and the logged results are built from the reduced
        values, so every process applies the same update and reports the same logs. An
        empty shard (a last batch smaller than the job) contributes zeros."""
        scale = sg.placeholder((), "float32", name="dp_share")
        rows = sg.placeholder((), "float32", name="dp_rows")
        present = sg.greater(rows, 0.0)

        def share(t: Tensor) -> Tensor:
            weighted = t * (scale if t.dtype == scale.dtype else sg.cast(scale, t.dtype))
            return sg.where(present, weighted, sg.zeros_like(t))

        def counted(t: Tensor) -> Tensor:
            return sg.where(present, t, sg.zeros_like(t))

        params = self.trainable_weights if kind == "train" else []
        grads = sg.grad(loss, params, disconnected="zero") if params else []
        stats = list(ctx.updates)
        for var, _ in stats:
            if not isinstance(var, KerasVariable):  # a stateful RNN's per-sample state
                raise UnsupportedError(
                    f"DataParallel cannot train {self.name!r}: the state {var.name!r} (a stateful RNN's) holds one row "
                    "per sample of a fixed batch, which the processes' shards do not share; use stateful=False"
                )
        contributions = [share(g) for g in grads] + [share(new) for _, new in stats]
        contributions += [counted(new - var) for var, new in metric_updates] + [rows]
        reduced = dist.allreduce(contributions, op="sum")
        k, m = len(grads), len(stats)
        reduced_grads, reduced_stats, increments = reduced[:k], reduced[k : k + m], reduced[k + m : -1]
        new_states = [var + d for (var, _), d in zip(metric_updates, increments)]
        logged = replace(results, {new: state for (_, new), state in zip(metric_updates, new_states)})
        updates = [(var, state) for (var, _), state in zip(metric_updates, new_states)]
        updates += [(var, value) for (var, _), value in zip(stats, reduced_stats)]
        if params:
            updates = self.optimizer.get_updates(reduced_grads, params) + updates
        return sg.function(
            [*inputs, scale, rows], [*logged, reduced[-1]], updates=updates, name=f"{self.name}_{kind}_dp"
        )

    def _sync_from_rank0(self) -> None:
        """Every weight and the optimizer's state take rank 0's values (after checking
        that every process built the same model), once per fit / evaluate / predict."""
        if not getattr(self, "_dp_sync_pending", True):
            return
        variables = list(self.weights)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            variables += [v for v in optimizer.variables if all(v is not w for w in variables)]
        dist.broadcast_variables(variables, root=0, what=f"DataParallel (model {self.name!r})")
        self._dp_sync_pending = False

    def _shard(self, x_flat: list[np.ndarray], y_flat: list[np.ndarray], sw: Any) -> tuple:
        """This process's rows of the global batch, and their share of it."""
        dp = distribution_module.data_parallel()
        n = len(x_flat[0]) if x_flat else 0
        lo, hi = dp.shard_bounds(n)
        x_local = [a[lo:hi] for a in x_flat]
        y_local = [a[lo:hi] for a in y_flat]
        if isinstance(sw, (list, tuple)):
            sw = [None if s is None else np.asarray(s)[lo:hi] for s in sw]
        elif sw is not None:
            sw = np.asarray(sw)[lo:hi]
        return x_local, y_local, sw, np.float32((hi - lo) / n if n else 0.0), n

    def _check_rows(self, total: float, n: int) -> None:
        """The shards' rows add up to this process's global batch, unless the processes
        read different batches (no collective here: a process that fails alone must
        still end the job at once, through the excepthook's MPI_Abort)."""
        if int(round(total)) != n:
            raise dist.DistributedError(
                f"DataParallel: rank {dist.rank()} read a global batch of {n} rows, but the {dist.size()} processes' "
                f"shards add up to {int(round(total))} rows: every process must read the same global batches "
                "(the same data, batch_size and steps)"
            )

    # -- running one batch
    def _prepare_targets(self, y: Any) -> list[np.ndarray]:
        if isinstance(y, dict):
            names = self._output_names()
            y = [y[name] for name in names]
        flat = [np.asarray(a) for a in flatten(y)]
        out = []
        for a in flat:
            if a.dtype.kind == "f" or a.dtype.kind == "b":
                out.append(np.ascontiguousarray(a, dtype=np.float32))
            elif a.dtype.kind in "iu":
                out.append(np.ascontiguousarray(a, dtype=np.int32))
            else:
                raise TypeError(f"Unsupported target dtype {a.dtype}")
        return out

    def _prepare_sample_weights(self, sw: Any, n: int, count: int) -> list[np.ndarray]:
        if sw is None:
            ones = np.ones(n, np.float32)
            return [ones] * count
        if isinstance(sw, (list, tuple)):
            return [np.ascontiguousarray(s if s is not None else np.ones(n), dtype=np.float32).reshape(n) for s in sw]
        arr = np.ascontiguousarray(sw, dtype=np.float32).reshape(n)
        return [arr] * count

    def _run_batch(self, kind: str, x: Any, y: Any, sw: Any) -> dict[str, float]:
        x = to_numpy(x)
        x_flat = self._cast_inputs(adjust_input_rank(flatten(x), getattr(self, "inputs", None) or []))
        self._check_input_shapes(x_flat)
        y_flat = self._prepare_targets(y)
        n = len(x_flat[0])
        for a in y_flat:
            if len(a) != n:
                raise data_cardinality_error(x, y, sw)
        step = self._step(kind, pack_like(x, x_flat), y_flat)
        if distribution_module.data_parallel() is not None:
            self._sync_from_rank0()
            x_flat, y_flat, sw, share, n_global = self._shard(x_flat, y_flat, sw)
            n = len(x_flat[0])
            sws = self._prepare_sample_weights(sw, n, len(step.inputs) - len(x_flat) - len(y_flat) - 2)
            *values, total = step(*x_flat, *y_flat, *sws, share, np.float32(n))
            self._check_rows(float(total), n_global)
        else:
            sws = self._prepare_sample_weights(sw, n, len(step.inputs) - len(x_flat) - len(y_flat))
            values = step(*x_flat, *y_flat, *sws)
        names = self.metrics_names
        return dict(sorted((name, float(v)) for name, v in zip(names, values)))

    def _predict_batch(self, x: Any) -> list[np.ndarray]:
        x = to_numpy(x)
        x_flat = self._cast_inputs(adjust_input_rank(flatten(x), getattr(self, "inputs", None) or []))
        self._check_input_shapes(x_flat)
        step = self._step("predict", pack_like(x, x_flat), None)
        dp = distribution_module.data_parallel()
        if dp is None:
            values = step(*x_flat)
            return values if isinstance(values, list) else [values]
        # each process predicts its shard; every process gets every row back, in order
        self._sync_from_rank0()
        lo, hi = dp.shard_bounds(len(x_flat[0]))
        values = step(*[a[lo:hi] for a in x_flat])
        return [dist.allgather_rows(v) for v in (values if isinstance(values, list) else [values])]

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise ValueError(NOT_COMPILED)

    # -- public API
    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: dict | None = None,
        return_dict: bool = False,
    ) -> Any:
        self._require_compiled()
        self._ensure_built_for(x)
        if class_weight is not None and sample_weight is None:
            sample_weight = class_weight_to_sample_weights(y, class_weight)
        self.reset_metrics()
        logs = self._run_batch("train", x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        self._require_compiled()
        self._ensure_built_for(x)
        self.reset_metrics()
        logs = self._run_batch("test", x, y, sample_weight)
        return self._format_result(logs, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        self._ensure_built_for(x)
        outputs = self._predict_batch(x)
        return self._pack_outputs(outputs)

    def _pack_outputs(self, outputs: list[np.ndarray]) -> Any:
        structure = getattr(self, "_outputs_struct", None)
        functional = getattr(self, "_functional", None)
        if functional is not None:
            structure = functional._outputs_struct
        if structure is None or not isinstance(structure, (list, tuple, dict)):
            return outputs[0] if len(outputs) == 1 else outputs
        packed = pack_like(structure, outputs)
        if isinstance(packed, dict):  # Keras (tree.flatten) returns dict outputs in sorted key order
            return {key: packed[key] for key in sorted(packed)}
        return packed

    def _format_result(self, logs: dict, return_dict: bool) -> Any:
        if return_dict:
            return dict(logs)
        values = [logs[name] for name in self._keras_result_order(logs)]
        return values[0] if len(values) == 1 else values

    def _keras_result_order(self, logs: dict) -> list[str]:
        """The order of evaluate's (and *_on_batch's) result list, Keras'
        ``Trainer._flatten_metrics_in_order``: loss, the compiled metrics by their own
        (unprefixed) names, the per-output losses, then every other key sorted."""
        known = ["loss"]
        known += [metric.name for per_output in self._compiled_metrics or [] for _, metric in per_output]
        loss_names = [name for name, _, _ in getattr(self, "_output_loss_trackers", [])]
        if isinstance(self.loss, dict):  # Keras keeps the loss dict's own key order here
            keys = [f"{key}_loss" for key in self.loss]
            loss_names.sort(key=lambda name: keys.index(name) if name in keys else len(keys))
        known += loss_names
        order: list[str] = []
        for name in known:
            if name in logs and name not in order:
                order.append(name)
        return order + sorted(k for k in logs if k not in order)

    def _make_callbacks(self, callbacks: Any, verbose: int, epochs: int, steps: int | None, add_history: bool) -> Any:
        if isinstance(callbacks, CallbackList):
            return callbacks
        return CallbackList(
            callbacks,
            model=self,
            add_history=add_history,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
        )

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: Any = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: Any = 1,
        **kwargs: Any,
    ) -> Any:
        """Train for ``epochs`` epochs; returns the History (``model.history``)."""
        if "nb_epoch" in kwargs:
            warnings.warn(
                "`nb_epoch` is a Keras 1 spelling; use `epochs` (accepted here, rejected by Keras 3)",
                DeprecationWarning,
                stacklevel=2,
            )
            epochs = kwargs.pop("nb_epoch")
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments: {sorted(kwargs)}")
        self._require_compiled()
        verbose = 1 if verbose == "auto" else int(verbose)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = train_validation_split(x, y, sample_weight, validation_split)
        if class_weight is not None:
            if y is None:
                raise ValueError("`class_weight` needs targets `y`")
            cw = class_weight_to_sample_weights(to_numpy(y), class_weight)
            sample_weight = cw if sample_weight is None else np.asarray(sample_weight, np.float32) * cw
        data = get_data_adapter(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
        val_args = None
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
                val_args = tuple(validation_data) + (None,) * (3 - len(validation_data))
            else:
                val_args = (validation_data, None, None)
        cbs = self._make_callbacks(callbacks, verbose, epochs, data.steps, add_history=True)
        loop = (cbs, data, val_args, initial_epoch, epochs, batch_size, validation_steps, validation_batch_size)
        dp = distribution_module.data_parallel()
        if dp is None:
            return self._fit_epochs(*loop, validation_freq)
        # Dropout and augmentation draw differently in each process: the rank is folded into
        # the generator's key for this fit (rank 0's is unchanged: one process trains as alone).
        key = random_ops.GLOBAL_KEY.get_value()
        random_ops.GLOBAL_KEY.set_value(_rank_key(key, dp.rank))
        self._dp_sync_pending = True
        try:
            return self._fit_epochs(*loop, validation_freq)
        finally:
            random_ops.GLOBAL_KEY.set_value(key)

    def _fit_epochs(
        self,
        cbs: Any,
        data: Any,
        val_args: tuple | None,
        initial_epoch: int,
        epochs: int,
        batch_size: int | None,
        validation_steps: int | None,
        validation_batch_size: int | None,
        validation_freq: Any,
    ) -> Any:
        """fit's loop over the epochs, from ``on_train_begin`` to the History."""
        dp = distribution_module.data_parallel()
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        # Keras reads the restored epoch after on_train_begin; unlike Keras it is consumed
        # here, so a later fit without a backup starts where it is told to.
        initial_epoch, self._initial_epoch = self._initial_epoch or initial_epoch, None
        if dp is not None:  # restored on rank 0 only (BackupAndRestore): its epoch for everyone
            initial_epoch = dist.broadcast_object(initial_epoch)
        logs: dict[str, float] = {}
        first_batch_seen = False
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            if dp is not None:  # the same shuffled order in every process: rank 0's numpy state
                np.random.set_state(dist.broadcast_object(np.random.get_state()))
            cbs.on_epoch_begin(epoch)
            epoch_logs: dict[str, float] = {}
            step = -1
            for step, (bx, by, bsw) in enumerate(data.batches(epoch)):
                if not first_batch_seen:
                    self._ensure_built_for(bx)
                    first_batch_seen = True
                cbs.on_train_batch_begin(step)
                epoch_logs = self._run_batch("train", bx, by, bsw)
                cbs.on_train_batch_end(step, epoch_logs)
                if self.stop_training:
                    break
            if step < 0:
                break
            data.on_epoch_end()
            if data.steps is None:
                data.steps = step + 1
            logs = dict(sorted(epoch_logs.items()))
            if val_args is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_loop(
                    *val_args,
                    batch_size=validation_batch_size or batch_size or 32,
                    steps=validation_steps,
                    callbacks=cbs,
                )
                logs.update({f"val_{k}": v for k, v in sorted(val_logs.items())})
            cbs.on_epoch_end(epoch, logs)
            if dp is not None:  # a callback that stops one process stops them all
                self.stop_training = any(dist.allgather_object(bool(self.stop_training)))
            if self.stop_training or getattr(data, "exhausted", False):
                break
        cbs.on_train_end(logs)
        history = getattr(cbs, "history", None)
        if history is None:
            history = next((c for c in getattr(cbs, "callbacks", []) if isinstance(c, History)), None)
        self.history = history
        return history

    def fit_generator(self, generator: Any, steps_per_epoch: int | None = None, epochs: int = 1, **kwargs: Any) -> Any:
        warnings.warn(
            "`fit_generator` is a Keras 2 spelling; use `fit` (accepted here, removed in Keras 3)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, **kwargs)

    def evaluate_generator(self, generator: Any, steps: int | None = None, **kwargs: Any) -> Any:
        warnings.warn("`evaluate_generator` is a Keras 2 spelling; use `evaluate`", DeprecationWarning, stacklevel=2)
        return self.evaluate(generator, steps=steps, **kwargs)

    def predict_generator(self, generator: Any, steps: int | None = None, **kwargs: Any) -> Any:
        warnings.warn("`predict_generator` is a Keras 2 spelling; use `predict`", DeprecationWarning, stacklevel=2)
        return self.predict(generator, steps=steps, **kwargs)

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Keras 2's Sequential.predict_classes: argmax over the last axis, or
        probability > 0.5 for a single sigmoid unit."""
        warnings.warn(
            "`predict_classes` is a Keras 2 spelling, removed in Keras 2.6; use "
            "`np.argmax(model.predict(x), axis=-1)` (or `(model.predict(x) > 0.5).astype('int32')` for a sigmoid "
            "output)",
            DeprecationWarning,
            stacklevel=2,
        )
        proba = np.asarray(self.predict(x, batch_size=batch_size, verbose=verbose))
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> Any:
        """Keras 2's Sequential.predict_proba: the same as ``predict``."""
        warnings.warn(
            "`predict_proba` is a Keras 2 spelling, removed in Keras 2.6; use `predict`",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def _evaluate_loop(self, x: Any, y: Any, sw: Any, batch_size: int, steps: int | None, callbacks: Any) -> dict:
        data = get_data_adapter(x, y, sw, batch_size, False, steps)
        self.reset_metrics()
        callbacks.on_test_begin()
        logs: dict[str, float] = {}
        for step, (bx, by, bsw) in enumerate(data.batches(0)):
            self._ensure_built_for(bx)
            callbacks.on_test_batch_begin(step)
            logs = self._run_batch("test", bx, by, bsw)
            callbacks.on_test_batch_end(step, logs)
        logs = dict(sorted(logs.items()))
        callbacks.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> Any:
        """[loss, *metrics] over the data (a dict with ``return_dict=True``)."""
        self._require_compiled()
        verbose = 1 if verbose == "auto" else int(verbose)
        self._dp_sync_pending = True
        probe = get_data_adapter(x, y, sample_weight, batch_size, False, steps)
        cbs = self._make_callbacks(callbacks, verbose, 1, probe.steps, add_history=False)
        logs = self._evaluate_loop(x, y, sample_weight, batch_size or 32, steps, cbs)
        return self._format_result(logs, return_dict)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> Any:
        """The outputs for every sample, as numpy float32, batch by batch."""
        verbose = 1 if verbose == "auto" else int(verbose)
        self._dp_sync_pending = True
        data = get_data_adapter(x, None, None, batch_size, False, steps)
        cbs = self._make_callbacks(callbacks, verbose, 1, data.steps, add_history=False)
        cbs.on_predict_begin()
        pieces: list[list[np.ndarray]] = []
        for step, (bx, _, _) in enumerate(data.batches(0)):
            self._ensure_built_for(bx)
            cbs.on_predict_batch_begin(step)
            outs = self._predict_batch(bx)
            pieces.append(outs)
            cbs.on_predict_batch_end(step, {"outputs": outs})
        cbs.on_predict_end()
        if not pieces:
            raise ValueError(
                "Unexpected result of `predict_function` (Empty batch_outputs). Please use "
                "`Model.compile(..., run_eagerly=True)`, or `tf.config.run_functions_eagerly(True)` "
                "for more information of where went wrong, or file a issue/bug to `keras`."
            )
        joined = [np.concatenate([p[k] for p in pieces], axis=0) for k in range(len(pieces[0]))]
        return self._pack_outputs(joined)

    # -- calling the model on data directly
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves = flatten([args, kwargs])
        if (
            leaves
            and not any(isinstance(t, (Tensor, KerasTensor)) for t in leaves)
            and any(is_array_like(t) for t in leaves)
        ):
            x = args[0] if args else kwargs.pop("inputs")
            self._ensure_built_for(x)
            # training, a recording tape, or a layer whose call defaults to training (an
            # augmentation pipeline called as model(images) augments, as in Keras): the
            # layers' ops run now (the tape sees them); inference: the compiled predict
            # step, its arrays as eager tensors
            training = kwargs.get("training")
            if training or sg.trace.recording() or (training is None and self._a_layer_defaults_to_training()):
                return Layer.__call__(self, *args, **kwargs)
            return map_structure(lambda a: sg.EagerTensor(a, reads_state=True), self.predict_on_batch(x))
        return Layer.__call__(self, *args, **kwargs)

    def _a_layer_defaults_to_training(self) -> bool:
        """Whether a layer inside declares ``call(..., training=True)`` (Keras 3's
        augmentation layers), so a call without ``training`` runs them training."""
        stack = list(getattr(self, "layers", []))
        while stack:
            layer = stack.pop()
            if getattr(layer, "_call_training_default", None) is True:
                return True
            stack += getattr(layer, "layers", [])  # a model nested in the model
        return False

    @property
    def trainable_weights_count(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.trainable_weights)


def adjust_input_rank(values: list, declared: list) -> list:
    """Keras 3's ``Functional._adjust_input_rank``: an input one rank short of its
    declared shape, where that shape ends in 1, gains a last axis (``fit(x, y)`` with a
    1-D ``x`` for an ``Input((1,))``); one rank over, ending in 1, loses it. Numpy arrays
    and symgraph tensors alike; any other mismatch is left for the shape check to name."""
    adjusted = []
    for i, value in enumerate(values):
        reference = getattr(declared[i], "shape", None) if i < len(declared) else None
        if value is None or reference is None:
            adjusted.append(value)
            continue
        shape = static_shape(value) if isinstance(value, Tensor) else np.shape(value)
        if len(shape) == len(reference) + 1 and shape[-1] == 1:
            value = sg.squeeze(value, -1) if isinstance(value, Tensor) else np.squeeze(value, -1)
        elif len(shape) == len(reference) - 1 and reference and reference[-1] == 1:
            value = sg.expand_dims(value, -1) if isinstance(value, Tensor) else np.expand_dims(value, -1)
        adjusted.append(value)
    return adjusted


def _rank_key(key: np.ndarray, rank: int) -> np.ndarray:
    """The random generator's key with ``rank`` folded into its first 32-bit word
    (golden-ratio multiples: distinct per rank, rank 0 unchanged)."""
    folded = np.array(key, copy=True)
    folded[0] = (int(folded[0]) ^ ((rank * 0x9E3779B9) & 0xFFFFFFFF)) & 0xFFFFFFFF
    return folded


def _should_validate(epoch: int, freq: Any) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def _input_dtype(array: np.ndarray) -> str:
    kind = np.asarray(array).dtype.kind
    if kind in "iu":
        return "int32"
    if kind == "b":
        return "float32"
    return "float32"
